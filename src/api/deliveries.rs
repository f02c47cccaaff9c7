//! Deliveries and their attempts: where each event stands for each endpoint, and every HTTP try
//! with the request sent and the response received.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::events::find_event;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{DeliveryId, TenantId};
use crate::store::{Attempt, Delivery};

/// A delivery as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `dlv_…`
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    /// `pending`, `delivering`, `succeeded`, `failed` (will retry), `exhausted` or `cancelled`.
    pub status: String,
    pub attempt_count: u32,
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
            status: delivery.status.to_string(),
            attempt_count: delivery.attempt_count,
            next_attempt_at,
            created_at: delivery.created_at,
            updated_at: delivery.updated_at,
        }
    }
}

/// One HTTP try of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    /// `att_…`
    pub id: String,
    pub delivery_id: String,
    pub event_id: String,
    pub endpoint_id: String,
    /// 1 for the first try of the delivery.
    pub attempt_number: u32,
    /// `scheduled` or `manual`.
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub url: String,
    /// Headers sent; custom header values are redacted.
    pub request_headers: BTreeMap<String, String>,
    pub response_status: Option<u16>,
    pub response_headers: Option<BTreeMap<String, String>>,
    /// The first 20 KiB of the response body.
    pub response_body: Option<String>,
    /// `http_status`, `timeout`, `connect`, `dns`, `tls` or `blocked`; absent on success.
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub succeeded: bool,
}

impl From<Attempt> for AttemptOut {
    fn from(attempt: Attempt) -> Self {
        Self {
            id: attempt.id.to_string(),
            delivery_id: attempt.delivery_id.to_string(),
            event_id: attempt.event_id.to_string(),
            endpoint_id: attempt.endpoint_id.to_string(),
            attempt_number: attempt.attempt_number,
            trigger: attempt.trigger.to_string(),
            started_at: attempt.started_at,
            duration_ms: attempt.duration_ms,
            url: attempt.url,
            request_headers: attempt.request_headers,
            response_status: attempt.response_status,
            response_headers: attempt.response_headers,
            response_body: attempt.response_body,
            error_kind: attempt.error_kind.map(|kind| kind.to_string()),
            error_message: attempt.error_message,
            succeeded: attempt.succeeded,
        }
    }
}

/// Every delivery of an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryListOut {
    pub data: Vec<DeliveryOut>,
}

/// Every attempt of a delivery, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptListOut {
    pub data: Vec<AttemptOut>,
}

/// The tenant's delivery with id `raw`, or 404 (also for ids that are not delivery ids).
async fn find_delivery(state: &AppState, tenant_id: &TenantId, raw: &str) -> Result<Delivery, ApiError> {
    let id = DeliveryId::parse(raw).map_err(|_| ApiError::NotFound("delivery"))?;
    state.store.find_delivery(tenant_id, &id).await?.ok_or(ApiError::NotFound("delivery"))
}

/// List the deliveries of an event, one per endpoint it fanned out to.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/events/{event}/deliveries", tag = "deliveries", operation_id = "list_event_deliveries",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("event" = String, Path, description = "Event id (`evt_…`)"),
    ),
    responses(
        (status = 200, description = "The deliveries", body = DeliveryListOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or event", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_event_deliveries(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let event = find_event(&state, &tenant.id, &path.1).await?;
    let deliveries = state.store.list_event_deliveries(&tenant.id, &event.id).await?;
    Ok(HttpResponse::Ok().json(DeliveryListOut { data: deliveries.into_iter().map(DeliveryOut::from).collect() }))
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

/// List the attempts of a delivery, oldest first.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/deliveries/{delivery}/attempts", tag = "deliveries", operation_id = "list_delivery_attempts",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("delivery" = String, Path, description = "Delivery id (`dlv_…`)"),
    ),
    responses(
        (status = 200, description = "The attempts", body = AttemptListOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or delivery", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_delivery_attempts(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let delivery = find_delivery(&state, &tenant.id, &path.1).await?;
    let attempts = state.store.list_delivery_attempts(&tenant.id, &delivery.id).await?;
    Ok(HttpResponse::Ok().json(AttemptListOut { data: attempts.into_iter().map(AttemptOut::from).collect() }))
}
