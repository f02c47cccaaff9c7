//! Observability on both backends: `/metrics` counts a scenario exactly, and a webhook continues
//! the trace of the request that submitted its event. (Export to an OTLP collector is tested with
//! the real binary in `processes.rs`.)

use std::time::Duration;

use serde_json::json;

use crate::common::receiver::{Behaviour, Receiver};
use crate::common::{TestApp, expect_status};

const PATIENCE: Duration = Duration::from_secs(10);

conformance!(the_metrics_count_a_scenario_exactly, a_webhook_continues_the_trace_of_its_ingest_request);

async fn the_metrics_count_a_scenario_exactly(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/bad", Behaviour::Respond(500));
    app.acme_with_endpoint(&receiver.url("/ok")).await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/bad"), "retry_schedule": [0, 10]})).await;
    let before = app.metric("outhook_events_ingested_total").await;
    assert_eq!(before, 0.0);

    // One event (two deliveries), submitted twice with the same idempotency key.
    let body = json!({"event_type": "invoice.paid", "payload": {"n": 1}, "idempotency_key": "order-1"});
    let event = expect_status(app.post("/v1/tenants/acme/events", &body).await, 202).await;
    expect_status(app.post("/v1/tenants/acme/events", &body).await, 200).await;
    let deliveries = app.event_deliveries(event["id"].as_str().unwrap()).await;
    assert_eq!(deliveries.len(), 2);
    receiver.wait_for(Some("/ok"), 1, PATIENCE).await;
    receiver.wait_for(Some("/bad"), 1, PATIENCE).await;
    for delivery in &deliveries {
        app.wait_for_delivery(delivery["id"].as_str().unwrap(), |d| d["attempt_count"] == 1).await;
    }
    // The failing one retries once more after 10 s (±20%) and is exhausted.
    app.clock.advance(chrono::Duration::seconds(13));
    receiver.wait_for(Some("/bad"), 2, PATIENCE).await;
    for delivery in &deliveries {
        app.wait_for_delivery(delivery["id"].as_str().unwrap(), |d| {
            d["status"] == "succeeded" || d["status"] == "exhausted"
        })
        .await;
    }

    let expected = [
        ("outhook_events_ingested_total", 1.0),
        ("outhook_events_deduplicated_total", 1.0),
        ("outhook_events_rate_limited_total", 0.0),
        ("outhook_attempts_total{result=\"success\"}", 1.0),
        ("outhook_attempts_total{result=\"http_status\"}", 2.0),
        ("outhook_deliveries_total{outcome=\"succeeded\"}", 1.0),
        ("outhook_deliveries_total{outcome=\"retrying\"}", 1.0),
        ("outhook_deliveries_total{outcome=\"exhausted\"}", 1.0),
        ("outhook_attempt_duration_seconds_count", 3.0),
        ("outhook_ingest_to_first_success_seconds_count", 1.0),
        ("outhook_deliveries_due", 0.0),
        ("outhook_deliveries_scheduled", 0.0),
        ("outhook_deliveries_leased", 0.0),
        ("outhook_circuits_open", 0.0),
        ("outhook_requests_in_flight", 0.0),
    ];
    for (sample, value) in expected {
        assert_eq!(app.metric(sample).await, value, "{sample}");
    }
    assert!(app.metric("outhook_database_connections{state=\"max\"}").await >= 1.0);
    let text = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("ten_") && !text.contains("ep_"), "no tenant or endpoint ids in labels");
}

async fn a_webhook_continues_the_trace_of_its_ingest_request(app: TestApp) {
    let receiver = Receiver::start().await;
    app.acme_with_endpoint(&receiver.url("/hook")).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = app
        .client
        .post(format!("{}/v1/tenants/acme/events", app.address))
        .bearer_auth(&app.admin_token)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({"event_type": "invoice.paid", "payload": {"n": 1}}))
        .send()
        .await
        .unwrap();
    let event = expect_status(response, 202).await;
    let requests = receiver.wait_for(Some("/hook"), 1, PATIENCE).await;
    let traceparent = requests[0].header("traceparent").expect("the webhook carries a traceparent");
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], trace_id, "same trace as the ingest request");
    assert_ne!(parts[2], "00f067aa0ba902b7", "the attempt is its own span");
    let delivery = &app.event_deliveries(event["id"].as_str().unwrap()).await[0];
    // The receiver sees the webhook before the worker records the attempt.
    let delivery_id = delivery["id"].as_str().unwrap();
    app.wait_for_delivery(delivery_id, |d| d["status"] == "succeeded").await;
    let attempts = app.delivery_attempts(delivery_id).await;
    assert_eq!(attempts[0]["request_headers"]["traceparent"], traceparent, "the attempt log shows it");

    // Without a trace context (and no exporter), nothing is invented.
    app.post_event(json!({"n": 2})).await;
    let requests = receiver.wait_for(Some("/hook"), 2, PATIENCE).await;
    assert!(requests[1].header("traceparent").is_none());
}
