-- Identifiers compare byte by byte. Ids, uids, names, statuses and keys are ASCII, so ordering
-- is unchanged, but a database created with a linguistic default collation (en_US.UTF-8, and
-- even C.UTF-8 before PostgreSQL 17) compared every key through strcoll: in the delivery indexes
-- that was about 40% of the database's CPU time per delivered event (docs/performance.md).
-- Changing a column's collation keeps its data and rebuilds its indexes; on a large existing
-- database this holds each table's lock while it runs, so apply it in a quiet period.

ALTER TABLE tenants
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN uid TYPE TEXT COLLATE "C";
ALTER TABLE event_types ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE api_versions ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE event_type_versions
    ALTER COLUMN event_type TYPE TEXT COLLATE "C",
    ALTER COLUMN api_version TYPE TEXT COLLATE "C";
ALTER TABLE endpoints
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN api_version TYPE TEXT COLLATE "C",
    ALTER COLUMN circuit_state TYPE TEXT COLLATE "C";
ALTER TABLE api_tokens
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN digest TYPE TEXT COLLATE "C";
ALTER TABLE events
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_type TYPE TEXT COLLATE "C",
    ALTER COLUMN idempotency_key TYPE TEXT COLLATE "C",
    ALTER COLUMN api_version TYPE TEXT COLLATE "C";
ALTER TABLE deliveries
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C",
    ALTER COLUMN endpoint_id TYPE TEXT COLLATE "C",
    ALTER COLUMN status TYPE TEXT COLLATE "C",
    ALTER COLUMN event_type TYPE TEXT COLLATE "C",
    ALTER COLUMN claim_token TYPE TEXT COLLATE "C";
ALTER TABLE attempts
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN delivery_id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C",
    ALTER COLUMN endpoint_id TYPE TEXT COLLATE "C";
ALTER TABLE recoveries
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN endpoint_id TYPE TEXT COLLATE "C",
    ALTER COLUMN cursor TYPE TEXT COLLATE "C";
ALTER TABLE audit_log
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C";
