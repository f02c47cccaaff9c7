//! The worker loop: claim due deliveries in batches under a lease, send each one (bounded
//! concurrency), record the attempt and move the delivery on. It never holds a database
//! connection across an HTTP request. A crashed worker loses nothing: its leases expire and any
//! worker claims those deliveries again (at-least-once; subscribers dedup on `webhook-id`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use chrono::{DateTime, Utc};

use crate::delivery::render::Renderer;
use crate::delivery::sender::{CONTENT_TYPE, Response, Sender, USER_AGENT};
use crate::delivery::signer;
use crate::domain::clock::Clock;
use crate::domain::delivery::{AttemptTrigger, ErrorKind};
use crate::domain::envelope;
use crate::domain::ids::AttemptId;
use crate::domain::retry::{self, NextStep, RetrySchedule};
use crate::domain::secret;
use crate::store::{Attempt, ClaimedDelivery, CompletionRules, Delivery, DeliveryTransition, Endpoint, Store};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::trace_context;

/// How long a delivery to a disabled endpoint waits before it is looked at again. It spends no
/// attempt meanwhile, so re-enabling the endpoint delivers the backlog.
const DISABLED_ENDPOINT_RECHECK: chrono::Duration = chrono::Duration::seconds(60);

/// The attempt log entry for one try of `delivery`, whatever its outcome.
fn attempt_record(
    delivery: &Delivery,
    endpoint: &Endpoint,
    started_at: DateTime<Utc>,
    request_headers: BTreeMap<String, String>,
    response: Response,
) -> Attempt {
    Attempt {
        tenant_id: delivery.tenant_id.clone(),
        id: AttemptId::generate(),
        delivery_id: delivery.id.clone(),
        event_id: delivery.event_id.clone(),
        endpoint_id: delivery.endpoint_id.clone(),
        attempt_number: delivery.attempt_count + 1,
        trigger: delivery.next_trigger,
        started_at,
        duration_ms: response.duration.as_millis().min(i64::MAX as u128) as i64,
        url: endpoint.url.as_str().to_owned(),
        request_headers,
        succeeded: response.succeeded(),
        response_status: response.status,
        response_headers: response.headers,
        response_body: response.body,
        error_kind: response.error.as_ref().map(|(kind, _)| *kind),
        error_message: response.error.map(|(_, message)| message),
    }
}

/// What a worker needs besides the store.
pub struct WorkerOptions {
    pub concurrency: usize,
    pub batch_size: usize,
    pub lease: Duration,
    pub poll_interval: Duration,
    /// Endpoint health rules and the deployment's retry schedule.
    pub rules: CompletionRules,
    pub metrics: Arc<Metrics>,
    pub retry_after_cap: Duration,
    pub shutdown_grace: Duration,
}

/// One worker process's delivery loop.
pub struct Worker {
    store: Arc<dyn Store>,
    renderer: Renderer,
    sender: Sender,
    clock: Arc<dyn Clock>,
    options: WorkerOptions,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, sender: Sender, clock: Arc<dyn Clock>, options: WorkerOptions) -> Self {
        Self { renderer: Renderer::new(Arc::clone(&store)), store, sender, clock, options }
    }

    /// Runs until `shutdown` turns true, then stops claiming and waits (up to the grace period)
    /// for requests in flight; anything still unfinished is retried after its lease expires.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let worker = Arc::new(self);
        let permits = Arc::new(Semaphore::new(worker.options.concurrency.max(1)));
        let signal = worker.store.work_signal();
        let mut in_flight = JoinSet::new();
        while !*shutdown.borrow() {
            while in_flight.try_join_next().is_some() {}
            let available = permits.available_permits();
            if available == 0 {
                tokio::select! {
                    _ = in_flight.join_next() => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let now = worker.clock.now();
            let wanted = available.min(worker.options.batch_size);
            // Whether the wait below must ask the database when the next delivery is due.
            let mut ask_next_due = true;
            match worker.store.claim_due(now, wanted, worker.options.lease).await {
                Ok(batch) => {
                    let metrics = &worker.options.metrics;
                    metrics.record_deferred("throttle", batch.throttled);
                    metrics.record_deferred("circuit", batch.circuit_held);
                    let batch_held = batch.throttled + batch.circuit_held;
                    let handled = batch.deliveries.len() as u64 + batch_held;
                    for claimed in batch.deliveries {
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { break };
                        let worker = Arc::clone(&worker);
                        in_flight.spawn(async move {
                            worker.deliver(claimed).await;
                            drop(permit);
                        });
                    }
                    // A full batch means more may be due; a short one that nothing else was, so
                    // claiming again at once would only find nothing: wait for news instead. When
                    // nothing was held back either, nothing is due soon that a notification or the
                    // poll would not bring, so the wait skips asking the database when.
                    if handled >= wanted as u64 {
                        continue;
                    }
                    ask_next_due = handled == 0 || batch_held > 0;
                }
                Err(error) => tracing::warn!(%error, "claiming deliveries failed"),
            }
            let idle = if ask_next_due { worker.idle_wait().await } else { worker.options.poll_interval };
            tokio::select! {
                _ = signal.notified() => {}
                _ = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => {}
            }
        }
        let drained = tokio::time::timeout(worker.options.shutdown_grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("shutdown grace elapsed; unfinished deliveries will be retried after their lease");
        }
    }

    /// Sleeps until the next delivery is due, but never longer than the poll interval.
    async fn idle_wait(&self) -> Duration {
        let poll = self.options.poll_interval;
        match self.store.next_due_at(self.clock.now()).await {
            Ok(Some(due_at)) => (due_at - self.clock.now()).to_std().unwrap_or(Duration::ZERO).min(poll),
            Ok(None) => poll,
            Err(_) => poll,
        }
    }

    /// Sends one claimed delivery and records the outcome.
    async fn deliver(&self, claimed: ClaimedDelivery) {
        let ClaimedDelivery { delivery, claim_token, event, endpoint } = claimed;
        if !endpoint.enabled {
            let due_at = self.clock.now() + DISABLED_ENDPOINT_RECHECK;
            self.options.metrics.record_deferred("disabled", 1);
            if let Err(error) = self.store.release(&delivery, &claim_token, due_at).await {
                tracing::warn!(%error, delivery = %delivery.id, "releasing a delivery of a disabled endpoint failed");
            }
            return;
        }
        let started_at = self.clock.now();
        let rendered = match self.renderer.render(&event, endpoint.api_version.as_ref()).await {
            Ok(Ok(rendered)) => rendered,
            Ok(Err(unavailable)) => {
                let response = Response::not_sent(ErrorKind::VersionUnavailable, unavailable.to_string());
                let exhausted = DeliveryTransition::Exhausted;
                self.options.metrics.record_attempt(Some(ErrorKind::VersionUnavailable), response.duration, exhausted);
                let attempt = attempt_record(&delivery, &endpoint, started_at, BTreeMap::new(), response);
                // Retrying cannot make the version appear: dead-letter at once.
                self.record(&attempt, &claim_token, DeliveryTransition::Exhausted, started_at).await;
                return;
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %delivery.id, "rendering failed; it is retried after the lease");
                return;
            }
        };
        let body = envelope::render(
            &event.id,
            &event.event_type,
            rendered.api_version.as_ref(),
            event.created_at,
            &rendered.data,
        );
        // During a rotation's grace period the old secrets sign too, so subscribers can switch over.
        let secrets = secret::signing_secrets(&endpoint.secret, &endpoint.retired_secrets, started_at);
        let signature = signer::signature_headers(&secrets, event.id.as_str(), started_at.timestamp(), &body);
        let mut headers = vec![
            ("webhook-id".to_owned(), signature.webhook_id),
            ("webhook-timestamp".to_owned(), signature.webhook_timestamp),
            ("webhook-signature".to_owned(), signature.webhook_signature),
        ];
        if let Some(version) = &rendered.api_version {
            headers.push(("outhook-api-version".to_owned(), version.to_string()));
        }
        let mut recorded_headers: BTreeMap<String, String> = headers.iter().cloned().collect();
        recorded_headers.insert("content-type".into(), CONTENT_TYPE.into());
        recorded_headers.insert("user-agent".into(), USER_AGENT.into());
        for (name, value) in endpoint.headers.as_map() {
            headers.push((name.clone(), value.clone()));
            // Custom headers often carry the subscriber's credentials: never log their values.
            recorded_headers.insert(name.clone(), "[redacted]".into());
        }
        let span =
            tracing::info_span!("webhook.attempt", delivery = %delivery.id, attempt = delivery.attempt_count + 1);
        if let Some(traceparent) = trace_context::continue_in(&span, event.trace_context.as_deref()) {
            recorded_headers.insert("traceparent".into(), traceparent.clone());
            headers.push(("traceparent".to_owned(), traceparent));
        }
        let metrics = &self.options.metrics;
        metrics.requests_in_flight.inc();
        let response = self.sender.post(endpoint.url.as_url(), &headers, body).instrument(span).await;
        metrics.requests_in_flight.dec();
        let finished_at = self.clock.now();
        let attempt_number = delivery.attempt_count + 1;
        let transition = self.transition(&response, endpoint.retry_schedule.as_ref(), attempt_number, finished_at);
        metrics.record_attempt(response.error.as_ref().map(|(kind, _)| *kind), response.duration, transition);
        if response.succeeded() && delivery.next_trigger != AttemptTrigger::Manual {
            let latency = (finished_at - event.created_at).to_std().unwrap_or_default();
            metrics.ingest_to_first_success.observe(latency.as_secs_f64());
        }
        let attempt = attempt_record(&delivery, &endpoint, started_at, recorded_headers, response);
        self.record(&attempt, &claim_token, transition, finished_at).await;
    }

    async fn record(&self, attempt: &Attempt, claim_token: &str, transition: DeliveryTransition, now: DateTime<Utc>) {
        let delivery = &attempt.delivery_id;
        match self.store.complete_attempt(attempt, claim_token, transition, now, &self.options.rules).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(%delivery, "the lease expired before the attempt was recorded"),
            Err(error) => tracing::error!(%error, %delivery, "recording an attempt failed; it will be retried"),
        }
    }

    fn transition(
        &self,
        response: &Response,
        endpoint_schedule: Option<&RetrySchedule>,
        attempts_made: u32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DeliveryTransition {
        if response.succeeded() {
            return DeliveryTransition::Succeeded;
        }
        let retry_after = match response.status {
            Some(429 | 503) => response.header("retry-after").and_then(|value| retry::parse_retry_after(value, now)),
            _ => None,
        };
        let schedule = endpoint_schedule.unwrap_or(&self.options.rules.default_schedule);
        match retry::next_step(
            schedule,
            attempts_made,
            now,
            retry_after,
            self.options.retry_after_cap,
            &mut rand::rng(),
        ) {
            NextStep::RetryAt(at) => DeliveryTransition::RetryAt(at),
            NextStep::Exhausted => DeliveryTransition::Exhausted,
        }
    }
}
