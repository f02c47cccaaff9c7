//! The records the store persists. Fields are domain types, so a record read back from either
//! backend is as valid as one built from a request.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::delivery::{AttemptTrigger, DeliveryStatus, ErrorKind};
use crate::domain::endpoint::{CustomHeaders, EndpointUrl};
use crate::domain::event::{EventPayload, IdempotencyKey};
use crate::domain::health::{EndpointHealth, HealthPolicy};
use crate::domain::ids::{AttemptId, DeliveryId, EndpointId, EventId, TenantId, TokenId};
use crate::domain::ids::{AuditId, RecoveryId};
use crate::domain::limits::RateLimit;
use crate::domain::names::{Channel, EventTypeName, TenantUid};
use crate::domain::retry::RetrySchedule;
use crate::domain::secret::{RetiredSecret, SigningSecret};
use crate::domain::throttle::Throttle;
use crate::domain::token::{TokenDigest, TokenScope};
use crate::domain::versions::ApiVersionName;

/// One of the vendor's customers.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub uid: TenantUid,
    pub name: String,
    /// Overrides the deployment's ingest rate limit.
    pub ingest_limit: Option<RateLimit>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A kind of event, global to the deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct EventType {
    pub name: EventTypeName,
    pub description: String,
    /// Archived types stay visible but accept no new events.
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscriber URL owned by one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub tenant_id: TenantId,
    pub id: EndpointId,
    pub url: EndpointUrl,
    pub description: String,
    /// `None` receives every event type.
    pub event_types: Option<Vec<EventTypeName>>,
    /// `None` receives events on any channel (or none).
    pub channels: Option<Vec<Channel>>,
    pub headers: CustomHeaders,
    pub secret: SigningSecret,
    /// Overrides the deployment's retry schedule for this endpoint.
    pub retry_schedule: Option<RetrySchedule>,
    /// The API version payloads are rendered in; `None` when no versions are defined.
    pub api_version: Option<ApiVersionName>,
    /// Delivery rate and concurrency limits, enforced across all workers.
    pub throttle: Throttle,
    /// Secrets replaced by rotation that still sign until they expire.
    pub retired_secrets: Vec<RetiredSecret>,
    /// Circuit breaker and failure history, maintained by the workers.
    pub health: EndpointHealth,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An API token's stored form (never the token itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub id: TokenId,
    pub name: String,
    pub scope: TokenScope,
    pub digest: TokenDigest,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Keyset pagination: at most `limit` items after the item whose key is `after`, in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageRequest {
    /// Rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + 1
    }
}

/// An event as submitted by the vendor.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub tenant_id: TenantId,
    pub id: EventId,
    pub event_type: EventTypeName,
    pub payload: EventPayload,
    pub channels: Option<Vec<Channel>>,
    pub idempotency_key: Option<IdempotencyKey>,
    /// The version `payload` is written in; `None` when no versions are defined.
    pub api_version: Option<ApiVersionName>,
    /// Payloads the producer supplied for other versions; they win over transforms.
    pub payloads: BTreeMap<ApiVersionName, EventPayload>,
    /// The `traceparent` of the submitting request; attempts continue that trace.
    pub trace_context: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The result of submitting one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingested {
    /// Stored now, with this many deliveries.
    Created { event: Event, deliveries: usize },
    /// The idempotency key was seen before: this is the original event; nothing new was stored.
    Replayed(Event),
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub tenant_id: TenantId,
    pub id: DeliveryId,
    pub event_id: EventId,
    pub endpoint_id: EndpointId,
    /// The event's type, copied so logs filter on it without a join.
    pub event_type: EventTypeName,
    pub status: DeliveryStatus,
    pub attempt_count: u32,
    /// What the next attempt will be recorded as.
    pub next_trigger: AttemptTrigger,
    /// Next attempt (pending, failed) or lease expiry (delivering); `None` once final.
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery leased to one worker, with everything needed to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    /// Proves the lease: the outcome is only applied while the delivery still carries it.
    pub claim_token: String,
    pub event: Event,
    pub endpoint: Endpoint,
}

/// One HTTP try, as recorded (append-only).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub tenant_id: TenantId,
    pub id: AttemptId,
    pub delivery_id: DeliveryId,
    pub event_id: EventId,
    pub endpoint_id: EndpointId,
    pub attempt_number: u32,
    pub trigger: AttemptTrigger,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub url: String,
    /// Headers sent, with custom header values redacted (they may carry credentials).
    pub request_headers: BTreeMap<String, String>,
    pub response_status: Option<u16>,
    pub response_headers: Option<BTreeMap<String, String>>,
    /// The first 20 KiB of the response body, lossily decoded as UTF-8.
    pub response_body: Option<String>,
    pub error_kind: Option<ErrorKind>,
    pub error_message: Option<String>,
    pub succeeded: bool,
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryTransition {
    Succeeded,
    RetryAt(DateTime<Utc>),
    Exhausted,
}

/// What completing an attempt needs besides the attempt: the health rules, and the schedule for
/// operational events' deliveries to endpoints without their own.
#[derive(Debug, Clone)]
pub struct CompletionRules {
    pub health: HealthPolicy,
    pub default_schedule: RetrySchedule,
}

/// One entry of the ordered list of API versions.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiVersion {
    pub name: ApiVersionName,
    /// Larger is newer.
    pub position: i32,
    pub created_at: DateTime<Utc>,
}

/// What an event type looks like in one API version.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTypeVersion {
    pub event_type: EventTypeName,
    pub api_version: ApiVersionName,
    /// A JSON Schema payloads in this version must satisfy.
    pub schema: Option<serde_json::Value>,
    /// A JSON Patch turning a payload of this version into the previous version.
    pub downgrade: Option<serde_json::Value>,
    pub updated_at: DateTime<Utc>,
}

/// The outcome of removing an API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveVersion {
    Removed,
    NotFound,
    /// An endpoint is pinned to it.
    Pinned,
}

/// A creation-time window, as the id range it covers (ids sort by creation time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdRange {
    /// Inclusive lower bound.
    pub from: Option<String>,
    /// Exclusive upper bound.
    pub to: Option<String>,
}

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    pub event_type: Option<EventTypeName>,
    pub channel: Option<Channel>,
    pub created: IdRange,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub endpoint_id: Option<EndpointId>,
    pub event_type: Option<EventTypeName>,
    pub event_id: Option<EventId>,
    pub created: IdRange,
}

/// Which attempts to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttemptFilter {
    pub delivery_id: Option<DeliveryId>,
    pub endpoint_id: Option<EndpointId>,
    pub event_id: Option<EventId>,
    pub succeeded: Option<bool>,
    pub error_kind: Option<ErrorKind>,
    pub started: IdRange,
}

/// A request to requeue an endpoint's failed and exhausted deliveries created in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    pub tenant_id: TenantId,
    pub id: RecoveryId,
    pub endpoint_id: EndpointId,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// One recorded configuration change.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: AuditId,
    /// `None` for deployment-wide changes (event types, admin tokens).
    pub tenant_id: Option<TenantId>,
    /// The token id that made the change.
    pub actor: String,
    /// `resource.verb`, e.g. `endpoint.secret_rotated`.
    pub action: String,
    pub resource_id: String,
    /// What changed, without secrets.
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub tenant_id: Option<TenantId>,
    pub action: Option<String>,
}

/// Where the delivery queue stands, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    /// Pending or failed deliveries due now.
    pub due: i64,
    /// Pending or failed deliveries due later.
    pub scheduled: i64,
    /// Deliveries leased by a worker.
    pub leased: i64,
    /// Endpoints whose circuit is not closed.
    pub circuits_open: i64,
}

/// A database pool's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub in_use: i64,
    pub idle: i64,
    pub max: i64,
}

/// What one claim produced: the deliveries to send, and how many it put back without an attempt.
#[derive(Debug, Default)]
pub struct ClaimBatch {
    pub deliveries: Vec<ClaimedDelivery>,
    /// Held back by their endpoint's rate or in-flight limit.
    pub throttled: u64,
    /// Held back by their endpoint's open circuit.
    pub circuit_held: u64,
}

/// The deliveries of one event counted by status.
pub type StatusCounts = BTreeMap<DeliveryStatus, u64>;
