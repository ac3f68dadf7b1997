"""Vary one image of a result, and start a job from any image: the reference-image roads.

Both become a JobRequest for the intake (bot/jobs/intake.py): the same checks as /imagine,
in the same order. No discord imports: the cogs
hand in what the attachment is (ImageInput) and where the job shows (DiscordTarget).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from bot.catalog.spec import ModelSpec
from bot.catalog.validation import ImageInput
from bot.errors import UserFacingError
from bot.jobs.flags import ImagineOptions
from bot.jobs.intake import Intake, JobRequest, with_model
from bot.jobs.models import DiscordTarget, Job, JobParams, Variation

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
    """Turns "vary image k of this result" and "imagine from this image" into requests for
    the intake, which runs the /imagine checks on them."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def vary_request(
        self,
        source: Job,
        *,
        index: int,
        kind: VaryKind,
        image: ImageInput,
        target: DiscordTarget,
        role_ids: Sequence[int] = (),
    ) -> JobRequest:
        """Image `index` of `source` as the reference of a new job (charged to the member):
        the source's model if it takes a reference image, else the operator's vary model."""
        self._intake.check_rights(source, target.user_id)  # before naming a vary model
        spec, fallback_from = self._intake.vary_spec(source.params.model)
        variation = Variation(
            source_job_id=source.id, image=index, kind=kind, fallback_from=fallback_from
        )
        return JobRequest(
            target, carry_over(spec, source.params, kind), source=source, image=image,
            variation=variation, role_ids=tuple(role_ids),
        )  # fmt: skip

    def from_image_request(
        self,
        options: ImagineOptions,
        image: ImageInput,
        target: DiscordTarget,
        *,
        role_ids: Sequence[int] = (),
    ) -> JobRequest:
        """ "Imagine from this image": the member's model, else the server's default if it
        takes a reference image, else the vary model."""
        if options.model is None:
            spec, _ = self._intake.vary_spec(self._intake.default_model(target.guild_id))
            options = with_model(options, spec.id)
        return JobRequest(target, options, image=image, role_ids=tuple(role_ids))

    async def start(self, request: JobRequest, params: JobParams) -> Job:
        """Reserve (charged to the member) and queue a checked vary or from-image request."""
        job = await self._intake.start(request, params)
        variation = params.variation
        log.info(
            "job %s: %s of image %s of job %s on %s by user %s",
            job.id, f"vary ({variation.kind})" if variation else "from an image",
            variation and variation.image, request.parent_job_id, params.model,
            request.target.user_id,
        )  # fmt: skip
        return job

    def region_model(self, source: Job, guild_id: int | None) -> str:
        """The model to repaint a region of `source`'s image: its own if it takes masks."""
        guild = self._intake.guild(guild_id)
        allowed = frozenset(guild.allowed_models) if guild else None
        usable = self._intake.catalog.usable_models(allowed)
        own = next((m for m in usable if m.id == source.params.model and m.mask), None)
        first = own or next((m for m in usable if m.mask), None)
        if first is None:
            raise UserFacingError("error.no_mask_model")
        return first.id
