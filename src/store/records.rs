//! The records the store persists. Fields are domain types, so a record read back from either
//! backend is as valid as one built from a request.

use chrono::{DateTime, Utc};

use crate::domain::endpoint::{CustomHeaders, EndpointUrl};
use crate::domain::ids::{EndpointId, TenantId, TokenId};
use crate::domain::names::{Channel, EventTypeName, TenantUid};
use crate::domain::secret::SigningSecret;
use crate::domain::token::{TokenDigest, TokenScope};

/// One of the vendor's customers.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub uid: TenantUid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A kind of event, global to the deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct EventType {
    pub name: EventTypeName,
    pub description: String,
    /// Archived types stay visible but accept no new events.
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscriber URL owned by one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub tenant_id: TenantId,
    pub id: EndpointId,
    pub url: EndpointUrl,
    pub description: String,
    /// `None` receives every event type.
    pub event_types: Option<Vec<EventTypeName>>,
    /// `None` receives events on any channel (or none).
    pub channels: Option<Vec<Channel>>,
    pub headers: CustomHeaders,
    pub secret: SigningSecret,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An API token's stored form (never the token itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub id: TokenId,
    pub name: String,
    pub scope: TokenScope,
    pub digest: TokenDigest,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Keyset pagination: at most `limit` items after the item whose key is `after`, in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageRequest {
    /// Rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + 1
    }
}
