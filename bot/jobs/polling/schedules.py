"""A job's poll schedule and its poll loop's decisions: the protocols, the fixed backoff
used before there is any history, and `JobPolls` (when to check next, what a result teaches),
for the runner and for simulations alike (bench/b2_sim.py).

A schedule answers one question, `next_poll(elapsed)`: at how many seconds after submit the
next status check is due, given the last check was at `elapsed`. Plans are functions of the
time since submit, so a job picked up after a restart continues its plan instead of
restarting it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol


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
                return next_multiple(at, self.ceiling, elapsed)
            gap = min(self.ceiling, gap * self.factor)
            at += gap
        return at


@dataclass(frozen=True)
class FixedSchedule:
    """A check every `interval` seconds (a reference for benchmarks)."""

    interval: float

    def next_poll(self, elapsed: float) -> float:
        return next_multiple(0.0, self.interval, elapsed)


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


def next_multiple(start: float, step: float, after: float) -> float:
    """The first of start, start + step, start + 2·step, … strictly after `after`."""
    if after < start:
        return start
    at = start + (math.floor((after - start) / step) + 1) * step
    return at if at > after else at + step  # rounding can land exactly on `after`


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
