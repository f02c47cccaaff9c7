//! Bearer-token authentication and the visibility rule: an admin token sees everything; a tenant
//! token sees only its own tenant, and any other tenant answers 404 as if it did not exist.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev, web};
use chrono::{DateTime, Utc};

use crate::api::AppState;
use crate::api::errors::ApiError;
use crate::domain::ids::{TenantId, TokenId};
use crate::domain::token::{TokenDigest, TokenScope};
use crate::store::Tenant;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: TokenId,
    pub scope: TokenScope,
    /// When the presented token stops working; `None` for tokens without expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Principal {
    /// Deployment-wide operations (tenants, event types, tokens) need an admin token.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.scope {
            TokenScope::Admin => Ok(()),
            TokenScope::Tenant(_) => Err(ApiError::Forbidden),
        }
    }

    pub fn can_see(&self, tenant_id: &TenantId) -> bool {
        match &self.scope {
            TokenScope::Admin => true,
            TokenScope::Tenant(own) => own == tenant_id,
        }
    }

    /// Resolves `/tenants/{id-or-uid}` to a tenant this caller may see, or 404.
    pub async fn tenant(&self, state: &AppState, id_or_uid: &str) -> Result<Tenant, ApiError> {
        state
            .store
            .find_tenant(id_or_uid)
            .await?
            .filter(|tenant| self.can_see(&tenant.id))
            .ok_or(ApiError::NotFound("tenant"))
    }
}

fn bearer(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|token| !token.is_empty())
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut dev::Payload) -> Self::Future {
        let presented = bearer(request);
        let state = request.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let presented = presented.ok_or(ApiError::Unauthorized)?;
            let state = state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let token = state.store.find_token(&TokenDigest::of(&presented)).await?.ok_or(ApiError::Unauthorized)?;
            if token.expires_at.is_some_and(|expires_at| expires_at <= state.clock.now()) {
                return Err(ApiError::Unauthorized);
            }
            Ok(Principal { token_id: token.id, scope: token.scope, expires_at: token.expires_at })
        })
    }
}
