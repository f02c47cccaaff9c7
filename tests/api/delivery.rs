//! The delivery engine end to end, on both backends, against a real loopback receiver: signed
//! delivery, fan-out, the retry schedule to exhaustion, Retry-After, redirects, timeouts,
//! closed connections and the SSRF guard.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::common::receiver::{Behaviour, Receiver};
use crate::common::{TestApp, expect_status, verify_signature};

const PATIENCE: Duration = Duration::from_secs(10);

conformance!(
    a_delivered_webhook_carries_a_valid_standard_webhooks_signature,
    an_event_fans_out_only_to_matching_endpoints,
    a_failing_endpoint_is_retried_on_schedule_until_exhausted,
    a_retry_after_header_postpones_the_next_attempt,
    redirects_are_not_followed,
    timeouts_and_dropped_connections_are_recorded_with_their_kind,
    addresses_outside_the_allow_list_are_blocked,
    only_the_first_20_kib_of_a_response_body_are_kept,
);

fn timestamp(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

async fn a_delivered_webhook_carries_a_valid_standard_webhooks_signature(app: TestApp) {
    let receiver = Receiver::start().await;
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let endpoint = app
        .create_endpoint("acme", &json!({"url": receiver.url("/hook"), "headers": {"X-Api-Key": "subscriber-secret"}}))
        .await;
    let secret = app.endpoint_secret(&endpoint).await;
    let event = app.post_event(json!({"invoice": "in_1", "amount": 4200})).await;

    let requests = receiver.wait_for(Some("/hook"), 1, PATIENCE).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert!(verify_signature(&secret, request), "the signature verifies independently");
    assert_eq!(request.header("webhook-id"), event["id"].as_str());
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(request.header("user-agent").is_some_and(|agent| agent.starts_with("Outhook/")));
    assert_eq!(request.header("x-api-key"), Some("subscriber-secret"));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["id"], event["id"]);
    assert_eq!(body["type"], "invoice.paid");
    assert_eq!(body["data"], json!({"invoice": "in_1", "amount": 4200}));
    let sent_at: i64 = request.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((sent_at - app.clock_now().timestamp()).abs() < 5);

    let deliveries = app.event_deliveries(event["id"].as_str().unwrap()).await;
    assert_eq!(deliveries.len(), 1);
    let delivery_id = deliveries[0]["id"].as_str().unwrap();
    let delivery = app.wait_for_delivery(delivery_id, |d| d["status"] == "succeeded").await;
    assert_eq!(delivery["attempt_count"], 1);
    let attempts = app.delivery_attempts(delivery_id).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["response_status"], 200);
    assert_eq!(attempts[0]["succeeded"], true);
    assert_eq!(attempts[0]["trigger"], "scheduled");
    assert_eq!(attempts[0]["request_headers"]["x-api-key"], "[redacted]", "custom header values are not logged");
    assert!(!attempts[0].to_string().contains(&secret), "attempts never hold the secret");
}

async fn an_event_fans_out_only_to_matching_endpoints(app: TestApp) {
    let receiver = Receiver::start().await;
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    app.create_event_type("user.created").await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/all")})).await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/invoices"), "event_types": ["invoice.paid"]})).await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/users"), "event_types": ["user.created"]})).await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/eu"), "channels": ["eu"]})).await;
    app.create_endpoint("acme", &json!({"url": receiver.url("/off"), "enabled": false})).await;

    let plain = app.post_event(json!({"n": 1})).await;
    assert_eq!(app.event_deliveries(plain["id"].as_str().unwrap()).await.len(), 2);
    let body = json!({"event_type": "invoice.paid", "payload": {"n": 2}, "channels": ["eu"]});
    let on_eu = expect_status(app.post("/v1/tenants/acme/events", &body).await, 202).await;
    assert_eq!(app.event_deliveries(on_eu["id"].as_str().unwrap()).await.len(), 3);

    receiver.wait_for(None, 5, PATIENCE).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let count = |path: &str| receiver.requests_to(path).len();
    assert_eq!((count("/all"), count("/invoices"), count("/users"), count("/eu"), count("/off")), (2, 2, 0, 1, 0));
}

async fn a_failing_endpoint_is_retried_on_schedule_until_exhausted(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/down", Behaviour::Respond(500));
    let endpoint = app.acme_with_endpoint(&receiver.url("/down")).await;
    let event = app.post_event(json!({"n": 1})).await;
    let delivery_id = app.event_deliveries(event["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned();
    // The standard schedule: 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (±20%).
    let schedule = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];
    for attempt in 1..=schedule.len() {
        receiver.wait_for(Some("/down"), attempt, PATIENCE).await;
        let delivery = app.wait_for_delivery(&delivery_id, |d| d["attempt_count"] == attempt).await;
        if attempt < schedule.len() {
            assert_eq!(delivery["status"], "failed");
            let attempts = app.delivery_attempts(&delivery_id).await;
            let last = attempts.last().unwrap();
            let gap =
                (timestamp(&delivery["next_attempt_at"]) - timestamp(&last["started_at"])).num_milliseconds() as f64;
            let planned = schedule[attempt] as f64 * 1000.0;
            assert!(gap >= planned * 0.8 - 1000.0 && gap <= planned * 1.2 + 1000.0, "attempt {attempt}: gap {gap} ms");
            // Not due yet: nothing is sent before the clock reaches the next attempt.
            assert_eq!(receiver.requests_to("/down").len(), attempt);
            app.clock.advance(chrono::Duration::milliseconds((planned * 1.2) as i64 + 1000));
        }
    }
    let delivery = app.wait_for_delivery(&delivery_id, |d| d["status"] == "exhausted").await;
    assert_eq!(delivery["attempt_count"], 8);
    assert!(delivery["next_attempt_at"].is_null());
    let attempts = app.delivery_attempts(&delivery_id).await;
    assert_eq!(attempts.len(), 8, "every attempt is recorded");
    for (index, attempt) in attempts.iter().enumerate() {
        assert_eq!(attempt["attempt_number"], index + 1);
        assert_eq!(attempt["response_status"], 500);
        assert_eq!(attempt["error_kind"], "http_status");
        assert_eq!(attempt["endpoint_id"], endpoint["id"]);
    }
    app.clock.advance(chrono::Duration::days(30));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.requests_to("/down").len(), 8, "an exhausted delivery is not sent again");
}

async fn a_retry_after_header_postpones_the_next_attempt(app: TestApp) {
    let receiver = Receiver::start().await;
    let busy = Behaviour::RespondWith {
        status: 429,
        headers: vec![("Retry-After".into(), "120".into())],
        body: "slow down".into(),
    };
    receiver.push_behaviours("/busy", [busy]);
    app.acme_with_endpoint(&receiver.url("/busy")).await;
    let event = app.post_event(json!({"n": 1})).await;
    let delivery_id = app.event_deliveries(event["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned();
    let delivery = app.wait_for_delivery(&delivery_id, |d| d["attempt_count"] == 1).await;
    let attempts = app.delivery_attempts(&delivery_id).await;
    assert_eq!(attempts[0]["response_status"], 429);
    assert_eq!(attempts[0]["response_headers"]["retry-after"], "120");
    let gap = timestamp(&delivery["next_attempt_at"]) - timestamp(&attempts[0]["started_at"]);
    assert!(gap >= chrono::Duration::seconds(119), "the schedule said 5 s, the subscriber asked for 120 s: {gap}");
    app.clock.advance(chrono::Duration::seconds(60));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.requests_to("/busy").len(), 1, "not retried before Retry-After");
    app.clock.advance(chrono::Duration::seconds(61));
    app.wait_for_delivery(&delivery_id, |d| d["status"] == "succeeded").await;
    assert_eq!(receiver.requests_to("/busy").len(), 2);
}

async fn redirects_are_not_followed(app: TestApp) {
    let receiver = Receiver::start().await;
    let redirect = Behaviour::RespondWith {
        status: 302,
        headers: vec![("Location".into(), receiver.url("/elsewhere"))],
        body: String::new(),
    };
    receiver.set_behaviour("/moved", redirect);
    app.acme_with_endpoint(&receiver.url("/moved")).await;
    let event = app.post_event(json!({"n": 1})).await;
    let delivery_id = app.event_deliveries(event["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned();
    let delivery = app.wait_for_delivery(&delivery_id, |d| d["attempt_count"] == 1).await;
    assert_eq!(delivery["status"], "failed", "a 3xx is a failure");
    let attempts = app.delivery_attempts(&delivery_id).await;
    assert_eq!(attempts[0]["response_status"], 302);
    assert_eq!(attempts[0]["error_kind"], "http_status");
    assert!(receiver.requests_to("/elsewhere").is_empty(), "the redirect was not followed");
}

async fn timeouts_and_dropped_connections_are_recorded_with_their_kind(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/slow", Behaviour::Slow { delay: Duration::from_secs(4), status: 200 });
    receiver.set_behaviour("/hangup", Behaviour::Close);
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let slow = app.create_endpoint("acme", &json!({"url": receiver.url("/slow"), "retry_schedule": [0]})).await;
    let hangup = app.create_endpoint("acme", &json!({"url": receiver.url("/hangup"), "retry_schedule": [0]})).await;
    let event = app.post_event(json!({"n": 1})).await;
    let deliveries = app.event_deliveries(event["id"].as_str().unwrap()).await;
    for (endpoint, kind) in [(&slow, "timeout"), (&hangup, "connect")] {
        let delivery = deliveries.iter().find(|d| d["endpoint_id"] == endpoint["id"]).unwrap();
        let id = delivery["id"].as_str().unwrap();
        let done = app.wait_for_delivery(id, |d| d["status"] == "exhausted").await;
        assert_eq!(done["attempt_count"], 1, "a one-entry schedule allows one attempt");
        let attempts = app.delivery_attempts(id).await;
        assert_eq!(attempts[0]["error_kind"], kind, "{attempts:?}");
        assert!(attempts[0]["response_status"].is_null());
    }
}

async fn addresses_outside_the_allow_list_are_blocked(app: TestApp) {
    // ::1 is loopback but not in the test allow-list (127.0.0.0/8): the guard must refuse it,
    // and even if it did not, the packet would stay on this machine.
    let receiver = Receiver::start().await;
    let url = format!("http://[::1]:{}/blocked", receiver.port());
    app.acme_with_endpoint(&url).await;
    let event = app.post_event(json!({"n": 1})).await;
    let delivery_id = app.event_deliveries(event["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned();
    app.wait_for_delivery(&delivery_id, |d| d["attempt_count"] == 1).await;
    let attempts = app.delivery_attempts(&delivery_id).await;
    assert_eq!(attempts[0]["error_kind"], "blocked");
    assert!(attempts[0]["error_message"].as_str().unwrap().contains("loopback"));
    assert!(receiver.requests().is_empty());
}

async fn only_the_first_20_kib_of_a_response_body_are_kept(app: TestApp) {
    let receiver = Receiver::start().await;
    let big = Behaviour::RespondWith { status: 200, headers: vec![], body: "x".repeat(30 * 1024) };
    receiver.set_behaviour("/big", big);
    app.acme_with_endpoint(&receiver.url("/big")).await;
    let event = app.post_event(json!({"n": 1})).await;
    let delivery_id = app.event_deliveries(event["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned();
    app.wait_for_delivery(&delivery_id, |d| d["status"] == "succeeded").await;
    let attempts = app.delivery_attempts(&delivery_id).await;
    assert_eq!(attempts[0]["response_body"].as_str().unwrap().len(), 20 * 1024);
}
