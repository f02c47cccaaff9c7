-- Per-endpoint delivery limits, enforced across every worker through this row:
-- next_send_at is the GCRA "theoretical arrival time", locked and advanced at claim time.
ALTER TABLE endpoints ADD COLUMN delivery_per_second INTEGER;
ALTER TABLE endpoints ADD COLUMN max_in_flight INTEGER;
ALTER TABLE endpoints ADD COLUMN next_send_at TIMESTAMPTZ;
