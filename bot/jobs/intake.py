"""The one entry for a job, whichever way it starts (/imagine, 🔄, ✏️, vary, the context menu).

`check` runs every rule in one order, without I/O, so a cog can run it before it defers and
a refusal costs nothing; `start` then reserves, persists and queues the job in one
transaction. Cogs only translate an interaction into a `JobRequest`.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, replace

from bot.catalog.spec import Catalog, ModelSpec
from bot.catalog.validation import ImageInput, validate_params
from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettings, GuildSettingsService
from bot.jobs.flags import ImagineOptions
from bot.jobs.models import DiscordTarget, Job, JobParams, JobState, Variation
from bot.jobs.references import ReferenceImages
from bot.jobs.repository import JobRepository
from bot.jobs.scheduler import JobScheduler
from bot.ops.log_context import job_context
from bot.quota import QuotaService
from bot.storage import Database, Transaction
from bot.ui.positions import QueuePositions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeRules:
    """The operator's rules for every new job (from Settings)."""

    default_model: str
    max_prompt_length: int = 4000
    allow_dms: bool = False
    max_image_bytes: int = 10 * 1024 * 1024
    guild_allowlist: frozenset[int] = frozenset()  # empty: every server
    vary_model: str = "jimeng_t2i_v40"
    task_retries: int = 0


@dataclass(frozen=True)
class JobRequest:
    """One way a job starts, as a cog translated it from Discord.

    `options` None means "the source's parameters as they are" (🔄). `source` is the result
    a 🔄, ✏️ or vary comes from: the member must have the right to run it again."""

    target: DiscordTarget
    options: ImagineOptions | None = None
    source: Job | None = None
    image: ImageInput | None = None
    mask: ImageInput | None = None
    variation: Variation | None = None
    role_ids: tuple[int, ...] = ()

    @property
    def parent_job_id(self) -> int | None:
        return self.source.id if self.source is not None else None


def normalise_for_matching(text: str) -> str:
    """Text as blocked words are matched: Unicode format characters (category Cf: zero-width
    spaces and joiners, soft hyphens, bidi marks…) removed, NFKC (full-width and other
    compatibility forms folded), case-folded (then NFKC again, as casefolding can denormalise)."""
    stripped = "".join(c for c in text if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", stripped).casefold())
    return "".join(c for c in folded if unicodedata.category(c) != "Cf")


class Intake:
    def __init__(
        self,
        *,
        db: Database,
        jobs: JobRepository,
        quota: QuotaService,
        catalog: Catalog,
        scheduler: JobScheduler,
        positions: QueuePositions,
        guilds: GuildSettingsService,
        references: ReferenceImages,
        rules: IntakeRules,
    ) -> None:
        self._db, self._jobs, self._quota = db, jobs, quota
        self._scheduler, self._positions = scheduler, positions
        self._guilds, self._references = guilds, references
        self.catalog = catalog
        self.rules = rules

    # -- the checks, in order ----------------------------------------------------------------

    def check(self, request: JobRequest) -> JobParams:
        """Every rule, in this order, with no I/O (safe before deferring; nothing charged):

        1. the place: direct messages allowed, the server served, the channel allowed;
        2. the source (🔄 ✏️ vary): a finished result this member may run again;
        3. the request: the model allowed here and every option against the catalog (a 🔄
           keeps its checked parameters; only the model is looked at again);
        4. the server's blocked words.
        Caps, cooldown, ceilings and quota follow in `start`, inside its transaction."""
        target = request.target
        guild = self.guild(target.guild_id)
        self._check_place(target, guild)
        if request.source is not None:
            self.check_rights(request.source, target.user_id)
        if request.options is None:
            assert request.source is not None, "a request without options reruns a source"
            params = request.source.params
            _check_model_allowed(guild, params.model)
        else:
            params = self._validate(request, guild)
        _check_blocked_words(guild, params)
        if request.variation is not None:
            params = params.model_copy(update={"variation": request.variation})
        return params

    def check_rights(self, source: Job, user_id: int) -> None:
        """A finished result that `user_id` may run again: theirs, the bot owner's right, or
        anyone's where the server's reroll policy says so."""
        if source.state is not JobState.SUCCEEDED:
            raise UserFacingError("error.not_a_result")
        if user_id == source.user_id or self._quota.is_owner(user_id):
            return
        guild_id = source.target.guild_id
        if guild_id is None or self._guilds.cached(guild_id).reroll_policy == "requester":
            raise UserFacingError("error.reroll_requester_only")

    def guild(self, guild_id: int | None) -> GuildSettings | None:
        """The server's settings from memory (kept current by their refresh), None in DMs."""
        return self._guilds.cached(guild_id) if guild_id is not None else None

    def default_model(self, guild_id: int | None) -> str:
        guild = self.guild(guild_id)
        return (guild.default_model if guild else None) or self.rules.default_model

    def vary_spec(self, model: str) -> tuple[ModelSpec, str | None]:
        """The model that varies an image of `model`: itself when it takes a reference
        image, else the configured vary model (and the model it replaces)."""
        spec = self.catalog.get(model)
        if spec is not None and spec.can_vary:
            return spec, None
        fallback = self.catalog.get(self.rules.vary_model)
        if fallback is None or not fallback.can_vary:
            takers = ", ".join(m.id for m in self.catalog.models if m.can_vary) or "—"
            raise UserFacingError("error.no_image_input", model=model, allowed=takers)
        return fallback, model

    def _check_place(self, target: DiscordTarget, guild: GuildSettings | None) -> None:
        if guild is None:
            if not self.rules.allow_dms:
                raise UserFacingError("error.dm_disabled")
            return
        allowlist = self.rules.guild_allowlist
        if allowlist and guild.guild_id not in allowlist:
            raise UserFacingError("error.guild_not_enabled")
        if guild.channels and target.channel_id not in guild.channels:
            mentions = ", ".join(f"<#{c}>" for c in guild.channels[:10])
            raise UserFacingError("error.channel_not_allowed", channels=mentions)

    def _validate(self, request: JobRequest, guild: GuildSettings | None) -> JobParams:
        options = request.options
        assert options is not None
        return validate_params(
            self.catalog,
            prompt=options.prompt,
            model=options.model or self.default_model(request.target.guild_id),
            size=options.size,
            n=options.n if options.n is not None else 1,  # `--n 0` is refused, not made 1
            negative_prompt=options.negative_prompt,
            aspect_ratio=options.aspect_ratio,
            quality=options.quality,
            style=options.style,
            strength=options.strength,
            background=options.background,
            output_format=options.output_format,
            sequential=options.sequential,
            image=request.image,
            mask=request.mask,
            allowed_models=frozenset(guild.allowed_models) if guild else None,
            max_prompt_length=self.rules.max_prompt_length,
            max_image_bytes=self.rules.max_image_bytes,
        )

    # -- the start -----------------------------------------------------------------------------

    async def start(self, request: JobRequest, params: JobParams) -> Job:
        """Reserve credits and persist the job in one transaction, show it queued, queue it.

        Inside the transaction, in order: the fleet-wide caps and the member's cooldown, the
        job row, then the operator's daily ceilings and the member's quota. A refusal
        (QuotaExceededError, QuotaBlockedError, a cap) rolls back: no job, no charge.
        """
        target = request.target
        params = await self._with_extras(target, params)
        params = await self._references.keep(params)  # an unreadable image costs nothing

        async def reserve(conn: Transaction) -> Job:
            await self._scheduler.admit(conn, user_id=target.user_id, guild_id=target.guild_id)
            job = await self._jobs.insert(conn, target, params, parent_job_id=request.parent_job_id)
            await self._quota.check_and_reserve(
                conn,
                guild_id=target.guild_id or 0,
                user_id=target.user_id,
                role_ids=request.role_ids,
                job_id=job.id,
                model_cost=self.cost_per_image(params),
                n=params.max_images,
            )
            return job

        job = await self._db.write(reserve)
        with job_context(job_id=job.id, guild_id=target.guild_id, user_id=target.user_id):
            log.info(
                "job %s: created by user %s in guild %s (from job %s)",
                job.id, target.user_id, target.guild_id, request.parent_job_id,
            )  # fmt: skip
        # The queued view is registered before the runner task first runs (pump starts it
        # without awaiting after), so the states appear in order.
        position = await self._scheduler.pump(position_of=job.id)
        await self._positions.show_new(job, position)
        return job

    def cost_per_image(self, params: JobParams) -> int:
        spec = self.catalog.get(params.model)
        return spec.cost_for(params.quality) if spec is not None else 1

    async def _with_extras(self, target: DiscordTarget, params: JobParams) -> JobParams:
        """GeekAI's retries, and the server's watermark for models that honour it."""
        update: dict[str, object] = {"retries": self.rules.task_retries or None}
        spec = self.catalog.get(params.model)
        if spec is not None and spec.watermark and target.guild_id is not None:
            update["watermark"] = self._guilds.cached(target.guild_id).watermark
        return params.model_copy(update=update)


def with_model(options: ImagineOptions, model: str) -> ImagineOptions:
    return replace(options, model=model)


def _check_model_allowed(guild: GuildSettings | None, model: str) -> None:
    if guild is not None and guild.allowed_models and model not in guild.allowed_models:
        allowed = ", ".join(f"`{m}`" for m in guild.allowed_models)
        raise UserFacingError("error.model_not_allowed", model=model, allowed=allowed)


def _check_blocked_words(guild: GuildSettings | None, params: JobParams) -> None:
    if guild is not None and guild.blocked_words:
        text = normalise_for_matching(f"{params.prompt}\n{params.negative_prompt or ''}")
        for word in guild.blocked_words:
            needle = normalise_for_matching(word).strip()
            if needle and needle in text:
                raise UserFacingError("error.blocked_word", word=word)
