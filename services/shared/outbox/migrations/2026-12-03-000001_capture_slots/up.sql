-- The relay's replication slots (RELAY_CAPTURE=wal). A slot streams only what commits after its
-- creation, so the relay that creates one first publishes what the table already holds;
-- `drained_at` records that it finished, so a relay restarted in between drains again instead
-- of leaving those rows behind.
CREATE TABLE outbox_capture_slots (
    slot_name  TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    drained_at TIMESTAMPTZ
);
