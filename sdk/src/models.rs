//! The request and response bodies of the Outhook API, one struct per schema of
//! `openapi/openapi.json`, named as there, with the same fields.
//!
//! Written by hand (see `docs/ARCHITECTURE.md` for why) and held to the spec by the tests in
//! `spec.rs`: every schema of the spec has a struct here with exactly its property names, optional
//! exactly where the spec makes them optional. Response structs accept unknown fields, so a newer
//! server does not break an older SDK; request structs leave absent `Option`s out of the JSON, so
//! `..Default::default()` means "not given".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A type that mirrors one schema of the spec, or `()` for "no body" (`204`, bodiless requests).
/// The client decodes responses through it; the spec tests compare its name with the spec's.
pub(crate) trait Schema: Sized {
    /// The schema's name under `components/schemas`, `None` for no body (for the spec tests).
    #[cfg(test)]
    fn name() -> Option<String>;
    /// Reads a response body of this schema.
    fn decode(body: &[u8]) -> serde_json::Result<Self>;
}

impl Schema for () {
    #[cfg(test)]
    fn name() -> Option<String> {
        None
    }

    fn decode(_: &[u8]) -> serde_json::Result<Self> {
        Ok(())
    }
}

macro_rules! schemas {
    ($($name:ident),* $(,)?) => {
        $(
            impl Schema for $name {
                #[cfg(test)]
                fn name() -> Option<String> {
                    Some(stringify!($name).to_owned())
                }

                fn decode(body: &[u8]) -> serde_json::Result<Self> {
                    serde_json::from_slice(body)
                }
            }
        )*
    };
}

schemas!(
    ApiVersionListOut,
    ApiVersionOut,
    AttemptOut,
    AuditEntryOut,
    CreateApiVersion,
    CreateEndpoint,
    CreateEvent,
    CreateEventBatch,
    CreateEventType,
    CreatePortalLink,
    CreateTenant,
    CreateToken,
    CreatedTokenOut,
    DeliveryOut,
    EndpointOut,
    EndpointSecretOut,
    EndpointStatsOut,
    EventBatchOut,
    EventOut,
    EventTypeOut,
    EventTypeVersionListOut,
    EventTypeVersionOut,
    EventWithDeliveriesOut,
    HealthOut,
    PortalLinkOut,
    Problem,
    ProblemField,
    PutEventTypeVersion,
    RateLimitBody,
    RecoverEndpoint,
    RecoveryOut,
    RetiredKeyOut,
    RotateSecret,
    TenantOut,
    TokenOut,
    UpdateEndpoint,
    UpdateEventType,
    UpdateTenant,
    WhoamiOut,
);

/// Reads a field that distinguishes "absent" (`None`) from "`null`" (`Some(None)`), as the update
/// bodies do: absent leaves a setting unchanged, `null` clears it.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

/// Every API version, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiVersionListOut {
    /// The versions, oldest first.
    pub data: Vec<ApiVersionOut>,
}

/// An event type's definitions, oldest version first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTypeVersionListOut {
    /// The definitions, oldest version first.
    pub data: Vec<EventTypeVersionOut>,
}

/// The events of a batch, in submission order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatchOut {
    /// The accepted (or replayed) events, in the order submitted.
    pub data: Vec<EventOut>,
}

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

/// A rate limit: events per second on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitBody {
    /// Events per second on average, 1 to 1,000,000.
    pub per_second: u32,
    /// Events at once, 1 to 10,000,000.
    pub burst: u32,
}

/// Body of `create_tenant`: one of the vendor's customers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateTenant {
    /// The vendor's id for this customer: letters, digits, `_-.:`, at most 128, not starting `ten_`.
    pub uid: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Overrides the deployment's ingest rate limit for this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingest_rate_limit: Option<RateLimitBody>,
}

/// Body of `update_tenant`; `None` fields are left unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateTenant {
    /// A new uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// A new display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Some(None)` returns to the deployment default.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub ingest_rate_limit: Option<Option<RateLimitBody>>,
}

/// A tenant as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantOut {
    /// Outhook's id, `ten_…`.
    pub id: String,
    /// The vendor's own id for this customer, unique.
    pub uid: String,
    /// Display name.
    pub name: String,
    /// This tenant's ingest limit; `None` uses the deployment default.
    pub ingest_rate_limit: Option<RateLimitBody>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Event types and versions
// ---------------------------------------------------------------------------------------------

/// Body of `create_event_type`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateEventType {
    /// Dotted lowercase segments: `invoice.paid`, `user.created`.
    pub name: String,
    /// What the event means, for the people integrating it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Body of `update_event_type`; `None` fields are left unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateEventType {
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Some(false)` restores an archived type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// An event type as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTypeOut {
    /// Dotted lowercase name, e.g. `invoice.paid`.
    pub name: String,
    /// What the event means.
    pub description: String,
    /// Archived types accept no new events but stay visible.
    pub archived: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Body of `create_api_version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateApiVersion {
    /// 1 to 64 letters, digits, `.`, `_` or `-`, e.g. `2026-06-01`. Becomes the newest version.
    pub name: String,
}

/// An API version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiVersionOut {
    /// The version's name.
    pub name: String,
    /// Larger is newer.
    pub position: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Body of `put_event_type_version`; replaces both fields (`None` for none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PutEventTypeVersion {
    /// A JSON Schema payloads of this version must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// A JSON Patch (RFC 6902) turning this version's payload into the previous version's; `None`
    /// means the payload is unchanged between the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgrade: Option<Vec<Value>>,
}

/// What an event type looks like in one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTypeVersionOut {
    /// The event type's name.
    pub event_type: String,
    /// The version's name.
    pub api_version: String,
    /// JSON Schema payloads of this version must satisfy.
    pub schema: Option<Value>,
    /// JSON Patch (RFC 6902) turning a payload of this version into the previous version.
    pub downgrade: Option<Vec<Value>>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Endpoints and secrets
// ---------------------------------------------------------------------------------------------

/// Body of `create_endpoint`: where a tenant wants its webhooks, and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateEndpoint {
    /// `http` or `https` URL without credentials, at most 2048 characters.
    pub url: String,
    /// What the endpoint is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Existing event type names to deliver; `None` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// Channels to deliver; `None` for any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// Extra request headers. Reserved names (`host`, `content-length`, `webhook-*`, …) are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `whsec_` + base64 of 24 to 64 bytes; generated when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Delays in seconds before each attempt (1 to 30 entries, each at most a week); `None` for
    /// the deployment's schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_schedule: Option<Vec<u64>>,
    /// The API version to render payloads in; the newest when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Deliveries per second to this endpoint, 1 to 10,000; `None` for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_rate_per_second: Option<u32>,
    /// Concurrent requests to this endpoint, 1 to 10,000; `None` for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// Defaults to enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Body of `update_endpoint`; `None` fields are left unchanged, `Some(None)` clears a setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateEndpoint {
    /// A new URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Some(None)` delivers all event types.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Option<Vec<String>>>,
    /// `Some(None)` delivers any channel.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub channels: Option<Option<Vec<String>>>,
    /// Replaces all custom headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Pins the endpoint to another existing API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `Some(None)` removes the limit.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub delivery_rate_per_second: Option<Option<u32>>,
    /// `Some(None)` removes the limit.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<Option<u32>>,
    /// `Some(None)` returns to the deployment's schedule.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub retry_schedule: Option<Option<Vec<u64>>>,
    /// Re-enabling clears `disabled_reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// An endpoint as the API shows it (never with its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointOut {
    /// `ep_…`
    pub id: String,
    /// The tenant it belongs to, `ten_…`.
    pub tenant_id: String,
    /// Where webhooks are sent.
    pub url: String,
    /// What the endpoint is for.
    pub description: String,
    /// Event types delivered here; `None` means all.
    pub event_types: Option<Vec<String>>,
    /// Channels delivered here; `None` means any.
    pub channels: Option<Vec<String>>,
    /// Extra headers sent with every request (names lowercase).
    pub headers: BTreeMap<String, String>,
    /// Delays in seconds before each attempt; `None` uses the deployment's schedule.
    pub retry_schedule: Option<Vec<u64>>,
    /// The API version payloads are rendered in; `None` when the deployment defines no versions.
    pub api_version: Option<String>,
    /// At most this many deliveries per second, across all workers; `None` for no limit.
    pub delivery_rate_per_second: Option<u32>,
    /// At most this many requests in flight at once, across all workers; `None` for no limit.
    pub max_in_flight: Option<u32>,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why the endpoint was disabled, when it was.
    pub disabled_reason: Option<String>,
    /// `closed` (delivering), `open` (paused after repeated failures) or `half_open` (probing).
    pub circuit_state: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Body of `rotate_endpoint_secret`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RotateSecret {
    /// The new secret, `whsec_` + base64 of 24 to 64 bytes; generated when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The signing secrets of an endpoint.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSecretOut {
    /// `whsec_…`: give this to the subscriber to verify signatures.
    pub key: String,
    /// Secrets replaced by rotation that still sign until they expire, newest first.
    pub previous: Vec<RetiredKeyOut>,
}

/// A rotated-out secret still in its grace period.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RetiredKeyOut {
    /// The old `whsec_…` secret.
    pub key: String,
    /// After this time requests are no longer signed with it.
    pub expires_at: DateTime<Utc>,
}

// Secrets are left out of `Debug` so that logging a response never leaks one.
impl std::fmt::Debug for EndpointSecretOut {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EndpointSecretOut")
            .field("key", &"[redacted]")
            .field("previous", &self.previous)
            .finish()
    }
}

impl std::fmt::Debug for RetiredKeyOut {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RetiredKeyOut")
            .field("key", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Body of `recover_endpoint`: requeue the endpoint's failed and exhausted deliveries created in
/// `[since, until)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoverEndpoint {
    /// Deliveries created at or after it are requeued. Not in the future.
    pub since: DateTime<Utc>,
    /// Deliveries created before it; now when `None`. Not before `since`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// A recovery under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryOut {
    /// `rec_…`
    pub id: String,
    /// Failed and exhausted deliveries in the window, all of which are being requeued.
    pub deliveries: u64,
}

/// An endpoint's delivery statistics and health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointStatsOut {
    /// Start of the window.
    pub since: DateTime<Utc>,
    /// End of the window.
    pub until: DateTime<Utc>,
    /// Deliveries created in the window, by status (every status is listed).
    pub deliveries: BTreeMap<String, u64>,
    /// Succeeded ÷ (succeeded + failed + exhausted) in the window; `None` when none finished.
    pub success_rate: Option<f64>,
    /// The last successful attempt.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last failed attempt.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The first failure since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    /// `closed`, `open` or `half_open`.
    pub circuit_state: String,
    /// When an open circuit lets its next probe through.
    pub circuit_retry_at: Option<DateTime<Utc>>,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why the endpoint was disabled, when it was.
    pub disabled_reason: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Body of `create_event`, and each item of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateEvent {
    /// An existing, non-archived event type.
    pub event_type: String,
    /// A JSON object in `api_version`; required unless `payloads` holds that version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The API version `payload` is written in; the newest when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Explicit payloads for other versions, by version name; they win over downgrade transforms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payloads: Option<BTreeMap<String, Value>>,
    /// Only endpoints subscribed to one of these channels (or to no channel filter) receive it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// Alternative to the `Idempotency-Key` header (the only way inside a batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl CreateEvent {
    /// The common case: an event of `event_type` with `payload` in the newest version.
    pub fn new(event_type: impl Into<String>, payload: Value) -> Self {
        Self { event_type: event_type.into(), payload: Some(payload), ..Self::default() }
    }
}

/// Body of `create_event_batch`: 1 to 1,000 events, accepted or refused as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateEventBatch {
    /// The events, stored in this order.
    pub events: Vec<CreateEvent>,
}

/// An event as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventOut {
    /// `evt_…`, also the `webhook-id` header of every webhook for this event.
    pub id: String,
    /// The tenant it belongs to, `ten_…`.
    pub tenant_id: String,
    /// Its event type.
    pub event_type: String,
    /// The payload exactly as submitted.
    pub payload: Value,
    /// The channels it was published on.
    pub channels: Option<Vec<String>>,
    /// The idempotency key it was submitted with.
    pub idempotency_key: Option<String>,
    /// The API version `payload` is written in.
    pub api_version: Option<String>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// On ingest: `Some(true)` when the idempotency key was seen before and this is the original
    /// event.
    pub replayed: Option<bool>,
}

/// An event with its deliveries counted by status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventWithDeliveriesOut {
    /// `evt_…`, also the `webhook-id` header of every webhook for this event.
    pub id: String,
    /// The tenant it belongs to, `ten_…`.
    pub tenant_id: String,
    /// Its event type.
    pub event_type: String,
    /// The payload exactly as submitted.
    pub payload: Value,
    /// The channels it was published on.
    pub channels: Option<Vec<String>>,
    /// The idempotency key it was submitted with.
    pub idempotency_key: Option<String>,
    /// The API version `payload` is written in.
    pub api_version: Option<String>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// Only set on ingest.
    pub replayed: Option<bool>,
    /// The event's deliveries by status, e.g. `{"succeeded": 2, "failed": 1}`.
    pub deliveries: BTreeMap<String, u64>,
}

// ---------------------------------------------------------------------------------------------
// Deliveries and attempts
// ---------------------------------------------------------------------------------------------

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryOut {
    /// `dlv_…`
    pub id: String,
    /// The event delivered.
    pub event_id: String,
    /// The endpoint it goes to.
    pub endpoint_id: String,
    /// The event's type.
    pub event_type: String,
    /// `pending`, `delivering`, `succeeded`, `failed` (will retry), `exhausted` or `cancelled`.
    pub status: String,
    /// Attempts made so far.
    pub attempt_count: u32,
    /// What the next attempt will be: `scheduled`, `manual` (retry) or `recovery` (recover).
    pub next_trigger: String,
    /// When the next attempt is due (pending and failed deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One HTTP try of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptOut {
    /// `att_…`
    pub id: String,
    /// The delivery tried.
    pub delivery_id: String,
    /// The event sent.
    pub event_id: String,
    /// The endpoint it was sent to.
    pub endpoint_id: String,
    /// 1 for the first try of the delivery.
    pub attempt_number: u32,
    /// `scheduled`, `manual` (retry) or `recovery` (recover).
    pub trigger: String,
    /// When the request started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration_ms: i64,
    /// Where it was sent.
    pub url: String,
    /// Headers sent; custom header values are redacted.
    pub request_headers: BTreeMap<String, String>,
    /// The response status, when a response came.
    pub response_status: Option<u16>,
    /// The response headers, when a response came.
    pub response_headers: Option<BTreeMap<String, String>>,
    /// The first 20 KiB of the response body.
    pub response_body: Option<String>,
    /// `http_status`, `timeout`, `connect`, `dns`, `tls`, `blocked` or `version_unavailable`;
    /// `None` on success.
    pub error_kind: Option<String>,
    /// What went wrong, in words.
    pub error_message: Option<String>,
    /// Whether the subscriber answered 2xx.
    pub succeeded: bool,
}

// ---------------------------------------------------------------------------------------------
// Tokens, audit, health, problems
// ---------------------------------------------------------------------------------------------

/// Body of `create_token`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateToken {
    /// What the token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tenant id or uid to scope the token to; `None` for an admin token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Lifetime in seconds (1 to 31,536,000); `None` for no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
}

/// A token's metadata (never its value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenOut {
    /// `tok_…`
    pub id: String,
    /// What the token is for.
    pub name: String,
    /// The tenant a tenant-scoped token is limited to; `None` for admin tokens.
    pub tenant_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A newly created token, the only time its value is shown.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedTokenOut {
    /// `tok_…`
    pub id: String,
    /// What the token is for.
    pub name: String,
    /// The tenant a tenant-scoped token is limited to; `None` for admin tokens.
    pub tenant_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// The bearer token. Store it now: it cannot be retrieved again.
    pub token_value: String,
}

// The token's value is left out of `Debug` so that logging a response never leaks it.
impl std::fmt::Debug for CreatedTokenOut {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CreatedTokenOut")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("tenant_id", &self.tenant_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("token_value", &"[redacted]")
            .finish()
    }
}

/// Body of `create_portal_link`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreatePortalLink {
    /// Lifetime in seconds, 60 to 86,400; 3,600 when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
}

/// A console link for one tenant, with the token it signs in with.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalLinkOut {
    /// The console URL with the token in its fragment (`…/console#token=oht_…`); hand it to the
    /// tenant, it works until `expires_at`.
    pub url: String,
    /// The tenant-scoped bearer token inside `url`, shown only now.
    pub token: String,
    /// The token's id (`tok_…`), to revoke the link early with `revoke_token`.
    pub token_id: String,
    /// The tenant the link is for.
    pub tenant_id: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

// The link carries a bearer token: `Debug` leaves both out so that logging a response never leaks it.
impl std::fmt::Debug for PortalLinkOut {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PortalLinkOut")
            .field("url", &"[redacted]")
            .field("token", &"[redacted]")
            .field("token_id", &self.token_id)
            .field("tenant_id", &self.tenant_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Who the caller is: the token's id and scope, and for a tenant token its tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoamiOut {
    /// The presented token's id (`tok_…`).
    pub token_id: String,
    /// `admin` (the whole deployment) or `tenant` (one tenant).
    pub scope: String,
    /// The tenant a tenant-scoped token is limited to; `None` for admin tokens.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// That tenant, so a tenant-scoped client can show it without listing.
    #[serde(default)]
    pub tenant: Option<TenantOut>,
    /// When the token stops working; `None` when it does not expire.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// One recorded configuration change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryOut {
    /// `aud_…`
    pub id: String,
    /// The tenant concerned; `None` for deployment-wide changes.
    pub tenant_id: Option<String>,
    /// The id of the token that made the change (`tok_…`).
    pub actor: String,
    /// `resource.verb`, e.g. `endpoint.updated` or `endpoint.secret_rotated`.
    pub action: String,
    /// The id of what changed.
    pub resource_id: String,
    /// What changed (never secrets).
    pub details: Value,
    /// When it changed.
    pub created_at: DateTime<Utc>,
}

/// The answer of the `health` and `ready` probes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthOut {
    /// `ok` (health) or `ready` (ready) when healthy.
    pub status: String,
}

/// An RFC 9457 problem document: what every failed request answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:outhook:problem:validation`: match on
    /// this, not on `detail`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for people.
    pub detail: String,
    /// The fields that were rejected, for input errors.
    #[serde(default)]
    pub errors: Vec<ProblemField>,
}

impl Problem {
    /// Whether the field at `path` (`url`, `event_types[1]`, `cursor`) was rejected.
    pub fn names_field(&self, path: &str) -> bool {
        self.errors.iter().any(|error| error.field == path)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} {}: {}", self.status, self.title, self.detail)
    }
}

/// One rejected input field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemField {
    /// Path of the field in the request (`url`, `headers.Host`, `event_types[1]`, `cursor`).
    pub field: String,
    /// Why it was rejected.
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Query parameters
// ---------------------------------------------------------------------------------------------

/// Paging of a list without filters: `limit` (1 to 250, default 50) and the previous page's
/// `next_cursor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Items per page, 1 to 250 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Query of `list_event_types`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeQuery {
    /// Include archived event types (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_archived: Option<bool>,
    /// Items per page, 1 to 250 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Query of `list_audit_log` and `list_tenant_audit_log`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogQuery {
    /// Only entries with this action, e.g. `endpoint.updated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Admin list only: entries of this tenant (`ten_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Items per page, 1 to 250 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Query of `list_events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// Only events of this type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Only events published on this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Events created at or after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Events created before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Items per page, 1 to 250 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Query of `list_deliveries`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryQuery {
    /// `pending`, `delivering`, `succeeded`, `failed`, `exhausted` or `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only deliveries to this endpoint (`ep_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    /// Only deliveries of events of this type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Only deliveries of this event (`evt_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Deliveries created at or after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Deliveries created before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Items per page, 1 to 250 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Query of `list_attempts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptQuery {
    /// Only attempts of this delivery (`dlv_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// Only attempts to this endpoint (`ep_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    /// Only attempts for this event (`evt_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// `succeeded` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Only failed attempts with this error kind (`http_status`, `timeout`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// Attempts made at or after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Attempts made before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Items per page, 1 to 250 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Query of `get_endpoint_stats`: the window counted (the last day when both are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsQuery {
    /// Deliveries created at or after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Deliveries created before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}
