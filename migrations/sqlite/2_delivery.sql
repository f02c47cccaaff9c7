-- Delivery engine: events, one delivery per (event, endpoint), and the append-only attempt log.
-- See migrations/postgres/2_delivery.sql for the meaning of deliveries.due_at.

ALTER TABLE endpoints ADD COLUMN retry_schedule TEXT;

CREATE TABLE events (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    channels        TEXT,
    idempotency_key TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX events_idempotency_key ON events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE deliveries (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    due_at          INTEGER,
    claim_token     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES endpoints (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status IN ('pending', 'failed', 'delivering');
CREATE INDEX deliveries_event ON deliveries (tenant_id, event_id);
CREATE INDEX deliveries_endpoint ON deliveries (tenant_id, endpoint_id);

CREATE TABLE attempts (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,
    delivery_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    attempt_number   INTEGER NOT NULL,
    trigger          TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    url              TEXT NOT NULL,
    request_headers  TEXT NOT NULL,
    response_status  INTEGER,
    response_headers TEXT,
    response_body    TEXT,
    error_kind       TEXT,
    error_message    TEXT,
    succeeded        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES deliveries (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX attempts_delivery ON attempts (tenant_id, delivery_id, id);
