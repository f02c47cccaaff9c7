//! Operating deliveries on both backends: manual retry, the circuit breaker and recovery after an
//! outage (with the operational webhooks announcing it), secret rotation, automatic disabling,
//! retention and the audit log.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::receiver::{Behaviour, Receiver};
use crate::common::{
    Backend, TestApp, expect_problem, expect_status, instant_between, problem_fields, verify_signature,
};

const PATIENCE: Duration = Duration::from_secs(10);

conformance!(
    a_manual_retry_sends_any_delivery_again_at_once,
    during_the_grace_period_either_secret_verifies_and_after_it_only_the_new_one,
    bad_retry_recover_and_rotate_requests_are_refused,
    configuration_changes_are_recorded_in_the_audit_log,
    recover_and_stats_keep_to_their_window_and_endpoint,
);

conformance_per_backend!(
    an_outage_opens_the_circuit_and_recover_redelivers_what_failed,
    an_endpoint_failing_for_the_whole_period_is_disabled_until_re_enabled,
    logs_past_the_retention_window_are_pruned,
);

async fn first_delivery(app: &TestApp, event: &Value) -> String {
    app.event_deliveries(event["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned()
}

/// Adds an endpoint at `url` to the operations tenant and returns its secret.
async fn subscribe_to_operations(app: &TestApp, url: &str) -> String {
    let endpoint = app.create_endpoint("outhook-operations", &json!({"url": url})).await;
    let path = format!("/v1/tenants/outhook-operations/endpoints/{}/secret", endpoint["id"].as_str().unwrap());
    expect_status(app.get(&path).await, 200).await["key"].as_str().unwrap().to_owned()
}

/// The operational webhooks received at `/ops` so far, as (type, data), each checked against `secret`.
fn operational_webhooks(receiver: &Receiver, secret: &str) -> Vec<(String, Value)> {
    receiver
        .requests_to("/ops")
        .iter()
        .map(|request| {
            assert!(verify_signature(secret, request), "operational webhooks are signed");
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            (body["type"].as_str().unwrap().to_owned(), body["data"].clone())
        })
        .collect()
}

async fn wait_for_operational(receiver: &Receiver, secret: &str, event_type: &str, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let matching: Vec<Value> = operational_webhooks(receiver, secret)
            .into_iter()
            .filter(|(kind, _)| kind == event_type)
            .map(|(_, data)| data)
            .collect();
        if matching.len() >= count {
            return matching;
        }
        assert!(std::time::Instant::now() < deadline, "no {count} `{event_type}` webhooks arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_manual_retry_sends_any_delivery_again_at_once(app: TestApp) {
    let receiver = Receiver::start().await;
    app.acme_with_endpoint(&receiver.url("/hook")).await;
    let event = app.post_event(json!({"n": 1})).await;
    let delivery_id = first_delivery(&app, &event).await;
    app.wait_for_delivery(&delivery_id, |d| d["status"] == "succeeded").await;

    // A succeeded delivery is sent again on request, recorded as a manual attempt.
    let retried =
        expect_status(app.post(&format!("/v1/tenants/acme/deliveries/{delivery_id}/retry"), &json!({})).await, 202)
            .await;
    assert_eq!(retried["next_trigger"], "manual");
    receiver.wait_for(Some("/hook"), 2, PATIENCE).await;
    let delivery = app.wait_for_delivery(&delivery_id, |d| d["attempt_count"] == 2 && d["status"] == "succeeded").await;
    assert_eq!(delivery["next_trigger"], "scheduled");
    let attempts = app.delivery_attempts(&delivery_id).await;
    let triggers: Vec<&str> = attempts.iter().map(|a| a["trigger"].as_str().unwrap()).collect();
    assert_eq!(triggers, ["scheduled", "manual"]);
    let requests = receiver.requests_to("/hook");
    assert_eq!(requests[0].header("webhook-id"), requests[1].header("webhook-id"), "same webhook-id for dedup");
}

async fn an_outage_opens_the_circuit_and_recover_redelivers_what_failed(backend: Backend) {
    let Some(app) = TestApp::spawn_configured(backend, |settings| {
        settings.delivery.circuit_failure_threshold = 3;
        settings.delivery.circuit_cooldown_seconds = 60;
        // Recoveries requeue in batches: two batches here.
        settings.delivery.recovery_batch_size = 2;
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    let ops_secret = subscribe_to_operations(&app, &receiver.url("/ops")).await;
    receiver.set_behaviour("/sub", Behaviour::Respond(503));
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let endpoint = app.create_endpoint("acme", &json!({"url": receiver.url("/sub"), "retry_schedule": [0]})).await;
    let endpoint_id = endpoint["id"].as_str().unwrap();
    let recover_since = app.clock_now() - chrono::Duration::minutes(5);

    // The receiver is down: three deliveries fail their only attempt and are exhausted; the third
    // failure in a row opens the circuit.
    let batch: Vec<Value> = (0..3).map(|n| json!({"event_type": "invoice.paid", "payload": {"n": n}})).collect();
    let accepted = expect_status(app.post("/v1/tenants/acme/events/batch", &json!({"events": batch})).await, 202).await;
    receiver.wait_for(Some("/sub"), 3, PATIENCE).await;
    let opened = wait_for_operational(&receiver, &ops_secret, "endpoint.circuit_opened", 1).await;
    assert_eq!(opened[0]["endpoint_id"], endpoint_id);
    assert_eq!(opened[0]["consecutive_failures"], 3);
    let exhausted = wait_for_operational(&receiver, &ops_secret, "delivery.exhausted", 3).await;
    assert!(exhausted.iter().all(|data| data["endpoint_id"] == endpoint_id && data["attempts"] == 1));
    let stats = expect_status(app.get(&format!("/v1/tenants/acme/endpoints/{endpoint_id}/stats")).await, 200).await;
    assert_eq!(stats["circuit_state"], "open");
    assert_eq!(stats["consecutive_failures"], 3);
    assert_eq!(stats["deliveries"]["exhausted"], 3);
    assert_eq!(stats["success_rate"], 0.0);

    // While the circuit is open a new delivery waits without spending an attempt.
    let held = app.post_event(json!({"n": "held"})).await;
    let held_id = first_delivery(&app, &held).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests_to("/sub").len(), 3, "attempts stop growing while the circuit is open");
    let waiting = app.wait_for_delivery(&held_id, |d| d["status"] == "pending").await;
    assert_eq!(waiting["attempt_count"], 0);

    // The receiver comes back; after the cool-down one probe goes through and closes the circuit.
    receiver.set_behaviour("/sub", Behaviour::Respond(200));
    app.clock.advance(chrono::Duration::seconds(61));
    app.wait_for_delivery(&held_id, |d| d["status"] == "succeeded").await;
    let closed = wait_for_operational(&receiver, &ops_secret, "endpoint.circuit_closed", 1).await;
    assert_eq!(closed[0]["endpoint_id"], endpoint_id);

    // Recover redelivers everything that failed in the window.
    let recovery = expect_status(
        app.post(
            &format!("/v1/tenants/acme/endpoints/{endpoint_id}/recover"),
            &json!({"since": recover_since.to_rfc3339()}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(recovery["deliveries"], 3);
    assert!(recovery["id"].as_str().unwrap().starts_with("rec_"));
    receiver.wait_for(Some("/sub"), 3 + 1 + 3, PATIENCE).await;
    for event in accepted["data"].as_array().unwrap() {
        let delivery_id = first_delivery(&app, event).await;
        app.wait_for_delivery(&delivery_id, |d| d["status"] == "succeeded").await;
        let triggers: Vec<String> = app
            .delivery_attempts(&delivery_id)
            .await
            .iter()
            .map(|a| a["trigger"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(triggers, ["scheduled", "recovery"]);
    }
    let stats = expect_status(app.get(&format!("/v1/tenants/acme/endpoints/{endpoint_id}/stats")).await, 200).await;
    assert_eq!(stats["circuit_state"], "closed");
    assert_eq!(stats["deliveries"]["succeeded"], 4);
    assert_eq!(stats["success_rate"], 1.0);
    assert!(stats["last_success_at"].is_string());
    // Every operational webhook was signed with the operations endpoint's secret (checked above);
    // none was sent about the operations tenant's own endpoint.
    assert!(operational_webhooks(&receiver, &ops_secret).iter().all(|(_, data)| data["endpoint_id"] == endpoint_id));
}

async fn during_the_grace_period_either_secret_verifies_and_after_it_only_the_new_one(app: TestApp) {
    let receiver = Receiver::start().await;
    let old_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let new_secret = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY";
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let endpoint = app.create_endpoint("acme", &json!({"url": receiver.url("/hook"), "secret": old_secret})).await;
    let secret_path = format!("/v1/tenants/acme/endpoints/{}/secret", endpoint["id"].as_str().unwrap());

    let rotated =
        expect_status(app.post(&format!("{secret_path}/rotate"), &json!({"secret": new_secret})).await, 200).await;
    assert_eq!(rotated["key"], new_secret);
    assert_eq!(rotated["previous"][0]["key"], old_secret);
    let current = expect_status(app.get(&secret_path).await, 200).await;
    assert_eq!(current["key"], new_secret);

    app.post_event(json!({"n": 1})).await;
    let during = receiver.wait_for(Some("/hook"), 1, PATIENCE).await;
    assert_eq!(during[0].header("webhook-signature").unwrap().split(' ').count(), 2, "both secrets sign");
    assert!(verify_signature(old_secret, &during[0]), "a subscriber still on the old secret verifies");
    assert!(verify_signature(new_secret, &during[0]), "a subscriber on the new secret verifies");

    app.clock.advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    app.post_event(json!({"n": 2})).await;
    let after = receiver.wait_for(Some("/hook"), 2, PATIENCE).await;
    assert!(verify_signature(new_secret, &after[1]));
    assert!(!verify_signature(old_secret, &after[1]), "the old secret no longer signs after the grace period");
    assert_eq!(expect_status(app.get(&secret_path).await, 200).await["previous"], json!([]));

    // Without a secret in the body a fresh one is generated.
    let generated = expect_status(app.post(&format!("{secret_path}/rotate"), &json!({})).await, 200).await;
    assert_ne!(generated["key"], new_secret);
    assert!(generated["key"].as_str().unwrap().starts_with("whsec_"));
}

async fn bad_retry_recover_and_rotate_requests_are_refused(app: TestApp) {
    let endpoint = app.acme_with_endpoint("https://example.com/hook").await;
    let endpoint_id = endpoint["id"].as_str().unwrap();
    let retry = |id: &str| format!("/v1/tenants/acme/deliveries/{id}/retry");
    expect_problem(app.post(&retry("dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV"), &json!({})).await, 404).await;
    expect_problem(app.post(&retry("not-an-id"), &json!({})).await, 404).await;

    let recover = format!("/v1/tenants/acme/endpoints/{endpoint_id}/recover");
    let future = (app.clock_now() + chrono::Duration::hours(1)).to_rfc3339();
    let problem = expect_problem(app.post(&recover, &json!({"since": future})).await, 400).await;
    assert_eq!(problem_fields(&problem), ["since"]);
    let since = (app.clock_now() - chrono::Duration::hours(1)).to_rfc3339();
    let until = (app.clock_now() - chrono::Duration::hours(2)).to_rfc3339();
    let problem = expect_problem(app.post(&recover, &json!({"since": since, "until": until})).await, 400).await;
    assert_eq!(problem_fields(&problem), ["until"]);
    let problem = expect_problem(app.post(&recover, &json!({"since": "last tuesday"})).await, 400).await;
    assert_eq!(problem_fields(&problem), ["since"]);
    let problem = expect_problem(app.post(&recover, &json!({})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["since"]);
    expect_problem(
        app.post("/v1/tenants/acme/endpoints/ep_01ARZ3NDEKTSV4RRFFQ69G5FAV/recover", &json!({"since": since})).await,
        404,
    )
    .await;

    let rotate = format!("/v1/tenants/acme/endpoints/{endpoint_id}/secret/rotate");
    let before = app.endpoint_secret(&endpoint).await;
    for secret in ["not-a-secret", "whsec_!!!", "whsec_c2hvcnQ="] {
        let problem = expect_problem(app.post(&rotate, &json!({"secret": secret})).await, 422).await;
        assert_eq!(problem_fields(&problem), ["secret"], "{secret}");
    }
    let problem = expect_problem(app.post(&rotate, &json!({"key": "whsec_x"})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["key"]);
    assert_eq!(app.endpoint_secret(&endpoint).await, before, "a refused rotation changes nothing");
}

async fn an_endpoint_failing_for_the_whole_period_is_disabled_until_re_enabled(backend: Backend) {
    let Some(app) = TestApp::spawn_configured(backend, |settings| {
        settings.delivery.circuit_failure_threshold = 0;
        settings.delivery.disable_after_hours = 1;
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    let ops_secret = subscribe_to_operations(&app, &receiver.url("/ops")).await;
    receiver.set_behaviour("/down", Behaviour::Respond(500));
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let endpoint = app
        .create_endpoint("acme", &json!({"url": receiver.url("/down"), "retry_schedule": [0, 1800, 1800, 1800]}))
        .await;
    let path = format!("/v1/tenants/acme/endpoints/{}", endpoint["id"].as_str().unwrap());
    let event = app.post_event(json!({"n": 1})).await;
    let delivery_id = first_delivery(&app, &event).await;

    for attempt in 1..=2 {
        receiver.wait_for(Some("/down"), attempt, PATIENCE).await;
        app.wait_for_delivery(&delivery_id, |d| d["attempt_count"] == attempt).await;
        assert_eq!(expect_status(app.get(&path).await, 200).await["enabled"], true, "not yet an hour");
        app.clock.advance(chrono::Duration::seconds(1800 * 6 / 5 + 1));
    }
    receiver.wait_for(Some("/down"), 3, PATIENCE).await;
    let disabled = wait_for_operational(&receiver, &ops_secret, "endpoint.disabled", 1).await;
    assert_eq!(disabled[0]["endpoint_id"], endpoint["id"]);
    let current = expect_status(app.get(&path).await, 200).await;
    assert_eq!(current["enabled"], false);
    assert!(current["disabled_reason"].as_str().unwrap().contains("disabled automatically"), "{current}");

    // Disabled: the delivery waits without attempts; re-enabling is an update and starts afresh.
    app.clock.advance(chrono::Duration::seconds(1800 * 6 / 5 + 1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests_to("/down").len(), 3);
    receiver.set_behaviour("/down", Behaviour::Respond(200));
    let enabled = expect_status(app.patch(&path, &json!({"enabled": true})).await, 200).await;
    assert_eq!(enabled["enabled"], true);
    assert!(enabled["disabled_reason"].is_null());
    app.clock.advance(chrono::Duration::seconds(61));
    app.wait_for_delivery(&delivery_id, |d| d["status"] == "succeeded").await;
    let stats = expect_status(app.get(&format!("{path}/stats")).await, 200).await;
    assert_eq!(stats["consecutive_failures"], 0);
    assert!(stats["failing_since"].is_null());
}

async fn logs_past_the_retention_window_are_pruned(backend: Backend) {
    let Some(app) = TestApp::spawn_configured(backend, |settings| {
        settings.retention.days = 30;
        settings.retention.interval_seconds = 1;
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    app.acme_with_endpoint(&receiver.url("/hook")).await;
    let old = app.post_event(json!({"n": "old"})).await;
    let old_delivery = first_delivery(&app, &old).await;
    app.wait_for_delivery(&old_delivery, |d| d["status"] == "succeeded").await;

    app.clock.advance(chrono::Duration::days(31));
    let recent = app.post_event(json!({"n": "recent"})).await;
    let event_path = format!("/v1/tenants/acme/events/{}", old["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + PATIENCE;
    while app.get(&event_path).await.status() != 404 {
        assert!(std::time::Instant::now() < deadline, "the old event was never pruned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    expect_problem(app.get(&format!("/v1/tenants/acme/deliveries/{old_delivery}")).await, 404).await;
    let attempts = expect_status(
        app.get(&format!("/v1/tenants/acme/attempts?event_id={}", old["id"].as_str().unwrap())).await,
        200,
    )
    .await;
    assert_eq!(attempts["data"], json!([]), "attempts go with their event");
    let kept =
        expect_status(app.get(&format!("/v1/tenants/acme/events/{}", recent["id"].as_str().unwrap())).await, 200).await;
    assert_eq!(kept["id"], recent["id"]);
}

async fn configuration_changes_are_recorded_in_the_audit_log(app: TestApp) {
    let endpoint = app.acme_with_endpoint("https://example.com/hook").await;
    let endpoint_path = format!("/v1/tenants/acme/endpoints/{}", endpoint["id"].as_str().unwrap());
    expect_status(
        app.patch(&endpoint_path, &json!({"description": "renamed", "headers": {"X-Key": "s3cr3t"}})).await,
        200,
    )
    .await;
    expect_status(app.post(&format!("{endpoint_path}/secret/rotate"), &json!({})).await, 200).await;
    let tenant_token = app.create_tenant_token("acme").await;
    expect_status(app.delete(&endpoint_path).await, 204).await;

    let log = expect_status(app.get("/v1/tenants/acme/audit-log").await, 200).await;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "endpoint.deleted",
            "token.created",
            "endpoint.secret_rotated",
            "endpoint.updated",
            "endpoint.created",
            "tenant.created"
        ]
    );
    let admin_tokens = expect_status(app.get("/v1/tokens").await, 200).await;
    let admin_id = admin_tokens["data"].as_array().unwrap().last().unwrap()["id"].clone();
    for entry in log["data"].as_array().unwrap() {
        assert_eq!(entry["actor"], admin_id, "who");
        assert!(entry["created_at"].is_string(), "when");
    }
    let updated = &log["data"][3];
    assert_eq!(updated["resource_id"], endpoint["id"]);
    assert_eq!(updated["details"]["fields"], json!(["description", "headers"]));
    assert!(!log.to_string().contains("s3cr3t") && !log.to_string().contains("whsec_"), "no secrets in the log");

    // Tenant tokens read their own tenant's log but not the deployment's.
    let own = app
        .request(reqwest::Method::GET, "/v1/tenants/acme/audit-log?action=endpoint.updated", &tenant_token, None)
        .await;
    assert_eq!(expect_status(own, 200).await["data"].as_array().unwrap().len(), 1);
    expect_problem(app.request(reqwest::Method::GET, "/v1/audit-log", &tenant_token, None).await, 403).await;
    let created = expect_status(app.get("/v1/audit-log?action=tenant.created").await, 200).await;
    assert_eq!(created["data"].as_array().unwrap().len(), 1);
    let problem = expect_problem(app.get("/v1/audit-log?tenant_id=acme").await, 400).await;
    assert_eq!(problem_fields(&problem), ["tenant_id"]);
}

async fn recover_and_stats_keep_to_their_window_and_endpoint(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/a", Behaviour::Respond(500));
    receiver.set_behaviour("/b", Behaviour::Respond(500));
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let a = app.create_endpoint("acme", &json!({"url": receiver.url("/a"), "retry_schedule": [0]})).await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/b"), "retry_schedule": [0]})).await;
    let settle = async |events: usize| {
        receiver.wait_for(Some("/a"), events, Duration::from_secs(10)).await;
        receiver.wait_for(Some("/b"), events, Duration::from_secs(10)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while expect_status(app.get("/v1/tenants/acme/deliveries?status=exhausted&limit=100").await, 200).await["data"]
            .as_array()
            .unwrap()
            .len()
            < 2 * events
        {
            assert!(std::time::Instant::now() < deadline, "the deliveries never settled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    for n in 0..2 {
        app.post_event(json!({"n": n})).await;
    }
    settle(2).await;
    let split = instant_between().await;
    for n in 2..5 {
        app.post_event(json!({"n": n})).await;
    }
    settle(5).await;
    let until = instant_between().await;
    // The frozen test clock must not put the wall-clock window in its future.
    app.clock.advance(chrono::Duration::minutes(1));

    let a_path = format!("/v1/tenants/acme/endpoints/{}", a["id"].as_str().unwrap());
    let window = format!("since={split}&until={until}").replace('+', "%2B");
    let stats = expect_status(app.get(&format!("{a_path}/stats?{window}")).await, 200).await;
    assert_eq!(stats["deliveries"]["exhausted"], 3, "only the window's deliveries: {stats}");
    assert!(stats["last_failure_at"].is_string(), "{stats}");
    assert!(stats["last_success_at"].is_null(), "{stats}");
    let reversed = format!("since={until}&until={split}").replace('+', "%2B");
    let problem = expect_problem(app.get(&format!("{a_path}/stats?{reversed}")).await, 400).await;
    assert_eq!(problem_fields(&problem), ["until"]);

    // Recovering endpoint a from the split requeues its three later failures, not its two earlier
    // ones, and nothing of endpoint b.
    receiver.set_behaviour("/a", Behaviour::Respond(200));
    let recovered =
        expect_status(app.post(&format!("{a_path}/recover"), &json!({"since": split, "until": until})).await, 202)
            .await;
    assert_eq!(recovered["deliveries"], 3, "{recovered}");
    receiver.wait_for(Some("/a"), 8, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests_to("/a").len(), 8);
    assert_eq!(receiver.requests_to("/b").len(), 5, "the other endpoint's failures stay as they are");
    let stats = expect_status(app.get(&format!("{a_path}/stats?{window}")).await, 200).await;
    assert_eq!(stats["deliveries"]["succeeded"], 3, "{stats}");
}
