"""B6: a fleet of three bot processes on one PostgreSQL, 1,000 jobs in flight each, and a kill -9.

Needs a PostgreSQL server (IMAGINE_BENCH_POSTGRES_URL; each phase creates a fresh database
on it). Without one the scenario is reported as skipped, in full runs and in `--smoke`.

Two phases, on the same machine, server and fake GeekAI (60 s tasks returning ~1.5 MB PNGs,
as in B3):

1. **Baseline**: one bot process (one shard) with `JOBS` jobs in one server, 100 /imagine a
   second: its delivery lag p50 (task done → ✅ with the image) is the reference.
2. **Fleet**: three processes (SHARD_COUNT=3, SHARD_IDS=k), three servers, one per shard,
   `JOBS` members in each; the same 100 /imagine a second per server (300 a second in all),
   so every process sees the baseline's arrival rate. The caps are raised so that all
   3 × `JOBS` jobs run at once. 15 s before the first tasks finish (45 s after the first
   /imagine, once every /imagine was sent), the process of shard 2 gets SIGKILL; its
   unfinished jobs (the orphans) keep their leases until they expire (LEASE_SECONDS=30,
   the default), then a survivor takes them over and polls their tasks (or submits them,
   for jobs the victim had not submitted yet).

Measured: jobs delivered (every job created, orphans included; an /imagine the victim had
acknowledged but not yet turned into a job when it died has no row to resume and is
counted apart, `kill.lost_before_job`); tasks submitted twice and
results posted twice (0); the fleet's delivery lag p50 over the jobs that were never
orphaned, as a ratio to the baseline's; each process's peak RSS (VmHWM; the victim's read
just before the kill); and for each orphan, kill → its task's first status check at the
fake GeekAI after the kill, or its submission for one not submitted before (only a
survivor can make either), and kill → its `lease_owner`
changing in the database (sampled every 0.25 s). The kill lands before any task is done,
so the survivors' own deliveries (done ≈ 60–70 s) are over before the takeover (≈ 75 s).

`BENCH_B6_JOBS` (default 1000) sets the jobs per process, to measure a smaller scale.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import time
from collections.abc import Sequence
from typing import Any

from bench.common import (
    FIRST_USER,
    GeekAIProcess,
    Proc,
    bot_env,
    dispatch,
    failed,
    final_snapshot_at,
    fresh_postgres,
    percentile,
    postgres_server,
    spawn,
    start_discord,
    wait_commands,
    wait_delivered,
)
from bench.scenario import Check, RunContext, Scenario
from tests.fakes.discord_server import FakeDiscord, FakeInteraction

SHARDS = 3
VICTIM = 2
TERMINAL = ("succeeded", "failed", "cancelled")


def _lags(
    discord: FakeDiscord,
    sent: Sequence[tuple[FakeInteraction, str]],
    tasks: dict[str, dict[str, Any]],
) -> list[float]:
    lags = []
    for ix, prompt in sent:
        at, task = final_snapshot_at(discord, ix), tasks.get(prompt)
        if at is not None and task is not None and task["done_at"] is not None:
            lags.append(at - task["done_at"])
    return lags


def _stopped(proc: Proc) -> float:
    """Jobs this process stopped because its lease was no longer its own (from its log)."""
    with contextlib.suppress(OSError):
        return float(proc.log_path.read_text(errors="replace").count("no longer ours"))
    return math.nan


def _finals(discord: FakeDiscord, interactions: Sequence[FakeInteraction]) -> int:
    """✅ messages beyond one per job (a result posted twice)."""
    ours = {ix.channel_id for ix in interactions if ix.channel_id is not None}
    finals = [
        m for m in discord.messages.values() if m.channel_id in ours and m.content.startswith("✅")
    ]
    return max(0, len(finals) - len(interactions))


async def _baseline(
    ctx: RunContext, geekai: GeekAIProcess, url: str, jobs: int, rate: float, within: float
) -> dict[str, float]:
    discord = await start_discord(members=jobs)
    env = bot_env(discord, geekai, url, max_running_jobs=jobs, max_queued_jobs=jobs)
    proc = await spawn("b6-single", "bench.bot_proc", env=env, cwd=ctx.workdir, log_dir=ctx.log_dir)
    try:
        await wait_commands(discord)
        started = time.monotonic()
        sent = await dispatch(
            discord, [f"b6 single {ctx.index} {i}" for i in range(jobs)], rate=rate
        )
        delivered, failures = await wait_delivered(discord, sent.interactions, within=within)
        finished = time.monotonic()
        busy = proc.usage()
        tasks = {row["prompt"]: row for row in await geekai.tasks()}
        lags = _lags(discord, list(zip(sent.interactions, sent.prompts, strict=True)), tasks)
    finally:
        await proc.stop()
        await discord.close()
    return {
        "single.undelivered": float(jobs - delivered),
        "single.failed": float(failures),
        "single.delivery_lag_p50": percentile(lags, 50),
        "single.delivery_lag_p95": percentile(lags, 95),
        "single.peak_rss_mib": busy.peak_rss_mib,
        "single.wall_s": finished - started,
        "single.stopped_not_ours": _stopped(proc),
    }


async def _send_all(
    discord: FakeDiscord, guilds: list[int], jobs: int, rate: float, label: str
) -> list[tuple[int, FakeInteraction, str]]:
    """/imagine in every server, `rate` a second per server, each job from its own member."""
    out = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(jobs):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        for k, guild in enumerate(guilds):
            prompt = f"{label} g{k} {i}"
            option = {"name": "prompt", "type": 3, "value": prompt}
            ix = await discord.send_interaction(
                "imagine", [option], user_id=FIRST_USER + k * jobs + i, guild_id=guild
            )
            out.append((k, ix, prompt))
    return out


async def _wait_jobs(
    discord: FakeDiscord, interactions: Sequence[FakeInteraction], db: Any, within: float
) -> tuple[int, int]:
    """Until every job in the database shows ✅ with images or failed (an /imagine lost with
    the victim before it became a job never will): (delivered, failed)."""
    deadline = time.monotonic() + within
    while True:
        delivered = sum(1 for ix in interactions if final_snapshot_at(discord, ix) is not None)
        failures = sum(1 for ix in interactions if failed(discord, ix))
        created = int(await db.fetchval("SELECT COUNT(*) FROM jobs"))
        if delivered + failures >= created or time.monotonic() > deadline:
            return delivered, failures
        await asyncio.sleep(0.5)


async def _watch_takeover(
    url: str, orphans: list[int], victim_tag: str, seen: dict[int, float]
) -> None:
    """Until cancelled: when each orphan's lease_owner stops naming the victim."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        while len(seen) < len(orphans):
            rows = await conn.fetch(
                "SELECT id, lease_owner FROM jobs WHERE id = ANY($1::bigint[])", orphans
            )
            now = time.monotonic()
            for row in rows:
                owner = row["lease_owner"]
                if row["id"] not in seen and owner is not None and victim_tag not in owner:
                    seen[row["id"]] = now
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


def _save_timeline(
    ctx: RunContext,
    killed: tuple[float, float],
    orphans: dict[int, str],
    taken: dict[int, float],
    tasks: list[dict[str, Any]],
) -> None:
    """Each orphan's story in seconds after the kill (task created and done, lease taken
    over, status checks), to `b6-orphans.json` beside the logs: what a slow resume is made of.
    `killed`: the kill's time.monotonic() and time.time() (the logs' clock)."""
    killed_at, killed_wall = killed

    def since(at: float | None) -> float | None:
        return None if at is None else round(at - killed_at, 3)

    by_prompt: dict[str, list[dict[str, Any]]] = {}
    for row in tasks:
        by_prompt.setdefault(row["prompt"], []).append(row)
    timeline = [
        {
            "job_id": job_id,
            "taken_over": since(taken.get(job_id)),
            "tasks": [
                {
                    "created": since(row["created_at"]),
                    "done": since(row["done_at"]),
                    "polls": [since(t) for t in row["poll_times"]],
                }
                for row in by_prompt.get(prompt, [])
            ],
        }
        for job_id, prompt in sorted(orphans.items())
    ]
    out = {"killed_at_unix": killed_wall, "orphans": timeline}
    (ctx.log_dir / "b6-orphans.json").write_text(json.dumps(out), encoding="utf-8")


async def _fleet(
    ctx: RunContext,
    geekai: GeekAIProcess,
    url: str,
    jobs: int,
    rate: float,
    generation: float,
    lease: float,
    within: float,
) -> dict[str, float]:
    import asyncpg

    total = SHARDS * jobs
    discord = FakeDiscord(shards=SHARDS)
    guilds = [discord.guild_id] + [discord.add_guild(shard=(k, SHARDS)) for k in (1, 2)]
    for k, guild in enumerate(guilds):
        for i in range(jobs):
            user = FIRST_USER + k * jobs + i
            discord.add_member(user, guild_id=guild, username=f"bench{user}")
    await discord.start()
    procs: list[Proc] = []
    db = None
    watcher: asyncio.Task[None] | None = None
    try:
        for k in range(SHARDS):
            env = bot_env(
                discord, geekai, url,
                shard_count=SHARDS, shard_ids=k, lease_seconds=lease,
                max_running_jobs=total, max_queued_jobs=total,
                max_running_per_guild=jobs, max_queued_per_guild=jobs,
            )  # fmt: skip
            procs.append(
                await spawn(
                    f"b6-fleet-{k}",
                    "bench.bot_proc",
                    env=env,
                    cwd=ctx.workdir,
                    log_dir=ctx.log_dir,
                )
            )
        await discord.wait_ready(timeout=90, shard_count=SHARDS)
        await discord.wait_for(lambda: bool(discord.registered_commands), timeout=60)
        db = await asyncpg.connect(url)
        started = time.monotonic()
        sent = await _send_all(discord, guilds, jobs, rate, f"b6 fleet {ctx.index}")
        interactions = [ix for _, ix, _ in sent]
        # Kill mid-run, 15 s before the first tasks finish (smoke: once every task is
        # submitted). A job the victim had not submitted yet resumes with its submission.
        kill_at = started + generation - 15.0
        deadline = time.monotonic() + within
        while ctx.smoke and time.monotonic() < deadline:
            unsubmitted = await db.fetchval(
                "SELECT COUNT(*) FROM jobs WHERE task_id IS NULL AND state <> ALL($1::text[])",
                list(TERMINAL),
            )
            if await db.fetchval("SELECT COUNT(*) FROM jobs") >= total and not unsubmitted:
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(max(0.0, kill_at - time.monotonic()))
        victim = procs[VICTIM]
        victim_rss = victim.usage().peak_rss_mib
        victim.process.send_signal(signal.SIGKILL)
        await victim.process.wait()
        killed_at, killed_wall = time.monotonic(), time.time()
        victim_tag = f":{victim.pid}:"
        rows = await db.fetch(
            "SELECT id, prompt, task_id FROM jobs WHERE state <> ALL($1::text[])"
            " AND lease_owner LIKE $2",
            list(TERMINAL), f"%{victim_tag}%",
        )  # fmt: skip
        orphans = {int(r["id"]): str(r["prompt"]) for r in rows}
        orphan_prompts = set(orphans.values())
        taken: dict[int, float] = {}
        watcher = asyncio.create_task(_watch_takeover(url, list(orphans), victim_tag, taken))
        delivered, failures = await _wait_jobs(discord, interactions, db, within)
        finished = time.monotonic()
        peaks = [victim_rss] + [p.usage().peak_rss_mib for i, p in enumerate(procs) if i != VICTIM]
        await asyncio.sleep(0.5)  # the last takeovers' samples
        tasks_list = await geekai.tasks()
        tasks = {row["prompt"]: row for row in tasks_list}  # the last task of each prompt
        ours = {p for _, _, p in sent}
        submits = sum(1 for row in tasks_list if row["prompt"] in ours)
        # An orphan resumes when a survivor checks its task or, if the victim had not
        # submitted it, submits it (only survivors act after the kill).
        first_after: dict[str, float] = {}
        for row in tasks_list:
            if row["prompt"] not in orphan_prompts:
                continue
            times = [t for t in row["poll_times"] if t > killed_at]
            if row["created_at"] > killed_at:
                times.append(row["created_at"])
            if times:
                best = first_after.get(row["prompt"], math.inf)
                first_after[row["prompt"]] = min(best, *times)
        resumed = [at - killed_at for at in first_after.values()]
        kept = [(ix, p) for _, ix, p in sent if p not in orphan_prompts]
        orphaned = [(ix, p) for _, ix, p in sent if p in orphan_prompts]
        lags, orphan_lags = _lags(discord, kept, tasks), _lags(discord, orphaned, tasks)
        takeovers = [at - killed_at for at in taken.values()]
        _save_timeline(ctx, (killed_at, killed_wall), orphans, taken, tasks_list)
        duplicate_finals = _finals(discord, interactions)
        created = int(await db.fetchval("SELECT COUNT(*) FROM jobs"))
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        if db is not None:
            await db.close()
        for proc in procs:
            await proc.stop()
        await discord.close()
    return {
        "fleet.jobs": float(total),
        # /imagine the victim had acknowledged but not yet made a job of when it died: no
        # row, so nothing can resume them (the member sees "thinking…" until it expires).
        "kill.lost_before_job": float(total - created),
        "fleet.undelivered": float(created - delivered),
        "fleet.failed": float(failures),
        "fleet.duplicate_submits": float(max(0, submits - total)),
        "fleet.duplicate_results": float(duplicate_finals),
        "fleet.delivery_lag_p50": percentile(lags, 50),
        "fleet.delivery_lag_p95": percentile(lags, 95),
        "fleet.peak_rss_max_mib": max(peaks),
        **{f"fleet.peak_rss_{k}_mib": peak for k, peak in zip((VICTIM, 0, 1), peaks, strict=True)},
        "fleet.wall_s": finished - started,
        "fleet.stopped_not_ours": sum(_stopped(p) for p in procs),
        "kill.at_s": killed_at - started,
        "kill.orphans": float(len(orphans)),
        "kill.not_resumed": float(len(orphans) - len(resumed)),
        "kill.resume_p50_s": percentile(resumed, 50),
        "kill.resume_max_s": max(resumed, default=math.nan),
        "kill.takeover_max_s": max(takeovers, default=math.nan),
        "kill.orphan_lag_p50": percentile(orphan_lags, 50),
        "lease_seconds": lease,
    }


async def run(ctx: RunContext) -> dict[str, float]:
    server = postgres_server()
    if server is None:
        return {"skipped": 1.0}
    jobs = 10 if ctx.smoke else int(os.environ.get("BENCH_B6_JOBS", "1000"))
    generation, rate = (6.0, 40.0) if ctx.smoke else (60.0, 100.0)
    lease = 3.0 if ctx.smoke else 30.0
    within = generation + 2 * lease + 300
    async with GeekAIProcess.running(ctx.log_dir, realistic_png=not ctx.smoke) as geekai:
        await geekai.set_default(pending_seconds=1.0, running_seconds=generation - 1.0)
        async with fresh_postgres(server, "b6_single") as url:
            metrics = await _baseline(ctx, geekai, url, jobs, rate, within)
        async with fresh_postgres(server, "b6_fleet") as url:
            metrics |= await _fleet(ctx, geekai, url, jobs, rate, generation, lease, within)
    metrics["jobs_per_process"] = float(jobs)
    metrics["lag_ratio"] = metrics["fleet.delivery_lag_p50"] / metrics["single.delivery_lag_p50"]
    return metrics


SCENARIO = Scenario(
    name="B6",
    title="a fleet: 3 processes × 1,000 jobs on one PostgreSQL, one killed with SIGKILL",
    run=run,
    checks=(
        Check("fleet.undelivered", "jobs not delivered (of those created)", 0.0, ""),
        Check("fleet.duplicate_submits", "tasks submitted twice", 0.0, ""),
        Check("fleet.duplicate_results", "results posted twice", 0.0, ""),
        Check("lag_ratio", "delivery lag p50, fleet / single process (same run)", 1.2, "×"),
        Check("fleet.peak_rss_max_mib", "peak RSS, largest of the 3 processes", 150.0, "MiB"),
        Check("kill.not_resumed", "orphans never polled again", 0.0, ""),
        Check("kill.resume_max_s", "kill → every orphan polled by a survivor", 35.0, "s"),
    ),
    shown=(
        "jobs_per_process", "single.delivery_lag_p50", "fleet.delivery_lag_p50",
        "fleet.delivery_lag_p95", "single.peak_rss_mib", "fleet.peak_rss_0_mib",
        "fleet.peak_rss_1_mib", "fleet.peak_rss_2_mib", "kill.at_s", "kill.lost_before_job",
        "kill.orphans",
        "kill.resume_p50_s", "kill.takeover_max_s", "kill.orphan_lag_p50",
        "lease_seconds", "fleet.wall_s", "single.wall_s", "single.stopped_not_ours",
        "fleet.stopped_not_ours",
    ),
)  # fmt: skip
