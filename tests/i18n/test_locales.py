from __future__ import annotations

import string

from bot.i18n.lookup import EN, ZH, format_duration, t


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


def test_durations_read_naturally() -> None:
    assert format_duration("en-US", 1) == "1 second"
    assert format_duration("en-US", 45) == "45 seconds"
    assert format_duration("en-US", 60 * 10) == "10 minutes"
    assert format_duration("zh-CN", 600) == "10 分钟"
    assert format_duration("zh-CN", 30) == "30 秒"


def test_english_plurals_read_naturally() -> None:
    assert t("en-US", "status.delivering", count=1) == "🟢 Finishing — preparing 1 image"
    assert t("en-US", "status.delivering", count=4) == "🟢 Finishing — preparing 4 images"
    assert t("en-US", "quota.allowance", credits=1, period="per day") == "1 credit per day"
    assert t("zh-CN", "status.delivering", count=4) == "🟢 即将完成 — 正在准备 4 张图片"
