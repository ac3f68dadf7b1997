-- Jobs: one row per image request; the single source of truth between the command,
-- the runner and delivery, so a restart can pick any unfinished job up where it stopped.
CREATE TABLE jobs (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id                INTEGER,
    channel_id              INTEGER NOT NULL,
    user_id                 INTEGER NOT NULL,
    locale                  TEXT    NOT NULL DEFAULT 'en-US',
    application_id          INTEGER,
    interaction_id          INTEGER,
    -- Secret: cleared when the job ends. Valid for 15 minutes from interaction_created_at.
    interaction_token       TEXT,
    interaction_created_at  REAL,
    message_id              INTEGER,
    upload_limit            INTEGER NOT NULL,
    model                   TEXT    NOT NULL,
    prompt                  TEXT    NOT NULL,
    params                  TEXT    NOT NULL,  -- JSON of the full request parameters
    state                   TEXT    NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'submitting', 'pending', 'running', 'delivering',
                         'succeeded', 'failed', 'cancelled')),
    task_id                 TEXT,
    error_code              TEXT,
    error_message           TEXT,
    images_delivered        INTEGER NOT NULL DEFAULT 0,
    submit_attempts         INTEGER NOT NULL DEFAULT 0,
    parent_job_id           INTEGER REFERENCES jobs (id),
    created_at              REAL    NOT NULL,
    updated_at              REAL    NOT NULL,
    submitted_at            REAL,
    started_at              REAL,
    finished_at             REAL
);

CREATE INDEX jobs_unfinished ON jobs (state, id)
    WHERE state NOT IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX jobs_by_user ON jobs (user_id, created_at);
CREATE INDEX jobs_by_message ON jobs (message_id);
-- Finished jobs of a model, newest first: the history the poll schedule learns from.
CREATE INDEX jobs_durations ON jobs (model, finished_at)
    WHERE state = 'succeeded';

-- Small facts the bot keeps between runs (e.g. the hash of the last synced command tree).
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
