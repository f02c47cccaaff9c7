-- Versioned payloads: the ordered list of API versions, per event type and version an optional
-- JSON Schema and downgrade transform, endpoint pinning, and the version of each event.

CREATE TABLE api_versions (
    name        TEXT PRIMARY KEY,
    position    INTEGER NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

-- downgrade: a JSON Patch (RFC 6902) turning a payload of this version into the previous one.
CREATE TABLE event_type_versions (
    event_type  TEXT NOT NULL REFERENCES event_types (name) ON DELETE CASCADE,
    api_version TEXT NOT NULL REFERENCES api_versions (name) ON DELETE CASCADE,
    schema      TEXT,
    downgrade   TEXT,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_type, api_version)
);

ALTER TABLE endpoints ADD COLUMN api_version TEXT REFERENCES api_versions (name);
CREATE INDEX endpoints_api_version ON endpoints (api_version) WHERE api_version IS NOT NULL;

ALTER TABLE events ADD COLUMN api_version TEXT;
-- Explicit per-version payloads: a JSON object from version name to payload.
ALTER TABLE events ADD COLUMN payloads TEXT;
