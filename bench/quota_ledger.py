"""B4: reserve+commit pairs per second with 50 concurrent tasks, on SQLite or PostgreSQL.

Run: `uv run python -m bench.quota_ledger [--database-url URL] [--processes N]
[--tasks 50] [--attempts 200] [--users 50]`.

Each task plays one user's /imagine road: a `db.write` transaction → `check_and_reserve`,
then another → `commit`. Demand is set above every user's allowance, so the run also
proves there is no overspend: each user must end with exactly their limit used.
Without `--database-url` it runs on a fresh SQLite file. With a PostgreSQL URL and
`--processes 3` it starts three OS processes on that one database (each with its own
pool, as three bots of a fleet), all spending the same users' allowances at once; the
figure is the pairs of all processes over the wall time of the whole run. Set-up (opening
the database, creating each task's jobs) is outside that window: each worker reports
"ready" when its jobs exist and waits for "go" on stdin, which the parent sends once every
worker is ready, so no process spends while another is still setting up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.jobs.models import DiscordTarget, JobParams
from bot.jobs.repository import JobRepository
from bot.quota.policy import Period, Policy
from bot.quota.service import QuotaService
from bot.quota.types import QuotaExceededError
from bot.storage import Database, migrate, open_database

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


def _limit(tasks: int, attempts: int, users: int, processes: int) -> int:
    per_user = tasks // users * attempts * processes
    return per_user * 4 // 5  # 80 % of the demand fits


async def _barrier() -> None:
    """Tell the parent this worker is set up, then wait for its "go" (one line on stdin)."""
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.to_thread(sys.stdin.readline)


async def worker_run(
    url: str, tasks: int, attempts: int, users: int, processes: int, *, barrier: bool = False
) -> dict:
    """One process's share: returns its counts and the wall time of its spending."""
    db = await open_database(url)
    try:
        limit = _limit(tasks, attempts, users, processes)
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

        if barrier:
            await _barrier()
        started, cpu = time.time(), time.process_time()
        await asyncio.gather(*(worker(user, jobs) for user, jobs in plan))
        return {
            "accepted": accepted, "refused": refused, "start": started, "end": time.time(),
            "cpu": time.process_time() - cpu,
        }  # fmt: skip
    finally:
        await db.close()


async def _check(url: str, users: int, limit: int) -> list[tuple[int, int, int]]:
    db = await open_database(url)
    try:
        service = QuotaService(db, global_default=Policy(limit, Period.DAY), owner_ids=frozenset())
        overspent = []
        for user_id in range(1, users + 1):
            status = await service.status(GUILD, user_id, ())
            if status.used != limit or status.held != 0:
                overspent.append((user_id, status.used, status.held))
        return overspent
    finally:
        await db.close()


async def _prepare(url: str) -> None:
    db = await open_database(url)
    try:
        await migrate(db)
    finally:
        await db.close()


def _run_workers(args: list[str], processes: int) -> list[dict]:
    """Start the workers, let them all spend at once once every one is set up."""
    procs = [
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(processes)
    ]
    for proc in procs:  # each prints {"ready": true} after its set-up
        assert proc.stdout is not None
        if not json.loads(proc.stdout.readline() or "{}").get("ready"):
            for other in procs:
                other.kill()
            raise RuntimeError("a worker failed during set-up")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return [json.loads(proc.communicate()[0].strip().splitlines()[-1]) for proc in procs]


def run(url: str, processes: int, tasks: int, attempts: int, users: int) -> dict:
    asyncio.run(_prepare(url))
    limit = _limit(tasks, attempts, users, processes)
    if processes == 1:
        results = [asyncio.run(worker_run(url, tasks, attempts, users, 1))]
    else:
        args = [sys.executable, "-m", "bench.quota_ledger", "--worker", "--database-url", url]
        args += ["--tasks", str(tasks), "--attempts", str(attempts), "--users", str(users)]
        args += ["--processes", str(processes)]
        results = _run_workers(args, processes)
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    accepted = sum(r["accepted"] for r in results)
    refused = sum(r["refused"] for r in results)
    overspent = asyncio.run(_check(url, users, limit))
    return {
        "engine": url.split(":", 1)[0],
        "processes": processes,
        "accepted": accepted,
        "refused": refused,
        "seconds": round(elapsed, 3),
        "pairs_per_second": round(accepted / elapsed),
        # CPU of the bench processes while spending (not the database's), per accepted pair
        "client_cpu_ms_per_pair": round(1000 * sum(r["cpu"] for r in results) / accepted, 3),
        "overspent_users": len(overspent),
        "exact": not overspent and accepted == users * limit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = asyncio.run(
            worker_run(
                args.database_url, args.tasks, args.attempts, args.users, args.processes,
                barrier=True,
            )
        )  # fmt: skip
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        result = run(url, args.processes, args.tasks, args.attempts, args.users)
    print(json.dumps(result))
    if not result["exact"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
