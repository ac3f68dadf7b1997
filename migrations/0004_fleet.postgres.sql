-- A fleet shares jobs (see 0004_fleet.sqlite.sql for the rules).
-- lease_owner stays set once the job ended: which process ran it last.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN claimed_at DOUBLE PRECISION;

CREATE INDEX jobs_waiting ON jobs (user_id, id)
    WHERE state = 'queued' AND lease_owner IS NULL;
CREATE INDEX jobs_leased ON jobs (lease_owner, lease_expires_at)
    WHERE lease_expires_at IS NOT NULL;

CREATE TABLE fair_queue (
    scope       TEXT    NOT NULL CHECK (scope IN ('guild', 'user')),
    target_id   BIGINT  NOT NULL,
    served_seq  BIGINT  NOT NULL,
    PRIMARY KEY (scope, target_id)
);

-- The processes of the fleet, each seen at its last lease renewal: a process runs at most
-- its share of MAX_RUNNING_JOBS (the live processes share it), so the work spreads.
CREATE TABLE fleet_members (
    owner    TEXT PRIMARY KEY,
    seen_at  DOUBLE PRECISION NOT NULL
);
