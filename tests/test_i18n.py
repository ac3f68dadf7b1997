from __future__ import annotations

import string

from bot.i18n import EN, ZH, t


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_has_both_languages_with_the_same_placeholders() -> None:
    assert set(EN) == set(ZH)
    for key in EN:
        assert _fields(EN[key]) == _fields(ZH[key]), key


def test_locale_choice_and_fallback() -> None:
    assert t("zh-CN", "status.cancelled") == "⚪ 已取消"
    assert t("en-GB", "status.cancelled") == "⚪ Cancelled"
    assert t("fr", "status.cancelled") == "⚪ Cancelled"
    assert t("en-US", "no.such.key") == "no.such.key"
