//! An endpoint's health at a glance: deliveries by status over a window, the success rate, the
//! last success and failure, and the circuit breaker's state.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::endpoints::find_endpoint;
use crate::api::errors::{ApiError, Problem};
use crate::api::filters::{Window, bad_request, parse_time};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::health::CircuitState;
use crate::domain::ids::DeliveryId;
use crate::store::IdRange;

/// The window `get_endpoint_stats` covers when `since` is absent.
const DEFAULT_WINDOW: Duration = Duration::hours(24);

/// An endpoint's delivery statistics and health.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointStatsOut {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Deliveries created in the window, by status (every status is listed).
    pub deliveries: BTreeMap<String, u64>,
    /// Succeeded ÷ (succeeded + failed + exhausted) in the window; absent when none finished.
    pub success_rate: Option<f64>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// The first failure since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    /// `closed`, `open` or `half_open`.
    pub circuit_state: String,
    /// When an open circuit lets its next probe through.
    pub circuit_retry_at: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
}

/// Get an endpoint's delivery statistics over a window (default: the last 24 hours) and its health.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/endpoints/{endpoint}/stats", tag = "endpoints", operation_id = "get_endpoint_stats",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("endpoint" = String, Path, description = "Endpoint id (`ep_…`)"),
        Window,
    ),
    responses(
        (status = 200, description = "The statistics", body = EndpointStatsOut),
        (status = 400, description = "Invalid window", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_endpoint_stats(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    window: web::Query<Window>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let endpoint = find_endpoint(&state, &tenant.id, &path.1).await?;
    let now = state.clock.now();
    let until = window.until.as_deref().map(|raw| parse_time("until", raw)).transpose()?;
    let since = window.since.as_deref().map(|raw| parse_time("since", raw)).transpose()?;
    let since = since.unwrap_or(until.unwrap_or(now) - DEFAULT_WINDOW);
    if until.is_some_and(|until| until < since) {
        return Err(bad_request("until", "`until` must not be before `since`"));
    }
    // Without `until` the window stays open, so deliveries created this instant count too.
    let range = IdRange { from: Some(DeliveryId::lowest_at(since)), to: until.map(DeliveryId::lowest_at) };
    let counts = state.store.endpoint_delivery_counts(&tenant.id, &endpoint.id, &range).await?;
    let count = |status| counts.get(&status).copied().unwrap_or(0);
    let finished = count(DeliveryStatus::Succeeded) + count(DeliveryStatus::Failed) + count(DeliveryStatus::Exhausted);
    let health = endpoint.health;
    Ok(HttpResponse::Ok().json(EndpointStatsOut {
        since,
        until: until.unwrap_or(now),
        deliveries: DeliveryStatus::ALL.iter().map(|status| (status.to_string(), count(*status))).collect(),
        success_rate: (finished > 0).then(|| count(DeliveryStatus::Succeeded) as f64 / finished as f64),
        last_success_at: health.last_success_at,
        last_failure_at: health.last_failure_at,
        consecutive_failures: health.consecutive_failures,
        failing_since: health.failing_since,
        circuit_state: health.circuit.to_string(),
        circuit_retry_at: (health.circuit != CircuitState::Closed).then_some(health.circuit_until).flatten(),
        enabled: endpoint.enabled,
        disabled_reason: endpoint.disabled_reason,
    }))
}
