//! The storage boundary. **This is the only module that knows SQL.** One [`Store`] trait, two
//! backends: PostgreSQL for production and multi-node deployments, SQLite for the embedded
//! single-node default. Both pass the same conformance suite (`tests/api/`).
//!
//! The store receives and returns whole domain records; it encrypts signing secrets on the way in
//! and decrypts them on the way out, so nothing above it handles ciphertext.

mod cache;
pub mod cipher;
mod claim;
mod fairness;
mod group_commit;
mod migrations;
pub mod postgres;
mod query;
pub mod records;
mod rows;
pub mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::domain::ids::{AttemptId, DeliveryId, EndpointId, EventId, TenantId, TokenId};
use crate::domain::names::EventTypeName;
use crate::domain::retry::RetrySchedule;
use crate::domain::token::TokenDigest;
use crate::domain::versions::ApiVersionName;
pub use cipher::SecretCipher;
pub use records::{
    ApiVersion, Attempt, AttemptFilter, AuditEntry, AuditFilter, ClaimBatch, ClaimedDelivery, CompletionRules,
    Delivery, DeliveryFilter, DeliveryTransition, Endpoint, Event, EventFilter, EventType, EventTypeVersion, IdRange,
    Ingested, PageRequest, PoolStatus, QueueStats, Recovery, RemoveVersion, StatusCounts, Tenant, Token,
};

/// Failures of the storage layer, closed so the HTTP edge can map each to a status.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded: callers should retry later (HTTP 503).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was violated (duplicate tenant uid, event type name, …).
    #[error("a record with the same unique key already exists")]
    Conflict,
    /// The record to update no longer exists.
    #[error("the record does not exist")]
    NotFound,
    /// The database was migrated by a newer Outhook; running this binary could corrupt it.
    #[error(
        "the database schema is at version {database}, newer than this binary supports ({binary}); \
         upgrade Outhook before starting it against this database"
    )]
    SchemaTooNew { database: i64, binary: i64 },
    /// The schema is older than this binary expects and start-up migration was skipped.
    #[error("the database schema is at version {database}, this binary needs {binary}; run `outhook migrate`")]
    SchemaOutdated { database: i64, binary: i64 },
    /// A concurrent transaction got in the way (deadlock, serialization failure): the same work
    /// succeeds when tried again. Clients get 503 with `Retry-After`.
    #[error("a concurrent transaction conflicted; retry: {0}")]
    Contention(String),
    /// A stored row could not be turned back into a domain record.
    #[error("a stored row is invalid: {0}")]
    Corrupt(String),
    /// Anything else the driver reported.
    #[error("database error: {0}")]
    Internal(String),
}

/// Everything Outhook persists, behind one interface so both backends stay interchangeable.
#[async_trait]
pub trait Store: Send + Sync {
    /// Readiness: the database answers and its schema is the one this binary expects.
    async fn check_ready(&self) -> Result<(), StoreError>;

    /// Inserts a tenant; [`StoreError::Conflict`] when the uid is taken.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Looks a tenant up by its id or by the vendor's uid.
    async fn find_tenant(&self, id_or_uid: &str) -> Result<Option<Tenant>, StoreError>;
    /// Replaces a tenant's mutable fields.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Deletes a tenant and everything it owns; `false` when it did not exist.
    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, StoreError>;
    /// Newest first, up to `page.limit + 1` rows so the caller can tell whether more exist.
    async fn list_tenants(&self, page: &PageRequest) -> Result<Vec<Tenant>, StoreError>;

    /// Inserts an event type; [`StoreError::Conflict`] when the name is taken.
    async fn insert_event_type(&self, event_type: &EventType) -> Result<(), StoreError>;
    async fn find_event_type(&self, name: &EventTypeName) -> Result<Option<EventType>, StoreError>;
    async fn update_event_type(&self, event_type: &EventType) -> Result<(), StoreError>;
    /// By name ascending, up to `page.limit + 1` rows.
    async fn list_event_types(&self, page: &PageRequest, include_archived: bool) -> Result<Vec<EventType>, StoreError>;
    /// Which of `names` exist (archived or not), for validating endpoint filters.
    async fn existing_event_types(&self, names: &[EventTypeName]) -> Result<Vec<EventTypeName>, StoreError>;

    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;
    async fn find_endpoint(&self, tenant_id: &TenantId, id: &EndpointId) -> Result<Option<Endpoint>, StoreError>;
    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;
    async fn delete_endpoint(&self, tenant_id: &TenantId, id: &EndpointId) -> Result<bool, StoreError>;
    /// Newest first, up to `page.limit + 1` rows.
    async fn list_endpoints(&self, tenant_id: &TenantId, page: &PageRequest) -> Result<Vec<Endpoint>, StoreError>;

    async fn insert_token(&self, token: &Token) -> Result<(), StoreError>;
    /// Inserts `token` only if no admin token exists yet; `true` when it was inserted. Atomic, so
    /// several processes starting at once create exactly one first token.
    async fn insert_first_admin_token(&self, token: &Token) -> Result<bool, StoreError>;
    async fn find_token(&self, digest: &TokenDigest) -> Result<Option<Token>, StoreError>;
    /// Newest first, up to `page.limit + 1` rows.
    async fn list_tokens(&self, page: &PageRequest) -> Result<Vec<Token>, StoreError>;
    async fn delete_token(&self, id: &TokenId) -> Result<bool, StoreError>;

    /// Stores events of one tenant and one delivery per matching endpoint, all in one
    /// transaction: either everything is committed or nothing is. Events whose idempotency key
    /// was already used come back as [`Ingested::Replayed`] and create nothing. Each delivery's
    /// first attempt is due after the first delay of its endpoint's schedule (or `default_schedule`).
    async fn ingest(&self, events: &[Event], default_schedule: &RetrySchedule) -> Result<Vec<Ingested>, StoreError>;
    async fn find_event(&self, tenant_id: &TenantId, id: &EventId) -> Result<Option<Event>, StoreError>;
    /// Newest first, up to `page.limit + 1` rows.
    async fn list_events(
        &self,
        tenant_id: &TenantId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> Result<Vec<Event>, StoreError>;
    /// The deliveries of each of `event_ids`, counted by status.
    async fn event_delivery_counts(
        &self,
        tenant_id: &TenantId,
        event_ids: &[EventId],
    ) -> Result<BTreeMap<EventId, StatusCounts>, StoreError>;
    /// Newest first, up to `page.limit + 1` rows.
    async fn list_deliveries(
        &self,
        tenant_id: &TenantId,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Vec<Delivery>, StoreError>;
    async fn find_delivery(&self, tenant_id: &TenantId, id: &DeliveryId) -> Result<Option<Delivery>, StoreError>;
    /// Newest first, up to `page.limit + 1` rows.
    async fn list_attempts(
        &self,
        tenant_id: &TenantId,
        filter: &AttemptFilter,
        page: &PageRequest,
    ) -> Result<Vec<Attempt>, StoreError>;
    async fn find_attempt(&self, tenant_id: &TenantId, id: &AttemptId) -> Result<Option<Attempt>, StoreError>;
    /// Makes a delivery due at `now` for a manual attempt, whatever its state; an attempt in flight
    /// loses its lease (it is still recorded). `None` when there is no such delivery.
    async fn retry_delivery(
        &self,
        tenant_id: &TenantId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError>;
    /// Stores a recovery for the background to carry out; returns how many deliveries it matches.
    async fn insert_recovery(&self, recovery: &Recovery) -> Result<u64, StoreError>;
    /// Requeues the next batch of the oldest unfinished recovery (due at `now`, trigger
    /// `recovery`). Returns how many deliveries were requeued, or `None` when none is unfinished.
    async fn advance_recovery(&self, now: DateTime<Utc>, batch: usize) -> Result<Option<u64>, StoreError>;
    /// An endpoint's deliveries created in `window`, counted by status.
    async fn endpoint_delivery_counts(
        &self,
        tenant_id: &TenantId,
        endpoint_id: &EndpointId,
        window: &IdRange,
    ) -> Result<StatusCounts, StoreError>;
    /// Deletes up to `batch` events created before `before` whose deliveries are all final, with
    /// their deliveries and attempts; returns how many events. Small batches keep each
    /// transaction short, so pruning never holds up delivery.
    async fn prune(&self, before: DateTime<Utc>, batch: usize) -> Result<u64, StoreError>;
    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Newest first, up to `page.limit + 1` rows.
    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Vec<AuditEntry>, StoreError>;

    /// Leases up to `limit` deliveries due at `now` (including ones whose lease expired) until
    /// `now + lease`, so no other worker takes them meanwhile. Deliveries held back by their
    /// endpoint's throttle or open circuit are released to a later time without an attempt. Claiming is fair across tenants:
    /// the batch is shared among the tenants with due work, earliest due first within each, and
    /// successive claims rotate through tenants, so one tenant's backlog cannot hold back
    /// another's fresh events.
    async fn claim_due(&self, now: DateTime<Utc>, limit: usize, lease: Duration) -> Result<ClaimBatch, StoreError>;
    /// Records an attempt and moves the delivery on, in one transaction. The attempt is always
    /// recorded and counts towards the endpoint's health (which may open or close its circuit, or
    /// disable it); the delivery only moves if `claim_token` still holds the lease (`true` then).
    /// Health changes and exhausted deliveries become operational events in the same transaction.
    async fn complete_attempt(
        &self,
        attempt: &Attempt,
        claim_token: &str,
        transition: DeliveryTransition,
        now: DateTime<Utc>,
        rules: &CompletionRules,
    ) -> Result<bool, StoreError>;
    /// Gives a leased delivery back without an attempt, due again at `due_at` (shutdown, a
    /// disabled endpoint). Returns whether the lease was still held.
    async fn release(&self, delivery: &Delivery, claim_token: &str, due_at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// When the earliest delivery not leased at `now` becomes due, if any. (A lease that runs out
    /// is noticed by the workers' poll.)
    async fn next_due_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Every API version, oldest first.
    async fn list_api_versions(&self) -> Result<Vec<ApiVersion>, StoreError>;
    /// Adds a version after the newest; [`StoreError::Conflict`] when the name exists.
    async fn append_api_version(
        &self,
        name: &ApiVersionName,
        created_at: DateTime<Utc>,
    ) -> Result<ApiVersion, StoreError>;
    /// Removes a version unless an endpoint is pinned to it.
    async fn remove_api_version(&self, name: &ApiVersionName) -> Result<RemoveVersion, StoreError>;
    /// Creates or replaces an event type's schema and downgrade for one version.
    async fn put_event_type_version(&self, version: &EventTypeVersion) -> Result<(), StoreError>;
    /// An event type's per-version definitions.
    async fn list_event_type_versions(&self, event_type: &EventTypeName) -> Result<Vec<EventTypeVersion>, StoreError>;

    /// How many deliveries are due, scheduled and leased at `now`, and how many circuits are open.
    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, StoreError>;
    /// This process's database connections.
    fn pool_status(&self) -> PoolStatus;

    /// Signalled when new deliveries may be due (NOTIFY on PostgreSQL, in-process on SQLite), so
    /// workers wake at once instead of polling hot.
    fn work_signal(&self) -> Arc<Notify>;
}

/// Whether opening a store may change the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationMode {
    /// Apply pending migrations (start-up of `serve`, and `outhook migrate`).
    Apply,
    /// Refuse to start on an outdated schema (workers that must not race a deploy).
    Verify,
}

/// Which backend a database URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(std::path::PathBuf),
}

impl DatabaseUrl {
    /// `postgres://…` / `postgresql://…` or `sqlite://path` (also `sqlite:path`).
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_owned()));
        }
        if let Some(path) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(StoreError::Internal("a sqlite URL needs a file path".into()));
            }
            return Ok(Self::Sqlite(path.into()));
        }
        Err(StoreError::Internal("the database URL must start with postgres://, postgresql:// or sqlite://".into()))
    }
}

/// Settings a store needs to open, independent of where they were configured.
pub struct StoreOptions {
    pub url: DatabaseUrl,
    pub pool_size: usize,
    /// How long hot lookups are served from memory (see `cache`).
    pub cache_ttl: Duration,
    pub cipher: Arc<SecretCipher>,
    pub migrations: MigrationMode,
}

/// Opens the configured backend, migrating or verifying its schema first, behind the cache.
pub async fn open(options: StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    let backend: Arc<dyn Store> = match &options.url {
        DatabaseUrl::Postgres(url) => {
            let store = postgres::PostgresStore::connect(url, options.pool_size, options.cipher).await?;
            store.migrate(options.migrations).await?;
            Arc::new(store)
        }
        DatabaseUrl::Sqlite(path) => {
            let store = sqlite::SqliteStore::open(path, options.cipher).await?;
            store.migrate(options.migrations).await?;
            Arc::new(store)
        }
    };
    Ok(Arc::new(cache::CachedStore::new(backend, options.cache_ttl)))
}
