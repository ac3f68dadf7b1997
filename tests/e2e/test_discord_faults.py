"""Discord-side faults: rate limits, a deleted status message, a dropped gateway, fairness."""

from __future__ import annotations

import re
import time

from bot.jobs.models import JobState
from tests.e2e.harness import Harness, option, settle
from tests.fakes.discord_server import FakeMessage

MEMBER = 5000


async def test_discord_429_on_an_edit_is_waited_out(harness: Harness) -> None:
    harness.discord.fail_next(
        "PATCH /webhooks/{app}/{token}/messages/{id}", 429,
        {"message": "You are being rate limited.", "retry_after": 0.3, "global": False},
        times=2,
    )  # fmt: skip
    await harness.start_bot()
    interaction = await harness.imagine("patience")
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("✅") and message.attachments
    assert any(r.status == 429 for r in harness.discord.requests)


async def test_status_message_deleted_mid_job_is_delivered_as_a_new_message(
    harness: Harness,
) -> None:
    harness.geekai.default_outcome.running_seconds = 1.5
    await harness.start_bot()
    interaction = await harness.imagine("a phoenix")
    first_id = interaction.original_message_id or 0
    await harness.discord.wait_for(lambda: len(harness.states_shown(first_id)) >= 2)
    harness.discord.messages[first_id].deleted = True  # a moderator deleted it
    await harness.discord.wait_for(
        lambda: any(
            m.content.startswith("✅") and not m.deleted for m in harness.discord.messages.values()
        ),
        timeout=15,
    )
    await harness.wait_jobs_settled()
    [job] = await harness.jobs()
    assert job.state is JobState.SUCCEEDED and job.message_id != first_id
    final = harness.discord.messages[job.message_id or 0]
    assert final.attachments and final.content.startswith("✅")


async def test_gateway_drop_resumes_and_work_goes_on(harness: Harness) -> None:
    harness.geekai.default_outcome.running_seconds = 1.0
    await harness.start_bot()
    interaction = await harness.imagine("before the drop")
    await harness.discord.disconnect_gateway(allow_resume=True)
    await harness.discord.wait_for(lambda: harness.discord.resume_count == 1)
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("✅")
    after = await harness.imagine("after the drop")
    assert (await harness.wait_final(after.original_message_id or 0)).content.startswith("✅")


async def test_a_small_user_is_not_stuck_behind_a_big_batch(harness: Harness) -> None:
    harness.overrides.update(max_running_jobs=1, max_running_per_user=1)
    harness.geekai.default_outcome.pending_seconds = 0.1
    harness.geekai.default_outcome.running_seconds = 0.2
    await harness.start_bot()
    for i in range(10):  # user A (the owner) queues 10
        ix = await harness.discord.send_interaction("imagine", [option("prompt", f"A{i}")])
        await ix.wait_response()
    b = await harness.discord.send_interaction("imagine", [option("prompt", "B0")], user_id=MEMBER)
    await b.wait_response()
    queued = harness.discord.messages[b.original_message_id or 0]
    await harness.discord.wait_for(lambda: "position #1" in queued.content)
    await harness.discord.wait_for(
        lambda: len([r for r in harness.geekai.requests if r.method == "POST"]) >= 3, timeout=20
    )
    order = [r.json["prompt"] for r in harness.geekai.requests if r.method == "POST"]
    assert order[:2] == ["A0", "B0"]  # B starts before A's second job


async def test_missing_channel_permissions_are_named_and_cost_nothing(harness: Harness) -> None:
    attach_files = 1 << 15
    harness.discord.add_text_channel(
        3100, "no-files",
        overwrites=[{"id": harness.discord.bot_user_id, "type": 1, "allow": 0,
                     "deny": attach_files}],
    )  # fmt: skip
    await harness.start_bot()
    ix = await harness.discord.send_interaction(
        "imagine", [option("prompt", "a map")], channel_id=3100
    )
    await ix.wait_response()
    # The interaction's own response needs no channel permission: the result arrives.
    result = await harness.wait_final(ix.original_message_id or 0)
    assert result.content.startswith("✅")
    bot = harness.discord.bot_user_id
    await harness.discord.wait_for(lambda: bot in result.reactions.get("🔄", set()))
    jobs = await harness.jobs()
    await harness.discord.send_reaction_add(result.id, "🔄", harness.discord.owner_id)
    dm = harness.discord.dm_channel(harness.discord.owner_id)
    await harness.discord.wait_for(lambda: bool(harness.discord.channel_messages(dm.id)))
    [notice] = harness.discord.channel_messages(dm.id)
    assert "Attach Files" in notice.content and "Nothing was charged" in notice.content
    assert len(await harness.jobs()) == len(jobs)  # no reroll started


WEBHOOK_EDIT = "PATCH /webhooks/{app}/{token}/messages/{id}"
CHANNEL_EDIT = "PATCH /channels/{channel}/messages/{id}"


async def _running(harness: Harness, pending: float = 1.0) -> int:
    """Start a job and wait until it shows 🟡; the task skips "running", so the next webhook
    edit is the final one."""
    harness.geekai.default_outcome.pending_seconds = pending
    harness.geekai.default_outcome.running_seconds = 0.0
    interaction = await harness.imagine("under pressure")
    message_id = interaction.original_message_id or 0
    await harness.discord.wait_for(lambda: "🟡" in harness.states_shown(message_id), timeout=10)
    return message_id


async def test_a_5xx_storm_on_the_final_edit_falls_back_to_the_bot_token(
    harness: Harness,
) -> None:
    harness.overrides.update(delivery_webhook_budget=1.5)
    await harness.start_bot()
    started = time.monotonic()
    message_id = await _running(harness)
    harness.discord.fail_next(WEBHOOK_EDIT, 502, {"message": "Bad Gateway"}, times=100)
    message = await harness.wait_final(message_id, timeout=20)
    assert message.content.startswith("✅") and message.attachments
    [job] = await harness.jobs()
    assert job.state is JobState.SUCCEEDED and job.message_id == message_id
    [final] = [r for r in harness.discord.requests_for(CHANNEL_EDIT) if r.status == 200]
    # The time shown is the true time to delivery, not the time the delivery began.
    shown = float(re.search(r"Done in ([\d.]+) s", message.content).group(1))  # type: ignore[union-attr]
    assert final.at - started - 1.0 <= shown <= final.at - started + 0.2
    kinds, total = await harness.charged(job.id)
    assert (kinds, total) == (["reserve", "commit"], 1)


async def test_a_long_webhook_429_is_not_slept_out_past_the_token(harness: Harness) -> None:
    harness.overrides.update(interaction_token_ttl=4.0)  # the budget (30 s) is not what ends it
    await harness.start_bot()
    message_id = await _running(harness)
    harness.discord.fail_next(WEBHOOK_EDIT, 429, {"retry_after": 3600.0}, times=1)
    started = time.monotonic()
    message = await harness.wait_final(message_id, timeout=15)
    assert time.monotonic() - started < 6
    assert message.content.startswith("✅") and message.attachments
    assert any(r.status == 200 for r in harness.discord.requests_for(CHANNEL_EDIT))


async def test_a_5xx_on_the_bot_token_edit_posts_the_result_as_a_new_message(
    harness: Harness,
) -> None:
    harness.overrides.update(interaction_token_ttl=0.8)  # edits go through the channel soon
    await harness.start_bot()
    message_id = await _running(harness, pending=2.5)
    await settle(0.9)  # the token is past its use now: the final edit is a channel edit
    harness.discord.fail_next(CHANNEL_EDIT, 503, {"message": "Service Unavailable"}, times=100)

    def result() -> FakeMessage | None:
        return next(
            (
                m
                for m in harness.discord.messages.values()
                if m.content.startswith("✅") and m.id != message_id
            ),
            None,
        )

    await harness.discord.wait_for(lambda: result() is not None, timeout=20)
    final = result()
    assert final is not None and final.attachments
    assert any(r.status == 503 for r in harness.discord.requests_for(CHANNEL_EDIT))
    await settle(0.3)
    [job] = await harness.jobs()
    assert job.state is JobState.SUCCEEDED and job.message_id == final.id
    assert (await harness.charged(job.id)) == (["reserve", "commit"], 1)
