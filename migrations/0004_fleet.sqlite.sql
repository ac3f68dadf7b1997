-- A fleet shares jobs: a process owns a job through a lease it renews while it runs it;
-- an expired lease lets another process take the job over. The fair queue's memory of
-- who was served last lives here too, so every process starts jobs in the same order.
-- lease_owner stays set once the job ended: which process ran it last.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at REAL;
ALTER TABLE jobs ADD COLUMN claimed_at REAL;

-- Queued jobs nobody has claimed yet, per user in arrival order (the claim's scan).
CREATE INDEX jobs_waiting ON jobs (user_id, id)
    WHERE state = 'queued' AND lease_owner IS NULL;
CREATE INDEX jobs_leased ON jobs (lease_owner, lease_expires_at)
    WHERE lease_expires_at IS NOT NULL;

-- scope 'guild' or 'user': when each was last given a slot (a fleet-wide counter).
CREATE TABLE fair_queue (
    scope       TEXT    NOT NULL CHECK (scope IN ('guild', 'user')),
    target_id   INTEGER NOT NULL,
    served_seq  INTEGER NOT NULL,
    PRIMARY KEY (scope, target_id)
);

-- The processes of the fleet, each seen at its last lease renewal: a process runs at most
-- its share of MAX_RUNNING_JOBS (the live processes share it), so the work spreads.
CREATE TABLE fleet_members (
    owner    TEXT PRIMARY KEY,
    seen_at  REAL NOT NULL
);
