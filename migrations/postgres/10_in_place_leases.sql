-- A claim takes a lease by setting only `claim_token` and `leased_until`, columns no index
-- covers, and leaves `status` and `due_at` alone. PostgreSQL can then update the row in place
-- (a HOT update) instead of adding an entry to each of the seven indexes of `deliveries` on
-- every claim; the fill factor leaves room on each page for that. A delivery is shown as
-- `delivering` while it carries a claim token; `status` is `pending` or `failed` meanwhile.
--
-- Rolling deploys: workers of releases before this one lease by setting status 'delivering'
-- and read leases taken this way as due. Stop them before starting this release's workers.

ALTER TABLE deliveries ADD COLUMN leased_until TIMESTAMPTZ;
UPDATE deliveries
    SET leased_until = due_at, status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'failed' END
    WHERE status = 'delivering';
ALTER TABLE deliveries SET (fillfactor = 75);
