"""kill -9 with 20 jobs in flight, then a restart: all delivered, each charged once."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from tests.e2e.harness import option
from tests.e2e.test_process import _env, _start
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.geekai_server import FakeGeekAI

USERS = (4000, 5000, 6000, 7000)


def _snapshot(db: Path) -> dict[int, tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, state, task_id FROM jobs")}


async def test_kill_9_with_20_jobs_in_flight(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    for user in USERS[2:]:
        fake_discord.add_member(user)
    fake_geekai.default_outcome.pending_seconds = 1.0
    fake_geekai.default_outcome.running_seconds = 2.0
    db = tmp_path / "bot.db"
    env = {**_env(fake_discord, fake_geekai, db), "MAX_RUNNING_JOBS": "6"}
    proc = await _start(env, tmp_path)
    interactions = []
    try:
        await fake_discord.wait_ready(timeout=30)
        await fake_discord.wait_for(lambda: bool(fake_discord.registered_commands), timeout=10)
        for i in range(20):
            ix = await fake_discord.send_interaction(
                "imagine", [option("prompt", f"job {i}")], user_id=USERS[i % len(USERS)]
            )
            interactions.append(ix)
        for ix in interactions:
            await ix.wait_response()

        def mixed() -> bool:
            states = {s for s, _ in _snapshot(db).values()}
            return (
                len(_snapshot(db)) == 20
                and "queued" in states
                and bool(states & {"pending", "running"})
            )

        await fake_discord.wait_for(mixed, timeout=20)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    before = _snapshot(db)
    states = {s for s, _ in before.values()}
    assert "queued" in states and states & {"pending", "running"}, states
    submitted_before = {job: task for job, (_, task) in before.items() if task}

    proc = await _start(env, tmp_path)
    try:

        def all_done() -> bool:
            return all(s == "succeeded" for s, _ in _snapshot(db).values())

        await fake_discord.wait_for(all_done, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 15)

    after = _snapshot(db)
    # A job that had a task before the crash was polled, not submitted again.
    for job, task in submitted_before.items():
        assert after[job][1] == task
    for ix in interactions:
        final = fake_discord.messages[ix.original_message_id or 0]
        assert final.content.startswith("✅") and final.attachments
    with sqlite3.connect(db) as conn:
        kinds = conn.execute(
            "SELECT job_id, group_concat(kind) FROM quota_ledger GROUP BY job_id"
        ).fetchall()
        charged = conn.execute(
            "SELECT user_id, SUM(amount) FROM quota_ledger GROUP BY user_id"
        ).fetchall()
    assert len(kinds) == 20
    assert all(sorted(k.split(",")) == ["commit", "reserve"] for _, k in kinds)
    assert sorted(charged) == [(user, 5) for user in USERS]  # 5 jobs × 1 credit each
