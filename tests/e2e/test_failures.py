"""Ways a job can end badly, each ending in a clear message and a terminal job row."""

from __future__ import annotations

import pytest

from bot.jobs.intake import Intake
from bot.jobs.models import JobState
from tests.e2e.harness import Harness
from tests.fakes.geekai_server import FakeResponse, TaskOutcome


async def _final(harness: Harness, prompt: str = "a test") -> tuple[str, JobState, str | None]:
    interaction = await harness.imagine(prompt)
    message = await harness.wait_final(interaction.original_message_id or 0)
    [job] = await harness.jobs()
    assert job.state.terminal
    kinds, total = await harness.charged(job.id)
    if job.state is JobState.SUCCEEDED:
        assert (kinds, total) == (["reserve", "commit"], 1)
    else:  # refunded: nothing charged for a job that delivered nothing
        assert (kinds, total) == (["reserve", "refund"], 0)
    return message.content, job.state, job.error_code


async def test_stuck_task_times_out_clearly(harness: Harness) -> None:
    harness.overrides["job_timeout_seconds"] = 2.0
    harness.geekai.script_task(TaskOutcome(result="stuck"))
    await harness.start_bot()
    content, state, code = await _final(harness)
    assert content == "🔴 Failed — no result after 2 seconds, so the job was stopped."
    assert (state, code) == (JobState.FAILED, "timeout")


async def test_base64_results_are_delivered(harness: Harness) -> None:
    harness.geekai.script_task(TaskOutcome(response_format="b64_json"))
    await harness.start_bot()
    content, state, _ = await _final(harness)
    assert content.startswith("✅") and state is JobState.SUCCEEDED


async def test_result_that_cannot_be_downloaded_fails(harness: Harness) -> None:
    harness.geekai.script_task(TaskOutcome(image_url_status=404))
    await harness.start_bot()
    content, state, code = await _final(harness)
    assert content.startswith("🔴") and "could not be downloaded" in content
    assert (state, code) == (JobState.FAILED, "download")


async def test_result_that_is_not_an_image_fails(harness: Harness) -> None:
    harness.geekai.script_task(TaskOutcome(image_bytes=b"<html>not an image</html>"))
    await harness.start_bot()
    content, state, code = await _final(harness)
    assert content.startswith("🔴")
    assert (state, code) == (JobState.FAILED, "download")


async def test_task_lost_at_the_api_fails_clearly(harness: Harness) -> None:
    harness.geekai.script_poll(FakeResponse(status=404, json={"message": "task not found"}))
    await harness.start_bot()
    content, state, code = await _final(harness)
    assert content.startswith("🔴") and "lost track" in content
    assert (state, code) == (JobState.FAILED, "not_found")


@pytest.mark.parametrize(
    ("response", "code", "words"),
    [
        (FakeResponse(status=413, json={"message": "too large"}), "too_large", "too large"),
        (FakeResponse(status=403, json={"message": "forbidden"}), "auth", "misconfigured"),
        (FakeResponse(status=401, json={"message": "invalid api key"}), "auth", "misconfigured"),
        (FakeResponse(status=402, raw="金币余额不足".encode()), "out_of_balance", "out of credit"),
        (FakeResponse(status=503), "unavailable", "unavailable"),
        (FakeResponse(raw=b'\n\n{"task_id": '), "malformed", "could not read"),
    ],
)
async def test_submit_errors_end_the_job(
    harness: Harness, response: FakeResponse, code: str, words: str
) -> None:
    harness.geekai.script_submit(response, response)  # also what a retry would get
    await harness.start_bot()
    content, state, error_code = await _final(harness)
    assert content.startswith("🔴") and words in content
    assert (state, error_code) == (JobState.FAILED, code)


async def test_rate_limit_on_submit_is_retried_then_succeeds(harness: Harness) -> None:
    harness.geekai.script_submit(
        FakeResponse(status=429, json={"message": "rpm"}, headers={"Retry-After": "0"})
    )
    await harness.start_bot()
    content, state, _ = await _final(harness)
    assert content.startswith("✅") and state is JobState.SUCCEEDED
    assert len([r for r in harness.geekai.requests if r.method == "POST"]) == 2


async def test_transient_poll_errors_do_not_fail_the_job(harness: Harness) -> None:
    harness.geekai.script_poll(FakeResponse(status=500), FakeResponse(status=502))
    await harness.start_bot()
    content, state, _ = await _final(harness)
    assert content.startswith("✅") and state is JobState.SUCCEEDED


async def test_unexpected_error_gets_an_error_id(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(Intake, "start", broken)
    await harness.start_bot()
    interaction = await harness.imagine("anything")
    await harness.discord.wait_for(lambda: bool(interaction.followup_ids))
    followup = harness.discord.messages[interaction.followup_ids[0]]
    assert followup.flags & 64  # ephemeral
    assert "Error id" in followup.content
    assert "database on fire" not in followup.content
    error_id = followup.content.split("`")[1]
    assert f"error {error_id}" in harness.log_stream.getvalue()
    assert "database on fire" in harness.log_stream.getvalue()
    # The public "thinking…" message was removed rather than left hanging.
    assert harness.discord.messages[interaction.original_message_id or 0].deleted


async def test_auth_failure_alerts_the_operator_once(harness: Harness) -> None:
    harness.discord.add_text_channel(3999, "ops")
    harness.overrides["operator_channel_id"] = 3999
    bad_key = FakeResponse(status=401, json={"message": "invalid api key"})
    harness.geekai.script_submit(bad_key, bad_key)
    await harness.start_bot()
    for prompt in ("one", "two"):
        interaction = await harness.imagine(prompt)
        message = await harness.wait_final(interaction.original_message_id or 0)
        assert "misconfigured" in message.content
    alerts = harness.discord.channel_messages(3999)
    assert len(alerts) == 1
    assert "auth" in alerts[0].content and harness.geekai.api_key not in alerts[0].content
    assert harness.log_stream.getvalue().count("operator alert [auth]") == 1
