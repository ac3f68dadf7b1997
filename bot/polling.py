"""When to ask GeekAI about a task next: a fixed backoff at first, then a plan learned per model.

A schedule answers one question, `next_poll(elapsed)`: at how many seconds after submit the
next status check is due, given the last check was at `elapsed`. Plans are functions of the
time since submit, so a job picked up after a restart continues its plan instead of
restarting it.

`PollPlanner` turns a model's recent durations (submit → succeed) into a `PollPlan`:

* the durations are smoothed into a density (a Gaussian kernel estimate on log-seconds, so
  it copes with skewed and two-humped histories as well as with log-normal ones);
* the first check goes to a low quantile of that density (sparse early: nothing is likely
  to finish before it);
* from there the gap to the next check is `c / hazard**0.75`, clamped to
  [`min_gap`, `max_gap`]. The hazard is the chance per second that a still-running task
  finishes now. A check costs only for jobs still running, so it buys the most where the
  hazard is high: `c / sqrt(hazard)` minimises the mean lag for a given number of checks,
  and a steeper exponent favours the median lag. Checks are dense where completion is
  likely and sparse where it is not;
* past the `last_quantile` the gaps grow geometrically up to `max_gap`, and stay there: a
  job twice as slow as usual is still checked at least every `max_gap` seconds.

`c` is the sparsest value whose predicted lag meets the targets, unless that costs more
than the check budget per job, in which case the budget wins. Everything is deterministic.

`ScheduleBook` holds one plan per model: it reads the history once from the database, then
learns in memory as jobs finish, and re-plans at most every `replan_interval` seconds.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

__all__ = [
    "BackoffSchedule",
    "FixedSchedule",
    "PollPlan",
    "PollPlanner",
    "PollSchedule",
    "ScheduleBook",
    "ScheduleProvider",
    "StaticSchedules",
    "next_check",
]


class PollSchedule(Protocol):
    def next_poll(self, elapsed: float) -> float:
        """Seconds after submit of the next check, strictly after `elapsed`."""
        ...


class ScheduleProvider(Protocol):
    async def schedule_for(self, model: str) -> PollSchedule:
        """The schedule for a model's next check (cheap: no I/O once the model is known)."""
        ...

    def observe(self, model: str, seconds: float) -> None:
        """A task of `model` finished `seconds` after submit."""
        ...


@dataclass(frozen=True)
class BackoffSchedule:
    """First check soon, then back off gently to a ceiling: the default before history."""

    first: float = 1.5
    factor: float = 1.3
    ceiling: float = 4.0

    def next_poll(self, elapsed: float) -> float:
        at, gap = self.first, self.first
        while at <= elapsed:
            if gap >= self.ceiling:  # the rest is evenly spaced: jump straight there
                return _next_multiple(at, self.ceiling, elapsed)
            gap = min(self.ceiling, gap * self.factor)
            at += gap
        return at


@dataclass(frozen=True)
class FixedSchedule:
    """A check every `interval` seconds (a reference for benchmarks)."""

    interval: float

    def next_poll(self, elapsed: float) -> float:
        return _next_multiple(0.0, self.interval, elapsed)


def next_check(schedule: PollSchedule, last_check: float | None, min_check_gap: float) -> float:
    """Seconds after submit of a job's next status check (the runner's poll loop decides with
    this alone, so simulations can replay it). `last_check`: when this run last checked the
    task (seconds after submit), None before its first check; no check comes closer than
    `min_check_gap` after it."""
    after = 0.0 if last_check is None else last_check + min_check_gap
    return schedule.next_poll(after)


def _next_multiple(start: float, step: float, after: float) -> float:
    """The first of start, start + step, start + 2·step, … strictly after `after`."""
    if after < start:
        return start
    at = start + (math.floor((after - start) / step) + 1) * step
    return at if at > after else at + step  # rounding can land exactly on `after`


@dataclass(frozen=True)
class PollPlan:
    """Planned checks (seconds after submit), then one every `tail_gap` seconds for good."""

    times: tuple[float, ...]
    tail_gap: float
    samples: int = 0  # durations it was learned from (for the log)
    expected_polls: float = 0.0  # predicted checks per job
    expected_lag_p50: float = 0.0  # predicted seconds from finish to the check that sees it
    expected_lag_p95: float = 0.0

    def next_poll(self, elapsed: float) -> float:
        index = bisect.bisect_right(self.times, elapsed)
        if index < len(self.times):
            return self.times[index]
        return _next_multiple(self.times[-1], self.tail_gap, elapsed)

    def describe(self) -> str:
        return (
            f"{len(self.times)} planned checks from {self.samples} durations, first at"
            f" {self.times[0]:.1f} s, ~{self.expected_polls:.1f} per job, predicted lag"
            f" p50 {self.expected_lag_p50:.2f} s / p95 {self.expected_lag_p95:.2f} s"
        )


class _Density:
    """A kernel density estimate of durations on a grid of log-seconds."""

    GRID = 256
    # Bandwidths tried, as fractions of Silverman's rule, which over-smooths histories with
    # more than one hump (e.g. a model whose sizes take different times).
    BANDWIDTH_FACTORS = (1.0, 0.7, 0.5, 0.35, 0.25)

    def __init__(self, durations: Sequence[float], min_bandwidth: float) -> None:
        logs = sorted(math.log(d) for d in durations)
        n = len(logs)
        spread = statistics.pstdev(logs)
        iqr = (logs[(3 * n) // 4] - logs[n // 4]) / 1.349
        if 0 < iqr < spread:
            spread = iqr  # robust to a few wild durations
        rule = max(min_bandwidth, 0.9 * spread * math.pow(n, -0.2))
        bw = self._choose_bandwidth(logs, rule, min_bandwidth)
        lo, hi = logs[0] - 4 * bw, logs[-1] + 4 * bw
        self.lo, self.dx = lo, (hi - lo) / (self.GRID - 1)
        density = self._grid(logs, bw, lo, self.dx)
        cdf = [0.0] * self.GRID
        for j in range(1, self.GRID):
            cdf[j] = cdf[j - 1] + 0.5 * (density[j - 1] + density[j]) * self.dx
        total = cdf[-1] or 1.0
        self.cdf = [c / total for c in cdf]
        self.times = [math.exp(lo + j * self.dx) for j in range(self.GRID)]
        # Hazard: the density per second of finishing now, given not finished yet.
        self.hazard = [
            (density[j] / total / self.times[j]) / max(1.0 - self.cdf[j], 1e-9)
            for j in range(self.GRID)
        ]

    @classmethod
    def _grid(cls, logs: Sequence[float], bw: float, lo: float, dx: float) -> list[float]:
        """Samples shared out to their two nearest grid points, then smoothed by the kernel."""
        weights = [0.0] * cls.GRID
        for x in logs:
            pos = min(max((x - lo) / dx, 0.0), cls.GRID - 1.0)
            j = min(int(pos), cls.GRID - 2)
            weights[j] += j + 1 - pos
            weights[j + 1] += pos - j
        reach = math.ceil(4 * bw / dx)
        norm = 1.0 / (len(logs) * bw * math.sqrt(2 * math.pi))
        kernel = [norm * math.exp(-0.5 * (k * dx / bw) ** 2) for k in range(-reach, reach + 1)]
        density = [0.0] * cls.GRID
        for j, weight in enumerate(weights):
            if weight:
                first = max(0, j - reach)
                for i in range(first, min(cls.GRID, j + reach + 1)):
                    density[i] += weight * kernel[i - j + reach]
        return density

    @classmethod
    def _choose_bandwidth(cls, logs: Sequence[float], rule: float, floor: float) -> float:
        """The candidate bandwidth under which each duration is likeliest given the others."""
        candidates = sorted({max(floor, rule * f) for f in cls.BANDWIDTH_FACTORS}, reverse=True)
        if len(candidates) == 1 or len(logs) < 10:
            return rule
        lo, n = logs[0] - 4 * rule, len(logs)
        dx = (logs[-1] + 4 * rule - lo) / (cls.GRID - 1)
        best, best_score = rule, -math.inf
        for bw in candidates:
            density = cls._grid(logs, bw, lo, dx)
            own = 1.0 / (n * bw * math.sqrt(2 * math.pi))  # a point's kernel at itself
            score = 0.0
            for x in logs:
                pos = (x - lo) / dx
                j = min(cls.GRID - 2, int(pos))
                here = density[j] + (density[j + 1] - density[j]) * (pos - j)
                score += math.log(max((here - own) * n / (n - 1), 1e-12))
            if score > best_score:
                best, best_score = bw, score
        return best

    def _index(self, seconds: float) -> float:
        if seconds <= 0:
            return -1.0
        return (math.log(seconds) - self.lo) / self.dx

    def cdf_at(self, seconds: float) -> float:
        pos = self._index(seconds)
        if pos <= 0:
            return 0.0
        if pos >= self.GRID - 1:
            return 1.0
        j = int(pos)
        frac = pos - j
        return self.cdf[j] * (1 - frac) + self.cdf[j + 1] * frac

    def quantile(self, q: float) -> float:
        j = bisect.bisect_left(self.cdf, q)
        if j <= 0:
            return self.times[0]
        if j >= self.GRID:
            return self.times[-1]
        below, above = self.cdf[j - 1], self.cdf[j]
        frac = (q - below) / (above - below) if above > below else 0.0
        return math.exp(self.lo + (j - 1 + frac) * self.dx)

    def max_hazard(self, start: float, end: float) -> float:
        first = max(0, math.floor(self._index(start)))
        last = min(self.GRID - 1, math.ceil(self._index(end)))
        return max(self.hazard[first : last + 1], default=0.0)


@dataclass(frozen=True)
class PollPlanner:
    """Plans checks from a model's durations; see the module docstring for the method."""

    min_gap: float = 0.5  # never check more often than this, even where finishing is likely
    max_gap: float = 5.0  # never leave a running job unchecked for longer than this
    growth: float = 1.5  # gaps grow by at most this factor from one check to the next
    first_quantile: float = 0.02  # first check when ~2 % of tasks have finished
    last_quantile: float = 0.99  # past this, back off geometrically to max_gap
    target_lag_p50: float = 0.35  # seconds from finish to the check that sees it
    target_lag_p95: float = 1.0
    # Per job, as predicted from the history; the budget wins over the lag targets. Real
    # counts run ~0.5 above it (a history of 30-100 jobs misplaces the median by a few %).
    max_expected_polls: float = 9.0
    min_bandwidth: float = 0.03  # in log-seconds: durations never look sharper than ±3 %
    # Gap ∝ hazard^-exponent: ½ minimises the mean lag per check; higher exponents crowd the
    # checks where finishing is most likely, which lowers the median lag (what users feel)
    # at some cost to the p95. ¾ measured best for both on log-normal histories.
    hazard_exponent: float = 0.75

    def plan(self, durations: Sequence[float]) -> PollPlan:
        usable = [d for d in durations if d > 0 and math.isfinite(d)]
        if not usable:
            raise ValueError("no durations to plan from")
        density = _Density(usable, self.min_bandwidth)
        first = max(self.min_gap, density.quantile(self.first_quantile))
        dense_until = density.quantile(self.last_quantile)

        def acceptable(c: float) -> tuple[bool, bool]:
            _, polls, p50, p95 = self._evaluate(density, first, dense_until, c)
            return p50 <= self.target_lag_p50 and p95 <= self.target_lag_p95, polls <= (
                self.max_expected_polls
            )

        # Find the boundary of "lag met, or over budget" (true for small c, i.e. dense).
        low, high = 1e-3, 1e3
        for _ in range(24):
            mid = math.sqrt(low * high)
            lag_ok, in_budget = acceptable(mid)
            if lag_ok or not in_budget:
                low = mid
            else:
                high = mid
        lag_ok, in_budget = acceptable(low)
        c = low if lag_ok and in_budget else high
        times, polls, p50, p95 = self._evaluate(density, first, dense_until, c)
        return PollPlan(
            times=tuple(times),
            tail_gap=self.max_gap,
            samples=len(usable),
            expected_polls=polls,
            expected_lag_p50=p50,
            expected_lag_p95=p95,
        )

    def _times(self, density: _Density, first: float, dense_until: float, c: float) -> list[float]:
        times = [first]
        at, gap = first, first
        while at < dense_until:
            cap = min(self.max_gap, max(self.min_gap, gap * self.growth))
            step = cap
            for _ in range(12):  # shrink until the gap suits the highest hazard inside it
                hazard = density.max_hazard(at, at + step)
                wanted = c / math.pow(hazard, self.hazard_exponent) if hazard > 0 else cap
                shorter = min(cap, max(self.min_gap, wanted))
                if shorter >= step - 1e-9:
                    break
                step = shorter
            at, gap = at + step, step
            times.append(at)
        while gap < self.max_gap:  # the tail: back off geometrically to the cap
            gap = min(self.max_gap, gap * self.growth)
            at += gap
            times.append(at)
        return times

    def _evaluate(
        self, density: _Density, first: float, dense_until: float, c: float
    ) -> tuple[list[float], float, float, float]:
        """The plan for `c`, its expected checks per job and its predicted lag p50 / p95."""
        times = self._times(density, first, dense_until, c)
        polls, previous, done_before = 0.0, 0.0, 0.0
        buckets: list[tuple[float, float]] = []  # (share of jobs, gap they finish in)
        for at in times:
            done = density.cdf_at(at)
            polls += 1.0 - done_before  # this check happens for every job still running
            buckets.append((done - done_before, at - previous))
            previous, done_before = at, done
        buckets.append((1.0 - done_before, self.max_gap))
        return times, polls, _lag_quantile(buckets, 0.5), _lag_quantile(buckets, 0.95)


def _lag_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float:
    """The lag quantile when a share of jobs finishes uniformly within each gap.

    P(lag > x) = Σ share·(1 − x/gap) over gaps longer than x: linear between consecutive
    gap lengths, so each piece is solved directly.
    """
    pieces = sorted((gap, share) for share, gap in buckets if gap > 0 and share > 0)
    slower = sum(share for _, share in pieces)  # P(lag > x) = slower - x * rate
    rate = sum(share / gap for gap, share in pieces)
    target, start = 1.0 - q, 0.0
    for gap, share in pieces:
        if slower - gap * rate <= target:
            return max(start, (slower - target) / rate)
        slower, rate, start = slower - share, rate - share / gap, gap
    return start


@dataclass(frozen=True)
class StaticSchedules:
    """The same schedule for every model; learns nothing."""

    schedule: PollSchedule = field(default_factory=BackoffSchedule)

    async def schedule_for(self, model: str) -> PollSchedule:
        return self.schedule

    def observe(self, model: str, seconds: float) -> None:
        pass


DurationSource = Callable[[str, int], Awaitable[list[float]]]


@dataclass
class _ModelHistory:
    durations: deque[float]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loaded: bool = False
    plan: PollPlan | None = None
    planning: asyncio.Task[None] | None = None
    new_since_plan: int = 0
    planned_at: float = float("-inf")


class ScheduleBook:
    """One poll plan per model, learned from its recent durations; the backoff before that."""

    def __init__(
        self,
        history: DurationSource,
        *,
        planner: PollPlanner | None = None,
        default: PollSchedule | None = None,
        window: int = 200,
        min_samples: int = 10,
        replan_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`history(model, limit)` gives the newest durations first (JobRepository's)."""
        self._history = history
        self._planner = planner or PollPlanner()
        self._default: PollSchedule = default or BackoffSchedule()
        self._window = window
        self._min_samples = min_samples
        self._replan_interval = replan_interval
        self._clock = clock
        self._models: dict[str, _ModelHistory] = {}

    async def schedule_for(self, model: str) -> PollSchedule:
        entry = self._entry(model)
        if not entry.loaded:
            await self._load(model, entry)
        if len(entry.durations) < self._min_samples:
            return self._default
        stale = (
            entry.new_since_plan > 0 and self._clock() - entry.planned_at >= self._replan_interval
        )
        if (entry.plan is None or stale) and entry.planning is None:
            entry.planning = asyncio.create_task(self._replan(model, entry))
        if entry.plan is None and entry.planning is not None:
            await asyncio.shield(entry.planning)  # the first plan: worth waiting for
        return entry.plan or self._default

    async def wait_planned(self) -> None:
        """Until no plan is being computed (tests, diagnostics)."""
        await asyncio.gather(*(e.planning for e in self._models.values() if e.planning))

    async def _replan(self, model: str, entry: _ModelHistory) -> None:
        """Plan in a worker thread: ~10 ms of arithmetic must not stall the event loop (it
        would hold up interactions waiting for their 3 s acknowledgement)."""
        durations = list(entry.durations)
        entry.new_since_plan, entry.planned_at = 0, self._clock()
        try:
            entry.plan = await asyncio.to_thread(self._planner.plan, durations)
            log.info("poll plan for %s: %s", model, entry.plan.describe())
        except Exception:  # keep the previous plan (or the backoff); never fail a job
            log.exception("could not plan the checks of %s", model)
        finally:
            entry.planning = None

    def observe(self, model: str, seconds: float) -> None:
        if seconds > 0 and math.isfinite(seconds):
            entry = self._entry(model)
            entry.durations.append(seconds)
            entry.new_since_plan += 1

    def durations(self, model: str) -> list[float]:
        """What the book knows of a model, oldest first (tests, diagnostics)."""
        entry = self._models.get(model)
        return [] if entry is None else list(entry.durations)

    def _entry(self, model: str) -> _ModelHistory:
        entry = self._models.get(model)
        if entry is None:
            entry = self._models[model] = _ModelHistory(deque(maxlen=self._window))
        return entry

    async def _load(self, model: str, entry: _ModelHistory) -> None:
        async with entry.lock:  # one query per model, however many jobs ask at once
            if entry.loaded:
                return
            try:
                stored = await self._history(model, self._window)
            except Exception:  # history only tunes polling: never fail a job over it
                log.warning("could not read the duration history of %s", model, exc_info=True)
                stored = []
            learned = list(entry.durations)
            entry.durations.clear()
            entry.durations.extend(d for d in reversed(stored) if d > 0 and math.isfinite(d))
            entry.durations.extend(learned)
            entry.new_since_plan += len(entry.durations)
            entry.loaded = True
