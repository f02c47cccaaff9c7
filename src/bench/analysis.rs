//! Matches what the receiver saw against what the load sent: which deliveries arrived, how long
//! after their request started, and which were lost, duplicated, retried or badly signed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::bench::load::{LoadPlan, SentEvent};
use crate::bench::receiver::{Receipt, Route};

/// The delivery side of a run.
#[derive(Debug, Default)]
pub struct Deliveries {
    /// Distinct (event, endpoint) pairs answered 2xx.
    pub delivered: usize,
    /// Pairs the load expected that never got a 2xx answer.
    pub lost: usize,
    /// Second and later 2xx receipts of the same pair.
    pub duplicates: usize,
    /// Receipts after the first of their pair (the attempts after a failure, plus duplicates).
    pub retries: usize,
    /// Receipts of any route whose signature does not verify.
    pub bad_signatures: usize,
    /// Receipts of events the load did not send, or at endpoints that should not get them.
    pub unexpected: usize,
    /// Requests to the backlog's failing endpoint.
    pub failing_endpoint_receipts: usize,
    /// From each event's request start to its first 2xx arrival at each endpoint.
    pub latencies: Vec<Duration>,
    /// When the last first delivery arrived.
    pub last_arrival: Option<Instant>,
    /// Receipts per measured endpoint in each whole second of the window given to [`analyse`].
    pub per_second: Vec<Vec<usize>>,
}

/// Compares `receipts` with the events `sent` under `plan`. `window` (start, length) counts each
/// measured endpoint's receipts in that interval, for rate measurements.
pub fn analyse(
    plan: &LoadPlan,
    sent: &[SentEvent],
    receipts: &[Receipt],
    endpoints: usize,
    window: Option<(Instant, Duration)>,
) -> Deliveries {
    let events: HashMap<&str, &SentEvent> = sent.iter().map(|event| (event.id.as_str(), event)).collect();
    let mut attempts: HashMap<(&str, usize), (usize, usize)> = HashMap::new();
    let seconds = window.map_or(0, |(_, length)| length.as_secs() as usize);
    let mut deliveries = Deliveries { per_second: vec![vec![0; seconds]; endpoints], ..Deliveries::default() };
    for receipt in receipts {
        if !receipt.signature_valid {
            deliveries.bad_signatures += 1;
        }
        let index = match receipt.route {
            Route::Failing => {
                deliveries.failing_endpoint_receipts += 1;
                continue;
            }
            Route::Endpoint(index) => index,
        };
        let expected =
            events.get(receipt.webhook_id.as_str()).filter(|event| plan.kinds[event.kind].endpoints.contains(&index));
        let Some(event) = expected else {
            deliveries.unexpected += 1;
            continue;
        };
        if let Some((start, _)) = window
            && let Some(offset) = receipt.arrived.checked_duration_since(start)
            && let Some(count) =
                deliveries.per_second.get_mut(index).and_then(|seconds| seconds.get_mut(offset.as_secs() as usize))
        {
            *count += 1;
        }
        let (seen, successes) = attempts.entry((event.id.as_str(), index)).or_default();
        *seen += 1;
        if *seen > 1 {
            deliveries.retries += 1;
        }
        if !(200..300).contains(&receipt.status) {
            continue;
        }
        *successes += 1;
        if *successes > 1 {
            deliveries.duplicates += 1;
            continue;
        }
        deliveries.delivered += 1;
        deliveries.latencies.push(receipt.arrived.saturating_duration_since(event.started));
        deliveries.last_arrival = deliveries.last_arrival.max(Some(receipt.arrived));
    }
    let expected: usize = sent.iter().map(|event| plan.kinds[event.kind].endpoints.len()).sum();
    deliveries.lost = expected.saturating_sub(deliveries.delivered);
    deliveries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::load::EventKind;

    fn receipt(id: &str, index: usize, at: Instant, status: u16, signature_valid: bool) -> Receipt {
        Receipt { route: Route::Endpoint(index), webhook_id: id.into(), arrived: at, signature_valid, status }
    }

    #[test]
    fn losses_duplicates_retries_and_signatures_are_counted_per_pair() {
        let start = Instant::now();
        let plan = crate::bench::load::LoadPlan {
            tenant: "t".into(),
            events: 3,
            concurrency: 1,
            batch: None,
            per_second: None,
            kinds: vec![EventKind { event_type: "a.b".into(), endpoints: vec![0, 1] }],
            record_events: true,
        };
        let sent: Vec<SentEvent> =
            ["e1", "e2", "e3"].iter().map(|id| SentEvent { id: (*id).into(), kind: 0, started: start }).collect();
        let ms = |millis| start + Duration::from_millis(millis);
        let receipts = vec![
            receipt("e1", 0, ms(5), 200, true),
            receipt("e1", 1, ms(6), 500, true),
            receipt("e1", 1, ms(1006), 200, true),
            receipt("e2", 0, ms(7), 200, false),
            receipt("e2", 0, ms(9), 200, true),
            receipt("e2", 1, ms(8), 200, true),
            receipt("e3", 0, ms(10), 200, true),
            receipt("stranger", 0, ms(11), 200, true),
        ];
        let deliveries = analyse(&plan, &sent, &receipts, 2, Some((start, Duration::from_secs(2))));
        assert_eq!(deliveries.delivered, 5);
        assert_eq!(deliveries.lost, 1, "e3 never reached endpoint 1");
        assert_eq!(deliveries.duplicates, 1);
        assert_eq!(deliveries.retries, 2);
        assert_eq!(deliveries.bad_signatures, 1);
        assert_eq!(deliveries.unexpected, 1);
        assert_eq!(deliveries.per_second, [[4, 0], [2, 1]], "every request counts, failed ones too");
        assert_eq!(deliveries.last_arrival, Some(ms(1006)));
        assert_eq!(deliveries.latencies.iter().max(), Some(&Duration::from_millis(1006)));
    }
}
