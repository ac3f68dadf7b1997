"""When to ask GeekAI about a task next."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffSchedule:
    """First check soon, then back off gently to a ceiling: the default before history."""

    first: float = 1.5
    factor: float = 1.3
    ceiling: float = 4.0

    def delays(self) -> PollDelays:
        return PollDelays(self)


class PollDelays:
    """The delays of one job's polling, one `next()` per check."""

    def __init__(self, schedule: BackoffSchedule) -> None:
        self._schedule = schedule
        self._current: float | None = None

    def next(self) -> float:
        if self._current is None:
            self._current = self._schedule.first
        else:
            self._current = min(self._schedule.ceiling, self._current * self._schedule.factor)
        return self._current
