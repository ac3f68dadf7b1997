"""`python -m bot`, plus what only benchmarks need.

Run as `python -m bench.bot_proc` with the bot's usual environment. It calls the bot's own
`bot.__main__.main()` (same settings, logging, signals, composition root), and:

* `BENCH_LAG_FILE=path`: a probe task on the bot's event loop wakes every
  `BENCH_LAG_INTERVAL` seconds (default 0.05) and records how late it woke; at exit the
  samples are written to `path` as JSON `[[monotonic time, lateness], ...]`. Lateness is
  what any callback waiting on the loop suffered at that moment (event-loop lag). The
  probe costs ~20 wake-ups a second.
* `BENCH_POLL=fixed:SECONDS` or `backoff`: replaces the learned schedule book with a fixed
  schedule, for the reference runs of B2. Default (`learned`): the bot as shipped.
* `BENCH_PREVIEW=name,...`: applies fixes proposed for files outside bench/ (see
  bench/previews.py) to measure them before they land. Never set in the figures reported
  as the bot's own.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import bot.__main__ as bot_main
import bot.wiring
from bench import previews
from bot.jobs.polling.schedules import BackoffSchedule, FixedSchedule, PollSchedule, StaticSchedules
from bot.settings import Settings


async def _probe(samples: list[tuple[float, float]], interval: float) -> None:
    while True:
        expected = time.monotonic() + interval
        await asyncio.sleep(interval)
        now = time.monotonic()
        samples.append((now, max(0.0, now - expected)))


def _save(path: str, samples: list[tuple[float, float]]) -> None:
    Path(path).write_text(json.dumps(samples), encoding="utf-8")  # at exit: blocking is fine


def _with_probe(
    run: Callable[[Settings], Coroutine[Any, Any, int]], path: str, interval: float
) -> Callable[[Settings], Coroutine[Any, Any, int]]:
    async def run_probed(settings: Settings) -> int:
        samples: list[tuple[float, float]] = []
        probe = asyncio.create_task(_probe(samples, interval), name="loop-lag-probe")
        try:
            return await run(settings)
        finally:
            probe.cancel()
            _save(path, samples)

    return run_probed


def _fixed_schedules(schedule: PollSchedule) -> Callable[..., StaticSchedules]:
    def build(*args: object, **kwargs: object) -> StaticSchedules:
        return StaticSchedules(schedule)

    return build


def apply_poll(poll: str) -> None:
    """BENCH_POLL: `learned` (the bot as it is), `backoff` or `fixed:SECONDS` for every job.
    Patched where the services are built (bot.wiring looks ScheduleBook up at build time)."""
    if poll == "learned":
        return
    if poll.startswith("fixed:"):
        fixed: PollSchedule = FixedSchedule(float(poll.removeprefix("fixed:")))
    elif poll == "backoff":
        fixed = BackoffSchedule()
    else:
        raise SystemExit(f"BENCH_POLL must be learned, backoff or fixed:SECONDS: {poll!r}")
    bot.wiring.ScheduleBook = _fixed_schedules(fixed)  # type: ignore[attr-defined,assignment]


def main() -> int:
    previews.apply(os.environ.get("BENCH_PREVIEW", ""))
    apply_poll(os.environ.get("BENCH_POLL", "learned"))
    lag_file = os.environ.get("BENCH_LAG_FILE")
    if lag_file:
        interval = float(os.environ.get("BENCH_LAG_INTERVAL", "0.05"))
        bot_main._run = _with_probe(bot_main._run, lag_file, interval)  # type: ignore[assignment]
    return bot_main.main([])


if __name__ == "__main__":
    sys.exit(main())
