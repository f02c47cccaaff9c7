//! Per-tenant ingest rate limits, enforced in-process with `governor` (GCRA). Each tenant gets a
//! limiter for its own limit (its override, or the deployment default); a batch takes one cell
//! per event and is admitted or refused whole, before anything is stored.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use actix_web::HttpResponseBuilder;
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use prometheus_client::metrics::counter::Counter;

use crate::api::errors::ApiError;
use crate::domain::ids::TenantId;
use crate::domain::limits::RateLimit;

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// What an admitted request may tell the client about its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the budget is full again.
    pub reset_seconds: u64,
}

impl Budget {
    /// Adds the `RateLimit-*` headers to a response.
    pub fn apply(&self, response: &mut HttpResponseBuilder) {
        response.insert_header(("ratelimit-limit", self.limit.to_string()));
        response.insert_header(("ratelimit-remaining", self.remaining.to_string()));
        response.insert_header(("ratelimit-reset", self.reset_seconds.to_string()));
    }
}

/// The ingest limiters of every tenant seen by this process.
pub struct IngestLimiter {
    default: Option<RateLimit>,
    limiters: Mutex<HashMap<TenantId, (RateLimit, Arc<Limiter>)>>,
    clock: DefaultClock,
    /// Counts refused events (`outhook_events_rate_limited_total`).
    refused: Counter,
}

impl IngestLimiter {
    /// `default` applies to tenants without an override; `None` means unlimited.
    pub fn new(default: Option<RateLimit>, refused: Counter) -> Self {
        Self { default, limiters: Mutex::new(HashMap::new()), clock: DefaultClock::default(), refused }
    }

    fn limiter(&self, tenant: &TenantId, limit: RateLimit) -> Arc<Limiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match limiters.get(tenant) {
            Some((current, limiter)) if *current == limit => Arc::clone(limiter),
            _ => {
                let quota = Quota::per_second(limit.per_second()).allow_burst(limit.burst());
                let limiter = Arc::new(RateLimiter::direct_with_clock(quota, self.clock.clone()).with_middleware());
                limiters.insert(tenant.clone(), (limit, Arc::clone(&limiter)));
                limiter
            }
        }
    }

    /// Takes `events` cells from the tenant's budget, or refuses the whole request with 429.
    pub fn admit(
        &self,
        tenant: &TenantId,
        tenant_limit: Option<RateLimit>,
        events: usize,
    ) -> Result<Option<Budget>, ApiError> {
        let Some(limit) = tenant_limit.or(self.default) else { return Ok(None) };
        let cells = NonZeroU32::new(u32::try_from(events).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let limiter = self.limiter(tenant, limit);
        let burst = limit.burst().get();
        let refuse = |retry_after_seconds: Option<u64>, detail: String| {
            self.refused.inc_by(events as u64);
            ApiError::RateLimited { limit: burst, retry_after_seconds, detail }
        };
        match limiter.check_n(cells) {
            Ok(Ok(snapshot)) => {
                let remaining = snapshot.remaining_burst_capacity();
                let missing = u64::from(burst - remaining.min(burst));
                let reset_seconds = missing.div_ceil(u64::from(limit.per_second().get()));
                Ok(Some(Budget { limit: burst, remaining, reset_seconds }))
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(refuse(
                    Some(seconds.max(1)),
                    format!("the ingest limit of {} events per second is exceeded", limit.per_second()),
                ))
            }
            Err(_) => {
                Err(refuse(None, format!("{events} events exceed the tenant's burst of {burst}; send smaller batches")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_next_request_is_refused_with_a_retry_time() {
        let limiter = IngestLimiter::new(Some(RateLimit::parse(1, 3).unwrap()), Counter::default());
        let tenant = TenantId::generate();
        let budget = limiter.admit(&tenant, None, 2).unwrap().unwrap();
        assert_eq!((budget.limit, budget.remaining), (3, 1));
        assert!(limiter.admit(&tenant, None, 1).is_ok());
        match limiter.admit(&tenant, None, 1) {
            Err(ApiError::RateLimited { retry_after_seconds: Some(seconds), limit: 3, .. }) => {
                assert!((1..=2).contains(&seconds))
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(limiter.refused.get(), 1);
        // Another tenant has its own budget.
        assert!(limiter.admit(&TenantId::generate(), None, 3).is_ok());
    }

    #[test]
    fn a_batch_larger_than_the_burst_is_refused_whole_and_overrides_apply() {
        let limiter = IngestLimiter::new(Some(RateLimit::parse(1, 3).unwrap()), Counter::default());
        let tenant = TenantId::generate();
        assert!(matches!(
            limiter.admit(&tenant, None, 4),
            Err(ApiError::RateLimited { retry_after_seconds: None, .. })
        ));
        let generous = RateLimit::parse(100, 100).unwrap();
        assert!(limiter.admit(&tenant, Some(generous), 50).is_ok());
        assert!(
            IngestLimiter::new(None, Counter::default()).admit(&tenant, None, 1_000_000).unwrap().is_none(),
            "no default, no limit"
        );
    }
}
