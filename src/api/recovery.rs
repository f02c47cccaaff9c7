//! Recovering an endpoint: after an outage, requeue every failed or exhausted delivery of the
//! endpoint created in a window. The request only records the recovery and counts what it
//! matches; workers requeue in batches in the background, so even a million deliveries never
//! hold the request (or the database) for long.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::audit;
use crate::api::auth::Principal;
use crate::api::endpoints::find_endpoint;
use crate::api::errors::{ApiError, Problem};
use crate::api::filters::{bad_request, parse_time};
use crate::api::json::Json;
use crate::domain::ids::RecoveryId;
use crate::store::Recovery;

/// Body of `recover_endpoint`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverEndpoint {
    /// RFC 3339 time: deliveries created at or after it are requeued. Not in the future.
    pub since: String,
    /// RFC 3339 time: deliveries created before it; now when absent. Not before `since`.
    pub until: Option<String>,
}

/// A recovery under way.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryOut {
    /// `rec_…`
    pub id: String,
    /// Failed and exhausted deliveries in the window, all of which are being requeued.
    pub deliveries: u64,
}

/// Requeue an endpoint's failed and exhausted deliveries created in `[since, until)`. Each gets
/// one attempt now (trigger `recovery`); the endpoint's circuit and rate limit still apply.
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/endpoints/{endpoint}/recover", tag = "endpoints", operation_id = "recover_endpoint",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("endpoint" = String, Path, description = "Endpoint id (`ep_…`)"),
    ),
    request_body = RecoverEndpoint,
    responses(
        (status = 202, description = "Recovery started", body = RecoveryOut),
        (status = 400, description = "Malformed JSON, `since` in the future or `until` before `since`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn recover_endpoint(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Json<RecoverEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let endpoint = find_endpoint(&state, &tenant.id, &path.1).await?;
    let now = state.clock.now();
    let body = body.0;
    let since = parse_time("since", &body.since)?;
    if since > now {
        return Err(bad_request("since", "`since` must not be in the future"));
    }
    let until = body.until.as_deref().map(|raw| parse_time("until", raw)).transpose()?.unwrap_or(now);
    if until < since {
        return Err(bad_request("until", "`until` must not be before `since`"));
    }
    let recovery = Recovery {
        tenant_id: tenant.id,
        id: RecoveryId::generate(),
        endpoint_id: endpoint.id,
        since,
        until,
        created_at: now,
    };
    let deliveries = state.store.insert_recovery(&recovery).await?;
    let details = serde_json::json!({ "endpoint_id": recovery.endpoint_id.as_str(), "since": since, "until": until, "deliveries": deliveries });
    audit::record(&state, &principal, Some(&recovery.tenant_id), "endpoint.recovered", recovery.id.as_str(), details)
        .await;
    Ok(HttpResponse::Accepted().json(RecoveryOut { id: recovery.id.to_string(), deliveries }))
}
