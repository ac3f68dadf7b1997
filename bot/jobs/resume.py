"""At start: settle what ended before a restart, then let the scheduler take the rest over."""

from __future__ import annotations

import logging

from bot.jobs.models import JobState
from bot.jobs.repository import JobRepository
from bot.jobs.scheduler import JobScheduler
from bot.quota import QuotaService
from bot.ui.positions import QueuePositions

log = logging.getLogger(__name__)


async def resume_unfinished(
    *,
    quota: QuotaService,
    jobs: JobRepository,
    scheduler: JobScheduler,
    positions: QueuePositions,
) -> int:
    """Settle jobs that ended before a restart, then start the scheduler: it takes over
    every job whose process is gone (all of them when alone on SQLite) and starts waiting
    ones. Returns how many unfinished jobs there are."""
    settled = await quota.settle_finished_jobs()
    if settled:
        log.info("settled %s reservation(s) of jobs that ended before a restart", len(settled))
    unfinished = await jobs.unfinished()
    for job in unfinished:
        if job.state is JobState.QUEUED:
            positions.track(job)
        else:
            log.info("job %s: unfinished in state %s (task %s)", job.id, job.state, job.task_id)
    await scheduler.start(exclusive=positions.alone)
    await scheduler.pump()
    return len(unfinished)
