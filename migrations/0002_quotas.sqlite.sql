-- Quotas: who may spend how many credits per period, an append-only ledger of every
-- credit movement (so usage is always derived, never stored), and an audit trail of admin
-- changes. The rules for reading the ledger are in bot/quota/ledger.py's docstring.

-- One allowance per (guild, scope, target). scope 'guild' is the server default and uses
-- target_id = guild_id. period 'unlimited' ignores credits (stored as 0); credits 0 with any
-- other period blocks.
CREATE TABLE quota_policies (
    guild_id    INTEGER NOT NULL,
    scope       TEXT    NOT NULL CHECK (scope IN ('user', 'role', 'guild')),
    target_id   INTEGER NOT NULL,
    credits     INTEGER NOT NULL CHECK (credits BETWEEN 0 AND 1000000),
    period      TEXT    NOT NULL
        CHECK (period IN ('day', 'week', 'month', 'total', 'unlimited')),
    updated_at  REAL    NOT NULL,
    updated_by  INTEGER,
    PRIMARY KEY (guild_id, scope, target_id)
) WITHOUT ROWID;

-- Per-server quota settings; a server without a row uses UTC and no extra admin role.
CREATE TABLE quota_guild_settings (
    guild_id       INTEGER PRIMARY KEY,
    timezone       TEXT    NOT NULL DEFAULT 'UTC',
    admin_role_id  INTEGER,
    updated_at     REAL    NOT NULL
);

-- The ledger. `amount` is the row's signed effect on "credits used" (reserve +, commit's
-- released remainder -, refund -, adjust ±), except for 'grant' rows whose positive amount
-- is extra allowance. `counts_at` is the instant whose period the row counts toward: now
-- for reserve/grant/adjust, the reservation's counts_at for its commit/refund (so a job
-- that straddles midnight is charged and released in the same period).
-- `images`: images reserved (reserve) or delivered (commit); the unit cost of a job is
-- amount / images of its reserve row, frozen at reservation time.
CREATE TABLE quota_ledger (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    job_id      INTEGER REFERENCES jobs (id),
    kind        TEXT    NOT NULL
        CHECK (kind IN ('reserve', 'commit', 'refund', 'grant', 'adjust')),
    amount      INTEGER NOT NULL,
    images      INTEGER,
    counts_at   REAL    NOT NULL,
    created_at  REAL    NOT NULL,
    actor_id    INTEGER,
    note        TEXT,
    CHECK ((kind IN ('reserve', 'commit', 'refund')) = (job_id IS NOT NULL)),
    CHECK (kind <> 'reserve' OR (amount >= 0 AND images >= 1)),
    CHECK (kind NOT IN ('commit', 'refund') OR amount <= 0),
    CHECK (kind <> 'grant' OR amount > 0)
);

-- A job is reserved at most once and settled (committed or refunded) at most once. The
-- settling INSERT already skips a settled job (idempotent settle); these indexes make any
-- second reservation or settlement, from any code path or process, fail outright.
CREATE UNIQUE INDEX quota_ledger_one_reserve ON quota_ledger (job_id) WHERE kind = 'reserve';
CREATE UNIQUE INDEX quota_ledger_one_settle ON quota_ledger (job_id)
    WHERE kind IN ('commit', 'refund');
-- "Usage of user U in guild G since T" (covering: the sums read only the index). Its
-- guild_id prefix also serves the admin report and export, so there is deliberately no
-- second per-guild index: every index costs a page write on each reserve and settle.
CREATE INDEX quota_ledger_usage
    ON quota_ledger (guild_id, user_id, counts_at, kind, amount, job_id);

CREATE TRIGGER quota_ledger_no_update BEFORE UPDATE ON quota_ledger
BEGIN
    SELECT RAISE(ABORT, 'quota_ledger is append-only');
END;

CREATE TRIGGER quota_ledger_no_delete BEFORE DELETE ON quota_ledger
BEGIN
    SELECT RAISE(ABORT, 'quota_ledger is append-only');
END;

-- Every admin change: who did what to whom, the state before and after (JSON), and when.
CREATE TABLE quota_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    actor_id    INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,  -- 'user:<id>', 'role:<id>' or 'guild:<id>'
    before      TEXT,              -- JSON, NULL when nothing existed
    after       TEXT,              -- JSON, NULL when removed
    created_at  REAL    NOT NULL
);

CREATE INDEX quota_audit_by_guild ON quota_audit (guild_id, created_at);
