-- Where to reach each customer, kept from the `customers` topic: an order execution names only
-- its customer's id, and the notifier never calls back to customer-api. Upserts are guarded by
-- the event version (a stale redelivery never overwrites a newer address); a customer's delete
-- removes the row.
CREATE TABLE customer_contacts (
    customer_id UUID        PRIMARY KEY,
    name        TEXT,
    email       TEXT        NOT NULL,
    version     BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
