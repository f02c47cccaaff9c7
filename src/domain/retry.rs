//! When to try again. A [`RetrySchedule`] lists the delay before each attempt (the first is
//! normally 0: send at once); each delay gets ±20% jitter so endpoints recovering from an outage
//! are not hit by every queued delivery at the same instant. A `Retry-After` from the subscriber
//! can push the next attempt later, within a bound.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// Why a retry schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSchedule {
    #[error("must list between 1 and {max} delays")]
    Length { max: usize },
    #[error("delays must be between 0 and {max} seconds")]
    Delay { max: u64 },
}

/// Delays in seconds before attempt 1, 2, …; its length is the maximum number of attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<u64>);

impl RetrySchedule {
    pub const MAX_ATTEMPTS: usize = 30;
    /// One week: longer gaps would outlive typical retention.
    pub const MAX_DELAY_SECONDS: u64 = 7 * 24 * 3600;
    /// The share of each delay that is randomised, both ways.
    pub const JITTER: f64 = 0.2;

    pub fn parse(seconds: &[u64]) -> Result<Self, InvalidSchedule> {
        if seconds.is_empty() || seconds.len() > Self::MAX_ATTEMPTS {
            return Err(InvalidSchedule::Length { max: Self::MAX_ATTEMPTS });
        }
        if seconds.iter().any(|delay| *delay > Self::MAX_DELAY_SECONDS) {
            return Err(InvalidSchedule::Delay { max: Self::MAX_DELAY_SECONDS });
        }
        Ok(Self(seconds.to_vec()))
    }

    /// Close to Svix's: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    pub fn standard() -> Self {
        Self(vec![0, 5, 300, 1800, 7200, 18000, 36000, 36000])
    }

    pub fn seconds(&self) -> &[u64] {
        &self.0
    }

    pub fn max_attempts(&self) -> u32 {
        self.0.len() as u32
    }

    /// The jittered delay before attempt `attempt` (1-based), or `None` past the last attempt.
    pub fn delay_before(&self, attempt: u32, rng: &mut impl Rng) -> Option<Duration> {
        let base = *self.0.get(attempt.checked_sub(1)? as usize)? as f64;
        let factor = 1.0 + rng.random_range(-Self::JITTER..=Self::JITTER);
        Some(Duration::from_secs_f64(base * factor))
    }
}

/// What happens to a delivery after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// The schedule is used up: the delivery is dead-lettered.
    Exhausted,
}

/// Decides the next step after attempt number `attempts_made` failed at `now`. A `retry_after`
/// hint (from a 429/503) can only postpone the next attempt, and at most by `retry_after_cap`.
pub fn next_step(
    schedule: &RetrySchedule,
    attempts_made: u32,
    now: DateTime<Utc>,
    retry_after: Option<Duration>,
    retry_after_cap: Duration,
    rng: &mut impl Rng,
) -> NextStep {
    let Some(scheduled) = schedule.delay_before(attempts_made + 1, rng) else { return NextStep::Exhausted };
    let hinted = retry_after.map_or(Duration::ZERO, |hint| hint.min(retry_after_cap));
    let delay = scheduled.max(hinted);
    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    NextStep::RetryAt(now.checked_add_signed(delay).unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok().or(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn the_standard_schedule_has_eight_attempts_starting_immediately() {
        let schedule = RetrySchedule::standard();
        assert_eq!(schedule.max_attempts(), 8);
        assert_eq!(schedule.seconds()[0], 0);
        assert_eq!(schedule.seconds()[7], 36000);
    }

    #[test]
    fn delays_stay_within_twenty_percent_jitter_and_vary() {
        let schedule = RetrySchedule::standard();
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let delay = schedule.delay_before(3, &mut rng).unwrap().as_secs_f64();
            assert!((240.0..=360.0).contains(&delay), "{delay}");
            seen.insert(delay as u64);
        }
        assert!(seen.len() > 50, "jitter spreads delays");
        assert_eq!(schedule.delay_before(1, &mut rng), Some(Duration::ZERO));
        assert_eq!(schedule.delay_before(9, &mut rng), None);
        assert_eq!(schedule.delay_before(0, &mut rng), None);
    }

    #[test]
    fn the_last_failure_exhausts_the_delivery() {
        let schedule = RetrySchedule::parse(&[0, 10]).unwrap();
        let now = Utc::now();
        let mut rng = StdRng::seed_from_u64(1);
        let cap = Duration::from_secs(3600);
        assert!(matches!(next_step(&schedule, 1, now, None, cap, &mut rng), NextStep::RetryAt(at) if at > now));
        assert_eq!(next_step(&schedule, 2, now, None, cap, &mut rng), NextStep::Exhausted);
    }

    #[test]
    fn retry_after_postpones_within_the_cap_but_never_hastens() {
        let schedule = RetrySchedule::parse(&[0, 10, 10]).unwrap();
        let now = Utc::now();
        let mut rng = StdRng::seed_from_u64(1);
        let cap = Duration::from_secs(600);
        let at =
            |hint: u64, rng: &mut StdRng| match next_step(&schedule, 1, now, Some(Duration::from_secs(hint)), cap, rng)
            {
                NextStep::RetryAt(at) => (at - now).num_milliseconds(),
                NextStep::Exhausted => panic!("not exhausted"),
            };
        assert_eq!(at(120, &mut rng), 120_000);
        assert_eq!(at(100_000, &mut rng), 600_000, "capped");
        let short = at(1, &mut rng);
        assert!((8_000..=12_000).contains(&short), "the schedule still applies: {short}");
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn schedules_are_bounded() {
        assert!(RetrySchedule::parse(&[]).is_err());
        assert!(RetrySchedule::parse(&[0; 31]).is_err());
        assert!(RetrySchedule::parse(&[0, 8 * 24 * 3600]).is_err());
        assert!(RetrySchedule::parse(&[0, 1, 2]).is_ok());
    }
}
