//! The result of a run: a human table and one JSON line (the last line of output, so
//! `outhook bench | tail -1 | jq` works), and the verdict that makes a run fail.

use serde::Serialize;

use crate::bench::Scenario;

/// One throttled endpoint's measured delivery rate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ThrottleResult {
    /// The endpoint's `delivery_rate_per_second`.
    pub limit: u32,
    /// Requests it received per second over the sending window.
    pub received_per_sec: f64,
    /// `(received − limit) / limit`, in percent.
    pub deviation_pct: f64,
    /// The most requests received in one whole second of the window: a limit held on average
    /// but exceeded in bursts shows here.
    pub busiest_second: usize,
    /// The fewest requests received in one whole second of the window.
    pub quietest_second: usize,
}

/// Everything a run measured. Field order is the JSON and table order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub scenario: Scenario,
    /// `sqlite` or `postgres` (embedded), or `remote`.
    pub backend: String,
    pub events: usize,
    /// Measured endpoints (the backlog's failing endpoint is not one).
    pub endpoints: usize,
    pub concurrency: usize,
    /// Events per batch request; `null` for the single-event API.
    pub batch: Option<usize>,
    pub worker_processes: usize,
    pub ingest_events_per_sec: f64,
    /// Per ingest request (one event, or one batch).
    pub ingest_p50_ms: f64,
    pub ingest_p99_ms: f64,
    pub deliveries: usize,
    pub deliveries_per_sec: f64,
    pub delivery_p50_ms: f64,
    pub delivery_p99_ms: f64,
    pub delivery_max_ms: f64,
    pub duplicates: usize,
    pub lost: usize,
    pub bad_signatures: usize,
    pub ingest_errors: usize,
    pub unexpected: usize,
    pub retries: usize,
    /// Peak RSS of the server; with an embedded server, of the whole benchmark process.
    pub server_peak_rss_mb: Option<f64>,
    pub worker_peak_rss_mb: Option<f64>,
    /// Server plus database, or what of them was measurable (see `cpu_scope`).
    pub cpu_s_per_1000_deliveries: Option<f64>,
    pub server_cpu_s_per_1000: Option<f64>,
    pub database_cpu_s_per_1000: Option<f64>,
    /// What `cpu_s_per_1000_deliveries` covers.
    pub cpu_scope: String,
    pub backlog: Option<usize>,
    pub backlog_load_s: Option<f64>,
    /// Requests the backlog's failing endpoint received during the run (expected: 0).
    pub backlog_attempts: Option<usize>,
    pub throttle: Option<Vec<ThrottleResult>>,
    pub elapsed_s: f64,
    pub passed: bool,
}

/// Rounds for display: figures are measurements, not more precise than this.
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

impl Report {
    /// Why this run failed; empty when it passed. Duplicates are expected only in `failing`.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut check = |count: usize, what: &str| {
            if count > 0 {
                failures.push(format!("{count} {what}"));
            }
        };
        check(self.lost, "lost deliveries");
        check(self.bad_signatures, "bad signatures");
        check(self.ingest_errors, "events not accepted");
        check(self.unexpected, "unexpected requests");
        if self.scenario != Scenario::Failing {
            check(self.duplicates, "duplicate deliveries");
        }
        failures
    }

    /// Sets `passed` from [`Report::failures`].
    pub fn with_verdict(mut self) -> Self {
        self.passed = self.failures().is_empty();
        self
    }

    /// The JSON line: one line, no prefix.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| format!(r#"{{"error":"{error}"}}"#))
    }

    /// The human-readable summary printed above the JSON line.
    pub fn table(&self) -> String {
        let optional = |value: Option<f64>, unit: &str| value.map_or("-".to_owned(), |value| format!("{value} {unit}"));
        let api = self.batch.map_or("single-event API".to_owned(), |batch| format!("batch API ({batch} per call)"));
        let mut rows = vec![
            format!(
                "{} on {}: {} events, {} endpoint(s), {} concurrent, {api}, {} worker process(es)",
                self.scenario.name(),
                self.backend,
                self.events,
                self.endpoints,
                self.concurrency,
                self.worker_processes
            ),
            format!(
                "ingest       {} events/s   request p50 {} ms   p99 {} ms",
                self.ingest_events_per_sec, self.ingest_p50_ms, self.ingest_p99_ms
            ),
            format!(
                "delivery     {} deliveries ({}/s)   ingest→delivery p50 {} ms   p99 {} ms   max {} ms",
                self.deliveries,
                self.deliveries_per_sec,
                self.delivery_p50_ms,
                self.delivery_p99_ms,
                self.delivery_max_ms
            ),
            format!(
                "correctness  lost {}   duplicates {}   bad signatures {}   not accepted {}   unexpected {}   retries {}",
                self.lost, self.duplicates, self.bad_signatures, self.ingest_errors, self.unexpected, self.retries
            ),
            format!(
                "resources    server peak RSS {}   worker peak RSS {}   CPU per 1000 deliveries {} ({}; server {}, database {})",
                optional(self.server_peak_rss_mb, "MB"),
                optional(self.worker_peak_rss_mb, "MB"),
                optional(self.cpu_s_per_1000_deliveries, "s"),
                self.cpu_scope,
                optional(self.server_cpu_s_per_1000, "s"),
                optional(self.database_cpu_s_per_1000, "s"),
            ),
        ];
        if let Some(backlog) = self.backlog {
            rows.push(format!(
                "backlog      {backlog} pending deliveries, loaded in {}, {} attempts on them during the run",
                optional(self.backlog_load_s, "s"),
                self.backlog_attempts.unwrap_or(0)
            ));
        }
        for endpoint in self.throttle.iter().flatten() {
            rows.push(format!(
                "throttle     limit {}/s: received {}/s ({:+}%), per second {} to {}",
                endpoint.limit,
                endpoint.received_per_sec,
                endpoint.deviation_pct,
                endpoint.quietest_second,
                endpoint.busiest_second
            ));
        }
        let failures = self.failures();
        rows.push(if failures.is_empty() {
            format!("verdict      passed in {} s", self.elapsed_s)
        } else {
            format!("verdict      FAILED: {}", failures.join(", "))
        });
        rows.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            scenario: Scenario::Fanout,
            backend: "sqlite".into(),
            events: 50,
            endpoints: 1,
            concurrency: 4,
            batch: None,
            worker_processes: 0,
            ingest_events_per_sec: 1000.0,
            ingest_p50_ms: 1.5,
            ingest_p99_ms: 4.0,
            deliveries: 50,
            deliveries_per_sec: 900.0,
            delivery_p50_ms: 3.0,
            delivery_p99_ms: 9.0,
            delivery_max_ms: 12.0,
            duplicates: 0,
            lost: 0,
            bad_signatures: 0,
            ingest_errors: 0,
            unexpected: 0,
            retries: 0,
            server_peak_rss_mb: Some(40.0),
            worker_peak_rss_mb: None,
            cpu_s_per_1000_deliveries: Some(0.5),
            server_cpu_s_per_1000: Some(0.5),
            database_cpu_s_per_1000: None,
            cpu_scope: "server".into(),
            backlog: None,
            backlog_load_s: None,
            backlog_attempts: None,
            throttle: None,
            elapsed_s: 1.0,
            passed: false,
        }
        .with_verdict()
    }

    #[test]
    fn the_json_line_is_one_line_with_every_headline_figure() {
        let line = report().json_line();
        assert!(!line.contains('\n'));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        for key in [
            "scenario",
            "backend",
            "events",
            "endpoints",
            "concurrency",
            "batch",
            "ingest_events_per_sec",
            "ingest_p50_ms",
            "ingest_p99_ms",
            "deliveries_per_sec",
            "delivery_p50_ms",
            "delivery_p99_ms",
            "delivery_max_ms",
            "duplicates",
            "lost",
            "bad_signatures",
            "server_peak_rss_mb",
            "cpu_s_per_1000_deliveries",
            "passed",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {line}");
        }
        assert_eq!(json["scenario"], "fanout");
        assert_eq!(json["batch"], serde_json::Value::Null);
        assert_eq!(json["passed"], true);
    }

    #[test]
    fn losses_and_bad_signatures_always_fail_duplicates_only_without_failures() {
        let lost = Report { lost: 1, ..report() }.with_verdict();
        assert!(!lost.passed);
        let forged = Report { bad_signatures: 2, ..report() }.with_verdict();
        assert_eq!(forged.failures(), ["2 bad signatures"]);
        let duplicated = Report { duplicates: 1, ..report() }.with_verdict();
        assert!(!duplicated.passed);
        let retried = Report { scenario: Scenario::Failing, duplicates: 1, ..report() }.with_verdict();
        assert!(retried.passed);
    }

    #[test]
    fn the_table_names_the_run_and_its_verdict() {
        let table = report().table();
        assert!(table.starts_with("fanout on sqlite: 50 events"));
        assert!(table.contains("lost 0   duplicates 0   bad signatures 0"));
        assert!(table.contains("worker peak RSS -"));
        assert!(table.ends_with("passed in 1 s"));
        assert!(Report { lost: 3, ..report() }.table().ends_with("FAILED: 3 lost deliveries"));
    }

    #[test]
    fn rounding_keeps_the_requested_decimals() {
        assert_eq!(round(1.23456, 2), 1.23);
        assert_eq!(round(1234.56, 0), 1235.0);
    }
}
