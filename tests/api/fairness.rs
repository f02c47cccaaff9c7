//! Tenant-fair claiming, tested by order rather than by time: with one tenant holding a 20,000
//! delivery backlog, another tenant's fresh event is claimed within the next claim batches.

use std::time::Duration;

use chrono::Utc;
use outhook::domain::endpoint::{CustomHeaders, EndpointUrl};
use outhook::domain::event::EventPayload;
use outhook::domain::ids::{EndpointId, EventId, TenantId};
use outhook::domain::names::{EventTypeName, TenantUid};
use outhook::domain::retry::RetrySchedule;
use outhook::domain::secret::SigningSecret;
use outhook::startup::open_store;
use outhook::store::{Endpoint, Event, EventType, MigrationMode, Store, Tenant};
use serde_json::value::RawValue;

use crate::common::{Backend, test_settings};

const BACKLOG: usize = 20_000;
const BATCH: usize = 64;

async fn tenant_with_endpoint(store: &dyn Store, uid: &str) -> TenantId {
    let now = Utc::now();
    let tenant = Tenant {
        id: TenantId::generate(),
        uid: TenantUid::parse(uid).unwrap(),
        name: String::new(),
        ingest_limit: None,
        created_at: now,
        updated_at: now,
    };
    store.insert_tenant(&tenant).await.unwrap();
    let endpoint = Endpoint {
        tenant_id: tenant.id.clone(),
        id: EndpointId::generate(),
        url: EndpointUrl::parse("https://example.com/hook").unwrap(),
        description: String::new(),
        event_types: None,
        channels: None,
        headers: CustomHeaders::default(),
        secret: SigningSecret::generate(),
        retry_schedule: None,
        api_version: None,
        throttle: Default::default(),
        retired_secrets: Vec::new(),
        health: Default::default(),
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    store.insert_endpoint(&endpoint).await.unwrap();
    tenant.id
}

fn events(tenant: &TenantId, count: usize) -> Vec<Event> {
    let payload = RawValue::from_string("{\"n\": 1}".to_owned()).unwrap();
    (0..count)
        .map(|_| Event {
            tenant_id: tenant.clone(),
            id: EventId::generate(),
            event_type: EventTypeName::parse("invoice.paid").unwrap(),
            payload: EventPayload::parse(&payload, 1024).unwrap(),
            channels: None,
            idempotency_key: None,
            api_version: None,
            payloads: Default::default(),
            trace_context: None,
            created_at: Utc::now(),
        })
        .collect()
}

async fn a_backlog_does_not_delay_another_tenants_fresh_event(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(settings) = test_settings(backend, dir.path()).await else { return };
    let store = open_store(&settings, MigrationMode::Apply).await.unwrap();
    let now = Utc::now();
    let event_type = EventType {
        name: EventTypeName::parse("invoice.paid").unwrap(),
        description: String::new(),
        archived: false,
        created_at: now,
        updated_at: now,
    };
    store.insert_event_type(&event_type).await.unwrap();
    let noisy = tenant_with_endpoint(store.as_ref(), "noisy").await;
    let quiet = tenant_with_endpoint(store.as_ref(), "quiet").await;
    let schedule = RetrySchedule::standard();
    for _ in 0..BACKLOG / 1000 {
        store.ingest(&events(&noisy, 1000), &schedule).await.unwrap();
    }
    store.ingest(&events(&quiet, 1), &schedule).await.unwrap();

    let claim_at = Utc::now() + chrono::Duration::seconds(1);
    let mut claimed_quiet_in = None;
    for batch in 1..=3 {
        let claimed = store.claim_due(claim_at, BATCH, Duration::from_secs(60)).await.unwrap().deliveries;
        assert_eq!(claimed.len(), BATCH, "batches stay full");
        if claimed.iter().any(|claim| claim.delivery.tenant_id == quiet) {
            claimed_quiet_in = Some(batch);
            break;
        }
    }
    assert_eq!(claimed_quiet_in, Some(1), "the quiet tenant's event is claimed in the first batch, not after 20,000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_does_not_delay_another_tenants_fresh_event_sqlite() {
    a_backlog_does_not_delay_another_tenants_fresh_event(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_does_not_delay_another_tenants_fresh_event_postgres() {
    a_backlog_does_not_delay_another_tenants_fresh_event(Backend::Postgres).await;
}
