"""`ScheduleBook`: one poll plan per model. It reads the history once from the database, then
learns in memory as jobs finish, and re-plans at most every `replan_interval` seconds. It
learns in submit order, counting the jobs still running (see there): jobs that start
together finish quickest first, and a plan learned from those alone checks every job too
early.
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

from bot.jobs.polling.planner import PollPlan, PollPlanner
from bot.jobs.polling.schedules import BackoffSchedule, JobTrack, PollSchedule

log = logging.getLogger(__name__)


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
