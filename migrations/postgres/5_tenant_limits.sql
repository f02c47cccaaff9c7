-- Per-tenant ingest rate limit overrides (NULL: the deployment default).
ALTER TABLE tenants ADD COLUMN ingest_per_second INTEGER;
ALTER TABLE tenants ADD COLUMN ingest_burst INTEGER;
