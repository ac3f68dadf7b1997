"""B3: 1,000 jobs in flight at once on a small machine.

1,000 members each run /imagine (100 a second), every task takes 60 s and returns a ~1.5 MB
1024² PNG. The bot starts with an empty database (no history: the default backoff polls).
Measured on the bot process only: peak RSS (VmHWM), CPU (utime + stime, all threads) from
the first interaction to the last delivery, divided by the jobs, and event-loop lag from
`bench.bot_proc`'s probe over the same window.

Runs on SQLite, then (when IMAGINE_BENCH_POSTGRES_URL names a server) again on a fresh
PostgreSQL database of that server: the same figures, prefixed `pg.`, the same targets.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path

from bench.common import (
    GeekAIProcess,
    bot_env,
    dispatch,
    engines,
    final_snapshot_at,
    fresh_postgres,
    percentile,
    read_lag,
    spawn,
    start_discord,
    wait_commands,
    wait_delivered,
)
from bench.scenario import Check, RunContext, Scenario


async def run(ctx: RunContext) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for prefix, server in engines():
        async with contextlib.AsyncExitStack() as stack:
            db: Path | str = ctx.workdir / "b3.db"
            if server is not None:
                db = await stack.enter_async_context(fresh_postgres(server, "b3"))
            one = await run_engine(ctx, db, prefix.replace(".", "-"))
        metrics.update({prefix + key: value for key, value in one.items()})
    return metrics


async def run_engine(ctx: RunContext, db: Path | str, tag: str) -> dict[str, float]:
    jobs, generation, rate = (20, 1.5, 40.0) if ctx.smoke else (1000, 60.0, 100.0)
    lag_file = ctx.workdir / f"b3{tag}-loop-lag.json"
    async with GeekAIProcess.running(ctx.log_dir, realistic_png=not ctx.smoke) as geekai:
        await geekai.set_default(pending_seconds=1.0, running_seconds=generation - 1.0)
        discord = await start_discord(members=jobs)
        env = bot_env(
            discord, geekai, db,
            max_running_jobs=jobs, max_queued_jobs=jobs, bench_lag_file=lag_file,
        )  # fmt: skip
        proc = await spawn(
            f"b3{tag}-bot", "bench.bot_proc", env=env, cwd=ctx.workdir, log_dir=ctx.log_dir
        )
        try:
            await wait_commands(discord)
            idle = proc.usage()
            driver_before, geekai_before = os.times(), await geekai.cpu_seconds()
            started = time.monotonic()
            sent = await dispatch(discord, [f"b3 {i}" for i in range(jobs)], rate=rate)
            delivered, failures = await wait_delivered(
                discord, sent.interactions, within=generation + 300
            )
            finished = time.monotonic()
            busy = proc.usage()
            driver_after, geekai_after = os.times(), await geekai.cpu_seconds()
            tasks = {row["prompt"]: row for row in await geekai.tasks()}
            lags = []
            for ix, prompt in zip(sent.interactions, sent.prompts, strict=True):
                at, task = final_snapshot_at(discord, ix), tasks.get(prompt)
                if at is not None and task is not None and task["done_at"] is not None:
                    lags.append(at - task["done_at"])
            polls = [tasks[p]["polls"] for p in sent.prompts if p in tasks]
        finally:
            await proc.stop()
            await discord.close()
    loop_lag = read_lag(lag_file, started, finished)
    return {
        "delivered": float(delivered),
        "undelivered": float(jobs - delivered),
        "failed": float(failures),
        "peak_rss_mib": busy.peak_rss_mib,
        "idle_rss_mib": idle.rss_mib,
        "cpu_ms_per_job": (busy.cpu_seconds - idle.cpu_seconds) / jobs * 1000,
        "loop_lag_p50_ms": percentile(loop_lag, 50) * 1000,
        "loop_lag_p99_ms": percentile(loop_lag, 99) * 1000,
        "loop_lag_max_ms": max(loop_lag, default=math.nan) * 1000,
        "delivery_lag_p50": percentile(lags, 50),
        "delivery_lag_p95": percentile(lags, 95),
        "polls_per_job": sum(polls) / len(polls) if polls else math.nan,
        "wall_s": finished - started,
        "fake_discord_cpu_s": (driver_after.user + driver_after.system)
        - (driver_before.user + driver_before.system),
        "fake_geekai_cpu_s": geekai_after - geekai_before,
    }


SCENARIO = Scenario(
    name="B3",
    title="1,000 jobs in flight, 60 s generation, ~1.5 MB PNGs",
    run=run,
    checks=tuple(
        Check(prefix + metric, label + engine, limit, unit, optional=bool(prefix))
        for prefix, engine in (("", " (SQLite)"), ("pg.", " (PostgreSQL)"))
        for metric, label, limit, unit in (
            ("undelivered", "jobs not delivered (of 1,000)", 0.0, ""),
            ("peak_rss_mib", "bot peak RSS", 300.0, "MiB"),
            ("loop_lag_p99_ms", "event-loop lag p99", 100.0, "ms"),
            ("cpu_ms_per_job", "bot CPU per job", 25.0, "ms"),
        )
    ),
    shown=tuple(
        prefix + metric
        for prefix in ("", "pg.")
        for metric in (
            "idle_rss_mib", "loop_lag_p50_ms", "loop_lag_max_ms", "delivery_lag_p50",
            "delivery_lag_p95", "polls_per_job", "wall_s", "fake_discord_cpu_s",
            "fake_geekai_cpu_s",
        )
    ),
)  # fmt: skip
