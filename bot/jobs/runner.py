"""Runs one job from wherever it stands to the end: submit, poll, deliver or fail.

Every step is written to the database before the next begins, so a job picked up after a
restart continues: a job with a task id is polled, never submitted again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot import geekai
from bot.catalog.spec import Catalog
from bot.i18n.lookup import format_duration, t
from bot.jobs.models import Job, JobState
from bot.jobs.polling.schedules import JobPolls, ScheduleProvider, StaticSchedules
from bot.jobs.references import ReferenceImages
from bot.jobs.repository import JobRepository
from bot.media.delivery import prepare_delivery
from bot.media.errors import ImageError
from bot.ops.alerts import OperatorAlerts
from bot.ops.log_context import bind_job
from bot.ops.metrics import Metrics
from bot.quota import QuotaService
from bot.storage import Database, Row, StorageError, Transaction
from bot.ui.components import REROLL_EMOJI, result_buttons
from bot.ui.messenger import DeliveryError, Messenger
from bot.ui.render import StatusView, render_status

log = logging.getLogger(__name__)

# Failures only the operator can fix: they get an alert (once), users a plain sentence.
OPERATOR_FAILURES = frozenset({"auth", "out_of_balance"})
_MODERATION_HINTS = ("sensitive", "content_filter", "moderation", "policy", "safety", "nsfw")


@dataclass(frozen=True)
class RunnerConfig:
    job_timeout: float = 600.0
    max_download_bytes: int = 40 * 1024 * 1024
    # When to check each model's tasks: a ScheduleBook learns it from past jobs.
    schedules: ScheduleProvider = field(default_factory=StaticSchedules)
    # A new plan can put a check right after the last one; skip such near-repeats.
    min_check_gap: float = 0.5
    # Images being downloaded, fitted and uploaded at once: bounds memory when many jobs
    # finish together (each holds its image bytes and a decoded copy meanwhile).
    max_parallel_deliveries: int = 4
    # This process's name on job leases: every step it writes requires it still holds the
    # job's lease (None: unchecked, for tests that run the runner alone).
    owner: str | None = None
    # Tries to record a delivered result (1, 2, 4 … 30 s apart) before leaving it to resume.
    settle_attempts: int = 8


class JobTimeoutError(Exception):
    """The task did not finish within the configured limit."""


class JobVanishedError(Exception):
    """The job row changed under us (e.g. cancelled); stop quietly."""


@dataclass(frozen=True)
class Failure:
    code: str  # stored in the job row and logged
    key: str  # message catalog key of the user-facing reason
    params: dict[str, object]
    detail: str  # English, for the log and the job row; never shown raw


def describe_failure(exc: BaseException, *, timeout: float) -> Failure:
    """Map any error that ends a job to a stored code and a sentence for the user."""
    match exc:
        case geekai.GeekAITaskFailedError():
            text = f"{exc.code or ''} {exc.message or ''}".lower()
            if any(hint in text for hint in _MODERATION_HINTS):
                return Failure("moderation", "reason.moderation", {}, str(exc))
            return Failure("task_failed", "reason.task_failed", {"code": exc.code or "?"}, str(exc))
        case geekai.GeekAIBadRequestError():
            detail = _plain(exc.detail)
            return Failure("bad_request", "reason.bad_request", {"detail": detail}, str(exc))
        case geekai.GeekAIAuthError():
            return Failure("auth", "reason.misconfigured", {}, str(exc))
        case geekai.GeekAIOutOfBalanceError():
            return Failure("out_of_balance", "reason.out_of_balance", {}, str(exc))
        case geekai.GeekAIRateLimitedError():
            return Failure("rate_limited", "reason.rate_limited", {}, str(exc))
        case geekai.GeekAINotFoundError():
            return Failure("not_found", "reason.not_found", {}, str(exc))
        case geekai.GeekAIPayloadTooLargeError():
            return Failure("too_large", "reason.too_large", {}, str(exc))
        case geekai.GeekAIMalformedResponseError():
            return Failure("malformed", "reason.malformed", {}, str(exc))
        case (
            geekai.GeekAIServerError()
            | geekai.GeekAITimeoutError()
            | geekai.GeekAIConnectionError()
        ):
            return Failure("unavailable", "reason.unavailable", {}, str(exc))
        case geekai.GeekAIError():
            return Failure("api_error", "reason.unavailable", {}, str(exc))
        case JobTimeoutError():
            return Failure("timeout", "reason.timeout", {"seconds": timeout}, str(exc))
        case ImageError():
            return Failure("download", "reason.download", {}, str(exc))
        case DeliveryError():
            return Failure("delivery", "reason.delivery", {}, str(exc))
    error_id = secrets.token_hex(4)
    return Failure("internal", "reason.internal", {"error_id": error_id}, f"error id {error_id}")


def _plain(text: str, limit: int = 200) -> str:
    """The server's message, made harmless for a Discord message: one line, no markdown."""
    cleaned = " ".join(text.split())
    for char in "`*_~|<>@#":
        cleaned = cleaned.replace(char, "")
    return cleaned[:limit] or "?"


class JobRunner:
    def __init__(
        self,
        *,
        db: Database,
        repo: JobRepository,
        quota: QuotaService,
        client: geekai.GeekAIClient,
        messenger: Messenger,
        http: aiohttp.ClientSession,
        config: RunnerConfig,
        catalog: Catalog,
        alerts: OperatorAlerts | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics | None = None,
        references: ReferenceImages | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._alerts = alerts or OperatorAlerts()
        self._catalog = catalog
        self._db = db
        self._repo = repo
        self._quota = quota
        self._client = client
        self._messenger = messenger
        self._http = http
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._deliveries = asyncio.Semaphore(config.max_parallel_deliveries)
        self._references = references

    async def run(self, job_id: int, row: Row | None = None) -> None:
        """Drive the job to a terminal state. Cancellation leaves it resumable. `row`: the
        job as just claimed (then it is not read again)."""
        job = self._repo.from_row(row) if row is not None else await self._repo.get(job_id)
        if job is None or job.state.terminal:
            return
        bind_job(
            job_id=job.id, guild_id=job.target.guild_id, user_id=job.user_id, task_id=job.task_id
        )
        try:
            resumed = job.state not in (JobState.QUEUED, JobState.SUBMITTING)
            if not resumed:
                job = await self._submit(job)
            task = await self._poll(job, resumed=resumed)
            job = await self._deliver(job, task)
            log.info("job %s: delivered %s image(s)", job.id, job.images_delivered)
            self._metrics.job_finished(job.state, job.model)
        except asyncio.CancelledError:
            log.info("job %s: interrupted in state %s; resumes on next start", job_id, job.state)
            raise
        except JobVanishedError:
            self._messenger.forget(job_id)
        except StorageError as exc:
            self._database_failed(job_id, exc)
        except Exception as exc:  # every failure must end the job visibly
            try:
                await self._fail(job_id, exc)
            except StorageError as storage_exc:
                self._database_failed(job_id, storage_exc)

    def _database_failed(self, job_id: int, exc: StorageError) -> None:
        """The database failed, not the job (it retried transient errors already): leave
        the job as it stands, never fail a task GeekAI may be making or has made. Its lease
        runs out and it is picked up again from what was stored (a task id is polled, never
        submitted again; a result Discord already shows is shown again, not lost)."""
        log.error("job %s: database error (%s); it resumes when its lease runs out", job_id, exc)

    async def _refresh(self, job: Job, state: JobState, **fields: Any) -> Job:
        updated = await self._repo.transition(job.id, state, owner=self._config.owner, **fields)
        if updated is None:
            raise JobVanishedError(job.id)
        return updated

    async def _submit(self, job: Job) -> Job:
        marked = await self._repo.note_submit_attempt(job.id, owner=self._config.owner)
        if marked is None:
            raise JobVanishedError(job.id)
        if marked.submit_attempts > 1:
            log.warning("job %s: resubmitting after an interrupted submit", job.id)
        await self._messenger.show(marked, render_status(marked))
        params = marked.params
        if self._references is not None:  # a kept reference image goes as Base64
            params = await self._references.resolve(params)
        task = await self._client.submit(self._catalog.request_for(params))
        bind_job(task_id=task.task_id)
        log.info("job %s: submitted as task %s (%s)", job.id, task.task_id, job.model)
        return await self._refresh(marked, JobState.PENDING, task_id=task.task_id)

    async def _poll(self, job: Job, *, resumed: bool = False) -> geekai.Task:
        """Check the task on the model's schedule (JobPolls decides) until it ends; a
        resumed job (submitted by an earlier run) checks at once, then continues it."""
        assert job.task_id is not None
        started = job.submitted_at or self._clock()
        deadline = started + self._config.job_timeout
        polls = JobPolls(
            self._config.schedules,
            job.model,
            elapsed=self._clock() - started,
            min_check_gap=self._config.min_check_gap,
            resumed=resumed,
        )
        shown_state: JobState | None = None
        try:
            while True:
                if job.state is not shown_state:
                    await self._messenger.show(job, render_status(job))
                    shown_state = job.state
                now = self._clock()
                remaining = deadline - now
                if remaining <= 0:
                    raise JobTimeoutError(f"task {job.task_id} unfinished after the limit")
                due = started + await polls.next_check() - now
                await self._sleep(max(0.0, min(due, remaining)))
                polls.checking(self._clock() - started)
                task = await self._check(job)
                if task is None:
                    continue
                if task.task_status == "succeed":
                    polls.succeeded()
                    return task
                if task.task_status == "failed":
                    task.raise_for_failure()
                polls.unfinished()
                if task.task_status == "running" and job.state is not JobState.RUNNING:
                    job = await self._refresh(job, JobState.RUNNING)
        finally:
            polls.close()

    async def _check(self, job: Job) -> geekai.Task | None:
        """One status check of the job's task; None when it failed in a way worth another
        check later (the client already retried, and a 429 holds every request back until
        its Retry-After; the task itself may be fine)."""
        assert job.task_id is not None
        try:
            task = await self._client.get_task(job.task_id, max_images=job.params.max_images)
        except geekai.GeekAIError as exc:
            if not exc.retryable:
                raise
            log.warning("job %s: poll failed (%s); will retry", job.id, exc)
            return None
        if task.task_id != job.task_id:  # an answer about another task: untrusted
            raise geekai.GeekAIMalformedResponseError(
                f"asked about task {job.task_id}, the answer is about {task.task_id}"
            )
        return task

    async def _deliver(self, job: Job, task: geekai.Task) -> Job:
        seen_finished = time.monotonic()  # the delivery lag runs from here
        # Recorded, not shown: an extra edit here would hold the final one back by the edit
        # interval, and delivery itself takes well under a second.
        job = await self._refresh(job, JobState.DELIVERING)
        if not task.data:
            raise geekai.GeekAIMalformedResponseError("task succeeded without images")
        # Never deliver (nor download) more than was asked for and reserved.
        wanted = job.params.max_images
        if len(task.data) > wanted:
            log.warning(
                "job %s: GeekAI returned %d images, %d asked", job.id, len(task.data), wanted
            )
        done, message_id, images = await self._post_result(job, task.data[:wanted])
        self._metrics.delivered(time.monotonic() - seen_finished)
        finished = await self._record_delivered(done, images)
        await self._messenger.add_reaction(finished, message_id, REROLL_EMOJI)
        return finished

    async def _post_result(
        self, job: Job, items: Sequence[geekai.ImageData]
    ) -> tuple[Job, int, int]:
        """Download, fit and post the images as the final status; returns the finished
        job as shown, its message id and how many images it carries."""
        async with self._deliveries:  # the image bytes live only inside this block
            delivery = await prepare_delivery(
                self._http,
                items,
                max_download_bytes=self._config.max_download_bytes,
                upload_limit=job.target.upload_limit,
            )
            done = dataclasses.replace(job, state=JobState.SUCCEEDED, finished_at=self._clock())
            preview_name = delivery.preview.filename

            def final_view() -> StatusView:
                # Rendered when sent: "Done in N s" is the true time to delivery.
                nonlocal done
                done = dataclasses.replace(done, finished_at=self._clock())
                return render_status(done, image_filename=preview_name)

            view = render_status(done, image_filename=preview_name)
            buttons = result_buttons(done, len(delivery.images))
            message_id = await self._messenger.finish(
                done, view, delivery.files, buttons, render=final_view
            )
            return done, message_id, len(delivery.images)

    async def _record_delivered(self, done: Job, images: int) -> Job:
        """The final state and the charge for what was delivered commit together."""

        async def settle(conn: Transaction) -> Job:
            finished = await self._repo.transition_in(
                conn,
                done.id,
                JobState.SUCCEEDED,
                owner=self._config.owner,
                finished_at=done.finished_at,
                images_delivered=images,
            )
            if finished is None:
                raise JobVanishedError(done.id)
            await self._quota.commit(conn, done.id, images)
            return finished

        return await self._settle_delivered(done.id, settle)

    async def _settle_delivered(
        self, job_id: int, settle: Callable[[Transaction], Awaitable[Job]]
    ) -> Job:
        """Discord has the images: record that, however long the database takes. A failed
        write here must never turn a delivered result into a failure (nor refund it)."""
        delay = 1.0
        for attempt in range(1, self._config.settle_attempts + 1):
            try:
                return await self._db.write(settle)
            except StorageError as exc:
                if attempt == self._config.settle_attempts:
                    raise
                log.warning(
                    "job %s: delivered, but recording it failed (%s); retrying", job_id, exc
                )
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    async def _fail(self, job_id: int, exc: Exception) -> None:
        failure = describe_failure(exc, timeout=self._config.job_timeout)
        if failure.code in OPERATOR_FAILURES:
            await self._alerts.alert(failure.code, failure.detail)
        if failure.code == "internal":
            log.error("job %s failed unexpectedly (%s)", job_id, failure.detail, exc_info=exc)
        else:
            log.warning("job %s failed: %s: %s", job_id, failure.code, failure.detail)

        async def settle(conn: Transaction) -> Job | None:
            job = await self._repo.transition_in(
                conn,
                job_id,
                JobState.FAILED,
                owner=self._config.owner,
                error_code=failure.code,
                error_message=failure.detail,
            )
            if job is not None:
                await self._quota.refund(conn, job_id)
            return job

        job = await self._db.write(settle)
        if job is None:
            self._messenger.forget(job_id)
            return
        self._metrics.job_finished(job.state, job.model)
        params = dict(failure.params)
        if "seconds" in params:  # durations read naturally in each language
            seconds = params.pop("seconds")
            assert isinstance(seconds, float | int)
            params["duration"] = format_duration(job.target.locale, seconds)
        reason = t(job.target.locale, failure.key, **params)
        try:
            await self._messenger.finish(job, render_status(job, reason=reason))
        except DeliveryError as delivery_exc:
            log.warning("job %s: could not show the failure: %s", job_id, delivery_exc)
