"""The queue's snapshot: what it reads matches the rows, and reading stays cheap.

Every /imagine and every job's end makes a process read a snapshot, so it is read from
counts and small statements, never by loading every unfinished row, and its statements
must use an index even on a SQLite file that has no statistics (a fresh one, or one never
analysed), where SQLite's planner otherwise scans every job ever made.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from bot.jobs.fair_queue import QueueStore, Snapshot, Waiting
from bot.storage import Database, migrate
from bot.storage.sqlite import SQLiteDatabase

NOW = 1_000_000.0
ME, OTHER = "me", "other"


async def _job(
    db: Database,
    *,
    user: int,
    guild: int | None,
    state: str,
    owner: str | None = None,
    expires: float | None = None,
) -> int:
    row = await db.write_fetchone(
        "INSERT INTO jobs (guild_id, channel_id, user_id, upload_limit, model, prompt, params,"
        " state, created_at, updated_at, lease_owner, lease_expires_at)"
        " VALUES (?, 1, ?, 8000000, 'm', 'p', '{}', ?, 0, 0, ?, ?) RETURNING id",
        (guild, user, state, owner, expires),
    )
    assert row is not None
    return int(row[0])


async def _mixed_jobs(db: Database) -> None:
    """Waiting, running here and elsewhere, orphans, finished jobs; two servers and DMs."""
    live, dead = NOW + 20, NOW - 1
    for user, guild in ((1, 10), (2, 10), (3, 20), (1, 10), (4, None)):
        await _job(db, user=user, guild=guild, state="queued")
    await _job(db, user=1, guild=10, state="queued", owner=ME, expires=live)  # claimed
    await _job(db, user=1, guild=10, state="running", owner=ME, expires=live)
    await _job(db, user=2, guild=10, state="pending", owner=OTHER, expires=live)
    await _job(db, user=3, guild=20, state="running", owner=ME, expires=dead)  # orphan
    await _job(db, user=5, guild=20, state="delivering", owner=None)  # released: orphan
    await _job(db, user=4, guild=None, state="submitting", owner=OTHER, expires=live)
    for state in ("succeeded", "failed", "cancelled"):
        await _job(db, user=1, guild=10, state=state, owner=ME)
    await db.execute("INSERT INTO fleet_members (owner, seen_at) VALUES (?, ?)", (OTHER, NOW))
    await db.execute("INSERT INTO fleet_members (owner, seen_at) VALUES ('gone', ?)", (NOW - 99,))
    await db.execute(
        "INSERT INTO fair_queue (scope, target_id, served_seq)"
        " VALUES ('user', 1, 7), ('user', 5, 9), ('guild', 10, 8), ('guild', 20, 3)"
    )


async def _expected(db: Database) -> Snapshot:
    """The snapshot as defined: every unfinished row looked at one by one."""
    rows = await db.fetchall(
        "SELECT id, user_id, COALESCE(guild_id, 0), state, lease_owner, lease_expires_at"
        " FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY id"
    )
    snap = Snapshot()
    by_user: Counter[int] = Counter()
    by_guild: Counter[int] = Counter()
    for row in rows:
        job_id, user, guild, state, holder, expires = (row[i] for i in range(6))
        if state == "queued" and holder is None:
            snap.waiting.append(Waiting(job_id, user, guild))
            continue
        snap.running += 1
        by_user[user] += 1
        by_guild[guild] += 1
        if holder is None or float(expires or 0) <= NOW:
            snap.orphans.append(job_id)
        elif holder == ME:
            snap.mine += 1
    users = {w.user_id for w in snap.waiting}
    guilds = {w.guild_id for w in snap.waiting}
    snap.running_by_user = Counter({u: n for u, n in by_user.items() if u in users})
    snap.running_by_guild = Counter({g: n for g, n in by_guild.items() if g in guilds})
    for row in await db.fetchall("SELECT scope, target_id, served_seq FROM fair_queue"):
        scope, target, seq = row[0], row[1], row[2]
        if scope == "user" and target in users:
            snap.user_served[target] = seq
        if scope == "guild" and target in guilds:
            snap.guild_served[target] = seq
    snap.last_served = 9
    snap.processes = 2  # this one and OTHER ('gone' was last seen too long ago)
    return snap


async def test_the_snapshot_is_what_the_rows_say(db: Database) -> None:
    await _mixed_jobs(db)
    store = QueueStore(db, clock=lambda: NOW)
    snap = await db.read(lambda tx: store.snapshot(tx, now=NOW, owner=ME, lease=30.0))
    assert snap == await _expected(db)
    assert [w.job_id for w in snap.waiting] == sorted(w.job_id for w in snap.waiting)


async def test_an_idle_queue_reads_nothing_per_member(db: Database) -> None:
    await _job(db, user=1, guild=10, state="running", owner=ME, expires=NOW + 20)
    store = QueueStore(db, clock=lambda: NOW)
    snap = await db.read(lambda tx: store.snapshot(tx, now=NOW, owner=ME))
    assert (snap.waiting, snap.orphans, snap.running, snap.mine) == ([], [], 1, 1)
    assert not snap.running_by_user and not snap.user_served


async def test_its_statements_use_an_index_on_a_file_without_statistics(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    db = await SQLiteDatabase.open(path)
    try:
        await migrate(db)
        async with db.transaction() as tx:
            for _ in range(300):  # finished jobs: what a plain scan would read every round
                await tx.execute(
                    "INSERT INTO jobs (guild_id, channel_id, user_id, upload_limit, model,"
                    " prompt, params, state, created_at, updated_at)"
                    " VALUES (10, 1, 1, 1, 'm', 'p', '{}', 'succeeded', 0, 0)"
                )
        await _mixed_jobs(db)
        sent: list[str] = []
        await db._connection().set_trace_callback(sent.append)
        store = QueueStore(db, clock=lambda: NOW)
        await db.read(lambda tx: store.snapshot(tx, now=NOW, owner=ME))
        statements = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
        assert len(statements) >= 4  # waiting, counts, orphans, the waiting members' context
        _assert_indexed(path, statements)  # before closing: that leaves statistics behind
    finally:
        await db.close()


def _assert_indexed(path: Path, statements: list[str]) -> None:
    plain = sqlite3.connect(path)
    try:
        assert (
            plain.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchall()
            == []
        )
        for sql in statements:
            plan = [row[3] for row in plain.execute("EXPLAIN QUERY PLAN " + sql)]
            assert "SCAN jobs" not in plan, (sql, plan)
    finally:
        plain.close()
