"""The shape of a benchmark scenario: one run → metrics; checks compare them to targets."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class RunContext:
    index: int  # which run of this scenario (0-based); seeds and orders vary with it
    smoke: bool  # tiny sizes, seconds: proves the code works, measures nothing
    workdir: Path  # scratch space of this run (databases, cwd of processes)
    log_dir: Path  # every process's log


@dataclass(frozen=True)
class Check:
    metric: str
    label: str
    limit: float
    unit: str
    op: Literal["<=", ">="] = "<="
    # Measured only when the run could (a PostgreSQL variant without a server): a missing
    # figure is then "not measured", not a miss.
    optional: bool = False

    def passed(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return value <= self.limit if self.op == "<=" else value >= self.limit

    def target(self) -> str:
        sign = "≤" if self.op == "<=" else "≥"
        return f"{sign} {self.limit:g}{(' ' + self.unit) if self.unit else ''}"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    run: Callable[[RunContext], Awaitable[dict[str, float]]]
    checks: tuple[Check, ...]
    shown: tuple[str, ...] = ()  # references and context measured in the same run
