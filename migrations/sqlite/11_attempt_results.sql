-- See PostgreSQL's migration 11: attempts listed by result use an index.
CREATE INDEX attempts_result ON attempts (tenant_id, succeeded, id);
-- A status filter also checks the lease (`claim_token`, see migration 10); carried in the index,
-- it is checked there instead of in each row. (SQLite updates only the indexes whose columns
-- change, so a claim now touches this one; PostgreSQL keeps the column out of its indexes so that
-- claims stay in-place updates.)
DROP INDEX deliveries_status;
CREATE INDEX deliveries_status ON deliveries (tenant_id, status, id, claim_token);
