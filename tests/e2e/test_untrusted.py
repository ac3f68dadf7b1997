"""GeekAI's answers are untrusted: URLs, sizes, counts, task ids."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from aiohttp import web
from PIL import Image

from bot.jobs.models import JobState
from tests.e2e.harness import Harness
from tests.fakes.geekai_server import FakeResponse, TaskOutcome


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@dataclass
class Outsider:
    """A second loopback server (not an allowed origin) that logs every request."""

    port: int = 0
    requests: list[str] = field(default_factory=list)


@pytest.fixture
async def outsider() -> AsyncIterator[Outsider]:
    server = Outsider()
    png = _png()

    async def handler(request: web.Request) -> web.Response:
        server.requests.append(request.path)
        return web.Response(body=png, headers={"Content-Type": "image/png"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.port = runner.addresses[0][1]
    try:
        yield server
    finally:
        await runner.cleanup()


async def _final(harness: Harness) -> tuple[str, JobState, str | None, list[str], int]:
    interaction = await harness.imagine("a test")
    message = await harness.wait_final(interaction.original_message_id or 0)
    [job] = await harness.jobs()
    kinds, total = await harness.charged(job.id)
    return message.content, job.state, job.error_code, kinds, total


@pytest.mark.parametrize("how", ["direct", "localhost", "mapped", "redirect"])
async def test_result_urls_to_non_public_addresses_are_never_fetched(
    harness: Harness, outsider: Outsider, how: str
) -> None:
    direct = f"http://127.0.0.1:{outsider.port}/secret.png"
    url = {
        "direct": direct,
        "localhost": f"http://localhost:{outsider.port}/secret.png",
        "mapped": f"http://[::ffff:127.0.0.1]:{outsider.port}/secret.png",
        "redirect": f"{harness.geekai.origin}/redirect?to={quote(direct, safe='')}",
    }[how]
    harness.geekai.script_task(TaskOutcome(image_urls=[url]))
    await harness.start_bot()
    content, state, code, kinds, total = await _final(harness)
    assert content.startswith("🔴") and "could not be downloaded" in content
    assert (state, code) == (JobState.FAILED, "download")
    assert (kinds, total) == (["reserve", "refund"], 0)
    assert outsider.requests == []
    if how == "redirect":  # the allowed origin itself was asked
        assert any(r.path == "/redirect" for r in harness.geekai.requests)


async def test_a_huge_geekai_answer_fails_the_job_cleanly_and_refunds(harness: Harness) -> None:
    harness.overrides.update(geekai_max_json_bytes=1 << 20, max_download_bytes=1 << 20)
    harness.geekai.script_poll(FakeResponse(huge=512 << 20))
    await harness.start_bot()
    content, state, code, kinds, total = await _final(harness)
    assert content.startswith("🔴")
    assert (state, code) == (JobState.FAILED, "malformed")
    assert (kinds, total) == (["reserve", "refund"], 0)
    assert harness.geekai.streamed_bytes < 32 << 20


async def test_more_images_than_asked_for_are_not_delivered(harness: Harness) -> None:
    harness.geekai.script_task(TaskOutcome(extra_images=13))  # 14 images for n=1
    await harness.start_bot()
    content, state, _, kinds, total = await _final(harness)
    assert content.startswith("✅") and state is JobState.SUCCEEDED
    [job] = await harness.jobs()
    assert job.images_delivered == 1
    assert (kinds, total) == (["reserve", "commit"], 1)
    message = harness.discord.messages[job.message_id or 0]
    assert len(message.attachments) == 1
    assert len(harness.geekai.image_requests) == 1  # the other 13 were never downloaded


async def test_more_images_than_asked_for_keeps_the_first_n(harness: Harness) -> None:
    harness.geekai.script_task(TaskOutcome(extra_images=5))
    await harness.start_bot()
    interaction = await harness.imagine("two please", n=2)
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("✅")
    [job] = await harness.jobs()
    assert job.images_delivered == 2
    assert sorted(p.rsplit("/", 1)[1] for p in harness.geekai.image_requests) == ["0.png", "1.png"]
    assert (await harness.charged(job.id)) == (["reserve", "commit"], 2)


async def test_a_poll_answer_about_another_task_is_a_failure(harness: Harness) -> None:
    harness.geekai.script_task(TaskOutcome(task_id_override="someone-elses-task"))
    await harness.start_bot()
    content, state, code, kinds, total = await _final(harness)
    assert content.startswith("🔴")
    assert (state, code) == (JobState.FAILED, "malformed")
    assert (kinds, total) == (["reserve", "refund"], 0)
    assert harness.geekai.image_requests == []
