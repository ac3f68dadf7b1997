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
    quiet_gc,
    read_lag,
    spawn,
    start_discord,
    wait_commands,
)
from bench.scenario import Check, RunContext, Scenario

# Each run sends 3 bursts of 200: the p99 of 200 samples of ~2 ms is mostly one stray stall
# of the machine; 600 per run and the median of runs make the ratio stable. Tasks take 1 s
# and bursts are 6 s apart, so each burst meets a bot done with the previous one.
BURSTS = 3
PAUSE = 6.0


async def _measure(ctx: RunContext, geekai: GeekAIProcess, variant: str) -> dict[str, float]:
    count, bursts, warmup = (10, 1, 3) if ctx.smoke else (200, BURSTS, 10)
    members = count * bursts + warmup
    discord = await start_discord(members=members)
    lag_file = ctx.workdir / f"b1-{variant}-loop-lag.json"
    env = bot_env(
        discord, geekai, ctx.workdir / f"b1-{variant}.db",
        max_running_jobs=members, max_queued_jobs=members, bench_lag_file=lag_file,
    )  # fmt: skip
    module = "bench.floor_bot" if variant == "floor" else "bench.bot_proc"
    proc = await spawn(f"b1-{variant}", module, env=env, cwd=ctx.workdir, log_dir=ctx.log_dir)
    try:
        await wait_commands(discord)
        # First interactions pay for lazy imports and connection set-up; not measured.
        warm = await dispatch(
            discord, [f"b1 warm {i}" for i in range(warmup)], rate=10, first_user=count * bursts
        )
        await asyncio.gather(*(ix.wait_response(timeout=10) for ix in warm.interactions))
        latencies: list[float] = []
        spreads: list[float] = []
        windows: list[tuple[float, float]] = []
        for burst in range(bursts):
            await asyncio.sleep(0.2 if ctx.smoke else PAUSE)
            prompts = [f"b1 {variant} {burst} {i}" for i in range(count)]
            with quiet_gc():  # the fake Discord stamps both ends: keep its own pauses out
                started = time.monotonic()
                sent = await dispatch(discord, prompts, rate=count, first_user=burst * count)
                spreads.append(time.monotonic() - started)
                await asyncio.gather(
                    *(ix.wait_response(timeout=15) for ix in sent.interactions),
                    return_exceptions=True,
                )
                windows.append((started, time.monotonic()))
            latencies += [
                ix.responded_at - ix.created_at
                for ix in sent.interactions
                if ix.responded_at is not None
            ]
        await asyncio.sleep(0.2 if ctx.smoke else 2.0)  # let the last jobs get going
    finally:
        await proc.stop()
        await discord.close()
    loop_lag = [lag for start, end in windows for lag in read_lag(lag_file, start, end)]
    return {
        f"{variant}.loop_lag_p99_ms": percentile(loop_lag, 99) * 1000,
        f"{variant}.ack_p50_ms": percentile(latencies, 50) * 1000,
        f"{variant}.ack_p99_ms": percentile(latencies, 99) * 1000,
        f"{variant}.ack_max_ms": max(latencies, default=float("nan")) * 1000,
        f"{variant}.unanswered": float(count * bursts - len(latencies)),
        f"{variant}.dispatch_s": max(spreads),
    }


async def run(ctx: RunContext) -> dict[str, float]:
    metrics: dict[str, float] = {}
    order = ["floor", "bot"] if ctx.index % 2 == 0 else ["bot", "floor"]
    async with GeekAIProcess.running(ctx.log_dir) as geekai:
        await geekai.set_default(pending_seconds=0.2, running_seconds=0.8)
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
           "bot.loop_lag_p99_ms", "bot.dispatch_s"),
)  # fmt: skip
