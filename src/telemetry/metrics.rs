//! The Prometheus metrics of one Outhook process (`GET /metrics`). Each [`Application`] owns its
//! registry, so tests can assert exact counts; labels are bounded (outcomes, error kinds, reasons),
//! never tenant or endpoint ids.
//!
//! [`Application`]: crate::startup::Application

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::domain::delivery::ErrorKind;
use crate::store::{DeliveryTransition, PoolStatus, QueueStats};

/// What an attempt did to its delivery.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `succeeded`, `retrying` or `exhausted`.
    pub outcome: &'static str,
}

/// How an attempt ended.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `success` or the error kind (`http_status`, `timeout`, …).
    pub result: &'static str,
}

/// Why a claimed delivery was put back without an attempt.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// `throttle`, `circuit` or `disabled`.
    pub reason: &'static str,
}

/// Database connections by state.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabel {
    /// `in_use`, `idle` or `max`.
    pub state: &'static str,
}

/// Every metric of the process, registered once.
pub struct Metrics {
    registry: Registry,
    pub events_ingested: Counter,
    pub events_deduplicated: Counter,
    pub events_rate_limited: Counter,
    pub deliveries: Family<OutcomeLabel, Counter>,
    pub attempts: Family<ResultLabel, Counter>,
    pub attempt_duration: Histogram,
    pub ingest_to_first_success: Histogram,
    pub deferred: Family<ReasonLabel, Counter>,
    pub requests_in_flight: Gauge,
    deliveries_due: Gauge,
    deliveries_scheduled: Gauge,
    deliveries_leased: Gauge,
    circuits_open: Gauge,
    database_connections: Family<PoolLabel, Gauge>,
}

/// Latency buckets from 1 ms to 5 minutes: webhook latencies span a local receiver to a retry.
fn latency_buckets() -> impl Iterator<Item = f64> {
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0].into_iter()
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("outhook"),
            events_ingested: Counter::default(),
            events_deduplicated: Counter::default(),
            events_rate_limited: Counter::default(),
            deliveries: Family::default(),
            attempts: Family::default(),
            attempt_duration: Histogram::new(latency_buckets()),
            ingest_to_first_success: Histogram::new(latency_buckets()),
            deferred: Family::default(),
            requests_in_flight: Gauge::default(),
            deliveries_due: Gauge::default(),
            deliveries_scheduled: Gauge::default(),
            deliveries_leased: Gauge::default(),
            circuits_open: Gauge::default(),
            database_connections: Family::default(),
        };
        metrics.register();
        metrics
    }
}

impl Metrics {
    fn register(&mut self) {
        let registry = &mut self.registry;
        registry.register("events_ingested", "Events stored", self.events_ingested.clone());
        registry.register(
            "events_deduplicated",
            "Events whose idempotency key was seen before (nothing stored)",
            self.events_deduplicated.clone(),
        );
        registry.register(
            "events_rate_limited",
            "Events refused by a tenant's ingest rate limit",
            self.events_rate_limited.clone(),
        );
        registry.register(
            "deliveries",
            "Attempts by what they did to their delivery: succeeded, retrying or exhausted",
            self.deliveries.clone(),
        );
        registry.register("attempts", "Attempts by result: success or the error kind", self.attempts.clone());
        registry.register(
            "attempt_duration_seconds",
            "Time from sending a webhook to its response",
            self.attempt_duration.clone(),
        );
        registry.register(
            "ingest_to_first_success_seconds",
            "Time from an event's ingest to a delivery's first successful attempt",
            self.ingest_to_first_success.clone(),
        );
        registry.register(
            "deliveries_deferred",
            "Claimed deliveries put back without an attempt, by reason: throttle, circuit or disabled",
            self.deferred.clone(),
        );
        registry.register(
            "requests_in_flight",
            "Webhook requests being sent by this process",
            self.requests_in_flight.clone(),
        );
        registry.register("deliveries_due", "Deliveries due now and waiting for a worker", self.deliveries_due.clone());
        registry.register(
            "deliveries_scheduled",
            "Deliveries waiting for a later attempt (retries, throttled, open circuits)",
            self.deliveries_scheduled.clone(),
        );
        registry.register("deliveries_leased", "Deliveries claimed by a worker", self.deliveries_leased.clone());
        registry.register("circuits_open", "Endpoints whose circuit is open or half-open", self.circuits_open.clone());
        registry.register(
            "database_connections",
            "Database connections of this process by state",
            self.database_connections.clone(),
        );
    }

    /// Counts one attempt: its result, duration and what it did to the delivery.
    pub fn record_attempt(
        &self,
        error: Option<ErrorKind>,
        duration: std::time::Duration,
        transition: DeliveryTransition,
    ) {
        let result = error.map_or("success", ErrorKind::as_str);
        self.attempts.get_or_create(&ResultLabel { result }).inc();
        self.attempt_duration.observe(duration.as_secs_f64());
        let outcome = match transition {
            DeliveryTransition::Succeeded => "succeeded",
            DeliveryTransition::RetryAt(_) => "retrying",
            DeliveryTransition::Exhausted => "exhausted",
        };
        self.deliveries.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// Counts deliveries put back without an attempt.
    pub fn record_deferred(&self, reason: &'static str, count: u64) {
        if count > 0 {
            self.deferred.get_or_create(&ReasonLabel { reason }).inc_by(count);
        }
    }

    /// The text exposition, with the queue and pool gauges set from `queue` and `pool` first.
    pub fn encode(&self, queue: Option<QueueStats>, pool: Option<PoolStatus>) -> String {
        if let Some(queue) = queue {
            self.deliveries_due.set(queue.due);
            self.deliveries_scheduled.set(queue.scheduled);
            self.deliveries_leased.set(queue.leased);
            self.circuits_open.set(queue.circuits_open);
        }
        if let Some(pool) = pool {
            for (state, value) in [("in_use", pool.in_use), ("idle", pool.idle), ("max", pool.max)] {
                self.database_connections.get_or_create(&PoolLabel { state }).set(value);
            }
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_lists_every_metric_with_bounded_labels() {
        let metrics = Metrics::default();
        metrics.events_ingested.inc_by(3);
        metrics.record_attempt(
            Some(ErrorKind::Timeout),
            std::time::Duration::from_millis(5),
            DeliveryTransition::Exhausted,
        );
        metrics.record_deferred("circuit", 2);
        let queue = QueueStats { due: 4, scheduled: 5, leased: 6, circuits_open: 1 };
        let text = metrics.encode(Some(queue), Some(PoolStatus { in_use: 1, idle: 2, max: 3 }));
        for line in [
            "outhook_events_ingested_total 3",
            "outhook_attempts_total{result=\"timeout\"} 1",
            "outhook_deliveries_total{outcome=\"exhausted\"} 1",
            "outhook_deliveries_deferred_total{reason=\"circuit\"} 2",
            "outhook_deliveries_due 4",
            "outhook_circuits_open 1",
            "outhook_database_connections{state=\"max\"} 3",
            "outhook_attempt_duration_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
        }
    }
}
