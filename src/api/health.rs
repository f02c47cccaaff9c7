//! Liveness and readiness probes for orchestrators and load balancers.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::errors::{ApiError, Problem};

/// Probe answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    pub status: String,
}

/// Liveness: the process is serving HTTP.
#[utoipa::path(
    get, path = "/health", tag = "health", operation_id = "health",
    responses((status = 200, description = "Alive", body = HealthOut))
)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthOut { status: "ok".into() })
}

/// Readiness: the database answers and its schema matches this binary.
#[utoipa::path(
    get, path = "/ready", tag = "health", operation_id = "ready",
    responses(
        (status = 200, description = "Ready", body = HealthOut),
        (status = 503, description = "Database unreachable or schema not current", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.check_ready().await.map_err(|error| ApiError::Unavailable(error.to_string()))?;
    Ok(HttpResponse::Ok().json(HealthOut { status: "ready".into() }))
}
