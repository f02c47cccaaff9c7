//! Operational webhooks: Outhook's own events (an endpoint was disabled, a circuit opened or
//! closed, a delivery was exhausted) sent to the vendor. They are ordinary events of one reserved
//! tenant, so the endpoints the admin adds to that tenant receive them signed and retried by the
//! same machinery as every other webhook; there is no second delivery path.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::event::EventPayload;
use crate::domain::health::HealthChange;
use crate::domain::ids::{DeliveryId, EndpointId, EventId, TenantId};
use crate::domain::names::{EventTypeName, TenantUid};

/// The reserved tenant's id: fixed, so every process finds it without a lookup.
pub const TENANT_ID: &str = "ten_00000000000000000000000000";
/// The reserved tenant's uid, for the API: `POST /v1/tenants/outhook-operations/endpoints`.
pub const TENANT_UID: &str = "outhook-operations";

pub const ENDPOINT_DISABLED: &str = "endpoint.disabled";
pub const ENDPOINT_CIRCUIT_OPENED: &str = "endpoint.circuit_opened";
pub const ENDPOINT_CIRCUIT_CLOSED: &str = "endpoint.circuit_closed";
pub const DELIVERY_EXHAUSTED: &str = "delivery.exhausted";
/// Every operational event type, created at start-up.
pub const EVENT_TYPES: [(&str, &str); 4] = [
    (ENDPOINT_DISABLED, "An endpoint was disabled automatically after failing for too long."),
    (ENDPOINT_CIRCUIT_OPENED, "An endpoint's circuit breaker opened: deliveries to it are paused."),
    (ENDPOINT_CIRCUIT_CLOSED, "An endpoint's circuit breaker closed again: deliveries resume."),
    (DELIVERY_EXHAUSTED, "A delivery failed every scheduled attempt."),
];

pub fn tenant_id() -> TenantId {
    TenantId::parse(TENANT_ID).unwrap_or_else(|_| unreachable!("the operations tenant id is a valid id"))
}

pub fn tenant_uid() -> TenantUid {
    TenantUid::parse(TENANT_UID).unwrap_or_else(|_| unreachable!("the operations tenant uid is a valid uid"))
}

/// Whether events about `tenant` are reported. The operations tenant's own endpoints are not, so a
/// failing operational endpoint cannot feed itself.
pub fn reports_on(tenant: &TenantId) -> bool {
    tenant.as_str() != TENANT_ID
}

/// One operational event, ready to be ingested for the operations tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationalEvent {
    pub event_type: EventTypeName,
    pub payload: EventPayload,
}

fn event(event_type: &str, payload: serde_json::Value) -> OperationalEvent {
    OperationalEvent {
        event_type: EventTypeName::parse(event_type)
            .unwrap_or_else(|_| unreachable!("operational event type names are valid")),
        payload: EventPayload::from_trusted(payload.to_string()),
    }
}

/// The event announcing a health change of an endpoint.
pub fn health_event(
    tenant: &TenantId,
    endpoint: &EndpointId,
    url: &str,
    change: &HealthChange,
    at: DateTime<Utc>,
) -> OperationalEvent {
    let subject = json!({ "tenant_id": tenant.as_str(), "endpoint_id": endpoint.as_str(), "url": url, "at": at });
    let mut payload = subject;
    let event_type = match change {
        HealthChange::CircuitOpened { consecutive_failures, retry_at } => {
            payload["consecutive_failures"] = json!(consecutive_failures);
            payload["retry_at"] = json!(retry_at);
            ENDPOINT_CIRCUIT_OPENED
        }
        HealthChange::CircuitClosed => ENDPOINT_CIRCUIT_CLOSED,
        HealthChange::Disabled { reason } => {
            payload["reason"] = json!(reason);
            ENDPOINT_DISABLED
        }
    };
    event(event_type, payload)
}

/// The event announcing that a delivery exhausted its schedule.
pub fn exhausted_event(
    tenant: &TenantId,
    delivery: &DeliveryId,
    event_id: &EventId,
    endpoint: &EndpointId,
    attempts: u32,
    at: DateTime<Utc>,
) -> OperationalEvent {
    event(
        DELIVERY_EXHAUSTED,
        json!({
            "tenant_id": tenant.as_str(),
            "delivery_id": delivery.as_str(),
            "event_id": event_id.as_str(),
            "endpoint_id": endpoint.as_str(),
            "attempts": attempts,
            "at": at,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_ids_and_names_are_valid() {
        assert_eq!(tenant_id().as_str(), TENANT_ID);
        assert_eq!(tenant_uid().as_str(), TENANT_UID);
        for (name, _) in EVENT_TYPES {
            assert!(EventTypeName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn the_operations_tenant_is_not_reported_on() {
        assert!(!reports_on(&tenant_id()));
        assert!(reports_on(&TenantId::generate()));
    }

    #[test]
    fn health_events_name_the_endpoint_and_the_change() {
        let (tenant, endpoint) = (TenantId::generate(), EndpointId::generate());
        let at = Utc::now();
        let opened = health_event(
            &tenant,
            &endpoint,
            "https://example.com/hook",
            &HealthChange::CircuitOpened { consecutive_failures: 5, retry_at: at },
            at,
        );
        assert_eq!(opened.event_type.as_str(), ENDPOINT_CIRCUIT_OPENED);
        let payload: serde_json::Value = serde_json::from_str(opened.payload.as_str()).unwrap();
        assert_eq!(payload["endpoint_id"], endpoint.as_str());
        assert_eq!(payload["consecutive_failures"], 5);
        let disabled = health_event(&tenant, &endpoint, "u", &HealthChange::Disabled { reason: "because".into() }, at);
        let payload: serde_json::Value = serde_json::from_str(disabled.payload.as_str()).unwrap();
        assert_eq!(payload["reason"], "because");
    }
}
