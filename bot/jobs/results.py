"""What members do with jobs and results: rerun (🔄, ✏️), cancel, delete rights."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import TypeVar

from bot.catalog.validation import ImageInput
from bot.errors import UserFacingError
from bot.jobs.flags import ImagineOptions, resolve_options
from bot.jobs.intake import Intake, JobRequest
from bot.jobs.models import DiscordTarget, Job, JobParams, JobState
from bot.jobs.repository import JobRepository
from bot.jobs.scheduler import JobScheduler
from bot.ops.metrics import Metrics
from bot.quota import QuotaService
from bot.storage import Database, Transaction
from bot.ui.messenger import DeliveryError, Messenger
from bot.ui.render import render_status

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# A job can be cancelled until its images are being delivered.
CANCELLABLE = (JobState.QUEUED, JobState.SUBMITTING, JobState.PENDING, JobState.RUNNING)
NOTICES_REMEMBERED = 10_000


class ResultsService:
    """The results side of the road: finding a result, rerunning it (🔄, ✏️) through the
    intake, cancelling a job, delete rights."""

    def __init__(
        self,
        *,
        intake: Intake,
        db: Database,
        jobs: JobRepository,
        quota: QuotaService,
        scheduler: JobScheduler,
        messenger: Messenger,
        metrics: Metrics,
    ) -> None:
        self._intake, self._db, self._jobs, self._quota = intake, db, jobs, quota
        self._scheduler, self._messenger, self._metrics = scheduler, messenger, metrics
        # (message id, user id) of 🔄 refusals already told: one notice per member and
        # result, however often they toggle (reactions have no ephemeral answers).
        self._noticed: OrderedDict[tuple[int, int], None] = OrderedDict()

    def first_notice(self, message_id: int, user_id: int) -> bool:
        """True the first time a member is told something about a result's 🔄."""
        key = (message_id, user_id)
        if key in self._noticed:
            self._noticed.move_to_end(key)
            return False
        self._noticed[key] = None
        while len(self._noticed) > NOTICES_REMEMBERED:
            self._noticed.popitem(last=False)
        return True

    async def job(self, job_id: int) -> Job:
        job = await self._jobs.get(job_id)
        if job is None:
            raise UserFacingError("error.job_not_found", job_id=job_id)
        return job

    async def result_for_message(self, message_id: int) -> Job | None:
        """The finished job this message shows, if any."""
        job = await self._jobs.by_message(message_id)
        return job if job is not None and job.state is JobState.SUCCEEDED else None

    @staticmethod
    def reroll_request(
        source: Job, target: DiscordTarget, *, role_ids: Sequence[int] = ()
    ) -> JobRequest:
        """🔄: the same parameters again, charged to `target.user_id`."""
        return JobRequest(target, source=source, role_ids=tuple(role_ids))

    @staticmethod
    def edit_request(
        source: Job, prompt: str, target: DiscordTarget, *, role_ids: Sequence[int] = ()
    ) -> JobRequest:
        """✏️: the same request with a new prompt. The new text may carry flags like
        /imagine's (`--ar 16:9 --n 2 --model …`): they replace the source's settings;
        everything else is kept (the model-specific ones only while the model stays)."""
        image = None
        if source.params.image_url:  # validated when the source job was made
            image = ImageInput("reference.png", "image/png", 0, source.params.image_url)
        options = merge_edit(resolve_options(prompt), source.params)
        return JobRequest(target, options, source=source, image=image, role_ids=tuple(role_ids))

    async def reroll_by_reaction(self, request: JobRequest) -> Job | None:
        """A 🔄 reaction: at most one job per member and message, however they toggle it.

        Returns None when this member's reaction was already handled. A refusal raises
        and releases the claim, so the member can try again once allowed.
        """
        assert request.source is not None and request.source.message_id is not None
        message_id, user_id = request.source.message_id, request.target.user_id
        if not await self._jobs.claim_reroll(message_id, user_id):
            return None
        try:
            job = await self._intake.start(request, self._intake.check(request))
        except BaseException:
            await self._jobs.release_reroll(message_id, user_id)
            raise
        await self._jobs.bind_reroll(message_id, user_id, job.id)
        return job

    async def cancel(self, job_id: int, *, user_id: int, is_admin: bool) -> tuple[Job, int]:
        """Cancel a queued or running job; returns it and the credits it keeps.

        Credits follow the operator's spend: a job GeekAI never got (no task id yet) is
        refunded in full; once GeekAI has the task it is paid for, so the credits stay.
        A delivered job stays delivered."""
        job = await self.job(job_id)
        if job.user_id != user_id and not is_admin:
            raise UserFacingError("error.not_your_job")

        async def cancel(conn: Transaction) -> tuple[Job, int]:
            cancelled = await self._jobs.transition_in(
                conn, job_id, JobState.CANCELLED, only_from=CANCELLABLE
            )
            if cancelled is None:
                raise UserFacingError("error.cannot_cancel", job_id=job_id)
            if cancelled.task_id is None:
                await self._quota.refund(conn, job_id)
                return cancelled, 0
            settled = await self._quota.commit(conn, job_id, cancelled.params.max_images)
            return cancelled, settled.charged if settled is not None else 0

        cancelled, kept = await self._db.write(cancel)
        # Interrupt the runner; GeekAI has no cancel endpoint, so a submitted task just ends
        # unobserved (its result is never fetched or posted).
        self._scheduler.stop(job_id)
        log.info("job %s: cancelled by user %s (%s credits kept)", job_id, user_id, kept)
        self._metrics.job_finished(cancelled.state, cancelled.model)
        try:
            await self._messenger.finish(cancelled, render_status(cancelled))
        except DeliveryError as exc:
            log.warning("job %s: could not show the cancellation: %s", job_id, exc)
        return cancelled, kept

    def may_delete(self, job: Job, user_id: int, *, is_admin: bool) -> bool:
        return user_id == job.user_id or is_admin


def merge_edit(edited: ImagineOptions, source: JobParams) -> ImagineOptions:
    """An edited prompt's options: its flags first, then the source job's settings."""
    same_model = edited.model is None or edited.model.lower() == source.model.lower()

    def kept(flag: _T | None, old: _T | None) -> _T | None:
        if flag is not None:
            return flag
        return old if same_model else None

    # A size and an aspect ratio exclude each other: a flag for one drops the other.
    size = edited.size
    ratio = edited.aspect_ratio
    if size is None and ratio is None:
        size, ratio = kept(None, source.size), kept(None, source.aspect_ratio)
    return ImagineOptions(
        prompt=edited.prompt,
        model=edited.model or source.model,
        size=size,
        aspect_ratio=ratio,
        n=edited.n if edited.n is not None else source.n,
        quality=kept(edited.quality, source.quality),
        negative_prompt=(
            edited.negative_prompt if edited.negative_prompt is not None else source.negative_prompt
        ),
        style=kept(edited.style, source.style),
        strength=edited.strength if edited.strength is not None else source.strength,
        background=kept(edited.background, source.background),
        sequential=kept(edited.sequential, source.sequential_images),
        unknown_flags=edited.unknown_flags,
    )
