-- A claim takes a lease by setting only `claim_token` and `leased_until` (see PostgreSQL's
-- migration 10); SQLite then rewrites no index on a claim. A delivery is shown as `delivering`
-- while it carries a claim token.

ALTER TABLE deliveries ADD COLUMN leased_until INTEGER;
UPDATE deliveries
    SET leased_until = due_at, status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'failed' END
    WHERE status = 'delivering';
