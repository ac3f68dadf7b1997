"""B1: 200 /imagine interactions dispatched within 1 s; how soon is each acknowledged?

Ack latency = the fake Discord dispatching INTERACTION_CREATE → the bot's defer callback
arriving (both stamped by the fake). The floor is `bench.floor_bot`, a discord.py bot whose
/imagine only defers, run the same way against a fresh fake in the same run; the two go in
alternating order from run to run so neither always gets the warmer machine.
"""

from __future__ import annotations

import asyncio
import time

from bench.common import (
    GeekAIProcess,
    bot_env,
    dispatch,
    percentile,
    spawn,
    start_discord,
    wait_commands,
)
from bench.scenario import Check, RunContext, Scenario


async def _measure(ctx: RunContext, geekai: GeekAIProcess, variant: str) -> dict[str, float]:
    count = 10 if ctx.smoke else 200
    warmup = 3 if ctx.smoke else 10
    discord = await start_discord(members=count + warmup)
    env = bot_env(
        discord, geekai, ctx.workdir / f"b1-{variant}.db",
        max_running_jobs=count + warmup, max_queued_jobs=count + warmup,
    )  # fmt: skip
    module = "bench.floor_bot" if variant == "floor" else "bench.bot_proc"
    proc = await spawn(f"b1-{variant}", module, env=env, cwd=ctx.workdir, log_dir=ctx.log_dir)
    try:
        await wait_commands(discord)
        # First interactions pay for lazy imports and connection set-up; not measured.
        warm = await dispatch(
            discord, [f"b1 warm {i}" for i in range(warmup)], rate=10, first_user=count
        )
        await asyncio.gather(*(ix.wait_response(timeout=10) for ix in warm.interactions))
        await asyncio.sleep(0.2 if ctx.smoke else 1.0)
        started = time.monotonic()
        sent = await dispatch(discord, [f"b1 {variant} {i}" for i in range(count)], rate=count)
        spread = time.monotonic() - started
        await asyncio.gather(
            *(ix.wait_response(timeout=15) for ix in sent.interactions), return_exceptions=True
        )
        latencies = [
            ix.responded_at - ix.created_at
            for ix in sent.interactions
            if ix.responded_at is not None
        ]
    finally:
        await proc.stop()
        await discord.close()
    return {
        f"{variant}.ack_p50_ms": percentile(latencies, 50) * 1000,
        f"{variant}.ack_p99_ms": percentile(latencies, 99) * 1000,
        f"{variant}.ack_max_ms": max(latencies, default=float("nan")) * 1000,
        f"{variant}.unanswered": float(count - len(latencies)),
        f"{variant}.dispatch_s": spread,
    }


async def run(ctx: RunContext) -> dict[str, float]:
    metrics: dict[str, float] = {}
    order = ["floor", "bot"] if ctx.index % 2 == 0 else ["bot", "floor"]
    async with GeekAIProcess.running(ctx.log_dir) as geekai:
        await geekai.set_default(pending_seconds=1.0, running_seconds=30.0)
        for variant in order:
            metrics.update(await _measure(ctx, geekai, variant))
    metrics["ack_p99_ratio"] = metrics["bot.ack_p99_ms"] / metrics["floor.ack_p99_ms"]
    metrics["unanswered"] = metrics["bot.unanswered"]
    return metrics


SCENARIO = Scenario(
    name="B1",
    title="200 /imagine dispatched within 1 s: ack latency",
    run=run,
    checks=(
        Check("ack_p99_ratio", "ack p99, bot / floor bot", 2.0, "×"),
        Check("bot.ack_max_ms", "slowest ack (3 s is Discord's limit)", 2500.0, "ms"),
        Check("unanswered", "interactions never acknowledged", 0.0, ""),
    ),
    shown=("bot.ack_p50_ms", "bot.ack_p99_ms", "floor.ack_p50_ms", "floor.ack_p99_ms",
           "bot.dispatch_s"),
)  # fmt: skip
