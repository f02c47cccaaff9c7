//! `outhook bench`: measures ingest throughput and ingest→delivery latency end to end, like
//! `pgbench` does for PostgreSQL, so users can check a deployment and we can prove each
//! optimisation. It owns a loopback subscriber ([`receiver`]), provisions a fresh tenant on an
//! Outhook it starts ([`server`]) or is pointed at, sends events ([`load`]), waits for every
//! delivery, checks every signature ([`analysis`]) and reports ([`report`]).
//!
//! The load generator and receiver run on their own runtime with named threads, so that with an
//! embedded server the server's CPU time can be separated from the benchmark's.

pub mod analysis;
pub mod client;
pub mod load;
pub mod receiver;
pub mod report;
pub mod resources;
pub mod server;
pub mod stats;

use std::path::Path;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde::Serialize;

use crate::bench::analysis::Deliveries;
use crate::bench::client::ApiClient;
use crate::bench::load::{EventKind, LoadPlan};
use crate::bench::receiver::{Receiver, Route};
use crate::bench::report::{Report, ThrottleResult, round};
use crate::bench::server::{BENCH_THREAD_NAME, CpuSample, Probe, ServerUnderTest};
use crate::config::Settings;
use crate::startup::StartupError;

/// How long the run keeps listening after the last expected delivery, to catch duplicates.
const SETTLE: Duration = Duration::from_millis(500);
/// How often the run checks whether every delivery has arrived.
const POLL: Duration = Duration::from_millis(2);
/// The retry schedule of the `failing` scenario's endpoints: quick retries, so a run is short.
const FAILING_RETRY_SCHEDULE: [u64; 4] = [0, 1, 1, 1];
/// The backlog endpoint's schedule: its first attempt is an hour away, so its deliveries wait,
/// pending, for the whole run.
const BACKLOG_RETRY_SCHEDULE: [u64; 1] = [3600];
/// Events per batch when pre-loading the backlog (the API's maximum).
const BACKLOG_BATCH: usize = 1000;
/// The throttle scenario sends each endpoint this multiple of its limit.
const THROTTLE_OVERLOAD: f64 = 1.5;

/// Why a benchmark could not run (a run that ran but found problems is a failed [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid options: {0}")]
    Options(String),
    #[error("starting the embedded server: {0}")]
    Startup(#[from] StartupError),
    #[error("{operation} failed with status {status}: {body}")]
    Api { operation: &'static str, status: u16, body: String },
    #[error("HTTP request to the server failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{context}: {source}")]
    Io { context: &'static str, source: std::io::Error },
    #[error("worker process: {0}")]
    Worker(String),
    #[error("pre-loading the backlog failed: {0}")]
    Backlog(String),
    #[error("the benchmark task failed: {0}")]
    Task(String),
    #[error("interrupted")]
    Interrupted,
}

/// What a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Every event to every endpoint (`--endpoints`).
    Fanout,
    /// Like fanout, but the receiver answers 500 the first time for `--fail-fraction` of events.
    Failing,
    /// `--backlog` deliveries wait on a failing endpoint while fresh events go to a healthy one.
    Backlog,
    /// Two endpoints throttled to `--throttle-limits`, sent 1.5× their limit for `--duration`.
    Throttle,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Fanout => "fanout",
            Scenario::Failing => "failing",
            Scenario::Backlog => "backlog",
            Scenario::Throttle => "throttle",
        }
    }
}

/// Which database an embedded server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Embedded {
    /// A fresh SQLite database in a temporary directory.
    Sqlite,
    /// The database of `--database-url` (use a fresh one per run).
    Postgres,
}

/// The options of `outhook bench`.
#[derive(Debug, Clone, Parser)]
#[command(name = "bench")]
pub struct BenchOptions {
    #[arg(long, value_enum, default_value = "fanout")]
    pub scenario: Scenario,
    /// Events to send (not used by `throttle`, which sends for `--duration`).
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Measured endpoints; every event goes to each (1 to 50).
    #[arg(long, default_value_t = 1)]
    pub endpoints: usize,
    /// Concurrent ingest requests (1 to 1024).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Send through the batch API, this many events per call (1 to 1000).
    #[arg(long)]
    pub batch: Option<usize>,
    /// `failing`: the share of events whose first attempt at each endpoint is answered 500.
    #[arg(long, default_value_t = 0.1)]
    pub fail_fraction: f64,
    /// `backlog`: pending deliveries to pre-load on the failing endpoint.
    #[arg(long, default_value_t = 100_000)]
    pub backlog: usize,
    /// `throttle`: how long to send, in seconds.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// `throttle`: the endpoints' `delivery_rate_per_second`.
    #[arg(long, value_delimiter = ',', default_values_t = [10, 100])]
    pub throttle_limits: Vec<u32>,
    /// Separate `serve --role worker` processes (embedded PostgreSQL only); the embedded server
    /// then only serves the API.
    #[arg(long, default_value_t = 0)]
    pub worker_processes: usize,
    /// Longest wait, in seconds, for the load and then for every delivery (and, separately, for
    /// pre-loading the backlog).
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Start Outhook in this process on this database (ignored with `--url`).
    #[arg(long, value_enum, default_value = "sqlite")]
    pub embedded: Embedded,
    /// `--embedded postgres`: the database, e.g. postgres://postgres@127.0.0.1:5432/bench.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Benchmark a running Outhook instead (it must allow 127.0.0.0/8 in delivery.allowed_networks).
    #[arg(long, requires = "token")]
    pub url: Option<String>,
    /// An admin token of the `--url` server.
    #[arg(long)]
    pub token: Option<String>,
    /// The `--url` server's process id, to report its memory and CPU time.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// PostgreSQL's postmaster process id, to add the database's CPU time (its backends').
    #[arg(long)]
    pub postgres_pid: Option<u32>,
}

impl BenchOptions {
    fn validate(&self) -> Result<(), BenchError> {
        let within = |value: usize, low: usize, high: usize, name: &str| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(BenchError::Options(format!("--{name} must be between {low} and {high}")))
            }
        };
        within(self.events, 1, 10_000_000, "events")?;
        within(self.endpoints, 1, 50, "endpoints")?;
        within(self.concurrency, 1, 1024, "concurrency")?;
        within(self.batch.unwrap_or(1), 1, 1000, "batch")?;
        within(self.backlog, 1, 10_000_000, "backlog")?;
        within(self.duration as usize, 1, 600, "duration")?;
        within(self.worker_processes, 0, 16, "worker-processes")?;
        within(self.timeout as usize, 1, 3600, "timeout")?;
        within(self.throttle_limits.len(), 1, 10, "throttle-limits (count)")?;
        for limit in &self.throttle_limits {
            within(*limit as usize, 1, 10_000, "throttle-limits")?;
        }
        if !(0.0..=1.0).contains(&self.fail_fraction) {
            return Err(BenchError::Options("--fail-fraction must be between 0 and 1".into()));
        }
        if self.worker_processes > 0 && (self.url.is_some() || self.embedded != Embedded::Postgres) {
            return Err(BenchError::Options("--worker-processes needs --embedded postgres".into()));
        }
        Ok(())
    }
}

/// Runs the benchmark described by `options`. `settings` (and `config_file`, passed on to
/// worker processes) configure an embedded server; the benchmark overrides only what it must.
pub async fn run(options: BenchOptions, settings: Settings, config_file: Option<&Path>) -> Result<Report, BenchError> {
    options.validate()?;
    // The server first: a runtime must not be dropped inside this async context, which an early
    // return after building it would do.
    let server = ServerUnderTest::start(&options, settings, config_file).await?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(BENCH_THREAD_NAME)
        // Exited threads' CPU time could no longer be told apart from the server's.
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
        .map_err(|source| BenchError::Io { context: "starting the benchmark runtime", source })?;
    let target = Target {
        base_url: server.base_url.clone(),
        token: server.token.clone(),
        backend: server.backend,
        probe: server.probe.clone(),
    };
    let measurement = runtime.spawn(measure(options, target));
    let result = tokio::select! {
        joined = measurement => joined.map_err(|error| BenchError::Task(error.to_string())).and_then(|report| report),
        _ = tokio::signal::ctrl_c() => Err(BenchError::Interrupted),
    };
    runtime.shutdown_background();
    drop(server);
    result
}

/// What the measurement needs to know about the server.
struct Target {
    base_url: String,
    token: String,
    backend: &'static str,
    probe: Probe,
}

/// The provisioned scenario: what to send, and what it is expected to reach.
struct Setup {
    plan: LoadPlan,
    /// Measured endpoints.
    endpoints: usize,
}

async fn measure(options: BenchOptions, target: Target) -> Result<Report, BenchError> {
    let started = Instant::now();
    let fail_fraction = if options.scenario == Scenario::Failing { options.fail_fraction } else { 0.0 };
    let receiver = Receiver::start(fail_fraction)
        .await
        .map_err(|source| BenchError::Io { context: "starting the receiver", source })?;
    let client = ApiClient::new(&target.base_url, &target.token, options.concurrency)?;
    let tenant = format!("bench-{}", ulid::Ulid::new().to_string().to_lowercase());
    client.create_tenant(&tenant).await?;
    let setup = provision(&options, &client, &receiver, &tenant).await?;
    let backlog_load = match options.scenario {
        Scenario::Backlog => Some(preload_backlog(&options, &client, &tenant).await?),
        _ => None,
    };
    let timeout = Duration::from_secs(options.timeout);
    let cpu_before = target.probe.cpu();
    let load_started = Instant::now();
    let deadline = load_started + timeout;
    let load = load::run(&client, &setup.plan, deadline).await;
    let expected: usize = load.sent.iter().map(|event| setup.plan.kinds[event.kind].endpoints.len()).sum();
    while receiver.delivered() < expected && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
    let cpu_after = target.probe.cpu();
    if receiver.delivered() >= expected {
        tokio::time::sleep(SETTLE).await;
    }
    let window =
        (options.scenario == Scenario::Throttle).then(|| (load_started, Duration::from_secs(options.duration)));
    let mut deliveries = analysis::analyse(&setup.plan, &load.sent, &receiver.receipts(), setup.endpoints, window);
    deliveries.unexpected += receiver.unrouted();
    if let Some(error) = &load.first_error {
        tracing::warn!(errors = load.errors, error, "some events were not accepted");
    }
    let ingest = stats::summarize(&load.request_latencies);
    let delivery = stats::summarize(&deliveries.latencies);
    let span = deliveries.last_arrival.map_or(Duration::ZERO, |last| last.saturating_duration_since(load_started));
    let cpu = CpuFigures::new(target.backend, cpu_before, cpu_after, deliveries.delivered);
    let megabytes = |bytes: u64| round(bytes as f64 / (1024.0 * 1024.0), 1);
    let report = Report {
        scenario: options.scenario,
        backend: target.backend.to_owned(),
        events: setup.plan.events,
        endpoints: setup.endpoints,
        concurrency: options.concurrency,
        batch: options.batch,
        worker_processes: options.worker_processes,
        ingest_events_per_sec: round(stats::rate(load.accepted, load.elapsed), 1),
        ingest_p50_ms: round(ingest.p50_ms, 2),
        ingest_p99_ms: round(ingest.p99_ms, 2),
        deliveries: deliveries.delivered,
        deliveries_per_sec: round(stats::rate(deliveries.delivered, span), 1),
        delivery_p50_ms: round(delivery.p50_ms, 2),
        delivery_p99_ms: round(delivery.p99_ms, 2),
        delivery_max_ms: round(delivery.max_ms, 2),
        duplicates: deliveries.duplicates,
        lost: deliveries.lost,
        bad_signatures: deliveries.bad_signatures,
        ingest_errors: load.errors,
        unexpected: deliveries.unexpected,
        retries: deliveries.retries,
        server_peak_rss_mb: target.probe.server_peak_rss().map(megabytes),
        worker_peak_rss_mb: target.probe.worker_peak_rss().map(megabytes),
        cpu_s_per_1000_deliveries: cpu.total,
        server_cpu_s_per_1000: cpu.server,
        database_cpu_s_per_1000: cpu.database,
        cpu_scope: cpu.scope,
        backlog: backlog_load.map(|_| options.backlog),
        backlog_load_s: backlog_load.map(|elapsed| round(elapsed.as_secs_f64(), 1)),
        backlog_attempts: backlog_load.map(|_| deliveries.failing_endpoint_receipts),
        throttle: window.map(|(_, length)| throttle_results(&options.throttle_limits, &deliveries, length)),
        elapsed_s: round(started.elapsed().as_secs_f64(), 1),
        passed: false,
    }
    .with_verdict();
    // A run against a long-lived database must not leave pending deliveries behind.
    if target.backend != "sqlite"
        && let Err(error) = client.delete_tenant(&tenant).await
    {
        tracing::warn!(%error, tenant, "could not delete the benchmark's tenant");
    }
    Ok(report)
}

fn endpoint_body(receiver: &Receiver, route: Route, event_type: &str) -> serde_json::Value {
    serde_json::json!({ "url": receiver.url(route), "event_types": [event_type], "description": "outhook bench" })
}

/// Creates the scenario's event types and endpoints, registering each secret with the receiver
/// before any event is sent.
async fn provision(
    options: &BenchOptions,
    client: &ApiClient,
    receiver: &Receiver,
    tenant: &str,
) -> Result<Setup, BenchError> {
    let create = |route: Route, body: serde_json::Value| async move {
        let (_, secret) = client.create_endpoint(tenant, &body).await?;
        receiver.register_secret(route, secret);
        Ok::<(), BenchError>(())
    };
    let plan = |events: usize, per_second: Option<f64>, kinds: Vec<EventKind>| LoadPlan {
        tenant: tenant.to_owned(),
        events,
        concurrency: options.concurrency,
        batch: options.batch,
        per_second,
        kinds,
        record_events: true,
    };
    match options.scenario {
        Scenario::Fanout | Scenario::Failing | Scenario::Backlog => {
            let event_type = if options.scenario == Scenario::Backlog { "bench.fresh" } else { "bench.event" };
            client.ensure_event_type(event_type).await?;
            if options.scenario == Scenario::Backlog {
                client.ensure_event_type("bench.backlog").await?;
                let mut body = endpoint_body(receiver, Route::Failing, "bench.backlog");
                body["retry_schedule"] = serde_json::json!(BACKLOG_RETRY_SCHEDULE);
                create(Route::Failing, body).await?;
            }
            for index in 0..options.endpoints {
                let mut body = endpoint_body(receiver, Route::Endpoint(index), event_type);
                if options.scenario == Scenario::Failing {
                    body["retry_schedule"] = serde_json::json!(FAILING_RETRY_SCHEDULE);
                }
                create(Route::Endpoint(index), body).await?;
            }
            let kind = EventKind { event_type: event_type.to_owned(), endpoints: (0..options.endpoints).collect() };
            Ok(Setup { plan: plan(options.events, None, vec![kind]), endpoints: options.endpoints })
        }
        Scenario::Throttle => {
            let limits = &options.throttle_limits;
            let mut kinds = Vec::new();
            let unit = limits.iter().copied().fold(0, gcd).max(1);
            for (index, limit) in limits.iter().enumerate() {
                let event_type = format!("bench.throttle.e{index}");
                client.ensure_event_type(&event_type).await?;
                let mut body = endpoint_body(receiver, Route::Endpoint(index), &event_type);
                body["delivery_rate_per_second"] = serde_json::json!(limit);
                create(Route::Endpoint(index), body).await?;
                // Each endpoint's share of the events is proportional to its limit.
                let kind = EventKind { event_type, endpoints: vec![index] };
                kinds.extend(std::iter::repeat_n(kind, (limit / unit) as usize));
            }
            let per_second = THROTTLE_OVERLOAD * limits.iter().map(|limit| f64::from(*limit)).sum::<f64>();
            let events = (per_second * options.duration as f64).ceil() as usize;
            Ok(Setup { plan: plan(events, Some(per_second), kinds), endpoints: limits.len() })
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Pre-loads the backlog through the batch API; returns how long it took.
async fn preload_backlog(options: &BenchOptions, client: &ApiClient, tenant: &str) -> Result<Duration, BenchError> {
    let plan = LoadPlan {
        tenant: tenant.to_owned(),
        events: options.backlog,
        concurrency: options.concurrency.min(8),
        batch: Some(BACKLOG_BATCH),
        per_second: None,
        kinds: vec![EventKind { event_type: "bench.backlog".into(), endpoints: Vec::new() }],
        record_events: false,
    };
    let started = Instant::now();
    let outcome = load::run(client, &plan, started + Duration::from_secs(options.timeout)).await;
    if outcome.errors > 0 {
        let reason = outcome.first_error.unwrap_or_else(|| "the timeout passed".into());
        return Err(BenchError::Backlog(format!("{} events not accepted: {reason}", outcome.errors)));
    }
    Ok(started.elapsed())
}

fn throttle_results(limits: &[u32], deliveries: &Deliveries, window: Duration) -> Vec<ThrottleResult> {
    limits
        .iter()
        .zip(&deliveries.per_second)
        .map(|(limit, seconds)| {
            let per_second = stats::rate(seconds.iter().sum(), window);
            ThrottleResult {
                limit: *limit,
                received_per_sec: round(per_second, 2),
                deviation_pct: round((per_second - f64::from(*limit)) / f64::from(*limit) * 100.0, 1),
                busiest_second: seconds.iter().copied().max().unwrap_or(0),
                quietest_second: seconds.iter().copied().min().unwrap_or(0),
            }
        })
        .collect()
}

/// CPU seconds per 1,000 deliveries over the measured phase, and what they cover.
struct CpuFigures {
    total: Option<f64>,
    server: Option<f64>,
    database: Option<f64>,
    scope: String,
}

impl CpuFigures {
    fn new(backend: &str, before: CpuSample, after: CpuSample, delivered: usize) -> Self {
        let per_1000 = |before: Option<Duration>, after: Option<Duration>| {
            let spent = after?.checked_sub(before?)?;
            (delivered > 0).then(|| round(spent.as_secs_f64() * 1000.0 / delivered as f64, 3))
        };
        let server = per_1000(before.server, after.server);
        let database = per_1000(before.database, after.database);
        let (total, scope) = match (server, database) {
            (Some(server), Some(database)) => (Some(round(server + database, 3)), "server+database"),
            (Some(server), None) if backend == "sqlite" => (Some(server), "server (SQLite runs inside it)"),
            (Some(server), None) => (Some(server), "server only (add --postgres-pid for the database)"),
            (None, Some(database)) => (Some(database), "database only (add --server-pid for the server)"),
            (None, None) => (None, "not measured (pass --server-pid and --postgres-pid)"),
        };
        Self { total, server, database, scope: scope.to_owned() }
    }
}
