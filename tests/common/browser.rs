//! A real browser for the console tests: headless Chromium driven over WebDriver by `chromedriver`
//! through the `fantoccini` client. One chromedriver serves the whole test process (started on
//! first use on a free 127.0.0.1 port, stopped by a watchdog when the process exits, like the
//! PostgreSQL cluster); each test opens its own session with a fresh, empty Chromium profile.
//!
//! Without `chromedriver` the browser tests print a loud message and pass, so a developer machine
//! without Chromium still runs the suite; with `OUTHOOK_TEST_REQUIRE_BROWSER=1` (CI, `.ci/run`) a
//! missing browser is a failure. `OUTHOOK_TEST_SCREENSHOTS=<dir>` makes [`Browser::screenshot`]
//! save PNGs there in the SQLite runs (the README's images); normal runs write nothing. (The
//! variables start with `OUTHOOK_TEST_`, which configuration ignores, so the real binary started by
//! the process tests does not mistake them for settings.)

use std::future::Future;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::{Element, ElementRef};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::common::processes::{after_exit, free_port};
use crate::common::{Backend, TestApp};

/// How long any wait for the page may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);
/// How WebDriver marks an element reference in a script's result.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 860;

/// Whether a missing browser must fail the run (CI) instead of skipping the browser tests.
pub fn required() -> bool {
    std::env::var("OUTHOOK_TEST_REQUIRE_BROWSER").is_ok_and(|value| value == "1" || value == "true")
}

/// A running chromedriver and the browser binary it drives.
struct Driver {
    /// `127.0.0.1:<port>`
    address: String,
    browser: Option<PathBuf>,
}

static DRIVER: OnceCell<Result<Driver, String>> = OnceCell::const_new();

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

async fn start_driver() -> Result<Driver, String> {
    let chromedriver = on_path("chromedriver").ok_or("`chromedriver` is not on PATH")?;
    // Debian's `chromium` is a wrapper script; chromedriver finds Chrome itself when it is absent.
    let browser = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| on_path(name));
    let port = free_port()?;
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", chromedriver.display()))?;
    // Once this test process has exited, stops chromedriver and any browser it still runs
    // (chromedriver leaves its browsers running when it is stopped, so they go first).
    let driver = child.id();
    after_exit(&format!("pkill -P {driver}; kill {driver}"))?;
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + PATIENCE;
    let client = reqwest::Client::new();
    loop {
        let status = client.get(format!("http://{address}/status")).send().await;
        if let Ok(response) = status
            && let Ok(body) = response.json::<Value>().await
            && body["value"]["ready"] == true
        {
            return Ok(Driver { address, browser });
        }
        if Instant::now() > deadline {
            return Err(format!("chromedriver on port {port} did not become ready"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One browser session against one [`TestApp`]. End it with [`Browser::close`]; a test that
/// fails before that still ends the session (and its Chromium) when the `Browser` is dropped.
pub struct Browser {
    /// `None` once closed.
    client: Option<Client>,
    driver: String,
    session: String,
    base: String,
    screenshots: Option<PathBuf>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Opens a fresh browser for `app`; `None` (after a loud message) when no browser is installed
    /// and none is required.
    pub async fn open(app: &TestApp) -> Option<Self> {
        let driver = match DRIVER.get_or_init(start_driver).await {
            Ok(driver) => driver,
            Err(reason) if required() => panic!("a browser is required (OUTHOOK_TEST_REQUIRE_BROWSER=1): {reason}"),
            Err(reason) => {
                eprintln!(
                    "\n*** SKIPPING browser test: {reason}.\n*** Install Chromium to run it: \
                     apt-get install chromium chromium-driver\n"
                );
                return None;
            }
        };
        let profile = tempfile::Builder::new().prefix("outhook-chromium-").tempdir().expect("profile dir");
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                format!("--window-size={WIDTH},{HEIGHT}"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if let Some(binary) = &driver.browser {
            options["binary"] = json!(binary);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://{}", driver.address))
            .await
            .expect("chromedriver opens a Chromium session");
        let session = client.session_id().await.ok().flatten().expect("a session id");
        // One backend is enough for pictures (the pages are the same on both).
        let screenshots =
            std::env::var_os("OUTHOOK_TEST_SCREENSHOTS").filter(|_| app.backend == Backend::Sqlite).map(PathBuf::from);
        Some(Self {
            client: Some(client),
            driver: driver.address.clone(),
            session,
            base: app.address.clone(),
            screenshots,
            _profile: profile,
        })
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Opens `path` (`/console#/tenants`) on the test server.
    pub async fn visit(&self, path: &str) {
        self.client().goto(&format!("{}{path}", self.base)).await.expect("navigation");
    }

    /// Signs in through the form, as a person would: types the token and presses the button.
    pub async fn sign_in(&self, token: &str) {
        self.visit("/console").await;
        self.find("input#token").await.send_keys(token).await.expect("typing the token");
        self.find("form.signin button[type=submit]").await.click().await.expect("pressing Sign in");
        self.wait_for_text("#identity", "Sign out").await;
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        match self.client().wait().at_most(PATIENCE).every(POLL).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => panic!("no element matches `{css}`: {error}\npage: {}", self.main_text().await),
        }
    }

    /// The first element matching `css` whose visible text contains `needle`, waiting for it.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> Element {
        let found = self.wait_for_match(css, needle).await;
        let id = found["element"][ELEMENT_KEY].as_str().expect("an element reference").to_owned();
        Element::from_element_id(self.client().clone(), ElementRef::from(id))
    }

    /// The visible text of the first element matching `css` that contains `needle`, waiting for
    /// it. Read in the same look that found it, so a view re-rendering meanwhile cannot make it stale.
    pub async fn text_of(&self, css: &str, needle: &str) -> String {
        let found = self.wait_for_match(css, needle).await;
        found["text"].as_str().expect("the element's text").to_owned()
    }

    /// Waits for an element matching `css` whose text contains `needle`; returns its `element`
    /// reference and its `text`. Each look is one script in the page, not a
    /// WebDriver call per candidate element, so waiting stays cheap on a busy machine.
    async fn wait_for_match(&self, css: &str, needle: &str) -> Value {
        const FIND: &str = "const [css, needle] = arguments; \
            const element = [...document.querySelectorAll(css)].find(e => e.innerText.includes(needle)); \
            return element ? { element, text: element.innerText } : null";
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found = self.client().execute(FIND, vec![json!(css), json!(needle)]).await;
            if let Ok(found @ Value::Object(_)) = found {
                return found;
            }
            if Instant::now() > deadline {
                let script = format!("return [...document.querySelectorAll({css:?})].map(e => e.innerText)");
                let seen = self.client().execute(&script, Vec::new()).await.unwrap_or_default();
                panic!("no `{css}` shows `{needle}`; they show {seen}\npage: {}", self.main_text().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Replaces the value of the input matching `css` by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clearing the input");
        input.send_keys(text).await.expect("typing");
    }

    /// Accepts the `confirm()` dialog the last action opened.
    pub async fn accept_dialog(&self) {
        let deadline = Instant::now() + PATIENCE;
        while self.client().accept_alert().await.is_err() {
            assert!(Instant::now() < deadline, "no dialog opened");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Presses the link with exactly this text.
    pub async fn click_link(&self, text: &str) {
        self.click(|| async {
            match self.client().wait().at_most(PATIENCE).every(POLL).for_element(Locator::LinkText(text)).await {
                Ok(link) => link,
                Err(error) => panic!("no link `{text}`: {error}\npage: {}", self.main_text().await),
            }
        })
        .await;
    }

    /// Presses the first button whose text contains `label`.
    pub async fn click_button(&self, label: &str) {
        self.click(|| self.wait_for_text("button", label)).await;
    }

    /// Clicks what `find` finds; when a view re-rendered between finding and clicking (a stale
    /// element), finds it again.
    async fn click<F: Future<Output = Element>>(&self, find: impl Fn() -> F) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match find().await.click().await {
                Ok(()) => return,
                Err(error) if error.is_stale_element_reference() => {
                    assert!(Instant::now() < deadline, "the element kept going stale");
                }
                Err(error) => panic!("clicking failed: {error}"),
            }
        }
    }

    /// Runs `script` (a function body; `return` its result) in the page.
    pub async fn script(&self, script: &str) -> Value {
        self.client().execute(script, Vec::new()).await.expect("script runs")
    }

    /// The page's current URL.
    pub async fn url(&self) -> String {
        self.client().current_url().await.expect("current URL").to_string()
    }

    /// The text of the page's main region, for failure messages.
    pub async fn main_text(&self) -> String {
        let text = self.client().execute("return document.querySelector('main')?.innerText ?? ''", Vec::new()).await;
        text.ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// Saves the page as `<OUTHOOK_TEST_SCREENSHOTS>/<name>.png`, the window grown to show all of it.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = &self.screenshots else { return };
        // Headless Chromium still reserves room for window decorations: add it to the page's height.
        let sizes =
            self.script("return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]");
        let sizes = sizes.await;
        let [page, frame] = [0, 1].map(|index| sizes[index].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0));
        self.client().set_window_size(WIDTH, (page + frame).clamp(HEIGHT, 2400)).await.expect("resizing the window");
        // Let layout settle after the resize before capturing.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let png = self.client().screenshot().await.expect("screenshot");
        std::fs::create_dir_all(dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("writing the screenshot");
        self.client().set_window_size(WIDTH, HEIGHT).await.expect("resizing the window back");
    }

    /// Ends the session and its browser.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            client.close().await.expect("closing the session");
        }
    }
}

impl Drop for Browser {
    /// A test that panicked left its session open, and its runtime is going away with the client's
    /// task: end the session with a plain blocking request, so no Chromium outlives the test.
    fn drop(&mut self) {
        if self.client.is_none() {
            return;
        }
        use std::io::{Read, Write};
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session, self.driver
        );
        if let Ok(mut stream) = std::net::TcpStream::connect(&self.driver) {
            let _ = stream.set_read_timeout(Some(PATIENCE));
            if stream.write_all(request.as_bytes()).is_ok() {
                // The answer comes once the browser has quit; its first bytes are enough.
                let _ = stream.read(&mut [0; 1024]);
            }
        }
    }
}
