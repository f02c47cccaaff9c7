//! Authentication and tenant isolation: no token, bad tokens, and tenant tokens reaching for
//! what is not theirs.

use reqwest::Method;
use serde_json::json;

use crate::common::{TestApp, expect_problem, expect_status};

conformance!(
    requests_without_a_valid_token_are_401,
    a_tenant_token_sees_only_its_own_tenant,
    a_tenant_token_cannot_use_admin_operations,
);

async fn requests_without_a_valid_token_are_401(app: TestApp) {
    for token in ["", "oht_not-a-real-token", "garbage"] {
        let response = app.request(Method::GET, "/v1/tenants", token, None).await;
        assert_eq!(response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
        let problem = expect_problem(response, 401).await;
        assert_eq!(problem["type"], "urn:outhook:problem:unauthorized");
    }
    let response = app
        .client
        .get(format!("{}/v1/tenants", app.address))
        .header("authorization", format!("Basic {}", app.admin_token))
        .send()
        .await
        .unwrap();
    expect_problem(response, 401).await;
    // Nothing was created by an unauthenticated write.
    expect_problem(app.request(Method::POST, "/v1/tenants", "", Some(&json!({"uid": "sneaky"}))).await, 401).await;
    expect_problem(app.get("/v1/tenants/sneaky").await, 404).await;
}

async fn a_tenant_token_sees_only_its_own_tenant(app: TestApp) {
    let mine = app.create_tenant("mine").await;
    let theirs = app.create_tenant("theirs").await;
    let their_endpoint = app.create_endpoint("theirs", &json!({"url": "https://example.com/theirs"})).await;
    let token = app.create_tenant_token("mine").await;

    let own = expect_status(app.request(Method::GET, "/v1/tenants/mine", &token, None).await, 200).await;
    assert_eq!(own["id"], mine["id"]);
    let created = app
        .request(Method::POST, "/v1/tenants/mine/endpoints", &token, Some(&json!({"url": "https://example.com/mine"})))
        .await;
    expect_status(created, 201).await;

    let their_id = theirs["id"].as_str().unwrap();
    let their_endpoint_id = their_endpoint["id"].as_str().unwrap();
    for path in [
        "/v1/tenants/theirs".to_owned(),
        format!("/v1/tenants/{their_id}"),
        "/v1/tenants/theirs/endpoints".to_owned(),
        format!("/v1/tenants/theirs/endpoints/{their_endpoint_id}"),
        format!("/v1/tenants/theirs/endpoints/{their_endpoint_id}/secret"),
        // Their endpoint addressed through my tenant is not found either.
        format!("/v1/tenants/mine/endpoints/{their_endpoint_id}"),
    ] {
        let problem = expect_problem(app.request(Method::GET, &path, &token, None).await, 404).await;
        assert_eq!(problem["type"], "urn:outhook:problem:not-found", "{path}");
    }
    let write = app
        .request(Method::POST, "/v1/tenants/theirs/endpoints", &token, Some(&json!({"url": "https://example.com/x"})))
        .await;
    expect_problem(write, 404).await;
    expect_problem(
        app.request(Method::DELETE, &format!("/v1/tenants/theirs/endpoints/{their_endpoint_id}"), &token, None).await,
        404,
    )
    .await;
    expect_status(app.get(&format!("/v1/tenants/theirs/endpoints/{their_endpoint_id}")).await, 200).await;

    let listed = expect_status(app.request(Method::GET, "/v1/tenants", &token, None).await, 200).await;
    let uids: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|t| t["uid"].as_str().unwrap()).collect();
    assert_eq!(uids, ["mine"]);
}

async fn a_tenant_token_cannot_use_admin_operations(app: TestApp) {
    app.create_tenant("mine").await;
    let token = app.create_tenant_token("mine").await;
    let forbidden = [
        (Method::POST, "/v1/tenants", Some(json!({"uid": "new"}))),
        (Method::PATCH, "/v1/tenants/mine", Some(json!({"name": "x"}))),
        (Method::DELETE, "/v1/tenants/mine", None),
        (Method::POST, "/v1/event-types", Some(json!({"name": "a.b"}))),
        (Method::POST, "/v1/tokens", Some(json!({"name": "escalate"}))),
        (Method::GET, "/v1/tokens", None),
    ];
    for (method, path, body) in forbidden {
        let problem = expect_problem(app.request(method.clone(), path, &token, body.as_ref()).await, 403).await;
        assert_eq!(problem["type"], "urn:outhook:problem:forbidden", "{method} {path}");
    }
    expect_status(app.get("/v1/tenants/mine").await, 200).await;
    // Reading event types is allowed: a tenant needs them to configure its endpoints.
    expect_status(app.request(Method::GET, "/v1/event-types", &token, None).await, 200).await;
}
