//! Endpoints: creation with generated or supplied secrets, filters, headers, updates, deletion,
//! and the validation of every field.

use serde_json::json;

use crate::common::{TestApp, expect_problem, expect_status, problem_fields};

conformance!(
    an_endpoint_gets_a_generated_whsec_secret,
    a_supplied_secret_is_kept_and_a_bad_one_refused,
    endpoints_can_be_updated_listed_and_deleted,
    invalid_urls_are_422_naming_url,
    reserved_headers_are_422_naming_the_header,
    event_type_filters_must_name_existing_types,
    unknown_endpoints_are_404,
);

async fn an_endpoint_gets_a_generated_whsec_secret(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let endpoint = app
        .create_endpoint(
            "acme",
            &json!({
                "url": "https://hooks.example.com/outhook",
                "description": "billing",
                "event_types": ["invoice.paid"],
                "channels": ["eu"],
                "headers": {"X-Api-Key": "k"}
            }),
        )
        .await;
    let id = endpoint["id"].as_str().unwrap();
    assert!(id.starts_with("ep_"));
    assert_eq!(endpoint["url"], "https://hooks.example.com/outhook");
    assert_eq!(endpoint["event_types"], json!(["invoice.paid"]));
    assert_eq!(endpoint["channels"], json!(["eu"]));
    assert_eq!(endpoint["headers"], json!({"x-api-key": "k"}));
    assert_eq!(endpoint["enabled"], true);
    assert!(endpoint.get("secret").is_none(), "secrets are only served by the secret operation");

    let secret = expect_status(app.get(&format!("/v1/tenants/acme/endpoints/{id}/secret")).await, 200).await;
    let key = secret["key"].as_str().unwrap();
    let encoded = key.strip_prefix("whsec_").expect("whsec_ prefix");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
    assert_eq!(bytes.len(), 24);
}

async fn a_supplied_secret_is_kept_and_a_bad_one_refused(app: TestApp) {
    app.create_tenant("acme").await;
    let supplied = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let endpoint = app.create_endpoint("acme", &json!({"url": "https://example.com/a", "secret": supplied})).await;
    let secret = expect_status(
        app.get(&format!("/v1/tenants/acme/endpoints/{}/secret", endpoint["id"].as_str().unwrap())).await,
        200,
    )
    .await;
    assert_eq!(secret["key"], supplied);
    for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_***", "whsec_c2hvcnQ="] {
        let problem = expect_problem(
            app.post("/v1/tenants/acme/endpoints", &json!({"url": "https://example.com/a", "secret": bad})).await,
            422,
        )
        .await;
        assert_eq!(problem_fields(&problem), ["secret"], "{bad}");
    }
}

async fn endpoints_can_be_updated_listed_and_deleted(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_event_type("a.b").await;
    let first = app.create_endpoint("acme", &json!({"url": "https://example.com/1", "event_types": ["a.b"]})).await;
    let second = app.create_endpoint("acme", &json!({"url": "https://example.com/2"})).await;
    let id = first["id"].as_str().unwrap();
    let path = format!("/v1/tenants/acme/endpoints/{id}");

    let updated = expect_status(
        app.patch(&path, &json!({"url": "https://example.com/new", "event_types": null, "enabled": false})).await,
        200,
    )
    .await;
    assert_eq!(updated["url"], "https://example.com/new");
    assert!(updated["event_types"].is_null());
    assert_eq!(updated["enabled"], false);
    assert!(updated["disabled_reason"].is_string());
    let reenabled = expect_status(app.patch(&path, &json!({"enabled": true})).await, 200).await;
    assert!(reenabled["disabled_reason"].is_null());
    assert_eq!(reenabled["url"], "https://example.com/new", "absent fields are unchanged");

    let page = expect_status(app.get("/v1/tenants/acme/endpoints?limit=1").await, 200).await;
    assert_eq!(page["data"][0]["id"], second["id"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = expect_status(app.get(&format!("/v1/tenants/acme/endpoints?limit=1&cursor={cursor}")).await, 200).await;
    assert_eq!(next["data"][0]["id"], first["id"]);

    expect_status(app.delete(&path).await, 204).await;
    expect_problem(app.get(&path).await, 404).await;
    let page = expect_status(app.get("/v1/tenants/acme/endpoints").await, 200).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
}

async fn invalid_urls_are_422_naming_url(app: TestApp) {
    app.create_tenant("acme").await;
    let too_long = format!("https://example.com/{}", "a".repeat(2048));
    for url in ["ftp://example.com/", "https://user:pw@example.com/", "not a url", "/relative", too_long.as_str()] {
        let problem = expect_problem(app.post("/v1/tenants/acme/endpoints", &json!({"url": url})).await, 422).await;
        assert_eq!(problem_fields(&problem), ["url"], "{url}");
    }
    let endpoint = app.create_endpoint("acme", &json!({"url": "https://example.com/ok"})).await;
    let path = format!("/v1/tenants/acme/endpoints/{}", endpoint["id"].as_str().unwrap());
    let problem = expect_problem(app.patch(&path, &json!({"url": "gopher://x"})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["url"]);
    let unchanged = expect_status(app.get(&path).await, 200).await;
    assert_eq!(unchanged["url"], "https://example.com/ok", "a refused update changes nothing");
}

async fn reserved_headers_are_422_naming_the_header(app: TestApp) {
    app.create_tenant("acme").await;
    for name in ["Host", "content-length", "Webhook-Signature", "webhook-id"] {
        let body = json!({"url": "https://example.com/", "headers": {name: "x"}});
        let problem = expect_problem(app.post("/v1/tenants/acme/endpoints", &body).await, 422).await;
        assert_eq!(problem_fields(&problem), [format!("headers.{name}")]);
    }
    let body = json!({"url": "https://example.com/", "headers": {"X-Ok": "fine", "X-Bad": "a\nb"}});
    let problem = expect_problem(app.post("/v1/tenants/acme/endpoints", &body).await, 422).await;
    assert_eq!(problem_fields(&problem), ["headers.X-Bad"]);
    let page = expect_status(app.get("/v1/tenants/acme/endpoints").await, 200).await;
    assert!(page["data"].as_array().unwrap().is_empty(), "nothing was stored");
}

async fn event_type_filters_must_name_existing_types(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let body = json!({"url": "https://example.com/", "event_types": ["invoice.paid", "invoice.typo"], "channels": ["ok", "bad channel"]});
    let problem = expect_problem(app.post("/v1/tenants/acme/endpoints", &body).await, 422).await;
    let mut fields = problem_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["channels[1]", "event_types[1]"]);
    let problem = expect_problem(
        app.post("/v1/tenants/acme/endpoints", &json!({"url": "https://example.com/", "event_types": []})).await,
        422,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["event_types"]);
    let problem = expect_problem(
        app.post("/v1/tenants/acme/endpoints", &json!({"url": "https://example.com/", "event_types": "invoice.paid"}))
            .await,
        422,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["event_types"]);
}

async fn unknown_endpoints_are_404(app: TestApp) {
    app.create_tenant("acme").await;
    expect_problem(app.get("/v1/tenants/acme/endpoints/ep_01ARZ3NDEKTSV4RRFFQ69G5FAV").await, 404).await;
    expect_problem(app.get("/v1/tenants/acme/endpoints/nonsense").await, 404).await;
    expect_problem(app.get("/v1/tenants/acme/endpoints/ep_01ARZ3NDEKTSV4RRFFQ69G5FAV/secret").await, 404).await;
    expect_problem(app.delete("/v1/tenants/acme/endpoints/ep_01ARZ3NDEKTSV4RRFFQ69G5FAV").await, 404).await;
    expect_problem(app.post("/v1/tenants/nobody/endpoints", &json!({"url": "https://example.com/"})).await, 404).await;
}
