"""The /imagine road from a validated request to a queued, durable job."""

from __future__ import annotations

import logging
import math
import time
import unicodedata
from collections.abc import Callable, Sequence

from bot.catalog import Catalog, ImageInput, validate_params
from bot.db import Connection, Database
from bot.errors import UserFacingError
from bot.flags import ImagineOptions
from bot.guild_settings import GuildSettings
from bot.messenger import Messenger
from bot.models import DiscordTarget, Job, JobParams, JobState
from bot.quota import QuotaService
from bot.render import render_status
from bot.repository import JobRepository
from bot.scheduler import JobScheduler

log = logging.getLogger(__name__)


def normalise_for_matching(text: str) -> str:
    """Text as blocked words are matched: Unicode format characters (category Cf: zero-width
    spaces and joiners, soft hyphens, bidi marks…) removed, NFKC (full-width and other
    compatibility forms folded), case-folded (then NFKC again, as casefolding can denormalise)."""
    stripped = "".join(c for c in text if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", stripped).casefold())
    return "".join(c for c in folded if unicodedata.category(c) != "Cf")


class ImagineService:
    def __init__(
        self,
        *,
        db: Database,
        repo: JobRepository,
        quota: QuotaService,
        catalog: Catalog,
        scheduler: JobScheduler,
        messenger: Messenger,
        default_model: str,
        max_prompt_length: int,
        allow_dms: bool = False,
        cooldown: float = 0.0,
        max_image_bytes: int = 10 * 1024 * 1024,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_dms = allow_dms
        self._max_image_bytes = max_image_bytes
        self._cooldown = cooldown
        self._monotonic = monotonic
        self._last_start: dict[int, float] = {}  # user id → when their last job was accepted
        self.db = db
        self.repo = repo
        self.quota = quota
        self.catalog = catalog
        self.scheduler = scheduler
        self.messenger = messenger
        self.default_model = default_model
        self._max_prompt_length = max_prompt_length
        self._queued: dict[int, Job] = {}  # jobs waiting in the queue, for position updates

    def validate(
        self,
        options: ImagineOptions,
        *,
        guild: GuildSettings | None = None,
        channel_id: int | None = None,
        image: ImageInput | None = None,
    ) -> JobParams:
        """Pure check of a request (no I/O): safe to run before deferring.

        The server's channel list, blocked words, default and allowed models apply here,
        so a refused request is never charged.
        """
        if guild is not None and guild.channels and channel_id not in guild.channels:
            mentions = ", ".join(f"<#{c}>" for c in guild.channels[:10])
            raise UserFacingError("error.channel_not_allowed", channels=mentions)
        params = validate_params(
            self.catalog,
            prompt=options.prompt,
            model=options.model or (guild.default_model if guild else None) or self.default_model,
            size=options.size,
            n=options.n if options.n is not None else 1,  # `--n 0` is refused, not made 1
            negative_prompt=options.negative_prompt,
            aspect_ratio=options.aspect_ratio,
            quality=options.quality,
            style=options.style,
            strength=options.strength,
            background=options.background,
            image=image,
            sequential=options.sequential,
            allowed_models=frozenset(guild.allowed_models) if guild else None,
            max_prompt_length=self._max_prompt_length,
            max_image_bytes=self._max_image_bytes,
        )
        if guild is not None and guild.blocked_words:
            text = normalise_for_matching(f"{params.prompt}\n{params.negative_prompt or ''}")
            for word in guild.blocked_words:
                needle = normalise_for_matching(word).strip()
                if needle and needle in text:
                    raise UserFacingError("error.blocked_word", word=word)
        return params

    def check_cooldown(self, user_id: int) -> None:
        """Refuse (for free) a request that comes too soon after the user's last one."""
        if self._cooldown <= 0 or self.quota.is_owner(user_id):
            return
        last = self._last_start.get(user_id)
        if last is None:
            return
        left = last + self._cooldown - self._monotonic()
        if left > 0:
            raise UserFacingError("error.cooldown", seconds=max(1, math.ceil(left)))

    def cost_per_image(self, params: JobParams) -> int:
        spec = self.catalog.get(params.model)
        return spec.cost_for(params.quality) if spec is not None else 1

    async def start_job(
        self,
        target: DiscordTarget,
        params: JobParams,
        *,
        role_ids: Sequence[int] = (),
        parent_job_id: int | None = None,
    ) -> Job:
        """Reserve credits and persist the job in one transaction, show it queued, queue it.

        A refusal (QuotaExceededError, QuotaBlockedError) rolls back: no job, no charge.
        """

        async def reserve(conn: Connection) -> Job:
            job = await self.repo.insert(conn, target, params, parent_job_id=parent_job_id)
            await self.quota.check_and_reserve(
                conn,
                guild_id=target.guild_id or 0,
                user_id=target.user_id,
                role_ids=role_ids,
                job_id=job.id,
                model_cost=self.cost_per_image(params),
                n=params.max_images,
            )
            return job

        job = await self.db.write(reserve)
        log.info("job %s: created by user %s in guild %s", job.id, target.user_id, target.guild_id)
        self._last_start[target.user_id] = self._monotonic()
        # show() registers the queued view before the runner task first runs (no await in
        # between), so the states appear in order.
        position = self.scheduler.enqueue(job.id, job.user_id)
        if position is not None:
            self._queued[job.id] = job
        await self.messenger.show(job, render_status(job, position=position))
        return job

    def update_positions(self, positions: dict[int, int]) -> None:
        """Keep each queued job's shown position current (the messenger coalesces)."""
        for job_id in list(self._queued):
            if job_id not in positions:
                del self._queued[job_id]
        for job_id, position in positions.items():
            job = self._queued.get(job_id)
            if job is not None:
                self.messenger.show_nowait(job, render_status(job, position=position))

    async def resume_unfinished(self) -> int:
        """Pick up every job a previous run left unfinished, oldest first."""
        settled = await self.quota.settle_finished_jobs()
        if settled:
            log.info("settled %s reservation(s) of jobs that ended before a restart", len(settled))
        jobs = await self.repo.unfinished()
        for job in jobs:
            if job.state is JobState.QUEUED:
                log.info("job %s: resuming from the queue", job.id)
            else:
                log.info("job %s: resuming in state %s (task %s)", job.id, job.state, job.task_id)
            if self.scheduler.enqueue(job.id, job.user_id) is not None:
                self._queued[job.id] = job
        return len(jobs)
