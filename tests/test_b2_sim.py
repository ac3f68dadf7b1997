"""bench/b2_sim.py, the B2 benchmark replayed on a simulated clock through the runner's own
poll decisions (bot.jobs.polling): its figures, and that it checks as configured. Kept apart
from tests/jobs/test_polling.py, which needs nothing from bench/."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from bench.b2_sim import B2Config, simulate_b2
from bench.b2_sim import simulate as simulate_jobs
from bot.jobs.polling.planner import PollPlanner
from bot.jobs.polling.schedules import FixedSchedule
from tests.jobs.test_polling import FixedProvider, history, lognormal


def test_b2_simulated_stays_under_ten_requests_per_job_with_lag_within_the_targets() -> None:
    """bench/b2_delivery.py on a simulated clock (bench/b2_sim.py): 30 warm-up jobs, then
    100 measured ones. Its figures matched three real runs within ~0.05 requests per job.
    Planning from the jobs in finish order made 10.7, 9.7, 9.6, 9.3, 10.0 and 9.4 requests
    per job for these seeds (9.77 on average; the plans predicted 9.0)."""
    results = [simulate_b2(seed=seed) for seed in range(6)]
    polls = [r.polls_per_job for r in results]
    assert max(polls) < 10.0
    assert statistics.fmean(polls) <= 9.3
    assert statistics.fmean(r.lag_p50 for r in results) <= 0.6
    assert statistics.fmean(r.lag_p95 for r in results) <= 1.5
    assert max(r.lag_p95 for r in results) <= 1.7
    again = simulate_b2(seed=0)
    assert (again.polls_per_job, again.lag_p50) == (polls[0], results[0].lag_p50)


def test_unusually_slow_and_quick_jobs_are_still_checked() -> None:
    """After a normal history, a job 3x the median is checked at least every max_gap, and
    one at a third of the median is checked at the plan's first check."""
    normal = lognormal(20.0, 0.25)
    _, (slow, quick) = simulate_jobs([(history(normal, 40, seed=9), 2.0), ([60.0, 6.5], 1.0)])
    max_gap = PollPlanner().max_gap
    gaps = [b - a for a, b in itertools.pairwise(slow.check_times)]
    assert max(gaps) <= max_gap + 0.1
    assert slow.detect <= max_gap + 0.1
    assert quick.polls == 1
    assert quick.check_times[0] <= 15.0


def test_the_simulation_checks_as_configured() -> None:
    fixed = B2Config(warm=3, measured=10, schedules=lambda clock: FixedProvider(FixedSchedule(1)))
    result = simulate_b2(fixed)
    for job in result.measured:
        assert math.ceil(job.duration) <= job.polls <= math.ceil(job.duration) + 1
    assert all(0.0 <= j.detect <= 1.05 for j in result.measured)
    assert all(j.lag == pytest.approx(j.detect + 0.0135, abs=0.002) for j in result.measured)
