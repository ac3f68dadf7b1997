"""Midjourney-style flags inside a prompt (`a fox --ar 16:9 --no trees, cars --n 2`).

Flags map onto /imagine options; an option given explicitly always wins over its flag.
Unknown flags (`--v 6`, `--stylize 250`) stay in the prompt as typed. Phones often turn
`--` into an em dash, so `—ar 16:9` works too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.catalog.validation import InvalidRequestError

# Flag name (lower case) → the /imagine option it sets.
FLAG_OPTIONS: dict[str, str] = {
    "ar": "aspect_ratio",
    "aspect": "aspect_ratio",
    "aspect_ratio": "aspect_ratio",
    "aspect-ratio": "aspect_ratio",
    "no": "negative_prompt",
    "neg": "negative_prompt",
    "negative": "negative_prompt",
    "negative_prompt": "negative_prompt",
    "n": "n",
    "count": "n",
    "model": "model",
    "q": "quality",
    "quality": "quality",
    "size": "size",
    "style": "style",
    "strength": "strength",
    "bg": "background",
    "background": "background",
    "group": "sequential",
}
# Options whose value runs until the next flag (a list, or a phrase) instead of one word.
MULTIWORD_OPTIONS = frozenset({"negative_prompt"})
EXAMPLES: dict[str, str] = {
    "aspect_ratio": "--ar 16:9",
    "negative_prompt": "--no trees, cars",
    "n": "--n 4",
    "model": "--model dall-e-3",
    "quality": "--q hd",
    "size": "--size 1024x1024",
    "style": "--style anime",
    "strength": "--strength 0.6",
    "background": "--bg transparent",
    "sequential": "--group 4",
}
QUOTES: dict[str, str] = {'"': '"', "'": "'", "“": "”", "”": "”", "‘": "’", "「": "」", "«": "»"}

# `--name`, `—name` or `––name` at the start of a word, ending at a space, `=` or the end.
_FLAG = re.compile(r"(?<!\S)(?:--|[—–]{1,2})([A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)(?=[\s=]|$)")


@dataclass(frozen=True)
class ParsedPrompt:
    prompt: str  # the text without the known flags (unknown ones kept as typed)
    flags: dict[str, str] = field(default_factory=dict)  # option name → value as typed
    unknown: list[str] = field(default_factory=list)  # unknown flags as typed, e.g. `--v`


def _word_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    return end


def _read_value(text: str, start: int, multiword: bool) -> tuple[str, int]:
    """The flag's value starting at `start` and where it ends: a quoted text, the text up
    to the next flag (multiword options), or one word."""
    if start < len(text) and text[start] == "=":
        start += 1
    while start < len(text) and text[start].isspace():
        start += 1
    if start >= len(text) or _FLAG.match(text, start):
        return "", start
    next_flag = _FLAG.search(text, start)
    flag_at = next_flag.start() if next_flag else len(text)
    closing = QUOTES.get(text[start])
    if closing is not None:
        close_at = text.find(closing, start + 1)
        if close_at != -1:
            return text[start + 1 : close_at].strip(), close_at + 1
        return text[start + 1 : flag_at].strip(), flag_at  # unclosed: up to the next flag
    if multiword:
        return text[start:flag_at].strip(), flag_at
    end = _word_end(text, start)
    return text[start:end], end


def parse_prompt_flags(text: str) -> ParsedPrompt:
    """Split `text` into the prompt and its flags; the last of a repeated flag wins.

    Raises InvalidRequestError (`error.flag_needs_value`) for a known flag with no value.
    """
    pieces: list[str] = []
    flags: dict[str, str] = {}
    unknown: list[str] = []
    pos = 0
    while (match := _FLAG.search(text, pos)) is not None:
        pieces.append(text[pos : match.start()])
        option = FLAG_OPTIONS.get(match[1].lower())
        if option is None:
            unknown.append(match[0])
            pieces.append(match[0])
            pos = match.end()
            continue
        value, pos = _read_value(text, match.end(), option in MULTIWORD_OPTIONS)
        if not value:
            raise InvalidRequestError(
                "error.flag_needs_value", flag=f"--{match[1].lower()}", example=EXAMPLES[option]
            )
        flags[option] = value
    pieces.append(text[pos:])
    prompt = " ".join(piece.strip() for piece in pieces if piece.strip())
    return ParsedPrompt(prompt=prompt, flags=flags, unknown=unknown)


@dataclass(frozen=True)
class ImagineOptions:
    """/imagine's options after flags were merged in (explicit options win)."""

    prompt: str
    model: str | None = None
    size: str | None = None
    aspect_ratio: str | None = None
    n: int | None = None
    quality: str | None = None
    negative_prompt: str | None = None
    style: str | None = None
    strength: float | None = None
    background: str | None = None
    sequential: int | None = None
    unknown_flags: tuple[str, ...] = ()
    output_format: str | None = None


_T = TypeVar("_T")


def _number(flags: dict[str, str], option: str, convert: Callable[[str], _T]) -> _T | None:
    text = flags.get(option)
    if text is None:
        return None
    try:
        return convert(text)
    except ValueError:
        flag = EXAMPLES[option].split()[0]
        raise InvalidRequestError("error.bad_flag_number", flag=flag, value=text) from None


def _first(explicit: _T | None, from_flag: _T | None) -> _T | None:
    return explicit if explicit is not None else from_flag


def resolve_options(
    text: str,
    *,
    model: str | None = None,
    size: str | None = None,
    aspect_ratio: str | None = None,
    n: int | None = None,
    quality: str | None = None,
    negative_prompt: str | None = None,
    style: str | None = None,
    strength: float | None = None,
    background: str | None = None,
    output_format: str | None = None,
) -> ImagineOptions:
    """Parse the flags in `text` and merge them under the explicit options (None = not
    given: the cog must not give `n` a default of 1, or `--n` could never apply)."""
    parsed = parse_prompt_flags(text)
    f = parsed.flags
    return ImagineOptions(
        prompt=parsed.prompt,
        model=_first(model, f.get("model")),
        size=_first(size, f.get("size")),
        aspect_ratio=_first(aspect_ratio, f.get("aspect_ratio")),
        n=n if n is not None else _number(f, "n", int),
        quality=_first(quality, f.get("quality")),
        negative_prompt=_first(negative_prompt, f.get("negative_prompt")),
        style=_first(style, f.get("style")),
        strength=strength if strength is not None else _number(f, "strength", float),
        background=_first(background, f.get("background")),
        sequential=_number(f, "sequential", int),
        unknown_flags=tuple(parsed.unknown),
        output_format=output_format,
    )
