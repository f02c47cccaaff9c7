//! Event ingest: single and batch, idempotency (also under concurrency), and every refusal,
//! with nothing of a refused request stored.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, expect_problem, expect_status, problem_fields};

conformance!(
    events_without_a_matching_endpoint_are_still_stored,
    a_batch_is_stored_whole_with_its_deliveries,
    an_idempotency_key_replays_the_original_event,
    twenty_concurrent_identical_requests_create_one_event,
    invalid_events_are_refused_naming_the_field,
    a_batch_with_one_bad_event_stores_nothing,
    a_tenant_token_cannot_submit_to_another_tenant,
);

async fn events_without_a_matching_endpoint_are_still_stored(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let event = app.post_event(json!({"b": 2, "a": 1})).await;
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["replayed"], false);
    let stored =
        expect_status(app.get(&format!("/v1/tenants/acme/events/{}", event["id"].as_str().unwrap())).await, 200).await;
    assert_eq!(stored["payload"], json!({"b": 2, "a": 1}));
    assert!(app.event_deliveries(event["id"].as_str().unwrap()).await.is_empty());
}

async fn a_batch_is_stored_whole_with_its_deliveries(app: TestApp) {
    app.acme_with_endpoint("http://127.0.0.1:9/unused").await;
    let events: Vec<Value> = (0..3).map(|n| json!({"event_type": "invoice.paid", "payload": {"n": n}})).collect();
    let accepted =
        expect_status(app.post("/v1/tenants/acme/events/batch", &json!({"events": events})).await, 202).await;
    let data = accepted["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for (n, event) in data.iter().enumerate() {
        assert_eq!(event["payload"]["n"], n);
        assert_eq!(app.event_deliveries(event["id"].as_str().unwrap()).await.len(), 1);
    }
}

async fn an_idempotency_key_replays_the_original_event(app: TestApp) {
    app.acme_with_endpoint("http://127.0.0.1:9/unused").await;
    let body = json!({"event_type": "invoice.paid", "payload": {"n": 1}});
    let send = || async {
        app.client
            .post(format!("{}/v1/tenants/acme/events", app.address))
            .bearer_auth(&app.admin_token)
            .header("idempotency-key", "order-1")
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let first = expect_status(send().await, 202).await;
    let response = send().await;
    assert_eq!(response.headers().get("idempotent-replayed").unwrap(), "true");
    let replay = expect_status(response, 200).await;
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay["replayed"], true);
    // The body field works like the header; in a batch it is per event.
    let batch = json!({"events": [
        {"event_type": "invoice.paid", "payload": {"n": 1}, "idempotency_key": "order-1"},
        {"event_type": "invoice.paid", "payload": {"n": 2}, "idempotency_key": "order-2"},
    ]});
    let accepted = expect_status(app.post("/v1/tenants/acme/events/batch", &batch).await, 202).await;
    assert_eq!(accepted["data"][0]["id"], first["id"]);
    assert_eq!(accepted["data"][0]["replayed"], true);
    assert_eq!(accepted["data"][1]["replayed"], false);
    assert_eq!(app.event_deliveries(first["id"].as_str().unwrap()).await.len(), 1, "no second delivery");
    // Keys are per tenant.
    app.create_tenant("other").await;
    let other = app
        .client
        .post(format!("{}/v1/tenants/other/events", app.address))
        .bearer_auth(&app.admin_token)
        .header("idempotency-key", "order-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let other = expect_status(other, 202).await;
    assert_ne!(other["id"], first["id"]);
}

async fn twenty_concurrent_identical_requests_create_one_event(app: TestApp) {
    app.acme_with_endpoint("http://127.0.0.1:9/unused").await;
    let body = json!({"event_type": "invoice.paid", "payload": {"n": 1}, "idempotency_key": "same"});
    let responses =
        join_all((0..20).map(|_| app.request(Method::POST, "/v1/tenants/acme/events", &app.admin_token, Some(&body))))
            .await;
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for response in responses {
        let status = response.status().as_u16();
        created += usize::from(status == 202);
        assert!(status == 202 || status == 200, "{status}");
        ids.insert(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1, "exactly one request created the event");
    assert_eq!(ids.len(), 1, "every request saw the same event");
    let id = ids.into_iter().next().unwrap();
    assert_eq!(app.event_deliveries(&id).await.len(), 1);
}

async fn invalid_events_are_refused_naming_the_field(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    app.create_event_type("old.thing").await;
    expect_status(app.delete("/v1/event-types/old.thing").await, 200).await;
    let cases = [
        (json!({"event_type": "no.such", "payload": {}}), "event_type"),
        (json!({"event_type": "old.thing", "payload": {}}), "event_type"),
        (json!({"event_type": "Bad Name", "payload": {}}), "event_type"),
        (json!({"event_type": "invoice.paid", "payload": [1, 2]}), "payload"),
        (json!({"event_type": "invoice.paid", "payload": "text"}), "payload"),
        (json!({"event_type": "invoice.paid", "payload": {"big": "x".repeat(256 * 1024)}}), "payload"),
        (json!({"event_type": "invoice.paid", "payload": {}, "channels": ["bad channel"]}), "channels[0]"),
        (json!({"event_type": "invoice.paid", "payload": {}, "idempotency_key": ""}), "idempotency_key"),
        (json!({"event_type": "invoice.paid", "payload": {}, "idempotency_key": "has space"}), "idempotency_key"),
        (json!({"event_type": "invoice.paid"}), "payload"),
    ];
    for (body, field) in cases {
        let problem = expect_problem(app.post("/v1/tenants/acme/events", &body).await, 422).await;
        assert_eq!(problem_fields(&problem), [field], "{body}");
    }
    let response = app
        .client
        .post(format!("{}/v1/tenants/acme/events", app.address))
        .bearer_auth(&app.admin_token)
        .header("idempotency-key", "has space")
        .json(&json!({"event_type": "invoice.paid", "payload": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem_fields(&expect_problem(response, 422).await), ["Idempotency-Key"]);
    let too_many: Vec<Value> = (0..1001).map(|_| json!({"event_type": "invoice.paid", "payload": {}})).collect();
    let problem =
        expect_problem(app.post("/v1/tenants/acme/events/batch", &json!({"events": too_many})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["events"]);
    let problem = expect_problem(app.post("/v1/tenants/acme/events/batch", &json!({"events": []})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["events"]);
    expect_problem(
        app.post("/v1/tenants/nobody/events", &json!({"event_type": "invoice.paid", "payload": {}})).await,
        404,
    )
    .await;
}

async fn a_batch_with_one_bad_event_stores_nothing(app: TestApp) {
    app.acme_with_endpoint("http://127.0.0.1:9/unused").await;
    let batch = json!({"events": [
        {"event_type": "invoice.paid", "payload": {"n": 1}, "idempotency_key": "first"},
        {"event_type": "invoice.paid", "payload": "not an object"},
    ]});
    let problem = expect_problem(app.post("/v1/tenants/acme/events/batch", &batch).await, 422).await;
    assert_eq!(problem_fields(&problem), ["events[1].payload"]);
    // Had the first event been stored, its key would now replay instead of creating.
    let retry = json!({"event_type": "invoice.paid", "payload": {"n": 1}, "idempotency_key": "first"});
    let created = expect_status(app.post("/v1/tenants/acme/events", &retry).await, 202).await;
    assert_eq!(created["replayed"], false);
}

async fn a_tenant_token_cannot_submit_to_another_tenant(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_tenant("mine").await;
    app.create_event_type("invoice.paid").await;
    let token = app.create_tenant_token("mine").await;
    let body = json!({"event_type": "invoice.paid", "payload": {}});
    expect_problem(app.request(Method::POST, "/v1/tenants/acme/events", &token, Some(&body)).await, 404).await;
    expect_status(app.request(Method::POST, "/v1/tenants/mine/events", &token, Some(&body)).await, 202).await;
}
