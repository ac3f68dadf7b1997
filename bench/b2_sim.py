"""B2 offline: the delivery-lag scenario replayed on a simulated clock, in a fraction of a second.

`python -m bench.b2_sim [SEED ...]` prints status requests per job and the delivery lag of
the measured jobs, per seed (seed N draws the durations of `bench.run`'s run N).

What is real: the `ScheduleBook` (with its default `PollPlanner`) and every decision of the
runner's poll loop (`bot.jobs.polling.schedules.JobPolls`: when to check next, what a
result teaches; with `RunnerConfig`'s `min_check_gap`), driven by a copy of
`JobRunner._poll`'s loop. What is modelled: everything around them, on an event loop whose
clock jumps from one timer to the next (no real sleeping), so a run is deterministic:

* as in `bench/b2_delivery.py`: a fresh bot (no history), a warm-up of 30 jobs arriving
  3 per second, a wait (looking every 0.2 s) until all are delivered, then 100 measured
  jobs arriving 2 per second; durations log-normal, median 20 s, σ(log) 0.25;
* an interaction becomes a task after `submit_latency`; the bot's `submitted_at` is
  `start_offset` later than the task's creation at GeekAI;
* a status request reaches GeekAI after `request_latency`, and its answer comes back as
  long after; a wake-up is late by an exponential amount (mean `wake_jitter`); posting the
  image takes `delivery`; a plan computed "in a worker thread" is ready `plan_latency`
  after it was asked for.

Delivery lag = task done → image posted; requests per job counts every status check of
the task, the one that sees `succeed` included (what the fake GeekAI counts).

Calibration: at commit e313a16 (before learning in submit order) seeds 0-2 gave 10.71,
9.66 and 9.60 requests per job, lag p50 0.46 / 0.58 / 0.49 s and p95 1.15 / 1.20 / 1.27 s;
the real runs of bench/results/latest.json (same seeds, nearly the same code) measured
10.71, 9.67 and 9.64, p50 0.44 / 0.59 / 0.52 s and p95 1.14 / 1.21 / 1.23 s.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import sys
from asyncio import base_events
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.jobs.polling.book import ScheduleBook
from bot.jobs.polling.schedules import JobPolls, ScheduleProvider
from bot.jobs.runner import RunnerConfig

T = TypeVar("T")
MODEL = "gpt-image-1"

Clock = Callable[[], float]


def _no_history_book(clock: Clock) -> ScheduleProvider:
    async def history(model: str, limit: int) -> list[float]:
        return []  # a fresh database

    return ScheduleBook(history, clock=clock)


@dataclass(frozen=True)
class B2Config:
    seed: int = 0
    warm: int = 30
    measured: int = 100
    warm_rate: float = 3.0  # jobs per second
    rate: float = 2.0
    median: float = 20.0
    sigma: float = 0.25
    submit_latency: float = 0.03
    start_offset: float = 0.005
    request_latency: float = 0.0015
    wake_jitter: float = 0.002
    delivery: float = 0.012
    plan_latency: float = 0.02
    settle_poll: float = 0.2  # how often the benchmark looks whether the warm-up is done
    min_check_gap: float = RunnerConfig.min_check_gap
    job_timeout: float = 600.0
    schedules: Callable[[Clock], ScheduleProvider] = _no_history_book


@dataclass(frozen=True)
class JobOutcome:
    duration: float
    polls: int
    detect: float  # task done → the status check that saw it (at GeekAI)
    lag: float  # task done → image posted
    check_times: tuple[float, ...]  # seconds after the task's creation


@dataclass
class B2Result:
    config: B2Config
    warm: list[JobOutcome] = field(default_factory=list)
    measured: list[JobOutcome] = field(default_factory=list)

    @property
    def polls_per_job(self) -> float:
        return statistics.fmean(j.polls for j in self.measured)

    @property
    def lag_p50(self) -> float:
        return _percentile([j.lag for j in self.measured], 50)

    @property
    def lag_p95(self) -> float:
        return _percentile([j.lag for j in self.measured], 95)

    def describe(self) -> str:
        return (
            f"seed {self.config.seed}: {self.polls_per_job:.2f} requests/job, lag p50"
            f" {self.lag_p50:.3f} s / p95 {self.lag_p95:.3f} s"
            f" (warm-up {statistics.fmean(j.polls for j in self.warm):.2f} requests/job)"
        )


def _percentile(values: list[float], q: float) -> float:
    """Linear-interpolated, as bench.common.percentile."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def durations(seed: int, count: int, median: float = 20.0, sigma: float = 0.25) -> list[float]:
    """The durations `bench/b2_delivery.py` draws for run `seed`."""
    rng = random.Random(f"b2-{seed}")
    return [median * math.exp(rng.gauss(0.0, sigma)) for _ in range(count)]


class _JumpingSelector:
    """Instead of waiting for I/O (there is none), moves the loop's clock to the next timer."""

    def __init__(self, loop: SimulatedLoop) -> None:
        self._loop = loop

    def select(self, timeout: float | None) -> list[Any]:
        if timeout is None:
            raise RuntimeError("simulation stalled: nothing is scheduled")
        self._loop.now += timeout
        return []

    def close(self) -> None:
        pass


class SimulatedLoop(base_events.BaseEventLoop):
    """An event loop on simulated time. Work sent to an executor (`asyncio.to_thread`) runs
    at once, and its result arrives `executor_latency` simulated seconds later."""

    def __init__(self, executor_latency: float = 0.0) -> None:
        super().__init__()
        self.now = 0.0
        self.executor_latency = executor_latency
        self._selector = _JumpingSelector(self)

    def time(self) -> float:
        return self.now

    def _process_events(self, event_list: list[Any]) -> None:
        pass

    def _write_to_self(self) -> None:
        pass

    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        future: asyncio.Future[T] = self.create_future()
        try:
            result = func(*args)
        except Exception as exc:
            self.call_later(self.executor_latency, future.set_exception, exc)
        else:
            self.call_later(self.executor_latency, future.set_result, result)
        return future


class _Scenario:
    def __init__(self, config: B2Config, loop: SimulatedLoop) -> None:
        self.config = config
        self.loop = loop
        self.rng = random.Random(f"b2-sim-{config.seed}")
        self.book = config.schedules(loop.time)

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep as it behaves on a busy machine: never early, sometimes late."""
        late = self.rng.expovariate(1.0 / self.config.wake_jitter) if self.config.wake_jitter else 0
        await asyncio.sleep(max(0.0, seconds) + late)

    async def job(self, delay: float, duration: float) -> JobOutcome:
        cfg = self.config
        await asyncio.sleep(delay + cfg.submit_latency)
        created = self.loop.time()
        done_at = created + duration
        await asyncio.sleep(cfg.start_offset)
        checks: list[float] = []
        seen_at = await self.poll(self.loop.time(), done_at, checks)
        await asyncio.sleep(cfg.delivery)
        return JobOutcome(
            duration=duration,
            polls=len(checks),
            detect=seen_at - done_at,
            lag=self.loop.time() - done_at,
            check_times=tuple(c - created for c in checks),
        )

    async def poll(self, started: float, done_at: float, checks: list[float]) -> float:
        """JobRunner._poll, with the request to GeekAI modelled; returns when the check that
        saw the task done reached GeekAI."""
        cfg, clock = self.config, self.loop.time
        deadline = started + cfg.job_timeout
        polls = JobPolls(
            self.book, MODEL, elapsed=clock() - started, min_check_gap=cfg.min_check_gap
        )
        try:
            while True:
                now = clock()
                remaining = deadline - now
                if remaining <= 0:
                    raise TimeoutError("task unfinished after the limit")
                due = started + await polls.next_check() - now
                await self.sleep(min(due, remaining))
                polls.checking(clock() - started)
                await asyncio.sleep(cfg.request_latency)  # the request reaches GeekAI
                arrived = clock()
                checks.append(arrived)
                await asyncio.sleep(cfg.request_latency)  # and its answer comes back
                if arrived >= done_at:
                    polls.succeeded()
                    return arrived
                polls.unfinished()
        finally:
            polls.close()

    async def run(self, phases: Sequence[tuple[Sequence[float], float]]) -> list[list[JobOutcome]]:
        """Each phase's jobs (their durations, arriving at a rate per second) once the
        previous phase's are all delivered; the outcomes, per phase."""
        outcomes = []
        for drawn, rate in phases:
            jobs = [asyncio.ensure_future(self.job(i / rate, d)) for i, d in enumerate(drawn)]
            # The benchmark looks every 0.2 s whether all are delivered (so must we).
            while not all(job.done() for job in jobs):  # noqa: ASYNC110
                await asyncio.sleep(self.config.settle_poll)
            outcomes.append([job.result() for job in jobs])
        return outcomes


def simulate(
    phases: Sequence[tuple[Sequence[float], float]], config: B2Config | None = None
) -> list[list[JobOutcome]]:
    """Jobs of one model on simulated time, in phases (durations, arrivals per second), each
    starting once the previous one is delivered. Deterministic for a given config."""
    config = config or B2Config()
    loop = SimulatedLoop(executor_latency=config.plan_latency)
    try:
        return loop.run_until_complete(_Scenario(config, loop).run(phases))
    finally:
        loop.close()


def simulate_b2(config: B2Config | None = None, **changes: Any) -> B2Result:
    """One B2 run on simulated time (deterministic for a given config)."""
    config = B2Config(**changes) if config is None else config
    drawn = durations(config.seed, config.warm + config.measured, config.median, config.sigma)
    warm, measured = simulate(
        [(drawn[: config.warm], config.warm_rate), (drawn[config.warm :], config.rate)], config
    )
    return B2Result(config, warm, measured)


def main(argv: list[str]) -> int:
    seeds = [int(a) for a in argv] or list(range(5))
    results = [simulate_b2(seed=seed) for seed in seeds]
    for result in results:
        print(result.describe())
    print(
        f"mean over {len(results)} seeds: "
        f"{statistics.fmean(r.polls_per_job for r in results):.2f} requests/job, lag p50"
        f" {statistics.fmean(r.lag_p50 for r in results):.3f} s / p95"
        f" {statistics.fmean(r.lag_p95 for r in results):.3f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
