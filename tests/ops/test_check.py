"""`python -m bot check` against the fake Discord and the fake GeekAI."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import bot
from bot.ops.check import check
from bot.settings import Settings
from bot.storage import discover_migrations, migrate, open_database
from tests.e2e.harness import BOT_TOKEN
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.geekai_server import FakeGeekAI

ROOT = Path(__file__).resolve().parents[2]


def _settings(discord: FakeDiscord, geekai: FakeGeekAI, db: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "discord_token": BOT_TOKEN,
        "geekai_api_key": geekai.api_key,
        "geekai_base_url": geekai.base_url,
        "discord_api_base": discord.api_base,
        "database_url": f"sqlite:///{db}",
        **overrides,
    }
    return Settings(_env_file=None, **values)


async def _make_db(path: Path, *, skip_last: bool = False) -> Path:
    migrations = discover_migrations("sqlite")
    db = await open_database(f"sqlite:///{path}")
    try:
        await migrate(db, up_to=len(migrations) - 1 if skip_last else None)
    finally:
        await db.close()
    path.chmod(0o600)
    return path


async def _run(settings: Settings) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await check(lambda: settings, out=lambda text: lines.extend(text.splitlines()))
    return code, lines


def _line(lines: list[str], name: str) -> str:
    return next(line for line in lines if line[2:].startswith(name + ":"))


@pytest.fixture
async def db_path(tmp_path: Path) -> Path:
    return await _make_db(tmp_path / "bot.db")


async def test_all_green_exits_0_and_shows_the_invite(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, db_path: Path
) -> None:
    code, lines = await _run(_settings(fake_discord, fake_geekai, db_path))
    assert code == 0, lines
    assert all(line[0] in "✓!" for line in lines), lines
    assert _line(lines, "version").endswith(")") and bot.__version__ in lines[0]
    assert (
        _line(lines, "migrations")
        == f"✓ migrations: current (version {len(discover_migrations('sqlite'))})"
    )
    assert _line(lines, "database file mode") == "✓ database file mode: 0600"
    assert _line(lines, "GeekAI").startswith("✓ GeekAI: reachable, key accepted")
    assert _line(lines, "application") == f"✓ application: id {fake_discord.application_id}"
    assert _line(lines, "public bot").startswith("! public bot: on")  # the fake's app is public
    invite = _line(lines, "invite")
    assert f"client_id={fake_discord.application_id}" in invite
    assert "permissions=126016" in invite and "scope=bot+applications.commands" in invite
    text = "\n".join(lines)
    assert BOT_TOKEN not in text and fake_geekai.api_key not in text
    assert [r.path for r in fake_discord.requests] == ["/users/@me", "/applications/@me"]


async def test_a_refused_token_fails(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, db_path: Path
) -> None:
    fake_discord.token = "another-token"
    code, lines = await _run(_settings(fake_discord, fake_geekai, db_path))
    assert code == 1
    assert _line(lines, "Discord token").startswith("✗ Discord token: refused (401) → ")
    assert "DISCORD_TOKEN" in _line(lines, "Discord token")


async def test_a_refused_key_fails(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, db_path: Path
) -> None:
    code, lines = await _run(
        _settings(fake_discord, fake_geekai, db_path, geekai_api_key="sk-wrong-key")
    )
    assert code == 1
    line = _line(lines, "GeekAI")
    assert line.startswith("✗ GeekAI: the API key was refused") and "GEEKAI_API_KEY" in line
    assert "sk-wrong-key" not in "\n".join(lines)
    assert _line(lines, "Discord token").startswith("✓")


async def test_an_unreachable_geekai_fails(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, db_path: Path
) -> None:
    await fake_geekai.close()
    code, lines = await _run(_settings(fake_discord, fake_geekai, db_path))
    assert code == 1
    assert _line(lines, "GeekAI").startswith("✗ GeekAI: unreachable")


async def test_a_pending_migration_fails(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    path = await _make_db(tmp_path / "old.db", skip_last=True)
    code, lines = await _run(_settings(fake_discord, fake_geekai, path))
    assert code == 1
    known = len(discover_migrations("sqlite"))
    assert _line(lines, "migrations").startswith(
        f"✗ migrations: 1 pending (database at {known - 1}, code at {known}) → "
    )


async def test_a_newer_database_and_a_readable_file_fail(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, db_path: Path
) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, '0099_future.sql', 0)")
    db_path.chmod(0o644)
    code, lines = await _run(_settings(fake_discord, fake_geekai, db_path))
    assert code == 1
    assert "newer than this code" in _line(lines, "migrations")
    assert _line(lines, "database file mode").startswith("✗ database file mode: 0644")


async def test_a_missing_database_fails_without_creating_it(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    path = tmp_path / "none" / "bot.db"
    code, lines = await _run(_settings(fake_discord, fake_geekai, path))
    assert code == 1 and "does not exist yet" in _line(lines, "database")
    assert not path.parent.exists()


def _unprivileged() -> list[str]:
    """A prefix that makes file modes bind us even as root (a user namespace)."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "--user", "true"], check=False).returncode:
        pytest.skip("running as root without user namespaces: file modes cannot bind us")
    return [unshare, "--user"]


def _env(**values: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", **values}


async def _cli(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *_unprivileged(),
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_a_read_only_database_fails_in_the_cli(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = await _make_db(folder / "bot.db")
    path.chmod(0o400)
    folder.chmod(0o500)
    env = _env(
        DISCORD_TOKEN=BOT_TOKEN,
        GEEKAI_API_KEY=fake_geekai.api_key,
        GEEKAI_BASE_URL=fake_geekai.base_url,
        DISCORD_API_BASE=fake_discord.api_base,
        DATABASE_URL=f"sqlite:///{path}",
    )
    try:
        code, out, err = await _cli("check", cwd=tmp_path, env=env)
    finally:
        folder.chmod(0o700)
    assert code == 1, (out, err)
    lines = out.splitlines()
    database = _line(lines, "database")
    assert database.startswith("✗ database: ") and "is read-only" in database, out
    assert "chown" in database
    assert _line(lines, "Discord token").startswith("✓") and _line(lines, "GeekAI").startswith("✓")
    assert BOT_TOKEN not in out + err and fake_geekai.api_key not in out + err


async def test_version_matches_pyproject(tmp_path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert bot.__version__ == project["version"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--version", cwd=tmp_path, env=_env(),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert out.decode().strip() == f"imagine-bot {project['version']}"


async def test_a_database_locked_by_another_process_fails(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, db_path: Path
) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock (SQLite waits 5 s)
    try:
        code, lines = await _run(_settings(fake_discord, fake_geekai, db_path))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert code == 1, lines
    line = _line(lines, "database writable")
    assert line.startswith("✗ database writable:") and "locked by another process" in line
