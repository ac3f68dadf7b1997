from __future__ import annotations

import asyncio

from bot.scheduler import JobScheduler


async def test_caps_running_jobs_and_keeps_fifo_order() -> None:
    started: list[int] = []
    gates = {i: asyncio.Event() for i in range(1, 6)}

    async def run(job_id: int) -> None:
        started.append(job_id)
        await gates[job_id].wait()

    scheduler = JobScheduler(run, max_running=2)
    positions = [scheduler.enqueue(i) for i in range(1, 6)]
    assert positions == [None, None, 1, 2, 3]
    await asyncio.sleep(0)
    assert started == [1, 2]
    gates[2].set()
    await asyncio.sleep(0.01)
    assert started == [1, 2, 3]
    assert scheduler.position(5) == 2
    for gate in gates.values():
        gate.set()
    await scheduler.wait_idle()
    assert started == [1, 2, 3, 4, 5]


async def test_enqueue_twice_is_a_no_op_and_close_cancels() -> None:
    cancelled: list[int] = []

    async def run(job_id: int) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(job_id)
            raise

    scheduler = JobScheduler(run, max_running=1)
    scheduler.enqueue(1)
    scheduler.enqueue(1)
    scheduler.enqueue(2)
    await asyncio.sleep(0)
    assert scheduler.running == frozenset({1})
    await scheduler.close()
    assert cancelled == [1]
    assert scheduler.position(2) is None
