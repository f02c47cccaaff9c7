-- The W3C `traceparent` of the request that submitted each event, so every delivery attempt
-- continues that trace.
ALTER TABLE events ADD COLUMN trace_context TEXT;
