"""Reroll by reaction, result buttons (before and after a restart) and /jobs."""

from __future__ import annotations

import asyncio

from bot.jobs.models import JobState
from tests.e2e.harness import Harness
from tests.fakes.discord_server import FakeMessage

MEMBER = 5000
OWNER = 4000  # the requester in these tests (harness.imagine runs as the owner account)
NO_PERMISSIONS = 1 << 10 | 1 << 11


async def _result(harness: Harness, prompt: str = "a red boat", **options: object) -> FakeMessage:
    interaction = await harness.imagine(prompt, **options)
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("✅")
    # The bot adds its 🔄 once the job is recorded as succeeded: from then on it is a result.
    bot = harness.discord.bot_user_id
    await harness.discord.wait_for(lambda: bot in message.reactions.get("🔄", set()))
    return message


async def _jobs_settle(harness: Harness, count: int) -> None:
    async def done() -> bool:
        jobs = await harness.jobs()
        return len(jobs) == count and all(j.state.terminal for j in jobs)

    for _ in range(200):
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} finished jobs, have {await harness.jobs()}")


async def test_result_has_buttons_and_the_bots_own_reaction(harness: Harness) -> None:
    await harness.start_bot()
    message = await _result(harness, "two birds", model="cogview-4", n=2)
    await harness.discord.wait_for(lambda: harness.discord.bot_user_id in message.reactions["🔄"])
    ids = [c["custom_id"] for row in message.components for c in row["components"]]
    [job] = await harness.jobs()
    assert ids == [
        f"imagine:reroll:{job.id}",
        f"imagine:edit:{job.id}",
        f"imagine:delete:{job.id}",
        f"imagine:region:{job.id}",
        f"imagine:image:{job.id}:1",
        f"imagine:image:{job.id}:2",
        f"imagine:vary:{job.id}",
    ]
    vary = message.components[-1]["components"][0]
    assert [o["value"] for o in vary["options"]] == ["1:subtle", "1:strong", "2:subtle", "2:strong"]
    assert all(len(i) <= 100 for i in ids)


async def test_reaction_reroll_starts_exactly_one_job_replying_to_the_original(
    harness: Harness,
) -> None:
    await harness.start_bot()
    original = await _result(harness, "a lighthouse", model="dall-e-3")
    await harness.discord.wait_for(lambda: "🔄" in original.reactions)
    # The bot's own reaction never starts anything.
    await harness.discord.send_reaction_add(original.id, "🔄", harness.discord.bot_user_id)
    # The requester toggles: add, remove, add — and two adds arrive together.
    await harness.discord.send_reaction_add(original.id, "🔄", OWNER)
    await harness.discord.send_reaction_remove(original.id, "🔄", OWNER)
    await asyncio.gather(
        harness.discord.send_reaction_add(original.id, "🔄", OWNER),
        harness.discord.send_reaction_add(original.id, "🔄", OWNER),
    )
    await _jobs_settle(harness, 2)
    first, second = await harness.jobs()
    assert second.parent_job_id == first.id and second.params == first.params
    assert second.user_id == OWNER and second.state is JobState.SUCCEEDED
    reply = harness.discord.messages[second.message_id or 0]
    assert reply.message_reference and int(reply.message_reference["message_id"]) == original.id
    assert reply.content.startswith("✅") and reply.attachments
    assert harness.states_shown(reply.id)[-1] == "✅"
    # The member's 🔄 was taken away once handled (the bot's stays as the affordance).
    await harness.discord.wait_for(lambda: OWNER not in original.reactions.get("🔄", set()))
    assert len([r for r in harness.geekai.requests if r.method == "POST"]) == 2
    # All that without message events: the bot does not ask for them, so none was sent.
    dropped = {event for event, _ in harness.discord.gateway.dropped}
    assert {"MESSAGE_CREATE", "MESSAGE_UPDATE"} <= dropped


async def test_reroll_policy_requester_then_anyone(harness: Harness) -> None:
    await harness.start_bot()
    original = await _result(harness, "a castle")
    await harness.discord.send_reaction_add(original.id, "🔄", MEMBER)

    def notice() -> FakeMessage | None:
        return next(
            (
                m for m in harness.discord.messages.values()
                if m.message_reference and int(m.message_reference["message_id"]) == original.id
                and "Only the person who asked" in m.content
            ),
            None,
        )  # fmt: skip

    await harness.discord.wait_for(lambda: notice() is not None)
    found = notice()
    assert found is not None and f"<@{MEMBER}>" in found.content
    assert len(await harness.jobs()) == 1  # nothing started, nothing charged

    await harness.reply_text(await harness.command("settings", "reroll-policy", policy="anyone"))
    await harness.discord.send_reaction_add(original.id, "🔄", MEMBER)
    await _jobs_settle(harness, 2)
    reroll = (await harness.jobs())[1]
    assert reroll.user_id == MEMBER  # charged to whoever rerolled
    quota = await harness.reply_text(await harness.command("quota", user_id=MEMBER))
    assert "Used 1 · left 24." in quota


async def test_reroll_by_reaction_on_a_message_from_before_a_restart(harness: Harness) -> None:
    await harness.start_bot()
    original = await _result(harness, "a bridge")
    await _jobs_settle(harness, 1)
    await harness.stop_bot()
    await harness.start_bot()
    await harness.discord.send_reaction_add(original.id, "🔄", OWNER)
    await _jobs_settle(harness, 2)
    assert (await harness.jobs())[1].parent_job_id == (await harness.jobs())[0].id


async def test_every_button_works_after_a_restart(harness: Harness) -> None:
    await harness.start_bot()
    original = await _result(harness, "three apples", model="cogview-4", n=2)
    await _jobs_settle(harness, 1)
    [job] = await harness.jobs()
    await harness.stop_bot()
    await harness.start_bot()
    d = harness.discord

    image = await d.send_component_interaction(original.id, f"imagine:image:{job.id}:2")
    await image.wait_response()
    assert image.ephemeral and image.response_data
    assert image.response_data["embeds"][0]["image"]["url"].split("?")[0].endswith("image_2.png")

    reroll = await d.send_component_interaction(original.id, f"imagine:reroll:{job.id}")
    await reroll.wait_response()
    assert reroll.response_type == 5
    await harness.wait_final(reroll.original_message_id or 0)

    edit = await d.send_component_interaction(original.id, f"imagine:edit:{job.id}")
    await edit.wait_response()
    assert edit.response_type == 9  # a modal, pre-filled with the prompt
    text_input = edit.response_data["components"][0]["components"][0]  # type: ignore[index]
    assert text_input["value"] == "three apples"
    submit = await d.send_modal_submit(
        edit.response_data["custom_id"],  # type: ignore[index]
        {text_input["custom_id"]: "three pears"},
        message_id=original.id,
    )
    await submit.wait_response()
    await harness.wait_final(submit.original_message_id or 0)
    await _jobs_settle(harness, 3)
    jobs = await harness.jobs()
    assert [j.params.prompt for j in jobs] == ["three apples", "three apples", "three pears"]
    assert jobs[2].params.model == "cogview-4" and jobs[2].params.n == 2

    # Delete: a stranger is refused; the requester may.
    stranger = await d.send_component_interaction(
        original.id, f"imagine:delete:{job.id}", user_id=MEMBER
    )
    await stranger.wait_response()
    assert "Only the requester" in (stranger.response_data or {}).get("content", "")
    assert not original.deleted
    mine = await d.send_component_interaction(original.id, f"imagine:delete:{job.id}")
    await mine.wait_response()
    await d.wait_for(lambda: original.deleted)
    quota = await harness.reply_text(await harness.command("quota"))
    assert "Used 6" in quota  # 3 jobs × 2 images; deleting refunds nothing


async def test_jobs_lists_and_cancel_follows_the_spend(harness: Harness) -> None:
    """Cancelled while still queued: refunded in full. Cancelled at GeekAI: the task is
    paid for, so its credits stay. The answer says which."""
    harness.geekai.default_outcome.running_seconds = 30  # keep it running
    harness.overrides["max_running_jobs"] = 1
    await harness.start_bot()
    interaction = await harness.imagine("a slow mural")
    await harness.discord.wait_for(
        lambda: harness.states_shown(interaction.original_message_id or 0)[-1:] in (["🟡"], ["🟢"])
    )
    await harness.discord.wait_for(lambda: len(harness.geekai.tasks) == 1)
    waiting = await harness.imagine("a queued mural")
    await harness.discord.wait_for(
        lambda: harness.states_shown(waiting.original_message_id or 0)[-1:] == ["🟠"]
    )
    listing = await harness.command("jobs")
    message = await harness.reply_message(listing)
    running, queued = await harness.jobs()
    assert f"#{running.id}" in message.content and message.ephemeral
    assert "keeps its credits" in message.content
    buttons = [c for row in message.components for c in row["components"]]
    assert [b["custom_id"] for b in buttons] == [
        f"imagine:cancel:{running.id}",
        f"imagine:cancel:{queued.id}",
    ]

    stranger = await harness.discord.send_component_interaction(
        message.id, buttons[0]["custom_id"], user_id=MEMBER
    )
    assert "not your job" in await harness.reply_text(stranger)

    cancel = await harness.discord.send_component_interaction(message.id, buttons[1]["custom_id"])
    assert "credits refunded" in await harness.reply_text(cancel)
    await harness.wait_final(waiting.original_message_id or 0)
    assert await harness.charged(queued.id) == (["reserve", "refund"], 0)

    cancel = await harness.discord.send_component_interaction(message.id, buttons[0]["custom_id"])
    text = await harness.reply_text(cancel)
    assert "cancelled" in text and "1 credit stay spent" in text
    status = await harness.wait_final(interaction.original_message_id or 0)
    assert status.content.startswith("⚪")
    assert await harness.charged(running.id) == (["reserve", "commit"], 1)
    assert all(j.state is JobState.CANCELLED for j in await harness.jobs())
    assert "Used 1 · left 24." in await harness.reply_text(await harness.command("quota"))
    again = await harness.discord.send_component_interaction(message.id, buttons[0]["custom_id"])
    assert "already finished" in await harness.reply_text(again)


async def test_a_reroll_follows_the_servers_rules_as_they_are_now(harness: Harness) -> None:
    """Words blocked after a result was posted stop its 🔄 too (and charge nothing)."""
    await harness.start_bot()
    original = await _result(harness, "a red dragon")
    words = await harness.command("settings", "blocked-words", words="dragon")
    assert "1 blocked word saved" in await harness.reply_text(words)
    await harness.discord.send_reaction_add(original.id, "🔄", OWNER)
    await harness.discord.wait_for(
        lambda: any("blocked" in m.content.lower() for m in harness.discord.messages.values())
    )
    [job] = await harness.jobs()  # no second job
    assert await harness.charged(job.id) == (["reserve", "commit"], 1)
