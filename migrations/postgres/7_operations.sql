-- Delivery logs and operations: filterable logs, manual retry and recovery, secret rotation,
-- endpoint health (circuit breaker, auto-disable), retention and the audit log.
--
-- Every log list is keyset-paginated on its id. Ids are ULIDs, so id order is creation order and
-- a time range is an id range: each list filter below is one range scan of one index.

ALTER TABLE deliveries ADD COLUMN event_type TEXT NOT NULL DEFAULT '';
UPDATE deliveries d SET event_type = e.event_type FROM events e WHERE e.tenant_id = d.tenant_id AND e.id = d.event_id;
-- What the next attempt is: NULL when scheduled, else 'manual' (retry) or 'recovery' (recover).
ALTER TABLE deliveries ADD COLUMN next_trigger TEXT;

DROP INDEX deliveries_endpoint;
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event ON deliveries (tenant_id, event_id, id);
CREATE INDEX deliveries_endpoint ON deliveries (tenant_id, endpoint_id, id);
CREATE INDEX deliveries_status ON deliveries (tenant_id, status, id);
CREATE INDEX deliveries_event_type ON deliveries (tenant_id, event_type, id);
CREATE INDEX events_event_type ON events (tenant_id, event_type, id);
-- Retention prunes by age across tenants.
CREATE INDEX events_created ON events (created_at);
CREATE INDEX attempts_endpoint ON attempts (tenant_id, endpoint_id, id);
CREATE INDEX attempts_event ON attempts (tenant_id, event_id, id);

-- Endpoint health, updated with each attempt under the endpoint's row lock.
-- circuit_state: closed | open | half_open. circuit_until: when an open circuit lets a probe
-- through, or when a half-open circuit's probe lease runs out.
ALTER TABLE endpoints ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN circuit_state TEXT NOT NULL DEFAULT 'closed';
ALTER TABLE endpoints ADD COLUMN circuit_until TIMESTAMPTZ;
ALTER TABLE endpoints ADD COLUMN failing_since TIMESTAMPTZ;
ALTER TABLE endpoints ADD COLUMN last_success_at TIMESTAMPTZ;
ALTER TABLE endpoints ADD COLUMN last_failure_at TIMESTAMPTZ;
-- Secrets retired by rotation that still sign until they expire:
-- JSON [{"secret": base64(nonce || ciphertext), "expires_at": RFC 3339}].
ALTER TABLE endpoints ADD COLUMN previous_secrets TEXT;

-- Requeueing an endpoint's failed deliveries in a window, done in batches in the background.
CREATE TABLE recoveries (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    endpoint_id  TEXT NOT NULL,
    since_at     TIMESTAMPTZ NOT NULL,
    until_at     TIMESTAMPTZ NOT NULL,
    -- The last delivery id handled; the next batch starts after it.
    cursor       TEXT,
    matched      BIGINT NOT NULL,
    requeued     BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES endpoints (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX recoveries_unfinished ON recoveries (created_at) WHERE finished_at IS NULL;

-- Who changed what, when. No foreign key: the record outlives what it describes.
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    details      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
