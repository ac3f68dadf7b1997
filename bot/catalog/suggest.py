"""Autocomplete for /imagine: ranked (name, value) choices for models and their options.

Pure and fast (no I/O), each answer at most MAX_CHOICES pairs.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from bot.catalog.sizes import parse_size

if TYPE_CHECKING:
    from bot.catalog.spec import Catalog, ModelSpec

MAX_CHOICES = 25  # Discord's limit for autocomplete answers

Choice = tuple[str, str]


def _rank(choices: list[Choice], current: str) -> list[Choice]:
    """Choices whose value or name starts with `current` first, then those containing it."""
    needle = current.strip().lower()
    starts = [c for c in choices if any(part.lower().startswith(needle) for part in c)]
    contains = [c for c in choices if c not in starts and any(needle in p.lower() for p in c)]
    return (starts + contains)[:MAX_CHOICES]


def _marks(spec: ModelSpec) -> str:
    """Language-neutral capability marks: ⟲ varies images, 🖌 takes masks, its formats."""
    marks = [mark for mark, has in (("⟲", spec.can_vary), ("🖌", spec.mask)) if has]
    if spec.output_formats:
        marks.append("/".join(spec.output_formats))
    return f" · {' '.join(marks)}" if marks else ""


def suggest_models(
    catalog: Catalog, current: str, allowed: frozenset[str] | None = None
) -> list[Choice]:
    choices = [
        (f"{m.label} ({m.id}){_marks(m)}"[:100], m.id) for m in catalog.usable_models(allowed)
    ]
    return _rank(choices, current)


def _size_name(size: str) -> str:
    parsed = parse_size(size)
    if parsed is None:
        return size
    divisor = math.gcd(*parsed)
    width, height = parsed[0] // divisor, parsed[1] // divisor
    return f"{size} ({width}:{height})" if max(width, height) <= 32 else size


def suggest_sizes(spec: ModelSpec | None, current: str) -> list[Choice]:
    if spec is None:
        return []
    typed = re.sub(r"\s*[xX×*]\s*", "x", current.strip())  # also while half typed: `1024*`
    choices = [(_size_name(s), s) for s in spec.fixed_sizes]
    parsed = parse_size(current)
    custom_ok = parsed and spec.size_range and spec.size_range.problem(*parsed) is None
    if custom_ok and spec.match_size(typed) is None:
        choices.insert(0, (_size_name(typed), typed))
    return _rank(choices, typed)


def _plain_choices(values: list[str], current: str) -> list[Choice]:
    return _rank([(v, v) for v in values], current)


def suggest_aspect_ratios(spec: ModelSpec | None, current: str) -> list[Choice]:
    typed = re.sub(r"\s*[:/∶：]\s*", ":", current.strip())
    return _plain_choices(spec.aspect_ratios if spec else [], typed)


def suggest_qualities(spec: ModelSpec | None, current: str) -> list[Choice]:
    return _plain_choices(spec.qualities if spec else [], current)


def suggest_styles(spec: ModelSpec | None, current: str) -> list[Choice]:
    return _plain_choices(spec.styles if spec else [], current)


def suggest_output_formats(spec: ModelSpec | None, current: str) -> list[Choice]:
    return _plain_choices(list(spec.output_formats) if spec else [], current)
