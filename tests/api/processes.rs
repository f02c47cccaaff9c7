//! Process-level guarantees with the real `outhook` binary on PostgreSQL: a server killed with
//! SIGKILL mid-delivery loses nothing after a restart, and two worker processes sharing one
//! database never send the same delivery twice when nothing fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::common::receiver::{Behaviour, Receiver};
use crate::common::{Backend, test_settings};

const EVENTS: usize = 2000;

/// A child `outhook` process, killed when dropped so a failing test leaves nothing behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Writes a configuration file for processes sharing the test database.
fn write_config(dir: &Path, database_url: &str, key: &str, port: u16) -> std::path::PathBuf {
    let file = dir.join("outhook.toml");
    let config = format!(
        r#"data_dir = "{data}"
[server]
listen = "127.0.0.1:{port}"
workers = 1
[database]
url = "{database_url}"
pool_size = 8
[security]
encryption_key = "{key}"
[delivery]
allowed_networks = ["127.0.0.0/8"]
lease_ms = 3000
request_timeout_ms = 2000
poll_interval_ms = 100
retry_schedule = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]
shutdown_grace_ms = 1000
[retention]
batch_size = 2
"#,
        data = dir.display()
    );
    std::fs::write(&file, config).unwrap();
    file
}

fn outhook(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_outhook"));
    command.arg("--config").arg(config).args(args).env("RUST_LOG", "warn").stdin(Stdio::null());
    command
}

fn serve(config: &Path, role: &str, log: &Path) -> Process {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let child = outhook(config, &["serve", "--role", role]).stdout(Stdio::null()).stderr(log).spawn().unwrap();
    Process(child)
}

/// Prepares a PostgreSQL database and the config file; `None` when PostgreSQL is unavailable
/// and not required.
async fn prepare(dir: &Path) -> Option<(std::path::PathBuf, u16, String)> {
    let settings = test_settings(Backend::Postgres, dir).await?;
    let port = free_port();
    let config = write_config(
        dir,
        settings.database.url.expose_secret(),
        settings.security.encryption_key.expose_secret(),
        port,
    );
    let output = outhook(&config, &["token", "create", "--name", "test"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    Some((config, port, token))
}

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.client.get(format!("{}/health", self.base)).send().await.is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response =
            self.client.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }

    async fn setup(&self, url: &str) {
        self.post("/v1/tenants", json!({"uid": "acme"})).await;
        self.post("/v1/event-types", json!({"name": "invoice.paid"})).await;
        self.post("/v1/tenants/acme/endpoints", json!({"url": url})).await;
    }

    async fn submit(&self, count: usize) {
        for chunk in 0..count.div_ceil(100) {
            let events: Vec<Value> = (0..100.min(count - chunk * 100))
                .map(|n| json!({"event_type": "invoice.paid", "payload": {"n": chunk * 100 + n}}))
                .collect();
            self.post("/v1/tenants/acme/events/batch", json!({"events": events})).await;
        }
    }
}

/// Requests per `webhook-id` seen by the receiver.
fn per_webhook_id(receiver: &Receiver) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in receiver.requests() {
        *counts.entry(request.header("webhook-id").unwrap_or_default().to_owned()).or_default() += 1;
    }
    counts
}

async fn wait_for_distinct(receiver: &Receiver, count: usize, timeout: Duration) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = per_webhook_id(receiver);
        if seen.len() >= count || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_delivery_loses_nothing_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let Some((config, port, token)) = prepare(dir.path()).await else { return };
    let log = dir.path().join("server.log");
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/hook", Behaviour::Slow { delay: Duration::from_millis(50), status: 200 });
    let api = Api { client: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), token };

    let server = serve(&config, "all", &log);
    api.wait_until_up().await;
    api.setup(&receiver.url("/hook")).await;
    api.submit(EVENTS).await;
    receiver.wait_for(Some("/hook"), 200, Duration::from_secs(30)).await;
    drop(server); // SIGKILL: no graceful shutdown, leases are left behind.
    let before_restart = per_webhook_id(&receiver).len();
    assert!(before_restart < EVENTS, "the kill must happen mid-flight ({before_restart} already delivered)");

    let _restarted = serve(&config, "all", &log);
    let seen = wait_for_distinct(&receiver, EVENTS, Duration::from_secs(90)).await;
    let duplicates: usize = seen.values().map(|count| count - 1).sum();
    println!(
        "kill -9 after {before_restart} deliveries: {} distinct webhook-ids, {duplicates} duplicates (at-least-once)",
        seen.len()
    );
    assert_eq!(
        seen.len(),
        EVENTS,
        "every event was delivered; log: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_never_send_a_delivery_twice() {
    let dir = tempfile::tempdir().unwrap();
    let Some((config, port, token)) = prepare(dir.path()).await else { return };
    let log = dir.path().join("server.log");
    let receiver = Receiver::start().await;
    let api = Api { client: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), token };

    let _api_process = serve(&config, "api", &log);
    api.wait_until_up().await;
    let _worker_a = serve(&config, "worker", &log);
    let _worker_b = serve(&config, "worker", &log);
    api.setup(&receiver.url("/hook")).await;
    api.submit(EVENTS).await;
    let seen = wait_for_distinct(&receiver, EVENTS, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = receiver.requests().len();
    println!("two workers: {} distinct webhook-ids, {total} requests", seen.len());
    assert_eq!(seen.len(), EVENTS, "log: {}", std::fs::read_to_string(&log).unwrap_or_default());
    assert_eq!(total, EVENTS, "no delivery was sent twice");
}

/// The most requests the receiver was serving at once, if each took `service` to answer (a
/// lower bound of the real overlap: a worker also records the attempt before sending the next).
fn most_at_once(requests: &[crate::common::receiver::ReceivedRequest], service: Duration) -> usize {
    let mut starts: Vec<Instant> = requests.iter().map(|request| request.received_at).collect();
    starts.sort();
    (0..starts.len())
        .map(|first| starts[first..].iter().take_while(|start| **start < starts[first] + service).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_share_an_endpoints_in_flight_limit() {
    const LIMITED_EVENTS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let Some((config, port, token)) = prepare(dir.path()).await else { return };
    let log = dir.path().join("server.log");
    let receiver = Receiver::start().await;
    let service = Duration::from_millis(50);
    receiver.set_behaviour("/limited", Behaviour::Slow { delay: service, status: 200 });
    let api = Api { client: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), token };

    let _api_process = serve(&config, "api", &log);
    api.wait_until_up().await;
    let _worker_a = serve(&config, "worker", &log);
    let _worker_b = serve(&config, "worker", &log);
    api.post("/v1/tenants", json!({"uid": "acme"})).await;
    api.post("/v1/event-types", json!({"name": "invoice.paid"})).await;
    let endpoint = json!({"url": receiver.url("/limited"), "max_in_flight": 2});
    api.post("/v1/tenants/acme/endpoints", endpoint).await;
    api.submit(LIMITED_EVENTS).await;
    let seen = wait_for_distinct(&receiver, LIMITED_EVENTS, Duration::from_secs(60)).await;
    let requests = receiver.requests_to("/limited");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(seen.len(), LIMITED_EVENTS, "log: {log}");
    assert_eq!(requests.len(), LIMITED_EVENTS, "no delivery was sent twice");
    assert!(most_at_once(&requests, service) <= 2, "at most 2 in flight across both workers");
    assert!(!log.contains("deadlock"), "the workers never deadlocked: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let Some((config, port, token)) = prepare(dir.path()).await else { return };
    let log = dir.path().join("server.log");
    let api = Api { client: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), token };
    let stderr = std::fs::File::create(&log).unwrap();
    let child = outhook(&config, &["serve"])
        .env("RUST_LOG", "info")
        .env("OUTHOOK_TELEMETRY__LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let _server = Process(child);
    api.wait_until_up().await;
    // A request the API refuses is logged (as a warning), with the start-up lines before it.
    let response = api.client.get(format!("{}/v1/tenants/nobody", api.base)).bearer_auth(&api.token).send().await;
    assert_eq!(response.unwrap().status(), 404);
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.iter().any(|line| line.contains("Outhook is running"))
            && lines.iter().any(|line| line.contains("/v1/tenants/nobody"))
        {
            break lines;
        }
        assert!(Instant::now() < deadline, "the start and the refused request were not logged: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for line in &lines {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"));
        assert!(entry["level"].is_string() && entry["timestamp"].is_string(), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_deliveries_before_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let Some((config, port, token)) = prepare(dir.path()).await else { return };
    let log = dir.path().join("server.log");
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/hook", Behaviour::Slow { delay: Duration::from_millis(700), status: 200 });
    let api = Api { client: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), token };

    let mut server = serve(&config, "all", &log);
    api.wait_until_up().await;
    api.setup(&receiver.url("/hook")).await;
    api.submit(5).await;
    receiver.wait_for(Some("/hook"), 5, Duration::from_secs(10)).await;
    let terminated = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(terminated.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "a graceful exit: {status}");

    // The five requests in flight at SIGTERM were finished and recorded: a new process finds
    // nothing to resend, even once their leases (3 s) would have expired.
    let _restarted = serve(&config, "all", &log);
    api.wait_until_up().await;
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert_eq!(receiver.requests_to("/hook").len(), 5, "nothing was sent twice");
}

/// The spans exported to the loopback collector so far, as (name, trace id).
fn exported_spans(collector: &Receiver) -> Vec<(String, Vec<u8>)> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    collector
        .requests_to("/v1/traces")
        .iter()
        .flat_map(|request| ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap().resource_spans)
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .map(|span| (span.name, span.trace_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_carries_the_trace_of_the_ingest_request_exported_over_otlp() {
    let dir = tempfile::tempdir().unwrap();
    let Some((config, port, token)) = prepare(dir.path()).await else { return };
    // One loopback server plays the subscriber (`/hook`) and the OTLP collector (`/v1/traces`).
    let receiver = Receiver::start().await;
    let api = Api { client: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), token };
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let child = outhook(&config, &["serve"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(""))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let _server = Process(child);
    api.wait_until_up().await;
    api.setup(&receiver.url("/hook")).await;
    api.post("/v1/tenants/acme/events", json!({"event_type": "invoice.paid", "payload": {"n": 1}})).await;

    let webhook = receiver.wait_for(Some("/hook"), 1, Duration::from_secs(10)).await;
    let traceparent = webhook[0].header("traceparent").expect("the webhook carries a traceparent").to_owned();
    let trace_id_hex = traceparent.split('-').nth(1).unwrap().to_owned();
    let trace_id: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&trace_id_hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let spans = exported_spans(&receiver);
        let ingest =
            spans.iter().find(|(name, id)| name.contains("/events") && name.starts_with("POST") && *id == trace_id);
        let attempt = spans.iter().find(|(name, id)| name == "webhook.attempt" && *id == trace_id);
        let stored = ["event.ingest", "event.fanout"]
            .iter()
            .all(|wanted| spans.iter().any(|(name, id)| name == wanted && *id == trace_id));
        if ingest.is_some() && attempt.is_some() && stored {
            break;
        }
        assert!(Instant::now() < deadline, "no exported ingest request span with trace {trace_id_hex}: {spans:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outhook_prune_deletes_only_what_is_past_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let Some((config, port, token)) = prepare(dir.path()).await else { return };
    let receiver = Receiver::start().await;
    let api = Api { client: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), token };
    let server = serve(&config, "all", &dir.path().join("server.log"));
    api.wait_until_up().await;
    api.setup(&receiver.url("/hook")).await;
    api.submit(6).await;
    receiver.wait_for(Some("/hook"), 6, Duration::from_secs(10)).await;
    // The receiver answers before the attempts are recorded; settled deliveries are what may go.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = format!("{}/v1/tenants/acme/deliveries?status=succeeded", api.base);
        let page: Value = api.client.get(url).bearer_auth(&api.token).send().await.unwrap().json().await.unwrap();
        if page["data"].as_array().map_or(0, Vec::len) == 6 {
            break;
        }
        assert!(Instant::now() < deadline, "the deliveries never settled: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(server);

    let output = outhook(&config, &["prune", "--older-than-days", "1"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("pruned 0 events"), "today's events are kept");

    // Four events two days old, one of them with a delivery still waiting for a retry: the three
    // settled ones go (in batches of two, `retention.batch_size`), with their deliveries and attempts.
    let settings = outhook::config::Settings::load(Some(&config)).unwrap();
    let (client, connection) =
        tokio_postgres::connect(settings.database.url.expose_secret(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "UPDATE events SET created_at = created_at - interval '2 days'
             WHERE id IN (SELECT id FROM events WHERE tenant_id <> 'ten_00000000000000000000000000' ORDER BY id LIMIT 4);
             UPDATE deliveries SET status = 'failed', due_at = now() + interval '1 hour'
             WHERE event_id = (SELECT id FROM events ORDER BY created_at LIMIT 1)",
        )
        .await
        .unwrap();
    let count = async |sql: &str| client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0);
    let attempts_before = count("SELECT count(*) FROM attempts").await;
    let output = outhook(&config, &["prune", "--older-than-days", "1"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("pruned 3 events"), "{output:?}");
    assert_eq!(count("SELECT count(*) FROM events WHERE tenant_id <> 'ten_00000000000000000000000000'").await, 3);
    assert_eq!(count("SELECT count(*) FROM deliveries").await, 3, "the pending delivery's event is kept");
    assert_eq!(count("SELECT count(*) FROM attempts").await, attempts_before - 3);
}
