//! A programmable loopback HTTP/1.1 server that plays the webhook subscriber in integration tests.
//!
//! Outhook's delivery engine has to be tested against subscribers that succeed, fail, rate-limit,
//! redirect, hang or hang up. [`Receiver`] is such a subscriber: it listens on `127.0.0.1` on a port
//! picked by the OS, records every request it receives ([`ReceivedRequest`]) and answers each one as
//! the test told it to ([`Behaviour`]), either with a standing behaviour per path or with a queue of
//! one-shot behaviours consumed in order.
//!
//! It is written on a raw [`tokio::net::TcpListener`] with a deliberately small HTTP/1.1 parser
//! rather than on a server framework, so that the tests control the wire exactly (for example
//! [`Behaviour::Close`] drops the connection without a byte of response) and so that the only
//! dependency is tokio. The parser reads the request line, headers up to the blank line (at most
//! [`MAX_HEADER_BYTES`]) and a body delimited by `Content-Length` (at most [`MAX_BODY_BYTES`]);
//! chunked request bodies are refused with `400`. Connections are kept alive and serve requests one
//! after another until the client sends `Connection: close` or hangs up, because the delivery
//! engine's HTTP client pools connections.
//!
//! Every request is recorded *before* its response is written, so a test that has seen a response
//! (or a dropped connection) can always find the matching record.
//!
//! The accept loop and the connection tasks are plain [`tokio::spawn`]ed tasks: they stop when the
//! runtime that started the receiver shuts down (each `#[tokio::test]` has its own), when
//! [`Receiver::shutdown`] is called, or when the last clone of the [`Receiver`] is dropped.

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinSet};

/// Largest accepted request head (request line plus headers plus the blank line), in bytes.
/// A larger head is answered with `431` and the connection is closed.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Largest accepted request body, in bytes. A larger `Content-Length` is answered with `413` and the
/// connection is closed.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How the receiver answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer with this status and a small `text/plain` body: `ok` below 400, `error` from 400 on
    /// (no body at all for 204 and 304).
    Respond(u16),
    /// Answer with this status, these extra headers (for example `Retry-After` on a 429 or
    /// `Location` on a 302) and this body. `Content-Length` is always computed by the receiver and a
    /// `Content-Length` or `Transfer-Encoding` given here is ignored; a `Connection: close` given
    /// here is honoured by closing the connection after the response.
    RespondWith {
        /// Status code of the response.
        status: u16,
        /// Extra response headers, written in this order.
        headers: Vec<(String, String)>,
        /// Response body.
        body: String,
    },
    /// Wait `delay`, then answer as [`Behaviour::Respond`] with `status` would.
    Slow {
        /// How long to wait before answering.
        delay: Duration,
        /// Status code of the eventual response.
        status: u16,
    },
    /// Read (and record) the request, then drop the connection without sending any response.
    Close,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// Request method as sent, for example `POST`.
    pub method: String,
    /// Request target as sent: the path and any query string, for example `/hooks/a?x=1`.
    pub path: String,
    /// Headers in the order sent, names lowercased, values with surrounding whitespace trimmed.
    pub headers: Vec<(String, String)>,
    /// Request body (empty when there was none).
    pub body: Vec<u8>,
    /// When the request had been read completely.
    pub received_at: Instant,
    /// Number of the TCP connection it came on, counted from 1 in accept order for this receiver;
    /// requests with equal numbers shared a kept-alive connection.
    pub connection_id: u64,
}

impl ReceivedRequest {
    /// Value of the first header named `name` (compared case-insensitively), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body decoded as UTF-8, invalid sequences replaced by U+FFFD.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A running loopback webhook subscriber; see the [module documentation](self).
///
/// Cheap to clone: clones share the same server. The server stops when the last clone is dropped,
/// when [`Receiver::shutdown`] is called, or when its tokio runtime shuts down.
#[derive(Debug, Clone)]
pub struct Receiver {
    handle: Arc<Handle>,
}

/// Owned by the `Receiver` clones only (never by the server tasks), so dropping the last clone stops
/// the server.
#[derive(Debug)]
struct Handle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_loop: AbortHandle,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// State shared between the `Receiver` clones and the server tasks.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Woken (all waiters) every time a request is recorded.
    arrived: Notify,
    next_connection_id: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    standing: HashMap<String, Behaviour>,
    one_shot: HashMap<String, VecDeque<Behaviour>>,
    requests: Vec<ReceivedRequest>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not turn every later call into a second panic.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `request` and picks the behaviour that answers it, atomically.
    fn record(&self, request: ReceivedRequest) -> Behaviour {
        let behaviour = {
            let mut state = self.lock();
            let behaviour = state.behaviour_for(&request.path);
            state.requests.push(request);
            behaviour
        };
        self.arrived.notify_waiters();
        behaviour
    }
}

impl State {
    /// Next one-shot behaviour for `target`, else its standing behaviour, else `Respond(200)`.
    /// A route matches if it equals the whole target or the target's path without the query.
    fn behaviour_for(&mut self, target: &str) -> Behaviour {
        let bare = path_only(target);
        let keys: &[&str] = if bare == target { &[target] } else { &[target, bare] };
        for key in keys {
            if let Some(behaviour) = self.one_shot.get_mut(*key).and_then(VecDeque::pop_front) {
                return behaviour;
            }
        }
        keys.iter().find_map(|key| self.standing.get(*key).cloned()).unwrap_or(Behaviour::Respond(200))
    }
}

/// The target without its query string.
fn path_only(target: &str) -> &str {
    target.split_once('?').map_or(target, |(path, _)| path)
}

/// Whether a request to `target` counts as a request to `route`: `route` equals the whole target
/// or the target's path without the query.
fn route_matches(route: &str, target: &str) -> bool {
    route == target || route == path_only(target)
}

impl Receiver {
    /// Binds `127.0.0.1:0` and spawns the accept loop on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Panics if it is not called inside a tokio runtime or if the loopback port cannot be bound.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind 127.0.0.1:0 for the receiver");
        let addr = listener.local_addr().expect("local address of the receiver's listener");
        let shared = Arc::new(Shared::default());
        let accept_loop = tokio::spawn(accept_loop(listener, Arc::clone(&shared))).abort_handle();
        Receiver { handle: Arc::new(Handle { addr, shared, accept_loop }) }
    }

    /// Absolute URL of `path` on this receiver: `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.handle.addr)
    }

    /// Port the receiver listens on (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.handle.addr.port()
    }

    /// Sets the standing behaviour for requests to `path`, replacing any earlier one.
    ///
    /// `path` matches a request whose target equals it or whose path (the target without its query
    /// string) equals it. Paths without a behaviour are answered with `Respond(200)`.
    pub fn set_behaviour(&self, path: &str, behaviour: Behaviour) {
        self.handle.shared.lock().standing.insert(path.to_owned(), behaviour);
    }

    /// Queues one-shot behaviours for `path` (matched as in [`Receiver::set_behaviour`]), each used
    /// for one request in order before falling back to the path's standing behaviour. Appends to
    /// anything already queued.
    pub fn push_behaviours(&self, path: &str, behaviours: impl IntoIterator<Item = Behaviour>) {
        self.handle.shared.lock().one_shot.entry(path.to_owned()).or_default().extend(behaviours);
    }

    /// All requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.handle.shared.lock().requests.clone()
    }

    /// The requests received so far for `path` (matched as in [`Receiver::set_behaviour`]), in
    /// arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<ReceivedRequest> {
        self.matching(Some(path))
    }

    /// Waits until at least `count` requests have arrived for `path` (matched as in
    /// [`Receiver::set_behaviour`]), or anywhere when `path` is `None`, or until `timeout` has
    /// elapsed, whichever comes first; returns the matching requests seen by then (fewer than
    /// `count` on timeout). Sleeps between arrivals rather than polling.
    pub async fn wait_for(&self, path: Option<&str>, count: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so an arrival between the look and the wait is not lost.
            let arrival = self.handle.shared.arrived.notified();
            let mut arrival = std::pin::pin!(arrival);
            arrival.as_mut().enable();
            let seen = self.matching(path);
            if seen.len() >= count {
                return seen;
            }
            if tokio::time::timeout_at(deadline, arrival).await.is_err() {
                return self.matching(path);
            }
        }
    }

    /// Stops accepting connections and drops the open ones. Also happens when the last clone is
    /// dropped or the runtime shuts down. Recorded requests stay readable.
    pub fn shutdown(&self) {
        self.handle.accept_loop.abort();
    }

    fn matching(&self, path: Option<&str>) -> Vec<ReceivedRequest> {
        let state = self.handle.shared.lock();
        match path {
            None => state.requests.clone(),
            Some(route) => state.requests.iter().filter(|r| route_matches(route, &r.path)).cloned().collect(),
        }
    }
}

/// Accepts connections until aborted; the connection tasks live in a `JoinSet` owned by this task,
/// so aborting it drops them too.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connection tasks so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let id = shared.next_connection_id.fetch_add(1, Ordering::Relaxed) + 1;
                connections.spawn(serve_connection(stream, Arc::clone(&shared), id));
            }
            // Transient errors (for example too many open files): back off briefly and go on.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// A parsed request head.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    content_length: usize,
    keep_alive: bool,
    /// HTTP/1.0 client that asked for keep-alive: the response must say so.
    keep_alive_1_0: bool,
    expect_continue: bool,
}

/// Why a request could not be served; each is answered with its status and `Connection: close`.
enum Reject {
    BadRequest,
    HeadTooLarge,
    BodyTooLarge,
}

impl Reject {
    fn status(&self) -> u16 {
        match self {
            Reject::BadRequest => 400,
            Reject::HeadTooLarge => 431,
            Reject::BodyTooLarge => 413,
        }
    }
}

/// Serves requests on one connection until the client closes it, asks for `Connection: close`, or a
/// behaviour or an error ends it.
async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>, connection_id: u64) {
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let head_len = match read_head(&mut stream, &mut buf).await {
            Ok(Some(len)) => len,
            Ok(None) => return, // clean close between requests, or I/O error
            Err(reject) => return send_reject(&mut stream, reject).await,
        };
        let head = match parse_head(&buf[..head_len]) {
            Ok(head) => head,
            Err(reject) => return send_reject(&mut stream, reject).await,
        };
        if head.expect_continue
            && head.content_length > 0
            && buf.len() - head_len < head.content_length
            && stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err()
        {
            return;
        }
        let total = head_len + head.content_length;
        while buf.len() < total {
            buf.reserve((total - buf.len()).min(64 * 1024));
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return, // client gave up mid-body
                Ok(_) => {}
            }
        }
        let body = buf[head_len..total].to_vec();
        buf.drain(..total);

        let is_head = head.method == "HEAD";
        let request = ReceivedRequest {
            method: head.method,
            path: head.target,
            headers: head.headers,
            body,
            received_at: Instant::now(),
            connection_id,
        };
        let (status, headers, body) = match shared.record(request) {
            Behaviour::Close => return,
            Behaviour::Respond(status) => (status, Vec::new(), default_body(status)),
            Behaviour::Slow { delay, status } => {
                tokio::time::sleep(delay).await;
                (status, Vec::new(), default_body(status))
            }
            Behaviour::RespondWith { status, headers, body } => (status, headers, body),
        };
        let asked_close = headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("connection") && has_token(v, "close"));
        let keep_alive = head.keep_alive && !asked_close;
        let response = render_response(status, &headers, body.as_bytes(), keep_alive, head.keep_alive_1_0, is_head);
        if stream.write_all(&response).await.is_err() || stream.flush().await.is_err() || !keep_alive {
            return;
        }
    }
}

/// Reads until `buf` holds a complete request head; returns its length including the blank line.
/// `Ok(None)` means the connection ended (or failed) before a head was complete.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Option<usize>, Reject> {
    let mut scanned: usize = 0;
    loop {
        let start = scanned.saturating_sub(3);
        if let Some(pos) = buf[start..].windows(4).position(|w| w == b"\r\n\r\n") {
            let len = start + pos + 4;
            return if len > MAX_HEADER_BYTES { Err(Reject::HeadTooLarge) } else { Ok(Some(len)) };
        }
        if buf.len() > MAX_HEADER_BYTES {
            return Err(Reject::HeadTooLarge);
        }
        scanned = buf.len();
        buf.reserve(8 * 1024);
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
    }
}

/// Parses a request head (request line, headers, blank line).
fn parse_head(raw: &[u8]) -> Result<Head, Reject> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.strip_suffix("\r\n\r\n").ok_or(Reject::BadRequest)?.split("\r\n");

    let request_line = lines.next().ok_or(Reject::BadRequest)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reject::BadRequest);
    };
    if method.is_empty() || target.is_empty() {
        return Err(Reject::BadRequest);
    }
    let http_1_0 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(Reject::BadRequest),
    };

    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(Reject::BadRequest)?;
        // Empty names, whitespace before the colon and obsolete line folding are all malformed.
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(Reject::BadRequest);
        }
        headers.push((name.to_ascii_lowercase(), value.trim_matches([' ', '\t']).to_owned()));
    }

    let values = |wanted: &'static str| headers.iter().filter(move |(n, _)| n == wanted).map(|(_, v)| v.as_str());
    if values("transfer-encoding").next().is_some() {
        return Err(Reject::BadRequest);
    }
    let mut content_length = None;
    for value in values("content-length") {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Reject::BadRequest);
        }
        // Saturate absurd lengths so they are reported as too large rather than malformed.
        let len = value.parse::<usize>().unwrap_or(usize::MAX);
        if content_length.is_some_and(|earlier| earlier != len) {
            return Err(Reject::BadRequest);
        }
        content_length = Some(len);
    }
    let content_length = content_length.unwrap_or(0);
    if content_length > MAX_BODY_BYTES {
        return Err(Reject::BodyTooLarge);
    }
    let wants_close = values("connection").any(|v| has_token(v, "close"));
    let wants_keep_alive = values("connection").any(|v| has_token(v, "keep-alive"));
    let keep_alive = !wants_close && (!http_1_0 || wants_keep_alive);
    let expect_continue = values("expect").any(|v| v.eq_ignore_ascii_case("100-continue"));

    Ok(Head {
        method: method.to_owned(),
        target: target.to_owned(),
        content_length,
        keep_alive,
        keep_alive_1_0: http_1_0 && keep_alive,
        expect_continue,
        headers,
    })
}

/// Whether the comma-separated header value contains `token` (case-insensitively).
fn has_token(value: &str, token: &str) -> bool {
    value.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn default_body(status: u16) -> String {
    if status < 400 { "ok" } else { "error" }.to_owned()
}

/// Serialises a response. 1xx, 204 and 304 responses carry no body; every other response carries a
/// `Content-Length` (the body's length, even for HEAD, whose body is not sent).
fn render_response(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    keep_alive: bool,
    announce_keep_alive: bool,
    is_head: bool,
) -> Vec<u8> {
    let bodyless_status = (100..200).contains(&status) || status == 204 || status == 304;
    let mut out = format!("HTTP/1.1 {status:03} {}\r\n", reason_phrase(status));
    for (name, value) in headers {
        let skip = ["content-length", "transfer-encoding", "connection"].iter().any(|h| name.eq_ignore_ascii_case(h));
        if !skip {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if !bodyless_status {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    if !keep_alive {
        out.push_str("connection: close\r\n");
    } else if announce_keep_alive {
        out.push_str("connection: keep-alive\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if !bodyless_status && !is_head {
        out.extend_from_slice(body);
    }
    out
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Answers an unservable request and closes the connection.
async fn send_reject(stream: &mut TcpStream, reject: Reject) {
    let status = reject.status();
    let response = render_response(status, &[], default_body(status).as_bytes(), false, false, false);
    // Best effort: the connection is dropped either way.
    if stream.write_all(&response).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    // Lingering close: closing with unread input makes the kernel send a reset, which can destroy the
    // response before the client reads it. Drain what the client still sends, bounded in time and size.
    let drain = async {
        let mut scratch = [0u8; 8 * 1024];
        let mut drained = 0;
        while drained < MAX_HEADER_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(200), drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generous bound for anything a test waits on, so a broken receiver fails instead of hanging.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn client() -> reqwest::Client {
        reqwest::Client::builder().timeout(PATIENCE).build().expect("reqwest client")
    }

    /// Sends `raw` on a fresh connection and returns everything the receiver writes until it closes.
    async fn raw_exchange(rx: &Receiver, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, rx.port())).await.expect("connect");
        stream.write_all(raw).await.expect("write");
        let mut out = Vec::new();
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out)).await.expect("receiver closed in time").ok();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn an_unconfigured_path_answers_200_ok_and_records_method_path_headers_and_body() {
        let rx = Receiver::start().await;
        let response = client()
            .post(rx.url("/hooks/a?attempt=1"))
            .header("X-Outhook-Signature", "v1=abc")
            .header("Content-Type", "application/json")
            .body(r#"{"event":"ping"}"#)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-length"], "2");
        assert_eq!(response.text().await.unwrap(), "ok");

        let requests = rx.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hooks/a?attempt=1");
        assert_eq!(request.header("x-outhook-signature"), Some("v1=abc"));
        assert_eq!(request.header("CONTENT-TYPE"), Some("application/json"));
        assert!(request.headers.iter().all(|(name, _)| *name == name.to_ascii_lowercase()));
        assert_eq!(request.header("host"), Some(format!("127.0.0.1:{}", rx.port()).as_str()));
        assert_eq!(request.body_text(), r#"{"event":"ping"}"#);
        assert_eq!(rx.requests_to("/hooks/a").len(), 1, "a route matches the target without its query");
        assert_eq!(rx.requests_to("/hooks/a?attempt=1").len(), 1, "a route matches the whole target");
        assert!(rx.requests_to("/hooks/b").is_empty());
    }

    #[tokio::test]
    async fn a_standing_behaviour_applies_to_its_path_only_and_to_every_request() {
        let rx = Receiver::start().await;
        rx.set_behaviour("/failing", Behaviour::Respond(503));
        let client = client();
        for _ in 0..2 {
            let response = client.post(rx.url("/failing")).body("x").send().await.expect("request");
            assert_eq!(response.status(), 503);
            assert_eq!(response.text().await.unwrap(), "error");
        }
        let other = client.post(rx.url("/fine")).send().await.expect("request");
        assert_eq!(other.status(), 200);
        assert_eq!(rx.requests_to("/failing").len(), 2);
        assert_eq!(rx.requests_to("/fine").len(), 1);
    }

    #[tokio::test]
    async fn one_shot_behaviours_are_used_in_order_before_the_standing_behaviour() {
        let rx = Receiver::start().await;
        rx.set_behaviour("/flaky", Behaviour::Respond(201));
        rx.push_behaviours("/flaky", [Behaviour::Respond(500), Behaviour::Respond(502)]);
        let client = client();
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(client.post(rx.url("/flaky")).send().await.expect("request").status().as_u16());
        }
        assert_eq!(statuses, [500, 502, 201, 201]);
    }

    #[tokio::test]
    async fn a_429_with_retry_after_reaches_the_client_with_its_header_and_body() {
        let rx = Receiver::start().await;
        rx.push_behaviours(
            "/limited",
            [Behaviour::RespondWith {
                status: 429,
                headers: vec![("Retry-After".into(), "7".into())],
                body: "slow down".into(),
            }],
        );
        let client = client();
        let response = client.post(rx.url("/limited")).send().await.expect("request");
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(response.text().await.unwrap(), "slow down");
        let after = client.post(rx.url("/limited")).send().await.expect("request");
        assert_eq!(after.status(), 200, "the one-shot 429 is used up");
    }

    #[tokio::test]
    async fn a_redirect_is_sent_with_its_location_header() {
        let rx = Receiver::start().await;
        rx.set_behaviour(
            "/moved",
            Behaviour::RespondWith {
                status: 302,
                headers: vec![("Location".into(), rx.url("/elsewhere"))],
                body: String::new(),
            },
        );
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(PATIENCE).build();
        let response = client.unwrap().post(rx.url("/moved")).send().await.expect("request");
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()["location"], rx.url("/elsewhere").as_str());
    }

    #[tokio::test]
    async fn a_slow_behaviour_delays_the_response_by_at_least_its_delay() {
        let rx = Receiver::start().await;
        let delay = Duration::from_millis(200);
        rx.set_behaviour("/slow", Behaviour::Slow { delay, status: 202 });
        let started = Instant::now();
        let response = client().post(rx.url("/slow")).send().await.expect("request");
        assert!(started.elapsed() >= delay, "answered after {:?}", started.elapsed());
        assert_eq!(response.status(), 202);
    }

    #[tokio::test]
    async fn a_slow_request_is_recorded_before_its_response_is_sent() {
        let rx = Receiver::start().await;
        rx.set_behaviour("/slow", Behaviour::Slow { delay: Duration::from_millis(300), status: 200 });
        let pending = tokio::spawn(client().post(rx.url("/slow")).send());
        let seen = rx.wait_for(Some("/slow"), 1, PATIENCE).await;
        assert_eq!(seen.len(), 1);
        assert!(!pending.is_finished(), "the request was recorded while its response was still being delayed");
        assert_eq!(pending.await.unwrap().expect("response").status(), 200);
    }

    #[tokio::test]
    async fn a_close_behaviour_records_the_request_and_gives_the_client_an_error() {
        let rx = Receiver::start().await;
        rx.push_behaviours("/hangup", [Behaviour::Close]);
        let client = client();
        let result = client.post(rx.url("/hangup")).body("payload").send().await;
        assert!(result.is_err(), "expected a connection error, got {result:?}");
        let recorded = rx.requests_to("/hangup");
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].body_text(), "payload");
        let retry = client.post(rx.url("/hangup")).send().await.expect("a fresh connection works");
        assert_eq!(retry.status(), 200);
    }

    #[tokio::test]
    async fn sequential_requests_from_one_client_share_a_kept_alive_connection_and_are_all_recorded() {
        let rx = Receiver::start().await;
        let client = client();
        for body in ["first", "second"] {
            let response = client.post(rx.url("/pooled")).body(body).send().await.expect("request");
            assert_eq!(response.text().await.unwrap(), "ok");
        }
        let requests = rx.requests_to("/pooled");
        assert_eq!(requests.iter().map(ReceivedRequest::body_text).collect::<Vec<_>>(), ["first", "second"]);
        assert_eq!(requests[0].connection_id, requests[1].connection_id);
    }

    #[tokio::test]
    async fn a_connection_close_request_is_answered_and_then_the_connection_is_closed() {
        let rx = Receiver::start().await;
        let response =
            raw_exchange(&rx, b"POST /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc")
                .await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains("connection: close\r\n"), "{response}");
        assert!(response.ends_with("\r\n\r\nok"), "{response}");
        assert_eq!(rx.requests_to("/bye")[0].body, b"abc");
    }

    #[tokio::test]
    async fn pipelined_requests_on_one_connection_are_answered_in_order() {
        let rx = Receiver::start().await;
        rx.set_behaviour("/b", Behaviour::Respond(404));
        let raw = b"POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\n1GET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\nConnection: close\r\n\r\n";
        let response = raw_exchange(&rx, raw).await;
        let statuses: Vec<_> = response.match_indices("HTTP/1.1 ").map(|(i, _)| &response[i + 9..i + 12]).collect();
        assert_eq!(statuses, ["200", "404", "200"], "{response}");
        let paths: Vec<_> = rx.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/a", "/b", "/c"]);
    }

    #[tokio::test]
    async fn malformed_chunked_and_oversized_requests_are_rejected_and_not_recorded() {
        let rx = Receiver::start().await;
        let chunked =
            raw_exchange(&rx, b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").await;
        assert!(chunked.starts_with("HTTP/1.1 400 "), "{chunked}");
        let garbage = raw_exchange(&rx, b"NOT-HTTP\r\n\r\n").await;
        assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
        let huge_body = raw_exchange(&rx, b"POST /h HTTP/1.1\r\nContent-Length: 16777217\r\n\r\n").await;
        assert!(huge_body.starts_with("HTTP/1.1 413 "), "{huge_body}");
        let mut huge_head = b"GET /h HTTP/1.1\r\nX-Pad: ".to_vec();
        huge_head.resize(MAX_HEADER_BYTES + 10, b'a');
        let huge_head = raw_exchange(&rx, &huge_head).await;
        assert!(huge_head.starts_with("HTTP/1.1 431 "), "{huge_head}");
        assert!(rx.requests().is_empty());
    }

    #[tokio::test]
    async fn wait_for_returns_as_soon_as_the_count_is_reached() {
        let rx = Receiver::start().await;
        let sender = {
            let (client, url) = (client(), rx.url("/events"));
            tokio::spawn(async move {
                for _ in 0..3 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    client.post(&url).send().await.expect("request");
                }
            })
        };
        let started = Instant::now();
        let seen = rx.wait_for(Some("/events"), 3, PATIENCE).await;
        assert_eq!(seen.len(), 3);
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        sender.await.unwrap();
        assert_eq!(rx.wait_for(None, 3, Duration::ZERO).await.len(), 3, "an already reached count returns at once");
    }

    #[tokio::test]
    async fn wait_for_returns_fewer_requests_when_the_timeout_elapses() {
        let rx = Receiver::start().await;
        client().post(rx.url("/events")).send().await.expect("request");
        client().post(rx.url("/other")).send().await.expect("request");
        let timeout = Duration::from_millis(150);
        let started = Instant::now();
        let seen = rx.wait_for(Some("/events"), 2, timeout).await;
        let elapsed = started.elapsed();
        assert_eq!(seen.len(), 1);
        assert!(elapsed >= timeout && elapsed < Duration::from_secs(5), "took {elapsed:?}");
    }

    #[tokio::test]
    async fn shutdown_stops_the_server_but_keeps_the_records() {
        let rx = Receiver::start().await;
        let client = client();
        client.post(rx.url("/x")).send().await.expect("request");
        rx.shutdown();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(client.post(rx.url("/x")).send().await.is_err());
        assert_eq!(rx.requests().len(), 1);
    }
}
