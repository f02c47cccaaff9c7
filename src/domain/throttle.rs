//! Per-endpoint delivery throttling: at most `per_second` deliveries per second (GCRA with a
//! burst of a tenth of a second's worth, at least 2, so a worker that comes back a little late
//! can catch up on the slots that passed instead of losing them) and at most `max_in_flight` requests at once, decided for a batch of claimed deliveries from
//! state every worker shares through the database. Held-back deliveries are given a time to
//! come back, spread over future slots, and spend no attempt.

use std::num::NonZeroU32;

use chrono::{DateTime, Duration, Utc};

/// How soon a delivery held back by the in-flight cap is looked at again.
pub const IN_FLIGHT_RECHECK: Duration = Duration::milliseconds(200);

/// An endpoint's limits; both optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throttle {
    pub per_second: Option<NonZeroU32>,
    pub max_in_flight: Option<NonZeroU32>,
}

impl Throttle {
    pub const MAX: u32 = 10_000;

    /// Validates a raw limit (1 to 10,000).
    pub fn parse_limit(raw: i64) -> Result<NonZeroU32, String> {
        u32::try_from(raw)
            .ok()
            .filter(|value| *value <= Self::MAX)
            .and_then(NonZeroU32::new)
            .ok_or_else(|| format!("must be between 1 and {}", Self::MAX))
    }

    pub fn is_limited(&self) -> bool {
        self.per_second.is_some() || self.max_in_flight.is_some()
    }
}

/// What to do with one claimed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Release it, due again at this time.
    HoldUntil(DateTime<Utc>),
}

/// Decides `count` claimed deliveries (in due order) for one endpoint, given when the next send
/// is allowed (`next_send_at`) and how many requests other workers have in flight. Returns the
/// verdicts and the new `next_send_at`.
pub fn decide(
    throttle: Throttle,
    now: DateTime<Utc>,
    next_send_at: Option<DateTime<Utc>>,
    in_flight: u32,
    count: usize,
) -> (Vec<Verdict>, Option<DateTime<Utc>>) {
    let interval = throttle.per_second.map(|rate| Duration::nanoseconds(1_000_000_000 / i64::from(rate.get())));
    // How far ahead of `now` the schedule may run: (burst - 1) intervals.
    let tolerance = throttle.per_second.zip(interval).map_or(Duration::zero(), |(rate, interval)| {
        let burst = (rate.get() / 10).max(2);
        interval * (burst as i32 - 1)
    });
    let mut tat = next_send_at.unwrap_or(now).max(now);
    let mut in_flight = in_flight;
    let mut held = 0;
    let mut verdicts = Vec::with_capacity(count);
    for _ in 0..count {
        if throttle.max_in_flight.is_some_and(|max| in_flight >= max.get()) {
            verdicts.push(Verdict::HoldUntil(now + IN_FLIGHT_RECHECK));
            continue;
        }
        match interval {
            Some(interval) if tat > now + tolerance => {
                verdicts.push(Verdict::HoldUntil(tat - tolerance + interval * held));
                held += 1;
            }
            Some(interval) => {
                verdicts.push(Verdict::Send);
                tat = tat.max(now) + interval;
                in_flight += 1;
            }
            None => {
                verdicts.push(Verdict::Send);
                in_flight += 1;
            }
        }
    }
    (verdicts, interval.map(|_| tat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: u32) -> Throttle {
        Throttle { per_second: NonZeroU32::new(per_second), max_in_flight: None }
    }

    #[test]
    fn a_rate_sends_its_burst_and_spreads_the_rest_over_later_slots() {
        let now = Utc::now();
        let (verdicts, next) = decide(rate(2), now, None, 0, 4);
        let half = Duration::milliseconds(500);
        assert_eq!(
            verdicts,
            [Verdict::Send, Verdict::Send, Verdict::HoldUntil(now + half), Verdict::HoldUntil(now + half * 2)]
        );
        assert_eq!(next, Some(now + half * 2));
        // Coming back at their slots, each one passes in turn.
        let (verdicts, next) = decide(rate(2), now + half, next, 0, 1);
        assert_eq!(verdicts, [Verdict::Send]);
        assert_eq!(next, Some(now + half * 3));
    }

    #[test]
    fn fast_rates_may_run_a_tenth_of_a_second_ahead() {
        let now = Utc::now();
        let (verdicts, next) = decide(rate(100), now, None, 0, 12);
        let sent = verdicts.iter().filter(|verdict| **verdict == Verdict::Send).count();
        assert_eq!(sent, 10, "a burst of 100 ms worth");
        assert_eq!(next, Some(now + Duration::milliseconds(100)));
        assert_eq!(verdicts[10], Verdict::HoldUntil(now + Duration::milliseconds(10)));
        assert_eq!(verdicts[11], Verdict::HoldUntil(now + Duration::milliseconds(20)));
    }

    #[test]
    fn the_in_flight_cap_holds_back_without_a_rate() {
        let now = Utc::now();
        let cap = Throttle { per_second: None, max_in_flight: NonZeroU32::new(2) };
        let (verdicts, next) = decide(cap, now, None, 1, 3);
        assert_eq!(
            verdicts,
            [Verdict::Send, Verdict::HoldUntil(now + IN_FLIGHT_RECHECK), Verdict::HoldUntil(now + IN_FLIGHT_RECHECK)]
        );
        assert_eq!(next, None);
    }

    #[test]
    fn unlimited_endpoints_send_everything_and_limits_are_bounded() {
        let now = Utc::now();
        let (verdicts, _) = decide(Throttle::default(), now, None, 100, 3);
        assert!(verdicts.iter().all(|verdict| *verdict == Verdict::Send));
        assert!(Throttle::parse_limit(0).is_err());
        assert!(Throttle::parse_limit(-3).is_err());
        assert!(Throttle::parse_limit(10_001).is_err());
        assert!(Throttle::parse_limit(10).is_ok());
    }
}
