-- Tenant-fair claiming; see migrations/postgres/4_fairness.sql.
CREATE INDEX deliveries_tenant_due ON deliveries (tenant_id, due_at) WHERE status IN ('pending', 'failed', 'delivering');
