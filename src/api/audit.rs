//! The audit log: who (which token) changed what, and when. Handlers call [`record`] after a
//! change commits; listing is per tenant for tenant tokens and deployment-wide for admins.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::filters::parse_filter;
use crate::api::pagination::{ListQuery, Page};
use crate::domain::ids::{AuditId, TenantId};
use crate::store::{AuditEntry, AuditFilter};

/// Records a configuration change made by `principal`. The change is already committed, so a
/// failure to record it is logged rather than reported as a failed request.
pub async fn record(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&TenantId>,
    action: &str,
    resource_id: &str,
    details: serde_json::Value,
) {
    let entry = AuditEntry {
        id: AuditId::generate(),
        tenant_id: tenant_id.cloned(),
        actor: principal.token_id.to_string(),
        action: action.to_owned(),
        resource_id: resource_id.to_owned(),
        details,
        created_at: state.clock.now(),
    };
    if let Err(error) = state.store.insert_audit(&entry).await {
        tracing::error!(%error, action, resource_id, "recording an audit entry failed");
    }
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    /// `aud_…`
    pub id: String,
    /// The tenant concerned; absent for deployment-wide changes.
    pub tenant_id: Option<String>,
    /// The id of the token that made the change (`tok_…`).
    pub actor: String,
    /// `resource.verb`, e.g. `endpoint.updated` or `endpoint.secret_rotated`.
    pub action: String,
    pub resource_id: String,
    /// What changed (never secrets).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id.to_string(),
            tenant_id: entry.tenant_id.map(|id| id.to_string()),
            actor: entry.actor,
            action: entry.action,
            resource_id: entry.resource_id,
            details: entry.details,
            created_at: entry.created_at,
        }
    }
}

/// Filters of the audit lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries with this action, e.g. `endpoint.updated`.
    pub action: Option<String>,
    /// Admin list only: entries of this tenant (`ten_…`).
    pub tenant_id: Option<String>,
}

async fn audit_page(state: &AppState, filter: AuditFilter, list: &ListQuery) -> Result<HttpResponse, ApiError> {
    let request = list.page_request(|cursor| AuditId::parse(cursor).map(|id| id.to_string()))?;
    let rows = state.store.list_audit(&filter, &request).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, &request, |entry| entry.id.to_string(), AuditEntryOut::from)))
}

/// List every audit entry of the deployment, newest first (admin).
#[utoipa::path(
    get, path = "/v1/audit-log", tag = "audit", operation_id = "list_audit_log",
    params(AuditQuery, ListQuery),
    responses(
        (status = 200, description = "One page of audit entries", body = Page<AuditEntryOut>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_audit_log(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
    list: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let filter = AuditFilter {
        tenant_id: parse_filter("tenant_id", query.tenant_id.as_deref(), TenantId::parse)?,
        action: query.action.clone(),
    };
    audit_page(&state, filter, &list).await
}

/// List the audit entries of a tenant, newest first.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/audit-log", tag = "audit", operation_id = "list_tenant_audit_log",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"), AuditQuery, ListQuery),
    responses(
        (status = 200, description = "One page of audit entries", body = Page<AuditEntryOut>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_tenant_audit_log(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<AuditQuery>,
    list: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    let filter = AuditFilter { tenant_id: Some(tenant.id), action: query.action.clone() };
    audit_page(&state, filter, &list).await
}
