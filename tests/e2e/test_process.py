"""`python -m bot` as an operator runs it: a real process, configured by environment."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from tests.e2e.harness import BOT_TOKEN, option
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.geekai_server import FakeGeekAI

ROOT = Path(__file__).resolve().parents[2]


def _env(discord: FakeDiscord, geekai: FakeGeekAI, db: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": BOT_TOKEN,
        "GEEKAI_API_KEY": geekai.api_key,
        "GEEKAI_BASE_URL": geekai.base_url,
        "DISCORD_API_BASE": discord.api_base,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "DATABASE_URL": f"sqlite:///{db}",
        "DEV_GUILD_ID": str(discord.guild_id),
        "LOG_FORMAT": "json",
        "STATUS_EDIT_INTERVAL": "0.1",
    }


async def _start(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_migrate_command_creates_the_schema(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    db = tmp_path / "sub" / "bot.db"
    proc = await _start(_env(fake_discord, fake_geekai, db), tmp_path, "migrate")
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, stderr.decode()
    with sqlite3.connect(db) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions and versions == sorted(versions)
    assert b"applied migration" in stderr


async def test_process_serves_imagine_and_stops_on_sigterm(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    env = _env(fake_discord, fake_geekai, tmp_path / "bot.db")
    proc = await _start(env, tmp_path)
    try:
        await fake_discord.wait_ready(timeout=30)
        await fake_discord.wait_for(lambda: bool(fake_discord.registered_commands), timeout=10)
        names = [c["name"] for c in fake_discord.registered_commands[fake_discord.guild_id]]
        assert "imagine" in names
        interaction = await fake_discord.send_interaction("imagine", [option("prompt", "a kite")])
        await interaction.wait_response()
        message_id = interaction.original_message_id or 0
        await fake_discord.wait_for(
            lambda: fake_discord.messages[message_id].content.startswith("✅"), timeout=20
        )
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    log = stderr.decode()
    assert '"msg": "shutting down"' in log
    assert "Traceback" not in log and "Unclosed" not in log and "was destroyed" not in log
    for secret in (BOT_TOKEN, fake_geekai.api_key, interaction.token):
        assert secret not in log


async def test_refused_token_is_one_clear_line(fake_geekai: FakeGeekAI, tmp_path: Path) -> None:
    strict = FakeDiscord(token="the-real-token")
    await strict.start()
    try:
        proc = await _start(_env(strict, fake_geekai, tmp_path / "bot.db"), tmp_path)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await strict.close()
    log = stderr.decode()
    assert proc.returncode == 3
    assert "Discord refused the bot token: check DISCORD_TOKEN" in log
    assert "Traceback" not in log and BOT_TOKEN not in log


async def test_sigterm_mid_job_exits_fast_and_the_job_resumes(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    fake_geekai.default_outcome.running_seconds = 3.0
    env = _env(fake_discord, fake_geekai, tmp_path / "bot.db")
    proc = await _start(env, tmp_path)
    try:
        await fake_discord.wait_ready(timeout=30)
        await fake_discord.wait_for(lambda: bool(fake_discord.registered_commands), timeout=10)
        interaction = await fake_discord.send_interaction("imagine", [option("prompt", "a dam")])
        await interaction.wait_response()
        message_id = interaction.original_message_id or 0
        await fake_discord.wait_for(
            lambda: fake_discord.messages[message_id].content.startswith(("🟡", "🟢"))
        )
        started = asyncio.get_running_loop().time()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)
        stopped_in = asyncio.get_running_loop().time() - started
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert stopped_in < 5, f"shutdown took {stopped_in:.1f}s"
    assert not fake_discord.messages[message_id].content.startswith("✅")

    proc = await _start(env, tmp_path)
    try:
        await fake_discord.wait_for(
            lambda: fake_discord.messages[message_id].content.startswith("✅"), timeout=20
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)
    assert len([r for r in fake_geekai.requests if r.method == "POST"]) == 1


async def test_a_second_process_on_one_sqlite_file_is_refused(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    env = _env(fake_discord, fake_geekai, tmp_path / "bot.db")
    first = await _start(env, tmp_path)
    try:
        await fake_discord.wait_ready(timeout=30)
        second = await _start(env, tmp_path)
        _, stderr = await asyncio.wait_for(second.communicate(), 30)
    finally:
        first.send_signal(signal.SIGTERM)
        await asyncio.wait_for(first.wait(), 10)
    [line] = stderr.decode().strip().splitlines()
    assert second.returncode == 3 and "Traceback" not in line
    assert "in use by another bot process" in line and "PostgreSQL" in line
