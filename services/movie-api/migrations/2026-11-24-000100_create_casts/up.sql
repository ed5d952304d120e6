-- Cast members (actors, directors): a movie refers to them by id.
CREATE TABLE casts (
    id          UUID        PRIMARY KEY,
    name        TEXT        NOT NULL,
    nationality TEXT,
    version     BIGINT      NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    -- Soft delete: the row stays for audit and so that the delete event has a full before image.
    deleted_at  TIMESTAMPTZ
);

-- Listing is newest first with a keyset cursor on (created_at, id).
CREATE INDEX casts_listing_idx ON casts (created_at DESC, id DESC) WHERE deleted_at IS NULL;
