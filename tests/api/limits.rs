//! Per-tenant ingest limits: 429 with Retry-After and RateLimit-* headers over the limit,
//! tenants independent, overrides honoured, batches refused whole, bad limits refused.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::receiver::{Behaviour, Receiver};
use crate::common::{TestApp, expect_problem, expect_status, problem_fields};

conformance!(
    over_the_limit_requests_get_429_with_rate_limit_headers,
    a_batch_over_the_remaining_budget_is_refused_whole,
    invalid_limits_are_422_and_null_restores_the_default,
    a_rate_limited_endpoint_gets_one_delivery_per_interval_without_spending_attempts,
    an_in_flight_cap_holds_deliveries_back,
    invalid_endpoint_limits_are_422,
);

fn event(key: Option<&str>) -> Value {
    match key {
        Some(key) => json!({"event_type": "invoice.paid", "payload": {}, "idempotency_key": key}),
        None => json!({"event_type": "invoice.paid", "payload": {}}),
    }
}

async fn limited_tenant(app: &TestApp, uid: &str, per_second: i64, burst: i64) {
    let body = json!({"uid": uid, "ingest_rate_limit": {"per_second": per_second, "burst": burst}});
    let created = expect_status(app.post("/v1/tenants", &body).await, 201).await;
    assert_eq!(created["ingest_rate_limit"], json!({"per_second": per_second, "burst": burst}));
}

async fn over_the_limit_requests_get_429_with_rate_limit_headers(app: TestApp) {
    app.create_event_type("invoice.paid").await;
    limited_tenant(&app, "slow", 1, 3).await;
    app.create_tenant("other").await;
    for remaining in [2, 1, 0] {
        let response = app.post("/v1/tenants/slow/events", &event(None)).await;
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        assert_eq!(response.headers()["ratelimit-remaining"], remaining.to_string().as_str());
        assert!(response.headers().contains_key("ratelimit-reset"));
        expect_status(response, 202).await;
    }
    let response = app.post("/v1/tenants/slow/events", &event(Some("refused"))).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(response.headers()["ratelimit-remaining"], "0");
    assert_eq!(response.headers()["ratelimit-limit"], "3");
    let problem = expect_problem(response, 429).await;
    assert_eq!(problem["type"], "urn:outhook:problem:rate-limited");
    assert_eq!(app.metric("outhook_events_rate_limited_total").await, 1.0, "refused events are counted");
    // Another tenant is not affected by this one's limit.
    for _ in 0..5 {
        expect_status(app.post("/v1/tenants/other/events", &event(None)).await, 202).await;
    }
}

async fn a_batch_over_the_remaining_budget_is_refused_whole(app: TestApp) {
    app.create_event_type("invoice.paid").await;
    limited_tenant(&app, "batchy", 1, 5).await;
    let six: Vec<Value> = (0..6).map(|n| event(Some(&format!("k{n}")))).collect();
    expect_problem(app.post("/v1/tenants/batchy/events/batch", &json!({"events": six})).await, 429).await;
    let four: Vec<Value> = (0..4).map(|n| event(Some(&format!("k{n}")))).collect();
    let accepted =
        expect_status(app.post("/v1/tenants/batchy/events/batch", &json!({"events": four})).await, 202).await;
    for item in accepted["data"].as_array().unwrap() {
        assert_eq!(item["replayed"], false, "nothing of the refused batch was stored");
    }
    let two: Vec<Value> = (4..6).map(|n| event(Some(&format!("k{n}")))).collect();
    let response = app.post("/v1/tenants/batchy/events/batch", &json!({"events": two})).await;
    assert!(response.headers().contains_key("retry-after"));
    expect_problem(response, 429).await;
}

async fn invalid_limits_are_422_and_null_restores_the_default(app: TestApp) {
    for (per_second, burst) in [(0, 10), (-1, 10), (10, 0), (10, -5), (10, 100_000_000_000i64), (5_000_000, 10)] {
        let body = json!({"uid": "bad", "ingest_rate_limit": {"per_second": per_second, "burst": burst}});
        let problem = expect_problem(app.post("/v1/tenants", &body).await, 422).await;
        assert_eq!(problem_fields(&problem), ["ingest_rate_limit"], "{per_second}/{burst}");
    }
    expect_problem(app.get("/v1/tenants/bad").await, 404).await;
    limited_tenant(&app, "limited", 5, 10).await;
    let problem = expect_problem(
        app.patch("/v1/tenants/limited", &json!({"ingest_rate_limit": {"per_second": 0, "burst": 1}})).await,
        422,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["ingest_rate_limit"]);
    let cleared = expect_status(app.patch("/v1/tenants/limited", &json!({"ingest_rate_limit": null})).await, 200).await;
    assert!(cleared["ingest_rate_limit"].is_null());
}

/// Submits `count` events to `acme` and returns their delivery ids.
async fn deliveries_of(app: &TestApp, count: usize) -> Vec<String> {
    let events: Vec<Value> = (0..count).map(|n| json!({"event_type": "invoice.paid", "payload": {"n": n}})).collect();
    let accepted =
        expect_status(app.post("/v1/tenants/acme/events/batch", &json!({"events": events})).await, 202).await;
    let mut ids = Vec::new();
    for event in accepted["data"].as_array().unwrap() {
        for delivery in app.event_deliveries(event["id"].as_str().unwrap()).await {
            ids.push(delivery["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

async fn a_rate_limited_endpoint_gets_one_delivery_per_interval_without_spending_attempts(app: TestApp) {
    let receiver = Receiver::start().await;
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let endpoint =
        app.create_endpoint("acme", &json!({"url": receiver.url("/limited"), "delivery_rate_per_second": 2})).await;
    assert_eq!(endpoint["delivery_rate_per_second"], 2);
    let ids = deliveries_of(&app, 4).await;
    receiver.wait_for(Some("/limited"), 2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut held = 0;
    for id in &ids {
        let delivery = expect_status(app.get(&format!("/v1/tenants/acme/deliveries/{id}")).await, 200).await;
        if delivery["attempt_count"] == 0 {
            assert_eq!(delivery["status"], "pending", "held back, not failed");
            held += 1;
        }
    }
    assert_eq!(held, 2, "a burst of two sent at once, two held for later slots");
    let throttled = app.metric("outhook_deliveries_deferred_total{reason=\"throttle\"}").await;
    assert!(throttled >= 2.0, "held-back deliveries are counted: {throttled}");
    assert_eq!(receiver.requests_to("/limited").len(), 2, "nothing more is sent before the clock moves");
    app.clock.advance(chrono::Duration::seconds(2));
    receiver.wait_for(Some("/limited"), 4, Duration::from_secs(10)).await;
    for id in &ids {
        let delivery = app.wait_for_delivery(id, |d| d["status"] == "succeeded").await;
        assert_eq!(delivery["attempt_count"], 1, "holding back spent no attempt");
    }
    assert_eq!(receiver.requests_to("/limited").len(), 4);
}

async fn an_in_flight_cap_holds_deliveries_back(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/capped", Behaviour::Slow { delay: Duration::from_millis(600), status: 200 });
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/capped"), "max_in_flight": 1})).await;
    let ids = deliveries_of(&app, 3).await;
    for expected in 1..=3 {
        receiver.wait_for(Some("/capped"), expected, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(receiver.requests_to("/capped").len(), expected, "one request at a time");
        // Let the request in flight finish, then move the clock past the hold.
        tokio::time::sleep(Duration::from_millis(600)).await;
        app.clock.advance(chrono::Duration::seconds(1));
    }
    for id in &ids {
        let delivery = app.wait_for_delivery(id, |d| d["status"] == "succeeded").await;
        assert_eq!(delivery["attempt_count"], 1);
    }
}

async fn invalid_endpoint_limits_are_422(app: TestApp) {
    app.create_tenant("acme").await;
    for (field, value) in [
        ("delivery_rate_per_second", json!(0)),
        ("delivery_rate_per_second", json!(-1)),
        ("delivery_rate_per_second", json!(10_001)),
        ("max_in_flight", json!(0)),
        ("max_in_flight", json!(1_000_000)),
    ] {
        let body = json!({"url": "https://example.com/", field: value});
        let problem = expect_problem(app.post("/v1/tenants/acme/endpoints", &body).await, 422).await;
        assert_eq!(problem_fields(&problem), [field], "{field} = {value}");
    }
    let endpoint = app.create_endpoint("acme", &json!({"url": "https://example.com/", "max_in_flight": 5})).await;
    let path = format!("/v1/tenants/acme/endpoints/{}", endpoint["id"].as_str().unwrap());
    expect_problem(app.patch(&path, &json!({"max_in_flight": 0})).await, 422).await;
    let cleared = expect_status(app.patch(&path, &json!({"max_in_flight": null})).await, 200).await;
    assert!(cleared["max_in_flight"].is_null());
}
