//! Deliveries: where each event stands for each endpoint. Listed with filters (status, endpoint,
//! event type, event, time), and retried by hand.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::AppState;
use crate::api::audit;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::event_log::find_event;
use crate::api::filters::{Window, parse_filter};
use crate::api::pagination::{ListQuery, Page};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{DeliveryId, EndpointId, EventId, TenantId};
use crate::domain::names::EventTypeName;
use crate::store::{Delivery, DeliveryFilter};

/// A delivery as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `dlv_…`
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub event_type: String,
    /// `pending`, `delivering`, `succeeded`, `failed` (will retry), `exhausted` or `cancelled`.
    pub status: String,
    pub attempt_count: u32,
    /// What the next attempt will be: `scheduled`, `manual` (retry) or `recovery` (recover).
    pub next_trigger: String,
    /// When the next attempt is due (pending and failed deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryOut {
    fn from(delivery: Delivery) -> Self {
        let next_attempt_at = match delivery.status {
            DeliveryStatus::Pending | DeliveryStatus::Failed => delivery.due_at,
            _ => None,
        };
        Self {
            id: delivery.id.to_string(),
            event_id: delivery.event_id.to_string(),
            endpoint_id: delivery.endpoint_id.to_string(),
            event_type: delivery.event_type.to_string(),
            status: delivery.status.to_string(),
            attempt_count: delivery.attempt_count,
            next_trigger: delivery.next_trigger.to_string(),
            next_attempt_at,
            created_at: delivery.created_at,
            updated_at: delivery.updated_at,
        }
    }
}

/// Filters of `list_deliveries`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivering`, `succeeded`, `failed`, `exhausted` or `cancelled`.
    pub status: Option<String>,
    /// Only deliveries to this endpoint (`ep_…`).
    pub endpoint_id: Option<String>,
    /// Only deliveries of events of this type.
    pub event_type: Option<String>,
    /// Only deliveries of this event (`evt_…`).
    pub event_id: Option<String>,
}

impl DeliveryQuery {
    fn filter(&self, window: &Window) -> Result<DeliveryFilter, ApiError> {
        Ok(DeliveryFilter {
            status: parse_filter("status", self.status.as_deref(), str::parse::<DeliveryStatus>)?,
            endpoint_id: parse_filter("endpoint_id", self.endpoint_id.as_deref(), EndpointId::parse)?,
            event_type: parse_filter("event_type", self.event_type.as_deref(), EventTypeName::parse)?,
            event_id: parse_filter("event_id", self.event_id.as_deref(), EventId::parse)?,
            created: window.id_range(DeliveryId::lowest_at)?,
        })
    }
}

/// The tenant's delivery with id `raw`, or 404 (also for ids that are not delivery ids).
pub async fn find_delivery(state: &AppState, tenant_id: &TenantId, raw: &str) -> Result<Delivery, ApiError> {
    let id = DeliveryId::parse(raw).map_err(|_| ApiError::NotFound("delivery"))?;
    state.store.find_delivery(tenant_id, &id).await?.ok_or(ApiError::NotFound("delivery"))
}

async fn delivery_page(
    state: &AppState,
    tenant_id: &TenantId,
    filter: DeliveryFilter,
    list: &ListQuery,
) -> Result<HttpResponse, ApiError> {
    let request = list.page_request(|cursor| DeliveryId::parse(cursor).map(|id| id.to_string()))?;
    let rows = state.store.list_deliveries(tenant_id, &filter, &request).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, &request, |delivery| delivery.id.to_string(), DeliveryOut::from)))
}

/// List a tenant's deliveries, newest first, with filters.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/deliveries", tag = "deliveries", operation_id = "list_deliveries",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"), DeliveryQuery, Window, ListQuery),
    responses(
        (status = 200, description = "One page of deliveries", body = Page<DeliveryOut>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_deliveries(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DeliveryQuery>,
    window: web::Query<Window>,
    list: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    delivery_page(&state, &tenant.id, query.filter(&window)?, &list).await
}

/// List the deliveries of an event, one per endpoint it fanned out to, newest first.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/events/{event}/deliveries", tag = "deliveries", operation_id = "list_event_deliveries",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("event" = String, Path, description = "Event id (`evt_…`)"),
        ListQuery,
    ),
    responses(
        (status = 200, description = "One page of the event's deliveries", body = Page<DeliveryOut>),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or event", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_event_deliveries(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    list: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let event = find_event(&state, &tenant.id, &path.1).await?;
    let filter = DeliveryFilter { event_id: Some(event.id), ..DeliveryFilter::default() };
    delivery_page(&state, &tenant.id, filter, &list).await
}

/// Get a delivery.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/deliveries/{delivery}", tag = "deliveries", operation_id = "get_delivery",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("delivery" = String, Path, description = "Delivery id (`dlv_…`)"),
    ),
    responses(
        (status = 200, description = "The delivery", body = DeliveryOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or delivery", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_delivery(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let delivery = find_delivery(&state, &tenant.id, &path.1).await?;
    Ok(HttpResponse::Ok().json(DeliveryOut::from(delivery)))
}

/// Send a delivery again now, whatever its state. The attempt is recorded with trigger `manual`
/// and bypasses an open circuit (not the endpoint's rate limit); if it fails, the delivery's retry
/// schedule continues where it stood.
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/deliveries/{delivery}/retry", tag = "deliveries", operation_id = "retry_delivery",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("delivery" = String, Path, description = "Delivery id (`dlv_…`)"),
    ),
    responses(
        (status = 202, description = "Queued for a manual attempt now", body = DeliveryOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or delivery", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn retry_delivery(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let id = DeliveryId::parse(&path.1).map_err(|_| ApiError::NotFound("delivery"))?;
    let delivery =
        state.store.retry_delivery(&tenant.id, &id, state.clock.now()).await?.ok_or(ApiError::NotFound("delivery"))?;
    audit::record(&state, &principal, Some(&tenant.id), "delivery.retried", id.as_str(), serde_json::json!({})).await;
    Ok(HttpResponse::Accepted().json(DeliveryOut::from(delivery)))
}
