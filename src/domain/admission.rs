//! Whether the deliveries one claim took for one endpoint may be sent now: the endpoint's circuit
//! decides first (manual retries pass it, they are the vendor asking for a try now), then its
//! throttle. Everything held back is released to a later time and spends no attempt.

use chrono::{DateTime, Duration, Utc};

use crate::domain::health::{EndpointHealth, Gate};
use crate::domain::throttle::{self, Throttle, Verdict};

/// Why a delivery was held back, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldReason {
    Circuit,
    Throttle,
}

/// The outcome for one endpoint's claimed deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Per delivery, in claim order: `None` to send, or when to look at it again and why.
    pub holds: Vec<Option<(DateTime<Utc>, HoldReason)>>,
    /// The throttle's new `next_send_at`, when it moved.
    pub next_send_at: Option<DateTime<Utc>>,
}

/// Decides the deliveries claimed for one endpoint; `manual[i]` says whether delivery `i` is a
/// manual retry. `health` is updated when a probe is let through.
pub fn admit(
    manual: &[bool],
    health: &mut EndpointHealth,
    throttle: Throttle,
    now: DateTime<Utc>,
    next_send_at: Option<DateTime<Utc>>,
    in_flight: u32,
    probe_lease: Duration,
) -> Admission {
    let mut holds: Vec<Option<(DateTime<Utc>, HoldReason)>> = manual
        .iter()
        .map(|&manual| match manual {
            true => None,
            false => match health.gate(now, probe_lease) {
                Gate::Pass | Gate::Probe => None,
                Gate::HoldUntil(until) => Some((until, HoldReason::Circuit)),
            },
        })
        .collect();
    if !throttle.is_limited() {
        return Admission { holds, next_send_at: None };
    }
    let passing: Vec<usize> = (0..holds.len()).filter(|&index| holds[index].is_none()).collect();
    let (verdicts, next_send_at) = throttle::decide(throttle, now, next_send_at, in_flight, passing.len());
    for (index, verdict) in passing.into_iter().zip(verdicts) {
        if let Verdict::HoldUntil(until) = verdict {
            holds[index] = Some((until, HoldReason::Throttle));
        }
    }
    Admission { holds, next_send_at }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::domain::health::CircuitState;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn open_until(until: DateTime<Utc>) -> EndpointHealth {
        EndpointHealth { circuit: CircuitState::Open, circuit_until: Some(until), ..EndpointHealth::default() }
    }

    #[test]
    fn a_closed_unthrottled_endpoint_sends_everything() {
        let mut health = EndpointHealth::default();
        let admission = admit(&[false; 3], &mut health, Throttle::default(), now(), None, 0, Duration::seconds(30));
        assert_eq!(admission.holds, vec![None, None, None]);
    }

    #[test]
    fn an_open_circuit_holds_all_but_manual_retries() {
        let until = now() + Duration::seconds(60);
        let mut health = open_until(until);
        let admission =
            admit(&[false, true, false], &mut health, Throttle::default(), now(), None, 0, Duration::seconds(30));
        assert_eq!(admission.holds, vec![Some((until, HoldReason::Circuit)), None, Some((until, HoldReason::Circuit))]);
    }

    #[test]
    fn after_the_cooldown_one_probe_goes_and_the_rest_wait_for_it() {
        let mut health = open_until(now());
        let admission = admit(&[false; 3], &mut health, Throttle::default(), now(), None, 0, Duration::seconds(30));
        let probe_deadline = now() + Duration::seconds(30);
        assert_eq!(
            admission.holds,
            vec![None, Some((probe_deadline, HoldReason::Circuit)), Some((probe_deadline, HoldReason::Circuit))]
        );
        assert_eq!(health.circuit, CircuitState::HalfOpen);
    }

    #[test]
    fn the_throttle_applies_to_what_the_circuit_lets_through() {
        let mut health = EndpointHealth::default();
        let throttle = Throttle { per_second: None, max_in_flight: NonZeroU32::new(1) };
        let admission = admit(&[false; 2], &mut health, throttle, now(), None, 0, Duration::seconds(30));
        assert_eq!(admission.holds[0], None);
        assert!(matches!(admission.holds[1], Some((_, HoldReason::Throttle))));
    }
}
