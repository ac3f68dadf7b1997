"""How a model's recent durations become a poll plan.

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
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.jobs.polling.schedules import next_multiple


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
        return next_multiple(self.times[-1], self.tail_gap, elapsed)

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
