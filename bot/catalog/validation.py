"""Validation of a member's request against the catalog, before anything is reserved or sent.

`validate_params` checks the prompt, the model (and whether this server may use it), every
option against what the model accepts (`bot.catalog.spec.ModelSpec`) and the attachments'
declared type and size, and returns the `JobParams` to store; anything it refuses raises
`InvalidRequestError`. Pure and fast: no I/O (a mask's pixels are checked once downloaded,
in bot/media/masks.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog.sizes import normalise_ratio, normalise_size, parse_size
from bot.catalog.spec import Catalog, ModelSpec
from bot.errors import UserFacingError
from bot.jobs.models import JobParams

DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")


class InvalidRequestError(UserFacingError):
    """A request the chosen model cannot take; nothing is reserved or sent."""


@dataclass(frozen=True)
class ImageInput:
    """What the bot knows about an attached image before downloading anything."""

    filename: str
    content_type: str | None
    size: int  # bytes
    url: str


def _ids(models: list[ModelSpec]) -> str:
    return ", ".join(m.id for m in models) or "—"


def _choose_model(catalog: Catalog, model: str, allowed: frozenset[str] | None) -> ModelSpec:
    usable = catalog.usable_models(allowed)
    spec = catalog.get(model.strip())
    if spec is None:
        raise InvalidRequestError("error.unknown_model", model=model, allowed=_ids(usable))
    if spec not in usable:
        raise InvalidRequestError("error.model_not_allowed", model=spec.id, allowed=_ids(usable))
    return spec


def _check_size(spec: ModelSpec, size: str | None) -> str | None:
    if size is None or not size.strip():
        return spec.default_size
    if not spec.takes_size and spec.aspect_ratios:
        allowed = ", ".join(spec.aspect_ratios)
        raise InvalidRequestError("error.no_size_use_ratio", model=spec.id, allowed=allowed)
    if not spec.takes_size:
        raise InvalidRequestError("error.no_size", model=spec.id)
    if (known := spec.match_size(size)) is not None:
        return known
    wanted, parsed = normalise_size(size), parse_size(size)
    allowed = ", ".join(spec.fixed_sizes)
    if spec.size_range is None:
        raise InvalidRequestError("error.bad_size", model=spec.id, size=wanted, allowed=allowed)
    if parsed is None:
        raise InvalidRequestError(
            "error.bad_size_or_custom", model=spec.id, size=wanted, allowed=allowed
        )
    if problem := spec.size_range.problem(*parsed):
        key, params = problem
        raise InvalidRequestError(key, model=spec.id, size=wanted, **params)
    return wanted


def _check_choice(spec: ModelSpec, what: str, value: str | None, allowed: list[str]) -> str | None:
    """The catalog's spelling of one of a model's listed values (any case), or None."""
    if value is None or not value.strip():
        return None
    if not allowed:
        raise InvalidRequestError(f"error.no_{what}", model=spec.id)
    wanted = value.strip()
    if match := next((c for c in allowed if c.lower() == wanted.lower()), None):
        return match
    raise InvalidRequestError(
        f"error.bad_{what}", model=spec.id, value=wanted, allowed=", ".join(allowed)
    )


def _check_image(
    catalog: Catalog,
    spec: ModelSpec,
    image: ImageInput | None,
    allowed: frozenset[str] | None,
    max_bytes: int,
    *,
    with_mask: bool = False,
) -> str | None:
    if image is None:
        return None
    if not spec.image_input and not (with_mask and spec.mask):
        takers = [m for m in catalog.usable_models(allowed) if m.image_input]
        raise InvalidRequestError("error.no_image_input", model=spec.id, allowed=_ids(takers))
    content_type = (image.content_type or "").split(";")[0].strip().lower()
    known_type = content_type in IMAGE_TYPES
    by_name = not content_type and image.filename.lower().endswith(IMAGE_EXTENSIONS)
    if not (known_type or by_name):
        raise InvalidRequestError(
            "error.attachment_not_image",
            filename=image.filename,
            content_type=content_type or "?",
            allowed="PNG, JPEG, WebP",
        )
    _check_bytes(image, max_bytes)
    return image.url


def _check_bytes(attachment: ImageInput, max_bytes: int) -> None:
    if attachment.size > max_bytes:
        raise InvalidRequestError(
            "error.attachment_too_large",
            filename=attachment.filename,
            size_mb=f"{attachment.size / 2**20:.1f}",
            limit_mb=f"{max_bytes / 2**20:.1f}",
        )


def _check_mask(
    catalog: Catalog,
    spec: ModelSpec,
    mask: ImageInput | None,
    image_url: str | None,
    allowed: frozenset[str] | None,
    max_bytes: int,
) -> str | None:
    """The mask's cheap checks (the pixels are checked once downloaded: bot/media/masks.py)."""
    if mask is None:
        return None
    if not spec.mask:
        takers = [m for m in catalog.usable_models(allowed) if m.mask]
        raise InvalidRequestError("error.no_mask", model=spec.id, allowed=_ids(takers))
    if image_url is None:
        raise InvalidRequestError("error.mask_needs_image")
    content_type = (mask.content_type or "").split(";")[0].strip().lower()
    if content_type != "image/png" and not (
        not content_type and mask.filename.lower().endswith(".png")
    ):
        raise InvalidRequestError("error.mask_not_png", filename=mask.filename)
    _check_bytes(mask, max_bytes)
    return mask.url


def _check_output_format(spec: ModelSpec, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    wanted = value.strip().lower().lstrip(".")
    wanted = "jpg" if wanted == "jpeg" else wanted
    return _check_choice(spec, "output_format", wanted, list(spec.output_formats))


def _check_strength(spec: ModelSpec, strength: float | None, image_url: str | None) -> None:
    if strength is None:
        return
    if not spec.strength:
        raise InvalidRequestError("error.no_strength", model=spec.id)
    if image_url is None:
        raise InvalidRequestError("error.strength_needs_image")
    if not 0.0 <= strength <= 1.0:
        raise InvalidRequestError("error.bad_strength", value=strength, min=0, max=1)


def _check_sequential(spec: ModelSpec, count: int | None, n: int) -> None:
    if count is None:
        return
    if not spec.sequential:
        raise InvalidRequestError("error.no_sequential", model=spec.id)
    if not 2 <= count <= spec.max_sequential:
        raise InvalidRequestError(
            "error.bad_sequential", model=spec.id, value=count, max=spec.max_sequential
        )
    if n > 1:
        raise InvalidRequestError("error.sequential_with_n")


def _check_prompt(prompt: str, max_length: int) -> str:
    prompt = prompt.strip()
    if not prompt:
        raise InvalidRequestError("error.prompt_empty")
    if len(prompt) > max_length:
        raise InvalidRequestError("error.prompt_too_long", limit=max_length)
    return prompt


def _check_options(
    spec: ModelSpec, n: int, negative_prompt: str | None, aspect_ratio: str | None
) -> tuple[str | None, str | None]:
    """`n` and whether the model takes a negative prompt or aspect ratios at all; returns
    the negative prompt (None if blank) and the normalised ratio (checked later)."""
    if n < 1:
        raise InvalidRequestError("error.n_too_small", n=n)
    if n > spec.max_n:
        raise InvalidRequestError("error.bad_n", model=spec.id, n=n, max=spec.max_n)
    negative = (negative_prompt or "").strip() or None
    if negative is not None and not spec.negative_prompt:
        raise InvalidRequestError("error.no_negative_prompt", model=spec.id)
    ratio = normalise_ratio(aspect_ratio) if aspect_ratio else None
    if ratio and not spec.aspect_ratios:  # Midjourney habit: --ar on a size-only model
        allowed = ", ".join(spec.fixed_sizes)
        raise InvalidRequestError("error.no_aspect_ratio", model=spec.id, allowed=allowed)
    return negative, ratio


def _check_inputs(
    catalog: Catalog,
    spec: ModelSpec,
    image: ImageInput | None,
    mask: ImageInput | None,
    allowed: frozenset[str] | None,
    max_bytes: int,
) -> tuple[str | None, str | None]:
    """The input image's and the mask's cheap checks; returns their URLs."""
    if mask is not None and not spec.mask:  # say "no masks" before "no input image"
        _check_mask(catalog, spec, mask, None, allowed, max_bytes)
    image_url = _check_image(catalog, spec, image, allowed, max_bytes, with_mask=mask is not None)
    mask_url = _check_mask(catalog, spec, mask, image_url, allowed, max_bytes)
    return image_url, mask_url


def validate_params(
    catalog: Catalog,
    *,
    prompt: str,
    model: str,
    size: str | None = None,
    n: int = 1,
    negative_prompt: str | None = None,
    max_prompt_length: int,
    aspect_ratio: str | None = None,
    quality: str | None = None,
    style: str | None = None,
    strength: float | None = None,
    background: str | None = None,
    image: ImageInput | None = None,
    mask: ImageInput | None = None,
    output_format: str | None = None,
    sequential: int | None = None,
    allowed_models: frozenset[str] | None = None,
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
) -> JobParams:
    """Check a request against the model's capabilities; raise InvalidRequestError if not.

    Pure and fast (no I/O): runs before anything is reserved or sent. `allowed_models`
    None or empty means every catalog model.
    """
    prompt = _check_prompt(prompt, max_prompt_length)
    spec = _choose_model(catalog, model, allowed_models)
    negative, ratio = _check_options(spec, n, negative_prompt, aspect_ratio)
    image_url, mask_url = _check_inputs(catalog, spec, image, mask, allowed_models, max_image_bytes)
    _check_strength(spec, strength, image_url)
    _check_sequential(spec, sequential, n)
    return JobParams(
        model=spec.id,
        prompt=prompt,
        negative_prompt=negative,
        size=_check_size(spec, size),
        aspect_ratio=_check_choice(spec, "aspect_ratio", ratio, spec.aspect_ratios)
        or spec.default_aspect_ratio,
        n=n,
        quality=_check_choice(spec, "quality", quality, spec.qualities),
        style=_check_choice(spec, "style", style, spec.styles),
        strength=strength,
        background=_check_choice(spec, "background", background, spec.backgrounds),
        image_url=image_url,
        sequential_images=sequential,
        mask_url=mask_url,
        output_format=_check_output_format(spec, output_format),
    )
