-- A customer whose address cannot be mailed is still a known customer with no contact (email
-- NULL), and a deleted one stays as a tombstone (deleted, email NULL) at the delete's version,
-- so a stale redelivered create can no longer bring the contact back.
ALTER TABLE customer_contacts
    ALTER COLUMN email DROP NOT NULL,
    ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false;

-- Order executions that arrived before their customer's first event (two topics, no order
-- between them): held here, and mailed once the customer's contact arrives.
CREATE TABLE held_executions (
    event_id    UUID        PRIMARY KEY,
    customer_id UUID        NOT NULL,
    event       JSONB       NOT NULL,
    held_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX held_executions_customer_idx ON held_executions (customer_id);
