"""A fair queue: global and per-user caps, round-robin across users, bounded length.

One user's batch never blocks others: whenever a slot frees up, the next user in rotation
who has a waiting job (and is under their own running cap) gets it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.errors import UserFacingError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueLimits:
    max_running: int = 20
    max_running_per_user: int = 2
    max_queued_per_user: int = 10
    max_queued: int = 500


class QueueFullError(UserFacingError):
    """The whole queue is at its bound: try again later."""


class UserQueueFullError(UserFacingError):
    """This user already has as many jobs waiting as allowed."""


class JobScheduler:
    def __init__(
        self,
        run: Callable[[int], Coroutine[Any, Any, None]],
        *,
        limits: QueueLimits,
        on_positions: Callable[[dict[int, int]], None] | None = None,
    ) -> None:
        self._run = run
        self._limits = limits
        self._on_positions = on_positions
        # user id → their waiting job ids, oldest first.
        self._waiting: dict[int, deque[int]] = {}
        # user id → when they last got a slot (a counter); the least recently served go first.
        self._served: dict[int, int] = {}
        self._starts = 0
        self._running: dict[int, asyncio.Task[None]] = {}
        self._owner: dict[int, int] = {}  # job id → user id, for waiting and running jobs
        self._closed = False

    @property
    def running(self) -> frozenset[int]:
        return frozenset(self._running)

    @property
    def queued_count(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    def running_for(self, user_id: int) -> int:
        return sum(1 for job_id in self._running if self._owner.get(job_id) == user_id)

    def queued_for(self, user_id: int) -> int:
        return len(self._waiting.get(user_id, ()))

    def check_room(self, user_id: int) -> None:
        """Raise if a new job from this user would not fit (call before charging)."""
        if self.queued_count >= self._limits.max_queued:
            raise QueueFullError("error.queue_full")
        if self.queued_for(user_id) >= self._limits.max_queued_per_user:
            raise UserQueueFullError(
                "error.user_queue_full", limit=self._limits.max_queued_per_user
            )

    def enqueue(self, job_id: int, user_id: int) -> int | None:
        """Queue a job; returns its position, or None if it started at once.

        Resumed jobs are enqueued even past the bounds: they were accepted already.
        """
        if self._closed:
            raise RuntimeError("scheduler is shut down")
        if job_id in self._owner:
            return self.position(job_id)
        self._owner[job_id] = user_id
        self._waiting.setdefault(user_id, deque()).append(job_id)
        self._pump()
        return self.position(job_id)

    def remove(self, job_id: int) -> bool:
        """Take a waiting job out of the queue (cancel). False if it is not waiting."""
        user_id = self._owner.get(job_id)
        queue = self._waiting.get(user_id) if user_id is not None else None
        if queue is None or job_id not in queue:
            return False
        queue.remove(job_id)
        if not queue:
            del self._waiting[self._owner[job_id]]
        del self._owner[job_id]
        self._publish_positions()
        return True

    def stop(self, job_id: int) -> bool:
        """Take a job out of the queue, or interrupt it if running. False if neither."""
        if self.remove(job_id):
            return True
        task = self._running.get(job_id)
        if task is None:
            return False
        task.cancel()
        return True

    def _rotation(self) -> list[int]:
        """Users with waiting jobs, least recently served first (then by arrival)."""
        return sorted(self._waiting, key=lambda user: self._served.get(user, -1))

    def order(self) -> list[int]:
        """Waiting job ids in the order they will start (round-robin by user)."""
        queues = [list(self._waiting[user]) for user in self._rotation()]
        result: list[int] = []
        for depth in range(max((len(q) for q in queues), default=0)):
            result.extend(q[depth] for q in queues if depth < len(q))
        return result

    def position(self, job_id: int) -> int | None:
        """1-based place in the start order, or None if the job is not waiting."""
        try:
            return self.order().index(job_id) + 1
        except ValueError:
            return None

    def _next_job(self) -> int | None:
        for user_id in self._rotation():
            if self.running_for(user_id) >= self._limits.max_running_per_user:
                continue
            queue = self._waiting[user_id]
            job_id = queue.popleft()
            if not queue:
                del self._waiting[user_id]
            self._starts += 1
            self._served[user_id] = self._starts  # to the back of the rotation
            return job_id
        return None

    def _pump(self) -> None:
        started = False
        while not self._closed and len(self._running) < self._limits.max_running:
            job_id = self._next_job()
            if job_id is None:
                break
            task = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")
            self._running[job_id] = task
            task.add_done_callback(functools.partial(self._finished, job_id))
            started = True
        if started:
            self._publish_positions()

    def _publish_positions(self) -> None:
        if self._on_positions is not None and self._waiting:
            self._on_positions({job_id: i for i, job_id in enumerate(self.order(), start=1)})

    def _finished(self, job_id: int, task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        self._owner.pop(job_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("job %s: runner crashed", job_id, exc_info=task.exception())
        self._pump()

    async def wait_idle(self) -> None:
        """Wait until nothing runs or waits (tests, benchmarks)."""
        while self._running or self._waiting:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            await asyncio.sleep(0)

    async def close(self) -> None:
        """Stop starting jobs and interrupt running ones; their state stays resumable."""
        self._closed = True
        self._waiting.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
