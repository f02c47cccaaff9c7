-- Listing a tenant's attempts by result (`result=failed`, the usual "what went wrong" view) is one
-- range scan in id order, like the other log filters, instead of a walk through every attempt.
CREATE INDEX attempts_result ON attempts (tenant_id, succeeded, id);
