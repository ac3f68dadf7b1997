-- Results and server settings (PostgreSQL variant of 0003_…sqlite.sql).
ALTER TABLE jobs ADD COLUMN reply_to_message_id BIGINT;

CREATE TABLE reroll_claims (
    message_id  BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    job_id      BIGINT REFERENCES jobs (id),
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE TABLE guild_settings (
    guild_id        BIGINT PRIMARY KEY,
    reroll_policy   TEXT    NOT NULL DEFAULT 'requester'
        CHECK (reroll_policy IN ('requester', 'anyone')),
    default_model   TEXT,
    allowed_models  TEXT    NOT NULL DEFAULT '[]',
    channels        TEXT    NOT NULL DEFAULT '[]',
    blocked_words   TEXT    NOT NULL DEFAULT '[]',
    updated_at      DOUBLE PRECISION NOT NULL,
    updated_by      BIGINT
);
