"""The fleet-wide fair queue: who starts next, decided from the database alone.

Every process of a fleet reads the same snapshot of unfinished jobs and applies the same
rules, so the caps hold fleet-wide and every process starts jobs in the same order:

* **caps**: jobs running at once overall, per server and per member;
* **round-robin**: among servers, the one served least recently goes first; within it,
  the member served least recently; then that member's oldest waiting job. A server or
  member never served yet goes before every other (then the oldest waiting job first).

"Running" here is every unfinished job a process has claimed or that is past the queue
(submitted, polled, delivering), whether or not its process is still alive: a dead
process's jobs keep their slots until another process takes them over.

The planning is pure (`plan_takeovers`, `plan_starts`, `start_order`); `QueueStore` holds
the SQL.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.storage import Database, Row, Transaction


@dataclass(frozen=True)
class QueueLimits:
    max_running: int = 20
    max_running_per_user: int = 2
    max_queued_per_user: int = 10
    max_queued: int = 500
    max_running_per_guild: int = 20
    max_queued_per_guild: int = 500


@dataclass(frozen=True)
class Waiting:
    job_id: int
    user_id: int
    guild_id: int  # 0 for direct messages


@dataclass
class Snapshot:
    """Unfinished jobs as the queue sees them (waiting ones in arrival order)."""

    waiting: list[Waiting] = field(default_factory=list)
    running_by_user: Counter[int] = field(default_factory=Counter)
    running_by_guild: Counter[int] = field(default_factory=Counter)
    running: int = 0
    orphans: list[int] = field(default_factory=list)  # to take over: their lease expired
    user_served: dict[int, int] = field(default_factory=dict)
    guild_served: dict[int, int] = field(default_factory=dict)
    last_served: int = 0
    mine: int = 0  # jobs the planning process runs (its leases, orphans it takes included)
    processes: int = 1  # live processes of the fleet (1 when alone)


# Waiting: queued and claimed by no process (the partial index jobs_waiting's condition).
_WAITING = "state = 'queued' AND lease_owner IS NULL"
# Running: unfinished (jobs_unfinished's condition) and past the queue or claimed.
_RUNNING = (
    "state NOT IN ('succeeded', 'failed', 'cancelled')"
    " AND (state <> 'queued' OR lease_owner IS NOT NULL)"
)
# Of those, an orphan: no process holds it, or its lease ran out (one `?`: now).
_ORPHAN = "(lease_owner IS NULL OR COALESCE(lease_expires_at, 0) <= ?)"


def _marks(values: list[int]) -> str:
    return ", ".join("?" for _ in values)


def _pick(snapshot: Snapshot, eligible: Callable[[Waiting], bool]) -> Waiting | None:
    """The next waiting job by the round-robin rule, among those `eligible` allows."""
    best: tuple[int, int, int, int] | None = None
    chosen: Waiting | None = None
    seen_users: set[int] = set()
    for job in snapshot.waiting:  # arrival order: a member's first job here is their oldest
        if job.user_id in seen_users or not eligible(job):
            continue
        seen_users.add(job.user_id)
        key = (
            snapshot.guild_served.get(job.guild_id, -1),
            snapshot.user_served.get(job.user_id, -1),
            job.job_id,
            job.user_id,
        )
        if best is None or key < best:
            best, chosen = key, job
    return chosen


def _serve(snapshot: Snapshot, job: Waiting) -> None:
    snapshot.waiting.remove(job)
    snapshot.last_served += 1
    snapshot.user_served[job.user_id] = snapshot.last_served
    snapshot.guild_served[job.guild_id] = snapshot.last_served
    snapshot.running += 1
    snapshot.mine += 1
    snapshot.running_by_user[job.user_id] += 1
    snapshot.running_by_guild[job.guild_id] += 1


def plan_takeovers(snapshot: Snapshot) -> list[int]:
    """The orphans the planning process takes over now (counted in `snapshot.mine`): as
    many as bring it to an even share of the fleet's running jobs, and at least its even
    share of the orphans. So the survivors of a dead process split its jobs between them,
    instead of the first to look taking them all (and running them late, behind its own);
    and every round takes some, so none waits for a process that does not claim. Alone, a
    process takes them all.

    Those taken are spread evenly over the orphans (in id order), not the oldest ones:
    neighbouring jobs tend to be at the same step (a dead process's last, unsubmitted
    jobs are its newest), and each survivor should get its share of the slow steps."""
    orphans, processes = snapshot.orphans, max(1, snapshot.processes)
    even = -(-snapshot.running // processes)  # ceiling division
    count = min(len(orphans), max(-(-len(orphans) // processes), even - snapshot.mine))
    taken = [orphans[i * len(orphans) // count] for i in range(count)] if count else []
    snapshot.mine += len(taken)
    return taken


def plan_starts(snapshot: Snapshot, limits: QueueLimits) -> list[Waiting]:
    """The waiting jobs to start now, in order, within every cap (updates `snapshot`).

    The process planning runs at most its share of `max_running` (split between the live
    processes), so a fleet spreads its work instead of the quickest process taking it all;
    jobs it takes over from a dead process do not wait for that share."""
    share = -(-limits.max_running // max(1, snapshot.processes))  # ceiling division

    def eligible(job: Waiting) -> bool:
        return (
            snapshot.running_by_user[job.user_id] < limits.max_running_per_user
            and snapshot.running_by_guild[job.guild_id] < limits.max_running_per_guild
        )

    started: list[Waiting] = []
    while snapshot.running < limits.max_running and snapshot.mine < share:
        job = _pick(snapshot, eligible)
        if job is None:
            break
        _serve(snapshot, job)
        started.append(job)
    return started


def start_order(snapshot: Snapshot) -> list[int]:
    """Every waiting job id in the order they would start if slots were free."""
    copy = Snapshot(
        waiting=list(snapshot.waiting),
        user_served=dict(snapshot.user_served),
        guild_served=dict(snapshot.guild_served),
        last_served=snapshot.last_served,
    )
    order: list[int] = []
    while (job := _pick(copy, lambda _: True)) is not None:
        _serve(copy, job)
        order.append(job.job_id)
    return order


class QueueStore:
    """The SQL of the queue and of leases."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def snapshot(
        self, tx: Transaction, *, now: float, owner: str = "", lease: float = 30.0
    ) -> Snapshot:
        """What the queue decides from, in a few small statements: the waiting jobs, the
        running ones as counts (per member and server only for those with a job waiting),
        and the orphans' ids only when there are some. Never every unfinished row: with
        1,000 jobs in flight every round would read them all. Each statement repeats its
        partial index's condition and leaves the order to Python, so its plan is an index
        scan even on a database SQLite has no statistics for (an ORDER BY id there makes
        it scan the whole table, finished jobs included)."""
        waiting = await tx.fetchall(
            f"SELECT id, user_id, COALESCE(guild_id, 0) FROM jobs WHERE {_WAITING}"  # noqa: S608
        )
        snap = Snapshot(
            waiting=sorted((Waiting(r[0], r[1], r[2]) for r in waiting), key=lambda w: w.job_id)
        )
        row = await tx.fetchone(
            f"SELECT (SELECT COUNT(*) FROM jobs WHERE {_RUNNING}),"  # noqa: S608
            f" (SELECT COUNT(*) FROM jobs WHERE {_RUNNING} AND lease_owner = ?"
            "  AND lease_expires_at > ?),"
            f" (SELECT COUNT(*) FROM jobs WHERE {_RUNNING} AND {_ORPHAN}),"
            " (SELECT COUNT(*) FROM fleet_members WHERE seen_at > ? AND owner <> ?),"
            " (SELECT MAX(served_seq) FROM fair_queue)",
            (owner, now, now, now - lease, owner),
        )
        assert row is not None
        snap.running, snap.mine, orphans = int(row[0]), int(row[1]), int(row[2])
        snap.processes = 1 + int(row[3])
        snap.last_served = int(row[4] or 0)
        if orphans:
            rows = await tx.fetchall(
                f"SELECT id FROM jobs WHERE {_RUNNING} AND {_ORPHAN}",  # noqa: S608
                (now,),
            )
            snap.orphans = sorted(int(r[0]) for r in rows)
        if snap.waiting:
            await self._waiting_context(tx, snap)
        return snap

    async def _waiting_context(self, tx: Transaction, snap: Snapshot) -> None:
        """For the members and servers with a job waiting: how many they run, and when
        the queue last served them."""
        users = sorted({w.user_id for w in snap.waiting})
        guilds = sorted({w.guild_id for w in snap.waiting})
        user_marks, guild_marks = _marks(users), _marks(guilds)
        rows = await tx.fetchall(
            f"SELECT 'user', user_id, COUNT(*) FROM jobs WHERE user_id IN ({user_marks})"  # noqa: S608
            f" AND {_RUNNING} GROUP BY user_id"
            " UNION ALL SELECT 'guild', COALESCE(guild_id, 0), COUNT(*) FROM jobs"
            f" WHERE {_RUNNING} AND COALESCE(guild_id, 0) IN ({guild_marks})"
            " GROUP BY COALESCE(guild_id, 0)",
            (*users, *guilds),
        )
        for row in rows:
            into = snap.running_by_user if row[0] == "user" else snap.running_by_guild
            into[int(row[1])] = int(row[2])
        served = await tx.fetchall(
            "SELECT scope, target_id, served_seq FROM fair_queue"  # noqa: S608
            f" WHERE (scope = 'user' AND target_id IN ({user_marks}))"
            f" OR (scope = 'guild' AND target_id IN ({guild_marks}))",
            (*users, *guilds),
        )
        for row in served:
            into_served = snap.user_served if row[0] == "user" else snap.guild_served
            into_served[int(row[1])] = int(row[2])

    async def claim(
        self, tx: Transaction, job_ids: list[int], *, owner: str, until: float, now: float
    ) -> list[Row]:
        """Lease these jobs to `owner`; the rows of those actually claimed (in the given
        order), as they stand once claimed: their runners start from these instead of each
        reading its job again (after a takeover, hundreds of reads queued behind the
        process's other database work held the first status checks back by seconds).
        One statement per 500 jobs, not one per job: a takeover may claim hundreds."""
        claimed: dict[int, Row] = {}
        for start in range(0, len(job_ids), 500):
            chunk = job_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = await tx.fetchall(
                "UPDATE jobs SET lease_owner = ?, lease_expires_at = ?, claimed_at = ?"  # noqa: S608
                f" WHERE id IN ({marks}) AND state NOT IN ('succeeded', 'failed', 'cancelled')"
                " AND (lease_owner IS NULL OR lease_expires_at <= ?) RETURNING *",
                (owner, until, now, *chunk, now),
            )
            claimed.update((int(row["id"]), row) for row in rows)
        return [claimed[job_id] for job_id in job_ids if job_id in claimed]

    async def record_served(
        self, tx: Transaction, snapshot: Snapshot, started: list[Waiting]
    ) -> None:
        for job in started:
            for scope, target, seq in (
                ("user", job.user_id, snapshot.user_served[job.user_id]),
                ("guild", job.guild_id, snapshot.guild_served[job.guild_id]),
            ):
                await tx.execute(
                    "INSERT INTO fair_queue (scope, target_id, served_seq) VALUES (?, ?, ?)"
                    " ON CONFLICT (scope, target_id) DO UPDATE"
                    " SET served_seq = excluded.served_seq",
                    (scope, target, seq),
                )

    async def waiting_counts(
        self, tx: Transaction, *, user_id: int, guild_id: int
    ) -> tuple[int, int, int]:
        """Waiting jobs (not yet claimed): in all, of this member, of this server."""
        row = await tx.fetchone(
            "SELECT COUNT(*),"
            " COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN COALESCE(guild_id, 0) = ? THEN 1 ELSE 0 END), 0)"
            " FROM jobs WHERE state = 'queued' AND lease_owner IS NULL",
            (user_id, guild_id),
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def count_waiting(self) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND lease_owner IS NULL"
        )
        return 0 if row is None else int(row[0])

    async def last_request_at(self, tx: Transaction, user_id: int) -> float | None:
        row = await tx.fetchone("SELECT MAX(created_at) FROM jobs WHERE user_id = ?", (user_id,))
        return None if row is None or row[0] is None else float(row[0])

    async def user_counts(self, user_id: int) -> tuple[int, int]:
        """(running, waiting) jobs of a member, fleet-wide."""
        row = await self._db.fetchone(
            "SELECT COALESCE(SUM(CASE WHEN state = 'queued' AND lease_owner IS NULL"
            " THEN 0 ELSE 1 END), 0),"
            " COALESCE(SUM(CASE WHEN state = 'queued' AND lease_owner IS NULL"
            " THEN 1 ELSE 0 END), 0)"
            " FROM jobs WHERE user_id = ? AND state NOT IN ('succeeded', 'failed', 'cancelled')",
            (user_id,),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def renew(self, owner: str, job_ids: list[int], lease: float) -> dict[int, bool]:
        """Extend this owner's leases by `lease` seconds from now; for each job, whether it
        is still ours to run. A job that ended here is still ours (its runner is finishing);
        one cancelled elsewhere or taken over by another process is not."""
        marks = ", ".join("?" for _ in job_ids)

        async def renew(tx: Transaction) -> dict[int, bool]:
            until = self._clock() + lease  # once the connection is had, not before the wait
            await self._seen(tx, owner)
            if not job_ids:
                return {}
            await tx.execute(
                "UPDATE jobs SET lease_expires_at = ?"  # noqa: S608
                f" WHERE lease_owner = ? AND id IN ({marks})"
                " AND state NOT IN ('succeeded', 'failed', 'cancelled')",
                (until, owner, *job_ids),
            )
            rows = await tx.fetchall(
                f"SELECT id, state, lease_owner FROM jobs WHERE id IN ({marks})",  # noqa: S608
                tuple(job_ids),
            )
            mine = {
                int(r["id"]): r["lease_owner"] == owner and r["state"] != "cancelled" for r in rows
            }
            return {job_id: mine.get(job_id, False) for job_id in job_ids}

        # Urgent: a renewal stuck behind a burst of /imagine would let the lease run out.
        return await self._db.write(renew, urgent=True)

    async def _seen(self, tx: Transaction, owner: str) -> None:
        await tx.execute(
            "INSERT INTO fleet_members (owner, seen_at) VALUES (?, ?)"
            " ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at",
            (owner, self._clock()),
        )

    async def join(self, owner: str) -> None:
        """Count this process among the live ones (its renewals keep it there)."""
        await self._db.write(lambda tx: self._seen(tx, owner))

    async def leave(self, owner: str) -> None:
        await self._db.execute("DELETE FROM fleet_members WHERE owner = ?", (owner,))

    async def release(self, owner: str, job_id: int | None = None) -> int:
        """Give up this owner's lease on one job (or all of them); the number released."""
        sql = (
            "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?"
            " AND state NOT IN ('succeeded', 'failed', 'cancelled')"
        )
        params: tuple[object, ...] = (owner,)
        if job_id is not None:
            sql, params = sql + " AND id = ?", (owner, job_id)
        return await self._db.execute(sql, params)

    async def release_all(self) -> int:
        """Forget every lease (SQLite at start: no other process can hold one)."""
        return await self._db.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL"
            " WHERE lease_owner IS NOT NULL AND state NOT IN ('succeeded', 'failed', 'cancelled')"
        )
