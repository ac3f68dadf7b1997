"""The model catalog: what each GeekAI image model accepts, validation against it, and the
request body each model gets (only the fields it accepts).

The catalog is data (`bot/catalog/models.json`), optionally overlaid by an operator's file of
the same shape, so a model GeekAI launches tomorrow needs no release.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

# The size grammar, autocomplete and request building live in their own modules;
# re-exported here (`X as X`).
from bot.catalog.requests import ALWAYS_SENT as ALWAYS_SENT
from bot.catalog.requests import EDIT_FIELDS as EDIT_FIELDS
from bot.catalog.requests import CatalogImageRequest as CatalogImageRequest
from bot.catalog.requests import build_request as build_request
from bot.catalog.requests import legacy_request
from bot.catalog.sizes import SizeRange as SizeRange
from bot.catalog.sizes import normalise_ratio as normalise_ratio
from bot.catalog.sizes import normalise_size as normalise_size
from bot.catalog.sizes import parse_size as parse_size
from bot.catalog.suggest import MAX_CHOICES as MAX_CHOICES
from bot.catalog.suggest import Choice as Choice
from bot.catalog.suggest import suggest_aspect_ratios as suggest_aspect_ratios
from bot.catalog.suggest import suggest_models as suggest_models
from bot.catalog.suggest import suggest_output_formats as suggest_output_formats
from bot.catalog.suggest import suggest_qualities as suggest_qualities
from bot.catalog.suggest import suggest_sizes as suggest_sizes
from bot.catalog.suggest import suggest_styles as suggest_styles
from bot.errors import UserFacingError
from bot.geekai import ImageRequest
from bot.jobs.models import JobParams

BUILTIN_CATALOG = Path(__file__).resolve().parent / "models.json"
DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")

_Size = Annotated[str, AfterValidator(normalise_size)]
_Ratio = Annotated[str, AfterValidator(normalise_ratio)]


class ModelSpec(BaseModel):
    """One image model: its options and their allowed values, and its price per image."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    label: str = Field(min_length=1, max_length=80)
    family: str = "other"
    note: str | None = None  # for operators: where a value comes from, what is unverified
    sizes: list[_Size] = Field(default_factory=list)  # fixed WxH sizes and keywords (`auto`)
    size_tiers: list[str] = Field(default_factory=list)  # `1K`/`2K`/…, matched in any case
    size_range: SizeRange | None = None
    size_separator: Literal["x", "*"] = "x"  # how the size is written in the request
    default_size: _Size | None = None
    aspect_ratios: list[_Ratio] = Field(default_factory=list)
    default_aspect_ratio: str | None = None
    qualities: list[str] = Field(default_factory=list)
    max_n: int = Field(default=1, ge=1, le=10)
    accepts_n: bool = True  # False: `n` is never sent (the model rejects it)
    negative_prompt: bool = False
    image_input: bool = False
    strength: bool = False
    mask: bool = False  # edits a masked region through POST /images/edits
    styles: list[str] = Field(default_factory=list)  # sent as `style_preset`
    backgrounds: list[str] = Field(default_factory=list)
    watermark: bool = False  # honours `watermark` (the server's /settings watermark)
    output_formats: list[Literal["png", "jpg", "webp"]] = Field(default_factory=list)
    sequential: bool = False  # group images through `extra_body`
    max_sequential: int = Field(default=15, ge=2, le=15)
    cost: int = Field(default=1, ge=0)
    quality_costs: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        custom = parse_size(self.default_size or "")
        custom_ok = custom and self.size_range and self.size_range.problem(*custom) is None
        if self.default_size and self.match_size(self.default_size) is None and not custom_ok:
            raise ValueError(f"default_size {self.default_size!r} is not an allowed size")
        if self.default_aspect_ratio not in (None, *self.aspect_ratios):
            raise ValueError(f"default_aspect_ratio {self.default_aspect_ratio!r} not allowed")
        if self.strength and not self.image_input:
            raise ValueError("strength needs image_input")
        if not self.accepts_n and self.max_n != 1:
            raise ValueError("a model that does not accept n must have max_n 1")
        if unknown := set(self.quality_costs) - set(self.qualities):
            raise ValueError(f"quality_costs for unknown qualities: {sorted(unknown)}")
        return self

    @property
    def can_vary(self) -> bool:
        """Takes a reference image on /images/generations: it can vary an image itself."""
        return self.image_input

    @property
    def edit_fields(self) -> frozenset[str]:
        """The body fields of a masked edit on this model."""
        return EDIT_FIELDS & (self.accepted_fields | {"image", "mask", "response_format"})

    @property
    def takes_size(self) -> bool:
        return bool(self.sizes or self.size_tiers or self.size_range)

    @property
    def fixed_sizes(self) -> list[str]:
        """Tiers first, then the fixed list: what autocomplete and messages offer."""
        return [*self.size_tiers, *self.sizes]

    @property
    def accepted_fields(self) -> frozenset[str]:
        """Every body field this model may receive; nothing else is ever sent to it."""
        optional = {
            "n": self.accepts_n,
            "size": self.takes_size,
            "aspect_ratio": bool(self.aspect_ratios),
            "quality": bool(self.qualities),
            "negative_prompt": self.negative_prompt,
            "image": self.image_input,
            "strength": self.strength,
            "style_preset": bool(self.styles),
            "background": bool(self.backgrounds),
            "extra_body": self.sequential,
            "output_format": bool(self.output_formats),
            "watermark": self.watermark,
        }
        accepted = {name for name, accepted in optional.items() if accepted}
        return ALWAYS_SENT | {"retries"} | accepted  # retries: when the operator sets them

    def match_size(self, size: str) -> str | None:
        """The catalog's spelling of `size` if it is in the fixed list or a tier, else None."""
        wanted = normalise_size(size).lower()
        return next((s for s in self.fixed_sizes if s.lower() == wanted), None)

    def cost_for(self, quality: str | None) -> int:
        """Credits per image at this quality."""
        return self.quality_costs.get(quality or "", self.cost)

    def format_size(self, size: str) -> str:
        """The size as this model wants it written (Wanx: `1024*1024`)."""
        parsed = parse_size(size)
        return f"{parsed[0]}{self.size_separator}{parsed[1]}" if parsed else size


class CatalogError(ValueError):
    """The catalog file (built-in or the operator's) cannot be used; says which and why."""


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    about: str | None = None
    excluded: list[str] = Field(default_factory=list)  # image models deliberately left out
    models: list[ModelSpec]


def _describe(exc: ValidationError, raw: Any) -> str:
    problems = []
    for error in exc.errors()[:3]:
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc) or "(top level)"
        if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
            item = raw["models"][loc[1]]
            model_id = item.get("id") if isinstance(item, dict) else None
            where = f"models[{loc[1]}] ({model_id or 'no id'})" + "".join(
                f".{part}" for part in loc[2:]
            )
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def _read_catalog_file(path: Path) -> _CatalogFile:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise CatalogError(f"model catalog {path}: cannot read it ({exc.strerror})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"model catalog {path}: not valid JSON ({exc})") from exc
    try:
        parsed = _CatalogFile.model_validate(raw)
    except ValidationError as exc:
        shape_ok = isinstance(raw, dict) and isinstance(raw.get("models"), list)
        detail = _describe(exc, raw) if shape_ok else 'expected {"models": [...]}'
        raise CatalogError(f"model catalog {path}: {detail}") from exc
    ids = [spec.id for spec in parsed.models]
    if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
        raise CatalogError(f"model catalog {path}: duplicate model ids {duplicates}")
    return parsed


class Catalog:
    def __init__(self, models: list[ModelSpec], *, excluded: frozenset[str] = frozenset()) -> None:
        self._models = {m.id: m for m in models}
        self.excluded = excluded

    @property
    def ids(self) -> list[str]:
        return list(self._models)

    @classmethod
    def load(cls, path: Path = BUILTIN_CATALOG) -> Catalog:
        data = _read_catalog_file(path)
        return cls(data.models, excluded=frozenset(data.excluded))

    @classmethod
    def load_with_override(cls, override_path: Path | None) -> Catalog:
        """The built-in catalog, with the operator's models replacing or adding by id."""
        catalog = cls.load()
        if override_path is None:
            return catalog
        extra = _read_catalog_file(override_path)
        merged = {**catalog._models, **{spec.id: spec for spec in extra.models}}
        return cls(list(merged.values()), excluded=catalog.excluded | set(extra.excluded))

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._models

    def get(self, model_id: str) -> ModelSpec | None:
        return self._models.get(model_id)

    @property
    def models(self) -> list[ModelSpec]:
        return list(self._models.values())

    def usable_models(self, allowed: frozenset[str] | None) -> list[ModelSpec]:
        """The models a server may use: all of them when `allowed` is None or empty."""
        return [m for m in self.models if not allowed or m.id in allowed]

    def request_for(self, params: JobParams) -> ImageRequest:
        """The request for a stored job; a model since removed from the catalog gets every
        field the job has (what was validated when the job was accepted)."""
        spec = self.get(params.model)
        return build_request(spec, params) if spec else legacy_request(params)


# -- Validation -------------------------------------------------------------------------


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
    """The mask's cheap checks (the pixels are checked once downloaded: bot/masks.py)."""
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
    if mask is not None and not spec.mask:  # say "no masks" before "no input image"
        _check_mask(catalog, spec, mask, None, allowed_models, max_image_bytes)
    image_url = _check_image(
        catalog, spec, image, allowed_models, max_image_bytes, with_mask=mask is not None
    )
    mask_url = _check_mask(catalog, spec, mask, image_url, allowed_models, max_image_bytes)
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
