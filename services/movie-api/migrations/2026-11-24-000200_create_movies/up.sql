-- Movies. Genres and cast ids are arrays: a movie's full image (what its change events carry)
-- is then one row, and the order the client gave its cast is kept. The API checks that every
-- cast id names a live cast, and share-locks those casts while it writes, so that a concurrent
-- cast delete either sees the movie (and is refused) or wins (and the movie write is refused).
CREATE TABLE movies (
    id           UUID        PRIMARY KEY,
    title        TEXT        NOT NULL,
    plot         TEXT,
    genres       TEXT[]      NOT NULL DEFAULT '{}',
    cast_ids     UUID[]      NOT NULL DEFAULT '{}',
    release_year INTEGER,
    expiry_date  DATE,
    version      BIGINT      NOT NULL DEFAULT 1,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    -- Soft delete, as for casts.
    deleted_at   TIMESTAMPTZ
);

CREATE INDEX movies_listing_idx ON movies (created_at DESC, id DESC) WHERE deleted_at IS NULL;
-- `?genre=` filters with `genres @> ARRAY[..]`; deleting a cast looks for `cast_ids @> ARRAY[..]`.
CREATE INDEX movies_genres_idx ON movies USING GIN (genres) WHERE deleted_at IS NULL;
CREATE INDEX movies_cast_ids_idx ON movies USING GIN (cast_ids) WHERE deleted_at IS NULL;
-- `?expiring_within_days=` is a range on the expiry date.
CREATE INDEX movies_expiry_idx ON movies (expiry_date) WHERE deleted_at IS NULL;
