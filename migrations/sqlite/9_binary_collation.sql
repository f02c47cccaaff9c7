-- PostgreSQL's migration 9 makes identifier columns compare byte by byte. SQLite's default
-- collation (BINARY) already does, so there is nothing to change here; the file keeps the two
-- backends' versions in step.
SELECT 1;
