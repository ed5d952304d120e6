-- One row per priced order. `order_id` is unique: a redelivered order inserts nothing
-- (ON CONFLICT DO NOTHING), so it is priced, and its event recorded, exactly once.
CREATE TABLE order_executions (
    id              UUID           PRIMARY KEY,
    order_id        UUID           NOT NULL UNIQUE,
    symbol          TEXT           NOT NULL,
    quantity        INTEGER        NOT NULL CHECK (quantity > 0),
    -- The order's customer in customer-api's database (a reference, not a foreign key).
    customer_id     UUID,
    -- Money as exact decimals: the unit price to 1/10000, the execution price to the cent.
    unit_price      NUMERIC(10, 4) NOT NULL CHECK (unit_price BETWEEN 1.1 AND 2.0),
    execution_price NUMERIC(14, 2) NOT NULL CHECK (execution_price > 0),
    priced_at       TIMESTAMPTZ    NOT NULL DEFAULT now()
);
