"""The request each catalog model gets: only the fields it accepts (POST /images/generations),
or a masked edit (POST /images/edits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from bot.geekai import ImageRequest
from bot.jobs.models import JobParams

if TYPE_CHECKING:
    from bot.catalog.spec import ModelSpec

ALWAYS_SENT = frozenset({"model", "prompt", "async"})
# What GeekAI's `POST /images/edits` takes (its API reference), `async` inferred.
EDIT_FIELDS = frozenset(
    [
        "model",
        "prompt",
        "async",
        "image",
        "mask",
        "size",
        "n",
        "quality",
        "response_format",
        "retries",
    ]
)


class CatalogImageRequest(ImageRequest):
    """An ImageRequest whose body holds only the fields its model accepts (e.g. no `n` for
    a model that rejects it, which ImageRequest alone would always send)."""

    accepted: frozenset[str] = Field(default=ALWAYS_SENT, exclude=True, repr=False)

    def to_body(self, *, run_async: bool = True) -> dict[str, Any]:
        body = super().to_body(run_async=run_async)
        return {name: value for name, value in body.items() if name in self.accepted}


def _sequential_body(count: int | None) -> dict[str, Any] | None:
    if not count:
        return None
    return {
        "sequential_image_generation": "auto",
        "sequential_image_generation_options": {"max_images": count},
    }


def build_request(spec: ModelSpec, params: JobParams) -> ImageRequest:
    """The GeekAI request for `params` on `spec`: fields the model does not take are dropped."""
    p = params
    if p.mask_url and spec.mask:
        return CatalogImageRequest(
            accepted=spec.edit_fields,
            model=spec.id,
            prompt=p.prompt,
            n=p.n,
            size=spec.format_size(p.size) if p.size and spec.takes_size else None,
            quality=p.quality if spec.qualities else None,
            image=p.image_url,
            mask=p.mask_url,
            retries=p.retries,
        )
    return CatalogImageRequest(
        accepted=spec.accepted_fields,
        model=spec.id,
        prompt=p.prompt,
        n=p.n,
        negative_prompt=p.negative_prompt if spec.negative_prompt else None,
        size=spec.format_size(p.size) if p.size and spec.takes_size else None,
        aspect_ratio=p.aspect_ratio if spec.aspect_ratios else None,
        quality=p.quality if spec.qualities else None,
        style_preset=p.style if spec.styles else None,
        image=p.image_url if spec.image_input else None,
        strength=p.strength if spec.strength and p.image_url else None,
        background=p.background if spec.backgrounds else None,
        extra_body=_sequential_body(p.sequential_images) if spec.sequential else None,
        output_format=p.output_format if spec.output_formats else None,
        watermark=p.watermark if spec.watermark else None,
        retries=p.retries,
    )


def legacy_request(p: JobParams) -> ImageRequest:
    fields = p.model_dump(
        exclude={"style", "image_url", "sequential_images", "mask_url", "variation"}
    )
    extra = {"extra_body": _sequential_body(p.sequential_images), "mask": p.mask_url}
    return ImageRequest.model_validate(
        {**fields, **extra, "style_preset": p.style, "image": p.image_url}
    )
