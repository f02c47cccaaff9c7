//! Portal links: the vendor hands one of its customers a link to the console that signs in with a
//! short-lived token scoped to that customer's tenant, the self-service portal. The token is an
//! ordinary tenant token (same store, scope and expiry rules as `create_token`), carried in the
//! URL's fragment, which browsers never send to a server or put in a `Referer`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::json::Json;
use crate::api::tokens::issue_token;
use crate::domain::token::TokenScope;

/// How long a portal link works when the request does not say: long enough for a support call.
const DEFAULT_LIFETIME_SECONDS: i64 = 3600;
const MIN_LIFETIME_SECONDS: i64 = 60;
/// A portal link is a credential in a URL; a day bounds the damage of one that is forwarded.
const MAX_LIFETIME_SECONDS: i64 = 24 * 3600;

/// Body of `create_portal_link`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePortalLink {
    /// Lifetime in seconds, 60 to 86,400; 3,600 when absent.
    pub expires_in_seconds: Option<i64>,
}

/// A console link for one tenant, with the token it signs in with.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalLinkOut {
    /// The console URL with the token in its fragment (`…/console#token=oht_…`). Hand it to the
    /// tenant; it works until `expires_at`.
    pub url: String,
    /// The tenant-scoped bearer token inside `url`, shown only now.
    pub token: String,
    /// The token's id (`tok_…`), to revoke the link early with `revoke_token`.
    pub token_id: String,
    pub tenant_id: String,
    pub expires_at: DateTime<Utc>,
}

/// Create a console link for a tenant: a short-lived token scoped to the tenant, embedded in the
/// console URL. Admin only. Revoke it early like any token.
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/portal-links", tag = "tenants", operation_id = "create_portal_link",
    params(("tenant" = String, Path, description = "Tenant id (`ten_…`) or uid")),
    request_body = CreatePortalLink,
    responses(
        (status = 201, description = "Created; the token is shown only now", body = PortalLinkOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid lifetime", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_portal_link(
    principal: Principal,
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
    body: Json<CreatePortalLink>,
) -> Result<HttpResponse, ApiError> {
    let tenant = principal.tenant(&state, &path).await?;
    principal.require_admin()?;
    let seconds = body.0.expires_in_seconds.unwrap_or(DEFAULT_LIFETIME_SECONDS);
    if !(MIN_LIFETIME_SECONDS..=MAX_LIFETIME_SECONDS).contains(&seconds) {
        return Err(ApiError::invalid(
            "expires_in_seconds",
            format!("must be between {MIN_LIFETIME_SECONDS} and {MAX_LIFETIME_SECONDS}"),
        ));
    }
    let base = match &state.public_url {
        Some(url) => url.clone(),
        None => request_origin(&request)?,
    };
    let expires_at = state.clock.now() + Duration::seconds(seconds);
    let scope = TokenScope::Tenant(tenant.id.clone());
    let (token, plain) = issue_token(&state, &principal, "portal link".into(), scope, Some(expires_at)).await?;
    Ok(HttpResponse::Created().json(PortalLinkOut {
        url: console_link(&base, plain.expose()).to_string(),
        token: plain.expose().to_owned(),
        token_id: token.id.to_string(),
        tenant_id: tenant.id.to_string(),
        expires_at,
    }))
}

/// The scheme and host the caller used (honouring `Forwarded`/`X-Forwarded-*` from a proxy), for
/// deployments without `server.public_url`. Only admins mint links, so the headers are trusted.
fn request_origin(request: &HttpRequest) -> Result<Url, ApiError> {
    let info = request.connection_info();
    Url::parse(&format!("{}://{}/", info.scheme(), info.host()))
        .map_err(|error| ApiError::BadRequest { field: "host".into(), detail: format!("invalid Host header: {error}") })
}

/// `<base>/console#token=<token>`, keeping any path `base` has (a console behind a path prefix).
fn console_link(base: &Url, token: &str) -> Url {
    let mut link = base.clone();
    if !link.path().ends_with('/') {
        let path = format!("{}/", link.path());
        link.set_path(&path);
    }
    link.set_query(None);
    link.set_path(&format!("{}console", link.path()));
    link.set_fragment(Some(&format!("token={token}")));
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_the_console_under_the_base_with_the_token_in_the_fragment() {
        let link = |base: &str| console_link(&Url::parse(base).unwrap(), "oht_abc-_1").to_string();
        assert_eq!(link("https://hooks.example.com"), "https://hooks.example.com/console#token=oht_abc-_1");
        assert_eq!(link("https://example.com/outhook"), "https://example.com/outhook/console#token=oht_abc-_1");
        assert_eq!(
            link("http://127.0.0.1:8080/outhook/?x=1"),
            "http://127.0.0.1:8080/outhook/console#token=oht_abc-_1"
        );
    }
}
