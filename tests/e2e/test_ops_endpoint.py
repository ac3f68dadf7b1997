"""/healthz, /readyz and /metrics of the real bot, and its JSON job logs, end to end."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.logs import Redactor, build_handler
from tests.e2e.harness import Harness

MEMBER = 5000  # a plain member: quotas apply (the owner bypasses them)


async def _get(harness: Harness, path: str) -> tuple[int, str]:
    assert harness.app is not None and harness.app.ops is not None
    url = f"http://127.0.0.1:{harness.app.ops.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def _samples(harness: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, text = await _get(harness, "/metrics")
    assert status == 200
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def _imagine_as(harness: Harness, user_id: int, prompt: str) -> None:
    """Run /imagine as `user_id` and wait for the finished job."""
    ix = await harness.discord.send_interaction(
        "imagine", [{"name": "prompt", "type": 3, "value": prompt}], user_id=user_id
    )
    await ix.wait_response()
    await harness.wait_final(ix.original_message_id or 0)
    assert harness.app is not None
    await harness.app.services.scheduler.wait_idle()  # the runner's last log lines and counts


async def _refused(harness: Harness, user_id: int, prompt: str) -> str:
    """Run /imagine as `user_id`, expecting a refusal; its text."""
    ix = await harness.discord.send_interaction(
        "imagine", [{"name": "prompt", "type": 3, "value": prompt}], user_id=user_id
    )
    await ix.wait_response()
    return await harness.reply_text(ix)


async def test_health_ready_and_metrics_count_exactly_one_job(harness: Harness) -> None:
    harness.overrides.update(http_port=0, quota_default_credits=1)
    await harness.start_bot()
    assert await _get(harness, "/healthz") == (200, "ok\n")
    assert await _get(harness, "/readyz") == (200, "ready\n")
    before = await _samples(harness)
    assert not [k for k in before if k[0] == "imagine_jobs_total"]

    await _imagine_as(harness, MEMBER, "a lighthouse at dusk")
    assert "0 left" in await _refused(harness, MEMBER, "one more, over quota")
    [job] = await harness.jobs()
    after = await _samples(harness)

    jobs = {k: v for k, v in after.items() if k[0] == "imagine_jobs_total"}
    assert jobs == {("imagine_jobs_total", (("model", job.model), ("state", "succeeded"))): 1.0}
    polls = sum(harness.geekai.poll_counts().values())
    count = "imagine_geekai_request_seconds_count"
    assert after[(count, (("endpoint", "submit"),))] == 1.0
    assert after[(count, (("endpoint", "poll"),))] == polls > 0
    assert after[("imagine_delivery_lag_seconds_count", ())] == 1.0
    refusals = {k: v for k, v in after.items() if k[0] == "imagine_quota_refusals_total"}
    assert refusals == {("imagine_quota_refusals_total", (("reason", "exceeded"),)): 1.0}
    assert after[("imagine_jobs_in_flight", ())] == 0.0
    assert after[("imagine_queue_length", ())] == 0.0


async def test_gauges_show_running_and_queued_jobs(harness: Harness) -> None:
    harness.overrides.update(http_port=0, max_running_jobs=1)
    harness.geekai.default_outcome.running_seconds = 3.0
    await harness.start_bot()
    for prompt in ("first", "second"):
        ix = await harness.imagine(prompt)
        assert ix.response_type == 5
    await harness.discord.wait_for(lambda: len(harness.geekai.tasks) == 1)
    for _ in range(100):  # the second job is written a moment after its interaction is deferred
        samples = await _samples(harness)
        if samples[("imagine_queue_length", ())] == 1.0:
            break
        await asyncio.sleep(0.05)
    assert samples[("imagine_jobs_in_flight", ())] == 1.0
    assert samples[("imagine_queue_length", ())] == 1.0


async def test_readyz_is_503_while_the_gateway_is_down(harness: Harness) -> None:
    harness.overrides.update(http_port=0)
    await harness.start_bot()
    assert (await _get(harness, "/readyz"))[0] == 200
    harness.discord.hold_gateway()
    await harness.discord.disconnect_gateway(allow_resume=True)
    status, body = await _get(harness, "/readyz")
    assert status == 503 and "gateway" in body
    assert (await _get(harness, "/healthz"))[0] == 200  # alive all the same
    harness.discord.release_gateway()
    await harness.discord.wait_for(lambda: harness.discord.resume_count == 1)
    for _ in range(100):
        if (await _get(harness, "/readyz"))[0] == 200:
            break
        await asyncio.sleep(0.05)
    assert await _get(harness, "/readyz") == (200, "ready\n")


async def test_readyz_is_503_when_the_database_does_not_answer(harness: Harness) -> None:
    harness.overrides.update(http_port=0)
    app = await harness.start_bot()
    assert app.db is not None
    await app.db.close()
    status, body = await _get(harness, "/readyz")
    assert status == 503 and "database" in body


async def test_json_log_lines_of_a_job_carry_its_ids(harness: Harness) -> None:
    stream = io.StringIO()
    handler = build_handler(stream, "json", Redactor(harness.settings().secrets()))
    logging.getLogger().addHandler(handler)
    try:
        await harness.start_bot()
        await _imagine_as(harness, MEMBER, "a quiet harbour")
        [job] = await harness.jobs()
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    about_job = [x for x in lines if f"job {job.id}:" in x["msg"]]
    assert len(about_job) >= 3  # created, submitted, delivered
    for line in about_job:
        assert (line["job_id"], line["user_id"]) == (job.id, MEMBER), line
        assert line["guild_id"] == harness.discord.guild_id, line
    after_submit = [x for x in about_job if "submitted as task" in x["msg"]]
    after_submit += [x for x in about_job if "delivered" in x["msg"]]
    assert len(after_submit) == 2
    assert all(x["task_id"] == job.task_id for x in after_submit)
    task_lines = [x for x in lines if f"GeekAI task {job.task_id} created" in x["msg"]]
    assert task_lines and task_lines[0]["job_id"] == job.id


async def test_a_cancelled_job_is_counted_once(harness: Harness) -> None:
    harness.overrides.update(http_port=0)
    harness.geekai.default_outcome.running_seconds = 30  # keep it running
    await harness.start_bot()
    interaction = await harness.imagine("a slow mural")
    await harness.discord.wait_for(lambda: len(harness.geekai.tasks) == 1)
    message = await harness.reply_message(await harness.command("jobs"))
    [button] = [c for row in message.components for c in row["components"]]
    cancel = await harness.discord.send_component_interaction(message.id, button["custom_id"])
    assert "cancelled" in await harness.reply_text(cancel)
    await harness.wait_final(interaction.original_message_id or 0)
    [job] = await harness.jobs()
    jobs = {k: v for k, v in (await _samples(harness)).items() if k[0] == "imagine_jobs_total"}
    assert jobs == {("imagine_jobs_total", (("model", job.model), ("state", "cancelled"))): 1.0}
