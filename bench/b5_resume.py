"""B5: start-up with 1,000 unfinished jobs in the database; how soon is each polled again?

The database is seeded through the bot's own `JobRepository`: 200 finished jobs (history for
the learned schedule, median 20 s) and 1,000 jobs left `pending` by a previous run, each with
a live task at the fake GeekAI, submitted 20–80 s before the restart (so each has missed
checks and is due at once). Measured: READY (the fake Discord sent it) → each task's first
status check at the fake GeekAI. The bot resumes jobs in `setup_hook`, before it connects,
so checks can precede READY; those count as 0.

Runs on SQLite, then (when IMAGINE_BENCH_POSTGRES_URL names a server) again on a fresh
PostgreSQL database of that server: the same figures, prefixed `pg.`, the same targets.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time

import aiohttp

from bench.common import (
    GeekAIProcess,
    bot_env,
    engines,
    fresh_postgres,
    percentile,
    spawn,
    start_discord,
    users,
)
from bench.scenario import Check, RunContext, Scenario
from bot.jobs.models import DiscordTarget, JobParams, JobState
from bot.jobs.repository import JobRepository
from bot.storage import migrate, open_database

MODEL = "gpt-image-1"
HISTORY = 200


async def _create_tasks(geekai: GeekAIProcess, prompts: list[str]) -> list[str]:
    headers = {"Authorization": f"Bearer {geekai.api_key}"}
    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as http:

        async def create(prompt: str) -> str:
            body = {"model": MODEL, "prompt": prompt, "async": True}
            async with http.post(geekai.base_url + "/images/generations", json=body) as resp:
                return str((await resp.json())["task_id"])

        return list(await asyncio.gather(*(create(p) for p in prompts)))


async def _seed(url: str, place: tuple[int, int], task_ids: list[str], seed: str) -> None:
    guild_id, channel_id = place
    rng = random.Random(seed)
    db = await open_database(url)
    try:
        await migrate(db)
        repo = JobRepository(db)
        now = time.time()

        def target(user_id: int) -> DiscordTarget:
            return DiscordTarget(
                guild_id=guild_id, channel_id=channel_id, user_id=user_id, locale="en-US",
                application_id=None, interaction_id=None, interaction_token=None,
                interaction_created_at=None, upload_limit=10 * 1024 * 1024,
            )  # fmt: skip

        for i in range(HISTORY):  # what previous runs learned: log-normal, median 20 s
            job = await repo.create(target(users(1)[0]), JobParams(model=MODEL, prompt=f"h{i}"))
            submitted = now - 3600 + i * 10
            duration = 20.0 * math.exp(rng.gauss(0.0, 0.25))
            await repo.transition(
                job.id, JobState.PENDING, task_id=f"old-{i}", submitted_at=submitted
            )
            await repo.transition(
                job.id, JobState.SUCCEEDED, finished_at=submitted + duration, images_delivered=1
            )
        for user_id, task_id in zip(users(len(task_ids)), task_ids, strict=True):
            job = await repo.create(target(user_id), JobParams(model=MODEL, prompt=task_id))
            await repo.transition(
                job.id, JobState.PENDING, task_id=task_id, submitted_at=now - rng.uniform(20, 80)
            )
    finally:
        await db.close()


async def run(ctx: RunContext) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for prefix, server in engines():
        async with contextlib.AsyncExitStack() as stack:
            url = f"sqlite:///{ctx.workdir / 'b5.db'}"
            if server is not None:
                url = await stack.enter_async_context(fresh_postgres(server, "b5"))
            one = await run_engine(ctx, url, prefix.replace(".", "-"))
        metrics.update({prefix + key: value for key, value in one.items()})
    return metrics


async def run_engine(ctx: RunContext, db: str, tag: str) -> dict[str, float]:
    jobs = 20 if ctx.smoke else 1000
    async with GeekAIProcess.running(ctx.log_dir) as geekai:
        await geekai.set_default(pending_seconds=1.0, running_seconds=3600.0)  # never done
        prompts = [f"b5 {ctx.index} {i}" for i in range(jobs)]
        task_ids = await _create_tasks(geekai, prompts)
        discord = await start_discord(members=jobs)
        await _seed(db, (discord.guild_id, discord.channel_id), task_ids, f"b5-{ctx.index}")
        env = bot_env(discord, geekai, db, max_running_jobs=jobs, max_queued_jobs=jobs)
        spawned = time.monotonic()
        proc = await spawn(
            f"b5{tag}-bot", "bench.bot_proc", env=env, cwd=ctx.workdir, log_dir=ctx.log_dir
        )
        try:
            await discord.wait_ready(timeout=60)
            ready = time.monotonic()
            wanted = set(task_ids)
            first: dict[str, float] = {}
            deadline = ready + 60
            while len(first) < len(wanted) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                for row in await geekai.tasks():
                    if row["task_id"] in wanted and row["poll_times"]:
                        first[row["task_id"]] = row["poll_times"][0]
        finally:
            await proc.stop()
            await discord.close()
    after_ready = [max(0.0, at - ready) for at in first.values()]
    return {
        "resumed": float(len(first)),
        "not_resumed": float(jobs - len(first)),
        "ready_to_all_polled_s": max(after_ready, default=float("nan")),
        "ready_to_polled_p50_s": percentile(after_ready, 50),
        "start_to_ready_s": ready - spawned,
        "start_to_all_polled_s": max(first.values(), default=float("nan")) - spawned,
    }


SCENARIO = Scenario(
    name="B5",
    title="start-up with 1,000 unfinished jobs",
    run=run,
    checks=tuple(
        Check(prefix + metric, label + engine, limit, unit, optional=bool(prefix))
        for prefix, engine in (("", " (SQLite)"), ("pg.", " (PostgreSQL)"))
        for metric, label, limit, unit in (
            ("not_resumed", "jobs not polled again (of 1,000)", 0.0, ""),
            ("ready_to_all_polled_s", "READY → every job polled", 3.0, "s"),
        )
    ),
    shown=tuple(
        prefix + metric
        for prefix in ("", "pg.")
        for metric in ("ready_to_polled_p50_s", "start_to_ready_s", "start_to_all_polled_s")
    ),
)
