"""Smaller answers to members (issue 13): one 🔄 notice per member and result, the ✏️ modal
reads flags, /quotas on a non-member, /settings show split, /quotas export."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.harness import Harness, settle
from tests.e2e.test_results import MEMBER, _jobs_settle, _result


async def test_a_refused_reroll_is_told_once_however_often_it_is_toggled(
    harness: Harness,
) -> None:
    await harness.start_bot()
    original = await _result(harness, "a castle")
    d = harness.discord

    def notices() -> list[object]:
        return [
            m for m in d.messages.values()
            if m.message_reference and int(m.message_reference["message_id"]) == original.id
            and "Only the person who asked" in m.content
        ]  # fmt: skip

    for _ in range(4):
        await d.send_reaction_add(original.id, "🔄", MEMBER)
        await d.wait_for(lambda: len(notices()) >= 1)
        await d.send_reaction_remove(original.id, "🔄", MEMBER)
        await settle(0.1)
    await settle(0.3)
    assert len(notices()) == 1
    assert len(await harness.jobs()) == 1  # nothing started


async def test_the_edit_modal_understands_flags(harness: Harness) -> None:
    await harness.start_bot()
    original = await _result(harness, "three apples", model="cogview-4", n=2)
    await _jobs_settle(harness, 1)
    [job] = await harness.jobs()
    d = harness.discord
    edit = await d.send_component_interaction(original.id, f"imagine:edit:{job.id}")
    await edit.wait_response()
    text_input = edit.response_data["components"][0]["components"][0]  # type: ignore[index]
    submit = await d.send_modal_submit(
        edit.response_data["custom_id"],  # type: ignore[index]
        {text_input["custom_id"]: "three pears --n 1 --size 1344x768"},
        message_id=original.id,
    )
    await submit.wait_response()
    await harness.wait_final(submit.original_message_id or 0)
    await _jobs_settle(harness, 2)
    edited = (await harness.jobs())[1].params
    assert edited.prompt == "three pears"
    assert (edited.model, edited.n, edited.size) == ("cogview-4", 1, "1344x768")
    body = harness.geekai.requests_to("POST", "/api/v1/images/generations")[-1].json
    assert body["prompt"] == "three pears" and body["n"] == 1 and body["size"] == "1344x768"


async def test_the_edit_modal_refuses_bad_flags_for_free(harness: Harness) -> None:
    await harness.start_bot()
    original = await _result(harness, "three apples")
    await _jobs_settle(harness, 1)
    [job] = await harness.jobs()
    d = harness.discord
    edit = await d.send_component_interaction(original.id, f"imagine:edit:{job.id}")
    await edit.wait_response()
    text_input = edit.response_data["components"][0]["components"][0]  # type: ignore[index]
    submit = await d.send_modal_submit(
        edit.response_data["custom_id"],  # type: ignore[index]
        {text_input["custom_id"]: "three pears --n 0"},
        message_id=original.id,
    )
    await submit.wait_response()
    await asyncio.sleep(0.3)
    assert len(await harness.jobs()) == 1
    text = (submit.response_data or {}).get("content", "") or await harness.reply_text(submit)
    assert "at least 1 image" in text


@pytest.mark.parametrize("sub", ["show", "set-user", "grant", "reset"])
async def test_quotas_naming_a_non_member_gets_a_clear_answer(harness: Harness, sub: str) -> None:
    await harness.start_bot()
    d = harness.discord
    stranger = 777_000_111
    options: list[dict[str, object]] = [{"name": "user", "type": 6, "value": str(stranger)}]
    if sub in ("set-user", "grant"):
        options.append({"name": "credits", "type": 4, "value": 5})
    if sub == "set-user":
        options.append({"name": "period", "type": 3, "value": "day"})
    interaction = await d.send_interaction(
        "quotas",
        [{"name": sub, "type": 1, "options": options}],
        resolved={"users": {str(stranger): d.user_payload(stranger)}},  # a user, no member
    )
    await interaction.wait_response()
    text = await harness.reply_text(interaction)
    assert "is not a member of this server" in text and f"<@{stranger}>" in text
    assert "Traceback" not in harness.log_stream.getvalue()
    assert "unexpected" not in text.lower()


async def test_settings_show_longer_than_a_message_is_split(harness: Harness) -> None:
    await harness.start_bot()
    words = [f"forbidden{i:03d}" for i in range(200)]  # ~2,600 characters
    await harness.reply_text(
        await harness.command("settings", "blocked-words", words=",".join(words))
    )
    shown = await harness.command("settings", "show")
    await harness.discord.wait_for(lambda: len(shown.followup_ids) >= 2)
    await settle(0.2)
    pages = [harness.discord.messages[i].content for i in shown.followup_ids]
    assert all(len(p) <= 2000 for p in pages)
    text = "\n".join(pages)
    assert all(w in text for w in words) and "Time zone" in text
