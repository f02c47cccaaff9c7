-- Delivery engine: events, one delivery per (event, endpoint), and the append-only attempt log.

ALTER TABLE endpoints ADD COLUMN retry_schedule JSONB;

CREATE TABLE events (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    -- The producer's JSON object, verbatim (key order and number formatting preserved).
    payload         TEXT NOT NULL,
    channels        JSONB,
    idempotency_key TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE UNIQUE INDEX events_idempotency_key ON events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- status: pending | delivering | succeeded | failed | exhausted | cancelled.
-- due_at: when the delivery is next claimable. For pending/failed it is the next attempt time; for
-- delivering it is the lease expiry, so a crashed worker's deliveries become claimable again.
CREATE TABLE deliveries (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    due_at          TIMESTAMPTZ,
    claim_token     TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES endpoints (tenant_id, id) ON DELETE CASCADE
);

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
    started_at       TIMESTAMPTZ NOT NULL,
    duration_ms      BIGINT NOT NULL,
    url              TEXT NOT NULL,
    request_headers  JSONB NOT NULL,
    response_status  INTEGER,
    response_headers JSONB,
    response_body    TEXT,
    error_kind       TEXT,
    error_message    TEXT,
    succeeded        BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES deliveries (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX attempts_delivery ON attempts (tenant_id, delivery_id, id);
