-- See migrations/postgres/8_trace_context.sql.
ALTER TABLE events ADD COLUMN trace_context TEXT;
