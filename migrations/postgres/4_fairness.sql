-- Tenant-fair claiming: find the tenants with due work by a skip scan, then claim per tenant.
CREATE INDEX deliveries_tenant_due ON deliveries (tenant_id, due_at) WHERE status IN ('pending', 'failed', 'delivering');
