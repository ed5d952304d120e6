CREATE TABLE customers (
    id         UUID        PRIMARY KEY,
    name       TEXT        NOT NULL,
    email      TEXT        NOT NULL,
    phone      TEXT,
    version    BIGINT      NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    -- Soft delete: the row stays for audit and so that the delete event has a full before image.
    deleted_at TIMESTAMPTZ
);

-- An email belongs to one live customer; a deleted customer's email may be reused.
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email)) WHERE deleted_at IS NULL;

-- Listing is newest first with a keyset cursor on (created_at, id).
CREATE INDEX customers_listing_idx ON customers (created_at DESC, id DESC) WHERE deleted_at IS NULL;
