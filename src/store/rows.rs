//! Plain column values shared by both backends, and their conversion to and from records. Each
//! backend only moves these between SQL and Rust; decoding rules (and encryption) live here once.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};

use crate::domain::admission::HoldReason;
use crate::domain::delivery::{AttemptTrigger, DeliveryStatus, ErrorKind};
use crate::domain::endpoint::{CustomHeaders, EndpointUrl};
use crate::domain::event::{EventPayload, IdempotencyKey};
use crate::domain::health::{CircuitState, EndpointHealth, HealthChange};
use crate::domain::ids::{AttemptId, AuditId, DeliveryId, EndpointId, EventId, TenantId, TokenId};
use crate::domain::limits::RateLimit;
use crate::domain::names::{Channel, EventTypeName, TenantUid};
use crate::domain::operations;
use crate::domain::retry::RetrySchedule;
use crate::domain::secret::{RetiredSecret, SigningSecret};
use crate::domain::throttle::Throttle;
use crate::domain::token::{TokenDigest, TokenScope};
use crate::domain::versions::ApiVersionName;
use crate::store::group_commit::Weighed;
use crate::store::records::{
    ApiVersion, Attempt, AuditEntry, ClaimBatch, ClaimedDelivery, CompletionRules, Delivery, DeliveryTransition,
    Endpoint, Event, EventType, EventTypeVersion, StatusCounts, Tenant, Token,
};
use crate::store::{SecretCipher, StoreError};

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

pub struct TenantRow {
    pub id: String,
    pub uid: String,
    pub name: String,
    pub ingest_per_second: Option<i32>,
    pub ingest_burst: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TenantRow {
    pub fn encode(tenant: &Tenant) -> Self {
        Self {
            id: tenant.id.to_string(),
            uid: tenant.uid.as_str().to_owned(),
            name: tenant.name.clone(),
            ingest_per_second: tenant.ingest_limit.map(|limit| limit.per_second().get() as i32),
            ingest_burst: tenant.ingest_limit.map(|limit| limit.burst().get() as i32),
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }

    pub fn decode(self) -> Result<Tenant, StoreError> {
        Ok(Tenant {
            id: TenantId::parse(&self.id).map_err(|e| corrupt("tenants.id", e))?,
            uid: TenantUid::parse(&self.uid).map_err(|e| corrupt("tenants.uid", e))?,
            name: self.name,
            ingest_limit: match (self.ingest_per_second, self.ingest_burst) {
                (Some(rate), Some(burst)) => {
                    Some(RateLimit::parse(rate.into(), burst.into()).map_err(|e| corrupt("tenants.ingest_burst", e))?)
                }
                _ => None,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct EventTypeRow {
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventTypeRow {
    pub fn encode(event_type: &EventType) -> Self {
        Self {
            name: event_type.name.to_string(),
            description: event_type.description.clone(),
            archived: event_type.archived,
            created_at: event_type.created_at,
            updated_at: event_type.updated_at,
        }
    }

    pub fn decode(self) -> Result<EventType, StoreError> {
        Ok(EventType {
            name: EventTypeName::parse(&self.name).map_err(|e| corrupt("event_types.name", e))?,
            description: self.description,
            archived: self.archived,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct EndpointRow {
    pub tenant_id: String,
    pub id: String,
    pub url: String,
    pub description: String,
    /// JSON array text, or `None` for "all".
    pub event_types: Option<String>,
    /// JSON array text, or `None` for "any".
    pub channels: Option<String>,
    /// JSON object text.
    pub headers: String,
    /// `nonce || ciphertext` of the signing secret.
    pub secret: Vec<u8>,
    /// JSON array of seconds, or `None` for the deployment default.
    pub retry_schedule: Option<String>,
    pub api_version: Option<String>,
    pub delivery_per_second: Option<i32>,
    pub max_in_flight: Option<i32>,
    /// JSON array of sealed retired secrets, or `None`.
    pub previous_secrets: Option<String>,
    pub health: HealthRow,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint's health columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    pub consecutive_failures: i32,
    pub circuit_state: String,
    pub circuit_until: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
}

impl HealthRow {
    pub fn encode(health: &EndpointHealth) -> Self {
        Self {
            consecutive_failures: i32::try_from(health.consecutive_failures).unwrap_or(i32::MAX),
            circuit_state: health.circuit.as_str().to_owned(),
            circuit_until: health.circuit_until,
            failing_since: health.failing_since,
            last_success_at: health.last_success_at,
            last_failure_at: health.last_failure_at,
        }
    }

    pub fn decode(self) -> Result<EndpointHealth, StoreError> {
        Ok(EndpointHealth {
            consecutive_failures: u32::try_from(self.consecutive_failures)
                .map_err(|e| corrupt("endpoints.consecutive_failures", e))?,
            circuit: self.circuit_state.parse::<CircuitState>().map_err(|e| corrupt("endpoints.circuit_state", e))?,
            circuit_until: self.circuit_until,
            failing_since: self.failing_since,
            last_success_at: self.last_success_at,
            last_failure_at: self.last_failure_at,
        })
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SealedSecret {
    /// base64 of `nonce || ciphertext`.
    secret: String,
    expires_at: DateTime<Utc>,
}

fn seal_retired(retired: &[RetiredSecret], cipher: &SecretCipher) -> Option<String> {
    if retired.is_empty() {
        return None;
    }
    let sealed: Vec<SealedSecret> = retired
        .iter()
        .map(|old| SealedSecret {
            secret: STANDARD.encode(cipher.seal(old.secret.as_bytes())),
            expires_at: old.expires_at,
        })
        .collect();
    serde_json::to_string(&sealed).ok()
}

fn open_retired(raw: Option<String>, cipher: &SecretCipher) -> Result<Vec<RetiredSecret>, StoreError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let sealed: Vec<SealedSecret> = serde_json::from_str(&raw).map_err(|e| corrupt("endpoints.previous_secrets", e))?;
    sealed
        .into_iter()
        .map(|old| {
            let bytes = STANDARD.decode(&old.secret).map_err(|e| corrupt("endpoints.previous_secrets", e))?;
            let secret = cipher.open(&bytes).map_err(|e| corrupt("endpoints.previous_secrets", e))?;
            Ok(RetiredSecret { secret: SigningSecret::from_bytes(secret), expires_at: old.expires_at })
        })
        .collect()
}

fn json_list<T: AsRef<str>>(items: &Option<Vec<T>>) -> Option<String> {
    items.as_ref().map(|items| {
        let strings: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
        serde_json::Value::from(strings).to_string()
    })
}

fn parse_list<T, E: std::fmt::Display>(
    column: &str,
    raw: Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<Vec<T>>, StoreError> {
    let Some(raw) = raw else { return Ok(None) };
    let strings: Vec<String> = serde_json::from_str(&raw).map_err(|e| corrupt(column, e))?;
    let items = strings.iter().map(|s| parse(s)).collect::<Result<Vec<T>, E>>().map_err(|e| corrupt(column, e))?;
    Ok(Some(items))
}

impl AsRef<str> for EventTypeName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Channel {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl EndpointRow {
    pub fn encode(endpoint: &Endpoint, cipher: &SecretCipher) -> Self {
        Self {
            tenant_id: endpoint.tenant_id.to_string(),
            id: endpoint.id.to_string(),
            url: endpoint.url.as_str().to_owned(),
            description: endpoint.description.clone(),
            event_types: json_list(&endpoint.event_types),
            channels: json_list(&endpoint.channels),
            headers: serde_json::to_string(endpoint.headers.as_map()).unwrap_or_else(|_| "{}".into()),
            secret: cipher.seal(endpoint.secret.as_bytes()),
            retry_schedule: endpoint
                .retry_schedule
                .as_ref()
                .map(|schedule| serde_json::Value::from(schedule.seconds()).to_string()),
            api_version: endpoint.api_version.as_ref().map(|version| version.to_string()),
            delivery_per_second: endpoint.throttle.per_second.map(|rate| rate.get() as i32),
            max_in_flight: endpoint.throttle.max_in_flight.map(|max| max.get() as i32),
            previous_secrets: seal_retired(&endpoint.retired_secrets, cipher),
            health: HealthRow::encode(&endpoint.health),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone(),
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }

    pub fn decode(self, cipher: &SecretCipher) -> Result<Endpoint, StoreError> {
        let headers: BTreeMap<String, String> =
            serde_json::from_str(&self.headers).map_err(|e| corrupt("endpoints.headers", e))?;
        let secret = cipher.open(&self.secret).map_err(|e| corrupt("endpoints.secret", e))?;
        Ok(Endpoint {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(|e| corrupt("endpoints.tenant_id", e))?,
            id: EndpointId::parse(&self.id).map_err(|e| corrupt("endpoints.id", e))?,
            url: EndpointUrl::parse(&self.url).map_err(|e| corrupt("endpoints.url", e))?,
            description: self.description,
            event_types: parse_list("endpoints.event_types", self.event_types, EventTypeName::parse)?,
            channels: parse_list("endpoints.channels", self.channels, Channel::parse)?,
            headers: CustomHeaders::from_trusted(headers),
            secret: SigningSecret::from_bytes(secret),
            retry_schedule: self
                .retry_schedule
                .map(|raw| {
                    let seconds: Vec<u64> =
                        serde_json::from_str(&raw).map_err(|e| corrupt("endpoints.retry_schedule", e))?;
                    RetrySchedule::parse(&seconds).map_err(|e| corrupt("endpoints.retry_schedule", e))
                })
                .transpose()?,
            api_version: parse_version("endpoints.api_version", self.api_version)?,
            throttle: throttle_of(self.delivery_per_second, self.max_in_flight)?,
            retired_secrets: open_retired(self.previous_secrets, cipher)?,
            health: self.health.decode()?,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub tenant_id: Option<String>,
    pub digest: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    pub fn encode(token: &Token) -> Self {
        Self {
            id: token.id.to_string(),
            name: token.name.clone(),
            tenant_id: match &token.scope {
                TokenScope::Admin => None,
                TokenScope::Tenant(tenant_id) => Some(tenant_id.to_string()),
            },
            digest: token.digest.as_str().to_owned(),
            created_at: token.created_at,
            expires_at: token.expires_at,
        }
    }

    pub fn decode(self) -> Result<Token, StoreError> {
        let scope = match self.tenant_id {
            None => TokenScope::Admin,
            Some(raw) => TokenScope::Tenant(TenantId::parse(&raw).map_err(|e| corrupt("api_tokens.tenant_id", e))?),
        };
        Ok(Token {
            id: TokenId::parse(&self.id).map_err(|e| corrupt("api_tokens.id", e))?,
            name: self.name,
            scope,
            digest: TokenDigest::from_stored(self.digest),
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

pub struct EventRow {
    pub tenant_id: String,
    pub id: String,
    pub event_type: String,
    pub payload: String,
    /// JSON array text, or `None`.
    pub channels: Option<String>,
    pub idempotency_key: Option<String>,
    pub api_version: Option<String>,
    /// JSON object text (version → payload), or `None`.
    pub payloads: Option<String>,
    pub trace_context: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn parse_version(column: &str, raw: Option<String>) -> Result<Option<ApiVersionName>, StoreError> {
    raw.map(|name| ApiVersionName::parse(&name).map_err(|e| corrupt(column, e))).transpose()
}

impl EventRow {
    pub fn encode(event: &Event) -> Self {
        Self {
            tenant_id: event.tenant_id.to_string(),
            id: event.id.to_string(),
            event_type: event.event_type.to_string(),
            payload: event.payload.as_str().to_owned(),
            channels: json_list(&event.channels),
            idempotency_key: event.idempotency_key.as_ref().map(|key| key.as_str().to_owned()),
            api_version: event.api_version.as_ref().map(|version| version.to_string()),
            payloads: (!event.payloads.is_empty()).then(|| {
                let mut text = String::from("{");
                for (index, (version, payload)) in event.payloads.iter().enumerate() {
                    if index > 0 {
                        text.push(',');
                    }
                    text.push_str(&serde_json::Value::from(version.as_str()).to_string());
                    text.push(':');
                    text.push_str(payload.as_str());
                }
                text.push('}');
                text
            }),
            trace_context: event.trace_context.clone(),
            created_at: event.created_at,
        }
    }

    pub fn decode(self) -> Result<Event, StoreError> {
        Ok(Event {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(|e| corrupt("events.tenant_id", e))?,
            id: EventId::parse(&self.id).map_err(|e| corrupt("events.id", e))?,
            event_type: EventTypeName::parse(&self.event_type).map_err(|e| corrupt("events.event_type", e))?,
            payload: EventPayload::from_trusted(self.payload),
            channels: parse_list("events.channels", self.channels, Channel::parse)?,
            idempotency_key: self
                .idempotency_key
                .map(|key| IdempotencyKey::parse(&key).map_err(|e| corrupt("events.idempotency_key", e)))
                .transpose()?,
            api_version: parse_version("events.api_version", self.api_version)?,
            payloads: match self.payloads {
                None => BTreeMap::new(),
                Some(raw) => {
                    let map: BTreeMap<String, Box<serde_json::value::RawValue>> =
                        serde_json::from_str(&raw).map_err(|e| corrupt("events.payloads", e))?;
                    map.into_iter()
                        .map(|(version, payload)| {
                            let version = ApiVersionName::parse(&version).map_err(|e| corrupt("events.payloads", e))?;
                            Ok((version, EventPayload::from_trusted(payload.get().to_owned())))
                        })
                        .collect::<Result<_, StoreError>>()?
                }
            },
            trace_context: self.trace_context,
            created_at: self.created_at,
        })
    }
}

pub struct DeliveryRow {
    pub tenant_id: String,
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub status: String,
    pub attempt_count: i32,
    pub due_at: Option<DateTime<Utc>>,
    /// `None` for a scheduled attempt.
    pub next_trigger: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether a claim token is set: the delivery is being sent (see `query::LEASED`).
    pub leased: bool,
    /// When the lease runs out, if leased.
    pub leased_until: Option<DateTime<Utc>>,
}

impl DeliveryRow {
    pub fn decode(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(|e| corrupt("deliveries.tenant_id", e))?,
            id: DeliveryId::parse(&self.id).map_err(|e| corrupt("deliveries.id", e))?,
            event_id: EventId::parse(&self.event_id).map_err(|e| corrupt("deliveries.event_id", e))?,
            endpoint_id: EndpointId::parse(&self.endpoint_id).map_err(|e| corrupt("deliveries.endpoint_id", e))?,
            event_type: EventTypeName::parse(&self.event_type).map_err(|e| corrupt("deliveries.event_type", e))?,
            status: match self.leased {
                true => DeliveryStatus::Delivering,
                false => self.status.parse::<DeliveryStatus>().map_err(|e| corrupt("deliveries.status", e))?,
            },
            attempt_count: u32::try_from(self.attempt_count).map_err(|e| corrupt("deliveries.attempt_count", e))?,
            // While leased, the next thing due is the lease's expiry.
            due_at: if self.leased { self.leased_until.or(self.due_at) } else { self.due_at },
            next_trigger: match self.next_trigger {
                None => AttemptTrigger::Scheduled,
                Some(raw) => raw.parse::<AttemptTrigger>().map_err(|e| corrupt("deliveries.next_trigger", e))?,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The status and due time a transition writes.
pub fn transition_columns(transition: DeliveryTransition) -> (&'static str, Option<DateTime<Utc>>) {
    match transition {
        DeliveryTransition::Succeeded => (DeliveryStatus::Succeeded.as_str(), None),
        DeliveryTransition::RetryAt(at) => (DeliveryStatus::Failed.as_str(), Some(at)),
        DeliveryTransition::Exhausted => (DeliveryStatus::Exhausted.as_str(), None),
    }
}

pub struct AttemptRow {
    pub tenant_id: String,
    pub id: String,
    pub delivery_id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub attempt_number: i32,
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub url: String,
    /// JSON object text.
    pub request_headers: String,
    pub response_status: Option<i32>,
    /// JSON object text.
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub succeeded: bool,
}

fn json_map(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".into())
}

impl AttemptRow {
    pub fn encode(attempt: &Attempt) -> Self {
        Self {
            tenant_id: attempt.tenant_id.to_string(),
            id: attempt.id.to_string(),
            delivery_id: attempt.delivery_id.to_string(),
            event_id: attempt.event_id.to_string(),
            endpoint_id: attempt.endpoint_id.to_string(),
            attempt_number: attempt.attempt_number as i32,
            trigger: attempt.trigger.as_str().to_owned(),
            started_at: attempt.started_at,
            duration_ms: attempt.duration_ms,
            url: attempt.url.clone(),
            request_headers: json_map(&attempt.request_headers),
            response_status: attempt.response_status.map(i32::from),
            response_headers: attempt.response_headers.as_ref().map(json_map),
            response_body: attempt.response_body.clone(),
            error_kind: attempt.error_kind.map(|kind| kind.as_str().to_owned()),
            error_message: attempt.error_message.clone(),
            succeeded: attempt.succeeded,
        }
    }

    pub fn decode(self) -> Result<Attempt, StoreError> {
        let map = |column: &str, raw: &str| -> Result<BTreeMap<String, String>, StoreError> {
            serde_json::from_str(raw).map_err(|e| corrupt(column, e))
        };
        Ok(Attempt {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(|e| corrupt("attempts.tenant_id", e))?,
            id: AttemptId::parse(&self.id).map_err(|e| corrupt("attempts.id", e))?,
            delivery_id: DeliveryId::parse(&self.delivery_id).map_err(|e| corrupt("attempts.delivery_id", e))?,
            event_id: EventId::parse(&self.event_id).map_err(|e| corrupt("attempts.event_id", e))?,
            endpoint_id: EndpointId::parse(&self.endpoint_id).map_err(|e| corrupt("attempts.endpoint_id", e))?,
            attempt_number: u32::try_from(self.attempt_number).map_err(|e| corrupt("attempts.attempt_number", e))?,
            trigger: self.trigger.parse::<AttemptTrigger>().map_err(|e| corrupt("attempts.trigger", e))?,
            started_at: self.started_at,
            duration_ms: self.duration_ms,
            url: self.url,
            request_headers: map("attempts.request_headers", &self.request_headers)?,
            response_status: self
                .response_status
                .map(|status| u16::try_from(status).map_err(|e| corrupt("attempts.response_status", e)))
                .transpose()?,
            response_headers: self.response_headers.map(|raw| map("attempts.response_headers", &raw)).transpose()?,
            response_body: self.response_body,
            error_kind: self
                .error_kind
                .map(|kind| kind.parse::<ErrorKind>().map_err(|e| corrupt("attempts.error_kind", e)))
                .transpose()?,
            error_message: self.error_message,
            succeeded: self.succeeded,
        })
    }
}

fn first_delay(schedule_seconds: &[u64]) -> chrono::Duration {
    // Schedules are validated on the way in (at most `RetrySchedule::MAX_DELAY_SECONDS`).
    let seconds = schedule_seconds.first().copied().unwrap_or(0).min(RetrySchedule::MAX_DELAY_SECONDS);
    chrono::Duration::seconds(seconds as i64)
}

/// One finished attempt for [`crate::store::Store::complete_attempt`]: the unit a group commit
/// of attempts carries.
#[derive(Clone)]
pub struct Completion {
    pub attempt: Attempt,
    pub claim_token: String,
    pub transition: DeliveryTransition,
    pub now: DateTime<Utc>,
    pub rules: CompletionRules,
}

impl Completion {
    pub fn new(
        attempt: &Attempt,
        claim_token: &str,
        transition: DeliveryTransition,
        now: DateTime<Utc>,
        rules: &CompletionRules,
    ) -> Self {
        Self { attempt: attempt.clone(), claim_token: claim_token.to_owned(), transition, now, rules: rules.clone() }
    }
}

impl Weighed for Completion {
    fn weight(&self) -> usize {
        1
    }
}

/// One caller's events for [`crate::store::Store::ingest`]: the unit a group commit carries.
#[derive(Clone)]
pub struct Submission {
    pub events: Vec<Event>,
    /// For endpoints without their own schedule: when their first attempt is due.
    pub default_schedule: RetrySchedule,
}

impl Submission {
    pub fn new(events: &[Event], default_schedule: &RetrySchedule) -> Self {
        Self { events: events.to_vec(), default_schedule: default_schedule.clone() }
    }
}

impl Weighed for Submission {
    fn weight(&self) -> usize {
        self.events.len()
    }
}

/// What fan-out needs to know of an endpoint.
pub struct FanoutTarget {
    pub endpoint_id: String,
    pub enabled: bool,
    pub event_types: Option<Vec<EventTypeName>>,
    pub channels: Option<Vec<Channel>>,
    /// Delay before the first attempt from the endpoint's own schedule; `None` follows the default.
    pub first_delay: Option<chrono::Duration>,
}

impl FanoutTarget {
    pub fn decode(
        endpoint_id: String,
        enabled: bool,
        event_types: Option<String>,
        channels: Option<String>,
        retry_schedule: Option<String>,
    ) -> Result<Self, StoreError> {
        let first_delay = retry_schedule
            .map(|raw| {
                let seconds: Vec<u64> =
                    serde_json::from_str(&raw).map_err(|e| corrupt("endpoints.retry_schedule", e))?;
                Ok::<_, StoreError>(first_delay(&seconds))
            })
            .transpose()?;
        Ok(Self {
            endpoint_id,
            enabled,
            event_types: parse_list("endpoints.event_types", event_types, EventTypeName::parse)?,
            channels: parse_list("endpoints.channels", channels, Channel::parse)?,
            first_delay,
        })
    }

    /// Whether `event` goes to this endpoint.
    pub fn wants(&self, event: &Event) -> bool {
        let subscription = crate::domain::event::Subscription {
            enabled: self.enabled,
            event_types: self.event_types.as_deref(),
            channels: self.channels.as_deref(),
        };
        crate::domain::event::fans_out_to(&subscription, &event.event_type, event.channels.as_deref())
    }

    /// The pending delivery of `event` to this endpoint.
    pub fn delivery_for(&self, event: &Event, default_schedule: &RetrySchedule) -> DeliveryRow {
        let first_delay = self.first_delay.unwrap_or_else(|| first_delay(default_schedule.seconds()));
        DeliveryRow {
            tenant_id: event.tenant_id.to_string(),
            id: DeliveryId::generate().to_string(),
            event_id: event.id.to_string(),
            endpoint_id: self.endpoint_id.clone(),
            event_type: event.event_type.to_string(),
            status: DeliveryStatus::Pending.as_str().to_owned(),
            attempt_count: 0,
            due_at: Some(event.created_at + first_delay),
            next_trigger: None,
            created_at: event.created_at,
            updated_at: event.created_at,
            leased: false,
            leased_until: None,
        }
    }
}

pub struct ApiVersionRow {
    pub name: String,
    pub position: i32,
    pub created_at: DateTime<Utc>,
}

impl ApiVersionRow {
    pub fn decode(self) -> Result<ApiVersion, StoreError> {
        Ok(ApiVersion {
            name: ApiVersionName::parse(&self.name).map_err(|e| corrupt("api_versions.name", e))?,
            position: self.position,
            created_at: self.created_at,
        })
    }
}

pub struct EventTypeVersionRow {
    pub event_type: String,
    pub api_version: String,
    pub schema: Option<String>,
    pub downgrade: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl EventTypeVersionRow {
    pub fn encode(version: &EventTypeVersion) -> Self {
        Self {
            event_type: version.event_type.to_string(),
            api_version: version.api_version.to_string(),
            schema: version.schema.as_ref().map(serde_json::Value::to_string),
            downgrade: version.downgrade.as_ref().map(serde_json::Value::to_string),
            updated_at: version.updated_at,
        }
    }

    pub fn decode(self) -> Result<EventTypeVersion, StoreError> {
        let json = |column: &str, raw: Option<String>| {
            raw.map(|text| serde_json::from_str(&text).map_err(|e| corrupt(column, e))).transpose()
        };
        Ok(EventTypeVersion {
            event_type: EventTypeName::parse(&self.event_type)
                .map_err(|e| corrupt("event_type_versions.event_type", e))?,
            api_version: ApiVersionName::parse(&self.api_version)
                .map_err(|e| corrupt("event_type_versions.api_version", e))?,
            schema: json("event_type_versions.schema", self.schema)?,
            downgrade: json("event_type_versions.downgrade", self.downgrade)?,
            updated_at: self.updated_at,
        })
    }
}

/// An endpoint's throttle from its two columns.
fn throttle_of(delivery_per_second: Option<i32>, max_in_flight: Option<i32>) -> Result<Throttle, StoreError> {
    Ok(Throttle {
        per_second: delivery_per_second
            .map(|rate| Throttle::parse_limit(rate.into()).map_err(|e| corrupt("endpoints.delivery_per_second", e)))
            .transpose()?,
        max_in_flight: max_in_flight
            .map(|max| Throttle::parse_limit(max.into()).map_err(|e| corrupt("endpoints.max_in_flight", e)))
            .transpose()?,
    })
}

pub struct AuditRow {
    pub id: String,
    pub tenant_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub resource_id: String,
    /// JSON text.
    pub details: String,
    pub created_at: DateTime<Utc>,
}

impl AuditRow {
    pub fn encode(entry: &AuditEntry) -> Self {
        Self {
            id: entry.id.to_string(),
            tenant_id: entry.tenant_id.as_ref().map(|id| id.to_string()),
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            resource_id: entry.resource_id.clone(),
            details: entry.details.to_string(),
            created_at: entry.created_at,
        }
    }

    pub fn decode(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            id: AuditId::parse(&self.id).map_err(|e| corrupt("audit_log.id", e))?,
            tenant_id: self
                .tenant_id
                .map(|raw| TenantId::parse(&raw).map_err(|e| corrupt("audit_log.tenant_id", e)))
                .transpose()?,
            actor: self.actor,
            action: self.action,
            resource_id: self.resource_id,
            details: serde_json::from_str(&self.details).map_err(|e| corrupt("audit_log.details", e))?,
            created_at: self.created_at,
        })
    }
}

/// Adds one `(status, count)` row to `counts`.
pub fn add_status_count(counts: &mut StatusCounts, status: &str, count: i64) -> Result<(), StoreError> {
    let status = status.parse::<DeliveryStatus>().map_err(|e| corrupt("deliveries.status", e))?;
    *counts.entry(status).or_default() += u64::try_from(count).unwrap_or(0);
    Ok(())
}

/// Deliveries held back at claim time, by reason (reported with the claim, for the metrics).
#[derive(Debug, Default, Clone, Copy)]
pub struct Holds {
    pub throttled: u64,
    pub circuit: u64,
}

impl Holds {
    pub fn count(&mut self, reason: HoldReason) {
        match reason {
            HoldReason::Circuit => self.circuit += 1,
            HoldReason::Throttle => self.throttled += 1,
        }
    }

    /// The claim's result.
    pub fn batch(self, deliveries: Vec<ClaimedDelivery>) -> ClaimBatch {
        ClaimBatch { deliveries, throttled: self.throttled, circuit_held: self.circuit }
    }
}

/// The operational events an attempt causes: its endpoint's health changes and, when it
/// exhausted its delivery, `delivery.exhausted`. None for the operations tenant's own endpoints.
pub fn operational_events(
    attempt: &Attempt,
    url: &str,
    changes: &[HealthChange],
    exhausted: bool,
    now: DateTime<Utc>,
) -> Vec<Event> {
    if !operations::reports_on(&attempt.tenant_id) {
        return Vec::new();
    }
    let health = changes
        .iter()
        .map(|change| operations::health_event(&attempt.tenant_id, &attempt.endpoint_id, url, change, now));
    let delivery = exhausted.then(|| {
        operations::exhausted_event(
            &attempt.tenant_id,
            &attempt.delivery_id,
            &attempt.event_id,
            &attempt.endpoint_id,
            attempt.attempt_number,
            now,
        )
    });
    health
        .chain(delivery)
        .map(|operational| Event {
            tenant_id: operations::tenant_id(),
            id: EventId::generate(),
            event_type: operational.event_type,
            payload: operational.payload,
            channels: None,
            idempotency_key: None,
            api_version: None,
            payloads: BTreeMap::new(),
            trace_context: crate::telemetry::trace_context::current(),
            created_at: now,
        })
        .collect()
}

/// The reason an endpoint was disabled by `changes`, if it was.
pub fn disabled_reason(changes: &[HealthChange]) -> Option<&str> {
    changes.iter().find_map(|change| match change {
        HealthChange::Disabled { reason } => Some(reason.as_str()),
        _ => None,
    })
}
