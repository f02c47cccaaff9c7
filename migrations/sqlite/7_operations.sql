-- Delivery logs and operations; see migrations/postgres/7_operations.sql for the meaning of each column.

ALTER TABLE deliveries ADD COLUMN event_type TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET event_type = (SELECT e.event_type FROM events e WHERE e.tenant_id = deliveries.tenant_id AND e.id = deliveries.event_id);
ALTER TABLE deliveries ADD COLUMN next_trigger TEXT;

DROP INDEX deliveries_endpoint;
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event ON deliveries (tenant_id, event_id, id);
CREATE INDEX deliveries_endpoint ON deliveries (tenant_id, endpoint_id, id);
CREATE INDEX deliveries_status ON deliveries (tenant_id, status, id);
CREATE INDEX deliveries_event_type ON deliveries (tenant_id, event_type, id);
CREATE INDEX events_event_type ON events (tenant_id, event_type, id);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX attempts_endpoint ON attempts (tenant_id, endpoint_id, id);
CREATE INDEX attempts_event ON attempts (tenant_id, event_id, id);

ALTER TABLE endpoints ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN circuit_state TEXT NOT NULL DEFAULT 'closed';
ALTER TABLE endpoints ADD COLUMN circuit_until INTEGER;
ALTER TABLE endpoints ADD COLUMN failing_since INTEGER;
ALTER TABLE endpoints ADD COLUMN last_success_at INTEGER;
ALTER TABLE endpoints ADD COLUMN last_failure_at INTEGER;
ALTER TABLE endpoints ADD COLUMN previous_secrets TEXT;

CREATE TABLE recoveries (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    endpoint_id  TEXT NOT NULL,
    since_at     INTEGER NOT NULL,
    until_at     INTEGER NOT NULL,
    cursor       TEXT,
    matched      INTEGER NOT NULL,
    requeued     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES endpoints (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX recoveries_unfinished ON recoveries (created_at) WHERE finished_at IS NULL;

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    details      TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
