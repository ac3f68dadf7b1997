-- Rerolls post their status message as a reply to the result they came from.
ALTER TABLE jobs ADD COLUMN reply_to_message_id INTEGER;

-- One reroll per member per result message via the 🔄 reaction, whatever the toggling.
CREATE TABLE reroll_claims (
    message_id  INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    job_id      INTEGER REFERENCES jobs (id),
    created_at  REAL    NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

-- Per-server settings that are not quotas (quota_guild_settings holds those).
CREATE TABLE guild_settings (
    guild_id        INTEGER PRIMARY KEY,
    reroll_policy   TEXT    NOT NULL DEFAULT 'requester'
        CHECK (reroll_policy IN ('requester', 'anyone')),
    default_model   TEXT,
    allowed_models  TEXT    NOT NULL DEFAULT '[]',  -- JSON list; empty = all
    channels        TEXT    NOT NULL DEFAULT '[]',  -- JSON list of channel ids; empty = all
    blocked_words   TEXT    NOT NULL DEFAULT '[]',  -- JSON list
    updated_at      REAL    NOT NULL,
    updated_by      INTEGER
);
