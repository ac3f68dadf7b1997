"""Reserve+commit pairs per second with 50 concurrent tasks on one SQLite WAL file.

Run: `uv run python -m bench.quota_ledger [--tasks 50] [--attempts 200] [--users 50] [--floor]`.
Each task plays one user's /imagine road: a `db.write` transaction → `check_and_reserve`,
then another → `commit`. Demand is set above every user's allowance, so the run also
proves there is no overspend: each user must end with exactly their limit used.

`--floor` also times the same transaction shape with trivial statements (two `db.write`
transactions, of two `SELECT 1` and one): what `Database` costs on this machine before any
quota SQL runs (each transaction is one hop to the database thread and back).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.db import Connection, Database
from bot.models import DiscordTarget, JobParams
from bot.quota.policy import Period, Policy
from bot.quota.service import QuotaExceededError, QuotaService
from bot.repository import JobRepository

GUILD = 1


async def _jobs(db: Database, user_id: int, count: int) -> list[int]:
    repo = JobRepository(db)
    target = DiscordTarget(
        guild_id=GUILD, channel_id=1, user_id=user_id, locale="en-US", application_id=None,
        interaction_id=None, interaction_token=None, interaction_created_at=None,
        upload_limit=8_000_000,
    )  # fmt: skip
    params = JobParams(model="bench", prompt="bench")
    return [(await repo.create(target, params)).id for _ in range(count)]


async def run(tasks: int, attempts: int, users: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        await db.migrate()
        per_user = tasks // users * attempts
        limit = per_user * 4 // 5  # 80 % of the demand fits
        service = QuotaService(db, global_default=Policy(limit, Period.DAY), owner_ids=frozenset())
        plan = [(1 + t % users, await _jobs(db, 1 + t % users, attempts)) for t in range(tasks)]
        accepted = refused = 0

        async def imagine(user_id: int, job_id: int) -> bool:
            """One /imagine's two transactions: reserve, then commit what was delivered."""
            try:
                await db.write(
                    lambda conn: service.check_and_reserve(
                        conn, guild_id=GUILD, user_id=user_id, role_ids=(101, 102),
                        job_id=job_id, model_cost=1, n=1,
                    )
                )  # fmt: skip
            except QuotaExceededError:
                return False
            await db.write(lambda conn: service.commit(conn, job_id, 1))
            return True

        async def worker(user_id: int, job_ids: list[int]) -> None:
            nonlocal accepted, refused
            for job_id in job_ids:
                if await imagine(user_id, job_id):
                    accepted += 1
                else:
                    refused += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(user, jobs) for user, jobs in plan))
        elapsed = time.perf_counter() - started

        overspent = []
        for user_id in range(1, users + 1):
            status = await service.status(GUILD, user_id, ())
            if status.used != limit or status.held != 0:
                overspent.append((user_id, status.used, status.held))
        await db.close()

    print(f"tasks={tasks} users={users} attempts={tasks * attempts} limit/user={limit}")
    print(f"accepted={accepted} refused={refused} in {elapsed:.2f} s")
    print(f"reserve+commit pairs/s: {accepted / elapsed:,.0f}")
    print(f"attempts/s (incl. refusals): {(accepted + refused) / elapsed:,.0f}")
    print("overspend: none" if not overspent else f"OVERSPEND: {overspent}")
    if overspent or accepted != users * limit:
        raise SystemExit(1)


async def floor(tasks: int, attempts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "floor.db")

        async def two(conn: Connection) -> None:
            await conn.fetchall("SELECT 1")
            await conn.fetchall("SELECT 1")

        async def one(conn: Connection) -> None:
            await conn.fetchall("SELECT 1")

        async def worker() -> None:
            for _ in range(attempts):
                await db.write(two)
                await db.write(one)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        elapsed = time.perf_counter() - started
        await db.close()
    print(f"floor (same 2 transactions, trivial SQL): {tasks * attempts / elapsed:,.0f} pairs/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--floor", action="store_true", help="also time trivial statements")
    args = parser.parse_args()
    asyncio.run(run(args.tasks, args.attempts, args.users))
    if args.floor:
        asyncio.run(floor(args.tasks, args.attempts))


if __name__ == "__main__":
    main()
