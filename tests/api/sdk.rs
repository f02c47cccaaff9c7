//! The Rust SDK (`outhook-sdk`) against the real server on both backends: its client drives every
//! operation of the API, its errors carry the problem documents, and its verifier accepts the
//! signatures Outhook really sends (and only those).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use outhook_sdk::models::{
    AttemptQuery, AuditLogQuery, CreateApiVersion, CreateEndpoint, CreateEvent, CreateEventBatch, CreateEventType,
    CreatePortalLink, CreateTenant, CreateToken, DeliveryQuery, EventQuery, EventTypeQuery, ListQuery,
    PutEventTypeVersion, RecoverEndpoint, RotateSecret, StatsQuery, UpdateEndpoint, UpdateEventType, UpdateTenant,
};
use outhook_sdk::webhooks::{VerifyError, Webhook};
use outhook_sdk::{Client, Error, collect_all};
use serde_json::json;

use crate::common::TestApp;
use crate::common::receiver::{ReceivedRequest, Receiver};

const PATIENCE: Duration = Duration::from_secs(10);

conformance!(
    the_sdk_client_runs_the_vendor_flow_and_its_verifier_accepts_what_outhook_sends,
    the_sdk_client_covers_configuration_tokens_and_audit,
);

fn client(app: &TestApp, token: &str) -> Client {
    Client::new(&app.address, token).expect("the test server's address is a valid base URL")
}

/// The problem document of a failed call, asserting it failed with `status`.
fn problem(result: Result<impl std::fmt::Debug, Error>, status: u16) -> outhook_sdk::models::Problem {
    let error = result.expect_err("the call fails");
    assert_eq!(error.status(), Some(status), "{error:?}");
    error.problem().cloned().unwrap_or_else(|| panic!("a problem document: {error:?}"))
}

/// Verifies a received webhook with the SDK against the server's clock.
fn verify(webhook: &Webhook, app: &TestApp, request: &ReceivedRequest) -> Result<String, VerifyError> {
    let now = SystemTime::from(app.clock_now());
    webhook.verify_at(|name: &str| request.header(name), &request.body, now).map(|verified| verified.id)
}

async fn the_sdk_client_runs_the_vendor_flow_and_its_verifier_accepts_what_outhook_sends(app: TestApp) {
    let receiver = Receiver::start().await;
    let client = client(&app, &app.admin_token);
    assert_eq!(client.health().await.unwrap().status, "ok");
    assert_eq!(client.ready().await.unwrap().status, "ready");

    let tenant = CreateTenant { uid: "acme".into(), name: Some("Acme".into()), ..Default::default() };
    let tenant = client.create_tenant(&tenant).await.unwrap();
    assert!(tenant.id.starts_with("ten_"));
    let event_type = CreateEventType { name: "invoice.paid".into(), description: Some("paid".into()) };
    client.create_event_type(&event_type).await.unwrap();
    let endpoint = CreateEndpoint { url: receiver.url("/hook"), ..Default::default() };
    let endpoint = client.create_endpoint("acme", &endpoint).await.unwrap();
    let secret = client.get_endpoint_secret("acme", &endpoint.id).await.unwrap().key;

    // One event, and the same again with its idempotency key: the original comes back.
    let invoice = CreateEvent::new("invoice.paid", json!({"invoice": "in_1", "amount": 4200}));
    let event = client.create_event("acme", &invoice, Some("in_1-paid")).await.unwrap();
    assert_ne!(event.replayed, Some(true));
    assert_eq!(event.idempotency_key.as_deref(), Some("in_1-paid"));
    let replay = client.create_event("acme", &invoice, Some("in_1-paid")).await.unwrap();
    assert_eq!((replay.id.as_str(), replay.replayed), (event.id.as_str(), Some(true)));

    // A batch, with keys in the events; sent twice, it is stored once.
    let events = (2..4)
        .map(|number| CreateEvent {
            idempotency_key: Some(format!("in_{number}-paid")),
            ..CreateEvent::new("invoice.paid", json!({"invoice": format!("in_{number}")}))
        })
        .collect();
    let batch = CreateEventBatch { events };
    let accepted = client.create_event_batch("acme", &batch).await.unwrap();
    let again = client.create_event_batch("acme", &batch).await.unwrap();
    let ids =
        |events: &[outhook_sdk::models::EventOut]| events.iter().map(|event| event.id.clone()).collect::<Vec<_>>();
    assert_eq!(accepted.data.len(), 2);
    assert_eq!(ids(&again.data), ids(&accepted.data));
    assert!(again.data.iter().all(|event| event.replayed == Some(true)));

    // Outhook's real signatures verify with the SDK and the secret read through it; a wrong
    // secret or an altered body do not.
    let received = receiver.wait_for(Some("/hook"), 3, PATIENCE).await;
    let webhook = Webhook::new(&secret).unwrap();
    let mut verified_ids = BTreeSet::new();
    for request in &received {
        verified_ids.insert(verify(&webhook, &app, request).expect("Outhook's signature verifies"));
    }
    let sent: BTreeSet<String> = [event.id.clone()].into_iter().chain(ids(&accepted.data)).collect();
    assert_eq!(verified_ids, sent, "webhook-id is the event id");
    let stranger = Webhook::new("whsec_c29tZSBvdGhlciBlbmRwb2ludCdzIHNlY3JldA==").unwrap();
    assert_eq!(verify(&stranger, &app, &received[0]), Err(VerifyError::NoMatchingSignature));
    let mut tampered = received[0].clone();
    tampered.body.extend_from_slice(b" ");
    assert_eq!(verify(&webhook, &app, &tampered), Err(VerifyError::NoMatchingSignature));

    // Deliveries and attempts.
    let deliveries = client.list_event_deliveries("acme", &event.id, &ListQuery::default()).await.unwrap();
    assert_eq!(deliveries.data.len(), 1);
    let delivery_id = deliveries.data[0].id.clone();
    app.wait_for_delivery(&delivery_id, |delivery| delivery["status"] == "succeeded").await;
    let delivery = client.get_delivery("acme", &delivery_id).await.unwrap();
    assert_eq!((delivery.status.as_str(), delivery.attempt_count), ("succeeded", 1));
    let attempts = client.list_delivery_attempts("acme", &delivery_id, &ListQuery::default()).await.unwrap();
    assert_eq!(attempts.data.len(), 1);
    let attempt = client.get_attempt("acme", &attempts.data[0].id).await.unwrap();
    assert_eq!(attempt, attempts.data[0]);
    assert!(attempt.succeeded && attempt.response_status == Some(200) && attempt.trigger == "scheduled");

    // A manual retry sends it again.
    let retried = client.retry_delivery("acme", &delivery_id).await.unwrap();
    assert_eq!(retried.next_trigger, "manual");
    app.wait_for_delivery(&delivery_id, |delivery| delivery["attempt_count"] == 2).await;
    let query = AttemptQuery { delivery_id: Some(delivery_id.clone()), ..Default::default() };
    let triggers: Vec<String> =
        client.list_attempts("acme", &query).await.unwrap().data.into_iter().map(|attempt| attempt.trigger).collect();
    assert_eq!(triggers, ["manual", "scheduled"], "newest first");

    // After a rotation both secrets sign, and a verifier with either (or both) accepts.
    let rotated = client.rotate_endpoint_secret("acme", &endpoint.id, &RotateSecret::default()).await.unwrap();
    assert_ne!(rotated.key, secret);
    assert_eq!(rotated.previous.iter().map(|retired| retired.key.as_str()).collect::<Vec<_>>(), [secret.as_str()]);
    let after = client.create_event("acme", &CreateEvent::new("invoice.paid", json!({"n": 5})), None).await.unwrap();
    let received = receiver.wait_for(Some("/hook"), 5, PATIENCE).await;
    let request = received.iter().find(|request| request.header("webhook-id") == Some(after.id.as_str())).unwrap();
    assert_eq!(request.header("webhook-signature").unwrap().split(' ').count(), 2);
    for secrets in [vec![rotated.key.clone()], vec![secret.clone()], vec![secret.clone(), rotated.key.clone()]] {
        let webhook = Webhook::with_secrets(&secrets).unwrap();
        assert_eq!(verify(&webhook, &app, request), Ok(after.id.clone()));
    }

    // A list read across pages: cursors lead through every event once, newest first.
    let first = client.list_events("acme", &EventQuery { limit: Some(2), ..Default::default() }).await.unwrap();
    assert_eq!(first.data.len(), 2);
    assert!(first.next_cursor.is_some());
    let all = collect_all(async |cursor| {
        client.list_events("acme", &EventQuery { limit: Some(2), cursor, ..Default::default() }).await
    })
    .await
    .unwrap();
    let listed: Vec<String> = all.iter().map(|event| event.id.clone()).collect();
    let mut expected: Vec<String> = sent.iter().cloned().chain([after.id.clone()]).collect();
    expected.sort_by(|left, right| right.cmp(left));
    assert_eq!(listed, expected);
    assert_eq!(&listed[..2], first.data.iter().map(|event| event.id.clone()).collect::<Vec<_>>().as_slice());

    // Bad input comes back typed, naming the field; unknown and deleted resources are 404.
    let invalid = CreateEndpoint { url: "ftp://hooks.example/x".into(), ..Default::default() };
    let error = client.create_endpoint("acme", &invalid).await.unwrap_err();
    let Error::Api { operation: "create_endpoint", problem: refused, retry_after: None } = error else {
        panic!("a typed API error: {error:?}")
    };
    assert_eq!((refused.status, refused.kind.as_str()), (422, "urn:outhook:problem:validation"));
    assert!(refused.names_field("url"), "{refused:?}");
    let duplicate = CreateTenant { uid: "acme".into(), ..Default::default() };
    assert_eq!(problem(client.create_tenant(&duplicate).await, 409).status, 409);
    assert_eq!(problem(client.get_tenant("nobody").await, 404).kind, "urn:outhook:problem:not-found");
    client.delete_endpoint("acme", &endpoint.id).await.unwrap();
    problem(client.get_endpoint("acme", &endpoint.id).await, 404);
    let unauthenticated = Client::new(&app.address, "oht_not_a_token").unwrap();
    assert!(!problem(unauthenticated.list_tenants(&ListQuery::default()).await, 401).detail.is_empty());
}

async fn the_sdk_client_covers_configuration_tokens_and_audit(app: TestApp) {
    let receiver = Receiver::start().await;
    let client = client(&app, &app.admin_token);

    // API versions and per-version definitions.
    for name in ["2025-01-01", "2026-06-01", "2027-01-01"] {
        client.create_api_version(&CreateApiVersion { name: name.into() }).await.unwrap();
    }
    client.delete_api_version("2027-01-01").await.unwrap();
    let versions = client.list_api_versions().await.unwrap();
    let names: Vec<&str> = versions.data.iter().map(|version| version.name.as_str()).collect();
    assert_eq!(names, ["2025-01-01", "2026-06-01"]);
    problem(client.delete_api_version("2027-01-01").await, 404);

    // Event types: create, read, update, versions, archive, list with archived ones.
    for name in ["invoice.paid", "user.created"] {
        client.create_event_type(&CreateEventType { name: name.into(), description: None }).await.unwrap();
    }
    let update = UpdateEventType { description: Some("An invoice was paid".into()), ..Default::default() };
    client.update_event_type("invoice.paid", &update).await.unwrap();
    assert_eq!(client.get_event_type("invoice.paid").await.unwrap().description, "An invoice was paid");
    let definition = PutEventTypeVersion {
        schema: Some(json!({"type": "object", "required": ["amount_cents"]})),
        downgrade: Some(vec![json!({"op": "move", "from": "/amount_cents", "path": "/amount"})]),
    };
    let stored = client.put_event_type_version("invoice.paid", "2026-06-01", &definition).await.unwrap();
    assert_eq!(stored.schema, definition.schema);
    let definitions = client.list_event_type_versions("invoice.paid").await.unwrap();
    assert_eq!(definitions.data, [stored]);
    let downgrade_of_the_oldest = PutEventTypeVersion { schema: None, downgrade: Some(vec![]) };
    let refused =
        problem(client.put_event_type_version("invoice.paid", "2025-01-01", &downgrade_of_the_oldest).await, 422);
    assert!(refused.names_field("downgrade"), "{refused:?}");
    assert!(client.archive_event_type("user.created").await.unwrap().archived);
    let names = |page: outhook_sdk::Page<outhook_sdk::models::EventTypeOut>| {
        page.data.into_iter().map(|event_type| event_type.name).collect::<Vec<_>>()
    };
    let active = names(client.list_event_types(&EventTypeQuery::default()).await.unwrap());
    assert!(active.contains(&"invoice.paid".to_owned()) && !active.contains(&"user.created".to_owned()));
    let everything = EventTypeQuery { include_archived: Some(true), ..Default::default() };
    assert!(names(client.list_event_types(&everything).await.unwrap()).contains(&"user.created".to_owned()));

    // Tenants: list, update, read.
    client.create_tenant(&CreateTenant { uid: "acme".into(), ..Default::default() }).await.unwrap();
    client.create_tenant(&CreateTenant { uid: "globex".into(), ..Default::default() }).await.unwrap();
    let renamed = UpdateTenant { name: Some("Acme Inc.".into()), ..Default::default() };
    assert_eq!(client.update_tenant("acme", &renamed).await.unwrap().name, "Acme Inc.");
    assert_eq!(client.get_tenant("acme").await.unwrap().name, "Acme Inc.");
    let tenants = client.list_tenants(&ListQuery::default()).await.unwrap();
    assert!(tenants.data.iter().any(|tenant| tenant.uid == "globex"));

    // Endpoints: pinned to the newest version, updated, listed, with statistics; a recovery.
    let endpoint = CreateEndpoint { url: receiver.url("/hook"), ..Default::default() };
    let endpoint = client.create_endpoint("acme", &endpoint).await.unwrap();
    assert_eq!(endpoint.api_version.as_deref(), Some("2026-06-01"));
    let update = UpdateEndpoint { event_types: Some(Some(vec!["invoice.paid".into()])), ..Default::default() };
    let updated = client.update_endpoint("acme", &endpoint.id, &update).await.unwrap();
    assert_eq!(updated.event_types, Some(vec!["invoice.paid".to_owned()]));
    let cleared = UpdateEndpoint { event_types: Some(None), ..Default::default() };
    assert_eq!(client.update_endpoint("acme", &endpoint.id, &cleared).await.unwrap().event_types, None);
    assert_eq!(client.get_endpoint("acme", &endpoint.id).await.unwrap().event_types, None);
    let endpoints = client.list_endpoints("acme", &ListQuery::default()).await.unwrap();
    assert_eq!(endpoints.data.len(), 1);

    let event = CreateEvent::new("invoice.paid", json!({"amount_cents": 4200}));
    let event = client.create_event("acme", &event, None).await.unwrap();
    receiver.wait_for(Some("/hook"), 1, PATIENCE).await;
    let query = DeliveryQuery { event_id: Some(event.id.clone()), ..Default::default() };
    let delivery = client.list_deliveries("acme", &query).await.unwrap().data.remove(0);
    app.wait_for_delivery(&delivery.id, |delivery| delivery["status"] == "succeeded").await;
    let read = client.get_event("acme", &event.id).await.unwrap();
    assert_eq!(read.deliveries.get("succeeded"), Some(&1));
    let stats = client.get_endpoint_stats("acme", &endpoint.id, &StatsQuery::default()).await.unwrap();
    assert_eq!(stats.deliveries.get("succeeded"), Some(&1));
    assert_eq!(stats.circuit_state, "closed");
    let recovery = RecoverEndpoint { since: app.clock_now() - chrono::Duration::minutes(5), until: None };
    assert_eq!(client.recover_endpoint("acme", &endpoint.id, &recovery).await.unwrap().deliveries, 0);

    // Tokens: a tenant token sees its tenant only, and stops working once revoked.
    let scoped = CreateToken { name: Some("portal".into()), tenant: Some("acme".into()), expires_in_seconds: None };
    let created = client.create_token(&scoped).await.unwrap();
    assert!(!format!("{created:?}").contains(&created.token_value), "Debug hides the value");
    let tenant_client = self::client(&app, &created.token_value);
    assert_eq!(tenant_client.list_endpoints("acme", &ListQuery::default()).await.unwrap().data.len(), 1);
    problem(tenant_client.get_tenant("globex").await, 404);
    let tokens = client.list_tokens(&ListQuery::default()).await.unwrap();
    assert!(tokens.data.iter().any(|token| token.id == created.id));
    client.revoke_token(&created.id).await.unwrap();
    problem(tenant_client.list_endpoints("acme", &ListQuery::default()).await, 401);

    // Portal links: a tenant token that knows its tenant; only admins mint them.
    let link = client.create_portal_link("acme", &CreatePortalLink { expires_in_seconds: Some(600) }).await.unwrap();
    assert!(link.url.ends_with(&format!("/console#token={}", link.token)), "{}", link.url);
    assert!(!format!("{link:?}").contains(&link.token), "Debug hides the token");
    let portal = self::client(&app, &link.token);
    let whoami = portal.get_whoami().await.unwrap();
    assert_eq!((whoami.scope.as_str(), whoami.token_id.as_str()), ("tenant", link.token_id.as_str()));
    assert_eq!(whoami.tenant.map(|tenant| tenant.uid), Some("acme".to_owned()));
    assert_eq!(client.get_whoami().await.unwrap().scope, "admin");
    problem(portal.create_portal_link("acme", &CreatePortalLink::default()).await, 403);
    let too_long = CreatePortalLink { expires_in_seconds: Some(90_000) };
    assert!(problem(client.create_portal_link("acme", &too_long).await, 422).names_field("expires_in_seconds"));

    // The audit log saw the changes, deployment-wide and per tenant.
    let updates = AuditLogQuery { action: Some("endpoint.updated".into()), ..Default::default() };
    assert_eq!(client.list_tenant_audit_log("acme", &updates).await.unwrap().data.len(), 2);
    let all = collect_all(async |cursor| {
        client.list_audit_log(&AuditLogQuery { limit: Some(3), cursor, ..Default::default() }).await
    })
    .await
    .unwrap();
    assert!(all.iter().any(|entry| entry.action == "tenant.updated"), "{all:?}");

    // Deleting a tenant removes everything it owns.
    client.delete_tenant("globex").await.unwrap();
    problem(client.get_tenant("globex").await, 404);
}
