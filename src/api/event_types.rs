//! Event types (`invoice.paid`): global to the deployment, created by admins, archived rather
//! than deleted so history stays readable.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::json::Json;
use crate::api::pagination::{ListQuery, Page};
use crate::domain::names::{EventTypeName, parse_description};
use crate::domain::validation::FieldErrors;
use crate::store::{EventType, StoreError};

/// An event type as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeOut {
    /// Dotted lowercase name, e.g. `invoice.paid`.
    pub name: String,
    pub description: String,
    /// Archived types accept no new events but stay visible.
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EventType> for EventTypeOut {
    fn from(event_type: EventType) -> Self {
        Self {
            name: event_type.name.to_string(),
            description: event_type.description,
            archived: event_type.archived,
            created_at: event_type.created_at,
            updated_at: event_type.updated_at,
        }
    }
}

/// Body of `create_event_type`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventType {
    /// Dotted lowercase segments: `invoice.paid`, `user.created`.
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Body of `update_event_type`; absent fields are left unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEventType {
    pub description: Option<String>,
    /// `false` restores an archived type.
    pub archived: Option<bool>,
}

/// Filters of `list_event_types`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventTypeFilter {
    /// Include archived event types (default false).
    #[serde(default)]
    pub include_archived: bool,
}

async fn find(state: &AppState, raw_name: &str) -> Result<EventType, ApiError> {
    let name = EventTypeName::parse(raw_name).map_err(|_| ApiError::NotFound("event type"))?;
    state.store.find_event_type(&name).await?.ok_or(ApiError::NotFound("event type"))
}

async fn save(state: &AppState, mut event_type: EventType) -> Result<HttpResponse, ApiError> {
    event_type.updated_at = state.clock.now();
    state.store.update_event_type(&event_type).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::NotFound("event type"),
        other => other.into(),
    })?;
    Ok(HttpResponse::Ok().json(EventTypeOut::from(event_type)))
}

/// Create an event type.
#[utoipa::path(
    post, path = "/v1/event-types", tag = "event-types", operation_id = "create_event_type",
    request_body = CreateEventType,
    responses(
        (status = 201, description = "Created", body = EventTypeOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_event_type(
    principal: Principal,
    state: web::Data<AppState>,
    body: Json<CreateEventType>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let mut errors = FieldErrors::default();
    let name = errors.check("name", EventTypeName::parse(&body.0.name));
    let description = errors.check("description", parse_description(&body.0.description));
    let (Some(name), Some(description)) = (name, description) else { return Err(errors.into()) };
    let now = state.clock.now();
    let event_type = EventType { name, description, archived: false, created_at: now, updated_at: now };
    state.store.insert_event_type(&event_type).await.map_err(|error| match error {
        StoreError::Conflict => ApiError::Conflict {
            field: Some("name".into()),
            detail: "an event type with this name already exists".into(),
        },
        other => other.into(),
    })?;
    Ok(HttpResponse::Created().json(EventTypeOut::from(event_type)))
}

/// List event types by name.
#[utoipa::path(
    get, path = "/v1/event-types", tag = "event-types", operation_id = "list_event_types",
    params(ListQuery, EventTypeFilter),
    responses(
        (status = 200, description = "One page of event types", body = Page<EventTypeOut>),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_event_types(
    _principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
    filter: web::Query<EventTypeFilter>,
) -> Result<HttpResponse, ApiError> {
    let request = query.page_request(|cursor| EventTypeName::parse(cursor).map(|name| name.to_string()))?;
    let rows = state.store.list_event_types(&request, filter.include_archived).await?;
    let page = Page::from_rows(rows, &request, |event_type| event_type.name.to_string(), EventTypeOut::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Get an event type.
#[utoipa::path(
    get, path = "/v1/event-types/{name}", tag = "event-types", operation_id = "get_event_type",
    params(("name" = String, Path, description = "Event type name")),
    responses(
        (status = 200, description = "The event type", body = EventTypeOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event type", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_event_type(
    _principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(EventTypeOut::from(find(&state, &path).await?)))
}

/// Update an event type's description, or restore it from the archive.
#[utoipa::path(
    patch, path = "/v1/event-types/{name}", tag = "event-types", operation_id = "update_event_type",
    params(("name" = String, Path, description = "Event type name")),
    request_body = UpdateEventType,
    responses(
        (status = 200, description = "The updated event type", body = EventTypeOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_event_type(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<UpdateEventType>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let mut event_type = find(&state, &path).await?;
    let mut errors = FieldErrors::default();
    if let Some(description) =
        body.0.description.as_deref().and_then(|raw| errors.check("description", parse_description(raw)))
    {
        event_type.description = description;
    }
    errors.finish().map_err(ApiError::Validation)?;
    if let Some(archived) = body.0.archived {
        event_type.archived = archived;
    }
    save(&state, event_type).await
}

/// Archive an event type: it accepts no new events, but stays readable and can be restored.
#[utoipa::path(
    delete, path = "/v1/event-types/{name}", tag = "event-types", operation_id = "archive_event_type",
    params(("name" = String, Path, description = "Event type name")),
    responses(
        (status = 200, description = "The archived event type", body = EventTypeOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event type", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn archive_event_type(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let mut event_type = find(&state, &path).await?;
    event_type.archived = true;
    save(&state, event_type).await
}
