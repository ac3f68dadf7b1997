"""bot.ui.messenger against FakeDiscord through the real discord.py REST client (no gateway).

The uploads tests record every discord.File the messenger makes: each must be closed, with
its BytesIO, once the Discord call it was made for is over, whether that call succeeded
(after discord.py's own retries) or failed.
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from PIL import Image

from bot.jobs.models import DiscordTarget, Job, JobParams, JobState
from bot.media.fit import ImageFile
from bot.ui.messenger import DeliveryError, Messenger
from bot.ui.render import StatusView
from tests.fakes.discord_server import FakeDiscord

CHANNEL_EDIT = "PATCH /channels/{channel}/messages/{id}"
CHANNEL_SEND = "POST /channels/{channel}/messages"
TOKEN_EDIT = "PATCH /webhooks/{app}/{token}/messages/{id}"
DONE = StatusView(content="", embed={"title": "a cat", "description": "Done in 3.0 s"})


def png(shade: int) -> ImageFile:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 0, 0)).save(buf, "PNG")
    return ImageFile(buf.getvalue(), f"image_{shade}.png", 64, 48, "image/png")


IMAGES = [png(1), png(2)]


async def message_id_stored(job_id: int, message_id: int) -> None:
    pass


def make_job(fake: FakeDiscord, *, message_id: int | None, token: str | None = None) -> Job:
    now = time.time()
    target = DiscordTarget(
        guild_id=fake.guild_id, channel_id=fake.channel_id, user_id=fake.member_id,
        locale="en-US", application_id=fake.application_id if token else None,
        interaction_id=fake.snowflake() if token else None, interaction_token=token,
        interaction_created_at=now if token else None, upload_limit=10 * 1024 * 1024,
    )  # fmt: skip
    return Job(
        id=7, target=target, message_id=message_id,
        params=JobParams(model="m", prompt="a cat", n=len(IMAGES)), state=JobState.SUCCEEDED,
        task_id="t-7", error_code=None, error_message=None, images_delivered=0,
        submit_attempts=1, parent_job_id=None, created_at=now - 3, updated_at=now,
        submitted_at=now - 3, started_at=now - 2, finished_at=now,
    )  # fmt: skip


def status_message(fake: FakeDiscord) -> int:
    """A message of the bot's in the channel, as a job's status message would be."""
    channel = fake.channels[fake.channel_id]
    return fake.rest.new_message(channel, fake.bot_user_id, {"content": "Running…"}, {}).id


@pytest.fixture
def fake(fake_discord: FakeDiscord) -> FakeDiscord:
    return fake_discord


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    client = discord.Client(intents=discord.Intents.none())
    with fake.patch_discord():
        await client.login("fake-token")
        try:
            yield client
        finally:
            await client.close()


@pytest.fixture
def messenger(client: discord.Client) -> Messenger:
    return Messenger(client, token_ttl=900.0, edit_interval=0.0, on_message_id=message_id_stored)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> list[discord.File]:
    """Every discord.File made while the test runs."""
    made: list[discord.File] = []

    class Recorded(discord.File):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(discord, "File", Recorded)
    return made


def assert_all_closed(uploads: list[discord.File]) -> None:
    open_ones = [u.filename for u in uploads if not u.fp.closed]
    assert not open_ones, f"uploads left open (their buffers stay in memory): {open_ones}"


async def test_final_edit_closes_its_uploads_after_discord_retried_it(
    fake: FakeDiscord, messenger: Messenger, uploads: list[discord.File]
) -> None:
    message_id = status_message(fake)
    fake.fail_next(CHANNEL_EDIT, 429, {"retry_after": 0.05})  # discord.py sleeps, re-sends

    assert await messenger.finish(make_job(fake, message_id=message_id), DONE, IMAGES) == message_id

    edits = fake.requests_for(CHANNEL_EDIT)
    assert [r.status for r in edits] == [429, 200]
    # The retry re-read the same files from the start: they were not closed under it.
    assert [f.data for f in edits[1].files] == [i.data for i in IMAGES]
    assert [a.data for a in fake.messages[message_id].attachments] == [i.data for i in IMAGES]
    assert len(uploads) == len(IMAGES)
    assert_all_closed(uploads)


async def test_a_failed_final_edit_still_closes_its_uploads(
    fake: FakeDiscord, messenger: Messenger, uploads: list[discord.File]
) -> None:
    message_id = status_message(fake)
    fake.fail_next(CHANNEL_EDIT, 403, {"code": 50013, "message": "Missing Permissions"})

    with pytest.raises(DeliveryError, match="HTTP 403"):
        await messenger.finish(make_job(fake, message_id=message_id), DONE, IMAGES)

    assert len(uploads) == len(IMAGES)
    assert_all_closed(uploads)


async def test_each_attempt_gets_fresh_uploads_and_closes_them(
    fake: FakeDiscord, messenger: Messenger, uploads: list[discord.File]
) -> None:
    """Token refused (401) → channel edit of a deleted message (404) → a new message."""
    job = make_job(fake, message_id=fake.snowflake(), token="unknown-to-discord")

    message_id = await messenger.finish(job, DONE, IMAGES)

    routes = [(r.route, r.status) for r in fake.requests]
    assert routes[-3:] == [(TOKEN_EDIT, 401), (CHANNEL_EDIT, 404), (CHANNEL_SEND, 200)]
    assert [a.data for a in fake.messages[message_id].attachments] == [i.data for i in IMAGES]
    assert len(uploads) == 3 * len(IMAGES)  # a discord.File is single use
    assert len({id(u.fp) for u in uploads}) == len(uploads)
    assert_all_closed(uploads)
