//! API tokens: admin tokens for the vendor's backend and operators, tenant-scoped tokens for a
//! customer's own view. The token value is shown once, at creation; only its digest is kept.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::audit;
use crate::api::auth::Principal;
use crate::api::errors::{ApiError, Problem};
use crate::api::json::Json;
use crate::api::pagination::{ListQuery, Page};
use crate::api::tenants::TenantOut;
use crate::domain::ids::TokenId;
use crate::domain::names::parse_description;
use crate::domain::token::{PlainToken, TokenScope};
use crate::domain::validation::{FieldError, FieldErrors};
use crate::store::Token;

/// A token's metadata (never its value).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// `tok_…`
    pub id: String,
    pub name: String,
    /// The tenant a tenant-scoped token is limited to; `null` for admin tokens.
    pub tenant_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<Token> for TokenOut {
    fn from(token: Token) -> Self {
        Self {
            id: token.id.to_string(),
            name: token.name,
            tenant_id: match token.scope {
                TokenScope::Admin => None,
                TokenScope::Tenant(tenant_id) => Some(tenant_id.to_string()),
            },
            created_at: token.created_at,
            expires_at: token.expires_at,
        }
    }
}

/// A newly created token, the only time its value is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenOut {
    #[serde(flatten)]
    pub token: TokenOut,
    /// The bearer token. Store it now: it cannot be retrieved again.
    pub token_value: String,
}

/// Body of `create_token`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for.
    #[serde(default)]
    pub name: String,
    /// Tenant id or uid to scope the token to; absent for an admin token.
    pub tenant: Option<String>,
    /// Lifetime in seconds (1 to 31,536,000); absent for no expiry.
    pub expires_in_seconds: Option<i64>,
}

const MAX_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;

/// Create an admin or tenant-scoped token.
#[utoipa::path(
    post, path = "/v1/tokens", tag = "tokens", operation_id = "create_token",
    request_body = CreateToken,
    responses(
        (status = 201, description = "Created; the value is shown only now", body = CreatedTokenOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_token(
    principal: Principal,
    state: web::Data<AppState>,
    body: Json<CreateToken>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let name = errors.check("name", parse_description(&body.name));
    let scope = match &body.tenant {
        None => Some(TokenScope::Admin),
        Some(key) => match state.store.find_tenant(key).await? {
            Some(tenant) => Some(TokenScope::Tenant(tenant.id)),
            None => {
                errors.push(FieldError::new("tenant", "no such tenant"));
                None
            }
        },
    };
    let now = state.clock.now();
    let expires_at = match body.expires_in_seconds {
        None => Some(None),
        Some(seconds) if (1..=MAX_LIFETIME_SECONDS).contains(&seconds) => Some(Some(now + Duration::seconds(seconds))),
        Some(_) => {
            errors.push(FieldError::new("expires_in_seconds", format!("must be between 1 and {MAX_LIFETIME_SECONDS}")));
            None
        }
    };
    let (Some(name), Some(scope), Some(expires_at)) = (name, scope, expires_at) else { return Err(errors.into()) };
    let (token, plain) = issue_token(&state, &principal, name, scope, expires_at).await?;
    let created = CreatedTokenOut { token: TokenOut::from(token), token_value: plain.expose().to_owned() };
    Ok(HttpResponse::Created().json(created))
}

/// Stores a new token and records its creation in the audit log; the only way tokens are minted
/// over the API (`create_token`, and portal links). Returns the value, to be shown once.
pub async fn issue_token(
    state: &AppState,
    principal: &Principal,
    name: String,
    scope: TokenScope,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(Token, PlainToken), ApiError> {
    let plain = PlainToken::generate();
    let created_at = state.clock.now();
    let token = Token { id: TokenId::generate(), name, scope, digest: plain.digest(), created_at, expires_at };
    state.store.insert_token(&token).await?;
    let tenant_id = match &token.scope {
        TokenScope::Admin => None,
        TokenScope::Tenant(tenant_id) => Some(tenant_id),
    };
    let details = serde_json::json!({ "name": token.name, "expires_at": token.expires_at });
    audit::record(state, principal, tenant_id, "token.created", token.id.as_str(), details).await;
    Ok((token, plain))
}

/// List tokens, newest first.
#[utoipa::path(
    get, path = "/v1/tokens", tag = "tokens", operation_id = "list_tokens",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of tokens", body = Page<TokenOut>),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_tokens(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let request = query.page_request(|cursor| TokenId::parse(cursor).map(|id| id.to_string()))?;
    let rows = state.store.list_tokens(&request).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, &request, |token| token.id.to_string(), TokenOut::from)))
}

/// Revoke a token; requests bearing it fail from now on.
#[utoipa::path(
    delete, path = "/v1/tokens/{token}", tag = "tokens", operation_id = "revoke_token",
    params(("token" = String, Path, description = "Token id (`tok_…`)")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_token(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let id = TokenId::parse(&path).map_err(|_| ApiError::NotFound("token"))?;
    if !state.store.delete_token(&id).await? {
        return Err(ApiError::NotFound("token"));
    }
    audit::record(&state, &principal, None, "token.revoked", id.as_str(), serde_json::json!({})).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the caller is: the token's id and scope, and for a tenant token its tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoamiOut {
    /// The presented token's id (`tok_…`).
    pub token_id: String,
    /// `admin` (the whole deployment) or `tenant` (one tenant).
    pub scope: String,
    /// The tenant a tenant-scoped token is limited to; `null` for admin tokens.
    pub tenant_id: Option<String>,
    /// That tenant, so a tenant-scoped client (the console's portal) can show it without listing.
    pub tenant: Option<TenantOut>,
    /// When the token stops working; `null` when it does not expire.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Describe the calling token: its scope, its tenant (for a tenant token) and its expiry.
#[utoipa::path(
    get, path = "/v1/whoami", tag = "tokens", operation_id = "get_whoami",
    responses(
        (status = 200, description = "The caller", body = WhoamiOut),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_whoami(principal: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tenant = match &principal.scope {
        TokenScope::Admin => None,
        // Tokens are deleted with their tenant; one whose tenant vanished meanwhile scopes nothing.
        TokenScope::Tenant(tenant_id) => {
            Some(state.store.find_tenant(tenant_id.as_str()).await?.ok_or(ApiError::Unauthorized)?)
        }
    };
    Ok(HttpResponse::Ok().json(WhoamiOut {
        token_id: principal.token_id.to_string(),
        scope: if tenant.is_some() { "tenant" } else { "admin" }.to_owned(),
        tenant_id: tenant.as_ref().map(|tenant| tenant.id.to_string()),
        tenant: tenant.map(TenantOut::from),
        expires_at: principal.expires_at,
    }))
}
