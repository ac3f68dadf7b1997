"""Every /imagine option through Discord: flags, attachments, autocomplete, server settings."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image

from tests.e2e.harness import Harness, option

MEMBER = 5000


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 50, 50)).save(buffer, "PNG")
    return buffer.getvalue()


def _submits(harness: Harness) -> list[dict[str, object]]:
    return [r.json for r in harness.geekai.requests if r.method == "POST"]


async def _refusal(harness: Harness, prompt: str, **options: object) -> str:
    interaction = await harness.imagine(prompt, **options)
    assert interaction.response_type == 4 and interaction.ephemeral
    return str((interaction.response_data or {}).get("content"))


async def test_flags_in_the_prompt_become_fields_and_options_win(harness: Harness) -> None:
    await harness.start_bot()
    interaction = await harness.imagine(
        'a cat --model kling-v1 --ar 16:9 --no "red cars" --n 2 --v 6', n=1
    )
    await harness.wait_final(interaction.original_message_id or 0)
    [body] = _submits(harness)
    assert body["model"] == "kling-v1" and body["aspect_ratio"] == "16:9"
    assert body["negative_prompt"] == "red cars"
    assert body["n"] == 1  # the explicit option beat --n 2
    assert body["prompt"] == "a cat --v 6"  # an unknown flag stays in the prompt
    assert "size" not in body  # kling takes ratios, not sizes


async def test_attachment_reaches_the_api_as_the_image_field(harness: Harness) -> None:
    await harness.start_bot()
    attachment = harness.discord.add_cdn_file("ref.png", _png(), "image/png")
    interaction = await harness.discord.send_interaction(
        "imagine",
        [option("prompt", "make it blue"), option("model", "jimeng_t2i_v40"),
         {"name": "image", "type": 11, "value": attachment["id"]},
         {"name": "strength", "type": 10, "value": 0.7}],
        resolved={"attachments": {attachment["id"]: attachment}},
    )  # fmt: skip
    await interaction.wait_response()
    result = await harness.wait_final(interaction.original_message_id or 0)
    [body] = _submits(harness)
    # The bot keeps its own copy and sends it as Base64: Discord's signed URL expires.
    assert body["image"] == "data:image/png;base64," + base64.b64encode(_png()).decode()
    assert body["strength"] == 0.7
    [job] = await harness.jobs()
    assert job.params.image_url is not None and job.params.image_url.startswith("ref:")

    # A day later the attachment URL is gone; a 🔄 still sends the same image.
    harness.discord.cdn.clear()
    await harness.discord.send_reaction_add(result.id, "🔄", harness.discord.owner_id)
    await harness.discord.wait_for(lambda: len(_submits(harness)) == 2)
    assert _submits(harness)[1]["image"] == body["image"]


async def test_an_unreadable_reference_image_is_refused_at_no_cost(harness: Harness) -> None:
    await harness.start_bot()
    fake_png = harness.discord.add_cdn_file("ref.png", b"not really a png", "image/png")
    interaction = await harness.discord.send_interaction(
        "imagine",
        [option("prompt", "make it blue"), option("model", "jimeng_t2i_v40"),
         {"name": "image", "type": 11, "value": fake_png["id"]}],
        resolved={"attachments": {fake_png["id"]: fake_png}},
    )  # fmt: skip
    await interaction.wait_response()
    refusal = await harness.reply_text(interaction)
    assert "reference image could not be read" in refusal and "Nothing was charged" in refusal
    assert await harness.jobs() == [] and _submits(harness) == []


async def test_invalid_combinations_are_refused_before_anything_is_sent(harness: Harness) -> None:
    await harness.start_bot()
    not_image = harness.discord.add_cdn_file("notes.txt", b"hello", "text/plain")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"model": "dall-e-3", "size": "512x512"}, "1792x1024"),
        ({"model": "cogview-4", "aspect_ratio": "16:9"}, "cogview-4"),
        ({"model": "dall-e-3", "quality": "ultra"}, "hd"),
        ({"model": "gpt-image-1", "n": 9}, "4"),
    ]
    for options, allowed in cases:
        text = await _refusal(harness, "a cat", **options)
        assert allowed in text, (options, text)
    attach = await harness.discord.send_interaction(
        "imagine",
        [option("prompt", "x"), option("model", "jimeng_t2i_v40"),
         {"name": "image", "type": 11, "value": not_image["id"]}],
        resolved={"attachments": {not_image["id"]: not_image}},
    )  # fmt: skip
    await attach.wait_response()
    assert attach.ephemeral and "PNG" in (attach.response_data or {}).get("content", "")
    assert _submits(harness) == [] and await harness.jobs() == []


async def test_autocomplete_follows_the_chosen_model(harness: Harness) -> None:
    await harness.start_bot()
    sizes = await harness.discord.send_autocomplete(
        "imagine",
        [option("prompt", "x"), option("model", "dall-e-3"), option("size", "")],
        focused="size",
    )
    await sizes.wait_response()
    assert [c["value"] for c in sizes.autocomplete_choices or []] == [
        "1024x1024",
        "1792x1024",
        "1024x1792",
    ]
    models = await harness.discord.send_autocomplete(
        "imagine", [option("prompt", "x"), option("model", "cog")], focused="model"
    )
    await models.wait_response()
    values = [c["value"] for c in models.autocomplete_choices or []]
    assert values and all("cog" in v for v in values)


async def test_server_settings_restrict_models_channels_and_words(harness: Harness) -> None:
    await harness.start_bot()
    d = harness.discord
    ok = await harness.reply_text(
        await harness.command("settings", "allowed-models", models="dall-e-3, cogview-4")
    )
    assert "dall-e-3, cogview-4" in ok
    await harness.reply_text(await harness.command("settings", "default-model", model="dall-e-3"))
    await harness.reply_text(await harness.command("settings", "blocked-words", words="gore"))
    refused = await _refusal(harness, "a cat", model="gpt-image-1")
    assert "not enabled in this server" in refused and "dall-e-3" in refused
    assert "blocked" in await _refusal(harness, "lots of GORE")

    d.add_member(MEMBER)
    channel_opts = [{"name": "channels", "type": 1, "options": [
        {"name": "action", "type": 3, "value": "add"},
        {"name": "channel", "type": 7, "value": str(d.channel_id)},
    ]}]  # fmt: skip
    add = await d.send_interaction(
        "settings", channel_opts,
        resolved={"channels": {str(d.channel_id): {
            **d.channel_payload(d.channel_id),
            "permissions": str(d.channel_permissions(d.owner_id, d.channel_id)),
        }}},
    )  # fmt: skip
    await add.wait_response()
    assert f"<#{d.channel_id}>" in await harness.reply_text(add)
    d.add_text_channel(3200, "elsewhere")
    elsewhere = await d.send_interaction("imagine", [option("prompt", "a cat")], channel_id=3200)
    await elsewhere.wait_response()
    assert "not enabled in this channel" in (elsewhere.response_data or {}).get("content", "")

    fine = await harness.imagine("a calm cat")  # default model now dall-e-3
    await harness.wait_final(fine.original_message_id or 0)
    assert [b["model"] for b in _submits(harness)] == ["dall-e-3"]
    models = await harness.reply_text(await harness.command("models"))
    assert "dall-e-3" in models and "gpt-image-1" not in models
