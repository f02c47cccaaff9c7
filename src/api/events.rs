//! Event ingest: one event or a batch of up to 1,000, each stored with its deliveries in one
//! transaction and acknowledged (202) only after commit. Idempotency keys make retries safe.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::json::Json;
use crate::domain::event::{EventPayload, IdempotencyKey};
use crate::domain::ids::{EventId, TenantId};
use crate::domain::names::{Channel, EventTypeName};
use crate::domain::validation::{FieldError, FieldErrors};
use crate::store::{Event, Ingested};

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
    /// A JSON object, at most `ingest.max_payload_bytes` (default 256 KiB).
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
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

/// Validates submitted events into records, with field paths under `prefix`.
async fn parse_events(
    state: &AppState,
    tenant_id: &TenantId,
    submitted: &[(String, &CreateEvent)],
    header_key: Option<&str>,
) -> Result<Vec<Event>, ApiError> {
    let mut errors = FieldErrors::default();
    let mut known_types: BTreeMap<String, bool> = BTreeMap::new();
    let now = state.clock.now();
    let mut events = Vec::with_capacity(submitted.len());
    for (prefix, body) in submitted {
        let field = |name: &str| format!("{prefix}{name}");
        let event_type = errors.check(&field("event_type"), EventTypeName::parse(&body.event_type));
        if let Some(name) = &event_type {
            let usable = match known_types.get(name.as_str()) {
                Some(usable) => *usable,
                None => {
                    let usable = state.store.find_event_type(name).await?.is_some_and(|found| !found.archived);
                    known_types.insert(name.to_string(), usable);
                    usable
                }
            };
            if !usable {
                errors
                    .push(FieldError::new(field("event_type"), format!("no active event type named `{name}` exists")));
            }
        }
        let payload =
            errors.check(&field("payload"), EventPayload::parse(&body.payload, state.limits.max_payload_bytes));
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
        if let (Some(event_type), Some(payload), Some(channels), Some(idempotency_key)) =
            (event_type, payload, channels, key)
        {
            events.push(Event {
                tenant_id: tenant_id.clone(),
                id: EventId::generate(),
                event_type,
                payload,
                channels,
                idempotency_key,
                created_at: now,
            });
        }
    }
    errors.finish().map_err(ApiError::Validation)?;
    Ok(events)
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
    let header_key = idempotency_header(&request)?;
    let events = parse_events(&state, &tenant.id, &[(String::new(), &body.0)], header_key).await?;
    let ingested = state.store.ingest(&events, &state.default_schedule).await?;
    match ingested.into_iter().next() {
        Some(Ingested::Created { event, .. }) => Ok(HttpResponse::Accepted().json(EventOut::new(event, Some(false)))),
        Some(Ingested::Replayed(event)) => {
            Ok(HttpResponse::Ok().insert_header(("idempotent-replayed", "true")).json(EventOut::new(event, Some(true))))
        }
        None => Err(ApiError::Internal("the store returned no result for one event".into())),
    }
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
    ),
    security(("bearer" = []))
)]
pub async fn create_event_batch(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<CreateEventBatch>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    let batch = body.0.events;
    if batch.is_empty() || batch.len() > MAX_BATCH {
        return Err(ApiError::invalid("events", format!("must hold between 1 and {MAX_BATCH} events")));
    }
    let submitted: Vec<(String, &CreateEvent)> =
        batch.iter().enumerate().map(|(index, event)| (format!("events[{index}]."), event)).collect();
    let events = parse_events(&state, &tenant.id, &submitted, None).await?;
    let ingested = state.store.ingest(&events, &state.default_schedule).await?;
    let data = ingested
        .into_iter()
        .map(|result| match result {
            Ingested::Created { event, .. } => EventOut::new(event, Some(false)),
            Ingested::Replayed(event) => EventOut::new(event, Some(true)),
        })
        .collect();
    Ok(HttpResponse::Accepted().json(EventBatchOut { data }))
}

/// Get an event.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/events/{event}", tag = "events", operation_id = "get_event",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("event" = String, Path, description = "Event id (`evt_…`)"),
    ),
    responses(
        (status = 200, description = "The event", body = EventOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or event", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_event(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let id = EventId::parse(&path.1).map_err(|_| ApiError::NotFound("event"))?;
    let event = state.store.find_event(&tenant.id, &id).await?.ok_or(ApiError::NotFound("event"))?;
    Ok(HttpResponse::Ok().json(EventOut::new(event, None)))
}
