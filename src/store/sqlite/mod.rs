//! SQLite backend (bundled `rusqlite`): the embedded, single-node default that makes
//! `outhook serve` work with nothing else installed. Calls are blocking, so every one runs on
//! tokio's blocking pool, never on an async worker thread.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};
use tokio::sync::Notify;

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
use crate::store::migrations::{self, SQLITE};
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

pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    cipher: Arc<SecretCipher>,
    /// Single process: committing new work signals workers directly.
    work_signal: Arc<Notify>,
    claim_cursor: Arc<TenantCursor>,
    /// Concurrent ingests share transactions (see `group_commit`).
    ingest_commit: GroupCommit<IngestCommitter>,
    /// So do finished attempts.
    completion_commit: GroupCommit<CompletionCommitter>,
}

fn sqlite_error(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => {
            let extended = error.sqlite_error().map(|e| e.extended_code);
            if matches!(
                extended,
                Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
            ) {
                StoreError::Conflict
            } else {
                StoreError::Internal(error.to_string())
            }
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen | ErrorCode::DiskFull) => {
            StoreError::Unavailable(error.to_string())
        }
        _ => StoreError::Internal(error.to_string()),
    }
}

/// Timestamps are stored as microseconds since the Unix epoch.
fn micros(at: &DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| StoreError::Corrupt(format!("timestamp {value} out of range")))
}

fn column<T: rusqlite::types::FromSql>(row: &Row<'_>, name: &str) -> Result<T, StoreError> {
    row.get(name).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn timestamp(row: &Row<'_>, name: &str) -> Result<DateTime<Utc>, StoreError> {
    from_micros(column(row, name)?)
}

fn optional_timestamp(row: &Row<'_>, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    column::<Option<i64>>(row, name)?.map(from_micros).transpose()
}

/// Runs `sql` and decodes every row with `decode`.
fn query_all<T>(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
    let mut rows = statement.query(params).map_err(sqlite_error)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        items.push(decode(row)?);
    }
    Ok(items)
}

fn query_optional<T>(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    Ok(query_all(connection, sql, params, decode)?.into_iter().next())
}

fn execute_one(connection: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
    match connection.execute(sql, params).map_err(sqlite_error)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The tenants with due work after `?2` (in id order), by a skip scan over `deliveries_tenant_due`.
const DUE_TENANTS_SQL: &str = "WITH RECURSIVE t(tenant_id) AS (
        SELECT (SELECT tenant_id FROM deliveries
                WHERE status IN ('pending', 'failed', 'delivering') AND due_at <= ?1 AND tenant_id > ?2
                  AND (leased_until IS NULL OR leased_until <= ?1)
                ORDER BY tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT d.tenant_id FROM deliveries d
                WHERE d.status IN ('pending', 'failed', 'delivering') AND d.due_at <= ?1 AND d.tenant_id > t.tenant_id
                  AND (d.leased_until IS NULL OR d.leased_until <= ?1)
                ORDER BY d.tenant_id LIMIT 1)
        FROM t WHERE t.tenant_id IS NOT NULL)
    SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL LIMIT ?3";

/// Gives a leased delivery back without an attempt, if the lease is still held.
const RELEASE_SQL: &str = "UPDATE deliveries SET status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'failed' END,
        due_at = ?4, claim_token = NULL, leased_until = NULL
    WHERE tenant_id = ?1 AND id = ?2 AND claim_token = ?3";

const TENANT_COLUMNS: &str = "id, uid, name, created_at, updated_at, ingest_per_second, ingest_burst";
const EVENT_TYPE_COLUMNS: &str = "name, description, archived, created_at, updated_at";
const ENDPOINT_COLUMNS: &str = "tenant_id, id, url, description, event_types, channels, headers, secret, \
     retry_schedule, enabled, disabled_reason, created_at, updated_at, api_version, delivery_per_second, max_in_flight, \
     previous_secrets, consecutive_failures, circuit_state, circuit_until, failing_since, last_success_at, last_failure_at";
const EVENT_COLUMNS: &str =
    "tenant_id, id, event_type, payload, channels, idempotency_key, created_at, api_version, payloads, trace_context";
const DELIVERY_COLUMNS: &str = "tenant_id, id, event_id, endpoint_id, event_type, status, attempt_count, due_at, next_trigger, created_at, updated_at, claim_token, leased_until";
const AUDIT_COLUMNS: &str = "id, tenant_id, actor, action, resource_id, details, created_at";
/// See the PostgreSQL backend's `RETRY_SQL`.
const RETRY_SQL: &str = "UPDATE deliveries SET status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'failed' END,
        due_at = ?3, claim_token = NULL, leased_until = NULL, next_trigger = 'manual', updated_at = ?3
    WHERE tenant_id = ?1 AND id = ?2";
const RECOVERABLE_COUNT_SQL: &str = "SELECT count(*) FROM deliveries
    WHERE tenant_id = ?1 AND endpoint_id = ?2 AND id >= ?3 AND id < ?4 AND status IN ('failed', 'exhausted')
      AND claim_token IS NULL";
const RECOVER_BATCH_SQL: &str = "SELECT id FROM deliveries
    WHERE tenant_id = ?1 AND endpoint_id = ?2 AND id >= ?3 AND id < ?4 AND (?6 IS NULL OR id > ?6)
      AND status IN ('failed', 'exhausted') AND claim_token IS NULL
    ORDER BY id LIMIT ?5";
const REQUEUE_SQL: &str =
    "UPDATE deliveries SET status = 'failed', due_at = ?3, next_trigger = 'recovery', updated_at = ?3
    WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2)) AND status IN ('failed', 'exhausted')
      AND claim_token IS NULL";
const HEALTH_SQL: &str = "SELECT url, enabled, consecutive_failures, circuit_state, circuit_until, failing_since,
        last_success_at, last_failure_at
    FROM endpoints WHERE tenant_id = ?1 AND id = ?2";
const ATTEMPT_COLUMNS: &str = "tenant_id, id, delivery_id, event_id, endpoint_id, attempt_number, trigger, started_at, \
     duration_ms, url, request_headers, response_status, response_headers, response_body, error_kind, error_message, \
     succeeded";
const TOKEN_COLUMNS: &str = "id, name, tenant_id, digest, created_at, expires_at";

fn tenant(row: &Row<'_>) -> Result<Tenant, StoreError> {
    TenantRow {
        id: column(row, "id")?,
        uid: column(row, "uid")?,
        name: column(row, "name")?,
        ingest_per_second: column(row, "ingest_per_second")?,
        ingest_burst: column(row, "ingest_burst")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    }
    .decode()
}

fn event_type(row: &Row<'_>) -> Result<EventType, StoreError> {
    EventTypeRow {
        name: column(row, "name")?,
        description: column(row, "description")?,
        archived: column(row, "archived")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    }
    .decode()
}

fn endpoint(row: &Row<'_>, cipher: &SecretCipher) -> Result<Endpoint, StoreError> {
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
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    }
    .decode(cipher)
}

fn health_row(row: &Row<'_>) -> Result<HealthRow, StoreError> {
    Ok(HealthRow {
        consecutive_failures: column(row, "consecutive_failures")?,
        circuit_state: column(row, "circuit_state")?,
        circuit_until: optional_timestamp(row, "circuit_until")?,
        failing_since: optional_timestamp(row, "failing_since")?,
        last_success_at: optional_timestamp(row, "last_success_at")?,
        last_failure_at: optional_timestamp(row, "last_failure_at")?,
    })
}

fn audit_entry(row: &Row<'_>) -> Result<AuditEntry, StoreError> {
    AuditRow {
        id: column(row, "id")?,
        tenant_id: column(row, "tenant_id")?,
        actor: column(row, "actor")?,
        action: column(row, "action")?,
        resource_id: column(row, "resource_id")?,
        details: column(row, "details")?,
        created_at: timestamp(row, "created_at")?,
    }
    .decode()
}

fn write_health(
    connection: &Connection,
    tenant: &str,
    endpoint: &str,
    health: &EndpointHealth,
) -> Result<(), StoreError> {
    let row = HealthRow::encode(health);
    connection
        .execute(
            "UPDATE endpoints SET consecutive_failures = ?3, circuit_state = ?4, circuit_until = ?5,
                    failing_since = ?6, last_success_at = ?7, last_failure_at = ?8
             WHERE tenant_id = ?1 AND id = ?2",
            params![
                tenant,
                endpoint,
                row.consecutive_failures,
                row.circuit_state,
                row.circuit_until.as_ref().map(micros),
                row.failing_since.as_ref().map(micros),
                row.last_success_at.as_ref().map(micros),
                row.last_failure_at.as_ref().map(micros)
            ],
        )
        .map_err(sqlite_error)?;
    Ok(())
}

/// Counts an attempt towards its endpoint's health and ingests the operational events it causes,
/// inside the attempt's transaction (see the PostgreSQL backend's `record_health`).
fn record_health(
    transaction: &Connection,
    attempt: &Attempt,
    exhausted: bool,
    now: DateTime<Utc>,
    rules: &CompletionRules,
) -> Result<bool, StoreError> {
    let (tenant, endpoint) = (attempt.tenant_id.as_str(), attempt.endpoint_id.as_str());
    let current = query_optional(transaction, HEALTH_SQL, params![tenant, endpoint], |row| {
        Ok((health_row(row)?.decode()?, column::<bool>(row, "enabled")?, column::<String>(row, "url")?))
    })?;
    let Some((mut health, enabled, url)) = current else { return Ok(false) };
    let before = health.clone();
    let changes = health.record(attempt.succeeded, now, enabled, &rules.health);
    if health != before {
        write_health(transaction, tenant, endpoint, &health)?;
        if let Some(reason) = disabled_reason(&changes) {
            transaction
                .execute(
                    "UPDATE endpoints SET enabled = 0, disabled_reason = ?3, updated_at = ?4
                     WHERE tenant_id = ?1 AND id = ?2",
                    params![tenant, endpoint, reason, micros(&now)],
                )
                .map_err(sqlite_error)?;
        }
    }
    let events = operational_events(attempt, &url, &changes, exhausted, now);
    if events.is_empty() {
        return Ok(false);
    }
    let subscribed = query_optional(
        transaction,
        "SELECT 1 FROM endpoints WHERE tenant_id = ?1 AND enabled LIMIT 1",
        params![operations::TENANT_ID],
        |_| Ok(()),
    )?;
    if subscribed.is_none() {
        return Ok(false);
    }
    let submission = Submission { events, default_schedule: rules.default_schedule.clone() };
    let (_, any_delivery) = ingest_in(transaction, std::slice::from_ref(&submission))?;
    Ok(any_delivery)
}

/// Runs a built query, decoding each row with `decode`.
fn run_query<T>(
    connection: &Connection,
    query: &Query,
    decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    query_all(connection, &query.sql, rusqlite::params_from_iter(query.params.iter()), decode)
}

fn event(row: &Row<'_>) -> Result<Event, StoreError> {
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
        created_at: timestamp(row, "created_at")?,
    }
    .decode()
}

fn delivery(row: &Row<'_>) -> Result<Delivery, StoreError> {
    DeliveryRow {
        tenant_id: column(row, "tenant_id")?,
        id: column(row, "id")?,
        event_id: column(row, "event_id")?,
        endpoint_id: column(row, "endpoint_id")?,
        event_type: column(row, "event_type")?,
        status: column(row, "status")?,
        attempt_count: column(row, "attempt_count")?,
        due_at: optional_timestamp(row, "due_at")?,
        next_trigger: column(row, "next_trigger")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
        leased: column::<Option<String>>(row, "claim_token")?.is_some(),
        leased_until: optional_timestamp(row, "leased_until")?,
    }
    .decode()
}

fn attempt(row: &Row<'_>) -> Result<Attempt, StoreError> {
    AttemptRow {
        tenant_id: column(row, "tenant_id")?,
        id: column(row, "id")?,
        delivery_id: column(row, "delivery_id")?,
        event_id: column(row, "event_id")?,
        endpoint_id: column(row, "endpoint_id")?,
        attempt_number: column(row, "attempt_number")?,
        trigger: column(row, "trigger")?,
        started_at: timestamp(row, "started_at")?,
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

fn api_version(row: &Row<'_>) -> Result<ApiVersion, StoreError> {
    ApiVersionRow {
        name: column(row, "name")?,
        position: column(row, "position")?,
        created_at: timestamp(row, "created_at")?,
    }
    .decode()
}

fn token(row: &Row<'_>) -> Result<Token, StoreError> {
    TokenRow {
        id: column(row, "id")?,
        name: column(row, "name")?,
        tenant_id: column(row, "tenant_id")?,
        digest: column(row, "digest")?,
        created_at: timestamp(row, "created_at")?,
        expires_at: optional_timestamp(row, "expires_at")?,
    }
    .decode()
}

fn schema_version(connection: &Connection) -> Result<i64, StoreError> {
    connection
        .query_row("SELECT COALESCE(MAX(version), 0) FROM outhook_schema_migrations", [], |row| row.get(0))
        .map_err(sqlite_error)
}

fn insert_token_with(connection: &Connection, token: &Token) -> Result<(), StoreError> {
    let row = TokenRow::encode(token);
    connection
        .execute(
            "INSERT INTO api_tokens (id, name, tenant_id, digest, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![row.id, row.name, row.tenant_id, row.digest, micros(&row.created_at), row.expires_at.as_ref().map(micros)],
        )
        .map_err(sqlite_error)?;
    Ok(())
}

/// Applies the circuit and throttle of each gated endpoint (see [`claim::gated_groups`]) to
/// freshly claimed deliveries, inside the claim's transaction (SQLite has one writer, so no row
/// lock is needed). Held-back deliveries are released to a later time without an attempt.
fn apply_gates(
    transaction: &Connection,
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
        let state = query_optional(
            transaction,
            "SELECT next_send_at, consecutive_failures, circuit_state, circuit_until, failing_since,
                    last_success_at, last_failure_at,
                    (SELECT count(*) FROM deliveries
                     WHERE tenant_id = ?1 AND endpoint_id = ?2 AND leased_until > ?3
                       AND claim_token <> ?4) AS in_flight
             FROM endpoints WHERE tenant_id = ?1 AND id = ?2",
            params![tenant, endpoint, micros(&now), claim_token],
            |row| {
                let health = health_row(row)?.decode()?;
                Ok((health, optional_timestamp(row, "next_send_at")?, column::<i64>(row, "in_flight")?))
            },
        )?;
        let Some((mut health, next_send_at, in_flight)) = state else { continue };
        let before = health.clone();
        let manual: Vec<bool> =
            indexes.iter().map(|&index| claimed[index].next_trigger == AttemptTrigger::Manual).collect();
        let in_flight = u32::try_from(in_flight).unwrap_or(u32::MAX);
        let admission = admission::admit(&manual, &mut health, current.throttle, now, next_send_at, in_flight, lease);
        for (index, hold) in indexes.into_iter().zip(admission.holds) {
            if let Some((due_at, reason)) = hold {
                transaction
                    .execute(RELEASE_SQL, params![tenant, claimed[index].id.as_str(), claim_token, micros(&due_at)])
                    .map_err(sqlite_error)?;
                keep[index] = false;
                holds.count(reason);
            }
        }
        if let Some(next_send_at) = admission.next_send_at {
            transaction
                .execute(
                    "UPDATE endpoints SET next_send_at = ?3 WHERE tenant_id = ?1 AND id = ?2",
                    params![tenant, endpoint, micros(&next_send_at)],
                )
                .map_err(sqlite_error)?;
        }
        if health != before {
            write_health(transaction, &tenant, &endpoint, &health)?;
        }
    }
    let kept = claimed.into_iter().zip(keep).filter_map(|(delivery, kept)| kept.then_some(delivery)).collect();
    Ok((kept, holds))
}

/// Looks each key up with `sql` (parameters: tenant id, id), keyed as asked.
fn by_key<T>(
    connection: &Connection,
    sql: &str,
    keys: &[claim::Key],
    decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<HashMap<claim::Key, T>, StoreError> {
    let mut found = HashMap::with_capacity(keys.len());
    for key in keys {
        if let Some(item) = query_optional(connection, sql, params![key.0, key.1], &decode)? {
            found.insert(key.clone(), item);
        }
    }
    Ok(found)
}

/// Stores the submissions' events and their deliveries inside `transaction` (see
/// [`Store::ingest`]); shared with operational events, which are ingested inside the attempt
/// that caused them. Returns one result list per submission, and whether any delivery was created.
fn ingest_in(transaction: &Connection, submissions: &[Submission]) -> Result<(Vec<Vec<Ingested>>, bool), StoreError> {
    let mut targets: HashMap<String, Vec<FanoutTarget>> = HashMap::new();
    let mut any_delivery = false;
    let mut all_results = Vec::with_capacity(submissions.len());
    for submission in submissions {
        let mut results = Vec::with_capacity(submission.events.len());
        for submitted in &submission.events {
            let row = EventRow::encode(submitted);
            let inserted = transaction
                .prepare_cached(
                    "INSERT INTO events (tenant_id, id, event_type, payload, channels, idempotency_key, created_at,
                                         api_version, payloads, trace_context)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        row.tenant_id,
                        row.id,
                        row.event_type,
                        row.payload,
                        row.channels,
                        row.idempotency_key,
                        micros(&row.created_at),
                        row.api_version,
                        row.payloads,
                        row.trace_context
                    ])
                })
                .map_err(sqlite_error)?;
            if inserted == 0 {
                let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = ?1 AND idempotency_key = ?2");
                let original =
                    query_optional(transaction, &sql, params![row.tenant_id, row.idempotency_key], event)?
                        .ok_or_else(|| StoreError::Internal("idempotency conflict without an original event".into()))?;
                results.push(Ingested::Replayed(original));
                continue;
            }
            if !targets.contains_key(&row.tenant_id) {
                let tenant_targets = fanout_targets(transaction, &row.tenant_id)?;
                targets.insert(row.tenant_id.clone(), tenant_targets);
            }
            let mut deliveries = 0;
            for target in targets[&row.tenant_id].iter().filter(|target| target.wants(submitted)) {
                let delivery = target.delivery_for(submitted, &submission.default_schedule);
                transaction
                    .prepare_cached(
                        "INSERT INTO deliveries (tenant_id, id, event_id, endpoint_id, status, attempt_count,
                                                 due_at, created_at, updated_at, event_type)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![
                            delivery.tenant_id,
                            delivery.id,
                            delivery.event_id,
                            delivery.endpoint_id,
                            delivery.status,
                            delivery.attempt_count,
                            delivery.due_at.as_ref().map(micros),
                            micros(&delivery.created_at),
                            micros(&delivery.updated_at),
                            delivery.event_type
                        ])
                    })
                    .map_err(sqlite_error)?;
                deliveries += 1;
            }
            any_delivery |= deliveries > 0;
            results.push(Ingested::Created { event: submitted.clone(), deliveries });
        }
        all_results.push(results);
    }
    Ok((all_results, any_delivery))
}

/// A tenant's enabled endpoints, as fan-out sees them.
fn fanout_targets(transaction: &Connection, tenant_id: &str) -> Result<Vec<FanoutTarget>, StoreError> {
    query_all(
        transaction,
        "SELECT id, enabled, event_types, channels, retry_schedule FROM endpoints WHERE tenant_id = ?1 AND enabled",
        params![tenant_id],
        |row| {
            FanoutTarget::decode(
                column(row, "id")?,
                column(row, "enabled")?,
                column(row, "event_types")?,
                column(row, "channels")?,
                column(row, "retry_schedule")?,
            )
        },
    )
}

/// Runs blocking database work on the blocking pool with exclusive use of the connection.
async fn blocking<T: Send + 'static>(
    connection: &Arc<Mutex<Connection>>,
    work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let connection = Arc::clone(connection);
    tokio::task::spawn_blocking(move || {
        let mut connection = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut connection)
    })
    .await
    .map_err(|e| StoreError::Internal(format!("database task failed: {e}")))?
}

/// Records one finished attempt inside `transaction`: the attempt is always inserted, the
/// delivery moves only if `claim_token` still holds the lease, and the attempt counts towards its
/// endpoint's health. Returns whether the delivery moved and whether operational deliveries were created.
fn complete_in(transaction: &Connection, completion: &Completion) -> Result<(bool, bool), StoreError> {
    let row = AttemptRow::encode(&completion.attempt);
    let (status, due_at) = transition_columns(completion.transition);
    transaction
        .prepare_cached(
            "INSERT INTO attempts (tenant_id, id, delivery_id, event_id, endpoint_id, attempt_number, trigger,
                                   started_at, duration_ms, url, request_headers, response_status,
                                   response_headers, response_body, error_kind, error_message, succeeded)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                row.tenant_id,
                row.id,
                row.delivery_id,
                row.event_id,
                row.endpoint_id,
                row.attempt_number,
                row.trigger,
                micros(&row.started_at),
                row.duration_ms,
                row.url,
                row.request_headers,
                row.response_status,
                row.response_headers,
                row.response_body,
                row.error_kind,
                row.error_message,
                row.succeeded
            ])
        })
        .map_err(sqlite_error)?;
    let moved = transaction
        .prepare_cached(
            "UPDATE deliveries SET status = ?4, attempt_count = ?5, due_at = ?6, claim_token = NULL, leased_until = NULL,
                    updated_at = ?7, next_trigger = NULL
             WHERE tenant_id = ?1 AND id = ?2 AND claim_token = ?3",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                row.tenant_id,
                row.delivery_id,
                completion.claim_token,
                status,
                row.attempt_number,
                due_at.as_ref().map(micros),
                micros(&completion.now)
            ])
        })
        .map_err(sqlite_error)?
        > 0;
    let exhausted = moved && completion.transition == DeliveryTransition::Exhausted;
    let any_delivery = record_health(transaction, &completion.attempt, exhausted, completion.now, &completion.rules)?;
    Ok((moved, any_delivery))
}

/// How many finished attempts one transaction records at most (one group at a time, as for ingest).
const COMPLETION_GROUPS: GroupLimits = GroupLimits { max_weight: 256, parallel: 1, linger: COMPLETION_LINGER };

/// How many events one ingest transaction carries at most. SQLite has one writer: one group at
/// a time, the next forming while it commits.
const INGEST_GROUPS: GroupLimits = GroupLimits { max_weight: 2_000, parallel: 1, linger: Duration::ZERO };

/// What both group committers share: the connection, and the signal to give workers when a group
/// created deliveries.
#[derive(Clone)]
struct GroupWriter {
    connection: Arc<Mutex<Connection>>,
    work_signal: Arc<Notify>,
}

impl GroupWriter {
    /// Runs `work` in one immediate transaction (one fsync at commit); `work` returns its result and
    /// whether it created deliveries, in which case workers are signalled after the commit.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<(T, bool), StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (result, any_delivery) = blocking(&self.connection, move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
            let written = work(&transaction)?;
            transaction.commit().map_err(sqlite_error)?;
            Ok(written)
        })
        .await?;
        if any_delivery {
            self.work_signal.notify_one();
        }
        Ok(result)
    }
}

/// Records groups of finished attempts, each group in one transaction.
struct CompletionCommitter(GroupWriter);

#[async_trait]
impl Committer for CompletionCommitter {
    type Write = Completion;
    type Outcome = bool;

    async fn commit(&self, completions: &[Completion]) -> Result<Vec<bool>, StoreError> {
        let completions = completions.to_vec();
        self.0
            .write(move |transaction| {
                let mut moved = Vec::with_capacity(completions.len());
                let mut any_delivery = false;
                for completion in &completions {
                    let (delivery_moved, operational) = complete_in(transaction, completion)?;
                    moved.push(delivery_moved);
                    any_delivery |= operational;
                }
                Ok((moved, any_delivery))
            })
            .await
    }
}

/// Commits groups of submissions, each group in one transaction.
struct IngestCommitter(GroupWriter);

#[async_trait]
impl Committer for IngestCommitter {
    type Write = Submission;
    type Outcome = Vec<Ingested>;

    async fn commit(&self, submissions: &[Submission]) -> Result<Vec<Vec<Ingested>>, StoreError> {
        // The blocking pool needs owned data; a group is small next to the fsync it saves.
        let submissions = submissions.to_vec();
        self.0.write(move |transaction| ingest_in(transaction, &submissions)).await
    }
}

/// Runs `work` with `synchronous = NORMAL`: its commits reach the WAL but are not fsynced until
/// the next commit under `synchronous = FULL`. Only for writes that may be lost in a power cut.
fn without_fsync<T>(
    connection: &mut Connection,
    work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    connection.execute_batch("PRAGMA synchronous = NORMAL").map_err(sqlite_error)?;
    let result = work(connection);
    connection.execute_batch("PRAGMA synchronous = FULL").map_err(sqlite_error)?;
    result
}

impl SqliteStore {
    /// Opens (creating if needed) the database file in WAL mode with full fsync, so every
    /// acknowledged write survives a crash or power loss.
    pub async fn open(path: &Path, cipher: Arc<SecretCipher>) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let connection = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
            }
            let connection = Connection::open(&path).map_err(sqlite_error)?;
            connection
                .execute_batch(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = FULL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA busy_timeout = 5000;",
                )
                .map_err(sqlite_error)?;
            Ok(connection)
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))??;
        let connection = Arc::new(Mutex::new(connection));
        let work_signal = Arc::new(Notify::new());
        let writer = GroupWriter { connection: Arc::clone(&connection), work_signal: Arc::clone(&work_signal) };
        Ok(Self {
            ingest_commit: GroupCommit::start(IngestCommitter(writer.clone()), INGEST_GROUPS),
            completion_commit: GroupCommit::start(CompletionCommitter(writer), COMPLETION_GROUPS),
            connection,
            cipher,
            work_signal,
            claim_cursor: Arc::new(TenantCursor::default()),
        })
    }

    /// Runs blocking database work on the blocking pool with exclusive use of the connection.
    async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection, &SecretCipher) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let cipher = Arc::clone(&self.cipher);
        blocking(&self.connection, move |connection| work(connection, &cipher)).await
    }

    pub async fn migrate(&self, mode: MigrationMode) -> Result<(), StoreError> {
        self.call(move |connection, _| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
            transaction
                .execute_batch(
                    "CREATE TABLE IF NOT EXISTS outhook_schema_migrations (
                        version INTEGER PRIMARY KEY,
                        name TEXT NOT NULL,
                        applied_at INTEGER NOT NULL)",
                )
                .map_err(sqlite_error)?;
            let current = schema_version(&transaction)?;
            for migration in migrations::pending(SQLITE, current, mode)? {
                tracing::info!(version = migration.version, name = migration.name, "applying SQLite migration");
                transaction.execute_batch(migration.sql).map_err(sqlite_error)?;
                transaction
                    .execute(
                        "INSERT INTO outhook_schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                        params![migration.version, migration.name, micros(&Utc::now())],
                    )
                    .map_err(sqlite_error)?;
            }
            transaction.commit().map_err(sqlite_error)
        })
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        self.call(|connection, _| {
            let current = schema_version(connection)?;
            migrations::pending(SQLITE, current, MigrationMode::Verify).map(|_| ())
        })
        .await
    }

    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let row = TenantRow::encode(tenant);
        self.call(move |connection, _| {
            connection
                .execute(
                    "INSERT INTO tenants (id, uid, name, created_at, updated_at, ingest_per_second, ingest_burst)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        row.id,
                        row.uid,
                        row.name,
                        micros(&row.created_at),
                        micros(&row.updated_at),
                        row.ingest_per_second,
                        row.ingest_burst
                    ],
                )
                .map_err(sqlite_error)?;
            Ok(())
        })
        .await
    }

    async fn find_tenant(&self, id_or_uid: &str) -> Result<Option<Tenant>, StoreError> {
        let key = id_or_uid.to_owned();
        self.call(move |connection, _| {
            let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?1 OR uid = ?1");
            query_optional(connection, &sql, params![key], tenant)
        })
        .await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let row = TenantRow::encode(tenant);
        self.call(move |connection, _| {
            execute_one(
                connection,
                "UPDATE tenants SET uid = ?2, name = ?3, updated_at = ?4, ingest_per_second = ?5, ingest_burst = ?6
                 WHERE id = ?1",
                params![row.id, row.uid, row.name, micros(&row.updated_at), row.ingest_per_second, row.ingest_burst],
            )
        })
        .await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.call(move |connection, _| {
            Ok(connection.execute("DELETE FROM tenants WHERE id = ?1", params![id]).map_err(sqlite_error)? > 0)
        })
        .await
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Vec<Tenant>, StoreError> {
        let page = page.clone();
        self.call(move |connection, _| {
            let sql =
                format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2");
            query_all(connection, &sql, params![page.after, page.fetch_limit()], tenant)
        })
        .await
    }

    async fn insert_event_type(&self, event_type: &EventType) -> Result<(), StoreError> {
        let row = EventTypeRow::encode(event_type);
        self.call(move |connection, _| {
            connection
                .execute(
                    "INSERT INTO event_types (name, description, archived, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![row.name, row.description, row.archived, micros(&row.created_at), micros(&row.updated_at)],
                )
                .map_err(sqlite_error)?;
            Ok(())
        })
        .await
    }

    async fn find_event_type(&self, name: &EventTypeName) -> Result<Option<EventType>, StoreError> {
        let name = name.to_string();
        self.call(move |connection, _| {
            let sql = format!("SELECT {EVENT_TYPE_COLUMNS} FROM event_types WHERE name = ?1");
            query_optional(connection, &sql, params![name], event_type)
        })
        .await
    }

    async fn update_event_type(&self, event_type: &EventType) -> Result<(), StoreError> {
        let row = EventTypeRow::encode(event_type);
        self.call(move |connection, _| {
            execute_one(
                connection,
                "UPDATE event_types SET description = ?2, archived = ?3, updated_at = ?4 WHERE name = ?1",
                params![row.name, row.description, row.archived, micros(&row.updated_at)],
            )
        })
        .await
    }

    async fn list_event_types(&self, page: &PageRequest, include_archived: bool) -> Result<Vec<EventType>, StoreError> {
        let page = page.clone();
        self.call(move |connection, _| {
            let sql = format!(
                "SELECT {EVENT_TYPE_COLUMNS} FROM event_types
                 WHERE (?1 IS NULL OR name > ?1) AND (?2 OR NOT archived)
                 ORDER BY name LIMIT ?3"
            );
            query_all(connection, &sql, params![page.after, include_archived, page.fetch_limit()], event_type)
        })
        .await
    }

    async fn existing_event_types(&self, names: &[EventTypeName]) -> Result<Vec<EventTypeName>, StoreError> {
        let wanted = serde_json::Value::from(names.iter().map(EventTypeName::as_str).collect::<Vec<_>>()).to_string();
        self.call(move |connection, _| {
            query_all(
                connection,
                "SELECT name FROM event_types WHERE name IN (SELECT value FROM json_each(?1))",
                params![wanted],
                |row| {
                    let name: String = column(row, "name")?;
                    EventTypeName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string()))
                },
            )
        })
        .await
    }

    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let row = EndpointRow::encode(endpoint, &self.cipher);
        self.call(move |connection, _| {
            connection
                .execute(
                    "INSERT INTO endpoints (tenant_id, id, url, description, event_types, channels, headers, secret,
                                            enabled, disabled_reason, created_at, updated_at, retry_schedule,
                                            api_version, delivery_per_second, max_in_flight, previous_secrets)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                    params![
                        row.tenant_id,
                        row.id,
                        row.url,
                        row.description,
                        row.event_types,
                        row.channels,
                        row.headers,
                        row.secret,
                        row.enabled,
                        row.disabled_reason,
                        micros(&row.created_at),
                        micros(&row.updated_at),
                        row.retry_schedule,
                        row.api_version,
                        row.delivery_per_second,
                        row.max_in_flight,
                        row.previous_secrets
                    ],
                )
                .map_err(sqlite_error)?;
            Ok(())
        })
        .await
    }

    async fn find_endpoint(&self, tenant_id: &TenantId, id: &EndpointId) -> Result<Option<Endpoint>, StoreError> {
        let (tenant_id, id) = (tenant_id.to_string(), id.to_string());
        self.call(move |connection, cipher| {
            let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE tenant_id = ?1 AND id = ?2");
            query_optional(connection, &sql, params![tenant_id, id], |row| endpoint(row, cipher))
        })
        .await
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let row = EndpointRow::encode(endpoint, &self.cipher);
        self.call(move |connection, _| {
            execute_one(
                connection,
                "UPDATE endpoints SET url = ?3, description = ?4, event_types = ?5, channels = ?6, headers = ?7,
                        secret = ?8, enabled = ?9, disabled_reason = ?10, updated_at = ?11, retry_schedule = ?12,
                        api_version = ?13, delivery_per_second = ?14, max_in_flight = ?15, previous_secrets = ?16,
                        consecutive_failures = ?17, circuit_state = ?18, circuit_until = ?19, failing_since = ?20
                 WHERE tenant_id = ?1 AND id = ?2",
                params![
                    row.tenant_id,
                    row.id,
                    row.url,
                    row.description,
                    row.event_types,
                    row.channels,
                    row.headers,
                    row.secret,
                    row.enabled,
                    row.disabled_reason,
                    micros(&row.updated_at),
                    row.retry_schedule,
                    row.api_version,
                    row.delivery_per_second,
                    row.max_in_flight,
                    row.previous_secrets,
                    row.health.consecutive_failures,
                    row.health.circuit_state,
                    row.health.circuit_until.as_ref().map(micros),
                    row.health.failing_since.as_ref().map(micros)
                ],
            )
        })
        .await
    }

    async fn delete_endpoint(&self, tenant_id: &TenantId, id: &EndpointId) -> Result<bool, StoreError> {
        let (tenant_id, id) = (tenant_id.to_string(), id.to_string());
        self.call(move |connection, _| {
            let deleted = connection
                .execute("DELETE FROM endpoints WHERE tenant_id = ?1 AND id = ?2", params![tenant_id, id])
                .map_err(sqlite_error)?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn list_endpoints(&self, tenant_id: &TenantId, page: &PageRequest) -> Result<Vec<Endpoint>, StoreError> {
        let (tenant_id, page) = (tenant_id.to_string(), page.clone());
        self.call(move |connection, cipher| {
            let sql = format!(
                "SELECT {ENDPOINT_COLUMNS} FROM endpoints
                 WHERE tenant_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"
            );
            query_all(connection, &sql, params![tenant_id, page.after, page.fetch_limit()], |row| endpoint(row, cipher))
        })
        .await
    }

    async fn insert_token(&self, token: &Token) -> Result<(), StoreError> {
        let token = token.clone();
        self.call(move |connection, _| insert_token_with(connection, &token)).await
    }

    async fn insert_first_admin_token(&self, token: &Token) -> Result<bool, StoreError> {
        let token = token.clone();
        self.call(move |connection, _| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
            let existing: Option<String> = transaction
                .query_row("SELECT id FROM api_tokens WHERE tenant_id IS NULL LIMIT 1", [], |row| row.get(0))
                .optional()
                .map_err(sqlite_error)?;
            if existing.is_some() {
                return Ok(false);
            }
            insert_token_with(&transaction, &token)?;
            transaction.commit().map_err(sqlite_error)?;
            Ok(true)
        })
        .await
    }

    async fn find_token(&self, digest: &TokenDigest) -> Result<Option<Token>, StoreError> {
        let digest = digest.as_str().to_owned();
        self.call(move |connection, _| {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE digest = ?1");
            query_optional(connection, &sql, params![digest], token)
        })
        .await
    }

    async fn list_tokens(&self, page: &PageRequest) -> Result<Vec<Token>, StoreError> {
        let page = page.clone();
        self.call(move |connection, _| {
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2"
            );
            query_all(connection, &sql, params![page.after, page.fetch_limit()], token)
        })
        .await
    }

    async fn delete_token(&self, id: &TokenId) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.call(move |connection, _| {
            Ok(connection.execute("DELETE FROM api_tokens WHERE id = ?1", params![id]).map_err(sqlite_error)? > 0)
        })
        .await
    }

    async fn ingest(&self, events: &[Event], default_schedule: &RetrySchedule) -> Result<Vec<Ingested>, StoreError> {
        self.ingest_commit.submit(Submission::new(events, default_schedule)).await
    }

    async fn find_event(&self, tenant_id: &TenantId, id: &EventId) -> Result<Option<Event>, StoreError> {
        let (tenant_id, id) = (tenant_id.to_string(), id.to_string());
        self.call(move |connection, _| {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = ?1 AND id = ?2");
            query_optional(connection, &sql, params![tenant_id, id], event)
        })
        .await
    }

    async fn list_events(
        &self,
        tenant_id: &TenantId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> Result<Vec<Event>, StoreError> {
        let query = query::events(Dialect::Sqlite, EVENT_COLUMNS, tenant_id.as_str(), filter, page);
        self.call(move |connection, _| run_query(connection, &query, event)).await
    }

    async fn event_delivery_counts(
        &self,
        tenant_id: &TenantId,
        event_ids: &[EventId],
    ) -> Result<BTreeMap<EventId, StatusCounts>, StoreError> {
        if event_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let ids: Vec<&str> = event_ids.iter().map(EventId::as_str).collect();
        let query = query::event_status_counts(Dialect::Sqlite, tenant_id.as_str(), &ids);
        self.call(move |connection, _| {
            let rows = run_query(connection, &query, |row| {
                Ok((column::<String>(row, "event_id")?, column::<String>(row, "status")?, column::<i64>(row, "count")?))
            })?;
            let mut counts: BTreeMap<EventId, StatusCounts> = BTreeMap::new();
            for (event_id, status, count) in rows {
                let event_id = EventId::parse(&event_id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                add_status_count(counts.entry(event_id).or_default(), &status, count)?;
            }
            Ok(counts)
        })
        .await
    }

    async fn list_deliveries(
        &self,
        tenant_id: &TenantId,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Vec<Delivery>, StoreError> {
        let query = query::deliveries(Dialect::Sqlite, DELIVERY_COLUMNS, tenant_id.as_str(), filter, page);
        self.call(move |connection, _| run_query(connection, &query, delivery)).await
    }

    async fn find_delivery(&self, tenant_id: &TenantId, id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let (tenant_id, id) = (tenant_id.to_string(), id.to_string());
        self.call(move |connection, _| {
            let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = ?1 AND id = ?2");
            query_optional(connection, &sql, params![tenant_id, id], delivery)
        })
        .await
    }

    async fn list_attempts(
        &self,
        tenant_id: &TenantId,
        filter: &AttemptFilter,
        page: &PageRequest,
    ) -> Result<Vec<Attempt>, StoreError> {
        let query = query::attempts(Dialect::Sqlite, ATTEMPT_COLUMNS, tenant_id.as_str(), filter, page);
        self.call(move |connection, _| run_query(connection, &query, attempt)).await
    }

    async fn find_attempt(&self, tenant_id: &TenantId, id: &AttemptId) -> Result<Option<Attempt>, StoreError> {
        let (tenant_id, id) = (tenant_id.to_string(), id.to_string());
        self.call(move |connection, _| {
            let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE tenant_id = ?1 AND id = ?2");
            query_optional(connection, &sql, params![tenant_id, id], attempt)
        })
        .await
    }

    async fn retry_delivery(
        &self,
        tenant_id: &TenantId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let (tenant_id, id) = (tenant_id.to_string(), id.to_string());
        let retried = self
            .call(move |connection, _| {
                let sql = format!("{RETRY_SQL} RETURNING {DELIVERY_COLUMNS}");
                query_optional(connection, &sql, params![tenant_id, id, micros(&now)], delivery)
            })
            .await?;
        if retried.is_some() {
            self.work_signal.notify_one();
        }
        Ok(retried)
    }

    async fn insert_recovery(&self, recovery: &Recovery) -> Result<u64, StoreError> {
        let recovery = recovery.clone();
        self.call(move |connection, _| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
            let (tenant, endpoint) = (recovery.tenant_id.as_str(), recovery.endpoint_id.as_str());
            let (from, to) = (DeliveryId::lowest_at(recovery.since), DeliveryId::lowest_at(recovery.until));
            let matched: i64 = transaction
                .query_row(RECOVERABLE_COUNT_SQL, params![tenant, endpoint, from, to], |row| row.get(0))
                .map_err(sqlite_error)?;
            transaction
                .execute(
                    "INSERT INTO recoveries (tenant_id, id, endpoint_id, since_at, until_at, matched, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        tenant,
                        recovery.id.as_str(),
                        endpoint,
                        micros(&recovery.since),
                        micros(&recovery.until),
                        matched,
                        micros(&recovery.created_at)
                    ],
                )
                .map_err(sqlite_error)?;
            transaction.commit().map_err(sqlite_error)?;
            Ok(u64::try_from(matched).unwrap_or(0))
        })
        .await
    }

    async fn advance_recovery(&self, now: DateTime<Utc>, batch: usize) -> Result<Option<u64>, StoreError> {
        let requeued = self
            .call(move |connection, _| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
                let recovery = query_optional(
                    &transaction,
                    "SELECT tenant_id, id, endpoint_id, since_at, until_at, cursor FROM recoveries
                     WHERE finished_at IS NULL ORDER BY created_at LIMIT 1",
                    [],
                    |row| {
                        Ok((
                            column::<String>(row, "tenant_id")?,
                            column::<String>(row, "id")?,
                            column::<String>(row, "endpoint_id")?,
                            timestamp(row, "since_at")?,
                            timestamp(row, "until_at")?,
                            column::<Option<String>>(row, "cursor")?,
                        ))
                    },
                )?;
                let Some((tenant, id, endpoint, since, until, cursor)) = recovery else { return Ok(None) };
                let (from, to) = (DeliveryId::lowest_at(since), DeliveryId::lowest_at(until));
                let ids = query_all(
                    &transaction,
                    RECOVER_BATCH_SQL,
                    params![tenant, endpoint, from, to, batch as i64, cursor],
                    |row| column::<String>(row, "id"),
                )?;
                let id_list = serde_json::Value::from(ids.clone()).to_string();
                let requeued =
                    transaction.execute(REQUEUE_SQL, params![tenant, id_list, micros(&now)]).map_err(sqlite_error)?;
                // A short batch was the last one.
                let finished = (ids.len() < batch).then(|| micros(&now));
                transaction
                    .execute(
                        "UPDATE recoveries SET cursor = COALESCE(?3, cursor), requeued = requeued + ?4, finished_at = ?5
                         WHERE tenant_id = ?1 AND id = ?2",
                        params![tenant, id, ids.last(), requeued as i64, finished],
                    )
                    .map_err(sqlite_error)?;
                transaction.commit().map_err(sqlite_error)?;
                Ok(Some(requeued as u64))
            })
            .await?;
        if requeued.is_some_and(|count| count > 0) {
            self.work_signal.notify_one();
        }
        Ok(requeued)
    }

    async fn endpoint_delivery_counts(
        &self,
        tenant_id: &TenantId,
        endpoint_id: &EndpointId,
        window: &IdRange,
    ) -> Result<StatusCounts, StoreError> {
        let query = query::endpoint_status_counts(Dialect::Sqlite, tenant_id.as_str(), endpoint_id.as_str(), window);
        self.call(move |connection, _| {
            let mut counts = StatusCounts::new();
            for (status, count) in run_query(connection, &query, |row| {
                Ok((column::<String>(row, "status")?, column::<i64>(row, "count")?))
            })? {
                add_status_count(&mut counts, &status, count)?;
            }
            Ok(counts)
        })
        .await
    }

    async fn prune(&self, before: DateTime<Utc>, batch: usize) -> Result<u64, StoreError> {
        self.call(move |connection, _| {
            let deleted = connection
                .execute(
                    "DELETE FROM events WHERE (tenant_id, id) IN (
                         SELECT e.tenant_id, e.id FROM events e
                         WHERE e.created_at < ?1
                           AND NOT EXISTS (SELECT 1 FROM deliveries d
                                           WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id
                                             AND d.status IN ('pending', 'failed', 'delivering'))
                         ORDER BY e.created_at LIMIT ?2)",
                    params![micros(&before), batch as i64],
                )
                .map_err(sqlite_error)?;
            Ok(deleted as u64)
        })
        .await
    }

    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let row = AuditRow::encode(entry);
        self.call(move |connection, _| {
            connection
                .execute(
                    "INSERT INTO audit_log (id, tenant_id, actor, action, resource_id, details, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        row.id,
                        row.tenant_id,
                        row.actor,
                        row.action,
                        row.resource_id,
                        row.details,
                        micros(&row.created_at)
                    ],
                )
                .map_err(sqlite_error)?;
            Ok(())
        })
        .await
    }

    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Vec<AuditEntry>, StoreError> {
        let query = query::audit(Dialect::Sqlite, AUDIT_COLUMNS, filter, page);
        self.call(move |connection, _| run_query(connection, &query, audit_entry)).await
    }

    async fn claim_due(&self, now: DateTime<Utc>, limit: usize, lease: Duration) -> Result<ClaimBatch, StoreError> {
        let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let claim_token = ulid::Ulid::new().to_string();
        let start = self.claim_cursor.start();
        let cursor = Arc::clone(&self.claim_cursor);
        self.call(move |connection, cipher| {
            // A claim lost in a crash only means the delivery is claimed again (at-least-once), so
            // its commit skips the fsync; the next durable commit syncs it along.
            without_fsync(connection, |connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
                let due_tenants = |after: &str| {
                    query_all(&transaction, DUE_TENANTS_SQL, params![micros(&now), after, limit as i64], |row| {
                        column::<String>(row, "tenant_id")
                    })
                };
                let after_cursor = due_tenants(&start)?;
                let from_start =
                    if after_cursor.len() < limit && !start.is_empty() { due_tenants("")? } else { Vec::new() };
                let plan = cursor.plan(limit, after_cursor, from_start);
                let sql = format!(
                    "UPDATE deliveries SET claim_token = ?4, leased_until = ?3, updated_at = ?1
                     WHERE (tenant_id, id) IN (
                         SELECT tenant_id, id FROM deliveries
                         WHERE tenant_id = ?5 AND status IN ('pending', 'failed', 'delivering') AND due_at <= ?1
                           AND (leased_until IS NULL OR leased_until <= ?1)
                         ORDER BY due_at LIMIT ?2)
                     RETURNING {DELIVERY_COLUMNS}"
                );
                let mut claimed = Vec::new();
                let mut claims = plan.claims(limit);
                while let Some((tenant, wanted)) = claims.next_request() {
                    let rows = query_all(
                        &transaction,
                        &sql,
                        params![micros(&now), wanted as i64, micros(&lease_until), claim_token, tenant],
                        delivery,
                    )?;
                    claims.got(rows.len());
                    claimed.extend(rows);
                }
                if claimed.is_empty() {
                    transaction.commit().map_err(sqlite_error)?;
                    return Ok(ClaimBatch::default());
                }
                let endpoint_sql = format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE tenant_id = ?1 AND id = ?2");
                let endpoints =
                    by_key(&transaction, &endpoint_sql, &claim::endpoint_keys(&claimed), |row| endpoint(row, cipher))?;
                let (kept, holds) =
                    apply_gates(&transaction, now, lease_until - now, &claim_token, claimed, &endpoints)?;
                let event_sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = ?1 AND id = ?2");
                let events = by_key(&transaction, &event_sql, &claim::event_keys(&kept), event)?;
                transaction.commit().map_err(sqlite_error)?;
                Ok(holds.batch(claim::assemble(kept, &claim_token, &events, &endpoints)?))
            })
        })
        .await
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
        let (tenant_id, id, claim_token) =
            (delivery.tenant_id.to_string(), delivery.id.to_string(), claim_token.to_owned());
        let released = self
            .call(move |connection, _| {
                let released = connection
                    .execute(RELEASE_SQL, params![tenant_id, id, claim_token, micros(&due_at)])
                    .map_err(sqlite_error)?;
                Ok(released > 0)
            })
            .await?;
        if released {
            self.work_signal.notify_one();
        }
        Ok(released)
    }

    async fn next_due_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.call(move |connection, _| {
            let next = query_optional(
                connection,
                "SELECT due_at FROM deliveries WHERE status IN ('pending', 'failed', 'delivering')
                   AND (leased_until IS NULL OR leased_until <= ?1)
                 ORDER BY due_at LIMIT 1",
                params![micros(&now)],
                |row| optional_timestamp(row, "due_at"),
            )?;
            Ok(next.flatten())
        })
        .await
    }

    async fn list_api_versions(&self) -> Result<Vec<ApiVersion>, StoreError> {
        self.call(|connection, _| {
            query_all(
                connection,
                "SELECT name, position, created_at FROM api_versions ORDER BY position",
                [],
                api_version,
            )
        })
        .await
    }

    async fn append_api_version(
        &self,
        name: &ApiVersionName,
        created_at: DateTime<Utc>,
    ) -> Result<ApiVersion, StoreError> {
        let name = name.to_string();
        self.call(move |connection, _| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
            let added = query_optional(
                &transaction,
                "INSERT INTO api_versions (name, position, created_at)
                 SELECT ?1, COALESCE(MAX(position), 0) + 1, ?2 FROM api_versions
                 RETURNING name, position, created_at",
                params![name, micros(&created_at)],
                api_version,
            )?
            .ok_or_else(|| StoreError::Internal("the insert returned no row".into()))?;
            transaction.commit().map_err(sqlite_error)?;
            Ok(added)
        })
        .await
    }

    async fn remove_api_version(&self, name: &ApiVersionName) -> Result<RemoveVersion, StoreError> {
        let name = name.to_string();
        self.call(move |connection, _| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
            let pinned: Option<i64> = transaction
                .query_row("SELECT 1 FROM endpoints WHERE api_version = ?1 LIMIT 1", params![name], |row| row.get(0))
                .optional()
                .map_err(sqlite_error)?;
            if pinned.is_some() {
                return Ok(RemoveVersion::Pinned);
            }
            let removed =
                transaction.execute("DELETE FROM api_versions WHERE name = ?1", params![name]).map_err(sqlite_error)?;
            transaction.commit().map_err(sqlite_error)?;
            Ok(if removed > 0 { RemoveVersion::Removed } else { RemoveVersion::NotFound })
        })
        .await
    }

    async fn put_event_type_version(&self, version: &EventTypeVersion) -> Result<(), StoreError> {
        let row = EventTypeVersionRow::encode(version);
        self.call(move |connection, _| {
            connection
                .execute(
                    "INSERT INTO event_type_versions (event_type, api_version, schema, downgrade, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (event_type, api_version)
                     DO UPDATE SET schema = excluded.schema, downgrade = excluded.downgrade, updated_at = excluded.updated_at",
                    params![row.event_type, row.api_version, row.schema, row.downgrade, micros(&row.updated_at)],
                )
                .map_err(sqlite_error)?;
            Ok(())
        })
        .await
    }

    async fn list_event_type_versions(&self, event_type: &EventTypeName) -> Result<Vec<EventTypeVersion>, StoreError> {
        let event_type = event_type.to_string();
        self.call(move |connection, _| {
            query_all(
                connection,
                "SELECT v.event_type, v.api_version, v.schema, v.downgrade, v.updated_at
                 FROM event_type_versions v JOIN api_versions a ON a.name = v.api_version
                 WHERE v.event_type = ?1 ORDER BY a.position",
                params![event_type],
                |row| {
                    EventTypeVersionRow {
                        event_type: column(row, "event_type")?,
                        api_version: column(row, "api_version")?,
                        schema: column(row, "schema")?,
                        downgrade: column(row, "downgrade")?,
                        updated_at: timestamp(row, "updated_at")?,
                    }
                    .decode()
                },
            )
        })
        .await
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, StoreError> {
        self.call(move |connection, _| {
            connection
                .query_row(
                    "SELECT
                        coalesce(sum(claim_token IS NULL AND due_at <= ?1), 0),
                        coalesce(sum(claim_token IS NULL AND due_at > ?1), 0),
                        coalesce(sum(claim_token IS NOT NULL), 0),
                        (SELECT count(*) FROM endpoints WHERE circuit_state <> 'closed')
                     FROM deliveries WHERE status IN ('pending', 'failed', 'delivering')",
                    params![micros(&now)],
                    |row| {
                        Ok(QueueStats {
                            due: row.get(0)?,
                            scheduled: row.get(1)?,
                            leased: row.get(2)?,
                            circuits_open: row.get(3)?,
                        })
                    },
                )
                .map_err(sqlite_error)
        })
        .await
    }

    /// One connection, in use while a call holds it.
    fn pool_status(&self) -> PoolStatus {
        let in_use = i64::from(self.connection.try_lock().is_err());
        PoolStatus { in_use, idle: 1 - in_use, max: 1 }
    }

    fn work_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.work_signal)
    }
}
