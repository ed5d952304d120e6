DROP TABLE outbox_capture_slots;
