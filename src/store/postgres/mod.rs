//! PostgreSQL backend (`deadpool-postgres`): production and multi-node. Many API and worker
//! processes share one database and coordinate only through it (advisory locks for migrations,
//! row locks and `SKIP LOCKED` for work).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use crate::domain::admission;
use crate::domain::delivery::AttemptTrigger;
use crate::domain::health::EndpointHealth;
use crate::domain::ids::{AttemptId, DeliveryId, EndpointId, EventId, TenantId, TokenId};
use crate::domain::names::EventTypeName;
use crate::domain::operations;
use crate::domain::retry::RetrySchedule;
use crate::domain::token::TokenDigest;
use crate::domain::versions::ApiVersionName;
use crate::store::claim;
use crate::store::fairness::TenantCursor;
use crate::store::group_commit::{COMPLETION_LINGER, Committer, GroupCommit, GroupLimits};
use crate::store::migrations::{self, POSTGRES};
use crate::store::query::{self, Dialect, Query};
use crate::store::rows::{
    ApiVersionRow, AttemptRow, AuditRow, Completion, DeliveryRow, EndpointRow, EventRow, EventTypeRow,
    EventTypeVersionRow, FanoutTarget, HealthRow, Holds, Submission, TenantRow, TokenRow, add_status_count,
    disabled_reason, operational_events, transition_columns,
};
use crate::store::{
    ApiVersion, Attempt, AttemptFilter, AuditEntry, AuditFilter, ClaimBatch, CompletionRules, Delivery, DeliveryFilter,
    DeliveryTransition, Endpoint, Event, EventFilter, EventType, EventTypeVersion, IdRange, Ingested, MigrationMode,
    PageRequest, PoolStatus, QueueStats, Recovery, RemoveVersion, SecretCipher, StatusCounts, Store, StoreError,
    Tenant, Token,
};

/// Advisory lock keys, so concurrent processes serialise schema changes and first-token creation.
const MIGRATION_LOCK: i64 = 0x6f75_7468_6f6f_6b01;
const FIRST_TOKEN_LOCK: i64 = 0x6f75_7468_6f6f_6b02;

/// How long a request waits for a pooled connection before the database counts as unavailable.
const POOL_WAIT: Duration = Duration::from_secs(5);

pub struct PostgresStore {
    pool: Pool,
    cipher: Arc<SecretCipher>,
    config: tokio_postgres::Config,
    /// Created with the LISTEN task on first use, so API-only processes hold no extra connection.
    work_signal: OnceLock<Arc<Notify>>,
    claim_cursor: TenantCursor,
    /// Concurrent ingests share transactions (see `group_commit`).
    ingest_commit: GroupCommit<IngestCommitter>,
    /// So do finished attempts.
    completion_commit: GroupCommit<CompletionCommitter>,
}

/// How many events one ingest transaction carries at most, and how many run at once.
const INGEST_GROUPS: GroupLimits = GroupLimits { max_weight: 2_000, parallel: 2, linger: Duration::ZERO };

/// How many finished attempts one transaction records at most, and how many run at once.
const COMPLETION_GROUPS: GroupLimits = GroupLimits { max_weight: 256, parallel: 2, linger: COMPLETION_LINGER };

/// Records groups of finished attempts, each group in one transaction.
struct CompletionCommitter {
    pool: Pool,
}

#[async_trait]
impl Committer for CompletionCommitter {
    type Write = Completion;
    type Outcome = bool;

    async fn commit(&self, completions: &[Completion]) -> Result<Vec<bool>, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let moved = PostgresStore::complete_in(&transaction, completions).await?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(moved)
    }
}

/// Commits groups of submissions, each group in one transaction.
struct IngestCommitter {
    pool: Pool,
}

#[async_trait]
impl Committer for IngestCommitter {
    type Write = Submission;
    type Outcome = Vec<Ingested>;

    async fn commit(&self, submissions: &[Submission]) -> Result<Vec<Vec<Ingested>>, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let results = PostgresStore::ingest_in(&transaction, submissions).await?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(results)
    }
}

fn pg_error(error: tokio_postgres::Error) -> StoreError {
    let Some(db_error) = error.as_db_error() else {
        // No server error means the connection itself failed (closed, refused, I/O).
        return StoreError::Unavailable(error.to_string());
    };
    let code = db_error.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        return StoreError::Conflict;
    }
    if *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE {
        return StoreError::Contention(db_error.message().to_owned());
    }
    let class = &code.code()[..2];
    if matches!(class, "08" | "53" | "57") {
        return StoreError::Unavailable(db_error.message().to_owned());
    }
    StoreError::Internal(format!("{}: {}", code.code(), db_error.message()))
}

fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(error) => pg_error(error),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn column<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, StoreError> {
    row.try_get(name).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

const TENANT_COLUMNS: &str = "id, uid, name, created_at, updated_at, ingest_per_second, ingest_burst";
const EVENT_TYPE_COLUMNS: &str = "name, description, archived, created_at, updated_at";
const ENDPOINT_COLUMNS: &str = "tenant_id, id, url, description, event_types::text AS event_types, \
     channels::text AS channels, headers::text AS headers, secret, retry_schedule::text AS retry_schedule, enabled, \
     disabled_reason, created_at, updated_at, api_version, delivery_per_second, max_in_flight, previous_secrets, \
     consecutive_failures, circuit_state, circuit_until, failing_since, last_success_at, last_failure_at";
const EVENT_COLUMNS: &str = "tenant_id, id, event_type, payload, channels::text AS channels, idempotency_key, created_at, api_version, payloads, trace_context";
const DELIVERY_COLUMNS: &str = "tenant_id, id, event_id, endpoint_id, event_type, status, attempt_count, due_at, next_trigger, created_at, updated_at, claim_token, leased_until";
const AUDIT_COLUMNS: &str = "id, tenant_id, actor, action, resource_id, details, created_at";
/// The endpoint health columns, written back after an attempt.
const UPDATE_HEALTH_SQL: &str =
    "UPDATE endpoints SET consecutive_failures = $3, circuit_state = $4, circuit_until = $5,
        failing_since = $6, last_success_at = $7, last_failure_at = $8
    WHERE tenant_id = $1 AND id = $2";
const ATTEMPT_COLUMNS: &str = "tenant_id, id, delivery_id, event_id, endpoint_id, attempt_number, trigger, started_at, \
     duration_ms, url, request_headers::text AS request_headers, response_status, \
     response_headers::text AS response_headers, response_body, error_kind, error_message, succeeded";
/// The tenants with due work after `$2` (in id order), by a skip scan over `deliveries_tenant_due`.
const DUE_TENANTS_SQL: &str = "WITH RECURSIVE t(tenant_id) AS (
        SELECT (SELECT tenant_id FROM deliveries
                WHERE status IN ('pending', 'failed', 'delivering') AND due_at <= $1 AND tenant_id > $2
                  AND (leased_until IS NULL OR leased_until <= $1)
                ORDER BY tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT d.tenant_id FROM deliveries d
                WHERE d.status IN ('pending', 'failed', 'delivering') AND d.due_at <= $1 AND d.tenant_id > t.tenant_id
                  AND (d.leased_until IS NULL OR d.leased_until <= $1)
                ORDER BY d.tenant_id LIMIT 1)
        FROM t WHERE t.tenant_id IS NOT NULL)
    SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL LIMIT $3";
/// Gives a leased delivery back without an attempt, if the lease is still held.
const RELEASE_SQL: &str = "UPDATE deliveries SET status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'failed' END,
        due_at = $4, claim_token = NULL, leased_until = NULL
    WHERE tenant_id = $1 AND id = $2 AND claim_token = $3";
/// Makes a delivery due now for a manual attempt, whatever its state (see `Store::retry_delivery`).
const RETRY_SQL: &str = "UPDATE deliveries SET status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'failed' END,
        due_at = $3, claim_token = NULL, leased_until = NULL, next_trigger = 'manual', updated_at = $3
    WHERE tenant_id = $1 AND id = $2";
/// An endpoint's failed and exhausted deliveries in an id range.
const RECOVERABLE_COUNT_SQL: &str = "SELECT count(*) FROM deliveries
    WHERE tenant_id = $1 AND endpoint_id = $2 AND id >= $3 AND id < $4 AND status IN ('failed', 'exhausted')
      AND claim_token IS NULL";
/// Requeues the next batch of a recovery: ids after the cursor, in id order.
/// The next batch of a recovery: ids after the cursor, in id order.
const RECOVER_BATCH_SQL: &str = "SELECT id FROM deliveries
    WHERE tenant_id = $1 AND endpoint_id = $2 AND id >= $3 AND id < $4 AND ($6::text IS NULL OR id > $6)
      AND status IN ('failed', 'exhausted') AND claim_token IS NULL
    ORDER BY id LIMIT $5";
/// Requeues a batch for a recovery attempt now. The status is checked again under the row lock,
/// so a delivery a worker moved on meanwhile is left alone.
const REQUEUE_SQL: &str =
    "UPDATE deliveries SET status = 'failed', due_at = $3, next_trigger = 'recovery', updated_at = $3
    WHERE tenant_id = $1 AND id = ANY($2) AND status IN ('failed', 'exhausted') AND claim_token IS NULL";
/// The queue gauges of `/metrics`, one pass over the partial index of unfinished deliveries.
const QUEUE_STATS_SQL: &str = "SELECT
        count(*) FILTER (WHERE claim_token IS NULL AND due_at <= $1) AS due,
        count(*) FILTER (WHERE claim_token IS NULL AND due_at > $1) AS scheduled,
        count(*) FILTER (WHERE claim_token IS NOT NULL) AS leased,
        (SELECT count(*) FROM endpoints WHERE circuit_state <> 'closed') AS circuits_open
    FROM deliveries WHERE status IN ('pending', 'failed', 'delivering')";
/// The channel workers LISTEN on for new work.
const WORK_CHANNEL: &str = "outhook_deliveries";
const TOKEN_COLUMNS: &str = "id, name, tenant_id, digest, created_at, expires_at";

fn tenant(row: &Row) -> Result<Tenant, StoreError> {
    TenantRow {
        id: column(row, "id")?,
        uid: column(row, "uid")?,
        name: column(row, "name")?,
        ingest_per_second: column(row, "ingest_per_second")?,
        ingest_burst: column(row, "ingest_burst")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
    }
    .decode()
}

fn event_type(row: &Row) -> Result<EventType, StoreError> {
    EventTypeRow {
        name: column(row, "name")?,
        description: column(row, "description")?,
        archived: column(row, "archived")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
    }
    .decode()
}

fn event(row: &Row) -> Result<Event, StoreError> {
    EventRow {
        tenant_id: column(row, "tenant_id")?,
        id: column(row, "id")?,
        event_type: column(row, "event_type")?,
        payload: column(row, "payload")?,
        channels: column(row, "channels")?,
        idempotency_key: column(row, "idempotency_key")?,
        api_version: column(row, "api_version")?,
        payloads: column(row, "payloads")?,
        trace_context: column(row, "trace_context")?,
        created_at: column(row, "created_at")?,
    }
    .decode()
}

fn delivery(row: &Row) -> Result<Delivery, StoreError> {
    DeliveryRow {
        tenant_id: column(row, "tenant_id")?,
        id: column(row, "id")?,
        event_id: column(row, "event_id")?,
        endpoint_id: column(row, "endpoint_id")?,
        event_type: column(row, "event_type")?,
        status: column(row, "status")?,
        attempt_count: column(row, "attempt_count")?,
        due_at: column(row, "due_at")?,
        next_trigger: column(row, "next_trigger")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
        leased: column::<Option<String>>(row, "claim_token")?.is_some(),
        leased_until: column(row, "leased_until")?,
    }
    .decode()
}

fn attempt(row: &Row) -> Result<Attempt, StoreError> {
    AttemptRow {
        tenant_id: column(row, "tenant_id")?,
        id: column(row, "id")?,
        delivery_id: column(row, "delivery_id")?,
        event_id: column(row, "event_id")?,
        endpoint_id: column(row, "endpoint_id")?,
        attempt_number: column(row, "attempt_number")?,
        trigger: column(row, "trigger")?,
        started_at: column(row, "started_at")?,
        duration_ms: column(row, "duration_ms")?,
        url: column(row, "url")?,
        request_headers: column(row, "request_headers")?,
        response_status: column(row, "response_status")?,
        response_headers: column(row, "response_headers")?,
        response_body: column(row, "response_body")?,
        error_kind: column(row, "error_kind")?,
        error_message: column(row, "error_message")?,
        succeeded: column(row, "succeeded")?,
    }
    .decode()
}

fn health_row(row: &Row) -> Result<HealthRow, StoreError> {
    Ok(HealthRow {
        consecutive_failures: column(row, "consecutive_failures")?,
        circuit_state: column(row, "circuit_state")?,
        circuit_until: column(row, "circuit_until")?,
        failing_since: column(row, "failing_since")?,
        last_success_at: column(row, "last_success_at")?,
        last_failure_at: column(row, "last_failure_at")?,
    })
}

fn audit_entry(row: &Row) -> Result<AuditEntry, StoreError> {
    AuditRow {
        id: column(row, "id")?,
        tenant_id: column(row, "tenant_id")?,
        actor: column(row, "actor")?,
        action: column(row, "action")?,
        resource_id: column(row, "resource_id")?,
        details: column(row, "details")?,
        created_at: column(row, "created_at")?,
    }
    .decode()
}

/// Binds a built query's text values.
fn text_params(query: &Query) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    query.params.iter().map(|param| param as &(dyn tokio_postgres::types::ToSql + Sync)).collect()
}

fn api_version(row: &Row) -> Result<ApiVersion, StoreError> {
    ApiVersionRow {
        name: column(row, "name")?,
        position: column(row, "position")?,
        created_at: column(row, "created_at")?,
    }
    .decode()
}

fn token(row: &Row) -> Result<Token, StoreError> {
    TokenRow {
        id: column(row, "id")?,
        name: column(row, "name")?,
        tenant_id: column(row, "tenant_id")?,
        digest: column(row, "digest")?,
        created_at: column(row, "created_at")?,
        expires_at: column(row, "expires_at")?,
    }
    .decode()
}

impl PostgresStore {
    /// Builds the pool and proves the database answers, so a bad URL fails at start-up.
    pub async fn connect(url: &str, pool_size: usize, cipher: Arc<SecretCipher>) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Internal(format!("invalid PostgreSQL URL: {e}")))?;
        let config_copy = config.clone();
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .build()
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        drop(pool.get().await.map_err(pool_error)?);
        Ok(Self {
            cipher,
            config: config_copy,
            work_signal: OnceLock::new(),
            claim_cursor: TenantCursor::default(),
            ingest_commit: GroupCommit::start(IngestCommitter { pool: pool.clone() }, INGEST_GROUPS),
            completion_commit: GroupCommit::start(CompletionCommitter { pool: pool.clone() }, COMPLETION_GROUPS),
            pool,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Applies pending migrations (or verifies none are pending) under an advisory lock, so
    /// several processes starting together migrate exactly once.
    pub async fn migrate(&self, mode: MigrationMode) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg_error)?;
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS outhook_schema_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await
            .map_err(pg_error)?;
        let current = Self::schema_version(&transaction).await?;
        for migration in migrations::pending(POSTGRES, current, mode)? {
            tracing::info!(version = migration.version, name = migration.name, "applying PostgreSQL migration");
            transaction.batch_execute(migration.sql).await.map_err(pg_error)?;
            transaction
                .execute(
                    "INSERT INTO outhook_schema_migrations (version, name) VALUES ($1, $2)",
                    &[&migration.version, &migration.name],
                )
                .await
                .map_err(pg_error)?;
        }
        transaction.commit().await.map_err(pg_error)
    }

    async fn schema_version(client: &impl deadpool_postgres::GenericClient) -> Result<i64, StoreError> {
        let row = client
            .query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM outhook_schema_migrations", &[])
            .await
            .map_err(pg_error)?;
        column(&row, "coalesce")
    }

    fn endpoint(&self, row: &Row) -> Result<Endpoint, StoreError> {
        EndpointRow {
            tenant_id: column(row, "tenant_id")?,
            id: column(row, "id")?,
            url: column(row, "url")?,
            description: column(row, "description")?,
            event_types: column(row, "event_types")?,
            channels: column(row, "channels")?,
            headers: column(row, "headers")?,
            secret: column(row, "secret")?,
            retry_schedule: column(row, "retry_schedule")?,
            api_version: column(row, "api_version")?,
            delivery_per_second: column(row, "delivery_per_second")?,
            max_in_flight: column(row, "max_in_flight")?,
            previous_secrets: column(row, "previous_secrets")?,
            health: health_row(row)?,
            enabled: column(row, "enabled")?,
            disabled_reason: column(row, "disabled_reason")?,
            created_at: column(row, "created_at")?,
            updated_at: column(row, "updated_at")?,
        }
        .decode(&self.cipher)
    }

    /// Runs a statement that must touch exactly one row, mapping zero rows to `NotFound`.
    async fn execute_one(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        let updated = self.client().await?.execute(sql, params).await.map_err(pg_error)?;
        if updated == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn execute_deleted(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool, StoreError> {
        let deleted = self.client().await?.execute(sql, params).await.map_err(pg_error)?;
        Ok(deleted > 0)
    }

    /// Keeps a dedicated connection LISTENing for new work and turns each notification into a
    /// wake-up. Reconnects after failures; workers also poll, so a gap only adds latency.
    fn spawn_listener(config: tokio_postgres::Config, signal: Arc<Notify>) {
        tokio::spawn(async move {
            loop {
                match config.connect(NoTls).await {
                    Ok((client, mut connection)) => {
                        let mut messages =
                            std::pin::pin!(futures_util::stream::poll_fn(move |cx| connection.poll_message(cx)));
                        let listen_sql = format!("LISTEN {WORK_CHANNEL}");
                        let listen = client.batch_execute(&listen_sql);
                        let mut listen = std::pin::pin!(futures_util::FutureExt::fuse(listen));
                        loop {
                            tokio::select! {
                                result = &mut listen => {
                                    if let Err(error) = result {
                                        tracing::warn!(%error, "LISTEN failed");
                                        break;
                                    }
                                }
                                message = messages.next() => match message {
                                    Some(Ok(AsyncMessage::Notification(_))) => signal.notify_one(),
                                    Some(Ok(_)) => {}
                                    Some(Err(error)) => {
                                        tracing::warn!(%error, "the LISTEN connection failed");
                                        break;
                                    }
                                    None => break,
                                },
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot open the LISTEN connection"),
                }
                // Wake workers so nothing notified during the gap waits for the next poll.
                signal.notify_one();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Applies the circuit and throttle of each gated endpoint (see [`claim::gated_groups`]) to
    /// freshly claimed deliveries, under the endpoint's row lock inside the claim's transaction,
    /// so every worker sees the same `next_send_at`, in-flight count and circuit. Held-back
    /// deliveries are released to a later time without an attempt.
    async fn apply_gates(
        transaction: &deadpool_postgres::Transaction<'_>,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        claim_token: &str,
        claimed: Vec<Delivery>,
        endpoints: &HashMap<claim::Key, Endpoint>,
    ) -> Result<(Vec<Delivery>, Holds), StoreError> {
        let mut holds = Holds::default();
        let mut keep = vec![true; claimed.len()];
        for ((tenant, endpoint), indexes) in claim::gated_groups(&claimed, endpoints) {
            let Some(current) = endpoints.get(&(tenant.clone(), endpoint.clone())) else { continue };
            let state = transaction
                .query_one(
                    "SELECT next_send_at, consecutive_failures, circuit_state, circuit_until, failing_since,
                            last_success_at, last_failure_at
                     FROM endpoints WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
                    &[&tenant, &endpoint],
                )
                .await
                .map_err(pg_error)?;
            // Counted by a statement of its own, after the lock: its snapshot then includes the
            // leases of the claim that held the lock before. (A subquery of the locking statement
            // would use the snapshot taken before waiting for the lock, and miss them.)
            let in_flight: i64 = transaction
                .query_one(
                    "SELECT count(*) FROM deliveries
                     WHERE tenant_id = $1 AND endpoint_id = $2 AND leased_until > $3 AND claim_token <> $4",
                    &[&tenant, &endpoint, &now, &claim_token],
                )
                .await
                .map_err(pg_error)
                .and_then(|row| column(&row, "count"))?;
            let mut health = health_row(&state)?.decode()?;
            let before = health.clone();
            let manual: Vec<bool> =
                indexes.iter().map(|&index| claimed[index].next_trigger == AttemptTrigger::Manual).collect();
            let admission = admission::admit(
                &manual,
                &mut health,
                current.throttle,
                now,
                column(&state, "next_send_at")?,
                u32::try_from(in_flight).unwrap_or(u32::MAX),
                lease,
            );
            for (index, hold) in indexes.into_iter().zip(admission.holds) {
                if let Some((due_at, reason)) = hold {
                    transaction
                        .execute(RELEASE_SQL, &[&tenant, &claimed[index].id.as_str(), &claim_token, &due_at])
                        .await
                        .map_err(pg_error)?;
                    keep[index] = false;
                    holds.count(reason);
                }
            }
            if let Some(next_send_at) = admission.next_send_at {
                transaction
                    .execute(
                        "UPDATE endpoints SET next_send_at = $3 WHERE tenant_id = $1 AND id = $2",
                        &[&tenant, &endpoint, &next_send_at],
                    )
                    .await
                    .map_err(pg_error)?;
            }
            if health != before {
                Self::write_health(transaction, &tenant, &endpoint, &health).await?;
            }
        }
        let kept = claimed.into_iter().zip(keep).filter_map(|(delivery, kept)| kept.then_some(delivery)).collect();
        Ok((kept, holds))
    }

    async fn write_health(
        client: &impl deadpool_postgres::GenericClient,
        tenant: &str,
        endpoint: &str,
        health: &EndpointHealth,
    ) -> Result<(), StoreError> {
        let row = HealthRow::encode(health);
        client
            .execute(
                UPDATE_HEALTH_SQL,
                &[
                    &tenant,
                    &endpoint,
                    &row.consecutive_failures,
                    &row.circuit_state,
                    &row.circuit_until,
                    &row.failing_since,
                    &row.last_success_at,
                    &row.last_failure_at,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    /// The rows (`columns`) of `table` whose `(tenant_id, id)` is one of `keys`, in one query.
    async fn rows_by_key(
        client: &impl deadpool_postgres::GenericClient,
        columns: &str,
        table: &str,
        keys: &[claim::Key],
    ) -> Result<Vec<Row>, StoreError> {
        let (tenants, ids): (Vec<&str>, Vec<&str>) = keys.iter().map(|(t, i)| (t.as_str(), i.as_str())).unzip();
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE (tenant_id, id) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))"
        );
        let statement = client.prepare_cached(&sql).await.map_err(pg_error)?;
        client.query(&statement, &[&tenants, &ids]).await.map_err(pg_error)
    }

    /// The endpoints with these keys, in one query.
    async fn endpoints_by_key(
        &self,
        client: &impl deadpool_postgres::GenericClient,
        keys: &[claim::Key],
    ) -> Result<HashMap<claim::Key, Endpoint>, StoreError> {
        let rows = Self::rows_by_key(client, ENDPOINT_COLUMNS, "endpoints", keys).await?;
        rows.iter()
            .map(|row| {
                let endpoint = self.endpoint(row)?;
                Ok(((endpoint.tenant_id.to_string(), endpoint.id.to_string()), endpoint))
            })
            .collect()
    }

    /// The events with these keys, in one query.
    async fn events_by_key(
        client: &impl deadpool_postgres::GenericClient,
        keys: &[claim::Key],
    ) -> Result<HashMap<claim::Key, Event>, StoreError> {
        let rows = Self::rows_by_key(client, EVENT_COLUMNS, "events", keys).await?;
        rows.iter()
            .map(|row| {
                let event = event(row)?;
                Ok(((event.tenant_id.to_string(), event.id.to_string()), event))
            })
            .collect()
    }

    /// Stores the submissions' events and their deliveries inside `transaction` (see
    /// [`Store::ingest`]), with one multi-row statement per table whatever the number of events;
    /// shared with operational events, which are ingested inside the attempt that caused them.
    /// One result list per submission, in order.
    async fn ingest_in(
        transaction: &deadpool_postgres::Transaction<'_>,
        submissions: &[Submission],
    ) -> Result<Vec<Vec<Ingested>>, StoreError> {
        let events: Vec<(&Event, &RetrySchedule)> = submissions
            .iter()
            .flat_map(|submission| submission.events.iter().map(|event| (event, &submission.default_schedule)))
            .collect();
        if events.is_empty() {
            return Ok(submissions.iter().map(|_| Vec::new()).collect());
        }
        let targets = Self::fanout_targets(transaction, &events).await?;
        let rows: Vec<EventRow> = events.iter().map(|(event, _)| EventRow::encode(event)).collect();
        let text = |pick: fn(&EventRow) -> Option<&str>| rows.iter().map(pick).collect::<Vec<_>>();
        let insert_events = transaction
            .prepare_cached(
                "INSERT INTO events (tenant_id, id, event_type, payload, channels, idempotency_key, created_at,
                                     api_version, payloads, trace_context)
                 SELECT tenant_id, id, event_type, payload, channels::jsonb, idempotency_key, created_at,
                        api_version, payloads, trace_context
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                             $7::timestamptz[], $8::text[], $9::text[], $10::text[])
                      AS submitted(tenant_id, id, event_type, payload, channels, idempotency_key, created_at,
                                   api_version, payloads, trace_context)
                 ON CONFLICT DO NOTHING
                 RETURNING id",
            )
            .await
            .map_err(pg_error)?;
        let created_at: Vec<DateTime<Utc>> = rows.iter().map(|row| row.created_at).collect();
        let inserted: HashSet<String> = transaction
            .query(
                &insert_events,
                &[
                    &text(|row| Some(&row.tenant_id)),
                    &text(|row| Some(&row.id)),
                    &text(|row| Some(&row.event_type)),
                    &text(|row| Some(&row.payload)),
                    &text(|row| row.channels.as_deref()),
                    &text(|row| row.idempotency_key.as_deref()),
                    &created_at,
                    &text(|row| row.api_version.as_deref()),
                    &text(|row| row.payloads.as_deref()),
                    &text(|row| row.trace_context.as_deref()),
                ],
            )
            .await
            .map_err(pg_error)?
            .iter()
            .map(|row| column::<String>(row, "id"))
            .collect::<Result<_, _>>()?;
        let originals = Self::replayed_originals(transaction, &rows, &inserted).await?;
        let mut deliveries = Vec::new();
        let mut results = Vec::with_capacity(events.len());
        for ((event, schedule), row) in events.iter().zip(&rows) {
            if !inserted.contains(&row.id) {
                let key = (row.tenant_id.clone(), row.idempotency_key.clone().unwrap_or_default());
                let original = originals.get(&key).cloned().ok_or_else(|| {
                    StoreError::Internal("an event was neither stored nor a replay of an idempotency key".into())
                })?;
                results.push(Ingested::Replayed(original));
                continue;
            }
            let before = deliveries.len();
            for target in targets.get(&row.tenant_id).into_iter().flatten().filter(|target| target.wants(event)) {
                deliveries.push(target.delivery_for(event, schedule));
            }
            results.push(Ingested::Created { event: (*event).clone(), deliveries: deliveries.len() - before });
        }
        if !deliveries.is_empty() {
            Self::insert_deliveries(transaction, &deliveries).await?;
            // Delivered to listeners only when the transaction commits.
            transaction.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL]).await.map_err(pg_error)?;
        }
        let mut results = results.into_iter();
        Ok(submissions.iter().map(|submission| results.by_ref().take(submission.events.len()).collect()).collect())
    }

    /// The enabled endpoints of the events' tenants, per tenant id.
    async fn fanout_targets(
        transaction: &deadpool_postgres::Transaction<'_>,
        events: &[(&Event, &RetrySchedule)],
    ) -> Result<HashMap<String, Vec<FanoutTarget>>, StoreError> {
        let mut tenants: Vec<&str> = events.iter().map(|(event, _)| event.tenant_id.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let statement = transaction
            .prepare_cached(
                "SELECT tenant_id, id, enabled, event_types::text AS event_types, channels::text AS channels,
                        retry_schedule::text AS retry_schedule
                 FROM endpoints WHERE tenant_id = ANY($1) AND enabled",
            )
            .await
            .map_err(pg_error)?;
        let mut targets: HashMap<String, Vec<FanoutTarget>> = HashMap::new();
        for row in transaction.query(&statement, &[&tenants]).await.map_err(pg_error)? {
            let target = FanoutTarget::decode(
                column(&row, "id")?,
                column(&row, "enabled")?,
                column(&row, "event_types")?,
                column(&row, "channels")?,
                column(&row, "retry_schedule")?,
            )?;
            targets.entry(column(&row, "tenant_id")?).or_default().push(target);
        }
        Ok(targets)
    }

    /// The stored events whose idempotency keys the rows not `inserted` repeated, by
    /// `(tenant_id, idempotency_key)`.
    async fn replayed_originals(
        transaction: &deadpool_postgres::Transaction<'_>,
        rows: &[EventRow],
        inserted: &HashSet<String>,
    ) -> Result<HashMap<(String, String), Event>, StoreError> {
        let (tenants, keys): (Vec<&str>, Vec<&str>) = rows
            .iter()
            .filter(|row| !inserted.contains(&row.id))
            .filter_map(|row| Some((row.tenant_id.as_str(), row.idempotency_key.as_deref()?)))
            .unzip();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE (tenant_id, idempotency_key) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))"
        );
        let statement = transaction.prepare_cached(&sql).await.map_err(pg_error)?;
        let mut originals = HashMap::new();
        for row in transaction.query(&statement, &[&tenants, &keys]).await.map_err(pg_error)? {
            let original = event(&row)?;
            if let Some(key) = &original.idempotency_key {
                originals.insert((original.tenant_id.to_string(), key.as_str().to_owned()), original);
            }
        }
        Ok(originals)
    }

    async fn insert_deliveries(
        transaction: &deadpool_postgres::Transaction<'_>,
        deliveries: &[DeliveryRow],
    ) -> Result<(), StoreError> {
        let text = |pick: fn(&DeliveryRow) -> &str| deliveries.iter().map(pick).collect::<Vec<_>>();
        let statement = transaction
            .prepare_cached(
                "INSERT INTO deliveries (tenant_id, id, event_id, endpoint_id, status, attempt_count, due_at,
                                         created_at, updated_at, event_type)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[],
                                      $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[])",
            )
            .await
            .map_err(pg_error)?;
        let attempt_counts: Vec<i32> = deliveries.iter().map(|row| row.attempt_count).collect();
        let due_at: Vec<Option<DateTime<Utc>>> = deliveries.iter().map(|row| row.due_at).collect();
        let created_at: Vec<DateTime<Utc>> = deliveries.iter().map(|row| row.created_at).collect();
        let updated_at: Vec<DateTime<Utc>> = deliveries.iter().map(|row| row.updated_at).collect();
        transaction
            .execute(
                &statement,
                &[
                    &text(|row| &row.tenant_id),
                    &text(|row| &row.id),
                    &text(|row| &row.event_id),
                    &text(|row| &row.endpoint_id),
                    &text(|row| &row.status),
                    &attempt_counts,
                    &due_at,
                    &created_at,
                    &updated_at,
                    &text(|row| &row.event_type),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    /// Records a group of finished attempts in one transaction: every attempt is inserted, each
    /// delivery moves only if its `claim_token` still holds the lease. Returns which moved.
    async fn complete_in(
        transaction: &deadpool_postgres::Transaction<'_>,
        completions: &[Completion],
    ) -> Result<Vec<bool>, StoreError> {
        let rows: Vec<AttemptRow> =
            completions.iter().map(|completion| AttemptRow::encode(&completion.attempt)).collect();
        let text = |pick: fn(&AttemptRow) -> &str| rows.iter().map(pick).collect::<Vec<_>>();
        let optional = |pick: fn(&AttemptRow) -> Option<&str>| rows.iter().map(pick).collect::<Vec<_>>();
        let insert = transaction
            .prepare_cached(
                "INSERT INTO attempts (tenant_id, id, delivery_id, event_id, endpoint_id, attempt_number, trigger,
                                       started_at, duration_ms, url, request_headers, response_status, response_headers,
                                       response_body, error_kind, error_message, succeeded)
                 SELECT tenant_id, id, delivery_id, event_id, endpoint_id, attempt_number, trigger, started_at,
                        duration_ms, url, request_headers::jsonb, response_status, response_headers::jsonb,
                        response_body, error_kind, error_message, succeeded
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::text[],
                             $8::timestamptz[], $9::int8[], $10::text[], $11::text[], $12::int4[], $13::text[],
                             $14::text[], $15::text[], $16::text[], $17::bool[])
                      AS attempt(tenant_id, id, delivery_id, event_id, endpoint_id, attempt_number, trigger,
                                 started_at, duration_ms, url, request_headers, response_status, response_headers,
                                 response_body, error_kind, error_message, succeeded)",
            )
            .await
            .map_err(pg_error)?;
        let attempt_numbers: Vec<i32> = rows.iter().map(|row| row.attempt_number).collect();
        let started_at: Vec<DateTime<Utc>> = rows.iter().map(|row| row.started_at).collect();
        let durations: Vec<i64> = rows.iter().map(|row| row.duration_ms).collect();
        let statuses: Vec<Option<i32>> = rows.iter().map(|row| row.response_status).collect();
        let succeeded: Vec<bool> = rows.iter().map(|row| row.succeeded).collect();
        transaction
            .execute(
                &insert,
                &[
                    &text(|row| &row.tenant_id),
                    &text(|row| &row.id),
                    &text(|row| &row.delivery_id),
                    &text(|row| &row.event_id),
                    &text(|row| &row.endpoint_id),
                    &attempt_numbers,
                    &text(|row| &row.trigger),
                    &started_at,
                    &durations,
                    &text(|row| &row.url),
                    &text(|row| &row.request_headers),
                    &statuses,
                    &optional(|row| row.response_headers.as_deref()),
                    &optional(|row| row.response_body.as_deref()),
                    &optional(|row| row.error_kind.as_deref()),
                    &optional(|row| row.error_message.as_deref()),
                    &succeeded,
                ],
            )
            .await
            .map_err(pg_error)?;
        let moves: Vec<(&'static str, Option<DateTime<Utc>>)> =
            completions.iter().map(|completion| transition_columns(completion.transition)).collect();
        let claim_tokens: Vec<&str> = completions.iter().map(|completion| completion.claim_token.as_str()).collect();
        let new_statuses: Vec<&str> = moves.iter().map(|(status, _)| *status).collect();
        let due_at: Vec<Option<DateTime<Utc>>> = moves.iter().map(|(_, due_at)| *due_at).collect();
        let now: Vec<DateTime<Utc>> = completions.iter().map(|completion| completion.now).collect();
        let update = transaction
            .prepare_cached(
                "UPDATE deliveries d SET status = m.status, attempt_count = m.attempt_count, due_at = m.due_at,
                        claim_token = NULL, leased_until = NULL, updated_at = m.now, next_trigger = NULL
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[],
                             $7::timestamptz[]) AS m(tenant_id, id, claim_token, status, attempt_count, due_at, now)
                 WHERE d.tenant_id = m.tenant_id AND d.id = m.id AND d.claim_token = m.claim_token
                 RETURNING d.id",
            )
            .await
            .map_err(pg_error)?;
        let moved: HashSet<String> = transaction
            .query(
                &update,
                &[
                    &text(|row| &row.tenant_id),
                    &text(|row| &row.delivery_id),
                    &claim_tokens,
                    &new_statuses,
                    &attempt_numbers,
                    &due_at,
                    &now,
                ],
            )
            .await
            .map_err(pg_error)?
            .iter()
            .map(|row| column::<String>(row, "id"))
            .collect::<Result<_, _>>()?;
        let moved: Vec<bool> = rows.iter().map(|row| moved.contains(&row.delivery_id)).collect();
        Self::record_health(transaction, completions, &moved).await?;
        Ok(moved)
    }

    /// Counts a group's attempts towards their endpoints' health inside the group's
    /// transaction, and ingests the operational events they cause there too. Each endpoint's row
    /// is read once and only locked and written when its health changes, which a steady stream of
    /// successes does not do.
    async fn record_health(
        transaction: &deadpool_postgres::Transaction<'_>,
        completions: &[Completion],
        moved: &[bool],
    ) -> Result<(), StoreError> {
        let attempts: Vec<&Attempt> = completions.iter().map(|completion| &completion.attempt).collect();
        let keys = claim::attempt_endpoint_keys(&attempts);
        let (tenants, ids): (Vec<&str>, Vec<&str>) = keys.iter().map(|(t, i)| (t.as_str(), i.as_str())).unzip();
        let health_sql = "SELECT tenant_id, id, url, enabled, consecutive_failures, circuit_state, circuit_until,
                                 failing_since, last_success_at, last_failure_at
                          FROM endpoints";
        // Key order, as claims lock endpoint rows (see `claim::gated_groups`).
        let current = transaction
            .query(
                &format!(
                    "{health_sql} WHERE (tenant_id, id) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))
                     ORDER BY tenant_id, id"
                ),
                &[&tenants, &ids],
            )
            .await
            .map_err(pg_error)?;
        let mut events = Vec::new();
        for row in &current {
            let (tenant, endpoint): (String, String) = (column(row, "tenant_id")?, column(row, "id")?);
            let indexes: Vec<usize> = (0..completions.len())
                .filter(|&index| {
                    attempts[index].tenant_id.as_str() == tenant && attempts[index].endpoint_id.as_str() == endpoint
                })
                .collect();
            let outcomes: Vec<(bool, DateTime<Utc>)> =
                indexes.iter().map(|&index| (attempts[index].succeeded, completions[index].now)).collect();
            let policy = &completions[indexes[0]].rules.health;
            let mut health = health_row(row)?.decode()?;
            let before = health.clone();
            health.record_all(&outcomes, column(row, "enabled")?, policy);
            let mut changes = vec![Vec::new(); indexes.len()];
            let mut url: String = column(row, "url")?;
            if health != before {
                let locked_sql = format!("{health_sql} WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE");
                let locked = transaction.query_one(&locked_sql, &[&tenant, &endpoint]).await.map_err(pg_error)?;
                health = health_row(&locked)?.decode()?;
                url = column(&locked, "url")?;
                changes = health.record_all(&outcomes, column(&locked, "enabled")?, policy);
                Self::write_health(transaction, &tenant, &endpoint, &health).await?;
                if let Some(reason) = changes.iter().find_map(|changes| disabled_reason(changes)) {
                    transaction
                        .execute(
                            "UPDATE endpoints SET enabled = FALSE, disabled_reason = $3, updated_at = $4
                             WHERE tenant_id = $1 AND id = $2",
                            &[&tenant, &endpoint, &reason, &completions[indexes[0]].now],
                        )
                        .await
                        .map_err(pg_error)?;
                }
            }
            for (&index, changes) in indexes.iter().zip(&changes) {
                let completion = &completions[index];
                let exhausted = moved[index] && completion.transition == DeliveryTransition::Exhausted;
                events.extend(operational_events(&completion.attempt, &url, changes, exhausted, completion.now));
            }
        }
        if events.is_empty() {
            return Ok(());
        }
        let subscribed = transaction
            .query_opt("SELECT 1 FROM endpoints WHERE tenant_id = $1 AND enabled LIMIT 1", &[&operations::TENANT_ID])
            .await
            .map_err(pg_error)?;
        if subscribed.is_some() {
            let submission = Submission { events, default_schedule: completions[0].rules.default_schedule.clone() };
            Self::ingest_in(transaction, std::slice::from_ref(&submission)).await?;
        }
        Ok(())
    }

    async fn insert_token_with(
        client: &impl deadpool_postgres::GenericClient,
        token: &Token,
    ) -> Result<(), StoreError> {
        let row = TokenRow::encode(token);
        client
            .execute(
                "INSERT INTO api_tokens (id, name, tenant_id, digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&row.id, &row.name, &row.tenant_id, &row.digest, &row.created_at, &row.expires_at],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        let current = Self::schema_version(&client).await?;
        migrations::pending(POSTGRES, current, MigrationMode::Verify).map(|_| ())
    }

    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let row = TenantRow::encode(tenant);
        self.client()
            .await?
            .execute(
                "INSERT INTO tenants (id, uid, name, created_at, updated_at, ingest_per_second, ingest_burst)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &row.id,
                    &row.uid,
                    &row.name,
                    &row.created_at,
                    &row.updated_at,
                    &row.ingest_per_second,
                    &row.ingest_burst,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn find_tenant(&self, id_or_uid: &str) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1 OR uid = $1");
        let row = self.client().await?.query_opt(&sql, &[&id_or_uid]).await.map_err(pg_error)?;
        row.as_ref().map(tenant).transpose()
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let row = TenantRow::encode(tenant);
        self.execute_one(
            "UPDATE tenants SET uid = $2, name = $3, updated_at = $4, ingest_per_second = $5, ingest_burst = $6
             WHERE id = $1",
            &[&row.id, &row.uid, &row.name, &row.updated_at, &row.ingest_per_second, &row.ingest_burst],
        )
        .await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, StoreError> {
        self.execute_deleted("DELETE FROM tenants WHERE id = $1", &[&id.as_str()]).await
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Vec<Tenant>, StoreError> {
        let sql = format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE ($1::text IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
        );
        let rows = self.client().await?.query(&sql, &[&page.after, &page.fetch_limit()]).await.map_err(pg_error)?;
        rows.iter().map(tenant).collect()
    }

    async fn insert_event_type(&self, event_type: &EventType) -> Result<(), StoreError> {
        let row = EventTypeRow::encode(event_type);
        self.client()
            .await?
            .execute(
                "INSERT INTO event_types (name, description, archived, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
                &[&row.name, &row.description, &row.archived, &row.created_at, &row.updated_at],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn find_event_type(&self, name: &EventTypeName) -> Result<Option<EventType>, StoreError> {
        let sql = format!("SELECT {EVENT_TYPE_COLUMNS} FROM event_types WHERE name = $1");
        let row = self.client().await?.query_opt(&sql, &[&name.as_str()]).await.map_err(pg_error)?;
        row.as_ref().map(event_type).transpose()
    }

    async fn update_event_type(&self, event_type: &EventType) -> Result<(), StoreError> {
        let row = EventTypeRow::encode(event_type);
        self.execute_one(
            "UPDATE event_types SET description = $2, archived = $3, updated_at = $4 WHERE name = $1",
            &[&row.name, &row.description, &row.archived, &row.updated_at],
        )
        .await
    }

    async fn list_event_types(&self, page: &PageRequest, include_archived: bool) -> Result<Vec<EventType>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_TYPE_COLUMNS} FROM event_types
             WHERE ($1::text IS NULL OR name > $1) AND ($2 OR NOT archived)
             ORDER BY name LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&page.after, &include_archived, &page.fetch_limit()])
            .await
            .map_err(pg_error)?;
        rows.iter().map(event_type).collect()
    }

    async fn existing_event_types(&self, names: &[EventTypeName]) -> Result<Vec<EventTypeName>, StoreError> {
        let wanted: Vec<&str> = names.iter().map(EventTypeName::as_str).collect();
        let rows = self
            .client()
            .await?
            .query("SELECT name FROM event_types WHERE name = ANY($1)", &[&wanted])
            .await
            .map_err(pg_error)?;
        rows.iter()
            .map(|row| {
                let name: String = column(row, "name")?;
                EventTypeName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let row = EndpointRow::encode(endpoint, &self.cipher);
        self.client()
            .await?
            .execute(
                "INSERT INTO endpoints (tenant_id, id, url, description, event_types, channels, headers, secret,
                                        enabled, disabled_reason, created_at, updated_at, retry_schedule, api_version,
                                        delivery_per_second, max_in_flight, previous_secrets)
                 VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7::text::jsonb, $8, $9, $10, $11, $12,
                         $13::text::jsonb, $14, $15, $16, $17)",
                &[
                    &row.tenant_id,
                    &row.id,
                    &row.url,
                    &row.description,
                    &row.event_types,
                    &row.channels,
                    &row.headers,
                    &row.secret,
                    &row.enabled,
                    &row.disabled_reason,
                    &row.created_at,
                    &row.updated_at,
                    &row.retry_schedule,
                    &row.api_version,
                    &row.delivery_per_second,
                    &row.max_in_flight,
                    &row.previous_secrets,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn find_endpoint(&self, tenant_id: &TenantId, id: &EndpointId) -> Result<Option<Endpoint>, StoreError> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE tenant_id = $1 AND id = $2");
        let row = self.client().await?.query_opt(&sql, &[&tenant_id.as_str(), &id.as_str()]).await.map_err(pg_error)?;
        row.as_ref().map(|row| self.endpoint(row)).transpose()
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let row = EndpointRow::encode(endpoint, &self.cipher);
        self.execute_one(
            "UPDATE endpoints SET url = $3, description = $4, event_types = $5::text::jsonb, channels = $6::text::jsonb,
                    headers = $7::text::jsonb, secret = $8, enabled = $9, disabled_reason = $10, updated_at = $11,
                    retry_schedule = $12::text::jsonb, api_version = $13, delivery_per_second = $14, max_in_flight = $15,
                    previous_secrets = $16, consecutive_failures = $17, circuit_state = $18, circuit_until = $19,
                    failing_since = $20
             WHERE tenant_id = $1 AND id = $2",
            &[
                &row.tenant_id,
                &row.id,
                &row.url,
                &row.description,
                &row.event_types,
                &row.channels,
                &row.headers,
                &row.secret,
                &row.enabled,
                &row.disabled_reason,
                &row.updated_at,
                &row.retry_schedule,
                &row.api_version,
                &row.delivery_per_second,
                &row.max_in_flight,
                &row.previous_secrets,
                &row.health.consecutive_failures,
                &row.health.circuit_state,
                &row.health.circuit_until,
                &row.health.failing_since,
            ],
        )
        .await
    }

    async fn delete_endpoint(&self, tenant_id: &TenantId, id: &EndpointId) -> Result<bool, StoreError> {
        self.execute_deleted(
            "DELETE FROM endpoints WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id.as_str(), &id.as_str()],
        )
        .await
    }

    async fn list_endpoints(&self, tenant_id: &TenantId, page: &PageRequest) -> Result<Vec<Endpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM endpoints
             WHERE tenant_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&tenant_id.as_str(), &page.after, &page.fetch_limit()])
            .await
            .map_err(pg_error)?;
        rows.iter().map(|row| self.endpoint(row)).collect()
    }

    async fn insert_token(&self, token: &Token) -> Result<(), StoreError> {
        let client = self.client().await?;
        Self::insert_token_with(&client, token).await
    }

    async fn insert_first_admin_token(&self, token: &Token) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&FIRST_TOKEN_LOCK]).await.map_err(pg_error)?;
        let existing = transaction
            .query_opt("SELECT id FROM api_tokens WHERE tenant_id IS NULL LIMIT 1", &[])
            .await
            .map_err(pg_error)?;
        if existing.is_some() {
            return Ok(false);
        }
        Self::insert_token_with(&transaction, token).await?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(true)
    }

    async fn find_token(&self, digest: &TokenDigest) -> Result<Option<Token>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE digest = $1");
        let row = self.client().await?.query_opt(&sql, &[&digest.as_str()]).await.map_err(pg_error)?;
        row.as_ref().map(token).transpose()
    }

    async fn list_tokens(&self, page: &PageRequest) -> Result<Vec<Token>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ($1::text IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
        );
        let rows = self.client().await?.query(&sql, &[&page.after, &page.fetch_limit()]).await.map_err(pg_error)?;
        rows.iter().map(token).collect()
    }

    async fn delete_token(&self, id: &TokenId) -> Result<bool, StoreError> {
        self.execute_deleted("DELETE FROM api_tokens WHERE id = $1", &[&id.as_str()]).await
    }

    async fn ingest(&self, events: &[Event], default_schedule: &RetrySchedule) -> Result<Vec<Ingested>, StoreError> {
        self.ingest_commit.submit(Submission::new(events, default_schedule)).await
    }

    async fn find_event(&self, tenant_id: &TenantId, id: &EventId) -> Result<Option<Event>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND id = $2");
        let row = self.client().await?.query_opt(&sql, &[&tenant_id.as_str(), &id.as_str()]).await.map_err(pg_error)?;
        row.as_ref().map(event).transpose()
    }

    async fn list_events(
        &self,
        tenant_id: &TenantId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> Result<Vec<Event>, StoreError> {
        let query = query::events(Dialect::Postgres, EVENT_COLUMNS, tenant_id.as_str(), filter, page);
        let rows = self.client().await?.query(&query.sql, &text_params(&query)).await.map_err(pg_error)?;
        rows.iter().map(event).collect()
    }

    async fn event_delivery_counts(
        &self,
        tenant_id: &TenantId,
        event_ids: &[EventId],
    ) -> Result<BTreeMap<EventId, StatusCounts>, StoreError> {
        let mut counts: BTreeMap<EventId, StatusCounts> = BTreeMap::new();
        if event_ids.is_empty() {
            return Ok(counts);
        }
        let ids: Vec<&str> = event_ids.iter().map(EventId::as_str).collect();
        let query = query::event_status_counts(Dialect::Postgres, tenant_id.as_str(), &ids);
        for row in self.client().await?.query(&query.sql, &text_params(&query)).await.map_err(pg_error)? {
            let event_id: String = column(&row, "event_id")?;
            let event_id = EventId::parse(&event_id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let status: String = column(&row, "status")?;
            add_status_count(counts.entry(event_id).or_default(), &status, column(&row, "count")?)?;
        }
        Ok(counts)
    }

    async fn list_deliveries(
        &self,
        tenant_id: &TenantId,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Vec<Delivery>, StoreError> {
        let query = query::deliveries(Dialect::Postgres, DELIVERY_COLUMNS, tenant_id.as_str(), filter, page);
        let rows = self.client().await?.query(&query.sql, &text_params(&query)).await.map_err(pg_error)?;
        rows.iter().map(delivery).collect()
    }

    async fn find_delivery(&self, tenant_id: &TenantId, id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = $1 AND id = $2");
        let row = self.client().await?.query_opt(&sql, &[&tenant_id.as_str(), &id.as_str()]).await.map_err(pg_error)?;
        row.as_ref().map(delivery).transpose()
    }

    async fn list_attempts(
        &self,
        tenant_id: &TenantId,
        filter: &AttemptFilter,
        page: &PageRequest,
    ) -> Result<Vec<Attempt>, StoreError> {
        let query = query::attempts(Dialect::Postgres, ATTEMPT_COLUMNS, tenant_id.as_str(), filter, page);
        let rows = self.client().await?.query(&query.sql, &text_params(&query)).await.map_err(pg_error)?;
        rows.iter().map(attempt).collect()
    }

    async fn find_attempt(&self, tenant_id: &TenantId, id: &AttemptId) -> Result<Option<Attempt>, StoreError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE tenant_id = $1 AND id = $2");
        let row = self.client().await?.query_opt(&sql, &[&tenant_id.as_str(), &id.as_str()]).await.map_err(pg_error)?;
        row.as_ref().map(attempt).transpose()
    }

    async fn retry_delivery(
        &self,
        tenant_id: &TenantId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let sql = format!("{RETRY_SQL} RETURNING {DELIVERY_COLUMNS}");
        let client = self.client().await?;
        let row = client.query_opt(&sql, &[&tenant_id.as_str(), &id.as_str(), &now]).await.map_err(pg_error)?;
        if row.is_some() {
            client.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL]).await.map_err(pg_error)?;
        }
        row.as_ref().map(delivery).transpose()
    }

    async fn insert_recovery(&self, recovery: &Recovery) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let (tenant, endpoint) = (recovery.tenant_id.as_str(), recovery.endpoint_id.as_str());
        let (from, to) = (DeliveryId::lowest_at(recovery.since), DeliveryId::lowest_at(recovery.until));
        let matched: i64 = transaction
            .query_one(RECOVERABLE_COUNT_SQL, &[&tenant, &endpoint, &from, &to])
            .await
            .map_err(pg_error)?
            .try_get(0)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        transaction
            .execute(
                "INSERT INTO recoveries (tenant_id, id, endpoint_id, since_at, until_at, matched, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &tenant,
                    &recovery.id.as_str(),
                    &endpoint,
                    &recovery.since,
                    &recovery.until,
                    &matched,
                    &recovery.created_at,
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(u64::try_from(matched).unwrap_or(0))
    }

    async fn advance_recovery(&self, now: DateTime<Utc>, batch: usize) -> Result<Option<u64>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let Some(recovery) = transaction
            .query_opt(
                "SELECT tenant_id, id, endpoint_id, since_at, until_at, cursor FROM recoveries
                 WHERE finished_at IS NULL ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                &[],
            )
            .await
            .map_err(pg_error)?
        else {
            return Ok(None);
        };
        let tenant: String = column(&recovery, "tenant_id")?;
        let id: String = column(&recovery, "id")?;
        let endpoint: String = column(&recovery, "endpoint_id")?;
        let since: DateTime<Utc> = column(&recovery, "since_at")?;
        let until: DateTime<Utc> = column(&recovery, "until_at")?;
        let cursor: Option<String> = column(&recovery, "cursor")?;
        let (from, to) = (DeliveryId::lowest_at(since), DeliveryId::lowest_at(until));
        let batch_rows = transaction
            .query(RECOVER_BATCH_SQL, &[&tenant, &endpoint, &from, &to, &(batch as i64), &cursor])
            .await
            .map_err(pg_error)?;
        let ids = batch_rows.iter().map(|row| column::<String>(row, "id")).collect::<Result<Vec<_>, _>>()?;
        let requeued = transaction.execute(REQUEUE_SQL, &[&tenant, &ids, &now]).await.map_err(pg_error)?;
        // A short batch was the last one.
        let finished = (ids.len() < batch).then_some(now);
        transaction
            .execute(
                "UPDATE recoveries SET cursor = COALESCE($3, cursor), requeued = requeued + $4, finished_at = $5
                 WHERE tenant_id = $1 AND id = $2",
                &[&tenant, &id, &ids.last(), &(requeued as i64), &finished],
            )
            .await
            .map_err(pg_error)?;
        if requeued > 0 {
            transaction.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL]).await.map_err(pg_error)?;
        }
        transaction.commit().await.map_err(pg_error)?;
        Ok(Some(requeued))
    }

    async fn endpoint_delivery_counts(
        &self,
        tenant_id: &TenantId,
        endpoint_id: &EndpointId,
        window: &IdRange,
    ) -> Result<StatusCounts, StoreError> {
        let query = query::endpoint_status_counts(Dialect::Postgres, tenant_id.as_str(), endpoint_id.as_str(), window);
        let mut counts = StatusCounts::new();
        for row in self.client().await?.query(&query.sql, &text_params(&query)).await.map_err(pg_error)? {
            let status: String = column(&row, "status")?;
            add_status_count(&mut counts, &status, column(&row, "count")?)?;
        }
        Ok(counts)
    }

    async fn prune(&self, before: DateTime<Utc>, batch: usize) -> Result<u64, StoreError> {
        let deleted = self
            .client()
            .await?
            .execute(
                "DELETE FROM events WHERE (tenant_id, id) IN (
                     SELECT e.tenant_id, e.id FROM events e
                     WHERE e.created_at < $1
                       AND NOT EXISTS (SELECT 1 FROM deliveries d
                                       WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id
                                         AND d.status IN ('pending', 'failed', 'delivering'))
                     ORDER BY e.created_at LIMIT $2
                     FOR UPDATE SKIP LOCKED)",
                &[&before, &(batch as i64)],
            )
            .await
            .map_err(pg_error)?;
        Ok(deleted)
    }

    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let row = AuditRow::encode(entry);
        self.client()
            .await?
            .execute(
                "INSERT INTO audit_log (id, tenant_id, actor, action, resource_id, details, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&row.id, &row.tenant_id, &row.actor, &row.action, &row.resource_id, &row.details, &row.created_at],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Vec<AuditEntry>, StoreError> {
        let query = query::audit(Dialect::Postgres, AUDIT_COLUMNS, filter, page);
        let rows = self.client().await?.query(&query.sql, &text_params(&query)).await.map_err(pg_error)?;
        rows.iter().map(audit_entry).collect()
    }

    async fn claim_due(&self, now: DateTime<Utc>, limit: usize, lease: Duration) -> Result<ClaimBatch, StoreError> {
        let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let claim_token = ulid::Ulid::new().to_string();
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        // A claim lost in a crash only means the delivery is claimed again (at-least-once), so it
        // need not wait for its WAL flush; the attempt that follows is committed durably, and
        // flushes the claim with it.
        let asynchronous_commit =
            async { transaction.batch_execute("SET LOCAL synchronous_commit = off").await.map_err(pg_error) };
        let due_tenants = |after: String| {
            let transaction = &transaction;
            async move {
                let rows =
                    transaction.query(DUE_TENANTS_SQL, &[&now, &after, &(limit as i64)]).await.map_err(pg_error)?;
                rows.iter().map(|row| column::<String>(row, "tenant_id")).collect::<Result<Vec<_>, StoreError>>()
            }
        };
        let start = self.claim_cursor.start();
        // Sent together (tokio-postgres pipelines concurrent requests): one round trip, not two.
        let ((), after_cursor) = tokio::try_join!(asynchronous_commit, due_tenants(start.clone()))?;
        let from_start = if after_cursor.len() < limit && !start.is_empty() {
            due_tenants(String::new()).await?
        } else {
            Vec::new()
        };
        let plan = self.claim_cursor.plan(limit, after_cursor, from_start);
        let sql = format!(
            "WITH due AS (
                SELECT tenant_id, id FROM deliveries
                WHERE tenant_id = $5 AND status IN ('pending', 'failed', 'delivering') AND due_at <= $1
                  AND (leased_until IS NULL OR leased_until <= $1)
                ORDER BY due_at LIMIT $2
                FOR NO KEY UPDATE SKIP LOCKED)
             UPDATE deliveries d SET claim_token = $4, leased_until = $3, updated_at = $1
             FROM due WHERE d.tenant_id = due.tenant_id AND d.id = due.id
             RETURNING {}",
            DELIVERY_COLUMNS.split(", ").map(|name| format!("d.{name}")).collect::<Vec<_>>().join(", ")
        );
        let statement = transaction.prepare_cached(&sql).await.map_err(pg_error)?;
        let mut claimed = Vec::new();
        let mut claims = plan.claims(limit);
        while let Some((tenant, wanted)) = claims.next_request() {
            let rows = transaction
                .query(&statement, &[&now, &(wanted as i64), &lease_until, &claim_token, &tenant])
                .await
                .map_err(pg_error)?;
            claims.got(rows.len());
            for row in &rows {
                claimed.push(delivery(row)?);
            }
        }
        if claimed.is_empty() {
            transaction.commit().await.map_err(pg_error)?;
            return Ok(ClaimBatch::default());
        }
        let endpoints = self.endpoints_by_key(&transaction, &claim::endpoint_keys(&claimed)).await?;
        let (kept, holds) =
            Self::apply_gates(&transaction, now, lease_until - now, &claim_token, claimed, &endpoints).await?;
        transaction.commit().await.map_err(pg_error)?;
        let events = Self::events_by_key(&client, &claim::event_keys(&kept)).await?;
        Ok(holds.batch(claim::assemble(kept, &claim_token, &events, &endpoints)?))
    }

    async fn complete_attempt(
        &self,
        attempt: &Attempt,
        claim_token: &str,
        transition: DeliveryTransition,
        now: DateTime<Utc>,
        rules: &CompletionRules,
    ) -> Result<bool, StoreError> {
        self.completion_commit.submit(Completion::new(attempt, claim_token, transition, now, rules)).await
    }

    async fn release(&self, delivery: &Delivery, claim_token: &str, due_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let released = client
            .execute(RELEASE_SQL, &[&delivery.tenant_id.as_str(), &delivery.id.as_str(), &claim_token, &due_at])
            .await
            .map_err(pg_error)?;
        if released > 0 {
            client.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL]).await.map_err(pg_error)?;
        }
        Ok(released > 0)
    }

    async fn next_due_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT due_at FROM deliveries WHERE status IN ('pending', 'failed', 'delivering')
                   AND (leased_until IS NULL OR leased_until <= $1)
                 ORDER BY due_at LIMIT 1",
                &[&now],
            )
            .await
            .map_err(pg_error)?;
        row.map(|row| column(&row, "due_at")).transpose().map(Option::flatten)
    }

    async fn list_api_versions(&self) -> Result<Vec<ApiVersion>, StoreError> {
        let rows = self
            .client()
            .await?
            .query("SELECT name, position, created_at FROM api_versions ORDER BY position", &[])
            .await
            .map_err(pg_error)?;
        rows.iter().map(api_version).collect()
    }

    async fn append_api_version(
        &self,
        name: &ApiVersionName,
        created_at: DateTime<Utc>,
    ) -> Result<ApiVersion, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        // Serialises appends so positions stay dense and ordered.
        transaction.execute("LOCK TABLE api_versions IN SHARE ROW EXCLUSIVE MODE", &[]).await.map_err(pg_error)?;
        let row = transaction
            .query_one(
                "INSERT INTO api_versions (name, position, created_at)
                 SELECT $1, COALESCE(MAX(position), 0) + 1, $2 FROM api_versions
                 RETURNING name, position, created_at",
                &[&name.as_str(), &created_at],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        api_version(&row)
    }

    async fn remove_api_version(&self, name: &ApiVersionName) -> Result<RemoveVersion, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let pinned = transaction
            .query_opt("SELECT 1 FROM endpoints WHERE api_version = $1 LIMIT 1", &[&name.as_str()])
            .await
            .map_err(pg_error)?;
        if pinned.is_some() {
            return Ok(RemoveVersion::Pinned);
        }
        let removed = match transaction.execute("DELETE FROM api_versions WHERE name = $1", &[&name.as_str()]).await {
            Ok(removed) => removed,
            // An endpoint pinned it concurrently: the foreign key refuses the removal.
            Err(error) if error.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => return Ok(RemoveVersion::Pinned),
            Err(error) => return Err(pg_error(error)),
        };
        transaction.commit().await.map_err(pg_error)?;
        Ok(if removed > 0 { RemoveVersion::Removed } else { RemoveVersion::NotFound })
    }

    async fn put_event_type_version(&self, version: &EventTypeVersion) -> Result<(), StoreError> {
        let row = EventTypeVersionRow::encode(version);
        self.client()
            .await?
            .execute(
                "INSERT INTO event_type_versions (event_type, api_version, schema, downgrade, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (event_type, api_version)
                 DO UPDATE SET schema = EXCLUDED.schema, downgrade = EXCLUDED.downgrade, updated_at = EXCLUDED.updated_at",
                &[&row.event_type, &row.api_version, &row.schema, &row.downgrade, &row.updated_at],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn list_event_type_versions(&self, event_type: &EventTypeName) -> Result<Vec<EventTypeVersion>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT v.event_type, v.api_version, v.schema, v.downgrade, v.updated_at
                 FROM event_type_versions v JOIN api_versions a ON a.name = v.api_version
                 WHERE v.event_type = $1 ORDER BY a.position",
                &[&event_type.as_str()],
            )
            .await
            .map_err(pg_error)?;
        rows.iter()
            .map(|row| {
                EventTypeVersionRow {
                    event_type: column(row, "event_type")?,
                    api_version: column(row, "api_version")?,
                    schema: column(row, "schema")?,
                    downgrade: column(row, "downgrade")?,
                    updated_at: column(row, "updated_at")?,
                }
                .decode()
            })
            .collect()
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, StoreError> {
        let client = self.client().await?;
        let row = client.query_one(QUEUE_STATS_SQL, &[&now]).await.map_err(pg_error)?;
        Ok(QueueStats {
            due: column(&row, "due")?,
            scheduled: column(&row, "scheduled")?,
            leased: column(&row, "leased")?,
            circuits_open: column(&row, "circuits_open")?,
        })
    }

    fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        let size = i64::try_from(status.size).unwrap_or(i64::MAX);
        let idle = i64::try_from(status.available).unwrap_or(0);
        PoolStatus { in_use: size - idle, idle, max: i64::try_from(status.max_size).unwrap_or(i64::MAX) }
    }

    fn work_signal(&self) -> Arc<Notify> {
        Arc::clone(self.work_signal.get_or_init(|| {
            let signal = Arc::new(Notify::new());
            Self::spawn_listener(self.config.clone(), Arc::clone(&signal));
            signal
        }))
    }
}
