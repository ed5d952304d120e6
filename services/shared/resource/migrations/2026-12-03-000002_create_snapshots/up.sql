-- Snapshots: on-demand `r` events for the live rows of one resource, emitted chunk by chunk.
-- A chunk's events and the advance of `last_id` commit together, so a restart resumes after
-- the last finished chunk and never emits one twice.
CREATE TABLE snapshots (
    id          uuid PRIMARY KEY,
    aggregate   text        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('running', 'paused', 'cancelled', 'done', 'failed')),
    filter      jsonb       NOT NULL DEFAULT '{}',
    from_id     uuid,
    to_id       uuid,
    chunk_size  integer     NOT NULL CHECK (chunk_size > 0),
    last_id     uuid,
    rows_done   bigint      NOT NULL DEFAULT 0,
    rows_total  bigint      NOT NULL,
    chunks_done bigint      NOT NULL DEFAULT 0,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- The runner's question: which snapshot of this resource runs next.
CREATE INDEX snapshots_running ON snapshots (aggregate, created_at) WHERE state = 'running';
