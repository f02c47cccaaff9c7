//! Versioned payloads: API versions, endpoint pinning, schemas at ingest, downgrade transforms,
//! explicit per-version payloads, and what happens when a version cannot be produced.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp, expect_problem, expect_status, problem_fields, test_settings, verify_signature};

conformance!(
    one_event_reaches_each_endpoint_in_its_pinned_version,
    payloads_are_validated_against_the_schema_of_their_version,
    invalid_schemas_patches_and_versions_are_refused,
    a_pinned_version_cannot_be_removed,
    explicit_payloads_win_and_an_impossible_version_is_not_retried,
);

fn v1_schema() -> Value {
    json!({"type": "object", "required": ["amount"], "additionalProperties": false,
           "properties": {"amount": {"type": "integer"}}})
}

fn v2_schema() -> Value {
    json!({"type": "object", "required": ["amount", "currency"], "additionalProperties": false,
           "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"}}})
}

fn v3_schema() -> Value {
    json!({"type": "object", "required": ["amount_cents", "currency"], "additionalProperties": false,
           "properties": {"amount_cents": {"type": "integer", "minimum": 0}, "currency": {"type": "string", "maxLength": 3}}})
}

/// Three versions of `invoice.paid`: v2 added `currency`, v3 renamed `amount` to `amount_cents`.
async fn three_versions(app: &TestApp) {
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    for name in ["v1", "v2", "v3"] {
        expect_status(app.post("/v1/api-versions", &json!({"name": name})).await, 201).await;
    }
    let definitions = [
        ("v1", json!({"schema": v1_schema()})),
        ("v2", json!({"schema": v2_schema(), "downgrade": [{"op": "remove", "path": "/currency"}]})),
        (
            "v3",
            json!({"schema": v3_schema(), "downgrade": [{"op": "move", "from": "/amount_cents", "path": "/amount"}]}),
        ),
    ];
    for (version, body) in definitions {
        expect_status(put(app, version, body).await, 200).await;
    }
}

async fn one_event_reaches_each_endpoint_in_its_pinned_version(app: TestApp) {
    let receiver = Receiver::start().await;
    three_versions(&app).await;
    let mut endpoints = Vec::new();
    for version in ["v1", "v2", "v3"] {
        let body = json!({"url": receiver.url(&format!("/{version}")), "api_version": version});
        endpoints.push(app.create_endpoint("acme", &body).await);
    }
    let default_pinned = app.create_endpoint("acme", &json!({"url": receiver.url("/default")})).await;
    assert_eq!(default_pinned["api_version"], "v3", "new endpoints are pinned to the newest version");

    let event = app.post_event(json!({"amount_cents": 4200, "currency": "eur"})).await;
    assert_eq!(event["api_version"], "v3", "events default to the newest version");
    receiver.wait_for(None, 4, Duration::from_secs(10)).await;

    let expected = [
        ("v1", json!({"amount": 4200}), v1_schema()),
        ("v2", json!({"amount": 4200, "currency": "eur"}), v2_schema()),
        ("v3", json!({"amount_cents": 4200, "currency": "eur"}), v3_schema()),
    ];
    for ((version, data, schema), endpoint) in expected.into_iter().zip(&endpoints) {
        let requests = receiver.requests_to(&format!("/{version}"));
        assert_eq!(requests.len(), 1, "{version}");
        let request = &requests[0];
        assert!(verify_signature(&app.endpoint_secret(endpoint).await, request), "{version}: signature");
        assert_eq!(request.header("outhook-api-version"), Some(version));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["api_version"], version);
        assert_eq!(body["id"], event["id"]);
        assert_eq!(body["data"], data, "{version}: shape");
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&body["data"]), "{version}: the payload satisfies that version's schema");
    }
}

async fn payloads_are_validated_against_the_schema_of_their_version(app: TestApp) {
    three_versions(&app).await;
    let body = json!({"event_type": "invoice.paid", "payload": {"amount_cents": -1, "currency": "euros", "extra": 1}});
    let problem = expect_problem(app.post("/v1/tenants/acme/events", &body).await, 422).await;
    let mut fields = problem_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["payload", "payload/amount_cents", "payload/currency"], "{problem}");
    // The same payload is valid in the version it fits.
    let v2 = json!({"event_type": "invoice.paid", "api_version": "v2", "payload": {"amount": 1, "currency": "eur"}});
    let accepted = expect_status(app.post("/v1/tenants/acme/events", &v2).await, 202).await;
    assert_eq!(accepted["api_version"], "v2");
    let unknown = json!({"event_type": "invoice.paid", "api_version": "v9", "payload": {}});
    let problem = expect_problem(app.post("/v1/tenants/acme/events", &unknown).await, 422).await;
    assert_eq!(problem_fields(&problem), ["api_version"]);
    let explicit_bad = json!({"event_type": "invoice.paid", "payload": {"amount_cents": 1, "currency": "eur"},
                              "payloads": {"v1": {"amount": "one"}}});
    let problem = expect_problem(app.post("/v1/tenants/acme/events", &explicit_bad).await, 422).await;
    assert_eq!(problem_fields(&problem), ["payloads.v1/amount"]);
}

async fn put(app: &TestApp, version: &str, body: Value) -> reqwest::Response {
    let path = format!("/v1/event-types/invoice.paid/versions/{version}");
    app.request(reqwest::Method::PUT, &path, &app.admin_token, Some(&body)).await
}

async fn invalid_schemas_patches_and_versions_are_refused(app: TestApp) {
    three_versions(&app).await;
    let problem = expect_problem(put(&app, "v2", json!({"schema": {"type": "nonsense"}})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["schema"]);
    let problem =
        expect_problem(put(&app, "v2", json!({"downgrade": [{"op": "explode", "path": "/x"}]})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["downgrade"]);
    let problem =
        expect_problem(put(&app, "v1", json!({"downgrade": [{"op": "remove", "path": "/x"}]})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["downgrade"], "the oldest version has nothing below it");
    expect_problem(put(&app, "v9", json!({})).await, 404).await;
    let problem = expect_problem(app.post("/v1/api-versions", &json!({"name": "v2"})).await, 409).await;
    assert_eq!(problem_fields(&problem), ["name"]);
    let problem = expect_problem(app.post("/v1/api-versions", &json!({"name": "bad name"})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["name"]);
    let problem = expect_problem(
        app.post("/v1/tenants/acme/endpoints", &json!({"url": "https://example.com/", "api_version": "v9"})).await,
        422,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["api_version"]);
    let listed = expect_status(app.get("/v1/event-types/invoice.paid/versions").await, 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3, "refused definitions changed nothing");
    assert_eq!(listed["data"][1]["downgrade"], json!([{"op": "remove", "path": "/currency"}]));
}

async fn a_pinned_version_cannot_be_removed(app: TestApp) {
    three_versions(&app).await;
    let endpoint = app.create_endpoint("acme", &json!({"url": "https://example.com/", "api_version": "v2"})).await;
    expect_problem(app.delete("/v1/api-versions/v2").await, 409).await;
    expect_problem(app.delete("/v1/api-versions/v9").await, 404).await;
    // Upgrading is an explicit update; then the old version can go.
    let path = format!("/v1/tenants/acme/endpoints/{}", endpoint["id"].as_str().unwrap());
    let upgraded = expect_status(app.patch(&path, &json!({"api_version": "v3"})).await, 200).await;
    assert_eq!(upgraded["api_version"], "v3");
    expect_status(app.delete("/v1/api-versions/v2").await, 204).await;
    let versions = expect_status(app.get("/v1/api-versions").await, 200).await;
    let names: Vec<&str> = versions["data"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["v1", "v3"]);
}

async fn explicit_payloads_win_and_an_impossible_version_is_not_retried(app: TestApp) {
    let receiver = Receiver::start().await;
    three_versions(&app).await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/v1"), "api_version": "v1"})).await;
    let explicit = json!({"event_type": "invoice.paid", "payload": {"amount_cents": 5, "currency": "eur"},
                          "payloads": {"v1": {"amount": 99}}});
    expect_status(app.post("/v1/tenants/acme/events", &explicit).await, 202).await;
    let requests = receiver.wait_for(Some("/v1"), 1, Duration::from_secs(10)).await;
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["data"], json!({"amount": 99}), "the explicit payload wins over the transform");

    // An endpoint pinned to v3 cannot receive an event written in v2 (no upgrade transforms).
    let v3 = app.create_endpoint("acme", &json!({"url": receiver.url("/v3"), "api_version": "v3"})).await;
    let old = json!({"event_type": "invoice.paid", "api_version": "v2", "payload": {"amount": 1, "currency": "eur"}});
    let event = expect_status(app.post("/v1/tenants/acme/events", &old).await, 202).await;
    let deliveries = app.event_deliveries(event["id"].as_str().unwrap()).await;
    let delivery = deliveries.iter().find(|d| d["endpoint_id"] == v3["id"]).unwrap();
    let id = delivery["id"].as_str().unwrap();
    let done = app.wait_for_delivery(id, |d| d["status"] == "exhausted").await;
    assert_eq!(done["attempt_count"], 1, "not retried");
    let attempts = app.delivery_attempts(id).await;
    assert_eq!(attempts[0]["error_kind"], "version_unavailable");
    assert!(receiver.requests_to("/v3").is_empty());
}

#[tokio::test]
async fn an_event_is_rendered_once_per_version_however_many_endpoints_share_it() {
    use outhook::delivery::render::Renderer;
    use outhook::domain::versions::ApiVersionName;

    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(Backend::Sqlite, dir.path()).await.unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, settings.clone(), Arc::new(dir)).await;
    three_versions(&app).await;
    let event = app.post_event(json!({"amount_cents": 1, "currency": "eur"})).await;
    let store = outhook::startup::open_store(&settings, outhook::store::MigrationMode::Verify).await.unwrap();
    let tenant = store.find_tenant("acme").await.unwrap().unwrap();
    let event_id = outhook::domain::ids::EventId::parse(event["id"].as_str().unwrap()).unwrap();
    let stored = store.find_event(&tenant.id, &event_id).await.unwrap().unwrap();
    let renderer = Renderer::new(store);
    let v1 = ApiVersionName::parse("v1").unwrap();
    let renders = futures_util::future::join_all((0..10).map(|_| renderer.render(&stored, Some(&v1)))).await;
    for rendered in renders {
        assert_eq!(rendered.unwrap().unwrap().data, r#"{"amount":1}"#);
    }
    assert_eq!(renderer.renders(), 1, "ten endpoints on v1, one rendering");
    renderer.render(&stored, Some(&ApiVersionName::parse("v2").unwrap())).await.unwrap().unwrap();
    assert_eq!(renderer.renders(), 2);
}
