"""The fleet-wide fair queue and leases, on a real database of each engine."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.errors import UserFacingError
from bot.jobs.fair_queue import (
    QueueStore,
    Snapshot,
    Waiting,
    plan_starts,
    plan_takeovers,
    start_order,
)
from bot.jobs.models import DiscordTarget, JobParams, JobState
from bot.jobs.repository import JobRepository
from bot.jobs.scheduler import JobScheduler, QueueFullError, QueueLimits, UserQueueFullError
from bot.storage import Database, Row, Transaction

TARGET = DiscordTarget(
    guild_id=1,
    channel_id=2,
    user_id=100,
    locale="en-US",
    application_id=4,
    interaction_id=5,
    interaction_token="secret-token",
    interaction_created_at=100.0,
    upload_limit=10_000_000,
)
PARAMS = JobParams(model="dall-e-3", prompt="a fox")


class Recorder:
    """A stand-in runner: records starts and runs until told to finish."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.rows: dict[int, Row] = {}
        self.gates: dict[int, asyncio.Event] = {}

    async def run(self, job_id: int, row: Row) -> None:
        self.started.append(job_id)
        self.rows[job_id] = row
        await self.gates.setdefault(job_id, asyncio.Event()).wait()

    def finish(self, job_id: int) -> None:
        self.gates.setdefault(job_id, asyncio.Event()).set()


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def add_job(db: Database, user_id: int, guild_id: int = 1) -> int:
    target = dataclasses.replace(TARGET, user_id=user_id, guild_id=guild_id)
    return (await JobRepository(db).create(target, PARAMS)).id


async def finish(db: Database, rec: Recorder, job_id: int) -> None:
    """The runner's end of a job: a terminal state (which drops the lease), then return."""
    await JobRepository(db).transition(job_id, JobState.SUCCEEDED)
    rec.finish(job_id)


def scheduler_for(db: Database, rec: Recorder, limits: QueueLimits, **kw: object) -> JobScheduler:
    return JobScheduler(rec.run, db=db, limits=limits, poll_interval=0.05, **kw)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0.01)


async def test_round_robin_lets_a_small_user_pass_a_big_batch(db: Database) -> None:
    rec = Recorder()
    scheduler = scheduler_for(db, rec, QueueLimits(max_running=1, max_queued_per_user=20))
    big = [await add_job(db, user_id=100) for _ in range(10)]  # user A queues 10
    small = await add_job(db, user_id=200)  # user B queues 1
    assert await scheduler.pump(position_of=small) == 1  # B is next, ahead of A's second
    await settle()
    assert rec.started == [big[0]]
    await finish(db, rec, big[0])
    await settle()
    await scheduler.pump()
    await settle()
    assert rec.started == [big[0], small]
    for job_id in [small, *big[1:]]:
        await finish(db, rec, job_id)
        await scheduler.pump()
        await settle()
    assert rec.started == [big[0], small, *big[1:]]
    await scheduler.close()


async def test_caps_per_user_per_server_and_in_all(db: Database) -> None:
    rec = Recorder()
    limits = QueueLimits(max_running=4, max_running_per_user=2, max_running_per_guild=3)
    scheduler = scheduler_for(db, rec, limits)
    a = [await add_job(db, user_id=1) for _ in range(3)]
    b = await add_job(db, user_id=2)
    c = await add_job(db, user_id=3)
    d = await add_job(db, user_id=5)  # server 1 runs 3 now: d waits for its share
    other = await add_job(db, user_id=4, guild_id=9)
    await scheduler.pump()
    await settle()
    # Round-robin: members never served go first, and server 9 between them.
    assert rec.started == [a[0], other, b, c]
    await finish(db, rec, b)
    await scheduler.pump()
    await settle()
    assert rec.started[-1] == d  # never served, so before member 1's second job
    await finish(db, rec, c)
    await finish(db, rec, d)
    await scheduler.pump()
    await settle()
    assert a[1] in rec.started and a[2] not in rec.started  # member 1 at their cap of 2
    await scheduler.close()


def test_round_robin_is_by_server_then_member() -> None:
    snapshot = Snapshot(
        waiting=[
            Waiting(1, user_id=10, guild_id=1),
            Waiting(2, user_id=11, guild_id=1),
            Waiting(3, user_id=10, guild_id=1),
            Waiting(4, user_id=20, guild_id=2),
        ]
    )
    # Server 2's only job goes second, before server 1's other members' jobs.
    assert start_order(snapshot) == [1, 4, 2, 3]
    started = plan_starts(snapshot, QueueLimits(max_running=2))
    assert [job.job_id for job in started] == [1, 4]


async def test_queue_bounds_refuse_and_hold_for_simultaneous_requests(db: Database) -> None:
    rec = Recorder()
    limits = QueueLimits(max_running=1, max_queued_per_user=2, max_queued=5)
    scheduler = scheduler_for(db, rec, limits)
    repo = JobRepository(db)

    async def request(user_id: int) -> bool:
        async def body(tx: Transaction) -> None:
            await scheduler.admit(tx, user_id=user_id, guild_id=1)
            target = dataclasses.replace(TARGET, user_id=user_id)
            await repo.insert(tx, target, PARAMS)

        try:
            await db.write(body)
        except UserQueueFullError:
            return False
        return True

    results = await asyncio.gather(*(request(100) for _ in range(12)))
    assert results.count(True) == 2  # the cap, although all 12 came at once
    for user in (200, 300, 400):
        assert await request(user)
    with pytest.raises(QueueFullError):
        await db.write(lambda tx: scheduler.admit(tx, user_id=500, guild_id=1))
    await scheduler.close()


async def test_cooldown_holds_for_simultaneous_requests(db: Database) -> None:
    rec = Recorder()
    clock = Clock()
    scheduler = scheduler_for(db, rec, QueueLimits(), cooldown=30.0, clock=clock)
    repo = JobRepository(db, clock)

    async def request() -> str:
        async def body(tx: Transaction) -> None:
            await scheduler.admit(tx, user_id=100, guild_id=1)
            await repo.insert(tx, TARGET, PARAMS)

        try:
            await db.write(body)
        except UserFacingError as exc:
            return exc.key
        return "ok"

    results = await asyncio.gather(*(request() for _ in range(6)))
    assert sorted(results) == ["error.cooldown"] * 5 + ["ok"]
    clock.now += 31
    assert await request() == "ok"
    await scheduler.close()


async def test_a_stopped_process_hands_its_jobs_over_at_once(db: Database) -> None:
    first, second = Recorder(), Recorder()
    limits = QueueLimits(max_running=5)
    one = scheduler_for(db, first, limits, owner="one")
    jobs = [await add_job(db, user_id=u) for u in (1, 2)]
    await one.pump()
    await settle()
    assert sorted(first.started) == jobs
    await JobRepository(db).transition(jobs[0], JobState.PENDING, task_id="t-1")
    await one.close()  # graceful: releases both leases
    two = scheduler_for(db, second, limits, owner="two")
    await two.pump()
    await settle()
    assert sorted(second.started) == jobs  # the pending one and the claimed queued one
    await two.close()


async def test_a_dead_process_jobs_are_taken_over_after_the_lease(db: Database) -> None:
    clock = Clock()
    first, second = Recorder(), Recorder()
    limits = QueueLimits(max_running=5)
    one = scheduler_for(db, first, limits, owner="one", lease_seconds=30, clock=clock)
    job = await add_job(db, user_id=1)
    await one.pump()
    await settle()
    assert first.started == [job]
    # "one" dies without a word (kill -9): its lease stays until it runs out.
    two = scheduler_for(db, second, limits, owner="two", lease_seconds=30, clock=clock)
    await two.pump()
    await settle()
    assert second.started == []
    clock.now += 31
    await two.pump()
    await settle()
    assert second.started == [job]
    # The old owner can no longer write the job's steps.
    repo = JobRepository(db)
    assert await repo.transition(job, JobState.PENDING, owner="one", task_id="x") is None
    assert await repo.transition(job, JobState.PENDING, owner="two", task_id="y") is not None
    await two.close()


async def test_survivors_split_a_dead_process_jobs(db: Database) -> None:
    """The first survivor to look takes its even share of the orphans, not all of them
    (it would run them behind its own work while the other survivor idles)."""
    clock = Clock()
    store = QueueStore(db, clock)
    dead, second, third = Recorder(), Recorder(), Recorder()
    limits = QueueLimits(max_running=10, max_running_per_user=10)
    one = scheduler_for(db, dead, limits, owner="one", lease_seconds=30, clock=clock)
    await store.join("one")
    jobs = [await add_job(db, user_id=u) for u in range(1, 7)]
    await one.pump()
    await settle()
    assert sorted(dead.started) == jobs
    clock.now += 31  # "one" died (kill -9): its leases and its heartbeat run out
    two = scheduler_for(db, second, limits, owner="two", lease_seconds=30, clock=clock)
    three = scheduler_for(db, third, limits, owner="three", lease_seconds=30, clock=clock)
    await store.join("two")
    await store.join("three")
    await two.pump()
    await settle()
    assert second.started == jobs[0::2]  # spread over the orphans, not the oldest three
    await three.pump()
    await settle()
    assert third.started == jobs[1::2]
    for scheduler in (two, three):
        await scheduler.close()


def test_takeovers_even_out_the_fleet_and_always_progress() -> None:
    alone = Snapshot(running=5, orphans=[1, 2, 3], mine=2, processes=1)
    assert plan_takeovers(alone) == [1, 2, 3]
    # Two live processes, 10 running, 4 orphans; this one runs 1: up to 5, so all 4.
    light = Snapshot(running=10, orphans=[1, 2, 3, 4], mine=1, processes=2)
    assert plan_takeovers(light) == [1, 2, 3, 4] and light.mine == 5
    # This one runs 6 of 10 already: still its half of the orphans, so none waits for ever.
    heavy = Snapshot(running=10, orphans=[1, 2, 3, 4], mine=6, processes=2)
    assert plan_takeovers(heavy) == [1, 3]
    # Spread evenly: 3 of 7, from everywhere in the list.
    spread = Snapshot(running=7, orphans=[10, 11, 12, 13, 14, 15, 16], mine=0, processes=3)
    assert plan_takeovers(spread) == [10, 12, 14]
    assert plan_takeovers(Snapshot(running=4, mine=4, processes=2)) == []


async def test_a_runner_starts_from_its_job_as_claimed(db: Database) -> None:
    """The runner is handed the claimed row (it need not read the job again): after a
    takeover, hundreds of such reads queued behind the process's other database work."""
    clock = Clock()
    first, second = Recorder(), Recorder()
    one = scheduler_for(db, first, QueueLimits(), owner="one", lease_seconds=30, clock=clock)
    job = await add_job(db, user_id=1)
    await JobRepository(db).transition(job, JobState.PENDING, task_id="t-1")
    await one.pump()
    await settle()
    assert first.rows[job]["lease_owner"] == "one"
    clock.now += 31
    two = scheduler_for(db, second, QueueLimits(), owner="two", lease_seconds=30, clock=clock)
    await two.pump()
    await settle()
    taken = JobRepository.from_row(second.rows[job])
    assert (taken.id, taken.state, taken.task_id) == (job, JobState.PENDING, "t-1")
    assert second.rows[job]["lease_owner"] == "two"
    await two.close()


async def test_renewal_stops_a_job_that_ended_elsewhere(db: Database) -> None:
    rec = Recorder()
    scheduler = scheduler_for(db, rec, QueueLimits(), owner="one", lease_seconds=3)
    job = await add_job(db, user_id=1)
    await scheduler.start()
    await scheduler.pump()
    await settle()
    assert scheduler.running == {job}
    # Cancelled by another process (a /jobs button on another shard).
    await JobRepository(db).transition(job, JobState.CANCELLED)
    for _ in range(40):
        if not scheduler.running:
            break
        await asyncio.sleep(0.1)
    assert scheduler.running == frozenset()
    await scheduler.close()


async def test_positions_are_published(db: Database) -> None:
    rec = Recorder()
    published: list[dict[int, int]] = []
    scheduler = scheduler_for(db, rec, QueueLimits(max_running=1), on_positions=published.append)
    first = await add_job(db, user_id=1)
    second = await add_job(db, user_id=1)
    third = await add_job(db, user_id=2)
    assert await scheduler.pump(position_of=second) == 2
    assert published[-1] == {third: 1, second: 2}
    assert rec.started == [] or rec.started == [first]
    await scheduler.close()


def test_a_process_runs_its_share_of_the_fleets_slots() -> None:
    """Three live processes share 6 slots: the one planning takes 2, not all 6; alone it
    would take them all."""
    waiting = [Waiting(i, user_id=i, guild_id=1) for i in range(1, 9)]
    shared = Snapshot(waiting=list(waiting), processes=3)
    assert len(plan_starts(shared, QueueLimits(max_running=6))) == 2
    alone = Snapshot(waiting=list(waiting), processes=1)
    assert len(plan_starts(alone, QueueLimits(max_running=6))) == 6
