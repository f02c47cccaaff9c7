//! The web console: served by Outhook with strict security headers, and driven in headless
//! Chromium against the real server and the loopback receiver on both backends: redelivering a
//! failed delivery, endpoint health (an open circuit, a disabled reason), the live deliveries list
//! and the events list, a portal link that sees one tenant only, and untrusted bodies that stay text.
//!
//! `OUTHOOK_TEST_SCREENSHOTS=docs/images cargo test --test api console::` refreshes the README's
//! screenshots.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::browser::{Browser, PATIENCE};
use crate::common::receiver::{Behaviour, Receiver};
use crate::common::{Backend, TestApp, expect_problem, expect_status};

conformance!(
    a_failed_delivery_is_redelivered_from_the_console,
    endpoints_are_created_edited_disabled_rotated_and_recovered_from_the_console,
    a_portal_link_signs_in_to_its_tenant_and_no_other,
    untrusted_response_bodies_and_payloads_render_inert,
    a_new_event_appears_in_the_live_deliveries_list_and_the_events_list_opens_its_payload,
);

conformance_per_backend!(endpoints_show_an_open_circuit_and_why_they_are_disabled);

const XSS: &str = r#"<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">"#;

/// The delivery of `event` to `endpoint`.
async fn delivery_to(app: &TestApp, event: &Value, endpoint: &Value) -> String {
    let deliveries = app.event_deliveries(event["id"].as_str().unwrap()).await;
    let delivery = deliveries.iter().find(|d| d["endpoint_id"] == endpoint["id"]).expect("a delivery to the endpoint");
    delivery["id"].as_str().unwrap().to_owned()
}

async fn settled(app: &TestApp, delivery_id: &str, status: &str) {
    app.wait_for_delivery(delivery_id, |d| d["status"] == status).await;
}

async fn a_failed_delivery_is_redelivered_from_the_console(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.push_behaviours(
        "/crm",
        [Behaviour::RespondWith {
            status: 500,
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"error": "database unavailable, try again later"}"#.into(),
        }],
    );
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    app.create_event_type("invoice.paid").await;
    let billing =
        app.create_endpoint("acme", &json!({"url": receiver.url("/billing"), "description": "Billing service"})).await;
    // One attempt only, so the failure is final (exhausted) until someone presses Redeliver.
    let crm = app
        .create_endpoint(
            "acme",
            &json!({"url": receiver.url("/crm"), "description": "CRM sync", "retry_schedule": [0]}),
        )
        .await;
    let failing = app.post_event(json!({"invoice": "in_1001", "amount": 4200, "currency": "eur"})).await;
    let failed_id = delivery_to(&app, &failing, &crm).await;
    settled(&app, &failed_id, "exhausted").await;
    for invoice in ["in_1002", "in_1003"] {
        let event = app.post_event(json!({"invoice": invoice, "amount": 1900, "currency": "eur"})).await;
        settled(&app, &delivery_to(&app, &event, &crm).await, "succeeded").await;
        settled(&app, &delivery_to(&app, &event, &billing).await, "succeeded").await;
    }
    settled(&app, &delivery_to(&app, &failing, &billing).await, "succeeded").await;

    let Some(browser) = Browser::open(&app).await else { return };
    browser.sign_in(&app.admin_token).await;
    browser.wait_for_text("main table", "Tenant globex").await;
    browser.screenshot("tenants").await;

    // The tenant's endpoints with their health.
    browser.click_link("Tenant acme").await;
    browser.wait_for_text("main table", "CRM sync").await;
    browser.wait_for_text("main table", "66.7 %").await;
    browser.screenshot("endpoints").await;
    browser.click_link(&receiver.url("/crm")).await;
    browser.wait_for_text(".panel", "Health (last 24 hours)").await;
    browser.screenshot("endpoint").await;

    // The deliveries, then only the exhausted ones: the failed delivery is there.
    browser.click_link("Deliveries").await;
    browser.wait_for_text("main table", &failed_id).await;
    browser.screenshot("deliveries").await;
    browser.click_link("Exhausted").await;
    browser.wait_for_text("nav.segmented [aria-current=page]", "Exhausted").await;
    browser.wait_for_text("main table", &failed_id).await;

    // Its attempt: the 500, the error kind and what the subscriber answered.
    browser.click_link(&failed_id).await;
    let first_text = browser.text_of("article.attempt[data-attempt='1']", "HTTP 500").await;
    assert!(first_text.contains("http_status"), "{first_text}");
    assert!(first_text.contains("database unavailable, try again later"), "{first_text}");
    browser.wait_for_text(".delivery-status", "exhausted").await;

    // Redeliver: a new, manual, successful attempt appears on its own.
    browser.click_button("Redeliver").await;
    let second_text = browser.text_of("article.attempt[data-attempt='2']", "HTTP 200").await;
    assert!(second_text.contains("manual"), "{second_text}");
    browser.wait_for_text(".delivery-status", "succeeded").await;
    browser.screenshot("delivery").await;
    browser.close().await;

    let attempts = app.delivery_attempts(&failed_id).await;
    let triggers: Vec<&str> = attempts.iter().map(|a| a["trigger"].as_str().unwrap()).collect();
    assert_eq!(triggers, ["scheduled", "manual"]);
    assert_eq!(receiver.wait_for(Some("/crm"), 4, PATIENCE).await.len(), 4, "three events and one redelivery");
}

async fn endpoints_are_created_edited_disabled_rotated_and_recovered_from_the_console(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/orders", Behaviour::Respond(503));
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let Some(browser) = Browser::open(&app).await else { return };
    browser.sign_in(&app.admin_token).await;
    browser.visit("/console#/tenants/acme/endpoints").await;
    browser.click_link("New endpoint").await;

    // A refused field is named next to its input; a valid form creates the endpoint.
    browser.fill("#endpoint-url", "ftp://orders.example.com").await;
    browser.click_button("Create endpoint").await;
    browser.wait_for_text("#endpoint-url-error", "http or https").await;
    browser.fill("#endpoint-url", &receiver.url("/orders")).await;
    browser.fill("#endpoint-description", "Orders").await;
    browser.fill("#endpoint-event-types", "invoice.paid").await;
    browser.click_button("Create endpoint").await;
    browser.wait_for_text(".detail-head h2", &receiver.url("/orders")).await;
    let listed = expect_status(app.get("/v1/tenants/acme/endpoints").await, 200).await;
    let endpoint = listed["data"][0].clone();
    assert_eq!(endpoint["event_types"], json!(["invoice.paid"]));
    let path = format!("/v1/tenants/acme/endpoints/{}", endpoint["id"].as_str().unwrap());

    browser.fill("#endpoint-description", "Orders, v2").await;
    browser.click_button("Save changes").await;
    browser.wait_for_text("#flash", "Endpoint saved").await;
    assert_eq!(expect_status(app.get(&path).await, 200).await["description"], "Orders, v2");

    let secret = app.endpoint_secret(&endpoint).await;
    browser.click_button("Rotate secret").await;
    browser.accept_dialog().await;
    browser.wait_for_text(".secret-output", "whsec_").await;
    let rotated = expect_status(app.get(&format!("{path}/secret")).await, 200).await;
    assert_ne!(rotated["key"], secret);
    assert_eq!(rotated["previous"][0]["key"], secret.as_str());

    browser.click_button("Disable endpoint").await;
    browser.accept_dialog().await;
    browser.wait_for_text(".button-row", "Enable endpoint").await;
    let state = browser.text_of(".card", "STATE").await;
    assert!(state.contains("disabled by API"), "the reason shows: {state}");
    assert_eq!(expect_status(app.get(&path).await, 200).await["enabled"], false);
    browser.click_button("Enable endpoint").await;
    browser.wait_for_text(".button-row", "Disable endpoint").await;
    assert_eq!(expect_status(app.get(&path).await, 200).await["enabled"], true);

    // The subscriber was down; once it is back, "Recover failed since…" sends the failure again
    // (its next scheduled attempt is an hour away). Recoveries cover deliveries created until
    // now, so the frozen test clock moves past the delivery's creation first.
    expect_status(app.patch(&path, &json!({"retry_schedule": [0, 3600]})).await, 200).await;
    let event = app.post_event(json!({"order": 7})).await;
    let delivery_id = delivery_to(&app, &event, &endpoint).await;
    settled(&app, &delivery_id, "failed").await;
    receiver.set_behaviour("/orders", Behaviour::Respond(200));
    app.clock.advance(chrono::Duration::minutes(1));
    browser.click_button("Recover failed deliveries").await;
    browser.wait_for_text("#flash", "Recovering 1 deliveries").await;
    settled(&app, &delivery_id, "succeeded").await;
    let triggers: Vec<String> =
        app.delivery_attempts(&delivery_id).await.iter().map(|a| a["trigger"].as_str().unwrap().to_owned()).collect();
    assert_eq!(triggers, ["scheduled", "recovery"]);
    browser.close().await;
}

async fn endpoints_show_an_open_circuit_and_why_they_are_disabled(backend: Backend) {
    // One failure opens the circuit, for a minute of the frozen test clock.
    let Some(app) = TestApp::spawn_configured(backend, |settings| {
        settings.delivery.circuit_failure_threshold = 1;
        settings.delivery.circuit_cooldown_seconds = 60;
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/crm", Behaviour::Respond(500));
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let crm = app
        .create_endpoint(
            "acme",
            &json!({"url": receiver.url("/crm"), "description": "CRM sync", "retry_schedule": [0]}),
        )
        .await;
    let billing =
        app.create_endpoint("acme", &json!({"url": receiver.url("/billing"), "description": "Billing"})).await;
    let billing_path = format!("/v1/tenants/acme/endpoints/{}", billing["id"].as_str().unwrap());
    let disabled = expect_status(app.patch(&billing_path, &json!({"enabled": false})).await, 200).await;
    assert_eq!(disabled["disabled_reason"], "disabled by API");
    let event = app.post_event(json!({"invoice": "in_3001"})).await;
    settled(&app, &delivery_to(&app, &event, &crm).await, "exhausted").await;
    let crm_path = format!("/v1/tenants/acme/endpoints/{}", crm["id"].as_str().unwrap());
    assert_eq!(expect_status(app.get(&crm_path).await, 200).await["circuit_state"], "open");

    let Some(browser) = Browser::open(&app).await else { return };
    browser.sign_in(&app.admin_token).await;
    browser.visit("/console#/tenants/acme/endpoints").await;
    let crm_row = browser.text_of("main tbody tr", "CRM sync").await;
    assert!(crm_row.contains("enabled") && crm_row.contains("open") && !crm_row.contains("closed"), "{crm_row}");
    let billing_row = browser.text_of("main tbody tr", "Billing").await;
    assert!(billing_row.contains("disabled by API") && billing_row.contains("closed"), "{billing_row}");

    browser.click_link(&receiver.url("/crm")).await;
    let circuit = browser.text_of(".card", "CIRCUIT").await;
    assert!(circuit.contains("open") && circuit.contains("next probe"), "{circuit}");
    assert!(browser.text_of(".card", "STATE").await.contains("enabled"));
    browser.click_link("Endpoints").await;
    browser.click_link(&receiver.url("/billing")).await;
    let state = browser.text_of(".card", "STATE").await;
    assert!(state.contains("disabled") && state.contains("disabled by API"), "{state}");
    assert!(browser.text_of(".card", "CIRCUIT").await.contains("closed"));
    browser.close().await;
}

async fn a_new_event_appears_in_the_live_deliveries_list_and_the_events_list_opens_its_payload(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/ledger", Behaviour::Respond(500));
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    app.create_event_type("invoice.voided").await;
    let billing = app.create_endpoint("acme", &json!({"url": receiver.url("/billing")})).await;
    let ledger = app
        .create_endpoint(
            "acme",
            &json!({"url": receiver.url("/ledger"), "event_types": ["invoice.voided"], "retry_schedule": [0]}),
        )
        .await;
    let paid = app.post_event(json!({"invoice": "in_4001", "amount": 4200, "currency": "eur"})).await;
    let paid_delivery = delivery_to(&app, &paid, &billing).await;
    settled(&app, &paid_delivery, "succeeded").await;
    let voided = expect_status(
        app.post(
            "/v1/tenants/acme/events",
            &json!({"event_type": "invoice.voided", "payload": {"invoice": "in_4002", "reason": "duplicate"}}),
        )
        .await,
        202,
    )
    .await;
    settled(&app, &delivery_to(&app, &voided, &billing).await, "succeeded").await;
    let voided_to_ledger = delivery_to(&app, &voided, &ledger).await;
    settled(&app, &voided_to_ledger, "exhausted").await;

    let Some(browser) = Browser::open(&app).await else { return };
    browser.sign_in(&app.admin_token).await;
    browser.visit("/console#/tenants/acme/deliveries").await;
    browser.wait_for_text("main table", &paid_delivery).await;
    assert_eq!(browser.script("return document.querySelector('#live-refresh').checked").await, true);

    // A new event's delivery shows up on its own (the list polls every 3 s), without a reload.
    browser.script("window.__not_reloaded = true; return null").await;
    let later = app.post_event(json!({"invoice": "in_4003", "amount": 990, "currency": "eur"})).await;
    let later_delivery = delivery_to(&app, &later, &billing).await;
    browser.wait_for_text("main table", &later_delivery).await;
    assert_eq!(browser.script("return window.__not_reloaded === true").await, true, "the page was not reloaded");
    settled(&app, &later_delivery, "succeeded").await;

    // The events list: every event, newest first, with its type and how its deliveries went.
    browser.click_link("Events").await;
    let ids = [&later, &voided, &paid].map(|event| event["id"].as_str().unwrap().to_owned());
    browser.wait_for_text("main table", &ids[0]).await;
    let rows = browser.script("return [...document.querySelectorAll('main tbody tr')].map(r => r.innerText)").await;
    let rows: Vec<&str> = rows.as_array().unwrap().iter().map(|row| row.as_str().unwrap()).collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (row, id) in rows.iter().zip(&ids) {
        assert!(row.contains(id.as_str()), "newest first: {rows:?}");
    }
    assert!(rows[1].contains("invoice.voided") && rows[1].contains("1 succeeded") && rows[1].contains("1 exhausted"));
    assert!(rows[2].contains("invoice.paid") && rows[2].contains("1 succeeded") && !rows[2].contains("exhausted"));
    browser.screenshot("events").await;

    // One event: its payload, and its deliveries leading on to each delivery.
    browser.click_link(&ids[1]).await;
    let payload = browser.text_of(".payload", "in_4002").await;
    assert!(payload.contains(r#""reason": "duplicate""#), "{payload}");
    browser.wait_for_text(".panel", &voided_to_ledger).await;
    browser.click_link(&voided_to_ledger).await;
    browser.wait_for_text(".delivery-status", "exhausted").await;
    browser.close().await;
}

async fn a_portal_link_signs_in_to_its_tenant_and_no_other(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    app.create_endpoint("acme", &json!({"url": "https://acme.example.com/hooks"})).await;
    let theirs = app.create_endpoint("globex", &json!({"url": "https://globex.example.com/hooks"})).await;
    let link = app.create_portal_link("acme", &json!({})).await;
    let url = link["url"].as_str().unwrap();
    let path = url.strip_prefix(&app.address).expect("the link points at this server");

    let Some(browser) = Browser::open(&app).await else { return };
    browser.visit(path).await;
    browser.wait_for_text("#identity", "Tenant acme").await;
    browser.wait_for_text("main h1", "Tenant acme").await;
    browser.wait_for_text("main table", "https://acme.example.com/hooks").await;
    assert!(!browser.url().await.contains("token"), "the token leaves the address bar at once");
    browser.screenshot("portal").await;
    let stored = browser.script("return sessionStorage.getItem('outhook.console.token')").await;
    assert_eq!(stored, link["token"]);
    let tenant_list_links = browser
        .script("return [...document.querySelectorAll('a')].filter(a => a.textContent === 'Tenants').length")
        .await;
    assert_eq!(tenant_list_links, 0, "a tenant is not offered the tenant list");

    // The tenant list is its own tenant; another tenant, by uid, id or one of its endpoints, is not found.
    browser.visit("/console#/tenants").await;
    browser.wait_for_text("main h1", "Tenant acme").await;
    let their_endpoint = theirs["id"].as_str().unwrap();
    let their_tenant = theirs["tenant_id"].as_str().unwrap();
    for route in [
        "#/tenants/globex/endpoints".to_owned(),
        format!("#/tenants/{their_tenant}/deliveries"),
        format!("#/tenants/globex/endpoints/{their_endpoint}"),
        format!("#/tenants/acme/endpoints/{their_endpoint}"),
    ] {
        browser.visit(&format!("/console{route}")).await;
        browser.wait_for_text("main h1", "Not found").await;
        browser.wait_for_text("main", "this token cannot see it").await;
        let text = browser.main_text().await;
        assert!(!text.contains("globex.example.com") && !text.contains("Tenant globex"), "{route}: {text}");
    }

    // Once the link expires, the console refuses it and asks for a token.
    app.clock.advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    browser.visit("/console#/tenants/acme/endpoints").await;
    browser.wait_for_text("#flash", "expired").await;
    browser.find("form.signin input#token").await;
    browser.close().await;
}

async fn untrusted_response_bodies_and_payloads_render_inert(app: TestApp) {
    let receiver = Receiver::start().await;
    let headers = vec![("content-type".into(), "text/html".into())];
    receiver.set_behaviour("/hook", Behaviour::RespondWith { status: 500, headers, body: XSS.into() });
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let endpoint = app.create_endpoint("acme", &json!({"url": receiver.url("/hook"), "retry_schedule": [0]})).await;
    let event = app.post_event(json!({"note": XSS, "customer": "<b onmouseover=alert(1)>Eve</b>"})).await;
    let delivery_id = delivery_to(&app, &event, &endpoint).await;
    settled(&app, &delivery_id, "exhausted").await;

    let Some(browser) = Browser::open(&app).await else { return };
    browser.sign_in(&app.admin_token).await;
    let inert = r#"return {
        pwned: typeof window.__pwned,
        images: document.images.length,
        scripts: [...document.scripts].map(s => s.getAttribute('src')),
        bold: document.querySelectorAll('main b').length,
    }"#;
    let expected = json!({"pwned": "undefined", "images": 0, "scripts": ["console/app.js"], "bold": 0});

    browser.visit(&format!("/console#/tenants/acme/deliveries/{delivery_id}")).await;
    let body = browser.text_of(".response-body", "<script>window.__pwned=1</script>").await;
    assert_eq!(body, XSS, "the body is shown verbatim, as text");
    let payload = browser.text_of(".payload", "onerror").await;
    assert!(payload.contains(r#"<img src=x onerror=\"window.__pwned=1\">"#), "{payload}");
    assert!(payload.contains("<b onmouseover=alert(1)>Eve</b>"), "{payload}");
    let only_text =
        browser.script("return [...document.querySelectorAll('pre')].every(p => p.children.length === 0)").await;
    assert_eq!(only_text, true);
    assert_eq!(browser.script(inert).await, expected);

    browser.visit(&format!("/console#/tenants/acme/events/{}", event["id"].as_str().unwrap())).await;
    browser.wait_for_text(".payload", "<script>window.__pwned=1</script>").await;
    assert_eq!(browser.script(inert).await, expected);
    browser.close().await;
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_content_security_policy() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite is always available");
    let page = app.request(Method::GET, "/console", "", None).await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    let policy = header("content-security-policy");
    for directive in
        ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"]
    {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("cache-control"), "no-cache");
    assert!(page.text().await.unwrap().contains(r#"<script type="module" src="console/app.js">"#));

    // Every file of console/ is served, with its type and a validator browsers can revalidate with.
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/console");
    for entry in std::fs::read_dir(directory).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "index.html" {
            continue;
        }
        let response = app.request(Method::GET, &format!("/console/{name}"), "", None).await;
        assert_eq!(response.status(), 200, "{name} is embedded and served");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = match name.rsplit_once('.').map(|(_, extension)| extension) {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("an unexpected kind of console file: {other:?}"),
        };
        assert_eq!(content_type, expected, "{name}");
        assert!(response.headers().contains_key("content-security-policy"));
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let again = app.client.get(format!("{}/console/{name}", app.address)).header("if-none-match", &etag).send();
        assert_eq!(again.await.unwrap().status(), 304, "{name}");
    }
    let slash = app.request(Method::GET, "/console/", "", None).await;
    assert_eq!(slash.status(), 308);
    assert_eq!(slash.headers()["location"], "../console");
    expect_problem(app.request(Method::GET, "/console/secrets.txt", "", None).await, 404).await;
    // The API the console uses is the ordinary one: no cookie, just the bearer token.
    expect_status(app.request(Method::GET, "/v1/whoami", &app.admin_token, None).await, 200).await;
}

#[test]
fn the_console_never_turns_strings_into_html() {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/console");
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "js") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for sink in
            ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"]
        {
            assert!(!source.contains(sink), "{} uses `{sink}`", path.display());
        }
    }
}
