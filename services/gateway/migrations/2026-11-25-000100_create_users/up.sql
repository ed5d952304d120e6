-- The people who may log in through the gateway. Passwords are argon2id PHC strings.
CREATE TABLE users (
    username      TEXT PRIMARY KEY CHECK (length(username) BETWEEN 1 AND 64),
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'reader')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
