//! API versions and per-version event type definitions: the ordered list of versions, and for
//! each event type and version an optional JSON Schema and downgrade transform.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::json::Json;
use crate::domain::names::EventTypeName;
use crate::domain::validation::FieldErrors;
use crate::domain::versions::{ApiVersionName, Downgrade, PayloadSchema};
use crate::store::{ApiVersion, EventTypeVersion, RemoveVersion, StoreError};

/// An API version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiVersionOut {
    pub name: String,
    /// Larger is newer.
    pub position: i32,
    pub created_at: DateTime<Utc>,
}

impl From<ApiVersion> for ApiVersionOut {
    fn from(version: ApiVersion) -> Self {
        Self { name: version.name.to_string(), position: version.position, created_at: version.created_at }
    }
}

/// Every API version, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiVersionListOut {
    pub data: Vec<ApiVersionOut>,
}

/// Body of `create_api_version`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiVersion {
    /// 1 to 64 letters, digits, `.`, `_` or `-`, e.g. `2026-06-01`. Becomes the newest version.
    pub name: String,
}

/// What an event type looks like in one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeVersionOut {
    pub event_type: String,
    pub api_version: String,
    /// JSON Schema payloads of this version must satisfy.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<serde_json::Value>,
    /// JSON Patch (RFC 6902) turning a payload of this version into the previous version.
    #[schema(value_type = Option<Vec<Object>>)]
    pub downgrade: Option<serde_json::Value>,
    pub updated_at: DateTime<Utc>,
}

impl From<EventTypeVersion> for EventTypeVersionOut {
    fn from(version: EventTypeVersion) -> Self {
        Self {
            event_type: version.event_type.to_string(),
            api_version: version.api_version.to_string(),
            schema: version.schema,
            downgrade: version.downgrade,
            updated_at: version.updated_at,
        }
    }
}

/// An event type's definitions, oldest version first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeVersionListOut {
    pub data: Vec<EventTypeVersionOut>,
}

/// Body of `put_event_type_version`; replaces both fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutEventTypeVersion {
    /// A JSON Schema; absent for none.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<serde_json::Value>,
    /// A JSON Patch (RFC 6902) turning this version's payload into the previous version's; absent
    /// means the payload is unchanged between the two.
    #[schema(value_type = Option<Vec<Object>>)]
    pub downgrade: Option<serde_json::Value>,
}

/// Add an API version after the newest.
#[utoipa::path(
    post, path = "/v1/api-versions", tag = "api-versions", operation_id = "create_api_version",
    request_body = CreateApiVersion,
    responses(
        (status = 201, description = "Created; now the newest version", body = ApiVersionOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_api_version(
    principal: Principal,
    state: web::Data<AppState>,
    body: Json<CreateApiVersion>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let name = ApiVersionName::parse(&body.0.name).map_err(|error| ApiError::invalid("name", error))?;
    let version = state.store.append_api_version(&name, state.clock.now()).await.map_err(|error| match error {
        StoreError::Conflict => {
            ApiError::Conflict { field: Some("name".into()), detail: "an API version with this name exists".into() }
        }
        other => other.into(),
    })?;
    Ok(HttpResponse::Created().json(ApiVersionOut::from(version)))
}

/// List API versions, oldest first; the last is the default for new endpoints and events.
#[utoipa::path(
    get, path = "/v1/api-versions", tag = "api-versions", operation_id = "list_api_versions",
    responses(
        (status = 200, description = "Every version", body = ApiVersionListOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_api_versions(_principal: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let versions = state.store.list_api_versions().await?;
    Ok(HttpResponse::Ok().json(ApiVersionListOut { data: versions.into_iter().map(ApiVersionOut::from).collect() }))
}

/// Remove an API version no endpoint is pinned to.
#[utoipa::path(
    delete, path = "/v1/api-versions/{version}", tag = "api-versions", operation_id = "delete_api_version",
    params(("version" = String, Path, description = "Version name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An endpoint is pinned to it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_api_version(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let name = ApiVersionName::parse(&path).map_err(|_| ApiError::NotFound("API version"))?;
    match state.store.remove_api_version(&name).await? {
        RemoveVersion::Removed => Ok(HttpResponse::NoContent().finish()),
        RemoveVersion::NotFound => Err(ApiError::NotFound("API version")),
        RemoveVersion::Pinned => Err(ApiError::Conflict {
            field: None,
            detail: format!("endpoints are pinned to `{name}`; move them to another version first"),
        }),
    }
}

async fn find_event_type(state: &AppState, raw: &str) -> Result<EventTypeName, ApiError> {
    let name = EventTypeName::parse(raw).map_err(|_| ApiError::NotFound("event type"))?;
    state.store.find_event_type(&name).await?.ok_or(ApiError::NotFound("event type"))?;
    Ok(name)
}

/// Set an event type's schema and downgrade transform for one API version.
#[utoipa::path(
    put, path = "/v1/event-types/{name}/versions/{version}", tag = "api-versions", operation_id = "put_event_type_version",
    params(("name" = String, Path, description = "Event type name"), ("version" = String, Path, description = "Version name")),
    request_body = PutEventTypeVersion,
    responses(
        (status = 200, description = "Stored", body = EventTypeVersionOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event type or version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid schema or patch", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_event_type_version(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Json<PutEventTypeVersion>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let event_type = find_event_type(&state, &path.0).await?;
    let versions = state.store.list_api_versions().await?;
    let position =
        versions.iter().position(|version| version.name.as_str() == path.1).ok_or(ApiError::NotFound("API version"))?;
    let body = body.0;
    let mut errors = FieldErrors::default();
    if let Some(schema) = &body.schema {
        errors.check("schema", PayloadSchema::compile(schema).map(drop));
    }
    if let Some(downgrade) = &body.downgrade {
        if position == 0 {
            errors.push(crate::domain::validation::FieldError::new(
                "downgrade",
                "the oldest version has no previous version to downgrade to",
            ));
        } else {
            errors.check("downgrade", Downgrade::parse(downgrade).map(drop));
        }
    }
    errors.finish().map_err(ApiError::Validation)?;
    let definition = EventTypeVersion {
        event_type,
        api_version: versions[position].name.clone(),
        schema: body.schema,
        downgrade: body.downgrade,
        updated_at: state.clock.now(),
    };
    state.store.put_event_type_version(&definition).await?;
    Ok(HttpResponse::Ok().json(EventTypeVersionOut::from(definition)))
}

/// List an event type's per-version definitions.
#[utoipa::path(
    get, path = "/v1/event-types/{name}/versions", tag = "api-versions", operation_id = "list_event_type_versions",
    params(("name" = String, Path, description = "Event type name")),
    responses(
        (status = 200, description = "The definitions", body = EventTypeVersionListOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event type", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_event_type_versions(
    _principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let event_type = find_event_type(&state, &path).await?;
    let definitions = state.store.list_event_type_versions(&event_type).await?;
    let data = definitions.into_iter().map(EventTypeVersionOut::from).collect();
    Ok(HttpResponse::Ok().json(EventTypeVersionListOut { data }))
}
