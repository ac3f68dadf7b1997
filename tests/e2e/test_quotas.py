"""Quotas through the fake Discord: admins set them, members see and spend them."""

from __future__ import annotations

import csv
import io

from bot.models import JobState
from tests.e2e.harness import Harness
from tests.fakes.geekai_server import TaskOutcome

MEMBER = 5000  # a plain member (no Manage Server)
NO_PERMISSIONS = 1 << 10 | 1 << 11  # view channel + send messages only


async def _quota_text(harness: Harness, user_id: int) -> str:
    return await harness.reply_text(await harness.command("quota", user_id=user_id))


async def _imagine_as(harness: Harness, user_id: int, prompt: str) -> str:
    interaction = await harness.discord.send_interaction(
        "imagine", [{"name": "prompt", "type": 3, "value": prompt}], user_id=user_id
    )
    await interaction.wait_response()
    if interaction.response_type == 4:
        return str((interaction.response_data or {}).get("content"))
    message = await harness.wait_final(interaction.original_message_id or 0)
    return message.content


async def test_admin_sets_a_quota_and_the_member_sees_and_spends_it(harness: Harness) -> None:
    await harness.start_bot()
    set_user = await harness.command(
        "quotas", "set-user", user=("user", MEMBER), credits=2, period="day"
    )
    confirmation = await harness.reply_text(set_user)
    assert "2 credits per day" in confirmation
    assert set_user.ephemeral

    assert "Used 0 · left 2." in await _quota_text(harness, MEMBER)
    assert (await _imagine_as(harness, MEMBER, "one")).startswith("✅")
    assert (await _imagine_as(harness, MEMBER, "two")).startswith("✅")
    text = await _quota_text(harness, MEMBER)
    assert "Used 2 · left 0." in text and "Resets <t:" in text

    refused = await harness.discord.send_interaction(
        "imagine", [{"name": "prompt", "type": 3, "value": "three"}], user_id=MEMBER
    )
    await refused.wait_response()
    answer = await harness.reply_text(refused)
    assert answer.startswith("Not enough credits: this needs 1, you have 0 left.")
    assert "\n" not in answer
    assert (await harness.reply_message(refused)).ephemeral
    assert len(await harness.jobs()) == 2  # the refused request left no job
    assert len([r for r in harness.geekai.requests if r.method == "POST"]) == 2


async def test_failed_job_is_refunded(harness: Harness) -> None:
    harness.geekai.script_task(TaskOutcome(result="failed"))
    await harness.start_bot()
    await harness.reply_text(
        await harness.command("quotas", "set-user", user=("user", MEMBER), credits=1, period="day")
    )
    assert (await _imagine_as(harness, MEMBER, "fails")).startswith("🔴")
    assert "Used 0 · left 1." in await _quota_text(harness, MEMBER)
    [job] = await harness.jobs()
    assert job.state is JobState.FAILED


async def test_member_without_manage_server_is_refused_in_code(harness: Harness) -> None:
    await harness.start_bot()
    # As if a server admin had overridden the command's permissions to let them run it.
    attempt = await harness.command(
        "quotas", "set-default", user_id=MEMBER, member_permissions=NO_PERMISSIONS,
        credits=1000, period="day",
    )  # fmt: skip
    answer = await harness.reply_text(attempt)
    assert "Only server managers" in answer
    assert (await harness.reply_message(attempt)).ephemeral
    # Nothing changed: the member still has the bot default.
    assert "25 credits per day (bot default)" in await _quota_text(harness, MEMBER)


async def test_bad_admin_input_changes_nothing(harness: Harness) -> None:
    await harness.start_bot()
    for credits, period, words in ((-5, "day", "whole number"), (10, "hourly", "Unknown period")):
        answer = await harness.reply_text(
            await harness.command(
                "quotas", "set-user", user=("user", MEMBER), credits=credits, period=period
            )
        )
        assert words in answer and "Nothing was changed" in answer
    assert "25 credits per day (bot default)" in await _quota_text(harness, MEMBER)


async def test_csv_export_sums_to_quota(harness: Harness) -> None:
    await harness.start_bot()
    await harness.reply_text(
        await harness.command("quotas", "grant", user=("user", MEMBER), credits=3)
    )
    for prompt in ("a", "b"):
        assert (await _imagine_as(harness, MEMBER, prompt)).startswith("✅")
    message = await harness.reply_message(await harness.command("quotas", "export"))
    assert message.ephemeral
    [attachment] = message.attachments
    assert attachment.filename == "ledger.csv"
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode())))
    mine = [r for r in rows if r["user_id"] == f"#{MEMBER}"]  # ids as text (19 digits kept)
    used = sum(int(r["amount"]) for r in mine if r["kind"] != "grant")
    granted = sum(int(r["amount"]) for r in mine if r["kind"] == "grant")
    assert (used, granted) == (2, 3)
    assert f"Used {used} · left {25 + granted - used}." in await _quota_text(harness, MEMBER)


async def test_server_timezone_is_set_and_validated(harness: Harness) -> None:
    await harness.start_bot()
    ok = await harness.reply_text(await harness.command("settings", "timezone", tz="Asia/Shanghai"))
    assert "Asia/Shanghai" in ok
    bad = await harness.reply_text(await harness.command("settings", "timezone", tz="Mars/Base"))
    assert "Unknown time zone" in bad and "Nothing was changed" in bad


async def test_cooldown_refuses_quick_repeats_for_free(harness: Harness) -> None:
    harness.overrides["user_cooldown_seconds"] = 30.0
    await harness.start_bot()
    assert (await _imagine_as(harness, MEMBER, "first")).startswith("✅")
    second = await _imagine_as(harness, MEMBER, "second")
    assert second.startswith("Slow down a little: try again in") and "Nothing was charged" in second
    assert "Used 1 · left 24." in await _quota_text(harness, MEMBER)
    assert len(await harness.jobs()) == 1


async def test_direct_messages_follow_the_dm_policy(harness: Harness) -> None:
    await harness.start_bot()
    refused = await harness.discord.send_interaction(
        "imagine", [{"name": "prompt", "type": 3, "value": "a dm cat"}], guild_id=None
    )
    await refused.wait_response()
    assert refused.ephemeral
    assert "not available in direct messages" in (refused.response_data or {}).get("content", "")
    assert await harness.jobs() == []

    await harness.stop_bot()
    harness.overrides["allow_dm_imagine"] = True
    await harness.start_bot()
    allowed = await harness.discord.send_interaction(
        "imagine", [{"name": "prompt", "type": 3, "value": "a dm cat"}], guild_id=None
    )
    await allowed.wait_response()
    message = await harness.wait_final(allowed.original_message_id or 0)
    assert message.content.startswith("✅")
    [job] = await harness.jobs()
    assert job.target.guild_id is None
    assert await harness.charged(job.id) == (["reserve", "commit"], 1)
