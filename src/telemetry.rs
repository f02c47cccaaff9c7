//! Logging and tracing set-up. `RUST_LOG` chooses what is logged (default `info`).

use std::sync::atomic::{AtomicU64, Ordering};

use tracing_subscriber::EnvFilter;

/// A process-wide monotonic counter. Counters live here, in one place, so the metrics endpoint
/// (observability issue) can expose every one of them without reaching into each module.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    pub fn add(&self, amount: u64) {
        self.0.fetch_add(amount, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Events refused by a tenant's ingest rate limit.
pub static INGEST_EVENTS_RATE_LIMITED: Counter = Counter::new();
/// Claimed deliveries held back by an endpoint's rate or in-flight limit (rescheduled, no attempt spent).
pub static DELIVERIES_THROTTLED: Counter = Counter::new();
/// Claimed deliveries held back by their endpoint's open circuit (rescheduled, no attempt spent).
pub static DELIVERIES_DEFERRED_CIRCUIT: Counter = Counter::new();
/// Claimed deliveries released because their endpoint is disabled (rescheduled, no attempt spent).
pub static DELIVERIES_DEFERRED_DISABLED: Counter = Counter::new();

/// Installs the global subscriber writing human-readable logs to stderr. Safe to call twice.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
