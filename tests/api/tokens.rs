//! Tokens: created once in clear, listed without values, revoked, and expiring on the clock.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::common::{TestApp, expect_problem, expect_status, problem_fields};

conformance!(
    tokens_are_listed_without_their_values,
    a_revoked_token_is_refused,
    an_expired_token_is_refused,
    invalid_token_requests_are_422,
);

async fn tokens_are_listed_without_their_values(app: TestApp) {
    assert!(app.admin_token.starts_with("oht_"));
    let created = expect_status(app.post("/v1/tokens", &json!({"name": "ci"})).await, 201).await;
    let value = created["token_value"].as_str().unwrap();
    assert!(created["tenant_id"].is_null());
    // The new admin token works.
    expect_status(app.request(Method::GET, "/v1/tenants", value, None).await, 200).await;
    let listed = expect_status(app.get("/v1/tokens").await, 200).await;
    let tokens = listed["data"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "the initial admin token and the new one");
    let text = listed.to_string();
    assert!(!text.contains(value) && !text.contains(&app.admin_token), "values are never listed");
}

async fn a_revoked_token_is_refused(app: TestApp) {
    let tenant = app.create_tenant("acme").await;
    let token = app.create_tenant_token("acme").await;
    expect_status(app.request(Method::GET, "/v1/tenants/acme", &token, None).await, 200).await;
    let listed = expect_status(app.get("/v1/tokens").await, 200).await;
    let id = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant_id"] == tenant["id"])
        .and_then(|t| t["id"].as_str())
        .unwrap()
        .to_owned();
    expect_status(app.delete(&format!("/v1/tokens/{id}")).await, 204).await;
    expect_problem(app.request(Method::GET, "/v1/tenants/acme", &token, None).await, 401).await;
    expect_problem(app.delete(&format!("/v1/tokens/{id}")).await, 404).await;
}

async fn an_expired_token_is_refused(app: TestApp) {
    let created =
        expect_status(app.post("/v1/tokens", &json!({"name": "short", "expires_in_seconds": 60})).await, 201).await;
    let value = created["token_value"].as_str().unwrap();
    expect_status(app.request(Method::GET, "/v1/tenants", value, None).await, 200).await;
    app.clock.advance(Duration::seconds(61));
    expect_problem(app.request(Method::GET, "/v1/tenants", value, None).await, 401).await;
}

async fn invalid_token_requests_are_422(app: TestApp) {
    let problem = expect_problem(app.post("/v1/tokens", &json!({"tenant": "nobody"})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["tenant"]);
    for seconds in [0, -5, 400 * 24 * 3600] {
        let problem = expect_problem(app.post("/v1/tokens", &json!({"expires_in_seconds": seconds})).await, 422).await;
        assert_eq!(problem_fields(&problem), ["expires_in_seconds"]);
    }
}
