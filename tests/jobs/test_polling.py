"""Poll schedules: the default backoff, learned plans, and the per-model book."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import statistics
from collections.abc import Callable, Sequence

import pytest

from bot.jobs.polling.book import ScheduleBook
from bot.jobs.polling.planner import PollPlan, PollPlanner
from bot.jobs.polling.schedules import (
    BackoffSchedule,
    FixedSchedule,
    JobPolls,
    JobTrack,
    PollSchedule,
)

Draw = Callable[[random.Random], float]


def lognormal(median: float, sigma: float) -> Draw:
    return lambda rng: median * math.exp(rng.gauss(0.0, sigma))


def history(draw: Draw, count: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [draw(rng) for _ in range(count)]


def checks(schedule: PollSchedule, until: float) -> list[float]:
    """Every check a job that never finishes gets before `until`."""
    times, at = [], 0.0
    while (at := schedule.next_poll(at)) <= until:
        times.append(at)
    return times


def simulate(schedule: PollSchedule, draw: Draw, jobs: int = 5000) -> tuple[float, float, float]:
    """(checks per job, lag p50, lag p95) for jobs whose durations follow `draw`."""
    rng = random.Random(7)
    lags, counts = [], []
    for _ in range(jobs):
        duration, at, count = draw(rng), 0.0, 0
        while at < duration:
            at = schedule.next_poll(at)
            count += 1
        lags.append(at - duration)
        counts.append(count)
    lags.sort()
    return statistics.fmean(counts), lags[jobs // 2], lags[int(jobs * 0.95)]


# --- fixed schedules ----------------------------------------------------------------------


def test_backoff_grows_to_its_ceiling_then_stays() -> None:
    times = checks(BackoffSchedule(first=1.5, factor=1.3, ceiling=4.0), 30)
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert times[0] == 1.5
    assert gaps == sorted(gaps)
    assert max(gaps) == pytest.approx(4.0)
    assert gaps[-3:] == pytest.approx([4.0, 4.0, 4.0])


def test_backoff_continues_from_any_elapsed_time() -> None:
    schedule = BackoffSchedule()
    times = checks(schedule, 100)
    for before, after in itertools.pairwise(times):
        assert schedule.next_poll(before) == pytest.approx(after)
        assert schedule.next_poll((before + after) / 2) == pytest.approx(after)
    assert schedule.next_poll(0.0) == 1.5


def test_fixed_schedule() -> None:
    assert checks(FixedSchedule(1.0), 3.5) == [1.0, 2.0, 3.0]
    assert FixedSchedule(3.0).next_poll(7.2) == 9.0


def test_plan_repeats_its_tail_gap_after_the_last_planned_check() -> None:
    plan = PollPlan(times=(2.0, 3.0), tail_gap=5.0)
    assert [plan.next_poll(t) for t in (0.0, 2.0, 2.5, 3.0, 7.9, 8.0)] == [
        2.0, 3.0, 3.0, 8.0, 8.0, 13.0,
    ]  # fmt: skip


# --- learned plans ------------------------------------------------------------------------

TYPICAL = lognormal(20.0, 0.25)  # the benchmark's B2 distribution


@pytest.mark.parametrize("samples", [30, 100, 200])
def test_plan_for_typical_durations_meets_the_benchmark_targets(samples: int) -> None:
    plan = PollPlanner().plan(history(TYPICAL, samples))
    polls, lag_p50, lag_p95 = simulate(plan, TYPICAL)
    assert polls <= 10
    assert lag_p50 <= 0.6
    assert lag_p95 <= 1.5
    # and much better than what the default backoff does with the same jobs
    backoff_polls, backoff_p50, _ = simulate(BackoffSchedule(), TYPICAL)
    assert lag_p50 < backoff_p50 / 2
    assert polls < 1.5 * backoff_polls


def test_plan_is_sparse_early_dense_near_the_finish_and_backs_off_after() -> None:
    planner = PollPlanner()
    plan = planner.plan(history(TYPICAL, 200))
    times = checks(plan, 120)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 9.0 < times[0] < 14.0  # nothing before ~2 % of tasks can have finished
    near_median = [g for t, g in zip(times, gaps, strict=False) if 17 <= t <= 23]
    assert near_median and max(near_median) <= 1.2
    assert min(gaps) >= planner.min_gap - 1e-9
    assert max(gaps) <= planner.max_gap + 1e-9
    assert gaps[-5:] == pytest.approx([planner.max_gap] * 5)


def test_an_outlier_twice_as_slow_is_still_checked_every_max_gap() -> None:
    planner = PollPlanner(max_gap=5.0)
    plan = planner.plan(history(TYPICAL, 200))
    times = checks(plan, 600)
    assert all(b - a <= 5.0 + 1e-9 for a, b in itertools.pairwise(times))
    outlier = 40.0
    seen_at = plan.next_poll(outlier - 1e-9)
    assert seen_at - outlier <= 5.0


def test_narrow_durations_meet_the_lag_targets_with_few_checks() -> None:
    planner = PollPlanner()
    plan = planner.plan(history(lognormal(20.0, 0.03), 100))
    assert plan.expected_lag_p50 <= planner.target_lag_p50 + 0.01
    assert plan.expected_lag_p95 <= planner.target_lag_p95 + 0.01
    polls, lag_p50, _ = simulate(plan, lognormal(20.0, 0.03))
    assert polls <= 6
    assert lag_p50 <= 0.5


def test_two_humped_durations_get_checks_near_both_humps() -> None:
    def draw(rng: random.Random) -> float:
        return lognormal(5.0, 0.1)(rng) if rng.random() < 0.5 else lognormal(30.0, 0.1)(rng)

    plan = PollPlanner().plan(history(draw, 200))
    times = checks(plan, 60)
    assert len([t for t in times if 4.0 <= t <= 6.0]) >= 2
    assert len([t for t in times if 27.0 <= t <= 33.0]) >= 3
    assert len([t for t in times if 10.0 <= t <= 20.0]) <= 3  # nothing finishes there
    _, lag_p50, _ = simulate(plan, draw)
    assert lag_p50 <= 0.6


def test_planning_is_deterministic_and_ignores_unusable_durations() -> None:
    durations = history(TYPICAL, 50)
    planner = PollPlanner()
    plan = planner.plan(durations)
    assert planner.plan(list(durations)) == plan
    assert planner.plan([*durations, 0.0, -3.0, math.nan, math.inf]).times == plan.times
    with pytest.raises(ValueError):
        planner.plan([0.0])


def test_identical_durations_still_give_a_sane_plan() -> None:
    plan = PollPlanner().plan([12.0] * 40)
    times = checks(plan, 60)
    assert 10.0 < times[0] < 12.0
    assert 11.5 <= plan.next_poll(11.5) <= 12.5


# --- the book -----------------------------------------------------------------------------


class FakeHistory:
    def __init__(self, stored: dict[str, list[float]] | None = None) -> None:
        self.stored = stored or {}
        self.calls: list[tuple[str, int]] = []
        self.fail = False

    async def __call__(self, model: str, limit: int) -> list[float]:
        self.calls.append((model, limit))
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("database is locked")
        return self.stored.get(model, [])[:limit]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_cold_start_uses_the_backoff() -> None:
    book = ScheduleBook(FakeHistory(), min_samples=10)
    assert await book.schedule_for("gpt-image-1") == BackoffSchedule()


async def test_history_is_read_once_per_model_however_many_jobs_ask() -> None:
    source = FakeHistory({"m": history(TYPICAL, 50)})
    book = ScheduleBook(source, window=40)
    schedules = await asyncio.gather(*(book.schedule_for("m") for _ in range(100)))
    assert source.calls == [("m", 40)]
    assert all(isinstance(s, PollPlan) for s in schedules)
    assert len({id(s) for s in schedules}) == 1
    assert len(book.durations("m")) == 40


async def test_stored_history_comes_first_then_what_is_learned() -> None:
    source = FakeHistory({"m": [3.0, 2.0, 1.0]})  # newest first, as the repository gives it
    book = ScheduleBook(source, window=4, min_samples=2)
    book.observe("m", 4.0)  # learned before the history arrived
    await book.schedule_for("m")
    book.observe("m", 5.0)
    assert book.durations("m") == [2.0, 3.0, 4.0, 5.0]


async def test_learns_in_memory_and_replans_at_most_every_interval() -> None:
    clock = Clock()
    book = ScheduleBook(FakeHistory(), min_samples=10, replan_interval=10.0, clock=clock)
    for d in history(TYPICAL, 10):
        book.observe("m", d)
    first = await book.schedule_for("m")
    assert isinstance(first, PollPlan)
    for d in history(lognormal(40.0, 0.25), 50, seed=2):
        book.observe("m", d)
    assert await book.schedule_for("m") is first  # too soon to plan again
    await book.wait_planned()
    assert await book.schedule_for("m") is first
    clock.now += 10.0
    # Re-planning runs in the background: jobs keep the current plan until it is ready.
    assert await book.schedule_for("m") is first
    await book.wait_planned()
    second = await book.schedule_for("m")
    assert isinstance(second, PollPlan) and second.times[0] > first.times[0]
    clock.now += 60.0
    assert await book.schedule_for("m") is second  # nothing new learned: same plan
    await book.wait_planned()
    assert await book.schedule_for("m") is second


async def test_a_failed_plan_keeps_the_previous_schedule() -> None:
    class Broken(PollPlanner):
        def plan(
            self, durations: Sequence[float], weights: Sequence[float] | None = None
        ) -> PollPlan:
            raise ArithmeticError("boom")

    book = ScheduleBook(FakeHistory({"m": [10.0] * 20}), planner=Broken())
    assert await book.schedule_for("m") == BackoffSchedule()


async def test_models_are_planned_separately() -> None:
    book = ScheduleBook(FakeHistory({"fast": [2.0] * 20, "slow": [60.0] * 20}))
    fast, slow = await book.schedule_for("fast"), await book.schedule_for("slow")
    assert fast.next_poll(0.0) < 2.0 < 50.0 < slow.next_poll(0.0)


async def test_an_unreadable_history_falls_back_to_memory() -> None:
    source = FakeHistory()
    source.fail = True
    book = ScheduleBook(source, min_samples=3)
    assert await book.schedule_for("m") == BackoffSchedule()
    for d in (10.0, 11.0, 12.0):
        book.observe("m", d)
    assert isinstance(await book.schedule_for("m"), PollPlan)
    assert len(source.calls) == 1


async def test_nonsense_durations_are_not_learned() -> None:
    book = ScheduleBook(FakeHistory())
    for d in (0.0, -1.0, math.nan, math.inf):
        book.observe("m", d)
    assert book.durations("m") == []


def test_weights_shift_the_plan_and_equal_weights_change_nothing() -> None:
    durations = history(TYPICAL, 60)
    planner = PollPlanner()
    plan = planner.plan(durations)
    assert planner.plan(durations, [1.0] * len(durations)) == plan
    assert planner.plan(durations, [0.5] * len(durations)).times == plan.times
    later = planner.plan(durations, [1.0 if d < 20 else 3.0 for d in durations])
    assert later.times[0] > plan.times[0]


# --- learning in submit order -------------------------------------------------------------


def track_at(book: ScheduleBook, clock: Clock, at: float) -> JobTrack:
    """A job submitted at `at` on the clock (now or earlier)."""
    return book.track("m", clock.now - at)


async def test_a_burst_is_learned_in_submit_order_not_in_finish_order() -> None:
    clock = Clock()
    book = ScheduleBook(FakeHistory(), clock=clock)
    start = clock.now
    durations = [31.0, 12.0, 9.0, 14.0]
    tracks = [track_at(book, clock, start + i * 0.5) for i in range(len(durations))]
    clock.now += 35.0
    for track, seconds in sorted(zip(tracks, durations, strict=True), key=lambda p: p[1])[:-1]:
        track.end((seconds, seconds))  # the quick ones finish first...
    await book.schedule_for("m")
    assert book.durations("m") == []  # ...and wait for the slow one submitted before them
    tracks[0].end((31.0, 31.0))
    assert book.durations("m") == durations
    tracks[0].end((99.0, 99.0))  # ended once only
    assert book.durations("m") == durations


async def test_a_job_that_ends_without_a_duration_stops_holding_others_back() -> None:
    clock = Clock()
    book = ScheduleBook(FakeHistory(), clock=clock)
    first, second = track_at(book, clock, clock.now), track_at(book, clock, clock.now)
    second.end((10.0, 10.0))
    assert book.durations("m") == []
    first.end(None)  # failed, timed out, cancelled or resumed after a restart
    assert book.durations("m") == [10.0]


async def test_a_job_running_far_too_long_stops_holding_others_back() -> None:
    clock = Clock()
    book = ScheduleBook(FakeHistory(), hold_limit=60.0, clock=clock)
    stuck, quick = track_at(book, clock, clock.now), track_at(book, clock, clock.now + 1)
    clock.now += 20.0
    quick.end((19.0, 19.0))
    await book.schedule_for("m")
    assert book.durations("m") == []
    clock.now += 41.0  # the stuck job has run for over `hold_limit`
    await book.schedule_for("m")
    assert book.durations("m") == [19.0]
    clock.now += 100.0
    stuck.end((160.0, 160.0))  # learned when it ends after all
    assert book.durations("m") == [19.0, 160.0]


async def test_jobs_still_running_keep_the_plan_from_looking_quicker() -> None:
    """A burst of 60 jobs, 18 s in: the quick ones have finished. Planning from them alone
    (what the book used to do) puts the checks early; counting the jobs still running
    (Kaplan–Meier) plans as if all had finished."""
    earlier = history(TYPICAL, 30, seed=3)
    burst = history(TYPICAL, 60, seed=4)
    clock = Clock()
    book = ScheduleBook(FakeHistory({"m": earlier}), replan_interval=0.0, clock=clock)
    await book.schedule_for("m")
    await book.wait_planned()
    tracks = [track_at(book, clock, clock.now) for _ in burst]
    clock.now += 18.0
    for track, seconds in zip(tracks, burst, strict=True):
        if seconds <= 18.0:
            track.end((seconds - 0.5, seconds))
    quick = [d for d in burst if d <= 18.0]
    assert 5 <= len(quick) <= 30
    await book.schedule_for("m")
    await book.wait_planned()
    plan = await book.schedule_for("m")
    assert isinstance(plan, PollPlan)

    def median_check(p: PollPlan) -> float:  # where the plan's checks are densest
        gaps = list(itertools.pairwise(p.times[:-6]))
        return min(gaps, key=lambda g: g[1] - g[0])[0]

    planner = PollPlanner()
    finished_only = planner.plan([*earlier, *quick])
    everything = planner.plan([*earlier, *burst])
    assert finished_only.times[0] < plan.times[0]
    assert abs(plan.times[0] - everything.times[0]) < abs(
        finished_only.times[0] - everything.times[0]
    )
    assert plan.expected_polls == pytest.approx(everything.expected_polls, abs=0.3)
    assert median_check(finished_only) < median_check(plan)


# --- the decisions of one job's poll loop -------------------------------------------------


class Recorded:
    def __init__(self) -> None:
        self.ends: list[tuple[float, float] | None] = []

    def end(self, finished: tuple[float, float] | None) -> None:
        self.ends.append(finished)


class FixedProvider:
    def __init__(self, schedule: PollSchedule) -> None:
        self.schedule = schedule
        self.tracks: list[tuple[float, Recorded]] = []

    async def schedule_for(self, model: str) -> PollSchedule:
        return self.schedule

    def track(self, model: str, elapsed: float) -> JobTrack:
        recorded = Recorded()
        self.tracks.append((elapsed, recorded))
        return recorded


async def test_job_polls_follow_the_schedule_and_report_where_the_task_finished() -> None:
    provider = FixedProvider(FixedSchedule(2.0))
    polls = JobPolls(provider, "m", elapsed=0.1, min_check_gap=0.5)
    seen = []
    for at in (2.0, 4.01, 6.0):
        assert await polls.next_check() == pytest.approx(at, abs=0.02)
        polls.checking(at)
        seen.append(at)
        if at < 6:
            polls.unfinished()
    polls.succeeded()
    polls.close()
    assert provider.tracks[0][0] == 0.1
    assert provider.tracks[0][1].ends == [(4.01, 6.0), None]  # the second end is ignored


async def test_job_polls_never_check_closer_than_the_minimum_gap() -> None:
    provider = FixedProvider(FixedSchedule(0.2))
    polls = JobPolls(provider, "m", elapsed=0.0, min_check_gap=0.5)
    polls.checking(1.0)
    polls.unfinished()
    assert await polls.next_check() == pytest.approx(1.6)


async def test_a_task_done_at_its_first_check_finished_since_submit() -> None:
    provider = FixedProvider(FixedSchedule(12.0))
    polls = JobPolls(provider, "m", elapsed=0.0, min_check_gap=0.5)
    polls.checking(await polls.next_check())
    polls.succeeded()
    assert provider.tracks[0][1].ends == [(0.0, 12.0)]


async def test_a_resumed_job_that_missed_its_checks_teaches_nothing() -> None:
    provider = FixedProvider(FixedSchedule(12.0))
    polls = JobPolls(provider, "m", elapsed=30.0, min_check_gap=0.5)  # checked before restart
    polls.checking(await polls.next_check())
    polls.succeeded()
    assert provider.tracks[0][1].ends == [None]


async def test_a_resumed_job_is_checked_at_once_then_on_the_plan() -> None:
    """A job another run submitted (a restart, a dead process): what that run saw is
    unknown, so its first check is at once, even before the plan's first one."""
    provider = FixedProvider(FixedSchedule(12.0))
    polls = JobPolls(provider, "m", elapsed=5.0, min_check_gap=0.5, resumed=True)
    assert await polls.next_check() == pytest.approx(5.0)
    polls.checking(5.0)
    polls.unfinished()
    assert await polls.next_check() == pytest.approx(12.0)  # then the plan's checks
    fresh = JobPolls(provider, "m", elapsed=5.0, min_check_gap=0.5)
    assert await fresh.next_check() == pytest.approx(12.0)


async def test_what_a_finished_job_teaches() -> None:
    """Points spread over the interval between the two checks (not all its middle); a
    task done at its first check most likely finished shortly before it."""
    book = ScheduleBook(FakeHistory(), clock=Clock())
    for _ in range(20):
        book.track("m", 0.0).end((16.0, 20.0))
    learned = book.durations("m")
    assert all(16.0 <= d <= 20.0 for d in learned)
    assert len(set(learned)) == 20
    assert statistics.fmean(learned) == pytest.approx(18.0, abs=0.2)
    for _ in range(20):
        book.track("m", 0.0).end((0.0, 12.0))
    assert all(6.0 <= d <= 12.0 for d in book.durations("m")[20:])
