"""Every sentence the bot writes, read from `locales/<locale>.json`, chosen by locale."""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en-US"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


def _load(locale: str) -> dict[str, dict[str, str]]:
    with (LOCALES_DIR / f"{locale}.json").open(encoding="utf-8") as file:
        data: dict[str, dict[str, str]] = json.load(file)
    return data


_EN_FILE = _load("en-US")
_ZH_FILE = _load("zh-CN")

EN: Mapping[str, str] = MappingProxyType(_EN_FILE["messages"])
ZH: Mapping[str, str] = MappingProxyType(_ZH_FILE["messages"])
# Slash-command names and descriptions for Chinese clients, keyed by their English text.
COMMAND_NAMES_ZH: Mapping[str, str] = MappingProxyType(_ZH_FILE["command_names"])
COMMAND_TEXTS_ZH: Mapping[str, str] = MappingProxyType(_ZH_FILE["command_texts"])

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": EN, "zh": ZH}


def language_of(locale: str | None) -> str:
    """Discord locale → catalog: zh-CN / zh-TW → Chinese, anything else → English."""
    if locale and locale.lower().startswith("zh"):
        return "zh"
    return "en"


def format_duration(locale: str | None, seconds: float) -> str:
    """A short, natural duration: "45 seconds", "1 minute", "10 minutes" / "45 秒", "10 分钟"."""
    zh = language_of(locale) == "zh"
    if seconds < 120:
        value = max(1, round(seconds))
        return f"{value} 秒" if zh else f"{value} second{'s' if value != 1 else ''}"
    value = round(seconds / 60)
    return f"{value} 分钟" if zh else f"{value} minute{'s' if value != 1 else ''}"


class _Formatter(string.Formatter):
    """`{n:# image|images}` → "1 image" / "3 images": English plurals inside templates."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec.startswith("#") and "|" in format_spec:
            one, other = format_spec[1:].strip().split("|", 1)
            return f"{value} {one if value == 1 else other}"
        return str(super().format_field(value, format_spec))


_FORMATTER = _Formatter()


def t(locale: str | None, key: str, **params: object) -> str:
    """The sentence `key` in the locale's language, English if it has no translation."""
    catalog = CATALOGS[language_of(locale)]
    template = catalog.get(key) or EN.get(key)
    if template is None:
        log.error("missing message key %s", key)
        return key
    try:
        return _FORMATTER.vformat(template, (), params)
    except (KeyError, IndexError, ValueError):
        log.exception("bad parameters for message key %s", key)
        return EN.get(key, key)
