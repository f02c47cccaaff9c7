//! A vendor backend sending events through Outhook with the SDK client: it sets up a tenant, an
//! event type and an endpoint (idempotently, so it can run again), sends one event with an
//! idempotency key and a batch, and prints what happened to the deliveries.
//!
//! ```sh
//! # Outhook, allowed to deliver to this machine; prints an admin token on first start.
//! OUTHOOK_DELIVERY__ALLOWED_NETWORKS='["127.0.0.0/8"]' cargo run --release -- serve
//! # This example; prints the endpoint's secret.
//! OUTHOOK_TOKEN=oht_… cargo run -p outhook-sdk --example vendor
//! # The subscriber example, verifying what arrives (missed webhooks are retried).
//! OUTHOOK_SECRET=whsec_… cargo run -p outhook-sdk --example subscriber
//! ```
//!
//! `OUTHOOK_URL` (default `http://127.0.0.1:8080`) and `SUBSCRIBER_URL` (default
//! `http://127.0.0.1:8000/webhooks`) say where the two are; nothing else is contacted. The
//! endpoint's secret is printed for the subscriber example (`OUTHOOK_SECRET`).

use std::env;
use std::process::ExitCode;

use outhook_sdk::models::{
    CreateEndpoint, CreateEvent, CreateEventBatch, CreateEventType, CreateTenant, DeliveryQuery, ListQuery,
};
use outhook_sdk::{Client, Error, collect_all};
use serde_json::json;

const TENANT: &str = "customer-42";
const EVENT_TYPE: &str = "invoice.paid";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vendor example failed: {error}");
            if let Some(problem) = error.problem() {
                for field in &problem.errors {
                    eprintln!("  {}: {}", field.field, field.message);
                }
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let base_url = env::var("OUTHOOK_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let subscriber_url = env::var("SUBSCRIBER_URL").unwrap_or_else(|_| "http://127.0.0.1:8000/webhooks".to_owned());
    let Ok(token) = env::var("OUTHOOK_TOKEN") else {
        eprintln!("set OUTHOOK_TOKEN to an admin token (`outhook serve` prints one on first start)");
        return Ok(());
    };
    let client = Client::new(&base_url, token)?;

    // Setting up is idempotent: a 409 means it exists already, which is fine.
    let tenant = CreateTenant { uid: TENANT.to_owned(), name: Some("Acme Inc.".to_owned()), ..Default::default() };
    ignore_conflict(client.create_tenant(&tenant).await)?;
    let event_type =
        CreateEventType { name: EVENT_TYPE.to_owned(), description: Some("An invoice was paid".to_owned()) };
    ignore_conflict(client.create_event_type(&event_type).await)?;

    let endpoints =
        collect_all(async |cursor| client.list_endpoints(TENANT, &ListQuery { limit: None, cursor }).await).await?;
    let endpoint = match endpoints.into_iter().find(|endpoint| endpoint.url == subscriber_url) {
        Some(existing) => existing,
        None => {
            let endpoint = CreateEndpoint {
                url: subscriber_url.clone(),
                event_types: Some(vec![EVENT_TYPE.to_owned()]),
                ..Default::default()
            };
            client.create_endpoint(TENANT, &endpoint).await?
        }
    };
    let secret = client.get_endpoint_secret(TENANT, &endpoint.id).await?;
    println!("endpoint {} → {}", endpoint.id, endpoint.url);
    println!("give the subscriber its secret: OUTHOOK_SECRET={}", secret.key);

    // One event. The idempotency key names the business fact, so a retry after a timeout (or a
    // second run of this example) returns the original event instead of sending a duplicate.
    let invoice = CreateEvent::new(EVENT_TYPE, json!({"invoice": "in_123", "amount": 4200, "currency": "EUR"}));
    let accepted = client.create_event(TENANT, &invoice, Some("invoice-in_123-paid")).await?;
    let replayed = if accepted.replayed == Some(true) { " (replayed: sent before)" } else { "" };
    println!("event {}{replayed}", accepted.id);

    // A batch: stored in one transaction, all or nothing; keys go in each event.
    let events = (124..127)
        .map(|number| CreateEvent {
            idempotency_key: Some(format!("invoice-in_{number}-paid")),
            ..CreateEvent::new(EVENT_TYPE, json!({"invoice": format!("in_{number}"), "amount": 1000}))
        })
        .collect();
    let batch = client.create_event_batch(TENANT, &CreateEventBatch { events }).await?;
    println!("batch of {} events accepted", batch.data.len());

    let query = DeliveryQuery { event_id: Some(accepted.id.clone()), ..Default::default() };
    for delivery in client.list_deliveries(TENANT, &query).await?.data {
        println!("delivery {}: {} after {} attempt(s)", delivery.id, delivery.status, delivery.attempt_count);
    }
    Ok(())
}

fn ignore_conflict<T>(result: Result<T, Error>) -> Result<(), Error> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.status() == Some(409) => Ok(()),
        Err(error) => Err(error),
    }
}
