//! Endpoint signing secrets: reading the current one and rotating it. After a rotation the old
//! secret keeps signing (both signatures in `webhook-signature`) for the grace period, so a
//! subscriber can switch over without rejecting a single webhook.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::audit;
use crate::api::auth::Principal;
use crate::api::endpoints::find_endpoint;
use crate::api::errors::{ApiError, Problem};
use crate::api::json::Json;
use crate::domain::secret::{self, SigningSecret};
use crate::store::{Endpoint, StoreError};

/// The signing secrets of an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointSecretOut {
    /// `whsec_…`: give this to the subscriber to verify signatures.
    pub key: String,
    /// Secrets replaced by rotation that still sign until they expire, newest first.
    pub previous: Vec<RetiredKeyOut>,
}

/// A rotated-out secret still in its grace period.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetiredKeyOut {
    pub key: String,
    /// After this time requests are no longer signed with it.
    pub expires_at: DateTime<Utc>,
}

impl EndpointSecretOut {
    fn new(endpoint: &Endpoint, now: DateTime<Utc>) -> Self {
        Self {
            key: endpoint.secret.expose(),
            previous: endpoint
                .retired_secrets
                .iter()
                .filter(|old| old.expires_at > now)
                .map(|old| RetiredKeyOut { key: old.secret.expose(), expires_at: old.expires_at })
                .collect(),
        }
    }
}

/// Body of `rotate_endpoint_secret`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// The new secret, `whsec_` + base64 of 24 to 64 bytes; generated when absent.
    pub secret: Option<String>,
}

/// Get an endpoint's signing secrets.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/endpoints/{endpoint}/secret", tag = "endpoints", operation_id = "get_endpoint_secret",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("endpoint" = String, Path, description = "Endpoint id (`ep_…`)"),
    ),
    responses(
        (status = 200, description = "The secrets", body = EndpointSecretOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_endpoint_secret(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let endpoint = find_endpoint(&state, &tenant.id, &path.1).await?;
    Ok(HttpResponse::Ok().json(EndpointSecretOut::new(&endpoint, state.clock.now())))
}

/// Rotate an endpoint's signing secret. The previous secret keeps signing alongside the new one
/// for the configured grace period (`security.secret_rotation_grace_seconds`); at most five
/// previous secrets are kept.
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/endpoints/{endpoint}/secret/rotate", tag = "endpoints",
    operation_id = "rotate_endpoint_secret",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("endpoint" = String, Path, description = "Endpoint id (`ep_…`)"),
    ),
    request_body = RotateSecret,
    responses(
        (status = 200, description = "The new secret and the ones still signing", body = EndpointSecretOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_endpoint_secret(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Json<RotateSecret>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let mut endpoint = find_endpoint(&state, &tenant.id, &path.1).await?;
    let replacement = match &body.0.secret {
        Some(raw) => SigningSecret::parse(raw).map_err(|error| ApiError::invalid("secret", error))?,
        None => SigningSecret::generate(),
    };
    let now = state.clock.now();
    let retired = std::mem::take(&mut endpoint.retired_secrets);
    (endpoint.secret, endpoint.retired_secrets) =
        secret::rotate(endpoint.secret, retired, replacement, now, state.secret_rotation_grace);
    endpoint.updated_at = now;
    state.store.update_endpoint(&endpoint).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::NotFound("endpoint"),
        other => other.into(),
    })?;
    let details = serde_json::json!({ "previous_secrets": endpoint.retired_secrets.len() });
    audit::record(&state, &principal, Some(&tenant.id), "endpoint.secret_rotated", endpoint.id.as_str(), details).await;
    Ok(HttpResponse::Ok().json(EndpointSecretOut::new(&endpoint, now)))
}
