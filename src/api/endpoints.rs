//! Subscriber endpoints under a tenant: where webhooks go, which events they want, the headers
//! added to each request, and the signing secret.

use std::collections::{BTreeMap, BTreeSet};

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
use crate::domain::endpoint::{CustomHeaders, EndpointUrl};
use crate::domain::health::EndpointHealth;
use crate::domain::ids::{EndpointId, TenantId};
use crate::domain::names::{Channel, EventTypeName, parse_description};
use crate::domain::retry::RetrySchedule;
use crate::domain::secret::SigningSecret;
use crate::domain::throttle::Throttle;
use crate::domain::validation::{FieldError, FieldErrors};
use crate::domain::versions::ApiVersionName;
use crate::store::{Endpoint, StoreError};

/// An endpoint as the API shows it (never with its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointOut {
    /// `ep_…`
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: String,
    /// Event types delivered here; `null` means all.
    pub event_types: Option<Vec<String>>,
    /// Channels delivered here; `null` means any.
    pub channels: Option<Vec<String>>,
    /// Extra headers sent with every request (names lowercase).
    pub headers: BTreeMap<String, String>,
    /// Delays in seconds before each attempt; `null` uses the deployment's schedule.
    pub retry_schedule: Option<Vec<u64>>,
    /// The API version payloads are rendered in; `null` when the deployment defines no versions.
    pub api_version: Option<String>,
    /// At most this many deliveries per second, across all workers; `null` for no limit.
    pub delivery_rate_per_second: Option<u32>,
    /// At most this many requests in flight at once, across all workers; `null` for no limit.
    pub max_in_flight: Option<u32>,
    pub enabled: bool,
    /// Why the endpoint was disabled, when it was.
    pub disabled_reason: Option<String>,
    /// `closed` (delivering), `open` (paused after repeated failures) or `half_open` (probing).
    pub circuit_state: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn strings<T: AsRef<str>>(items: Option<Vec<T>>) -> Option<Vec<String>> {
    items.map(|items| items.iter().map(|item| item.as_ref().to_owned()).collect())
}

impl From<Endpoint> for EndpointOut {
    fn from(endpoint: Endpoint) -> Self {
        Self {
            id: endpoint.id.to_string(),
            tenant_id: endpoint.tenant_id.to_string(),
            url: endpoint.url.as_str().to_owned(),
            description: endpoint.description,
            event_types: strings(endpoint.event_types),
            channels: strings(endpoint.channels),
            headers: endpoint.headers.as_map().clone(),
            retry_schedule: endpoint.retry_schedule.map(|schedule| schedule.seconds().to_vec()),
            api_version: endpoint.api_version.map(|version| version.to_string()),
            delivery_rate_per_second: endpoint.throttle.per_second.map(|rate| rate.get()),
            max_in_flight: endpoint.throttle.max_in_flight.map(|max| max.get()),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            circuit_state: endpoint.health.circuit.to_string(),
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }
}

/// Body of `create_endpoint`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    /// `http` or `https` URL without credentials, at most 2048 characters.
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Existing event type names to deliver; absent or `null` for all.
    pub event_types: Option<Vec<String>>,
    /// Channels to deliver; absent or `null` for any.
    pub channels: Option<Vec<String>>,
    /// Extra request headers. Reserved names (`host`, `content-length`, `webhook-*`, …) are refused.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `whsec_` + base64 of 24 to 64 bytes; generated when absent.
    pub secret: Option<String>,
    /// Delays in seconds before each attempt (1 to 30 entries, each at most a week); absent for the default.
    pub retry_schedule: Option<Vec<u64>>,
    /// The API version to render payloads in; the newest when absent. Upgrading later is an update.
    pub api_version: Option<String>,
    /// Deliveries per second to this endpoint, 1 to 10,000; absent for no limit.
    pub delivery_rate_per_second: Option<i64>,
    /// Concurrent requests to this endpoint, 1 to 10,000; absent for no limit.
    pub max_in_flight: Option<i64>,
    /// Defaults to true.
    pub enabled: Option<bool>,
}

/// Body of `update_endpoint`; absent fields are left unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    pub url: Option<String>,
    pub description: Option<String>,
    /// `null` delivers all event types.
    #[serde(default, deserialize_with = "crate::api::json::present")]
    #[schema(value_type = Option<Vec<String>>, nullable)]
    pub event_types: Option<Option<Vec<String>>>,
    /// `null` delivers any channel.
    #[serde(default, deserialize_with = "crate::api::json::present")]
    #[schema(value_type = Option<Vec<String>>, nullable)]
    pub channels: Option<Option<Vec<String>>>,
    /// Replaces all custom headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// Pins the endpoint to another existing API version.
    pub api_version: Option<String>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "crate::api::json::present")]
    #[schema(value_type = Option<i64>, nullable)]
    pub delivery_rate_per_second: Option<Option<i64>>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "crate::api::json::present")]
    #[schema(value_type = Option<i64>, nullable)]
    pub max_in_flight: Option<Option<i64>>,
    /// `null` returns to the deployment's schedule.
    #[serde(default, deserialize_with = "crate::api::json::present")]
    #[schema(value_type = Option<Vec<u64>>, nullable)]
    pub retry_schedule: Option<Option<Vec<u64>>>,
    /// Re-enabling clears `disabled_reason`.
    pub enabled: Option<bool>,
}

fn parse_list<T: Ord + Clone, E: std::fmt::Display>(
    errors: &mut FieldErrors,
    field: &str,
    raw: &[String],
    max: usize,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Vec<T>> {
    if raw.is_empty() {
        errors.push(FieldError::new(field, "must list at least one item, or be null for all"));
        return None;
    }
    if raw.len() > max {
        errors.push(FieldError::new(field, format!("must list at most {max} items")));
        return None;
    }
    let parsed: Vec<Option<T>> =
        raw.iter().enumerate().map(|(index, item)| errors.check(&format!("{field}[{index}]"), parse(item))).collect();
    let unique: BTreeSet<T> = parsed.into_iter().collect::<Option<_>>()?;
    Some(unique.into_iter().collect())
}

fn parse_headers(errors: &mut FieldErrors, raw: &BTreeMap<String, String>) -> Option<CustomHeaders> {
    match CustomHeaders::parse(raw) {
        Ok(headers) => Some(headers),
        Err(problems) => {
            for (name, problem) in problems {
                let field = if name.is_empty() { "headers".to_owned() } else { format!("headers.{name}") };
                errors.push(FieldError::new(field, problem));
            }
            None
        }
    }
}

impl UpdateEndpoint {
    /// The names of the fields this update sets, for the audit log (values may hold credentials).
    fn changed_fields(&self) -> serde_json::Value {
        let fields = [
            ("url", self.url.is_some()),
            ("description", self.description.is_some()),
            ("event_types", self.event_types.is_some()),
            ("channels", self.channels.is_some()),
            ("headers", self.headers.is_some()),
            ("api_version", self.api_version.is_some()),
            ("delivery_rate_per_second", self.delivery_rate_per_second.is_some()),
            ("max_in_flight", self.max_in_flight.is_some()),
            ("retry_schedule", self.retry_schedule.is_some()),
            ("enabled", self.enabled.is_some()),
        ];
        let changed: Vec<&str> = fields.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect();
        serde_json::json!({ "fields": changed, "enabled": self.enabled })
    }
}

const MAX_EVENT_TYPES: usize = 100;

/// Event type filters must name existing types, so a typo cannot silently receive nothing.
async fn check_event_types_exist(
    state: &AppState,
    errors: &mut FieldErrors,
    names: &Option<Vec<EventTypeName>>,
) -> Result<(), ApiError> {
    let Some(names) = names else { return Ok(()) };
    let existing: BTreeSet<EventTypeName> = state.store.existing_event_types(names).await?.into_iter().collect();
    for (index, name) in names.iter().enumerate() {
        if !existing.contains(name) {
            errors
                .push(FieldError::new(format!("event_types[{index}]"), format!("no event type named `{name}` exists")));
        }
    }
    Ok(())
}

/// The version an endpoint is pinned to: the requested one if it exists, else the newest.
async fn pin_version(
    state: &AppState,
    errors: &mut FieldErrors,
    requested: Option<&str>,
) -> Result<Option<ApiVersionName>, ApiError> {
    let versions = state.store.list_api_versions().await?;
    let Some(requested) = requested else { return Ok(versions.last().map(|newest| newest.name.clone())) };
    match versions.into_iter().find(|version| version.name.as_str() == requested) {
        Some(version) => Ok(Some(version.name)),
        None => {
            errors.push(FieldError::new("api_version", format!("no API version named `{requested}` exists")));
            Ok(None)
        }
    }
}

/// The tenant's endpoint with id `raw_id`, or 404 (also for ids that are not endpoint ids).
pub async fn find_endpoint(state: &AppState, tenant_id: &TenantId, raw_id: &str) -> Result<Endpoint, ApiError> {
    let id = EndpointId::parse(raw_id).map_err(|_| ApiError::NotFound("endpoint"))?;
    state.store.find_endpoint(tenant_id, &id).await?.ok_or(ApiError::NotFound("endpoint"))
}

/// Create an endpoint for a tenant.
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/endpoints", tag = "endpoints", operation_id = "create_endpoint",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid")),
    request_body = CreateEndpoint,
    responses(
        (status = 201, description = "Created", body = EndpointOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_endpoint(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<CreateEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let url = errors.check("url", EndpointUrl::parse(&body.url));
    let description = errors.check("description", parse_description(&body.description));
    let event_types = body
        .event_types
        .as_deref()
        .map(|raw| parse_list(&mut errors, "event_types", raw, MAX_EVENT_TYPES, EventTypeName::parse));
    let channels = body
        .channels
        .as_deref()
        .map(|raw| parse_list(&mut errors, "channels", raw, Channel::MAX_PER_ITEM, Channel::parse));
    let headers = parse_headers(&mut errors, &body.headers);
    let secret = match &body.secret {
        Some(raw) => errors.check("secret", SigningSecret::parse(raw)),
        None => Some(SigningSecret::generate()),
    };
    let retry_schedule = match &body.retry_schedule {
        None => Some(None),
        Some(seconds) => errors.check("retry_schedule", RetrySchedule::parse(seconds)).map(Some),
    };
    let api_version = pin_version(&state, &mut errors, body.api_version.as_deref()).await?;
    let throttle = Throttle {
        per_second: body
            .delivery_rate_per_second
            .and_then(|raw| errors.check("delivery_rate_per_second", Throttle::parse_limit(raw))),
        max_in_flight: body.max_in_flight.and_then(|raw| errors.check("max_in_flight", Throttle::parse_limit(raw))),
    };
    let event_types = event_types.map_or(Some(None), |parsed| parsed.map(Some));
    let channels = channels.map_or(Some(None), |parsed| parsed.map(Some));
    if let Some(event_types) = &event_types {
        check_event_types_exist(&state, &mut errors, event_types).await?;
    }
    let (
        Some(url),
        Some(description),
        Some(event_types),
        Some(channels),
        Some(headers),
        Some(secret),
        Some(retry_schedule),
    ) = (url, description, event_types, channels, headers, secret, retry_schedule)
    else {
        return Err(errors.into());
    };
    errors.finish().map_err(ApiError::Validation)?;
    let now = state.clock.now();
    let endpoint = Endpoint {
        tenant_id: tenant.id,
        id: EndpointId::generate(),
        url,
        description,
        event_types,
        channels,
        headers,
        secret,
        retry_schedule,
        api_version,
        throttle,
        retired_secrets: Vec::new(),
        health: EndpointHealth::default(),
        enabled: body.enabled.unwrap_or(true),
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    state.store.insert_endpoint(&endpoint).await?;
    let details = serde_json::json!({ "url": endpoint.url.as_str(), "enabled": endpoint.enabled });
    audit::record(&state, &principal, Some(&endpoint.tenant_id), "endpoint.created", endpoint.id.as_str(), details)
        .await;
    Ok(HttpResponse::Created().json(EndpointOut::from(endpoint)))
}

/// List a tenant's endpoints, newest first.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/endpoints", tag = "endpoints", operation_id = "list_endpoints",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"), ListQuery),
    responses(
        (status = 200, description = "One page of endpoints", body = Page<EndpointOut>),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_endpoints(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    let request = query.page_request(|cursor| EndpointId::parse(cursor).map(|id| id.to_string()))?;
    let rows = state.store.list_endpoints(&tenant.id, &request).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, &request, |endpoint| endpoint.id.to_string(), EndpointOut::from)))
}

/// Get an endpoint.
#[utoipa::path(
    get, path = "/v1/tenants/{tenant}/endpoints/{endpoint}", tag = "endpoints", operation_id = "get_endpoint",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("endpoint" = String, Path, description = "Endpoint id (`ep_…`)"),
    ),
    responses(
        (status = 200, description = "The endpoint", body = EndpointOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_endpoint(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    Ok(HttpResponse::Ok().json(EndpointOut::from(find_endpoint(&state, &tenant.id, &path.1).await?)))
}

/// Update an endpoint.
#[utoipa::path(
    patch, path = "/v1/tenants/{tenant}/endpoints/{endpoint}", tag = "endpoints", operation_id = "update_endpoint",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("endpoint" = String, Path, description = "Endpoint id (`ep_…`)"),
    ),
    request_body = UpdateEndpoint,
    responses(
        (status = 200, description = "The updated endpoint", body = EndpointOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_endpoint(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Json<UpdateEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let mut endpoint = find_endpoint(&state, &tenant.id, &path.1).await?;
    let body = body.0;
    let changes = body.changed_fields();
    let mut errors = FieldErrors::default();
    if let Some(url) = body.url.as_deref().and_then(|raw| errors.check("url", EndpointUrl::parse(raw))) {
        endpoint.url = url;
    }
    if let Some(description) =
        body.description.as_deref().and_then(|raw| errors.check("description", parse_description(raw)))
    {
        endpoint.description = description;
    }
    match &body.event_types {
        None => {}
        Some(None) => endpoint.event_types = None,
        Some(Some(raw)) => {
            if let Some(parsed) = parse_list(&mut errors, "event_types", raw, MAX_EVENT_TYPES, EventTypeName::parse) {
                endpoint.event_types = Some(parsed);
                check_event_types_exist(&state, &mut errors, &endpoint.event_types).await?;
            }
        }
    }
    match &body.channels {
        None => {}
        Some(None) => endpoint.channels = None,
        Some(Some(raw)) => {
            if let Some(parsed) = parse_list(&mut errors, "channels", raw, Channel::MAX_PER_ITEM, Channel::parse) {
                endpoint.channels = Some(parsed);
            }
        }
    }
    if let Some(headers) = body.headers.as_ref().and_then(|raw| parse_headers(&mut errors, raw)) {
        endpoint.headers = headers;
    }
    match body.delivery_rate_per_second {
        None => {}
        Some(None) => endpoint.throttle.per_second = None,
        Some(Some(raw)) => {
            if let Some(rate) = errors.check("delivery_rate_per_second", Throttle::parse_limit(raw)) {
                endpoint.throttle.per_second = Some(rate);
            }
        }
    }
    match body.max_in_flight {
        None => {}
        Some(None) => endpoint.throttle.max_in_flight = None,
        Some(Some(raw)) => {
            if let Some(max) = errors.check("max_in_flight", Throttle::parse_limit(raw)) {
                endpoint.throttle.max_in_flight = Some(max);
            }
        }
    }
    if body.api_version.is_some() {
        endpoint.api_version = pin_version(&state, &mut errors, body.api_version.as_deref()).await?;
    }
    match &body.retry_schedule {
        None => {}
        Some(None) => endpoint.retry_schedule = None,
        Some(Some(seconds)) => {
            if let Some(schedule) = errors.check("retry_schedule", RetrySchedule::parse(seconds)) {
                endpoint.retry_schedule = Some(schedule);
            }
        }
    }
    errors.finish().map_err(ApiError::Validation)?;
    if let Some(enabled) = body.enabled {
        if enabled && !endpoint.enabled {
            // A fresh start: failures from before it was disabled must not disable it again.
            endpoint.health.reset();
        }
        endpoint.enabled = enabled;
        if enabled {
            endpoint.disabled_reason = None;
        } else if endpoint.disabled_reason.is_none() {
            endpoint.disabled_reason = Some("disabled by API".to_owned());
        }
    }
    endpoint.updated_at = state.clock.now();
    state.store.update_endpoint(&endpoint).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::NotFound("endpoint"),
        other => other.into(),
    })?;
    let details = changes;
    audit::record(&state, &principal, Some(&endpoint.tenant_id), "endpoint.updated", endpoint.id.as_str(), details)
        .await;
    Ok(HttpResponse::Ok().json(EndpointOut::from(endpoint)))
}

/// Delete an endpoint.
#[utoipa::path(
    delete, path = "/v1/tenants/{tenant}/endpoints/{endpoint}", tag = "endpoints", operation_id = "delete_endpoint",
    params(
        ("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid"),
        ("endpoint" = String, Path, description = "Endpoint id (`ep_…`)"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_endpoint(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path.0).await?;
    let id = EndpointId::parse(&path.1).map_err(|_| ApiError::NotFound("endpoint"))?;
    if !state.store.delete_endpoint(&tenant.id, &id).await? {
        return Err(ApiError::NotFound("endpoint"));
    }
    audit::record(&state, &principal, Some(&tenant.id), "endpoint.deleted", id.as_str(), serde_json::json!({})).await;
    Ok(HttpResponse::NoContent().finish())
}
