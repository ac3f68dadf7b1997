"""A fleet: three `python -m bot` processes, one shard each, sharing one PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.databases import HAVE_POSTGRES, create_postgres_database, drop_postgres_database
from tests.e2e.harness import option
from tests.e2e.test_process import _env as process_env
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.geekai_server import FakeGeekAI

pytestmark = pytest.mark.skipif(not HAVE_POSTGRES, reason="no PostgreSQL: scripts/test starts one")

SHARDS = 3
USERS = [7000 + i for i in range(30)]
JOBS_PER_GUILD = 100
MAX_RUNNING, PER_USER = 15, 2
TERMINAL = ("succeeded", "failed", "cancelled")
RUNNING_SQL = (
    "SELECT user_id, COUNT(*) AS n FROM jobs WHERE state NOT IN ('succeeded', 'failed',"
    " 'cancelled') AND (state <> 'queued' OR lease_owner IS NOT NULL) GROUP BY user_id"
)


def _env(discord: FakeDiscord, geekai: FakeGeekAI, url: str, shard: int) -> dict[str, str]:
    return {
        **process_env(discord, geekai, Path("unused.db")),
        "DATABASE_URL": url,
        "SHARD_COUNT": str(SHARDS),
        "SHARD_IDS": str(shard),
        "LEASE_SECONDS": "5",
        "MAX_RUNNING_JOBS": str(MAX_RUNNING),
        "MAX_RUNNING_PER_USER": str(PER_USER),
        "MAX_RUNNING_PER_GUILD": str(MAX_RUNNING),
        "MAX_QUEUED_PER_USER": "50",
        "QUOTA_DEFAULT_CREDITS": "1000",
        "STATUS_EDIT_INTERVAL": "0.2",
    }


async def _start(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    # Output to /dev/null: 300 jobs' logs would fill a pipe nobody reads and stall the bot.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def _watch_caps(url: str) -> AsyncIterator[list[tuple[int, int]]]:
    """Sample the fleet's running jobs every 50 ms: (most in all, most of one member)."""
    samples: list[tuple[int, int]] = []
    conn = await asyncpg.connect(url)

    async def sample() -> None:
        while True:
            rows = await conn.fetch(RUNNING_SQL)
            samples.append((sum(r["n"] for r in rows), max((r["n"] for r in rows), default=0)))
            await asyncio.sleep(0.05)

    task = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await conn.close()


async def test_three_processes_share_the_work_and_survive_a_kill_9(
    fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    fake = FakeDiscord(shards=SHARDS)
    guilds = [fake.guild_id] + [fake.add_guild(shard=(k, SHARDS)) for k in (1, 2)]
    for guild in guilds:
        for user in USERS:
            fake.add_member(user, guild_id=guild)
    await fake.start()
    url = await create_postgres_database(migrated=False)
    procs = {k: await _start(_env(fake, fake_geekai, url, k), tmp_path) for k in range(SHARDS)}
    db = await asyncpg.connect(url)
    try:
        await fake.wait_ready(timeout=60)
        await fake.wait_for(lambda: bool(fake.registered_commands), timeout=20)
        async with _watch_caps(url) as samples:
            interactions = []
            for i in range(JOBS_PER_GUILD):
                for guild in guilds:
                    ix = await fake.send_interaction(
                        "imagine", [option("prompt", f"fleet job {guild} {i}")],
                        user_id=USERS[i % len(USERS)], guild_id=guild,
                    )  # fmt: skip
                    interactions.append(ix)
            for ix in interactions:
                await ix.wait_response(timeout=30)

            async def count(state: str) -> int:
                return int(await db.fetchval("SELECT COUNT(*) FROM jobs WHERE state = $1", state))

            while await count("succeeded") < 60:  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.05)
            victim = 2  # kill -9 mid-run: its leases stay until they run out
            procs[victim].send_signal(signal.SIGKILL)
            await procs[victim].wait()
            before = {
                r["id"]: r["task_id"]
                for r in await db.fetch("SELECT id, task_id FROM jobs WHERE task_id IS NOT NULL")
            }
            # Only a job killed between sending its submit and storing the task id may be
            # submitted again (GeekAI has no idempotency key): note which were there.
            mid_submit = {
                r["prompt"]
                for r in await db.fetch(
                    "SELECT prompt FROM jobs WHERE state = 'submitting' AND lease_owner LIKE $1",
                    f"%:{procs[victim].pid}:%",
                )
            }
            at_kill = [
                tuple(r)
                for r in await db.fetch(
                    "SELECT state, lease_owner, COUNT(*) FROM jobs GROUP BY state, lease_owner"
                )
            ]
            orphaned = {
                r["id"]
                for r in await db.fetch(
                    "SELECT id FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled')"
                    " AND lease_owner LIKE $1",
                    f"%:{procs[victim].pid}:%",
                )
            }
            deadline = asyncio.get_running_loop().time() + 120
            while await count("succeeded") < len(interactions):
                assert asyncio.get_running_loop().time() < deadline, "jobs left unfinished"
                await asyncio.sleep(0.1)

        # Every job delivered once, in its own message, and charged exactly once.
        assert len(interactions) == SHARDS * JOBS_PER_GUILD
        jobs = await db.fetch(
            "SELECT id, user_id, prompt, task_id, message_id, lease_owner FROM jobs"
        )
        assert len(jobs) == len(interactions)
        by_message = {ix.original_message_id: ix for ix in interactions}
        for job in jobs:
            message = fake.messages[job["message_id"]]
            assert job["message_id"] in by_message
            assert message.content.startswith("✅") and message.attachments, job["id"]
            # A task known before the kill was polled by its new owner, never submitted again.
            if job["id"] in before:
                assert job["task_id"] == before[job["id"]]
        posts = [r for r in fake_geekai.requests if r.method == "POST"]
        prompts = [str((r.json or {}).get("prompt")) for r in posts]
        assert set(prompts) == {j["prompt"] for j in jobs}
        twice = {p for p in prompts if prompts.count(p) > 1}
        assert twice <= mid_submit, f"submitted twice though not mid-submit: {twice - mid_submit}"
        assert all(prompts.count(p) <= 2 for p in twice)
        ledgers = await db.fetch(
            "SELECT job_id, string_agg(kind, ',' ORDER BY id) AS kinds FROM quota_ledger"
            " GROUP BY job_id"
        )
        assert {r["kinds"] for r in ledgers} == {"reserve,commit"} and len(ledgers) == len(jobs)
        finals = [m for m in fake.messages.values() if m.content.startswith("✅")]
        assert len(finals) == len(jobs)  # no result posted a second time
        # The caps held fleet-wide all along, the dead process's jobs included.
        assert samples and max(s[0] for s in samples) <= MAX_RUNNING
        assert max(s[1] for s in samples) <= PER_USER
        # The survivors took the victim's jobs over and finished them.
        assert orphaned, f"the victim held no job when it was killed: {at_kill}"
        survivors = {str(procs[k].pid) for k in procs if k != victim}
        finished_by = {j["id"]: str(j["lease_owner"]).split(":")[1] for j in jobs}
        assert all(finished_by[job_id] in survivors for job_id in orphaned)

        # 🔄 on a result in guild 1 whose job another process ran: exactly one reroll.
        shard1_pid = str(procs[1].pid)
        source = next(
            j
            for j in jobs
            if fake.messages[j["message_id"]].guild_id == guilds[1]
            and str(j["lease_owner"]).split(":")[1] != shard1_pid
        )
        member = source["user_id"]  # the requester: the default reroll policy
        for _ in range(2):
            await fake.send_reaction_add(source["message_id"], "🔄", member, guild_id=guilds[1])
            await fake.send_reaction_remove(source["message_id"], "🔄", member, guild_id=guilds[1])
        await fake.send_reaction_add(source["message_id"], "🔄", member, guild_id=guilds[1])

        async def rerolls() -> list[asyncpg.Record]:
            return list(
                await db.fetch("SELECT id, state FROM jobs WHERE parent_job_id = $1", source["id"])
            )

        deadline = asyncio.get_running_loop().time() + 30
        while not (found := await rerolls()) or found[0]["state"] != "succeeded":
            assert asyncio.get_running_loop().time() < deadline, "the reroll never finished"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a second reroll would have been created by now
        assert len(await rerolls()) == 1
    finally:
        await db.close()
        for proc in procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 15)
            if proc.returncode is None:
                proc.kill()
        await fake.close()
        await drop_postgres_database(url)
