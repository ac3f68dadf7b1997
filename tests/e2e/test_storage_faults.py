"""The database misbehaves, not the job: a lock from another connection, failed writes."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from typing import Any

import pytest

from bot.jobs.models import JobState
from bot.storage import StorageError
from bot.storage.sqlite import sqlite_path
from tests.e2e.harness import Harness


@pytest.fixture
def engine() -> str:
    return "sqlite"  # a second connection holding SQLite's write lock is the fault here


async def test_a_long_lock_from_another_connection_is_waited_out(harness: Harness) -> None:
    """Another program (a backup, an admin's sqlite3 shell) holds the write lock for 7 s,
    past the 5 s busy timeout, while the job runs: it still ends ✅, charged once."""
    harness.geekai.default_outcome.running_seconds = 1.0
    await harness.start_bot()
    interaction = await harness.imagine("a patient fox")
    message_id = interaction.original_message_id or 0
    await harness.discord.wait_for(lambda: "🟡" in harness.states_shown(message_id))
    path = sqlite_path(harness.settings().database_url)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        await asyncio.sleep(7.0)
    finally:
        other.execute("ROLLBACK")
        other.close()
    message = await harness.wait_final(message_id, timeout=60)
    assert message.content.startswith("✅") and message.attachments
    [job] = await harness.jobs()
    assert job.state is JobState.SUCCEEDED
    assert await harness.charged(job.id) == (["reserve", "commit"], 1)


async def _failing_commits(harness: Harness, failures: int | None) -> list[int]:
    """Make recording a delivered result fail `failures` times (None: always)."""
    app = harness.app
    assert app is not None
    app.services.runner._config = dataclasses.replace(
        app.services.runner._config, settle_attempts=3
    )
    app.services.runner._sleep = lambda _: asyncio.sleep(0.01)
    real = app.services.quota.commit
    calls: list[int] = []

    async def commit(conn: Any, job_id: int, images: int) -> Any:
        calls.append(job_id)
        if failures is None or len(calls) <= failures:
            raise StorageError("disk I/O error")
        return await real(conn, job_id, images)

    app.services.quota.commit = commit  # type: ignore[method-assign,assignment]
    return calls


async def test_a_failed_write_after_delivery_is_retried(harness: Harness) -> None:
    await harness.start_bot()
    calls = await _failing_commits(harness, failures=2)
    interaction = await harness.imagine("a delivered fox")
    message = await harness.wait_final(interaction.original_message_id or 0)
    assert message.content.startswith("✅") and message.attachments
    [job] = await harness.jobs()
    assert job.state is JobState.SUCCEEDED and len(calls) == 3
    assert await harness.charged(job.id) == (["reserve", "commit"], 1)


async def test_a_delivery_discord_accepted_is_never_undone(harness: Harness) -> None:
    """The final write keeps failing: the result stays on Discord (✅, its image), nothing
    is refunded, and the job stays resumable instead of turning 🔴."""
    await harness.start_bot()
    await _failing_commits(harness, failures=None)
    interaction = await harness.imagine("a stubborn fox")
    shown = interaction.original_message_id or 0
    await harness.discord.wait_for(
        lambda: harness.discord.messages[shown].content.startswith(("✅", "🔴"))
    )
    await asyncio.sleep(0.5)  # whatever the runner would still do, it has done by now
    message = harness.discord.messages[interaction.original_message_id or 0]
    assert message.content.startswith("✅") and message.attachments
    assert not any((e.content or "").startswith("🔴") for e in message.edits)
    [job] = await harness.jobs()
    assert job.state is JobState.DELIVERING  # resumes when its lease runs out
    assert await harness.charged(job.id) == (["reserve"], 1)
