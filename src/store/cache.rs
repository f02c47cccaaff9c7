//! A read-through cache in front of either backend for what every request looks up and almost
//! never changes: tokens, tenants, API versions and event type definitions. Without it a
//! single-event ingest spent five queries before its own transaction.
//!
//! Only found records are cached (a token or tenant created by another process is seen at once),
//! every write through this process drops the affected entries at once, and entries expire
//! after `ttl`, which bounds how long another process's change (a revoked token, an archived
//! event type) can go unseen here. Expiry of tokens is still checked on every use.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::domain::ids::{AttemptId, DeliveryId, EndpointId, EventId, TenantId, TokenId};
use crate::domain::names::EventTypeName;
use crate::domain::retry::RetrySchedule;
use crate::domain::token::TokenDigest;
use crate::domain::versions::ApiVersionName;
use crate::store::{
    ApiVersion, Attempt, AttemptFilter, AuditEntry, AuditFilter, ClaimBatch, CompletionRules, Delivery, DeliveryFilter,
    DeliveryTransition, Endpoint, Event, EventFilter, EventType, EventTypeVersion, IdRange, Ingested, PageRequest,
    PoolStatus, QueueStats, Recovery, RemoveVersion, StatusCounts, Store, StoreError, Tenant, Token,
};

/// Entries per map before expired ones are swept (and, if still full, all are dropped).
const MAX_ENTRIES: usize = 10_000;

/// A map whose entries expire `ttl` after they were stored.
struct TtlMap<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: &K) -> Option<V> {
        let entries = self.lock();
        let (stored_at, value) = entries.get(key)?;
        (stored_at.elapsed() < self.ttl).then(|| value.clone())
    }

    fn put(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (stored_at, _)| stored_at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

/// The caching [`Store`]: wraps a backend, answers hot lookups from memory.
pub struct CachedStore {
    inner: Arc<dyn Store>,
    tokens: TtlMap<TokenDigest, Token>,
    /// By id and by uid, as requests name tenants either way.
    tenants: TtlMap<String, Tenant>,
    api_versions: TtlMap<(), Vec<ApiVersion>>,
    event_types: TtlMap<EventTypeName, EventType>,
    event_type_versions: TtlMap<EventTypeName, Vec<EventTypeVersion>>,
}

impl CachedStore {
    pub fn new(inner: Arc<dyn Store>, ttl: Duration) -> Self {
        Self {
            inner,
            tokens: TtlMap::new(ttl),
            tenants: TtlMap::new(ttl),
            api_versions: TtlMap::new(ttl),
            event_types: TtlMap::new(ttl),
            event_type_versions: TtlMap::new(ttl),
        }
    }

    /// Drops everything derived from tenants: deleting one also deletes its tokens.
    fn forget_tenants(&self) {
        self.tenants.clear();
        self.tokens.clear();
    }

    fn forget_catalog(&self) {
        self.api_versions.clear();
        self.event_types.clear();
        self.event_type_versions.clear();
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        self.inner.check_ready().await
    }

    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.inner.insert_tenant(tenant).await
    }

    async fn find_tenant(&self, id_or_uid: &str) -> Result<Option<Tenant>, StoreError> {
        if let Some(tenant) = self.tenants.get(&id_or_uid.to_owned()) {
            return Ok(Some(tenant));
        }
        let found = self.inner.find_tenant(id_or_uid).await?;
        if let Some(tenant) = &found {
            self.tenants.put(tenant.id.to_string(), tenant.clone());
            self.tenants.put(tenant.uid.as_str().to_owned(), tenant.clone());
        }
        Ok(found)
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let result = self.inner.update_tenant(tenant).await;
        self.forget_tenants();
        result
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, StoreError> {
        let result = self.inner.delete_tenant(id).await;
        self.forget_tenants();
        result
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Vec<Tenant>, StoreError> {
        self.inner.list_tenants(page).await
    }

    async fn insert_event_type(&self, event_type: &EventType) -> Result<(), StoreError> {
        let result = self.inner.insert_event_type(event_type).await;
        self.forget_catalog();
        result
    }

    async fn find_event_type(&self, name: &EventTypeName) -> Result<Option<EventType>, StoreError> {
        if let Some(event_type) = self.event_types.get(name) {
            return Ok(Some(event_type));
        }
        let found = self.inner.find_event_type(name).await?;
        if let Some(event_type) = &found {
            self.event_types.put(name.clone(), event_type.clone());
        }
        Ok(found)
    }

    async fn update_event_type(&self, event_type: &EventType) -> Result<(), StoreError> {
        let result = self.inner.update_event_type(event_type).await;
        self.forget_catalog();
        result
    }

    async fn list_event_types(&self, page: &PageRequest, include_archived: bool) -> Result<Vec<EventType>, StoreError> {
        self.inner.list_event_types(page, include_archived).await
    }

    async fn existing_event_types(&self, names: &[EventTypeName]) -> Result<Vec<EventTypeName>, StoreError> {
        self.inner.existing_event_types(names).await
    }

    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.inner.insert_endpoint(endpoint).await
    }

    async fn find_endpoint(&self, tenant_id: &TenantId, id: &EndpointId) -> Result<Option<Endpoint>, StoreError> {
        self.inner.find_endpoint(tenant_id, id).await
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.inner.update_endpoint(endpoint).await
    }

    async fn delete_endpoint(&self, tenant_id: &TenantId, id: &EndpointId) -> Result<bool, StoreError> {
        self.inner.delete_endpoint(tenant_id, id).await
    }

    async fn list_endpoints(&self, tenant_id: &TenantId, page: &PageRequest) -> Result<Vec<Endpoint>, StoreError> {
        self.inner.list_endpoints(tenant_id, page).await
    }

    async fn insert_token(&self, token: &Token) -> Result<(), StoreError> {
        self.inner.insert_token(token).await
    }

    async fn insert_first_admin_token(&self, token: &Token) -> Result<bool, StoreError> {
        self.inner.insert_first_admin_token(token).await
    }

    async fn find_token(&self, digest: &TokenDigest) -> Result<Option<Token>, StoreError> {
        if let Some(token) = self.tokens.get(digest) {
            return Ok(Some(token));
        }
        let found = self.inner.find_token(digest).await?;
        if let Some(token) = &found {
            self.tokens.put(digest.clone(), token.clone());
        }
        Ok(found)
    }

    async fn list_tokens(&self, page: &PageRequest) -> Result<Vec<Token>, StoreError> {
        self.inner.list_tokens(page).await
    }

    async fn delete_token(&self, id: &TokenId) -> Result<bool, StoreError> {
        let result = self.inner.delete_token(id).await;
        self.tokens.clear();
        result
    }

    async fn ingest(&self, events: &[Event], default_schedule: &RetrySchedule) -> Result<Vec<Ingested>, StoreError> {
        self.inner.ingest(events, default_schedule).await
    }

    async fn find_event(&self, tenant_id: &TenantId, id: &EventId) -> Result<Option<Event>, StoreError> {
        self.inner.find_event(tenant_id, id).await
    }

    async fn list_events(
        &self,
        tenant_id: &TenantId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner.list_events(tenant_id, filter, page).await
    }

    async fn event_delivery_counts(
        &self,
        tenant_id: &TenantId,
        event_ids: &[EventId],
    ) -> Result<BTreeMap<EventId, StatusCounts>, StoreError> {
        self.inner.event_delivery_counts(tenant_id, event_ids).await
    }

    async fn list_deliveries(
        &self,
        tenant_id: &TenantId,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.inner.list_deliveries(tenant_id, filter, page).await
    }

    async fn find_delivery(&self, tenant_id: &TenantId, id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        self.inner.find_delivery(tenant_id, id).await
    }

    async fn list_attempts(
        &self,
        tenant_id: &TenantId,
        filter: &AttemptFilter,
        page: &PageRequest,
    ) -> Result<Vec<Attempt>, StoreError> {
        self.inner.list_attempts(tenant_id, filter, page).await
    }

    async fn find_attempt(&self, tenant_id: &TenantId, id: &AttemptId) -> Result<Option<Attempt>, StoreError> {
        self.inner.find_attempt(tenant_id, id).await
    }

    async fn retry_delivery(
        &self,
        tenant_id: &TenantId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        self.inner.retry_delivery(tenant_id, id, now).await
    }

    async fn insert_recovery(&self, recovery: &Recovery) -> Result<u64, StoreError> {
        self.inner.insert_recovery(recovery).await
    }

    async fn advance_recovery(&self, now: DateTime<Utc>, batch: usize) -> Result<Option<u64>, StoreError> {
        self.inner.advance_recovery(now, batch).await
    }

    async fn endpoint_delivery_counts(
        &self,
        tenant_id: &TenantId,
        endpoint_id: &EndpointId,
        window: &IdRange,
    ) -> Result<StatusCounts, StoreError> {
        self.inner.endpoint_delivery_counts(tenant_id, endpoint_id, window).await
    }

    async fn prune(&self, before: DateTime<Utc>, batch: usize) -> Result<u64, StoreError> {
        self.inner.prune(before, batch).await
    }

    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.inner.insert_audit(entry).await
    }

    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.list_audit(filter, page).await
    }

    async fn claim_due(&self, now: DateTime<Utc>, limit: usize, lease: Duration) -> Result<ClaimBatch, StoreError> {
        self.inner.claim_due(now, limit, lease).await
    }

    async fn complete_attempt(
        &self,
        attempt: &Attempt,
        claim_token: &str,
        transition: DeliveryTransition,
        now: DateTime<Utc>,
        rules: &CompletionRules,
    ) -> Result<bool, StoreError> {
        self.inner.complete_attempt(attempt, claim_token, transition, now, rules).await
    }

    async fn release(&self, delivery: &Delivery, claim_token: &str, due_at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.release(delivery, claim_token, due_at).await
    }

    async fn next_due_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_due_at(now).await
    }

    async fn list_api_versions(&self) -> Result<Vec<ApiVersion>, StoreError> {
        if let Some(versions) = self.api_versions.get(&()) {
            return Ok(versions);
        }
        let versions = self.inner.list_api_versions().await?;
        self.api_versions.put((), versions.clone());
        Ok(versions)
    }

    async fn append_api_version(
        &self,
        name: &ApiVersionName,
        created_at: DateTime<Utc>,
    ) -> Result<ApiVersion, StoreError> {
        let result = self.inner.append_api_version(name, created_at).await;
        self.forget_catalog();
        result
    }

    async fn remove_api_version(&self, name: &ApiVersionName) -> Result<RemoveVersion, StoreError> {
        let result = self.inner.remove_api_version(name).await;
        self.forget_catalog();
        result
    }

    async fn put_event_type_version(&self, version: &EventTypeVersion) -> Result<(), StoreError> {
        let result = self.inner.put_event_type_version(version).await;
        self.forget_catalog();
        result
    }

    async fn list_event_type_versions(&self, event_type: &EventTypeName) -> Result<Vec<EventTypeVersion>, StoreError> {
        if let Some(versions) = self.event_type_versions.get(event_type) {
            return Ok(versions);
        }
        let versions = self.inner.list_event_type_versions(event_type).await?;
        self.event_type_versions.put(event_type.clone(), versions.clone());
        Ok(versions)
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, StoreError> {
        self.inner.queue_stats(now).await
    }

    fn pool_status(&self) -> PoolStatus {
        self.inner.pool_status()
    }

    fn work_signal(&self) -> Arc<Notify> {
        self.inner.work_signal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl_and_a_zero_ttl_caches_nothing() {
        let map = TtlMap::new(Duration::from_millis(30));
        map.put("a", 1);
        assert_eq!(map.get(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(map.get(&"a"), None);

        let disabled = TtlMap::new(Duration::ZERO);
        disabled.put("a", 1);
        assert_eq!(disabled.get(&"a"), None);
    }

    #[test]
    fn a_full_map_sweeps_instead_of_growing() {
        let map = TtlMap::new(Duration::from_secs(60));
        for key in 0..MAX_ENTRIES + 10 {
            map.put(key, key);
        }
        assert!(map.lock().len() <= MAX_ENTRIES);
        assert_eq!(map.get(&(MAX_ENTRIES + 9)), Some(MAX_ENTRIES + 9));
    }
}
