//! Portal links and `whoami`: an admin mints a short-lived console link for one tenant; the token
//! inside sees that tenant only, expires on the clock, and is recorded like any token.

use chrono::{DateTime, Duration, Utc};
use outhook::startup::{Application, Role};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, expect_problem, expect_status, problem_fields, test_settings};

conformance!(
    a_portal_link_carries_a_tenant_token_in_the_console_url_fragment,
    a_portal_link_stops_working_when_it_expires,
    only_admins_mint_portal_links,
    portal_link_lifetimes_outside_a_minute_to_a_day_are_422,
    whoami_tells_an_admin_token_from_a_tenant_token,
);

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|raw| raw.parse().ok()).expect("an RFC 3339 time")
}

async fn a_portal_link_carries_a_tenant_token_in_the_console_url_fragment(app: TestApp) {
    let acme = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let link = app.create_portal_link("acme", &json!({})).await;
    let token = link["token"].as_str().unwrap();
    assert!(token.starts_with("oht_"));
    assert_eq!(link["url"], format!("{}/console#token={token}", app.address), "the token rides in the fragment");
    assert_eq!(link["tenant_id"], acme["id"]);
    assert_eq!(time(&link["expires_at"]), app.clock_now() + Duration::hours(1), "an hour by default");

    // The token sees its tenant, and no other.
    expect_status(app.request(Method::GET, "/v1/tenants/acme/endpoints", token, None).await, 200).await;
    expect_problem(app.request(Method::GET, "/v1/tenants/globex", token, None).await, 404).await;

    // It is an ordinary token: listed (without its value), revocable, and its creation is audited.
    let tokens = expect_status(app.get("/v1/tokens").await, 200).await;
    let listed = tokens["data"].as_array().unwrap().iter().find(|t| t["id"] == link["token_id"]).expect("listed");
    assert_eq!(listed["name"], "portal link");
    assert_eq!(listed["tenant_id"], acme["id"]);
    assert!(!tokens.to_string().contains(token));
    let audit = expect_status(app.get("/v1/tenants/acme/audit-log?action=token.created").await, 200).await;
    assert_eq!(audit["data"][0]["resource_id"], link["token_id"]);
    let token_id = link["token_id"].as_str().unwrap();
    expect_status(app.delete(&format!("/v1/tokens/{token_id}")).await, 204).await;
    expect_problem(app.request(Method::GET, "/v1/tenants/acme", token, None).await, 401).await;
}

async fn a_portal_link_stops_working_when_it_expires(app: TestApp) {
    app.create_tenant("acme").await;
    let link = app.create_portal_link("acme", &json!({"expires_in_seconds": 600})).await;
    assert_eq!(time(&link["expires_at"]), app.clock_now() + Duration::minutes(10));
    let token = link["token"].as_str().unwrap();
    expect_status(app.request(Method::GET, "/v1/whoami", token, None).await, 200).await;
    app.clock.advance(Duration::seconds(601));
    expect_problem(app.request(Method::GET, "/v1/whoami", token, None).await, 401).await;
    expect_problem(app.request(Method::GET, "/v1/tenants/acme", token, None).await, 401).await;
}

async fn only_admins_mint_portal_links(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let token = app.create_tenant_token("acme").await;
    // Its own tenant: forbidden; another tenant: as if it did not exist.
    let own = app.request(Method::POST, "/v1/tenants/acme/portal-links", &token, Some(&json!({}))).await;
    expect_problem(own, 403).await;
    let other = app.request(Method::POST, "/v1/tenants/globex/portal-links", &token, Some(&json!({}))).await;
    expect_problem(other, 404).await;
    expect_problem(app.request(Method::POST, "/v1/tenants/acme/portal-links", "", Some(&json!({}))).await, 401).await;
    expect_problem(app.post("/v1/tenants/nobody/portal-links", &json!({})).await, 404).await;
}

async fn portal_link_lifetimes_outside_a_minute_to_a_day_are_422(app: TestApp) {
    app.create_tenant("acme").await;
    for seconds in [-1, 0, 59, 86_401] {
        let response = app.post("/v1/tenants/acme/portal-links", &json!({"expires_in_seconds": seconds})).await;
        let problem = expect_problem(response, 422).await;
        assert_eq!(problem_fields(&problem), ["expires_in_seconds"], "{seconds}");
    }
    let problem =
        expect_problem(app.post("/v1/tenants/acme/portal-links", &json!({"scope": "admin"})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["scope"]);
    let longest = app.create_portal_link("acme", &json!({"expires_in_seconds": 86_400})).await;
    assert_eq!(time(&longest["expires_at"]), app.clock_now() + Duration::days(1));
}

async fn whoami_tells_an_admin_token_from_a_tenant_token(app: TestApp) {
    let admin = expect_status(app.get("/v1/whoami").await, 200).await;
    assert_eq!(admin["scope"], "admin");
    assert!(admin["token_id"].as_str().unwrap().starts_with("tok_"));
    assert!(admin["tenant_id"].is_null() && admin["tenant"].is_null() && admin["expires_at"].is_null());

    let acme = app.create_tenant("acme").await;
    let link = app.create_portal_link("acme", &json!({})).await;
    let tenant =
        expect_status(app.request(Method::GET, "/v1/whoami", link["token"].as_str().unwrap(), None).await, 200).await;
    assert_eq!(tenant["scope"], "tenant");
    assert_eq!(tenant["token_id"], link["token_id"]);
    assert_eq!(tenant["tenant_id"], acme["id"]);
    assert_eq!(tenant["tenant"]["uid"], "acme");
    assert_eq!(tenant["expires_at"], link["expires_at"]);
    expect_problem(app.request(Method::GET, "/v1/whoami", "oht_nope", None).await, 401).await;
}

#[tokio::test]
async fn a_configured_public_url_is_the_base_of_portal_links() {
    let app = TestApp::spawn_configured(Backend::Sqlite, |settings| {
        settings.server.public_url = "https://hooks.example.com/outhook".into();
    })
    .await
    .expect("SQLite is always available");
    app.create_tenant("acme").await;
    let link = app.create_portal_link("acme", &json!({})).await;
    let token = link["token"].as_str().unwrap();
    assert_eq!(link["url"], format!("https://hooks.example.com/outhook/console#token={token}"));
}

#[tokio::test]
async fn a_public_url_that_is_not_an_http_url_is_refused_at_start_up() {
    for bad in ["hooks.example.com", "ftp://hooks.example.com", "mailto:ops@example.com"] {
        let data_dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(Backend::Sqlite, data_dir.path()).await.expect("SQLite settings");
        settings.server.public_url = bad.into();
        let error = Application::build(settings, Role::Api).await.err().expect("refused");
        assert!(error.to_string().contains("server.public_url"), "{bad}: {error}");
    }
}
