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
learns in memory as jobs finish, and re-plans at most every `replan_interval` seconds. It
learns in submit order, counting the jobs still running (see there): jobs that start
together finish quickest first, and a plan learned from those alone checks every job too
early. `JobPolls` makes the decisions of one job's poll loop (when to check next, what its
end teaches), for the runner and for simulations alike (bench/b2_sim.py).
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
    "JobPolls",
    "JobTrack",
    "PollPlan",
    "PollPlanner",
    "PollSchedule",
    "ScheduleBook",
    "ScheduleProvider",
    "StaticSchedules",
]


class PollSchedule(Protocol):
    def next_poll(self, elapsed: float) -> float:
        """Seconds after submit of the next check, strictly after `elapsed`."""
        ...


class JobTrack(Protocol):
    def end(self, finished: tuple[float, float] | None) -> None:
        """The job is no longer polled. `finished`: if it succeeded, between which two
        checks (seconds after submit; 0 stands for the submit itself). Later calls are
        ignored."""
        ...


class ScheduleProvider(Protocol):
    async def schedule_for(self, model: str) -> PollSchedule:
        """The schedule for a model's next check (cheap: no I/O once the model is known)."""
        ...

    def track(self, model: str, elapsed: float) -> JobTrack:
        """A job of `model`, submitted `elapsed` seconds ago, is being polled from now on;
        what it teaches arrives through the handle when it ends."""
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


class JobPolls:
    """The polling decisions for one job: when to check its task next, and what its end
    teaches. The runner's poll loop does the waiting and the requests and leaves every
    decision to this (so a simulation can replay them exactly). Times are seconds after
    submit.
    """

    def __init__(
        self,
        schedules: ScheduleProvider,
        model: str,
        *,
        elapsed: float,
        min_check_gap: float,
        resumed: bool = False,
    ) -> None:
        """`resumed`: the task was submitted by an earlier run (a restart, or a process
        that died): its first check is at once, since what that run saw is unknown (the
        task may have ended, or failed, since), then the plan continues."""
        self._resumed = resumed
        self._schedules = schedules
        self._model = model
        self._min_check_gap = min_check_gap
        self._started_at = elapsed  # of this run (a resumed job starts late)
        self._track = schedules.track(model, elapsed)
        self._checked: float | None = None  # this run's last check
        # The last check that saw the task unfinished (the submit counts as one). Unknown
        # if a previous run already checked it: then the first result teaches nothing.
        self._last_miss: float | None = None
        self._first = True

    async def next_check(self) -> float:
        """When the task is due to be checked next."""
        schedule = await self._schedules.schedule_for(self._model)
        if self._first:
            self._first = False
            if self._started_at < schedule.next_poll(0.0):
                self._last_miss = 0.0
            if self._resumed:
                return self._started_at
        # No check comes closer than `min_check_gap` after this run's last one.
        after = 0.0 if self._checked is None else self._checked + self._min_check_gap
        return schedule.next_poll(after)

    def checking(self, elapsed: float) -> None:
        """A check of the task starts now."""
        self._checked = elapsed

    def unfinished(self) -> None:
        """The check saw the task still pending or running."""
        self._last_miss = self._checked

    def succeeded(self) -> None:
        """The check saw the task done: it finished since the last check that saw it not."""
        if self._last_miss is None or self._checked is None:
            self._track.end(None)
        else:
            self._track.end((self._last_miss, self._checked))

    def close(self) -> None:
        """The job is no longer polled (succeeded, failed, timed out or interrupted)."""
        self._track.end(None)


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

    def __init__(
        self,
        durations: Sequence[float],
        min_bandwidth: float,
        weights: Sequence[float] | None = None,
    ) -> None:
        mass_of = weights or [1.0] * len(durations)
        pairs = sorted(zip((math.log(d) for d in durations), mass_of, strict=True))
        logs, mass = [x for x, _ in pairs], [w for _, w in pairs]
        total = sum(mass)
        n = total * total / sum(w * w for w in mass)  # as many equally weighted samples
        mean = sum(w * x for x, w in pairs) / total
        spread = math.sqrt(sum(w * (x - mean) ** 2 for x, w in pairs) / total)
        iqr = (_quantile_of(logs, mass, 0.75) - _quantile_of(logs, mass, 0.25)) / 1.349
        if 0 < iqr < spread:
            spread = iqr  # robust to a few wild durations
        rule = max(min_bandwidth, 0.9 * spread * math.pow(n, -0.2))
        bw = self._choose_bandwidth(logs, mass, rule, min_bandwidth)
        lo, hi = logs[0] - 4 * bw, logs[-1] + 4 * bw
        self.lo, self.dx = lo, (hi - lo) / (self.GRID - 1)
        density = self._grid(logs, mass, bw, lo, self.dx)
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
    def _grid(
        cls, logs: Sequence[float], mass: Sequence[float], bw: float, lo: float, dx: float
    ) -> list[float]:
        """Samples shared out to their two nearest grid points, then smoothed by the kernel."""
        weights = [0.0] * cls.GRID
        for x, w in zip(logs, mass, strict=True):
            pos = min(max((x - lo) / dx, 0.0), cls.GRID - 1.0)
            j = min(int(pos), cls.GRID - 2)
            weights[j] += w * (j + 1 - pos)
            weights[j + 1] += w * (pos - j)
        reach = math.ceil(4 * bw / dx)
        norm = 1.0 / (sum(mass) * bw * math.sqrt(2 * math.pi))
        kernel = [norm * math.exp(-0.5 * (k * dx / bw) ** 2) for k in range(-reach, reach + 1)]
        density = [0.0] * cls.GRID
        for j, weight in enumerate(weights):
            if weight:
                first = max(0, j - reach)
                for i in range(first, min(cls.GRID, j + reach + 1)):
                    density[i] += weight * kernel[i - j + reach]
        return density

    @classmethod
    def _choose_bandwidth(
        cls, logs: Sequence[float], mass: Sequence[float], rule: float, floor: float
    ) -> float:
        """The candidate bandwidth under which each duration is likeliest given the others."""
        candidates = sorted({max(floor, rule * f) for f in cls.BANDWIDTH_FACTORS}, reverse=True)
        if len(candidates) == 1 or len(logs) < 10:
            return rule
        lo, total = logs[0] - 4 * rule, sum(mass)
        dx = (logs[-1] + 4 * rule - lo) / (cls.GRID - 1)
        best, best_score = rule, -math.inf
        for bw in candidates:
            density = cls._grid(logs, mass, bw, lo, dx)
            peak = 1.0 / (total * bw * math.sqrt(2 * math.pi))  # a unit's kernel at itself
            score = 0.0
            for x, w in zip(logs, mass, strict=True):
                pos = (x - lo) / dx
                j = min(cls.GRID - 2, int(pos))
                here = density[j] + (density[j + 1] - density[j]) * (pos - j)
                others = (here - w * peak) * total / (total - w)  # leaving this one out
                score += w * math.log(max(others, 1e-12))
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


def _quantile_of(values: Sequence[float], mass: Sequence[float], q: float) -> float:
    """The first of the sorted `values` whose weight reaches past the share `q` of all."""
    target, below = q * sum(mass), 0.0
    for value, weight in zip(values, mass, strict=True):
        below += weight
        if below > target:
            return value
    return values[-1]


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
    # counts scatter around it by ~0.8 from run to run of B2: the 30 durations learned
    # before its measured jobs misplace the median by up to ~10 %.
    max_expected_polls: float = 9.0
    min_bandwidth: float = 0.03  # in log-seconds: durations never look sharper than ±3 %
    # Gap ∝ hazard^-exponent: ½ minimises the mean lag per check; higher exponents crowd the
    # checks where finishing is most likely, which lowers the median lag (what users feel)
    # at some cost to the p95. ¾ measured best for both on log-normal histories.
    hazard_exponent: float = 0.75

    def plan(self, durations: Sequence[float], weights: Sequence[float] | None = None) -> PollPlan:
        """A plan for these durations; `weights` (default: all equal) say how much each one
        counts, e.g. for durations that stand for jobs still running."""
        pairs = [
            (d, w)
            for d, w in zip(durations, weights or [1.0] * len(durations), strict=True)
            if d > 0 and math.isfinite(d) and w > 0 and math.isfinite(w)
        ]
        if not pairs:
            raise ValueError("no durations to plan from")
        usable = [d for d, _ in pairs]
        mass = None if weights is None else [w for _, w in pairs]
        density = _Density(usable, self.min_bandwidth, mass)
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

    def track(self, model: str, elapsed: float) -> JobTrack:
        return _Untracked()


class _Untracked:
    def end(self, finished: tuple[float, float] | None) -> None:
        pass


_GOLDEN = (math.sqrt(5) - 1) / 2  # steps that keep spreading evenly over [0, 1)
DurationSource = Callable[[str, int], Awaitable[list[float]]]


@dataclass(eq=False)
class _Track:
    """A job being polled, as its model's book sees it."""

    book: ScheduleBook
    model: str
    submitted: float  # on the book's clock
    ended: bool = False
    duration: float | None = None  # once ended, if it taught one
    waited_out: bool = False  # no longer holds later jobs back

    def end(self, finished: tuple[float, float] | None) -> None:
        if not self.ended:
            self.ended = True
            self.book._ended(self, finished)


@dataclass
class _ModelHistory:
    durations: deque[float]  # learned in submit order
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loaded: bool = False
    plan: PollPlan | None = None
    planning: asyncio.Task[None] | None = None
    new_since_plan: int = 0
    planned_at: float = float("-inf")
    # Jobs being polled (or ended) whose duration cannot join `durations` yet, because a
    # job submitted before them is still running; in submit order.
    waiting: list[_Track] = field(default_factory=list)
    slow: list[_Track] = field(default_factory=list)  # running too long to wait for
    hold: float = 0.0  # how long a running job holds back what later ones teach
    spread: float = 0.5


def _kaplan_meier(
    finished: Sequence[float], running: Sequence[float]
) -> tuple[list[float], list[float]]:
    """Durations and weights for a sample in which some jobs are still running (`running`:
    how long each has run so far). Each running job's share goes to the durations longer
    than it has run (the Kaplan–Meier estimate): leaving them out would make the quick
    jobs look more common than they are."""
    items = sorted([(d, False) for d in finished] + [(r, True) for r in running])
    at_risk, survival = len(items), 1.0
    durations: list[float] = []
    weights: list[float] = []
    for seconds, still_running in items:
        if not still_running and survival > 0:
            share = survival / at_risk
            durations.append(seconds)
            weights.append(share)
            survival -= share
        at_risk -= 1
    if survival > 1e-9 and running:  # running longer than any finished: at least that long
        durations.append(max(running))
        weights.append(survival)
    return durations, weights


class ScheduleBook:
    """One poll plan per model, learned from its recent durations; the backoff before that.

    Jobs that start together (a burst, a restart, a benchmark) do not finish in the order
    they started: the quick ones come first. Planning from the jobs finished so far would
    take the model for quicker than it is and put every job's checks too early (each
    costing a request). So the book keeps its history in submit order: a duration joins it
    once every job submitted before it has ended (or has run for longer than `hold_factor`
    times the median duration: an outlier, learned whenever it ends). Until then it counts
    in the plan together with the jobs still running, weighted as the Kaplan–Meier
    estimate says, which corrects the same bias without waiting.
    """

    def __init__(
        self,
        history: DurationSource,
        *,
        planner: PollPlanner | None = None,
        default: PollSchedule | None = None,
        window: int = 200,
        min_samples: int = 10,
        replan_interval: float = 10.0,
        hold_factor: float = 2.0,
        hold_limit: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`history(model, limit)` gives the newest durations first (JobRepository's).
        Before its first plan, a running job holds back later ones for `hold_limit` s."""
        self._history = history
        self._planner = planner or PollPlanner()
        self._default: PollSchedule = default or BackoffSchedule()
        self._window = window
        self._min_samples = min_samples
        self._replan_interval = replan_interval
        self._hold_factor = hold_factor
        self._hold_limit = hold_limit
        self._clock = clock
        self._models: dict[str, _ModelHistory] = {}

    async def schedule_for(self, model: str) -> PollSchedule:
        entry = self._entry(model)
        if not entry.loaded:
            await self._load(model, entry)
        self._release(entry)
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

    def track(self, model: str, elapsed: float) -> JobTrack:
        entry = self._entry(model)
        tracked = _Track(self, model, self._clock() - max(0.0, elapsed))
        bisect.insort(entry.waiting, tracked, key=lambda t: t.submitted)
        return tracked

    def observe(self, model: str, seconds: float) -> None:
        """Learn at once that a task of `model` finished `seconds` after submit."""
        self._learn(self._entry(model), seconds)

    async def wait_planned(self) -> None:
        """Until no plan is being computed (tests, diagnostics)."""
        await asyncio.gather(*(e.planning for e in self._models.values() if e.planning))

    def durations(self, model: str) -> list[float]:
        """What the book's history holds for a model, oldest first (tests, diagnostics)."""
        entry = self._models.get(model)
        return [] if entry is None else list(entry.durations)

    async def _replan(self, model: str, entry: _ModelHistory) -> None:
        """Plan in a worker thread: ~10 ms of arithmetic must not stall the event loop (it
        would hold up interactions waiting for their 3 s acknowledgement)."""
        now = self._clock()
        finished = [*entry.durations]
        finished += [t.duration for t in entry.waiting if t.duration is not None]
        running = [now - t.submitted for t in (*entry.waiting, *entry.slow) if not t.ended]
        weights: list[float] | None = None
        if running:
            finished, weights = _kaplan_meier(finished, running)
        entry.new_since_plan, entry.planned_at = 0, now
        try:
            entry.plan = await asyncio.to_thread(self._planner.plan, finished, weights)
            entry.hold = self._hold_factor * statistics.median(entry.durations)
            log.info("poll plan for %s: %s", model, entry.plan.describe())
        except Exception:  # keep the previous plan (or the backoff); never fail a job
            log.exception("could not plan the checks of %s", model)
        finally:
            entry.planning = None

    def _learn(self, entry: _ModelHistory, seconds: float | None) -> None:
        if seconds is not None and seconds > 0 and math.isfinite(seconds):
            entry.durations.append(seconds)
            entry.new_since_plan += 1

    def _ended(self, tracked: _Track, finished: tuple[float, float] | None) -> None:
        entry = self._entry(tracked.model)
        tracked.duration = self._duration(entry, finished)
        if tracked.waited_out:
            entry.slow.remove(tracked)
            self._learn(entry, tracked.duration)
        else:
            if tracked.duration is not None:
                entry.new_since_plan += 1  # it counts in the next plan already
            self._release(entry)

    def _duration(self, entry: _ModelHistory, finished: tuple[float, float] | None) -> float | None:
        """What to learn from a job that finished between two checks (`finished`, seconds
        after submit; 0 for the submit).

        Not the middle of the interval, but points spread evenly over it across jobs:
        checks far apart (the default backoff's, before there is a plan) would otherwise
        teach a few repeated values, and the plan would crowd its checks around them.

        A job already done at its first check finished before it, but that check is
        placed where only ~2 % of jobs have finished: most likely just before it, not at
        half the time, which would pull the next plan's first check far forward (a check
        more for every job). Such jobs are spread over the second half of the wait: if
        the first check is where it belongs that changes little, and if the model got
        much quicker, each plan moves the first check forward by up to half.
        """
        if finished is None:
            return None
        low, high = finished
        if not (high > 0 and math.isfinite(high)):
            return None
        low = high / 2 if low <= 0 else min(low, high)
        entry.spread = (entry.spread + _GOLDEN) % 1.0
        return low + entry.spread * (high - low)

    def _release(self, entry: _ModelHistory) -> None:
        """Move what ended jobs teach into the history, in submit order, up to the first job
        still running (unless it has run for so long that it is an outlier anyway)."""
        waiting = entry.waiting
        if not waiting:
            return
        hold = entry.hold if entry.plan is not None else self._hold_limit
        oldest = self._clock() - hold
        done = 0
        for tracked in waiting:
            if tracked.ended:
                if tracked.duration is not None:
                    entry.durations.append(tracked.duration)  # counted when it ended
            elif tracked.submitted < oldest:
                tracked.waited_out = True
                entry.slow.append(tracked)
            else:
                break
            done += 1
        del waiting[:done]

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
