//! Plain column values shared by both backends, and their conversion to and from records. Each
//! backend only moves these between SQL and Rust; decoding rules (and encryption) live here once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::endpoint::{CustomHeaders, EndpointUrl};
use crate::domain::ids::{EndpointId, TenantId, TokenId};
use crate::domain::names::{Channel, EventTypeName, TenantUid};
use crate::domain::secret::SigningSecret;
use crate::domain::token::{TokenDigest, TokenScope};
use crate::store::records::{Endpoint, EventType, Tenant, Token};
use crate::store::{SecretCipher, StoreError};

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

pub struct TenantRow {
    pub id: String,
    pub uid: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TenantRow {
    pub fn encode(tenant: &Tenant) -> Self {
        Self {
            id: tenant.id.to_string(),
            uid: tenant.uid.as_str().to_owned(),
            name: tenant.name.clone(),
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }

    pub fn decode(self) -> Result<Tenant, StoreError> {
        Ok(Tenant {
            id: TenantId::parse(&self.id).map_err(|e| corrupt("tenants.id", e))?,
            uid: TenantUid::parse(&self.uid).map_err(|e| corrupt("tenants.uid", e))?,
            name: self.name,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct EventTypeRow {
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventTypeRow {
    pub fn encode(event_type: &EventType) -> Self {
        Self {
            name: event_type.name.to_string(),
            description: event_type.description.clone(),
            archived: event_type.archived,
            created_at: event_type.created_at,
            updated_at: event_type.updated_at,
        }
    }

    pub fn decode(self) -> Result<EventType, StoreError> {
        Ok(EventType {
            name: EventTypeName::parse(&self.name).map_err(|e| corrupt("event_types.name", e))?,
            description: self.description,
            archived: self.archived,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct EndpointRow {
    pub tenant_id: String,
    pub id: String,
    pub url: String,
    pub description: String,
    /// JSON array text, or `None` for "all".
    pub event_types: Option<String>,
    /// JSON array text, or `None` for "any".
    pub channels: Option<String>,
    /// JSON object text.
    pub headers: String,
    /// `nonce || ciphertext` of the signing secret.
    pub secret: Vec<u8>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn json_list<T: AsRef<str>>(items: &Option<Vec<T>>) -> Option<String> {
    items.as_ref().map(|items| {
        let strings: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
        serde_json::Value::from(strings).to_string()
    })
}

fn parse_list<T, E: std::fmt::Display>(
    column: &str,
    raw: Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<Vec<T>>, StoreError> {
    let Some(raw) = raw else { return Ok(None) };
    let strings: Vec<String> = serde_json::from_str(&raw).map_err(|e| corrupt(column, e))?;
    let items = strings.iter().map(|s| parse(s)).collect::<Result<Vec<T>, E>>().map_err(|e| corrupt(column, e))?;
    Ok(Some(items))
}

impl AsRef<str> for EventTypeName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Channel {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl EndpointRow {
    pub fn encode(endpoint: &Endpoint, cipher: &SecretCipher) -> Self {
        Self {
            tenant_id: endpoint.tenant_id.to_string(),
            id: endpoint.id.to_string(),
            url: endpoint.url.as_str().to_owned(),
            description: endpoint.description.clone(),
            event_types: json_list(&endpoint.event_types),
            channels: json_list(&endpoint.channels),
            headers: serde_json::to_string(endpoint.headers.as_map()).unwrap_or_else(|_| "{}".into()),
            secret: cipher.seal(endpoint.secret.as_bytes()),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone(),
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }

    pub fn decode(self, cipher: &SecretCipher) -> Result<Endpoint, StoreError> {
        let headers: BTreeMap<String, String> =
            serde_json::from_str(&self.headers).map_err(|e| corrupt("endpoints.headers", e))?;
        let secret = cipher.open(&self.secret).map_err(|e| corrupt("endpoints.secret", e))?;
        Ok(Endpoint {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(|e| corrupt("endpoints.tenant_id", e))?,
            id: EndpointId::parse(&self.id).map_err(|e| corrupt("endpoints.id", e))?,
            url: EndpointUrl::parse(&self.url).map_err(|e| corrupt("endpoints.url", e))?,
            description: self.description,
            event_types: parse_list("endpoints.event_types", self.event_types, EventTypeName::parse)?,
            channels: parse_list("endpoints.channels", self.channels, Channel::parse)?,
            headers: CustomHeaders::from_trusted(headers),
            secret: SigningSecret::from_bytes(secret),
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub tenant_id: Option<String>,
    pub digest: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    pub fn encode(token: &Token) -> Self {
        Self {
            id: token.id.to_string(),
            name: token.name.clone(),
            tenant_id: match &token.scope {
                TokenScope::Admin => None,
                TokenScope::Tenant(tenant_id) => Some(tenant_id.to_string()),
            },
            digest: token.digest.as_str().to_owned(),
            created_at: token.created_at,
            expires_at: token.expires_at,
        }
    }

    pub fn decode(self) -> Result<Token, StoreError> {
        let scope = match self.tenant_id {
            None => TokenScope::Admin,
            Some(raw) => TokenScope::Tenant(TenantId::parse(&raw).map_err(|e| corrupt("api_tokens.tenant_id", e))?),
        };
        Ok(Token {
            id: TokenId::parse(&self.id).map_err(|e| corrupt("api_tokens.id", e))?,
            name: self.name,
            scope,
            digest: TokenDigest::from_stored(self.digest),
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}
