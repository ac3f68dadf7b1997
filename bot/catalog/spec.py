"""The model catalog: what each GeekAI image model accepts (`ModelSpec`), and loading it.

Validation against it lives in validation.py, the request body each model gets (only the
fields it accepts) in requests.py, the size grammar in sizes.py, autocomplete in suggest.py.

The catalog is data (`bot/catalog/models.json`), optionally overlaid by an operator's file of
the same shape, so a model GeekAI launches tomorrow needs no release.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.catalog.requests import ALWAYS_SENT, EDIT_FIELDS, build_request, legacy_request
from bot.catalog.sizes import SizeRange, normalise_ratio, normalise_size, parse_size
from bot.geekai import ImageRequest
from bot.jobs.models import JobParams

BUILTIN_CATALOG = Path(__file__).resolve().parent / "models.json"

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
