from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings, sqlite_path

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
    assert settings.database_path == Path("data/imagine.db")
    assert settings.job_timeout_seconds == 600


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
