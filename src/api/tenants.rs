//! Tenants: the vendor's customers. Addressed by Outhook id (`ten_…`) or by the vendor's `uid`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::audit;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::json::Json;
use crate::api::pagination::{ListQuery, Page};
use crate::domain::ids::TenantId;
use crate::domain::limits::RateLimit;
use crate::domain::names::{TenantUid, parse_description};
use crate::domain::validation::FieldErrors;
use crate::store::{StoreError, Tenant};

/// A tenant as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    /// Outhook's id, `ten_…`.
    pub id: String,
    /// The vendor's own id for this customer, unique.
    pub uid: String,
    pub name: String,
    /// This tenant's ingest limit; `null` uses the deployment default.
    pub ingest_rate_limit: Option<RateLimitBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A rate limit: events per second on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitBody {
    /// 1 to 1,000,000.
    pub per_second: i64,
    /// 1 to 10,000,000.
    pub burst: i64,
}

impl From<RateLimit> for RateLimitBody {
    fn from(limit: RateLimit) -> Self {
        Self { per_second: limit.per_second().get().into(), burst: limit.burst().get().into() }
    }
}

fn parse_limit(errors: &mut FieldErrors, body: &RateLimitBody) -> Option<RateLimit> {
    errors.check("ingest_rate_limit", RateLimit::parse(body.per_second, body.burst))
}

impl From<Tenant> for TenantOut {
    fn from(tenant: Tenant) -> Self {
        Self {
            id: tenant.id.to_string(),
            uid: tenant.uid.as_str().to_owned(),
            name: tenant.name,
            ingest_rate_limit: tenant.ingest_limit.map(RateLimitBody::from),
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }
}

/// Body of `create_tenant`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The vendor's id for this customer: letters, digits, `_-.:`, at most 128, not starting `ten_`.
    pub uid: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Overrides the deployment's ingest rate limit for this tenant.
    pub ingest_rate_limit: Option<RateLimitBody>,
}

/// Body of `update_tenant`; absent fields are left unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub uid: Option<String>,
    pub name: Option<String>,
    /// `null` returns to the deployment default.
    #[serde(default, deserialize_with = "crate::api::json::present")]
    #[schema(value_type = Option<RateLimitBody>, nullable)]
    pub ingest_rate_limit: Option<Option<RateLimitBody>>,
}

fn uid_taken() -> ApiError {
    ApiError::Conflict { field: Some("uid".into()), detail: "a tenant with this uid already exists".into() }
}

fn conflict_on_uid(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict => uid_taken(),
        other => other.into(),
    }
}

/// Create a tenant.
#[utoipa::path(
    post, path = "/v1/tenants", tag = "tenants", operation_id = "create_tenant",
    request_body = CreateTenant,
    responses(
        (status = 201, description = "Created", body = TenantOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The uid is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_tenant(
    principal: Principal,
    state: web::Data<AppState>,
    body: Json<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let uid = errors.check("uid", TenantUid::parse(&body.uid));
    let name = errors.check("name", parse_description(&body.name));
    let ingest_limit = body.ingest_rate_limit.as_ref().map(|limit| parse_limit(&mut errors, limit));
    let (Some(uid), Some(name)) = (uid, name) else { return Err(errors.into()) };
    errors.finish().map_err(ApiError::Validation)?;
    let now = state.clock.now();
    let tenant = Tenant {
        id: TenantId::generate(),
        uid,
        name,
        ingest_limit: ingest_limit.flatten(),
        created_at: now,
        updated_at: now,
    };
    state.store.insert_tenant(&tenant).await.map_err(conflict_on_uid)?;
    let details = serde_json::json!({ "uid": tenant.uid.as_str() });
    audit::record(&state, &principal, Some(&tenant.id), "tenant.created", tenant.id.as_str(), details).await;
    Ok(HttpResponse::Created().json(TenantOut::from(tenant)))
}

/// List tenants, newest first. A tenant token sees only its own tenant.
#[utoipa::path(
    get, path = "/v1/tenants", tag = "tenants", operation_id = "list_tenants",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of tenants", body = Page<TenantOut>),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_tenants(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = query.page_request(|cursor| TenantId::parse(cursor).map(|id| id.to_string()))?;
    let rows = state.store.list_tenants(&request).await?;
    let visible: Vec<Tenant> = rows.into_iter().filter(|tenant| principal.can_see(&tenant.id)).collect();
    let page = Page::from_rows(visible, &request, |tenant| tenant.id.to_string(), TenantOut::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Get a tenant by id or uid.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}", tag = "tenants", operation_id = "get_tenant",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid")),
    responses(
        (status = 200, description = "The tenant", body = TenantOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_tenant(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    Ok(HttpResponse::Ok().json(TenantOut::from(tenant)))
}

/// Update a tenant's uid or name.
#[utoipa::path(
    patch, path = "/v1/tenants/{tenant}", tag = "tenants", operation_id = "update_tenant",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid")),
    request_body = UpdateTenant,
    responses(
        (status = 200, description = "The updated tenant", body = TenantOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The uid is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_tenant(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<UpdateTenant>,
) -> Result<HttpResponse, ApiError> {
    let mut tenant = principal.tenant(&state, &path).await?;
    principal.require_admin()?;
    let body = body.0;
    let mut errors = FieldErrors::default();
    if let Some(uid) = body.uid.as_deref().and_then(|raw| errors.check("uid", TenantUid::parse(raw))) {
        tenant.uid = uid;
    }
    if let Some(name) = body.name.as_deref().and_then(|raw| errors.check("name", parse_description(raw))) {
        tenant.name = name;
    }
    match &body.ingest_rate_limit {
        None => {}
        Some(None) => tenant.ingest_limit = None,
        Some(Some(limit)) => {
            if let Some(limit) = parse_limit(&mut errors, limit) {
                tenant.ingest_limit = Some(limit);
            }
        }
    }
    errors.finish().map_err(ApiError::Validation)?;
    tenant.updated_at = state.clock.now();
    state.store.update_tenant(&tenant).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::NotFound("tenant"),
        other => conflict_on_uid(other),
    })?;
    let details = serde_json::json!({ "uid": tenant.uid.as_str(), "name": tenant.name });
    audit::record(&state, &principal, Some(&tenant.id), "tenant.updated", tenant.id.as_str(), details).await;
    Ok(HttpResponse::Ok().json(TenantOut::from(tenant)))
}

/// Delete a tenant and everything it owns.
#[utoipa::path(
    delete, path = "/v1/tenants/{tenant}", tag = "tenants", operation_id = "delete_tenant",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_tenant(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    principal.require_admin()?;
    if !state.store.delete_tenant(&tenant.id).await? {
        return Err(ApiError::NotFound("tenant"));
    }
    let details = serde_json::json!({ "uid": tenant.uid.as_str() });
    audit::record(&state, &principal, Some(&tenant.id), "tenant.deleted", tenant.id.as_str(), details).await;
    Ok(HttpResponse::NoContent().finish())
}
