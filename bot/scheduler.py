"""Starts queued jobs in order, at most `max_running` at a time."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class JobScheduler:
    def __init__(
        self, run: Callable[[int], Coroutine[Any, Any, None]], *, max_running: int
    ) -> None:
        self._run = run
        self._max_running = max_running
        self._waiting: deque[int] = deque()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._closed = False

    @property
    def running(self) -> frozenset[int]:
        return frozenset(self._running)

    def position(self, job_id: int) -> int | None:
        """1-based place in the queue, or None if the job is not waiting."""
        try:
            return self._waiting.index(job_id) + 1
        except ValueError:
            return None

    def enqueue(self, job_id: int) -> int | None:
        """Queue a job; returns its position, or None if it started at once."""
        if self._closed:
            raise RuntimeError("scheduler is shut down")
        if job_id in self._running or job_id in self._waiting:
            return self.position(job_id)
        self._waiting.append(job_id)
        self._pump()
        return self.position(job_id)

    def _pump(self) -> None:
        while self._waiting and len(self._running) < self._max_running and not self._closed:
            job_id = self._waiting.popleft()
            task = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")
            self._running[job_id] = task
            task.add_done_callback(functools.partial(self._finished, job_id))

    def _finished(self, job_id: int, task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("job %s: runner crashed", job_id, exc_info=task.exception())
        self._pump()

    async def wait_idle(self) -> None:
        """Wait until nothing runs or waits (tests, benchmarks)."""
        while self._running or self._waiting:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def close(self) -> None:
        """Stop starting jobs and interrupt running ones; their state stays resumable."""
        self._closed = True
        self._waiting.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
