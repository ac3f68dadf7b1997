from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from bot.storage.sqlite import sqlite_path

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_and_parsing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GEEKAI_API_KEY", "key")
    monkeypatch.setenv("OWNER_IDS", "1, 2;3")
    monkeypatch.setenv("DEV_GUILD_ID", "")
    settings = load_settings()
    assert settings.owner_ids == frozenset({1, 2, 3})
    assert settings.dev_guild_id is None
    assert settings.geekai_base_url == "https://geekai.co/api/v1"
    assert settings.database_url == "sqlite:///data/imagine.db" and settings.is_sqlite
    assert settings.job_timeout_seconds == 600
    assert (settings.shard_count, settings.shard_ids, settings.lease_seconds) == (1, None, 30)
    assert settings.user_cooldown_seconds == 0


def test_fleet_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GEEKAI_API_KEY", "key")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:s3cret-pw@db:5432/imagine")
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", "1, 3")
    settings = load_settings()
    assert (settings.shard_count, settings.shard_ids) == (4, (1, 3))
    assert not settings.is_sqlite
    assert "s3cret-pw" in settings.secrets()  # redacted from every log line
    assert "s3cret-pw" not in settings.database_display
    monkeypatch.setenv("SHARD_IDS", "4")
    with pytest.raises(SettingsError, match="SHARD_IDS"):
        load_settings()
    monkeypatch.setenv("SHARD_IDS", "")
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings()


def test_missing_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("GEEKAI_API_KEY", "")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "DISCORD_TOKEN is missing" in message
    assert "GEEKAI_API_KEY is missing" in message
    assert ".env.example" in message


def test_sqlite_urls() -> None:
    assert sqlite_path("sqlite:///rel/x.db") == Path("rel/x.db")
    assert sqlite_path("sqlite:////abs/x.db") == Path("/abs/x.db")
    with pytest.raises(ValueError, match="sqlite"):
        sqlite_path("postgresql://x")


def test_invalid_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DISCORD_TOKEN": "secret-token-value",
        "GEEKAI_API_KEY": "k",
        "JOB_TIMEOUT_SECONDS": "soon",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "JOB_TIMEOUT_SECONDS is invalid" in lines[0]
    assert "Traceback" not in result.stderr
    assert "secret-token-value" not in result.stderr
