"""Vary one image of a result, and start a job from any image: the reference-image roads.

Both end in ImagineService.validate (channels, allowed models, blocked words, the model's
capabilities) and start_job (caps, quota), like /imagine. No discord imports: the cogs
hand in what the attachment is (ImageInput) and where the job shows (DiscordTarget).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from bot.catalog.spec import ModelSpec
from bot.catalog.validation import ImageInput
from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettings
from bot.jobs.flags import ImagineOptions
from bot.jobs.intake import ImagineService
from bot.jobs.models import DiscordTarget, Job, JobParams, Variation
from bot.jobs.results import ResultsService

log = logging.getLogger(__name__)

VaryKind = Literal["subtle", "strong"]
VARY_STRENGTH: dict[VaryKind, float] = {"subtle": 0.3, "strong": 0.7}


def _kept(value: str | None, allowed: Sequence[str]) -> str | None:
    return value if value is not None and value in allowed else None


def carry_over(spec: ModelSpec, p: JobParams, kind: VaryKind) -> ImagineOptions:
    """The source's options that `spec` takes (all of them on the source's own model)."""
    size = p.size if p.size and (spec.id == p.model or spec.match_size(p.size)) else None
    return ImagineOptions(
        prompt=p.prompt,
        model=spec.id,
        size=size,
        aspect_ratio=_kept(p.aspect_ratio, spec.aspect_ratios),
        n=min(p.n, spec.max_n),
        quality=_kept(p.quality, spec.qualities),
        negative_prompt=p.negative_prompt if spec.negative_prompt else None,
        style=_kept(p.style, spec.styles),
        strength=VARY_STRENGTH[kind] if spec.strength else None,
        background=_kept(p.background, spec.backgrounds),
        sequential=p.sequential_images if spec.sequential else None,
        output_format=_kept(p.output_format, spec.output_formats),
    )


class VaryService:
    def __init__(self, *, imagine: ImagineService, results: ResultsService) -> None:
        self._imagine = imagine
        self._results = results

    async def source(self, job_id: int) -> Job:
        return await self._results.job(job_id)

    def _vary_spec(self, model: str) -> tuple[ModelSpec, str | None]:
        """The model that varies an image of `model`: itself when it takes a reference
        image, else the configured vary model (and the model it replaces)."""
        catalog = self._imagine.catalog
        spec = catalog.get(model)
        if spec is not None and spec.can_vary:
            return spec, None
        fallback = catalog.get(self._imagine.extras.vary_model)
        if fallback is None or not fallback.can_vary:
            takers = ", ".join(m.id for m in catalog.models if m.can_vary) or "—"
            raise UserFacingError("error.no_image_input", model=model, allowed=takers)
        return fallback, model

    async def prepare(
        self,
        source: Job,
        *,
        index: int,
        kind: VaryKind,
        image: ImageInput,
        user_id: int,
        guild: GuildSettings | None,
        channel_id: int,
    ) -> JobParams:
        """Every check that needs no quota (rights, server rules, the model), in order."""
        await self._results.check_may_reroll(source, user_id)
        spec, fallback_from = self._vary_spec(source.params.model)
        params = self._imagine.validate(
            carry_over(spec, source.params, kind), guild=guild, channel_id=channel_id, image=image
        )
        variation = Variation(
            source_job_id=source.id, image=index, kind=kind, fallback_from=fallback_from
        )
        return params.model_copy(update={"variation": variation})

    async def start(
        self, source: Job, params: JobParams, target: DiscordTarget, *, role_ids: Sequence[int]
    ) -> Job:
        """Reserve (charged to `target.user_id`) and queue the prepared variation."""
        job = await self._imagine.start_job(
            target, params, role_ids=role_ids, parent_job_id=source.id
        )
        log.info(
            "job %s: vary (%s) of image %s of job %s on %s by user %s",
            job.id, params.variation and params.variation.kind,
            params.variation and params.variation.image, source.id, params.model, target.user_id,
        )  # fmt: skip
        return job

    def from_image_params(
        self,
        options: ImagineOptions,
        image: ImageInput,
        *,
        guild: GuildSettings | None,
        channel_id: int | None,
        user_id: int,
    ) -> JobParams:
        """ "Imagine from this image": the member's model, else the server's default if it
        takes a reference image, else the vary model; then the /imagine checks."""
        if options.model is None:
            default = (guild.default_model if guild else None) or self._imagine.default_model
            spec, _ = self._vary_spec(default)
            options = _with_model(options, spec.id)
        params = self._imagine.validate(options, guild=guild, channel_id=channel_id, image=image)
        return params

    def region_model(self, source: Job, allowed: frozenset[str] | None) -> str:
        """The model to repaint a region of `source`'s image: its own if it takes masks."""
        usable = self._imagine.catalog.usable_models(allowed)
        own = next((m for m in usable if m.id == source.params.model and m.mask), None)
        first = own or next((m for m in usable if m.mask), None)
        if first is None:
            raise UserFacingError("error.no_mask_model")
        return first.id


def _with_model(options: ImagineOptions, model: str) -> ImagineOptions:
    return replace(options, model=model)
