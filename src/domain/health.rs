//! Endpoint health: a circuit breaker and automatic disabling. Pure rules; the store applies them
//! under the endpoint's row lock so every worker sees one state.
//!
//! - **Closed**: deliveries flow. After `failure_threshold` consecutive failed attempts the
//!   circuit opens.
//! - **Open**: due deliveries wait (no attempt spent) until `circuit_until`, then one delivery is
//!   let through as a probe and the circuit is half-open.
//! - **Half-open**: the probe is in flight; others wait. Success closes the circuit, failure opens
//!   it for another cool-down. A probe lost to a crash expires with its lease.
//!
//! Independently, an endpoint that has failed without a single success for `disable_after` is
//! disabled with a reason; the vendor re-enables it with an update.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// The last success is kept to the second, so a healthy endpoint's row is not rewritten on
/// every delivery (each rewrite would serialise the workers sending to it).
pub const TIMESTAMP_RESOLUTION: Duration = Duration::seconds(1);

/// Where an endpoint's circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CircuitState {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CircuitState {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "closed" => Ok(Self::Closed),
            "open" => Ok(Self::Open),
            "half_open" => Ok(Self::HalfOpen),
            other => Err(format!("unknown circuit state `{other}`")),
        }
    }
}

/// The deployment's health rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failures that open the circuit (0: never).
    pub failure_threshold: u32,
    /// How long an open circuit waits before letting a probe through.
    pub cooldown: Duration,
    /// Failing without any success for this long disables the endpoint (`None`: never).
    pub disable_after: Option<Duration>,
}

/// What the store keeps about an endpoint's recent outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointHealth {
    pub consecutive_failures: u32,
    pub circuit: CircuitState,
    /// Open: when a probe may go. Half-open: when the probe's lease runs out.
    pub circuit_until: Option<DateTime<Utc>>,
    /// The first failure since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
}

/// A change worth telling the vendor about (an operational webhook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthChange {
    CircuitOpened { consecutive_failures: u32, retry_at: DateTime<Utc> },
    CircuitClosed,
    Disabled { reason: String },
}

/// Whether a claimed delivery may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Pass,
    /// Sent as the half-open circuit's single probe.
    Probe,
    /// Released without an attempt, due again at this time.
    HoldUntil(DateTime<Utc>),
}

impl EndpointHealth {
    /// Decides whether a delivery claimed at `now` goes out. Letting a probe through moves the
    /// circuit to half-open for `probe_lease`, so the next caller is held.
    pub fn gate(&mut self, now: DateTime<Utc>, probe_lease: Duration) -> Gate {
        if self.circuit == CircuitState::Closed {
            return Gate::Pass;
        }
        match self.circuit_until {
            Some(until) if until > now => Gate::HoldUntil(until),
            _ => {
                self.circuit = CircuitState::HalfOpen;
                self.circuit_until = Some(now + probe_lease);
                Gate::Probe
            }
        }
    }

    /// Records several attempts' outcomes `(succeeded, at)` in order, as one group commit does;
    /// returns the changes each caused. An endpoint disabled by one is not disabled again by the next.
    pub fn record_all(
        &mut self,
        outcomes: &[(bool, DateTime<Utc>)],
        mut enabled: bool,
        policy: &HealthPolicy,
    ) -> Vec<Vec<HealthChange>> {
        outcomes
            .iter()
            .map(|&(succeeded, at)| {
                let changes = self.record(succeeded, at, enabled, policy);
                enabled &= !changes.iter().any(|change| matches!(change, HealthChange::Disabled { .. }));
                changes
            })
            .collect()
    }

    /// Records an attempt's outcome at `now`; returns the changes it caused. `enabled` is whether
    /// the endpoint is enabled now (a disabled endpoint is not disabled again).
    pub fn record(
        &mut self,
        succeeded: bool,
        now: DateTime<Utc>,
        enabled: bool,
        policy: &HealthPolicy,
    ) -> Vec<HealthChange> {
        let mut changes = Vec::new();
        if succeeded {
            self.consecutive_failures = 0;
            self.failing_since = None;
            if self.last_success_at.is_none_or(|last| now - last >= TIMESTAMP_RESOLUTION) {
                self.last_success_at = Some(now);
            }
            if self.circuit != CircuitState::Closed {
                self.circuit = CircuitState::Closed;
                self.circuit_until = None;
                changes.push(HealthChange::CircuitClosed);
            }
            return changes;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_failure_at = Some(now);
        let failing_since = *self.failing_since.get_or_insert(now);
        let retry_at = now + policy.cooldown;
        match self.circuit {
            CircuitState::Closed => {
                if policy.failure_threshold > 0 && self.consecutive_failures >= policy.failure_threshold {
                    self.circuit = CircuitState::Open;
                    self.circuit_until = Some(retry_at);
                    changes.push(HealthChange::CircuitOpened {
                        consecutive_failures: self.consecutive_failures,
                        retry_at,
                    });
                }
            }
            CircuitState::Open | CircuitState::HalfOpen => {
                self.circuit = CircuitState::Open;
                self.circuit_until = Some(retry_at);
            }
        }
        if let Some(disable_after) = policy.disable_after
            && enabled
            && now - failing_since >= disable_after
        {
            changes.push(HealthChange::Disabled {
                reason: format!(
                    "disabled automatically: every attempt since {} failed ({} in a row)",
                    failing_since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    self.consecutive_failures
                ),
            });
        }
        changes
    }

    /// A fresh start, for an endpoint the vendor re-enables: its old failures do not count.
    pub fn reset(&mut self) {
        *self =
            Self { last_success_at: self.last_success_at, last_failure_at: self.last_failure_at, ..Self::default() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HealthPolicy {
        HealthPolicy { failure_threshold: 3, cooldown: Duration::seconds(60), disable_after: Some(Duration::days(5)) }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_group_of_attempts_reports_each_change_once_and_disables_only_once() {
        let mut health = EndpointHealth::default();
        let five_days = 5 * 24 * 3600;
        let outcomes =
            [(false, at(0)), (false, at(1)), (false, at(2)), (false, at(five_days)), (false, at(five_days + 1))];
        let changes = health.record_all(&outcomes, true, &policy());
        assert_eq!(changes.len(), 5);
        assert_eq!(changes[2], vec![HealthChange::CircuitOpened { consecutive_failures: 3, retry_at: at(62) }]);
        assert!(matches!(changes[3].as_slice(), [HealthChange::Disabled { .. }]), "{:?}", changes[3]);
        assert!(changes[4].is_empty(), "a disabled endpoint is not disabled again: {:?}", changes[4]);
    }

    #[test]
    fn the_circuit_opens_after_the_threshold_and_holds_deliveries_until_the_cooldown() {
        let mut health = EndpointHealth::default();
        assert!(health.record(false, at(0), true, &policy()).is_empty());
        assert!(health.record(false, at(1), true, &policy()).is_empty());
        let changes = health.record(false, at(2), true, &policy());
        assert_eq!(changes, vec![HealthChange::CircuitOpened { consecutive_failures: 3, retry_at: at(62) }]);
        assert_eq!(health.gate(at(30), Duration::seconds(10)), Gate::HoldUntil(at(62)));
    }

    #[test]
    fn after_the_cooldown_exactly_one_probe_goes_and_its_success_closes_the_circuit() {
        let mut health = EndpointHealth::default();
        for second in 0..3 {
            health.record(false, at(second), true, &policy());
        }
        assert_eq!(health.gate(at(62), Duration::seconds(10)), Gate::Probe);
        assert_eq!(health.circuit, CircuitState::HalfOpen);
        assert_eq!(health.gate(at(63), Duration::seconds(10)), Gate::HoldUntil(at(72)));
        assert_eq!(health.record(true, at(64), true, &policy()), vec![HealthChange::CircuitClosed]);
        assert_eq!(health.gate(at(65), Duration::seconds(10)), Gate::Pass);
        assert_eq!(health.consecutive_failures, 0);
    }

    #[test]
    fn a_failed_probe_reopens_without_announcing_it_again() {
        let mut health = EndpointHealth::default();
        for second in 0..3 {
            health.record(false, at(second), true, &policy());
        }
        health.gate(at(62), Duration::seconds(10));
        assert!(health.record(false, at(63), true, &policy()).is_empty());
        assert_eq!(health.circuit, CircuitState::Open);
        assert_eq!(health.gate(at(64), Duration::seconds(10)), Gate::HoldUntil(at(123)));
    }

    #[test]
    fn a_lost_probe_lets_another_through_after_its_lease() {
        let mut health = EndpointHealth::default();
        for second in 0..3 {
            health.record(false, at(second), true, &policy());
        }
        assert_eq!(health.gate(at(62), Duration::seconds(10)), Gate::Probe);
        assert_eq!(health.gate(at(72), Duration::seconds(10)), Gate::Probe);
    }

    #[test]
    fn failing_without_success_for_the_period_disables_the_endpoint_once() {
        let mut health = EndpointHealth::default();
        health.record(false, at(0), true, &policy());
        let four_days = at(4 * 86_400);
        assert!(
            !health
                .record(false, four_days, true, &policy())
                .iter()
                .any(|c| matches!(c, HealthChange::Disabled { .. }))
        );
        let five_days = at(5 * 86_400);
        let changes = health.record(false, five_days, true, &policy());
        assert!(changes.iter().any(|c| matches!(c, HealthChange::Disabled { reason } if reason.contains("failed"))));
        assert!(health.record(false, five_days, false, &policy()).is_empty(), "already disabled");
    }

    #[test]
    fn a_success_resets_the_failure_period() {
        let mut health = EndpointHealth::default();
        health.record(false, at(0), true, &policy());
        health.record(true, at(86_400), true, &policy());
        let changes = health.record(false, at(5 * 86_400), true, &policy());
        assert!(changes.is_empty());
        assert_eq!(health.failing_since, Some(at(5 * 86_400)));
    }

    #[test]
    fn steady_successes_change_nothing_within_a_second() {
        let mut health = EndpointHealth::default();
        health.record(true, at(0), true, &policy());
        let before = health.clone();
        health.record(true, at(0) + Duration::milliseconds(500), true, &policy());
        assert_eq!(health, before);
        health.record(true, at(1), true, &policy());
        assert_eq!(health.last_success_at, Some(at(1)));
    }

    #[test]
    fn a_zero_threshold_never_opens_the_circuit() {
        let mut health = EndpointHealth::default();
        let never = HealthPolicy { failure_threshold: 0, ..policy() };
        for second in 0..100 {
            assert!(health.record(false, at(second), true, &never).is_empty());
        }
        assert_eq!(health.gate(at(100), Duration::seconds(10)), Gate::Pass);
    }
}
