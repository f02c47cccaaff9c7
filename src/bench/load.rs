//! The load generator: sends events through the single-event or the batch API from a fixed
//! number of concurrent senders, as fast as the server answers or paced to a rate, and records
//! when each event's request started (the zero of its ingest→delivery latency) and how long each
//! request took.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::bench::client::ApiClient;

/// One kind of event the load sends, and the measured endpoints that must receive it.
#[derive(Debug, Clone)]
pub struct EventKind {
    pub event_type: String,
    pub endpoints: Vec<usize>,
}

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub tenant: String,
    pub events: usize,
    pub concurrency: usize,
    /// Events per batch request; `None` uses the single-event API.
    pub batch: Option<usize>,
    /// Events per second to pace the load at; `None` sends as fast as the server answers.
    pub per_second: Option<f64>,
    /// Event `i` is of kind `kinds[i % kinds.len()]`: a repeating pattern, so the mix of kinds
    /// is even over any stretch of the run.
    pub kinds: Vec<EventKind>,
    /// Keep each accepted event in [`LoadOutcome::sent`]. Off for the backlog, whose million
    /// ids would only inflate the memory measured for an embedded server.
    pub record_events: bool,
}

impl LoadPlan {
    /// The kind of the event with this index.
    pub fn kind(&self, index: usize) -> &EventKind {
        &self.kinds[index % self.kinds.len()]
    }
}

/// One accepted event.
#[derive(Debug, Clone)]
pub struct SentEvent {
    /// The event id, which is the `webhook-id` of every delivery of it.
    pub id: String,
    /// Index into [`LoadPlan::kinds`].
    pub kind: usize,
    /// When the request carrying it started.
    pub started: Instant,
}

/// What the load achieved.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    /// Events the server accepted.
    pub accepted: usize,
    /// The accepted events, when the plan records them.
    pub sent: Vec<SentEvent>,
    /// The duration of each ingest request (one per event, or one per batch).
    pub request_latencies: Vec<Duration>,
    /// Events refused, failed, or not sent before the deadline.
    pub errors: usize,
    pub first_error: Option<String>,
    /// From the first request's start to the last answer.
    pub elapsed: Duration,
}

/// A payload of about 330 bytes, unique per index, shaped like a typical billing webhook.
pub fn payload(index: usize) -> String {
    let customer = index % 10_000;
    let amount = 10_000 + index % 90_000;
    format!(
        concat!(
            r#"{{"invoice_id":"inv_{index:012}","customer":{{"id":"cus_{customer:08}","#,
            r#""email":"customer-{customer:05}@example.com","name":"Example Customer {customer:05}"}},"#,
            r#""amount_cents":{amount},"currency":"eur","status":"paid","#,
            r#""lines":[{{"sku":"plan-pro-monthly","quantity":1,"unit_amount_cents":{amount}}}],"#,
            r#""paid_at":"2026-01-01T00:00:00Z","note":"benchmark sample event"}}"#
        ),
        index = index,
        customer = customer,
        amount = amount,
    )
}

/// The body of one event in the single-event API (also one item of a batch).
pub fn event_body(event_type: &str, index: usize) -> String {
    format!(r#"{{"event_type":"{event_type}","payload":{}}}"#, payload(index))
}

/// The body of a batch of the events `first..first + count`.
pub fn batch_body(plan: &LoadPlan, first: usize, count: usize) -> String {
    let items: Vec<String> =
        (first..first + count).map(|index| event_body(&plan.kind(index).event_type, index)).collect();
    format!(r#"{{"events":[{}]}}"#, items.join(","))
}

struct Job {
    client: ApiClient,
    plan: LoadPlan,
    next: AtomicUsize,
    started: Instant,
    deadline: Instant,
}

/// Sends the plan's events; gives up on what is not sent by `deadline`.
pub async fn run(client: &ApiClient, plan: &LoadPlan, deadline: Instant) -> LoadOutcome {
    let started = Instant::now();
    let job =
        Arc::new(Job { client: client.clone(), plan: plan.clone(), next: AtomicUsize::new(0), started, deadline });
    let mut senders = JoinSet::new();
    for _ in 0..plan.concurrency.max(1) {
        senders.spawn(sender(Arc::clone(&job)));
    }
    let mut outcome = LoadOutcome::default();
    while let Some(joined) = senders.join_next().await {
        let part = joined.unwrap_or_else(|error| LoadOutcome {
            first_error: Some(format!("a sender task failed: {error}")),
            ..LoadOutcome::default()
        });
        outcome.accepted += part.accepted;
        outcome.sent.extend(part.sent);
        outcome.request_latencies.extend(part.request_latencies);
        outcome.errors += part.errors;
        outcome.first_error = outcome.first_error.or(part.first_error);
    }
    outcome.errors += plan.events.saturating_sub(outcome.accepted + outcome.errors);
    outcome.elapsed = started.elapsed();
    outcome
}

/// One sender: takes the next unsent events, sends them, repeats.
async fn sender(job: Arc<Job>) -> LoadOutcome {
    let plan = &job.plan;
    let step = plan.batch.unwrap_or(1).max(1);
    let mut outcome = LoadOutcome::default();
    loop {
        let first = job.next.fetch_add(step, Ordering::Relaxed);
        if first >= plan.events || Instant::now() >= job.deadline {
            return outcome;
        }
        let count = step.min(plan.events - first);
        if let Some(per_second) = plan.per_second {
            let due = job.started + Duration::from_secs_f64(first as f64 / per_second);
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        }
        let started = Instant::now();
        let result = match plan.batch {
            None => job
                .client
                .post_event(&plan.tenant, event_body(&plan.kind(first).event_type, first))
                .await
                .map(|id| vec![id]),
            Some(_) => job.client.post_batch(&plan.tenant, batch_body(plan, first, count)).await,
        };
        outcome.request_latencies.push(started.elapsed());
        match result {
            Ok(ids) if ids.len() == count => {
                outcome.accepted += count;
                if !plan.record_events {
                    continue;
                }
                let kinds = plan.kinds.len();
                outcome.sent.extend(ids.into_iter().enumerate().map(|(offset, id)| SentEvent {
                    id,
                    kind: (first + offset) % kinds,
                    started,
                }));
            }
            Ok(ids) => {
                outcome.errors += count;
                outcome.first_error.get_or_insert(format!("sent {count} events, {} were acknowledged", ids.len()));
            }
            Err(error) => {
                outcome.errors += count;
                outcome.first_error.get_or_insert(error.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(kinds: &[&str]) -> LoadPlan {
        LoadPlan {
            tenant: "t".into(),
            events: 10,
            concurrency: 1,
            batch: Some(3),
            per_second: None,
            record_events: true,
            kinds: kinds.iter().map(|name| EventKind { event_type: (*name).into(), endpoints: vec![0] }).collect(),
        }
    }

    #[test]
    fn payloads_are_json_objects_of_about_330_bytes() {
        for index in [0, 7, 12_345, 9_999_999] {
            let payload = payload(index);
            assert_eq!(payload.len(), 330);
            assert!(serde_json::from_str::<serde_json::Value>(&payload).unwrap().is_object());
        }
    }

    #[test]
    fn batch_bodies_list_each_event_with_its_kind() {
        let body: serde_json::Value = serde_json::from_str(&batch_body(&plan(&["a.x", "b.y"]), 3, 3)).unwrap();
        let types: Vec<&str> =
            body["events"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
        assert_eq!(types, ["b.y", "a.x", "b.y"]);
        assert!(body["events"][0]["payload"]["invoice_id"].as_str().unwrap().ends_with("000000000003"));
    }
}
