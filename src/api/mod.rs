//! The HTTP API. The whole surface is the routing table in [`configure`]; one module per
//! resource holds its handlers (`verb_noun`), request and response types. Handlers turn bodies
//! into domain types at the top and talk only to the [`Store`] below.

pub mod attempts;
pub mod audit;
pub mod auth;
pub mod console;
pub mod deliveries;
pub mod endpoints;
pub mod errors;
pub mod event_log;
pub mod event_types;
pub mod events;
pub mod filters;
pub mod health;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod pagination;
pub mod portal;
pub mod recovery;
pub mod secrets;
pub mod stats;
pub mod tenants;
pub mod tokens;
pub mod versions;

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::errors::ApiError;
use crate::api::json::BodyLimit;
use crate::config::IngestSettings;
use crate::domain::clock::Clock;
use crate::domain::retry::RetrySchedule;
use crate::store::Store;
use crate::telemetry::metrics::Metrics;

/// What every handler may use.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub limits: IngestSettings,
    /// The deployment's retry schedule, for endpoints without their own.
    pub default_schedule: RetrySchedule,
    pub ingest_limiter: limits::IngestLimiter,
    /// How long a rotated-out signing secret keeps signing.
    pub secret_rotation_grace: chrono::Duration,
    pub metrics: Arc<Metrics>,
    /// Where browsers reach this server (`server.public_url`), for portal links; `None` derives
    /// it from the request.
    pub public_url: Option<url::Url>,
}

/// The routing table: the whole HTTP surface on one screen.
pub fn configure(config: &mut web::ServiceConfig, batch_limit: BodyLimit) {
    config
        .app_data(web::QueryConfig::default().error_handler(|error, _| {
            ApiError::BadRequest { field: "query".into(), detail: format!("invalid query string: {error}") }.into()
        }))
        .route("/health", web::get().to(health::health))
        .route("/ready", web::get().to(health::ready))
        .route("/openapi.json", web::get().to(openapi_json))
        .route("/metrics", web::get().to(metrics::metrics))
        // The web console (static files; it calls /v1 like any client)
        .route("/console", web::get().to(console::get_console))
        .route("/console/", web::get().to(console::redirect_console))
        .route("/console/{asset}", web::get().to(console::get_console_asset))
        .service(
            web::scope("/v1")
                // Ingest first: routes are tried in order, each dynamic pattern is a regex match.
                .route("/tenants/{tenant}/events", web::post().to(events::create_event))
                .service(
                    web::resource("/tenants/{tenant}/events/batch")
                        .app_data(batch_limit)
                        .route(web::post().to(events::create_event_batch)),
                )
                // Tenants
                .route("/tenants", web::post().to(tenants::create_tenant))
                .route("/tenants", web::get().to(tenants::list_tenants))
                .route("/tenants/{tenant}", web::get().to(tenants::get_tenant))
                .route("/tenants/{tenant}", web::patch().to(tenants::update_tenant))
                .route("/tenants/{tenant}", web::delete().to(tenants::delete_tenant))
                .route("/tenants/{tenant}/portal-links", web::post().to(portal::create_portal_link))
                // Endpoints
                .route("/tenants/{tenant}/endpoints", web::post().to(endpoints::create_endpoint))
                .route("/tenants/{tenant}/endpoints", web::get().to(endpoints::list_endpoints))
                .route("/tenants/{tenant}/endpoints/{endpoint}", web::get().to(endpoints::get_endpoint))
                .route("/tenants/{tenant}/endpoints/{endpoint}", web::patch().to(endpoints::update_endpoint))
                .route("/tenants/{tenant}/endpoints/{endpoint}", web::delete().to(endpoints::delete_endpoint))
                .route("/tenants/{tenant}/endpoints/{endpoint}/secret", web::get().to(secrets::get_endpoint_secret))
                .route(
                    "/tenants/{tenant}/endpoints/{endpoint}/secret/rotate",
                    web::post().to(secrets::rotate_endpoint_secret),
                )
                .route("/tenants/{tenant}/endpoints/{endpoint}/recover", web::post().to(recovery::recover_endpoint))
                .route("/tenants/{tenant}/endpoints/{endpoint}/stats", web::get().to(stats::get_endpoint_stats))
                // Event log
                .route("/tenants/{tenant}/events", web::get().to(event_log::list_events))
                .route("/tenants/{tenant}/events/{event}", web::get().to(event_log::get_event))
                // Deliveries and attempts
                .route("/tenants/{tenant}/events/{event}/deliveries", web::get().to(deliveries::list_event_deliveries))
                .route("/tenants/{tenant}/deliveries", web::get().to(deliveries::list_deliveries))
                .route("/tenants/{tenant}/deliveries/{delivery}", web::get().to(deliveries::get_delivery))
                .route("/tenants/{tenant}/deliveries/{delivery}/retry", web::post().to(deliveries::retry_delivery))
                .route(
                    "/tenants/{tenant}/deliveries/{delivery}/attempts",
                    web::get().to(attempts::list_delivery_attempts),
                )
                .route("/tenants/{tenant}/attempts", web::get().to(attempts::list_attempts))
                .route("/tenants/{tenant}/attempts/{attempt}", web::get().to(attempts::get_attempt))
                // Audit log
                .route("/tenants/{tenant}/audit-log", web::get().to(audit::list_tenant_audit_log))
                .route("/audit-log", web::get().to(audit::list_audit_log))
                // Event types
                .route("/event-types", web::post().to(event_types::create_event_type))
                .route("/event-types", web::get().to(event_types::list_event_types))
                .route("/event-types/{name}", web::get().to(event_types::get_event_type))
                .route("/event-types/{name}", web::patch().to(event_types::update_event_type))
                .route("/event-types/{name}", web::delete().to(event_types::archive_event_type))
                // API versions
                .route("/api-versions", web::post().to(versions::create_api_version))
                .route("/api-versions", web::get().to(versions::list_api_versions))
                .route("/api-versions/{version}", web::delete().to(versions::delete_api_version))
                .route("/event-types/{name}/versions", web::get().to(versions::list_event_type_versions))
                .route("/event-types/{name}/versions/{version}", web::put().to(versions::put_event_type_version))
                // Tokens
                .route("/tokens", web::post().to(tokens::create_token))
                .route("/tokens", web::get().to(tokens::list_tokens))
                .route("/tokens/{token}", web::delete().to(tokens::revoke_token))
                .route("/whoami", web::get().to(tokens::get_whoami)),
        )
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(openapi_document())
}

/// The OpenAPI document as committed to `openapi/openapi.json` (pretty-printed, trailing newline).
pub fn openapi_document() -> String {
    let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI description of the API, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Outhook API",
        description = "Outbound webhook delivery: durable, signed (Standard Webhooks), retried, versioned, rate-limited.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        health::health,
        health::ready,
        tenants::create_tenant,
        tenants::list_tenants,
        tenants::get_tenant,
        tenants::update_tenant,
        tenants::delete_tenant,
        portal::create_portal_link,
        endpoints::create_endpoint,
        endpoints::list_endpoints,
        endpoints::get_endpoint,
        endpoints::update_endpoint,
        endpoints::delete_endpoint,
        secrets::get_endpoint_secret,
        secrets::rotate_endpoint_secret,
        recovery::recover_endpoint,
        stats::get_endpoint_stats,
        events::create_event,
        events::create_event_batch,
        event_log::list_events,
        event_log::get_event,
        deliveries::list_event_deliveries,
        deliveries::list_deliveries,
        deliveries::get_delivery,
        deliveries::retry_delivery,
        attempts::list_delivery_attempts,
        attempts::list_attempts,
        attempts::get_attempt,
        audit::list_tenant_audit_log,
        audit::list_audit_log,
        event_types::create_event_type,
        event_types::list_event_types,
        event_types::get_event_type,
        event_types::update_event_type,
        event_types::archive_event_type,
        versions::create_api_version,
        versions::list_api_versions,
        versions::delete_api_version,
        versions::put_event_type_version,
        versions::list_event_type_versions,
        tokens::create_token,
        tokens::list_tokens,
        tokens::revoke_token,
        tokens::get_whoami,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "The vendor's customers"),
        (name = "endpoints", description = "Where a tenant's webhooks are sent"),
        (name = "events", description = "Submitting events"),
        (name = "deliveries", description = "Each event's deliveries and every attempt"),
        (name = "event-types", description = "Kinds of events, global to the deployment"),
        (name = "api-versions", description = "Payload versions, schemas and downgrade transforms"),
        (name = "tokens", description = "Admin and tenant-scoped API tokens"),
        (name = "audit", description = "Who changed what, and when"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;
