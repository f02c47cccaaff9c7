//! The attempt log: every HTTP try with the request sent (secrets redacted), the response
//! received (status, headers, body excerpt), the error kind and the duration. Append-only.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::deliveries::find_delivery;
use crate::api::errors::{ApiError, Problem};
use crate::api::filters::{Window, parse_filter};
use crate::api::pagination::{ListQuery, Page};
use crate::domain::delivery::ErrorKind;
use crate::domain::ids::{AttemptId, DeliveryId, EndpointId, EventId, TenantId};
use crate::store::{Attempt, AttemptFilter};

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
    /// `scheduled`, `manual` (retry) or `recovery` (recover).
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
    /// `http_status`, `timeout`, `connect`, `dns`, `tls`, `blocked` or `version_unavailable`; absent on success.
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

/// Filters of `list_attempts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttemptQuery {
    /// Only attempts of this delivery (`dlv_…`).
    pub delivery_id: Option<String>,
    /// Only attempts to this endpoint (`ep_…`).
    pub endpoint_id: Option<String>,
    /// Only attempts for this event (`evt_…`).
    pub event_id: Option<String>,
    /// `succeeded` or `failed`.
    pub result: Option<String>,
    /// Only failed attempts with this error kind (`http_status`, `timeout`, …).
    pub error_kind: Option<String>,
}

fn parse_result(raw: &str) -> Result<bool, &'static str> {
    match raw {
        "succeeded" => Ok(true),
        "failed" => Ok(false),
        _ => Err("expected `succeeded` or `failed`"),
    }
}

impl AttemptQuery {
    fn filter(&self, window: &Window) -> Result<AttemptFilter, ApiError> {
        Ok(AttemptFilter {
            delivery_id: parse_filter("delivery_id", self.delivery_id.as_deref(), DeliveryId::parse)?,
            endpoint_id: parse_filter("endpoint_id", self.endpoint_id.as_deref(), EndpointId::parse)?,
            event_id: parse_filter("event_id", self.event_id.as_deref(), EventId::parse)?,
            succeeded: parse_filter("result", self.result.as_deref(), parse_result)?,
            error_kind: parse_filter("error_kind", self.error_kind.as_deref(), str::parse::<ErrorKind>)?,
            started: window.id_range(AttemptId::lowest_at)?,
        })
    }
}

async fn attempt_page(
    state: &AppState,
    tenant_id: &TenantId,
    filter: AttemptFilter,
    list: &ListQuery,
) -> Result<HttpResponse, ApiError> {
    let request = list.page_request(|cursor| AttemptId::parse(cursor).map(|id| id.to_string()))?;
    let rows = state.store.list_attempts(tenant_id, &filter, &request).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, &request, |attempt| attempt.id.to_string(), AttemptOut::from)))
}

/// List a tenant's attempts, newest first, with filters.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/attempts", tag = "deliveries", operation_id = "list_attempts",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"), AttemptQuery, Window, ListQuery),
    responses(
        (status = 200, description = "One page of attempts", body = Page<AttemptOut>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_attempts(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<AttemptQuery>,
    window: web::Query<Window>,
    list: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    attempt_page(&state, &tenant.id, query.filter(&window)?, &list).await
}

/// List the attempts of a delivery, newest first.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/deliveries/{delivery}/attempts", tag = "deliveries", operation_id = "list_delivery_attempts",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("delivery" = String, Path, description = "Delivery id (`dlv_…`)"),
        ListQuery,
    ),
    responses(
        (status = 200, description = "One page of the delivery's attempts", body = Page<AttemptOut>),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or delivery", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_delivery_attempts(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    list: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let delivery = find_delivery(&state, &tenant.id, &path.1).await?;
    let filter = AttemptFilter { delivery_id: Some(delivery.id), ..AttemptFilter::default() };
    attempt_page(&state, &tenant.id, filter, &list).await
}

/// Get an attempt with everything that was sent and received.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/attempts/{attempt}", tag = "deliveries", operation_id = "get_attempt",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("attempt" = String, Path, description = "Attempt id (`att_…`)"),
    ),
    responses(
        (status = 200, description = "The attempt", body = AttemptOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or attempt", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_attempt(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let id = AttemptId::parse(&path.1).map_err(|_| ApiError::NotFound("attempt"))?;
    let attempt = state.store.find_attempt(&tenant.id, &id).await?.ok_or(ApiError::NotFound("attempt"))?;
    Ok(HttpResponse::Ok().json(AttemptOut::from(attempt)))
}
