"""/imagine end to end: the real bot, real discord.py, fake Discord and fake GeekAI."""

from __future__ import annotations

import io

from PIL import Image

from bot.jobs.models import JobState
from tests.e2e.harness import BOT_TOKEN, Harness, settle
from tests.fakes.geekai_server import FakeResponse, TaskOutcome


def _image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


async def test_states_in_order_and_final_message_carries_the_image(harness: Harness) -> None:
    harness.geekai.default_outcome.pending_seconds = 1.0
    harness.geekai.default_outcome.running_seconds = 3.0  # long enough to be seen running
    await harness.start_bot()
    interaction = await harness.imagine("a red fox in the snow", model="dall-e-3")
    assert interaction.response_type == 5  # deferred, public
    assert not interaction.ephemeral
    message = await harness.wait_final(interaction.original_message_id or 0)

    assert harness.states_shown(message.id) == ["🟠", "🟡", "🟢", "✅"]
    assert [a.filename for a in message.attachments] == ["image_1.png"]
    assert _image(message.attachments[0].data).size == harness.geekai.image_size
    embed = message.embeds[0]
    assert embed["image"]["url"] == "attachment://image_1.png"
    assert embed["title"] == "a red fox in the snow"
    # Exactly one task was submitted, with async: true and only the fields the user set.
    submits = [r for r in harness.geekai.requests if r.method == "POST"]
    assert len(submits) == 1
    assert submits[0].json == {
        "model": "dall-e-3",
        "prompt": "a red fox in the snow",
        "size": "1024x1024",
        "n": 1,
        "async": True,
    }
    [job] = await harness.jobs()
    assert job.state is JobState.SUCCEEDED and job.images_delivered == 1
    assert job.target.interaction_token is None  # forgotten once finished
    assert job.message_id == message.id


async def test_several_images_get_a_grid_preview(harness: Harness) -> None:
    await harness.start_bot()
    interaction = await harness.imagine("two cats", model="cogview-4", n=2)
    message = await harness.wait_final(interaction.original_message_id or 0)
    names = [a.filename for a in message.attachments]
    assert names[:2] == ["image_1.png", "image_2.png"]
    assert len(names) == 3 and names[2].startswith("grid")
    assert message.embeds[0]["image"]["url"] == f"attachment://{names[2]}"
    grid = _image(message.attachments[2].data)
    assert grid.width > grid.height  # two side by side


async def test_failed_task_shows_reason_and_job_id(harness: Harness) -> None:
    harness.geekai.script_task(
        TaskOutcome(result="failed", error_code="upstream_error", error_message="model crashed")
    )
    await harness.start_bot()
    interaction = await harness.imagine("a tree")
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("🔴")
    assert "upstream_error" in message.content
    assert "model crashed" not in message.content  # raw provider text stays in the log
    [job] = await harness.jobs()
    assert job.state is JobState.FAILED and job.error_code == "task_failed"
    assert f"#{job.id}" in message.embeds[0]["footer"]["text"]
    assert message.attachments == []


async def test_moderation_block_is_named(harness: Harness) -> None:
    harness.geekai.script_task(
        TaskOutcome(result="failed", error_code="content_filter", error_message="sensitive")
    )
    await harness.start_bot()
    interaction = await harness.imagine("something")
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert "content policy" in message.content


async def test_bad_request_is_not_retried_and_shows_the_servers_words(harness: Harness) -> None:
    harness.geekai.script_submit(FakeResponse(status=400, json={"message": "size not allowed"}))
    await harness.start_bot()
    interaction = await harness.imagine("a boat")
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("🔴")
    assert "size not allowed" in message.content
    assert len([r for r in harness.geekai.requests if r.method == "POST"]) == 1
    [job] = await harness.jobs()
    assert job.error_code == "bad_request"


async def test_unreachable_api_fails_clearly(harness: Harness) -> None:
    harness.overrides["geekai_base_url"] = "http://127.0.0.1:9/api/v1"  # discard port: refused
    await harness.start_bot()
    interaction = await harness.imagine("a house")
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("🔴")
    assert "unavailable" in message.content
    [job] = await harness.jobs()
    assert job.error_code == "unavailable"


async def test_invalid_request_is_refused_ephemerally_without_a_job(harness: Harness) -> None:
    await harness.start_bot()
    interaction = await harness.imagine("a cat", model="dall-e-3", n=3)
    assert interaction.response_type == 4
    assert interaction.ephemeral
    assert "at most 1" in (interaction.response_data or {}).get("content", "")
    await settle(0.2)
    assert await harness.jobs() == []
    assert harness.geekai.requests == []


async def test_restart_mid_job_delivers_exactly_once(harness: Harness) -> None:
    harness.geekai.default_outcome.pending_seconds = 0.5
    harness.geekai.default_outcome.running_seconds = 1.5
    await harness.start_bot()
    interaction = await harness.imagine("a lighthouse")
    message_id = interaction.original_message_id or 0

    def running() -> bool:
        return harness.states_shown(message_id)[-1:] == ["🟢"]

    await harness.discord.wait_for(running, timeout=10)
    await harness.stop_bot()  # mid-job: the task is running at GeekAI
    [job] = [j for j in await _jobs_offline(harness)]
    assert job.state is JobState.RUNNING and job.task_id is not None

    await harness.start_bot()
    message = await harness.wait_final(message_id)
    assert message.content.startswith("✅")
    assert len([r for r in harness.geekai.requests if r.method == "POST"]) == 1
    finals = [e for e in message.edits if (e.content or "").startswith("✅")]
    assert len(finals) == 1
    [job] = await harness.jobs()
    assert job.state is JobState.SUCCEEDED and job.images_delivered == 1
    # Reserved before the restart, committed after it: charged exactly once.
    quota = await harness.reply_text(await harness.command("quota"))
    assert "Used 1 · left 24." in quota


async def _jobs_offline(harness: Harness) -> list:  # type: ignore[type-arg]
    from bot.jobs.repository import JobRepository
    from bot.storage import open_database

    db = await open_database(harness.settings().database_url)
    try:
        repo = JobRepository(db)
        return [await repo.get(j.id) for j in await repo.unfinished()]
    finally:
        await db.close()


async def test_large_result_is_fitted_under_the_upload_limit(harness: Harness) -> None:
    harness.geekai.script_task(TaskOutcome(image_size=(1536, 1536)))  # noisy: ~7 MB PNG
    await harness.start_bot()
    opts = [
        {"name": "prompt", "type": 3, "value": "noise"},
        {"name": "model", "type": 3, "value": "dall-e-3"},
    ]
    interaction = await harness.discord.send_interaction(
        "imagine", opts, attachment_size_limit=2 * 1024 * 1024
    )
    await interaction.wait_response()
    message = await harness.wait_final(interaction.original_message_id or 0, timeout=30)
    assert message.content.startswith("✅")
    [attachment] = message.attachments
    assert len(attachment.data) <= 2 * 1024 * 1024
    assert _image(attachment.data).width > 256


async def test_expired_token_switches_to_channel_edits(harness: Harness) -> None:
    harness.geekai.default_outcome.running_seconds = 1.0
    await harness.start_bot()
    interaction = await harness.imagine("a slow painting")
    message_id = interaction.original_message_id or 0
    await harness.discord.wait_for(lambda: len(harness.states_shown(message_id)) >= 2)
    harness.discord.expire_interaction(interaction)
    message = await harness.wait_final(message_id)
    assert message.content.startswith("✅")
    assert message.attachments
    channel_edits = [
        r for r in harness.discord.requests if r.route == "PATCH /channels/{channel}/messages/{id}"
    ]
    assert channel_edits, "expected bot-token channel edits after the token expired"


async def test_no_secret_reaches_logs_or_messages(harness: Harness) -> None:
    await harness.start_bot()
    interaction = await harness.imagine("a secretive owl")
    await harness.wait_final(interaction.original_message_id or 0)
    logs = harness.log_stream.getvalue()
    texts = [logs] + [(m.content or "") + repr(m.embeds) for m in harness.discord.messages.values()]
    for text in texts:
        assert BOT_TOKEN not in text
        assert harness.geekai.api_key not in text
        assert interaction.token not in text
    assert "job" in logs  # the log did capture the job's life
