"""A queued job's place in the queue, as its status message shows it.

Alone on the database (SQLite), this process keeps every queued message's position
current. In a fleet another process may already be showing (or have finished) a job, and a
late position edit from here would overwrite what it shows: a new job's position is shown
once, and whichever process claims the job shows the rest.
"""

from __future__ import annotations

from bot.jobs.models import Job
from bot.ui.messenger import Messenger
from bot.ui.render import render_status


class QueuePositions:
    def __init__(self, messenger: Messenger, *, alone: bool) -> None:
        self._messenger = messenger
        self.alone = alone
        self._queued: dict[int, Job] = {}  # jobs waiting in the queue, by id

    async def show_new(self, job: Job, position: int | None) -> None:
        """The new job's first status: queued at `position`, or already started (None)."""
        view = render_status(job, position=position)
        if position is not None and not self.alone:
            self._messenger.show_once(job, view)
            return
        if position is not None:
            self._queued[job.id] = job
        await self._messenger.show(job, view)

    def track(self, job: Job) -> None:
        """Keep showing the position of a job found queued at start (alone only)."""
        if self.alone:
            self._queued[job.id] = job

    def update(self, positions: dict[int, int]) -> None:
        """Keep each queued job's shown position current (the messenger coalesces)."""
        for job_id in list(self._queued):
            if job_id not in positions:
                del self._queued[job_id]
        for job_id, position in positions.items():
            job = self._queued.get(job_id)
            if job is not None:
                self._messenger.show_nowait(job, render_status(job, position=position))
