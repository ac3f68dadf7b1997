"""The /imagine road from a validated request to a queued, durable job."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.catalog.spec import Catalog
from bot.catalog.validation import ImageInput, validate_params
from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettings
from bot.guilds.watermarks import GuildWatermarks, KeyValueStore
from bot.jobs.flags import ImagineOptions
from bot.jobs.models import DiscordTarget, Job, JobParams, JobState
from bot.jobs.references import ReferenceImages
from bot.jobs.repository import JobRepository
from bot.jobs.scheduler import JobScheduler
from bot.ops.log_context import job_context
from bot.quota import QuotaService
from bot.settings import Settings
from bot.storage import Database, Transaction
from bot.ui.messenger import Messenger
from bot.ui.render import render_status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeExtras:
    """Operator settings every new job gets at intake: the vary model, GeekAI's retries,
    and each server's watermark switch."""

    vary_model: str = "jimeng_t2i_v40"
    task_retries: int = 0
    watermarks: GuildWatermarks | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, state: KeyValueStore) -> IntakeExtras:
        return cls(
            vary_model=settings.vary_model,
            task_retries=settings.geekai_task_retries,
            watermarks=GuildWatermarks(state),
        )


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
        max_image_bytes: int = 10 * 1024 * 1024,
        extras: IntakeExtras | None = None,
        guild_allowlist: frozenset[int] = frozenset(),
        references: ReferenceImages | None = None,
        alone: bool = True,
    ) -> None:
        # `alone`: no other process shares the database (SQLite). Then every lease left is
        # stale at start, and queued messages' positions are kept current; in a fleet
        # another process may already be showing (or have finished) a job, and a late
        # position edit from here would overwrite what it shows.
        self._alone = alone
        self.references = references  # None: reference URLs are passed on as they are
        self.guild_allowlist = guild_allowlist  # empty: every server
        self.extras = extras or IntakeExtras()
        self.allow_dms = allow_dms
        self._max_image_bytes = max_image_bytes
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
        mask: ImageInput | None = None,
    ) -> JobParams:
        """Pure check of a request (no I/O): safe to run before deferring.

        The server's channel list, blocked words, default and allowed models apply here,
        so a refused request is never charged.
        """
        self._check_place(guild, channel_id)
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
            mask=mask,
            output_format=options.output_format,
            sequential=options.sequential,
            allowed_models=frozenset(guild.allowed_models) if guild else None,
            max_prompt_length=self._max_prompt_length,
            max_image_bytes=self._max_image_bytes,
        )
        _check_blocked_words(guild, params)
        return params

    def recheck(
        self, params: JobParams, *, guild: GuildSettings | None, channel_id: int | None
    ) -> None:
        """The server's and the operator's rules as they are now, for a job made from an
        earlier one (🔄, variations): the same checks as `validate`, in the same order,
        since a channel, a model or a word may have been closed off since."""
        self._check_place(guild, channel_id)
        if guild is not None and guild.allowed_models and params.model not in guild.allowed_models:
            allowed = ", ".join(f"`{m}`" for m in guild.allowed_models)
            raise UserFacingError("error.model_not_allowed", model=params.model, allowed=allowed)
        _check_blocked_words(guild, params)

    def _check_place(self, guild: GuildSettings | None, channel_id: int | None) -> None:
        """The operator serves this server, and the server allows this channel."""
        allowlist = self.guild_allowlist
        if guild is not None and allowlist and guild.guild_id not in allowlist:
            raise UserFacingError("error.guild_not_enabled")
        if guild is not None and guild.channels and channel_id not in guild.channels:
            mentions = ", ".join(f"<#{c}>" for c in guild.channels[:10])
            raise UserFacingError("error.channel_not_allowed", channels=mentions)

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
        params = await self._with_extras(target, params)
        if self.references is not None:  # before any charge: an unreadable image costs nothing
            params = await self.references.keep(params)

        async def reserve(conn: Transaction) -> Job:
            await self.scheduler.admit(conn, user_id=target.user_id, guild_id=target.guild_id)
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
        with job_context(job_id=job.id, guild_id=target.guild_id, user_id=target.user_id):
            log.info(
                "job %s: created by user %s in guild %s", job.id, target.user_id, target.guild_id
            )
        # show() registers the queued view before the runner task first runs (pump starts
        # it without awaiting after), so the states appear in order.
        position = await self.scheduler.pump(position_of=job.id)
        view = render_status(job, position=position)
        if position is not None and not self._alone:
            self.messenger.show_once(job, view)  # whichever process claims it shows the rest
            return job
        if position is not None:
            self._queued[job.id] = job
        await self.messenger.show(job, view)
        return job

    async def _with_extras(self, target: DiscordTarget, params: JobParams) -> JobParams:
        """GeekAI's retries, and the server's watermark for models that honour it."""
        update: dict[str, object] = {"retries": self.extras.task_retries or None}
        spec = self.catalog.get(params.model)
        watermarks = self.extras.watermarks
        if spec is not None and spec.watermark and watermarks and target.guild_id is not None:
            update["watermark"] = await watermarks.get(target.guild_id)
        return params.model_copy(update=update)

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
        """Settle jobs that ended before a restart, then start the scheduler: it takes over
        every job whose process is gone (all of them when alone on SQLite) and starts
        waiting ones. Returns how many unfinished jobs there are."""
        settled = await self.quota.settle_finished_jobs()
        if settled:
            log.info("settled %s reservation(s) of jobs that ended before a restart", len(settled))
        jobs = await self.repo.unfinished()
        for job in jobs:
            if job.state is JobState.QUEUED:
                if self._alone:  # nobody else will show these jobs' positions
                    self._queued[job.id] = job
            else:
                log.info("job %s: unfinished in state %s (task %s)", job.id, job.state, job.task_id)
        await self.scheduler.start(exclusive=self._alone)
        await self.scheduler.pump()
        return len(jobs)


def _check_blocked_words(guild: GuildSettings | None, params: JobParams) -> None:
    if guild is not None and guild.blocked_words:
        text = normalise_for_matching(f"{params.prompt}\n{params.negative_prompt or ''}")
        for word in guild.blocked_words:
            needle = normalise_for_matching(word).strip()
            if needle and needle in text:
                raise UserFacingError("error.blocked_word", word=word)
