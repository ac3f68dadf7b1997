"""Vary… on results, 🖌️ region edits, masks, "Imagine from this image", output formats,
watermark and GeekAI retries — end to end through the fakes."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

from PIL import Image

from bot.jobs.models import Job
from tests.e2e.harness import Harness, option
from tests.fakes.discord_gateway import RecordedFile
from tests.fakes.discord_server import FakeInteraction, FakeMessage

MEMBER = 5000
MENU = "Imagine from this image"


def _png(size: tuple[int, int] = (64, 64), mode: str = "RGB", hole: bool = False) -> bytes:
    image = Image.new(mode, size, (200, 50, 50, 255) if mode == "RGBA" else (200, 50, 50))
    if hole:  # a transparent square: the region to repaint
        image.paste((0, 0, 0, 0), (8, 8, 24, 24))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _posts(harness: Harness) -> list[Any]:
    return [r for r in harness.geekai.requests if r.method == "POST"]


async def _jobs(harness: Harness, count: int) -> list[Job]:
    for _ in range(300):
        jobs = await harness.jobs()
        if len(jobs) == count and all(j.state.terminal for j in jobs):
            return jobs
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} finished jobs, have {await harness.jobs()}")


async def _result(harness: Harness, prompt: str, **options: object) -> FakeMessage:
    interaction = await harness.imagine(prompt, **options)
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("✅"), message.content
    bot = harness.discord.bot_user_id
    await harness.discord.wait_for(lambda: bot in message.reactions.get("🔄", set()))
    return message


def _url(message: FakeMessage, filename: str) -> str:
    """What GeekAI gets for that attachment: the bot's own copy, as Base64 (Discord's
    attachment URLs expire, so the bot keeps the image: bot/jobs/references.py)."""
    return _b64(next(a.data for a in message.attachments if a.filename == filename))


def _b64(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


async def _vary(
    harness: Harness, message: FakeMessage, job_id: int, value: str, user_id: int | None = None
) -> FakeInteraction:
    ix = await harness.discord.send_component_interaction(
        message.id, f"imagine:vary:{job_id}", component_type=3, values=[value], user_id=user_id
    )
    await ix.wait_response()
    return ix


def _refusal(ix: FakeInteraction) -> str:
    assert ix.response_type == 4 and ix.ephemeral, (ix.response_type, ix.response_data)
    return str((ix.response_data or {}).get("content"))


async def test_vary_subtle_and_strong_send_the_chosen_image_and_survive_a_restart(
    harness: Harness,
) -> None:
    await harness.start_bot()
    result = await _result(harness, "a red boat", model="jimeng_t2i_v40", n=2)
    [source] = await _jobs(harness, 1)
    components, attachments = list(result.components), list(result.attachments)
    ix = await _vary(harness, result, source.id, "2:subtle")
    assert ix.response_type == 7  # the menu is reset; the job posts its own reply
    assert result.components == components and result.attachments == attachments
    first = (await _jobs(harness, 2))[1]
    body = _posts(harness)[-1].json
    assert body["image"] == _url(result, "image_2.png") != _url(result, "image_1.png")
    assert body["strength"] == 0.3 and body["model"] == "jimeng_t2i_v40"
    assert body["prompt"] == "a red boat" and body["n"] == 2
    reply = harness.discord.messages[first.message_id or 0]
    assert reply.message_reference and int(reply.message_reference["message_id"]) == result.id
    assert reply.content.startswith("✅") and reply.attachments
    assert first.parent_job_id == source.id and first.params.variation is not None
    assert await harness.charged(first.id) == await harness.charged(source.id)  # once, n=2

    await harness.stop_bot()
    await harness.start_bot()
    await _vary(harness, result, source.id, "1:strong")
    second = (await _jobs(harness, 3))[2]
    body = _posts(harness)[-1].json
    assert body["image"] == _url(result, "image_1.png") and body["strength"] == 0.7
    assert second.parent_job_id == source.id
    kinds, _ = await harness.charged(second.id)
    assert kinds.count("reserve") == 1
    quota = await harness.reply_text(await harness.command("quota"))
    assert "Used 6" in quota  # three jobs of two images, each charged once


async def test_a_model_without_reference_images_falls_back_to_the_vary_model(
    harness: Harness,
) -> None:
    await harness.start_bot()
    result = await _result(harness, "a quiet lake", model="cogview-4")
    [source] = await _jobs(harness, 1)
    await _vary(harness, result, source.id, "1:strong")
    vary = (await _jobs(harness, 2))[1]
    body = _posts(harness)[-1].json
    assert body["model"] == "jimeng_t2i_v40" and body["strength"] == 0.7
    assert body["image"] == _url(result, "image_1.png")
    reply = harness.discord.messages[vary.message_id or 0]
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Model"] == "jimeng_t2i_v40"
    assert "`cogview-4` takes no reference image" in fields["Variation"]


async def test_vary_passes_the_same_checks_as_imagine(harness: Harness) -> None:
    d = harness.discord
    d.add_text_channel(3200, "elsewhere")  # known to the bot from the start
    await harness.start_bot()
    d.add_member(MEMBER)
    result = await _result(harness, "a red boat", model="dall-e-3")
    [source] = await _jobs(harness, 1)
    posts = len(_posts(harness))

    stranger = await _vary(harness, result, source.id, "1:subtle", user_id=MEMBER)
    assert "Only the person who asked" in _refusal(stranger)  # the reroll policy

    await harness.reply_text(await harness.command("settings", "allowed-models", models="dall-e-3"))
    refused = _refusal(await _vary(harness, result, source.id, "1:subtle"))
    assert "`jimeng_t2i_v40` is not enabled in this server" in refused  # the vary model
    await harness.reply_text(await harness.command("settings", "allowed-models", models=""))

    await harness.reply_text(await harness.command("settings", "blocked-words", words="boat"))
    assert "blocked" in _refusal(await _vary(harness, result, source.id, "1:strong"))
    await harness.reply_text(await harness.command("settings", "blocked-words", words=""))

    await _only_channel(harness, 3200)
    assert "not enabled in this channel" in _refusal(
        await _vary(harness, result, source.id, "1:strong")
    )
    assert len(_posts(harness)) == posts and len(await harness.jobs()) == 1


async def _imagine_with(
    harness: Harness, prompt: str, model: str, **files: tuple[str, bytes, str]
) -> FakeInteraction:
    d = harness.discord
    opts = [option("prompt", prompt), option("model", model)]
    resolved: dict[str, Any] = {}
    for name, (filename, data, content_type) in files.items():
        attachment = d.add_cdn_file(filename, data, content_type)
        opts.append({"name": name, "type": 11, "value": attachment["id"]})
        resolved[attachment["id"]] = attachment
    interaction = await d.send_interaction(
        "imagine", opts, resolved={"attachments": resolved} if resolved else None
    )
    await interaction.wait_response()
    return interaction


async def test_masks_are_checked_before_any_charge_and_edits_reach_images_edits(
    harness: Harness,
) -> None:
    await harness.start_bot()
    image = ("photo.png", _png(), "image/png")
    cases = [
        ({"image": image, "mask": ("m.png", _png((32, 48), "RGBA", True), "image/png")}, "32x48"),
        ({"image": image, "mask": ("m.png", _png(), "image/png")}, "no transparency"),
        ({"image": image, "mask": ("m.png", _png(mode="RGBA"), "image/png")}, "no transparent"),
    ]
    for files, expected in cases:
        text = await harness.reply_text(
            await _imagine_with(harness, "a hat", "gpt-image-1", **files)
        )
        assert expected in text, text
    quick = [
        ("gpt-image-1", {"image": image, "mask": ("m.jpg", b"x", "image/jpeg")}, "must be a PNG"),
        ("dall-e-3", {"image": image, "mask": ("m.png", _png(), "image/png")}, "take a mask"),
        ("gpt-image-1", {"mask": ("m.png", _png(), "image/png")}, "needs the image"),
    ]
    for model, files, expected in quick:
        ix = await _imagine_with(harness, "a hat", model, **files)
        assert expected in _refusal(ix)
    assert _posts(harness) == [] and await harness.jobs() == []

    mask = ("m.png", _png(mode="RGBA", hole=True), "image/png")
    done = await _imagine_with(harness, "a green hat", "gpt-image-1", image=image, mask=mask)
    await harness.wait_final(done.original_message_id or 0)
    [edit] = harness.geekai.requests_to("POST", "/api/v1/images/edits")
    assert edit.json["image"] == _b64(image[1])
    assert edit.json["mask"].split("?")[0].endswith("/m.png") and edit.json["async"] is True
    assert set(edit.json) <= {"model", "prompt", "image", "mask", "size", "n", "quality", "async"}

    half = ("m.png", _png((32, 32), "RGBA", True), "image/png")  # same ratio: scaled to 64x64
    scaled = await _imagine_with(harness, "a blue hat", "gpt-image-1", image=image, mask=half)
    await harness.wait_final(scaled.original_message_id or 0)
    sent = harness.geekai.requests_to("POST", "/api/v1/images/edits")[-1].json["mask"]
    assert sent.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(sent.split(",", 1)[1]))).size == (64, 64)
    assert len(await _jobs(harness, 2)) == 2


async def _context_menu(harness: Harness, message: FakeMessage) -> FakeInteraction:
    d = harness.discord
    payload = d.message_payload(message)
    ix = await d.send_interaction(
        MENU,
        type=2,
        data={"type": 3, "target_id": str(message.id), "options": [],
              "resolved": {"messages": {str(message.id): payload}}},
    )  # fmt: skip
    await ix.wait_response()
    return ix


async def _submit(harness: Harness, modal: FakeInteraction, *values: str) -> FakeInteraction:
    data = modal.response_data or {}
    ids = [row["components"][0]["custom_id"] for row in data["components"]]
    submit = await harness.discord.send_modal_submit(
        data["custom_id"], dict(zip(ids, values, strict=True))
    )
    await submit.wait_response()
    return submit


async def _only_channel(harness: Harness, channel_id: int) -> None:
    d = harness.discord
    add = await d.send_interaction(
        "settings",
        [{"name": "channels", "type": 1, "options": [
            {"name": "action", "type": 3, "value": "add"},
            {"name": "channel", "type": 7, "value": str(channel_id)}]}],
        resolved={"channels": {str(channel_id): {
            **d.channel_payload(channel_id),
            "permissions": str(d.channel_permissions(d.owner_id, channel_id)),
        }}},
    )  # fmt: skip
    assert f"<#{channel_id}>" in await harness.reply_text(add)


async def test_imagine_from_another_members_image(harness: Harness) -> None:
    d = harness.discord
    d.add_text_channel(3200, "elsewhere")  # known to the bot from the start
    await harness.start_bot()
    d.add_member(MEMBER)
    channel = d.channels[d.channel_id]
    photo = d.rest.new_message(
        channel, MEMBER, {"content": "my cat"}, {0: RecordedFile("cat.png", _png(), "image/png")}
    )
    modal = await _context_menu(harness, photo)
    assert modal.response_type == 9
    started = await _submit(harness, modal, "the cat at night", "0.6")
    assert started.response_type == 5
    await harness.wait_final(started.original_message_id or 0)
    [body] = [p.json for p in _posts(harness)]
    assert body["image"] == _b64(photo.attachments[0].data) and body["strength"] == 0.6
    assert body["model"] == "jimeng_t2i_v40"  # the default takes no reference image

    words = d.rest.new_message(channel, MEMBER, {"content": "no picture here"}, {})
    assert "has no image" in _refusal(await _context_menu(harness, words))

    await harness.reply_text(await harness.command("settings", "blocked-words", words="night"))
    blocked = await _submit(harness, await _context_menu(harness, photo), "at night", "")
    assert "blocked" in _refusal(blocked)
    await harness.reply_text(await harness.command("settings", "allowed-models", models="dall-e-3"))
    disallowed = await _submit(harness, await _context_menu(harness, photo), "in the sun", "")
    assert "not enabled in this server" in _refusal(disallowed)
    await harness.reply_text(await harness.command("settings", "allowed-models", models=""))
    await _only_channel(harness, 3200)
    closed = await _submit(harness, await _context_menu(harness, photo), "in the sun", "")
    assert "not enabled in this channel" in _refusal(closed)
    assert len(_posts(harness)) == 1 and len(await harness.jobs()) == 1


async def test_region_button_explains_the_mask_and_gives_the_command(harness: Harness) -> None:
    await harness.start_bot()
    result = await _result(harness, "two `birds`", model="cogview-4", n=2)
    [source] = await _jobs(harness, 1)
    click = await harness.discord.send_component_interaction(
        result.id, f"imagine:region:{source.id}"
    )
    await click.wait_response()
    assert click.response_type == 9
    answer = await _submit(harness, click, "2", "two birds, one red")
    text = _refusal(answer)
    assert "/imagine prompt:two birds, one red model:gpt-image-1 image: mask:" in text
    link = next(a.url for a in result.attachments if a.filename == "image_2.png")
    assert link in text and "transparent" in text
    assert len(await harness.jobs()) == 1  # nothing started, nothing charged


async def test_output_format_watermark_and_retries_reach_geekai(harness: Harness) -> None:
    harness.overrides["geekai_task_retries"] = 2
    await harness.start_bot()
    webp = await _result(harness, "a fox", model="gpt-image-1", output_format="webp")
    body = _posts(harness)[-1].json
    assert body["output_format"] == "webp" and body["retries"] == 2
    assert "watermark" not in body  # GPT Image does not take it
    [attachment] = webp.attachments
    assert attachment.filename == "image_1.webp"
    assert Image.open(io.BytesIO(attachment.data)).format == "WEBP"
    assert "output format" in _refusal(
        await harness.imagine("x", model="dall-e-3", output_format="png")
    )

    await harness.reply_text(await harness.command("settings", "watermark", state="on"))
    shown = await harness.reply_text(await harness.command("settings", "show", locale="zh-CN"))
    assert shown.endswith("水印：开启")
    await _result(harness, "a marked fox", model="nano-banana")
    assert _posts(harness)[-1].json["watermark"] is True
    await _result(harness, "an unmarked fox", model="dall-e-3")
    assert "watermark" not in _posts(harness)[-1].json
    await harness.reply_text(await harness.command("settings", "watermark", state="off"))
    await _result(harness, "a plain fox", model="nano-banana")
    assert _posts(harness)[-1].json["watermark"] is False

    listing = await harness.command("models")
    await harness.reply_text(listing)
    ids = [listing.original_message_id or 0, *listing.followup_ids]
    models = "".join(harness.discord.messages[i].content for i in ids)
    assert "edits regions (mask)" in models and "varies images" in models
    assert "formats png/jpg/webp" in models
    formats = await harness.discord.send_autocomplete(
        "imagine",
        [option("prompt", "x"), option("model", "dall-e-3"), option("output_format", "")],
        focused="output_format",
    )
    await formats.wait_response()
    assert formats.autocomplete_choices == []  # offered only where the model takes it
