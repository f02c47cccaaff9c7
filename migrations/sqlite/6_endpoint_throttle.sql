-- Per-endpoint delivery limits; see migrations/postgres/6_endpoint_throttle.sql.
ALTER TABLE endpoints ADD COLUMN delivery_per_second INTEGER;
ALTER TABLE endpoints ADD COLUMN max_in_flight INTEGER;
ALTER TABLE endpoints ADD COLUMN next_send_at INTEGER;
