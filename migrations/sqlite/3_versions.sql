-- Versioned payloads; see migrations/postgres/3_versions.sql.

CREATE TABLE api_versions (
    name        TEXT PRIMARY KEY,
    position    INTEGER NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE event_type_versions (
    event_type  TEXT NOT NULL REFERENCES event_types (name) ON DELETE CASCADE,
    api_version TEXT NOT NULL REFERENCES api_versions (name) ON DELETE CASCADE,
    schema      TEXT,
    downgrade   TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (event_type, api_version)
) WITHOUT ROWID;

ALTER TABLE endpoints ADD COLUMN api_version TEXT REFERENCES api_versions (name);
CREATE INDEX endpoints_api_version ON endpoints (api_version) WHERE api_version IS NOT NULL;

ALTER TABLE events ADD COLUMN api_version TEXT;
ALTER TABLE events ADD COLUMN payloads TEXT;
