-- Orders are immutable once placed: one row and one `order.created` event each.
CREATE TABLE orders (
    id          UUID        PRIMARY KEY,
    symbol      TEXT        NOT NULL CHECK (symbol ~ '^[A-Z0-9]{1,12}$'),
    quantity    INTEGER     NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    -- A reference to a customer of customer-api (another database): not a foreign key.
    customer_id UUID,
    created_at  TIMESTAMPTZ NOT NULL
);

-- Listing is newest first with a keyset cursor on (created_at, id).
CREATE INDEX orders_listing_idx ON orders (created_at DESC, id DESC);
