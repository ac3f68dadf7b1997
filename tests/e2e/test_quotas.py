"""Quotas through the fake Discord: admins set them, members see and spend them."""

from __future__ import annotations

import csv
import io

from bot.jobs.models import JobState
from tests.e2e.harness import Harness, option
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

    def answered() -> bool:  # the result, or a refusal sent after deferring
        original = harness.discord.messages.get(interaction.original_message_id or 0)
        done = original is not None and original.content.startswith(("✅", "🔴", "⚪"))
        return done or bool(interaction.followup_ids)

    await harness.discord.wait_for(answered)
    if interaction.followup_ids:
        return harness.discord.messages[interaction.followup_ids[-1]].content
    return harness.discord.messages[interaction.original_message_id or 0].content


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


async def test_the_report_attaches_a_usage_chart(harness: Harness) -> None:
    await harness.start_bot()
    assert "✅" in await _imagine_as(harness, MEMBER, "a chart-worthy cat")
    reply = await harness.reply_message(await harness.command("quotas", "report"))
    assert f"<@{MEMBER}>" in reply.content and "Chart:" in reply.content
    [attachment] = reply.attachments
    assert attachment.filename == "usage.png" and attachment.data.startswith(b"\x89PNG\r\n")
    zh = await harness.reply_message(await harness.command("quotas", "report", locale="zh-CN"))
    assert "图表" in zh.content and zh.attachments[0].filename == "usage.png"


async def test_operator_ceilings_bound_every_server(harness: Harness) -> None:
    """USER_DAILY_CREDITS_MAX counts one member across servers; GUILD_DAILY_CREDITS_MAX one
    server; an unlimited server policy does not lift either, and a refusal costs nothing."""
    harness.overrides.update(user_daily_credits_max=3, guild_daily_credits_max=5)
    other_guild = harness.discord.add_guild()
    for user in (MEMBER, 5001, 5002):
        harness.discord.add_member(user)
    harness.discord.add_member(MEMBER, guild_id=other_guild)
    await harness.start_bot()
    unlimited = await harness.command("quotas", "set-default", credits=0, period="unlimited")
    assert "unlimited" in (await harness.reply_text(unlimited)).lower()

    async def imagine(user: int, n: int, guild: int | None = None) -> str:
        ix = await harness.discord.send_interaction(
            "imagine", [option("prompt", f"cat {user} {n}"), option("n", n)],
            user_id=user, guild_id=guild or harness.discord.guild_id,
        )  # fmt: skip
        await ix.wait_response()

        def answered() -> bool:
            original = harness.discord.messages.get(ix.original_message_id or 0)
            done = original is not None and original.content.startswith(("✅", "🔴"))
            return done or bool(ix.followup_ids)

        await harness.discord.wait_for(answered)
        if ix.followup_ids:
            return harness.discord.messages[ix.followup_ids[-1]].content
        return harness.discord.messages[ix.original_message_id or 0].content

    assert (await imagine(MEMBER, 2, other_guild)).startswith("✅")  # another server
    refused = await imagine(MEMBER, 2)
    assert "daily limit for one member" in refused and "Nothing was charged" in refused
    assert (await imagine(5001, 2)).startswith("✅")
    assert (await imagine(5002, 2)).startswith("✅")  # this server: 4 of 5
    refused = await imagine(MEMBER, 1)  # member: 3 of 3 with it, server: 5 of 5
    assert refused.startswith("✅")
    refused = await imagine(5001, 1)
    assert "This server reached the bot's daily limit" in refused
    jobs = await harness.jobs()
    assert len(jobs) == 4 and all(j.state is JobState.SUCCEEDED for j in jobs)


async def test_a_server_outside_the_allowlist_is_refused(harness: Harness) -> None:
    harness.overrides["guild_allowlist"] = frozenset({123})
    await harness.start_bot()
    ix = await harness.imagine("a cat")
    assert ix.ephemeral and "not enabled image generation" in str(
        (ix.response_data or {}).get("content")
    )
    assert await harness.jobs() == []
