"""The model catalog: what each GeekAI image model accepts, and validation against it."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import UserFacingError
from bot.models import JobParams

BUILTIN_CATALOG = Path(__file__).resolve().parent / "data" / "models.json"


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    label: str
    sizes: list[str] = Field(default_factory=list)
    default_size: str | None = None
    qualities: list[str] = Field(default_factory=list)
    max_n: int = Field(default=1, ge=1, le=10)
    negative_prompt: bool = False
    cost: int = Field(default=1, ge=0)


class Catalog:
    def __init__(self, models: list[ModelSpec]) -> None:
        self._models = {m.id: m for m in models}

    @classmethod
    def load(cls, path: Path = BUILTIN_CATALOG) -> Catalog:
        raw = json.loads(path.read_text("utf-8"))
        return cls([ModelSpec.model_validate(item) for item in raw["models"]])

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._models

    def get(self, model_id: str) -> ModelSpec | None:
        return self._models.get(model_id)

    @property
    def models(self) -> list[ModelSpec]:
        return list(self._models.values())


class InvalidRequestError(UserFacingError):
    """A request the chosen model cannot take; nothing is reserved or sent."""


def validate_params(
    catalog: Catalog,
    *,
    prompt: str,
    model: str,
    size: str | None = None,
    n: int = 1,
    negative_prompt: str | None = None,
    max_prompt_length: int,
) -> JobParams:
    """Check a request against the model's capabilities; raise InvalidRequestError if not."""
    prompt = prompt.strip()
    if not prompt:
        raise InvalidRequestError("error.prompt_empty")
    if len(prompt) > max_prompt_length:
        raise InvalidRequestError("error.prompt_too_long", limit=max_prompt_length)
    spec = catalog.get(model)
    if spec is None:
        raise InvalidRequestError(
            "error.unknown_model", model=model, allowed=", ".join(m.id for m in catalog.models)
        )
    if size is not None and spec.sizes and size not in spec.sizes:
        raise InvalidRequestError(
            "error.bad_size", model=spec.id, size=size, allowed=", ".join(spec.sizes)
        )
    if size is not None and not spec.sizes:
        raise InvalidRequestError("error.no_size", model=spec.id)
    if not 1 <= n <= spec.max_n:
        raise InvalidRequestError("error.bad_n", model=spec.id, n=n, max=spec.max_n)
    negative = (negative_prompt or "").strip() or None
    if negative is not None and not spec.negative_prompt:
        raise InvalidRequestError("error.no_negative_prompt", model=spec.id)
    return JobParams(
        model=spec.id,
        prompt=prompt,
        negative_prompt=negative,
        size=size or spec.default_size,
        n=n,
    )
