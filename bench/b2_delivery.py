"""B2: how long after GeekAI finishes does the user see the image, and at what polling cost?

Generation times are log-normal (median 20 s, σ(log) 0.25), seeded per run, and the same
for every variant of a run. Each variant is a fresh bot process and database: a warm-up of
30 jobs (history to learn from), then 100 measured jobs arriving 2 per second, each from its
own member, each a ~1.5 MB 1024² PNG.

Delivery lag = the task turning `succeed` at the fake GeekAI → the final message with the
image arriving at the fake Discord. Split into detection (→ the status check that saw it)
and delivery (→ the upload). Status requests per job = checks the fake GeekAI received.

Variants: the bot as shipped (learned schedule); the same bot with fixed polling every 1 s
and every 3 s; and a synchronous call (`async: false`, the zero-lag floor: the answer
arrives as the task ends, but nothing survives a restart).
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
from typing import Any

import aiohttp

from bench.common import (
    GeekAIProcess,
    bot_env,
    dispatch,
    final_snapshot_at,
    percentile,
    spawn,
    start_discord,
    wait_commands,
    wait_delivered,
)
from bench.scenario import Check, RunContext, Scenario

VARIANTS = {"learned": "learned", "fixed1": "fixed:1.0", "fixed3": "fixed:3.0"}


def _durations(ctx: RunContext, count: int) -> list[float]:
    rng = random.Random(f"b2-{ctx.index}")
    median = 1.0 if ctx.smoke else 20.0
    return [median * math.exp(rng.gauss(0.0, 0.25)) for _ in range(count)]


def _outcomes(durations: list[float]) -> list[dict[str, float]]:
    # A short queue wait (pending), then the generation itself (running).
    return [
        {"pending_seconds": min(1.0, 0.1 * d), "running_seconds": d - min(1.0, 0.1 * d)}
        for d in durations
    ]


def _sizes(ctx: RunContext) -> tuple[int, int, float, float]:
    """(warm-up jobs, measured jobs, warm-up rate, measured rate per second)."""
    return (2, 4, 10.0, 10.0) if ctx.smoke else (30, 100, 3.0, 2.0)


async def _bot_variant(
    ctx: RunContext, geekai: GeekAIProcess, name: str, durations: list[float]
) -> dict[str, float]:
    warm, measured, warm_rate, rate = _sizes(ctx)
    await geekai.script(_outcomes(durations))
    discord = await start_discord(members=warm + measured)
    env = bot_env(
        discord, geekai, ctx.workdir / f"b2-{name}.db",
        max_running_jobs=warm + measured, max_queued_jobs=warm + measured,
        bench_poll=VARIANTS[name],
    )  # fmt: skip
    proc = await spawn(
        f"b2-{name}", "bench.bot_proc", env=env, cwd=ctx.workdir, log_dir=ctx.log_dir
    )
    patience = max(durations) * 2 + 60
    try:
        await wait_commands(discord)
        first = await dispatch(
            discord, [f"b2 {name} warm {i}" for i in range(warm)], rate=warm_rate
        )
        await wait_delivered(discord, first.interactions, within=patience)
        prompts = [f"b2 {name} {i}" for i in range(measured)]
        sent = await dispatch(discord, prompts, rate=rate, first_user=warm)
        delivered, failures = await wait_delivered(discord, sent.interactions, within=patience)
        tasks = {row["prompt"]: row for row in await geekai.tasks()}
        delivered_at = [final_snapshot_at(discord, ix) for ix in sent.interactions]
    finally:
        await proc.stop()
        await discord.close()
    lags, detect, deliver, polls = [], [], [], []
    for prompt, at in zip(prompts, delivered_at, strict=True):
        task = tasks.get(prompt)
        if task is None or at is None or task["done_at"] is None:
            continue
        done = task["done_at"]
        seen = min((t for t in task["poll_times"] if t >= done), default=at)
        lags.append(at - done)
        detect.append(seen - done)
        deliver.append(at - seen)
        polls.append(task["polls"])
    return {
        f"{name}.lag_p50": percentile(lags, 50),
        f"{name}.lag_p95": percentile(lags, 95),
        f"{name}.lag_max": max(lags, default=math.nan),
        f"{name}.detect_p50": percentile(detect, 50),
        f"{name}.deliver_p50": percentile(deliver, 50),
        f"{name}.deliver_p95": percentile(deliver, 95),
        f"{name}.polls_per_job": statistics.fmean(polls) if polls else math.nan,
        f"{name}.undelivered": float(measured - delivered),
        f"{name}.failed": float(failures),
    }


async def _sync_variant(
    ctx: RunContext, geekai: GeekAIProcess, durations: list[float]
) -> dict[str, float]:
    """The same jobs as synchronous calls: the answer comes when the task ends."""
    _, measured, _, rate = _sizes(ctx)
    await geekai.script(_outcomes(durations[-measured:]))
    received: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {geekai.api_key}"}
    timeout = aiohttp.ClientTimeout(total=max(durations) * 2 + 60)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:

        async def call(prompt: str, delay: float) -> None:
            await asyncio.sleep(delay)
            body: dict[str, Any] = {"model": "gpt-image-1", "prompt": prompt, "async": False}
            async with http.post(geekai.base_url + "/images/generations", json=body) as resp:
                await resp.read()
                received[prompt] = time.monotonic()

        prompts = [f"b2 sync {i}" for i in range(measured)]
        await asyncio.gather(*(call(p, i / rate) for i, p in enumerate(prompts)))
    tasks = {row["prompt"]: row for row in await geekai.tasks()}
    lags = [received[p] - tasks[p]["done_at"] for p in prompts if p in received and p in tasks]
    return {"sync.lag_p50": percentile(lags, 50), "sync.lag_p95": percentile(lags, 95)}


async def run(ctx: RunContext) -> dict[str, float]:
    warm, measured, _, _ = _sizes(ctx)
    durations = _durations(ctx, warm + measured)
    metrics: dict[str, float] = {}
    names = list(VARIANTS)
    names = names[ctx.index % len(names) :] + names[: ctx.index % len(names)]  # rotate order
    if ctx.smoke:  # the references run the same code with another BENCH_POLL
        names = ["learned"]
    async with GeekAIProcess.running(ctx.log_dir, realistic_png=not ctx.smoke) as geekai:
        for name in names:
            metrics.update(await _bot_variant(ctx, geekai, name, durations))
        metrics.update(await _sync_variant(ctx, geekai, durations))
    metrics["generation_p50"] = percentile(durations[-measured:], 50)
    return metrics


SCENARIO = Scenario(
    name="B2",
    title="delivery lag after GeekAI finishes (log-normal 20 s), learned polling",
    run=run,
    checks=(
        Check("learned.lag_p50", "delivery lag p50", 0.6, "s"),
        Check("learned.lag_p95", "delivery lag p95", 1.5, "s"),
        Check("learned.polls_per_job", "status requests per job", 10.0, ""),
        Check("learned.undelivered", "jobs not delivered", 0.0, ""),
    ),
    shown=(
        "learned.detect_p50", "learned.deliver_p50", "learned.deliver_p95",
        "fixed1.lag_p50", "fixed1.lag_p95", "fixed1.polls_per_job",
        "fixed3.lag_p50", "fixed3.lag_p95", "fixed3.polls_per_job",
        "sync.lag_p50", "sync.lag_p95",
    ),
)  # fmt: skip
