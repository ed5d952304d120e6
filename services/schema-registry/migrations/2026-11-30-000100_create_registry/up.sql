-- Every distinct schema the registry has seen, under its global id. A schema keeps its id for
-- ever: registering the same (normalised) schema again, under any subject, finds this row.
CREATE TABLE schemas (
    id          INTEGER     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of `canonical`; the identity of a schema (a unique index on the text itself
    -- would fail for schemas larger than a b-tree page allows).
    fingerprint BYTEA       NOT NULL UNIQUE,
    -- The schema as JSON with sorted keys and no insignificant whitespace.
    canonical   TEXT        NOT NULL,
    -- The text of the first registration, which the API returns.
    schema_text TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The versions of each subject. A soft delete only sets `deleted`; a permanent one removes the
-- row. Version numbers are never reused while a row for them exists.
CREATE TABLE subject_versions (
    subject    TEXT        NOT NULL,
    version    INTEGER     NOT NULL CHECK (version > 0),
    schema_id  INTEGER     NOT NULL REFERENCES schemas (id),
    deleted    BOOLEAN     NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, version)
);

-- "Which subjects use schema N" (GET /schemas/ids/{id}/versions).
CREATE INDEX subject_versions_schema_idx ON subject_versions (schema_id);

-- Compatibility levels: the global one (at most one row; BACKWARD when absent) and each
-- subject's override.
CREATE DOMAIN compatibility_level AS TEXT CHECK (VALUE IN (
    'NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL',
    'FULL_TRANSITIVE'
));

CREATE TABLE global_compatibility (
    singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    level     compatibility_level NOT NULL
);

CREATE TABLE subject_compatibility (
    subject TEXT PRIMARY KEY,
    level   compatibility_level NOT NULL
);
