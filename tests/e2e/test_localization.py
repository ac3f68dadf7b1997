"""zh-CN and English: command names and texts as Discord receives them, and replies."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.harness import Harness, option

# Discord's rule for command and option names (application-commands docs).
NAME_RULE = re.compile(r"^[-_\w]{1,32}$")


def _walk(items: list[dict[str, Any]], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    for item in items:
        here = f"{path}/{item['name']}"
        found.append((here, item))
        found += _walk(item.get("options") or [], here)
        found += [(f"{here}:{c['name']}", c) for c in item.get("choices") or []]
    return found


async def test_every_command_string_is_localized(harness: Harness) -> None:
    await harness.start_bot()
    commands = harness.discord.registered_commands[harness.discord.guild_id]
    assert commands
    for path, item in _walk(commands):
        names = item.get("name_localizations") or {}
        assert names.get("zh-CN"), f"{path}: no zh-CN name"
        assert names.get("en-US") == item["name"] == names.get("en-GB"), path
        if item.get("description"):  # choices and context menus have none
            texts = item.get("description_localizations") or {}
            assert texts.get("zh-CN"), f"{path}: no zh-CN description"
            assert len(texts["zh-CN"]) <= 100
        if "value" not in item:  # commands and options (not choices) obey the name rule
            localized = names["zh-CN"]
            assert NAME_RULE.match(localized) and localized == localized.lower(), path
    for _, item in _walk(commands):  # sibling names stay unique once translated
        siblings = [o["name_localizations"]["zh-CN"] for o in item.get("options") or []]
        assert len(siblings) == len(set(siblings))


async def test_replies_follow_the_users_locale(harness: Harness) -> None:
    await harness.start_bot()
    zh = await harness.discord.send_interaction(
        "imagine", [option("prompt", "一只猫")], locale="zh-CN"
    )
    en = await harness.discord.send_interaction(
        "imagine", [option("prompt", "a cat")], locale="en-US"
    )
    for interaction in (zh, en):
        await interaction.wait_response()
    zh_msg = await harness.wait_final(zh.original_message_id or 0)
    en_msg = await harness.wait_final(en.original_message_id or 0)
    assert zh_msg.content.startswith("✅ 完成")
    assert zh_msg.embeds[0]["fields"][0]["name"] == "模型"
    assert en_msg.content.startswith("✅ Done")
    # The prompt goes to GeekAI unchanged, in the language it was typed.
    prompts = [r.json["prompt"] for r in harness.geekai.requests if r.method == "POST"]
    assert sorted(prompts) == sorted(["一只猫", "a cat"])
    bad = await harness.discord.send_interaction(
        "imagine", [option("prompt", "x"), option("model", "nope")], locale="zh-CN"
    )
    await bad.wait_response()
    assert (bad.response_data or {}).get("content", "").startswith("未知模型")


async def test_quota_in_chinese_and_english(harness: Harness) -> None:
    await harness.start_bot()
    zh = await harness.reply_text(await harness.command("quota", locale="zh-CN"))
    assert zh.startswith("你的额度：每天 25 点（机器人默认）。") and "剩余 25 点" in zh
    en = await harness.reply_text(await harness.command("quota", locale="en-US"))
    assert en.startswith("Your allowance: 25 credits per day (bot default).")
