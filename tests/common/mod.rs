//! Shared test helpers: boot the real server on port 0 against SQLite or PostgreSQL, and talk to
//! it through one method per operation so tests never assemble URLs by hand.

#![allow(dead_code)]

pub mod browser;
pub mod postgres;
pub mod processes;
pub mod receiver;

use std::sync::Arc;

use chrono::Utc;
use outhook::config::Settings;
use outhook::domain::clock::ManualClock;
use outhook::startup::{Application, Role};
use outhook::store::SecretCipher;
use reqwest::{Method, Response};
use secrecy::SecretString;
use serde_json::{Value, json};

/// Which storage backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named async test fn (taking a [`TestApp`]) once per backend:
/// `name::sqlite` and `name::postgres`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::common::{Backend, TestApp};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite is always available");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
                    super::$name(app).await;
                }
            }
        )*
    };
}

/// Like [`conformance!`], for tests that configure their own server: each named async fn takes
/// the [`Backend`] and boots with [`TestApp::spawn_configured`].
macro_rules! conformance_per_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::common::Backend;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(Backend::Postgres).await;
                }
            }
        )*
    };
}

/// A running server plus what a test needs to drive it.
pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub admin_token: String,
    pub clock: Arc<ManualClock>,
    pub settings: Settings,
    pub client: reqwest::Client,
    /// Keeps the SQLite file and data directory alive for the test's duration.
    pub data_dir: Arc<tempfile::TempDir>,
}

/// Settings for a test server on `backend`; `None` when PostgreSQL is unavailable and not required.
pub async fn test_settings(backend: Backend, data_dir: &std::path::Path) -> Option<Settings> {
    let mut settings = Settings { data_dir: data_dir.to_owned(), ..Settings::default() };
    settings.server.listen = "127.0.0.1:0".parse().expect("valid address");
    settings.server.workers = 1;
    settings.database.pool_size = 4;
    settings.security.encryption_key = SecretString::from(SecretCipher::generate_key());
    // Tests deliver to the loopback receiver, which the SSRF guard must let through.
    settings.delivery.allowed_networks = vec!["127.0.0.0/8".into()];
    settings.delivery.poll_interval_ms = 20;
    settings.delivery.request_timeout_ms = 2_000;
    settings.delivery.lease_ms = 10_000;
    settings.delivery.shutdown_grace_ms = 1_000;
    if backend == Backend::Postgres {
        match postgres::fresh_database().await {
            Ok(url) => settings.database.url = SecretString::from(url),
            Err(reason) if postgres::required() => {
                panic!("PostgreSQL is required (OUTHOOK_TEST_REQUIRE_POSTGRES=1): {reason}")
            }
            Err(reason) => {
                eprintln!("skipping PostgreSQL test: {reason}");
                return None;
            }
        }
    }
    Some(settings)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let data_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let settings = test_settings(backend, data_dir.path()).await?;
        Some(Self::spawn_with(backend, settings, data_dir).await)
    }

    /// Boots a server with the test settings changed by `configure`; `None` when PostgreSQL is
    /// unavailable and not required.
    pub async fn spawn_configured(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Option<Self> {
        let data_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let mut settings = test_settings(backend, data_dir.path()).await?;
        configure(&mut settings);
        Some(Self::spawn_with(backend, settings, data_dir).await)
    }

    /// Boots a server with explicit settings (used to restart on the same database).
    pub async fn spawn_with(backend: Backend, settings: Settings, data_dir: Arc<tempfile::TempDir>) -> Self {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let mut application = Application::build_with_clock(settings.clone(), Role::All, clock.clone())
            .await
            .expect("the application builds");
        let admin_token = match application.take_initial_admin_token() {
            Some(token) => token.expose().to_owned(),
            None => String::new(),
        };
        let address = format!("http://127.0.0.1:{}", application.port().expect("the API runs"));
        tokio::spawn(application.run_until_stopped());
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { backend, address, admin_token, clock, settings, client, data_dir }
    }

    /// Sends a request with `token` (none when empty) and an optional JSON body.
    pub async fn request(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> Response {
        let mut request = self.client.request(method, format!("{}{path}", self.address));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request reaches the server")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, &self.admin_token, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path, &self.admin_token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, &self.admin_token, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path, &self.admin_token, None).await
    }

    /// Sends raw bytes as the body, for malformed and oversized inputs.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        self.client
            .post(format!("{}{path}", self.address))
            .bearer_auth(&self.admin_token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request reaches the server")
    }

    pub async fn create_tenant(&self, uid: &str) -> Value {
        let response = self.post("/v1/tenants", &json!({ "uid": uid, "name": format!("Tenant {uid}") })).await;
        expect_status(response, 201).await
    }

    pub async fn create_event_type(&self, name: &str) -> Value {
        let response = self.post("/v1/event-types", &json!({ "name": name, "description": "test" })).await;
        expect_status(response, 201).await
    }

    pub async fn create_endpoint(&self, tenant: &str, body: &Value) -> Value {
        let response = self.post(&format!("/v1/tenants/{tenant}/endpoints"), body).await;
        expect_status(response, 201).await
    }

    /// Mints a console portal link for `tenant` (`{url, token, token_id, tenant_id, expires_at}`).
    pub async fn create_portal_link(&self, tenant: &str, body: &Value) -> Value {
        expect_status(self.post(&format!("/v1/tenants/{tenant}/portal-links"), body).await, 201).await
    }

    /// Creates a token scoped to `tenant` and returns its value.
    pub async fn create_tenant_token(&self, tenant: &str) -> String {
        let response = self.post("/v1/tokens", &json!({ "name": "tenant", "tenant": tenant })).await;
        let created = expect_status(response, 201).await;
        created["token_value"].as_str().expect("token value").to_owned()
    }
}

impl TestApp {
    /// The injected clock's time.
    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use outhook::domain::clock::Clock;
        self.clock.now()
    }

    /// Sets up tenant `acme`, event type `invoice.paid` and one endpoint at `url`; returns the endpoint.
    pub async fn acme_with_endpoint(&self, url: &str) -> Value {
        self.create_tenant("acme").await;
        self.create_event_type("invoice.paid").await;
        self.create_endpoint("acme", &json!({ "url": url })).await
    }

    /// Submits an event of `invoice.paid` to `acme` and returns the accepted event.
    pub async fn post_event(&self, payload: Value) -> Value {
        let body = json!({ "event_type": "invoice.paid", "payload": payload });
        expect_status(self.post("/v1/tenants/acme/events", &body).await, 202).await
    }

    pub async fn event_deliveries(&self, event_id: &str) -> Vec<Value> {
        let list = expect_status(self.get(&format!("/v1/tenants/acme/events/{event_id}/deliveries")).await, 200).await;
        list["data"].as_array().cloned().unwrap_or_default()
    }

    /// The delivery's attempts, oldest first (the API lists newest first).
    pub async fn delivery_attempts(&self, delivery_id: &str) -> Vec<Value> {
        let list =
            expect_status(self.get(&format!("/v1/tenants/acme/deliveries/{delivery_id}/attempts")).await, 200).await;
        list["data"].as_array().cloned().unwrap_or_default().into_iter().rev().collect()
    }

    /// Polls the delivery until `accept` holds (at most 10 s), returning it.
    pub async fn wait_for_delivery(&self, delivery_id: &str, accept: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let delivery =
                expect_status(self.get(&format!("/v1/tenants/acme/deliveries/{delivery_id}")).await, 200).await;
            if accept(&delivery) {
                return delivery;
            }
            assert!(std::time::Instant::now() < deadline, "delivery never reached the expected state: {delivery}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// A wall-clock instant with a few milliseconds on either side, as the API takes it in `since` and
/// `until`: what was created before the call is before it, what is created after is after it (ids
/// carry the wall-clock time of their creation).
pub async fn instant_between() -> String {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let split = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    split
}

/// An independent Standard Webhooks verifier, written from the specification rather than with
/// Outhook's signer: whether any `v1` signature of `request` matches `secret`.
pub fn verify_signature(secret: &str, request: &receiver::ReceivedRequest) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let id = request.header("webhook-id").unwrap();
    let timestamp = request.header("webhook-timestamp").unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&request.body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    request.header("webhook-signature").unwrap().split(' ').any(|signature| signature == format!("v1,{expected}"))
}

impl TestApp {
    /// The value of one sample of `/metrics`, named with its labels as exposed
    /// (`outhook_attempts_total{result="timeout"}`); the test fails when it is not exposed.
    pub async fn metric(&self, sample: &str) -> f64 {
        let response = self.client.get(format!("{}/metrics", self.address)).send().await.expect("scrape");
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("exposition");
        // A missing sample is a failure, not a zero: a check for 0 must see the metric exposed.
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("`{sample}` is not exposed:\n{text}"));
        value.trim().parse().expect("a number")
    }

    /// The `whsec_` secret of an endpoint of `acme`.
    pub async fn endpoint_secret(&self, endpoint: &Value) -> String {
        let path = format!("/v1/tenants/acme/endpoints/{}/secret", endpoint["id"].as_str().unwrap());
        expect_status(self.get(&path).await, 200).await["key"].as_str().unwrap().to_owned()
    }
}

/// Asserts the status and returns the JSON body (Null when empty).
pub async fn expect_status(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") }
}

/// Asserts a problem+json response with `status`, and returns the problem document.
pub async fn expect_problem(response: Response, status: u16) -> Value {
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let problem = expect_status(response, status).await;
    assert_eq!(content_type, "application/problem+json", "problem: {problem}");
    assert_eq!(problem["status"], status);
    assert!(problem["type"].as_str().is_some_and(|kind| kind.starts_with("urn:outhook:problem:")), "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{problem}");
    problem
}

/// The fields named in a problem document.
pub fn problem_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|error| error["field"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

impl TestApp {
    /// Runs SQL directly against the test database, bypassing Outhook (to inspect or tamper).
    pub async fn execute_sql(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let connection = rusqlite::Connection::open(self.settings.data_dir.join("outhook.db")).unwrap();
                connection.execute_batch(sql).unwrap();
            }
            Backend::Postgres => self.postgres_client().await.batch_execute(sql).await.unwrap(),
        }
    }

    /// The first column of the first row of `sql`, as bytes.
    pub async fn query_bytes(&self, sql: &str) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => {
                let connection = rusqlite::Connection::open(self.settings.data_dir.join("outhook.db")).unwrap();
                connection.query_row(sql, [], |row| row.get(0)).unwrap()
            }
            Backend::Postgres => self.postgres_client().await.query_one(sql, &[]).await.unwrap().get(0),
        }
    }

    /// The query plan of `sql` (`EXPLAIN` on PostgreSQL with sequential scans discouraged, so the
    /// plan shows which index serves the query; `EXPLAIN QUERY PLAN` on SQLite), as one string.
    pub async fn explain(&self, sql: &str) -> String {
        match self.backend {
            Backend::Sqlite => {
                let connection = rusqlite::Connection::open(self.settings.data_dir.join("outhook.db")).unwrap();
                let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let rows = statement.query_map([], |row| row.get::<_, String>(3)).unwrap();
                rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
            }
            Backend::Postgres => {
                let client = self.postgres_client().await;
                client.batch_execute("ANALYZE; SET enable_seqscan = off").await.unwrap();
                let rows = client.query(&format!("EXPLAIN {sql}"), &[]).await.unwrap();
                rows.iter().map(|row| row.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
            }
        }
    }

    async fn postgres_client(&self) -> tokio_postgres::Client {
        use secrecy::ExposeSecret;
        let (client, connection) =
            tokio_postgres::connect(self.settings.database.url.expose_secret(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }
}
