//! Per-tenant ingest limits: 429 with Retry-After and RateLimit-* headers over the limit,
//! tenants independent, overrides honoured, batches refused whole, bad limits refused.

use serde_json::{Value, json};

use crate::common::{TestApp, expect_problem, expect_status, problem_fields};

conformance!(
    over_the_limit_requests_get_429_with_rate_limit_headers,
    a_batch_over_the_remaining_budget_is_refused_whole,
    invalid_limits_are_422_and_null_restores_the_default,
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
