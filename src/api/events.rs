//! Event ingest: one event or a batch of up to 1,000, each stored with its deliveries in one
//! transaction and acknowledged (202) only after commit. Idempotency keys make retries safe.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tracing::Instrument;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::json::Json;
use crate::domain::event::{EventPayload, IdempotencyKey};
use crate::domain::ids::{EventId, TenantId};
use crate::domain::names::{Channel, EventTypeName};
use crate::domain::validation::{FieldError, FieldErrors};
use crate::domain::versions::{ApiVersionName, PayloadSchema};
use crate::store::{Event, Ingested};
use crate::telemetry::trace_context;

/// The most events one batch may carry.
pub const MAX_BATCH: usize = 1000;

/// An event as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// `evt_…`, also the `webhook-id` header of every webhook for this event.
    pub id: String,
    pub tenant_id: String,
    pub event_type: String,
    /// The payload exactly as submitted.
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
    pub channels: Option<Vec<String>>,
    pub idempotency_key: Option<String>,
    /// The API version `payload` is written in.
    pub api_version: Option<String>,
    pub created_at: DateTime<Utc>,
    /// On ingest: `true` when the idempotency key was seen before and this is the original event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed: Option<bool>,
}

impl EventOut {
    pub fn new(event: Event, replayed: Option<bool>) -> Self {
        let payload = RawValue::from_string(event.payload.as_str().to_owned())
            .unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).expect("`{}` is JSON"));
        Self {
            id: event.id.to_string(),
            tenant_id: event.tenant_id.to_string(),
            event_type: event.event_type.to_string(),
            payload,
            channels: event.channels.map(|channels| channels.iter().map(|c| c.as_str().to_owned()).collect()),
            idempotency_key: event.idempotency_key.map(|key| key.as_str().to_owned()),
            api_version: event.api_version.map(|version| version.to_string()),
            created_at: event.created_at,
            replayed,
        }
    }
}

/// Body of `create_event`, and each item of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvent {
    /// An existing, non-archived event type.
    pub event_type: String,
    /// A JSON object in `api_version`, at most `ingest.max_payload_bytes` (default 256 KiB).
    /// Required unless `payloads` holds that version.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Box<RawValue>>,
    /// The API version `payload` is written in; the newest when absent.
    pub api_version: Option<String>,
    /// Explicit payloads for other versions, by version name; they win over downgrade transforms.
    #[schema(value_type = Option<BTreeMap<String, Object>>)]
    pub payloads: Option<BTreeMap<String, Box<RawValue>>>,
    /// Only endpoints subscribed to one of these channels (or to no channel filter) receive it.
    pub channels: Option<Vec<String>>,
    /// Alternative to the `Idempotency-Key` header (required for idempotency inside a batch).
    pub idempotency_key: Option<String>,
}

/// Body of `create_event_batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventBatch {
    /// 1 to 1,000 events, accepted or refused as a whole.
    pub events: Vec<CreateEvent>,
}

/// The events of a batch, in submission order.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventBatchOut {
    pub data: Vec<EventOut>,
}

/// What validating a request's events needs to look up, fetched once per request.
struct IngestContext {
    /// Oldest first.
    versions: Vec<ApiVersionName>,
    /// Whether each event type seen exists and accepts events.
    active_types: BTreeMap<EventTypeName, bool>,
    /// Compiled schemas per event type and version.
    schemas: BTreeMap<(EventTypeName, ApiVersionName), Arc<PayloadSchema>>,
}

impl IngestContext {
    async fn load(state: &AppState) -> Result<Self, ApiError> {
        let versions = state.store.list_api_versions().await?.into_iter().map(|version| version.name).collect();
        Ok(Self { versions, active_types: BTreeMap::new(), schemas: BTreeMap::new() })
    }

    /// Looks the event type up (once per request), loading its per-version schemas with it.
    async fn is_active(&mut self, state: &AppState, name: &EventTypeName) -> Result<bool, ApiError> {
        if let Some(active) = self.active_types.get(name) {
            return Ok(*active);
        }
        let active = state.store.find_event_type(name).await?.is_some_and(|found| !found.archived);
        if active {
            for definition in state.store.list_event_type_versions(name).await? {
                if let Some(schema) = &definition.schema {
                    let compiled = PayloadSchema::compile(schema)
                        .map_err(|error| ApiError::Internal(format!("stored schema of {name}: {error}")))?;
                    self.schemas.insert((name.clone(), definition.api_version), Arc::new(compiled));
                }
            }
        }
        self.active_types.insert(name.clone(), active);
        Ok(active)
    }

    fn version(&self, raw: &str) -> Option<ApiVersionName> {
        self.versions.iter().find(|version| version.as_str() == raw).cloned()
    }

    /// Records each schema violation of `payload` under `field` + its JSON pointer.
    fn check_schema(
        &self,
        errors: &mut FieldErrors,
        field: &str,
        event_type: &EventTypeName,
        version: &ApiVersionName,
        payload: &EventPayload,
    ) {
        let Some(schema) = self.schemas.get(&(event_type.clone(), version.clone())) else { return };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(payload.as_str()) else { return };
        for violation in schema.violations(&value) {
            errors.push(FieldError::new(format!("{field}{}", violation.pointer), violation.message));
        }
    }
}

/// Validates submitted events into records, with field paths under each item's prefix.
async fn parse_events(
    state: &AppState,
    tenant_id: &TenantId,
    submitted: &[(String, &CreateEvent)],
    header_key: Option<&str>,
    trace_context: Option<String>,
) -> Result<Vec<Event>, ApiError> {
    let mut errors = FieldErrors::default();
    let mut context = IngestContext::load(state).await?;
    let limit = state.limits.max_payload_bytes;
    let now = state.clock.now();
    let mut events = Vec::with_capacity(submitted.len());
    for (prefix, body) in submitted {
        let field = |name: &str| format!("{prefix}{name}");
        let mut event_type = errors.check(&field("event_type"), EventTypeName::parse(&body.event_type));
        if let Some(name) = &event_type
            && !context.is_active(state, name).await?
        {
            errors.push(FieldError::new(field("event_type"), format!("no active event type named `{name}` exists")));
            event_type = None;
        }
        let api_version = match &body.api_version {
            None => Some(context.versions.last().cloned()),
            Some(raw) => match context.version(raw) {
                Some(version) => Some(Some(version)),
                None => {
                    errors.push(FieldError::new(field("api_version"), format!("no API version named `{raw}` exists")));
                    None
                }
            },
        };
        let mut explicit = BTreeMap::new();
        for (raw_version, raw_payload) in body.payloads.iter().flatten() {
            let path = format!("{}.{raw_version}", field("payloads"));
            match context.version(raw_version) {
                None => errors.push(FieldError::new(path, format!("no API version named `{raw_version}` exists"))),
                Some(version) => {
                    if let Some(payload) = errors.check(&path, EventPayload::parse(raw_payload, limit)) {
                        explicit.insert(version, payload);
                    }
                }
            }
        }
        let payload = match (&body.payload, api_version.as_ref().and_then(|version| version.as_ref())) {
            (Some(raw), _) => errors.check(&field("payload"), EventPayload::parse(raw, limit)),
            (None, Some(version)) if explicit.contains_key(version) => explicit.get(version).cloned(),
            (None, _) => {
                errors
                    .push(FieldError::new(field("payload"), "is required unless `payloads` holds the event's version"));
                None
            }
        };
        if let (Some(event_type), Some(Some(version))) = (&event_type, &api_version) {
            if let Some(payload) = &payload {
                context.check_schema(&mut errors, &field("payload"), event_type, version, payload);
            }
            for (explicit_version, explicit_payload) in &explicit {
                let path = format!("{}.{explicit_version}", field("payloads"));
                context.check_schema(&mut errors, &path, event_type, explicit_version, explicit_payload);
            }
        }
        let channels = match &body.channels {
            None => Some(None),
            Some(raw) if raw.len() > Channel::MAX_PER_ITEM => {
                errors.push(FieldError::new(field("channels"), format!("at most {} channels", Channel::MAX_PER_ITEM)));
                None
            }
            Some(raw) => raw
                .iter()
                .enumerate()
                .map(|(index, channel)| {
                    errors.check(&format!("{}[{index}]", field("channels")), Channel::parse(channel))
                })
                .collect::<Option<Vec<_>>>()
                .map(Some),
        };
        let key = match (&body.idempotency_key, header_key) {
            (Some(field_key), Some(header)) if field_key != header => {
                errors.push(FieldError::new(field("idempotency_key"), "differs from the Idempotency-Key header"));
                None
            }
            (Some(raw), _) => errors.check(&field("idempotency_key"), IdempotencyKey::parse(raw)).map(Some),
            (None, Some(raw)) => errors.check("Idempotency-Key", IdempotencyKey::parse(raw)).map(Some),
            (None, None) => Some(None),
        };
        if let (Some(event_type), Some(payload), Some(channels), Some(idempotency_key), Some(api_version)) =
            (event_type, payload, channels, key, api_version)
        {
            events.push(Event {
                tenant_id: tenant_id.clone(),
                id: EventId::generate(),
                event_type,
                payload,
                channels,
                idempotency_key,
                api_version,
                payloads: explicit,
                trace_context: trace_context.clone(),
                created_at: now,
            });
        }
    }
    errors.finish().map_err(ApiError::Validation)?;
    Ok(events)
}
/// Validates and stores submitted events, in spans: `event.ingest` (validation and the whole
/// store call) and, inside it, `event.fanout` (the transaction writing the events and one
/// delivery per matching endpoint; it records how many deliveries that made).
async fn ingest(
    state: &AppState,
    tenant_id: &TenantId,
    submitted: &[(String, &CreateEvent)],
    header_key: Option<&str>,
    trace_context: Option<String>,
) -> Result<Vec<Ingested>, ApiError> {
    let span = tracing::info_span!("event.ingest", tenant = %tenant_id, events = submitted.len());
    async {
        let events = parse_events(state, tenant_id, submitted, header_key, trace_context).await?;
        let fanout = tracing::info_span!("event.fanout", deliveries = tracing::field::Empty);
        let ingested = state.store.ingest(&events, &state.default_schedule).instrument(fanout.clone()).await?;
        let deliveries: usize = ingested
            .iter()
            .map(|result| match result {
                Ingested::Created { deliveries, .. } => *deliveries,
                Ingested::Replayed(_) => 0,
            })
            .sum();
        fanout.record("deliveries", deliveries);
        count_ingested(state, &ingested);
        Ok(ingested)
    }
    .instrument(span)
    .await
}

fn count_ingested(state: &AppState, ingested: &[Ingested]) {
    let replayed = ingested.iter().filter(|result| matches!(result, Ingested::Replayed(_))).count() as u64;
    state.metrics.events_ingested.inc_by(ingested.len() as u64 - replayed);
    state.metrics.events_deduplicated.inc_by(replayed);
}

/// The trace context to store with the request's events: the request span's (which continues a
/// `traceparent` the client sent) or, when spans carry no OpenTelemetry context, the client's own.
fn request_trace_context(request: &HttpRequest) -> Option<String> {
    trace_context::current().or_else(|| {
        let header = request.headers().get("traceparent")?.to_str().ok()?;
        trace_context::parse(header).map(|context| trace_context::format(&context))
    })
}

fn idempotency_header(request: &HttpRequest) -> Result<Option<&str>, ApiError> {
    match request.headers().get("idempotency-key") {
        None => Ok(None),
        Some(value) => {
            value.to_str().map(Some).map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))
        }
    }
}

/// Submit an event: stored with one delivery per matching endpoint, acknowledged after commit.
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/events", tag = "events", operation_id = "create_event",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key returns the original event"),
    ),
    request_body = CreateEvent,
    responses(
        (status = 202, description = "Accepted: stored durably, deliveries queued", body = EventOut),
        (status = 200, description = "Replay: the idempotency key was used before; this is the original event", body = EventOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The tenant's ingest limit is exceeded; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_event(
    principal: Principal,
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
    body: Json<CreateEvent>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    let budget = state.ingest_limiter.admit(&tenant.id, tenant.ingest_limit, 1)?;
    let header_key = idempotency_header(&request)?;
    let trace = request_trace_context(&request);
    let ingested = ingest(&state, &tenant.id, &[(String::new(), &body.0)], header_key, trace).await?;
    let (mut response, event, replayed) = match ingested.into_iter().next() {
        Some(Ingested::Created { event, .. }) => (HttpResponse::Accepted(), event, false),
        Some(Ingested::Replayed(event)) => (HttpResponse::Ok(), event, true),
        None => return Err(ApiError::Internal("the store returned no result for one event".into())),
    };
    if replayed {
        response.insert_header(("idempotent-replayed", "true"));
    }
    if let Some(budget) = budget {
        budget.apply(&mut response);
    }
    Ok(response.json(EventOut::new(event, Some(replayed))))
}

/// Submit up to 1,000 events at once, accepted or refused as a whole.
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/events/batch", tag = "events", operation_id = "create_event_batch",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid")),
    request_body = CreateEventBatch,
    responses(
        (status = 202, description = "Accepted: every event stored durably", body = EventBatchOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The tenant's ingest limit is exceeded; nothing was stored", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_event_batch(
    principal: Principal,
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
    body: Json<CreateEventBatch>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    let batch = body.0.events;
    if batch.is_empty() || batch.len() > MAX_BATCH {
        return Err(ApiError::invalid("events", format!("must hold between 1 and {MAX_BATCH} events")));
    }
    let budget = state.ingest_limiter.admit(&tenant.id, tenant.ingest_limit, batch.len())?;
    let submitted: Vec<(String, &CreateEvent)> =
        batch.iter().enumerate().map(|(index, event)| (format!("events[{index}]."), event)).collect();
    let ingested = ingest(&state, &tenant.id, &submitted, None, request_trace_context(&request)).await?;
    let data = ingested
        .into_iter()
        .map(|result| match result {
            Ingested::Created { event, .. } => EventOut::new(event, Some(false)),
            Ingested::Replayed(event) => EventOut::new(event, Some(true)),
        })
        .collect();
    let mut response = HttpResponse::Accepted();
    if let Some(budget) = budget {
        budget.apply(&mut response);
    }
    Ok(response.json(EventBatchOut { data }))
}
