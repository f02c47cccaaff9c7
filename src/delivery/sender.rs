//! The HTTP side of a delivery: one pooled `reqwest` client (rustls, no redirects, a timeout),
//! whose DNS resolver is the SSRF guard, so every address is checked at connect time, after
//! resolution. Literal IP hosts never reach a resolver and are checked before sending.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::delivery::ssrf::{self, Blocked, IpNet};
use crate::domain::delivery::ErrorKind;

/// How much of a response body is kept for the attempt log.
pub const RESPONSE_BODY_LIMIT: usize = 20 * 1024;
/// Sent with every webhook, so subscribers can tell Outhook's requests apart.
pub const USER_AGENT: &str = concat!("Outhook/", env!("CARGO_PKG_VERSION"));
/// Every webhook body is JSON.
pub const CONTENT_TYPE: &str = "application/json";

/// The outcome of one POST, successful or not.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: Option<u16>,
    pub headers: Option<BTreeMap<String, String>>,
    pub body: Option<String>,
    pub error: Option<(ErrorKind, String)>,
    pub duration: Duration,
}

impl Response {
    /// A failure decided before any request was made (e.g. the payload version is unavailable).
    pub fn not_sent(kind: ErrorKind, message: String) -> Self {
        Self { status: None, headers: None, body: None, error: Some((kind, message)), duration: Duration::ZERO }
    }

    /// A 2xx status with no transport error.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|status| (200..300).contains(&status))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.as_ref()?.get(name).map(String::as_str)
    }
}

/// The DNS failure of a host name, distinguished from a blocked address.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {reason}")]
struct DnsFailure {
    host: String,
    reason: String,
}

/// Resolves with the system resolver, then drops every address the guard refuses; refusing all
/// of them fails the connection with [`Blocked`].
struct GuardedResolver {
    allowed: Arc<Vec<IpNet>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = Arc::clone(&self.allowed);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|error| DnsFailure { host: host.clone(), reason: error.to_string() })?
                .collect();
            let mut first_refusal = None;
            let permitted: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| match ssrf::check(address.ip(), &allowed) {
                    Ok(()) => true,
                    Err(blocked) => {
                        first_refusal.get_or_insert(blocked);
                        false
                    }
                })
                .collect();
            if permitted.is_empty() {
                return Err(match first_refusal {
                    Some(blocked) => Box::new(blocked) as Box<dyn std::error::Error + Send + Sync>,
                    None => Box::new(DnsFailure { host, reason: "no addresses".into() }),
                });
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// Sends webhooks. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allowed: Arc<Vec<IpNet>>,
}

/// Why the sender could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("delivery.allowed_networks: `{0}` is not a network")]
    Network(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Sender {
    pub fn new(timeout: Duration, allowed_networks: &[String]) -> Result<Self, SenderError> {
        let allowed: Vec<IpNet> = allowed_networks
            .iter()
            .map(|raw| raw.parse::<IpNet>().map_err(|_| SenderError::Network(raw.clone())))
            .collect::<Result<_, _>>()?;
        let allowed = Arc::new(allowed);
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(32)
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allowed: Arc::clone(&allowed) }))
            .build()
            .map_err(|error| SenderError::Client(error.to_string()))?;
        Ok(Self { client, allowed })
    }

    /// Checks hosts that are IP literals (in any spelling), which skip DNS resolution.
    fn check_literal(&self, url: &Url) -> Result<(), Blocked> {
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(Host::Domain(domain)) => ssrf::parse_literal_host(domain),
            None => None,
        };
        literal.map_or(Ok(()), |ip| ssrf::check(ip, &self.allowed))
    }

    /// POSTs `body` to `url` with `headers`; never fails, every problem is in the [`Response`].
    pub async fn post(&self, url: &Url, headers: &[(String, String)], body: Vec<u8>) -> Response {
        let started = Instant::now();
        let failed = |kind: ErrorKind, message: String| Response {
            status: None,
            headers: None,
            body: None,
            error: Some((kind, message)),
            duration: started.elapsed(),
        };
        if let Err(blocked) = self.check_literal(url) {
            return failed(ErrorKind::Blocked, blocked.to_string());
        }
        let mut request = self.client.post(url.clone()).header("content-type", CONTENT_TYPE).body(body);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let (kind, message) = classify(&error);
                return failed(kind, message);
            }
        };
        let status = response.status().as_u16();
        let response_headers: BTreeMap<String, String> = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        let mut error = None;
        while body.len() < RESPONSE_BODY_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(read_error) => {
                    error = Some(classify(&read_error));
                    break;
                }
            }
        }
        body.truncate(RESPONSE_BODY_LIMIT);
        let error = error.or_else(|| {
            (!(200..300).contains(&status)).then(|| (ErrorKind::HttpStatus, format!("the endpoint answered {status}")))
        });
        Response {
            status: Some(status),
            headers: Some(response_headers),
            body: Some(String::from_utf8_lossy(&body).into_owned()),
            error,
            duration: started.elapsed(),
        }
    }
}

/// Maps a transport error to an error kind, looking through its cause chain.
fn classify(error: &reqwest::Error) -> (ErrorKind, String) {
    let mut source = error.source();
    let mut chain = error.to_string();
    while let Some(cause) = source {
        if let Some(blocked) = cause.downcast_ref::<Blocked>() {
            return (ErrorKind::Blocked, blocked.to_string());
        }
        if let Some(dns) = cause.downcast_ref::<DnsFailure>() {
            return (ErrorKind::Dns, dns.to_string());
        }
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    if error.is_timeout() {
        return (ErrorKind::Timeout, chain);
    }
    let lowered = chain.to_ascii_lowercase();
    if lowered.contains("certificate") || lowered.contains("tls") || lowered.contains("handshake") {
        return (ErrorKind::Tls, chain);
    }
    (ErrorKind::Connect, chain)
}
