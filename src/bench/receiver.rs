//! The benchmark's subscriber: a loopback HTTP/1.1 server that records when each webhook arrived,
//! at which endpoint, and whether its Standard Webhooks signature verifies. It is written on raw
//! tokio sockets with `httparse` (keep-alive, no framework) so it stays cheap at ~10k requests/s
//! and leaves the machine's cores to the server being measured.
//!
//! Paths name the endpoint: `/e/{index}` for measured endpoints, `/fail` for the backlog
//! scenario's endpoint that always answers 500. A measured endpoint answers 500 the first time it
//! sees a webhook id picked by [`fails_first`] and 200 otherwise, so retries eventually succeed.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};

use crate::delivery::signer;
use crate::domain::secret::SigningSecret;

/// Largest request head accepted; larger heads are answered 431 and the connection closed.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Largest request body accepted; Outhook's envelopes for the benchmark payload are ~600 bytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Standard Webhooks' suggested tolerance between `webhook-timestamp` and the receiver's clock.
const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;

/// Which of the receiver's endpoints a request was addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// A measured endpoint, by index: its deliveries are counted, timed and checked.
    Endpoint(usize),
    /// The backlog scenario's endpoint, which answers 500 to everything.
    Failing,
}

impl Route {
    fn path(self) -> String {
        match self {
            Route::Endpoint(index) => format!("/e/{index}"),
            Route::Failing => "/fail".to_owned(),
        }
    }

    fn from_path(path: &str) -> Option<Self> {
        if path == "/fail" {
            return Some(Route::Failing);
        }
        path.strip_prefix("/e/").and_then(|index| index.parse().ok()).map(Route::Endpoint)
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub route: Route,
    pub webhook_id: String,
    pub arrived: Instant,
    pub signature_valid: bool,
    /// The status the receiver answered.
    pub status: u16,
}

/// Whether a measured endpoint answers 500 to the first request carrying `webhook_id`: a stable
/// hash of the id (FNV-1a) mapped to [0, 1) below `fraction`. Deterministic, so a run can be
/// reasoned about, and independent of arrival order.
pub fn fails_first(webhook_id: &str, fraction: f64) -> bool {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in webhook_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV-1a barely moves the top bits for the last bytes, and ids minted in the same millisecond
    // differ only there: without a final mix, runs of consecutive events would fail together (and
    // open the endpoint's circuit). MurmurHash3's finalizer spreads every bit over all of them.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    // The top 53 bits give a uniform double in [0, 1).
    ((hash >> 11) as f64 / (1u64 << 53) as f64) < fraction
}

/// What a measured endpoint has answered for one webhook id so far.
#[derive(Default)]
struct Seen {
    receipts: u32,
    successes: u32,
}

#[derive(Default)]
struct Log {
    seen: HashMap<(usize, String), Seen>,
    receipts: Vec<Receipt>,
}

struct Shared {
    fail_fraction: f64,
    secrets: RwLock<HashMap<Route, SigningSecret>>,
    log: Mutex<Log>,
    /// Distinct (endpoint, webhook id) pairs answered 2xx on measured endpoints.
    delivered: AtomicUsize,
    /// Requests to paths that name no endpoint.
    unrouted: AtomicUsize,
}

/// The parts of a request head the receiver needs, copied out of the read buffer.
struct Head {
    route: Option<Route>,
    webhook_id: Option<String>,
    timestamp: Option<String>,
    signature: Option<String>,
    content_length: usize,
    chunked: bool,
    close: bool,
}

impl Shared {
    fn signature_valid(&self, route: Route, head: &Head, body: &[u8]) -> bool {
        let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
        let (Some(secret), Some(id), Some(timestamp), Some(signatures)) =
            (secrets.get(&route), &head.webhook_id, &head.timestamp, &head.signature)
        else {
            return false;
        };
        let Ok(timestamp) = timestamp.parse::<i64>() else { return false };
        if (chrono::Utc::now().timestamp() - timestamp).abs() > TIMESTAMP_TOLERANCE_SECONDS {
            return false;
        }
        let expected = signer::sign(secret, id, timestamp, body);
        signatures.split(' ').any(|signature| signature == expected)
    }

    /// Records the request and decides the status to answer.
    fn handle(&self, head: &Head, body: &[u8]) -> u16 {
        let arrived = Instant::now();
        let Some(route) = head.route else {
            self.unrouted.fetch_add(1, Ordering::Relaxed);
            return 404;
        };
        let signature_valid = self.signature_valid(route, head, body);
        let webhook_id = head.webhook_id.clone().unwrap_or_default();
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let status = match route {
            Route::Failing => 500,
            Route::Endpoint(index) => {
                let seen = log.seen.entry((index, webhook_id.clone())).or_default();
                seen.receipts += 1;
                if seen.receipts == 1 && fails_first(&webhook_id, self.fail_fraction) {
                    500
                } else {
                    seen.successes += 1;
                    if seen.successes == 1 {
                        self.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    200
                }
            }
        };
        log.receipts.push(Receipt { route, webhook_id, arrived, signature_valid, status });
        status
    }
}

/// The running receiver. Dropping it stops accepting and closes every connection.
pub struct Receiver {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

impl Receiver {
    /// Listens on 127.0.0.1 (never another interface) on a port the OS picks.
    pub async fn start(fail_fraction: f64) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            fail_fraction,
            secrets: RwLock::new(HashMap::new()),
            log: Mutex::new(Log::default()),
            delivered: AtomicUsize::new(0),
            unrouted: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared))).abort_handle();
        Ok(Self { address, shared, accept })
    }

    /// The URL an endpoint at `route` is given.
    pub fn url(&self, route: Route) -> String {
        format!("http://{}{}", self.address, route.path())
    }

    /// Tells the receiver the secret that signs requests to `route`; register it before any
    /// event can reach the endpoint, or its requests count as badly signed.
    pub fn register_secret(&self, route: Route, secret: SigningSecret) {
        self.shared.secrets.write().unwrap_or_else(PoisonError::into_inner).insert(route, secret);
    }

    /// How many distinct (measured endpoint, webhook id) pairs have been answered 2xx.
    pub fn delivered(&self) -> usize {
        self.shared.delivered.load(Ordering::Relaxed)
    }

    /// Requests to paths that name no endpoint (a misconfigured target server).
    pub fn unrouted(&self) -> usize {
        self.shared.unrouted.load(Ordering::Relaxed)
    }

    /// Every request received so far, in arrival order.
    pub fn receipts(&self) -> Vec<Receipt> {
        self.shared.log.lock().unwrap_or_else(PoisonError::into_inner).receipts.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Connections live in this set, so aborting the accept task closes them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.spawn(serve_connection(stream, Arc::clone(&shared)));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn parse_head(raw: &httparse::Request<'_, '_>) -> Result<Head, &'static str> {
    let mut head = Head {
        route: raw.path.and_then(Route::from_path),
        webhook_id: None,
        timestamp: None,
        signature: None,
        content_length: 0,
        chunked: false,
        close: false,
    };
    for header in raw.headers.iter() {
        let value = || String::from_utf8_lossy(header.value).into_owned();
        match header.name.to_ascii_lowercase().as_str() {
            "content-length" => {
                head.content_length = std::str::from_utf8(header.value)
                    .ok()
                    .and_then(|length| length.trim().parse().ok())
                    .ok_or("invalid content-length")?;
            }
            "transfer-encoding" => head.chunked = true,
            "connection" => head.close = header.value.eq_ignore_ascii_case(b"close"),
            "webhook-id" => head.webhook_id = Some(value()),
            "webhook-timestamp" => head.timestamp = Some(value()),
            "webhook-signature" => head.signature = Some(value()),
            _ => {}
        }
    }
    Ok(head)
}

async fn respond(stream: &mut TcpStream, status: u16, close: bool) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    };
    let connection = if close { "connection: close\r\n" } else { "" };
    let response = format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n{connection}\r\n");
    stream.write_all(response.as_bytes()).await
}

/// Serves requests on one keep-alive connection until the client closes it or sends garbage.
async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let (head_len, head) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&buffer) {
                Ok(httparse::Status::Complete(head_len)) => match parse_head(&request) {
                    Ok(head) => break (head_len, head),
                    Err(_) => return respond(&mut stream, 400, true).await,
                },
                Ok(httparse::Status::Partial) if buffer.len() >= MAX_HEAD_BYTES => {
                    return respond(&mut stream, 431, true).await;
                }
                Ok(httparse::Status::Partial) => {
                    if stream.read_buf(&mut buffer).await? == 0 {
                        return Ok(());
                    }
                }
                Err(_) => return respond(&mut stream, 400, true).await,
            }
        };
        if head.chunked {
            return respond(&mut stream, 411, true).await;
        }
        if head.content_length > MAX_BODY_BYTES {
            return respond(&mut stream, 413, true).await;
        }
        let end = head_len + head.content_length;
        while buffer.len() < end {
            if stream.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        }
        let status = shared.handle(&head, &buffer[head_len..end]);
        respond(&mut stream, status, head.close).await?;
        if head.close {
            return Ok(());
        }
        buffer.drain(..end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_fraction_never_fails_and_the_whole_fraction_always_does() {
        for index in 0..1000 {
            let id = format!("evt_{index}");
            assert!(!fails_first(&id, 0.0));
            assert!(fails_first(&id, 1.0));
        }
    }

    #[test]
    fn ids_that_differ_only_at_the_end_do_not_fail_together() {
        // Ids minted in one millisecond share all but their last characters.
        let ids: Vec<String> = (0..20_000).map(|index| format!("evt_01JEXAMPLE{index:08}")).collect();
        let (mut run, mut longest) = (0, 0);
        for id in &ids {
            run = if fails_first(id, 0.1) { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        assert!(longest <= 7, "{longest} consecutive ids failed together");
    }

    #[test]
    fn the_decision_is_stable_and_close_to_the_fraction() {
        let ids: Vec<String> = (0..20_000).map(|index| format!("evt_01J{index:020}")).collect();
        let failing = ids.iter().filter(|id| fails_first(id, 0.1)).count();
        assert!((1_600..=2_400).contains(&failing), "{failing} of 20000");
        assert!(ids.iter().all(|id| fails_first(id, 0.1) == fails_first(id, 0.1)));
    }

    #[test]
    fn paths_name_routes() {
        assert_eq!(Route::from_path("/e/3"), Some(Route::Endpoint(3)));
        assert_eq!(Route::from_path("/fail"), Some(Route::Failing));
        assert_eq!(Route::from_path("/e/x"), None);
        assert_eq!(Route::from_path("/"), None);
        assert_eq!(Route::from_path(&Route::Endpoint(7).path()), Some(Route::Endpoint(7)));
    }
}
