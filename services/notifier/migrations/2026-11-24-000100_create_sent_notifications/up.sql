-- One row per change event the notifier has taken on, keyed by the event id: the ledger that
-- makes a redelivered event harmless (see src/ledger.rs for the protocol).
CREATE TABLE sent_notifications (
    event_id   UUID        PRIMARY KEY,
    recipient  TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    -- pending: claimed, not known to be delivered; sent: the SMTP server accepted it;
    -- failed: given up after the last attempt and reported on notifications.failed.
    status     TEXT        NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sent', 'failed')),
    attempts   INTEGER     NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
