//! Reading events back: listed with filters (type, channel, time), each with a summary of where
//! its deliveries stand.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::events::EventOut;
use crate::api::filters::{Window, parse_filter};
use crate::api::pagination::{ListQuery, Page};
use crate::domain::ids::{EventId, TenantId};
use crate::domain::names::{Channel, EventTypeName};
use crate::store::{Event, EventFilter, StatusCounts};

/// An event with its deliveries counted by status.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventWithDeliveriesOut {
    #[serde(flatten)]
    pub event: EventOut,
    /// The event's deliveries by status, e.g. `{"succeeded": 2, "failed": 1}`.
    pub deliveries: BTreeMap<String, u64>,
}

impl EventWithDeliveriesOut {
    fn new(event: Event, counts: Option<&StatusCounts>) -> Self {
        let deliveries = counts
            .map(|counts| counts.iter().map(|(status, count)| (status.to_string(), *count)).collect())
            .unwrap_or_default();
        Self { event: EventOut::new(event, None), deliveries }
    }
}

/// Filters of `list_events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only events of this type.
    pub event_type: Option<String>,
    /// Only events published on this channel.
    pub channel: Option<String>,
}

/// The tenant's event with id `raw`, or 404 (also for ids that are not event ids).
pub async fn find_event(state: &AppState, tenant_id: &TenantId, raw: &str) -> Result<Event, ApiError> {
    let id = EventId::parse(raw).map_err(|_| ApiError::NotFound("event"))?;
    state.store.find_event(tenant_id, &id).await?.ok_or(ApiError::NotFound("event"))
}

/// List a tenant's events, newest first, with filters.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/events", tag = "events", operation_id = "list_events",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"), EventQuery, Window, ListQuery),
    responses(
        (status = 200, description = "One page of events", body = Page<EventWithDeliveriesOut>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_events(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<EventQuery>,
    window: web::Query<Window>,
    list: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    let filter = EventFilter {
        event_type: parse_filter("event_type", query.event_type.as_deref(), EventTypeName::parse)?,
        channel: parse_filter("channel", query.channel.as_deref(), Channel::parse)?,
        created: window.id_range(EventId::lowest_at)?,
    };
    let request = list.page_request(|cursor| EventId::parse(cursor).map(|id| id.to_string()))?;
    let rows = state.store.list_events(&tenant.id, &filter, &request).await?;
    let ids: Vec<EventId> = rows.iter().take(request.limit).map(|event| event.id.clone()).collect();
    let counts = state.store.event_delivery_counts(&tenant.id, &ids).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        &request,
        |event| event.id.to_string(),
        |event| {
            let event_counts = counts.get(&event.id);
            EventWithDeliveriesOut::new(event, event_counts)
        },
    )))
}

/// Get an event with its deliveries counted by status.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/events/{event}", tag = "events", operation_id = "get_event",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("event" = String, Path, description = "Event id (`evt_…`)"),
    ),
    responses(
        (status = 200, description = "The event", body = EventWithDeliveriesOut),
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
    let event = find_event(&state, &tenant.id, &path.1).await?;
    let counts = state.store.event_delivery_counts(&tenant.id, std::slice::from_ref(&event.id)).await?;
    let event_counts = counts.get(&event.id);
    Ok(HttpResponse::Ok().json(EventWithDeliveriesOut::new(event, event_counts)))
}
