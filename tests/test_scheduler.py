from __future__ import annotations

import asyncio

import pytest

from bot.scheduler import JobScheduler, QueueFullError, QueueLimits, UserQueueFullError


class Recorder:
    def __init__(self) -> None:
        self.started: list[int] = []
        self.gates: dict[int, asyncio.Event] = {}

    async def run(self, job_id: int) -> None:
        self.started.append(job_id)
        await self.gates.setdefault(job_id, asyncio.Event()).wait()

    def finish(self, job_id: int) -> None:
        self.gates.setdefault(job_id, asyncio.Event()).set()


async def test_round_robin_lets_a_small_user_pass_a_big_batch() -> None:
    rec = Recorder()
    scheduler = JobScheduler(rec.run, limits=QueueLimits(max_running=1, max_queued_per_user=20))
    for job_id in range(1, 11):  # user A queues 10
        scheduler.enqueue(job_id, user_id=100)
    scheduler.enqueue(99, user_id=200)  # user B queues 1
    await asyncio.sleep(0)
    assert rec.started == [1]
    assert scheduler.position(99) == 1  # B is next, ahead of A's second job
    rec.finish(1)
    await asyncio.sleep(0.01)
    assert rec.started == [1, 99]
    for job_id in range(1, 11):
        rec.finish(job_id)
    rec.finish(99)
    await scheduler.wait_idle()
    assert rec.started == [1, 99, *range(2, 11)]


async def test_per_user_running_cap_and_global_cap() -> None:
    rec = Recorder()
    limits = QueueLimits(max_running=3, max_running_per_user=2)
    scheduler = JobScheduler(rec.run, limits=limits)
    for job_id in (1, 2, 3):
        scheduler.enqueue(job_id, user_id=1)
    scheduler.enqueue(4, user_id=2)
    scheduler.enqueue(5, user_id=3)
    await asyncio.sleep(0)
    assert sorted(rec.started) == [1, 2, 4]  # user 1 capped at 2; global cap 3
    assert scheduler.order() == [5, 3]  # user 3 was never served; user 1 twice
    rec.finish(4)
    await asyncio.sleep(0.01)
    assert 5 in rec.started and 3 not in rec.started  # user 1 still at their cap
    await scheduler.close()


def test_bounds_refuse_before_charging() -> None:
    async def never(job_id: int) -> None:
        await asyncio.sleep(60)

    async def scenario() -> None:
        limits = QueueLimits(max_running=1, max_queued_per_user=2, max_queued=3)
        scheduler = JobScheduler(never, limits=limits)
        scheduler.enqueue(1, 10)  # runs
        scheduler.enqueue(2, 10)
        scheduler.enqueue(3, 10)
        with pytest.raises(UserQueueFullError) as info:
            scheduler.check_room(10)
        assert info.value.params == {"limit": 2}
        scheduler.check_room(11)
        scheduler.enqueue(4, 11)
        with pytest.raises(QueueFullError):
            scheduler.check_room(12)
        await scheduler.close()

    asyncio.run(scenario())


async def test_positions_are_published_and_stop_removes() -> None:
    rec = Recorder()
    seen: list[dict[int, int]] = []
    scheduler = JobScheduler(rec.run, limits=QueueLimits(max_running=1), on_positions=seen.append)
    for job_id, user in ((1, 1), (2, 1), (3, 2)):
        scheduler.enqueue(job_id, user)
    await asyncio.sleep(0)
    assert scheduler.order() == [3, 2]
    assert scheduler.stop(3) and scheduler.order() == [2]
    assert seen[-1] == {2: 1}
    assert scheduler.stop(1)  # running: interrupted
    await asyncio.sleep(0.01)
    assert rec.started == [1, 2]
    assert not scheduler.stop(42)
    await scheduler.close()


async def test_close_cancels_running_jobs() -> None:
    cancelled: list[int] = []

    async def run(job_id: int) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(job_id)
            raise

    scheduler = JobScheduler(run, limits=QueueLimits(max_running=1))
    scheduler.enqueue(1, 1)
    scheduler.enqueue(1, 1)  # twice: no-op
    scheduler.enqueue(2, 1)
    await asyncio.sleep(0)
    assert scheduler.running == frozenset({1})
    await scheduler.close()
    assert cancelled == [1]
    assert scheduler.position(2) is None
