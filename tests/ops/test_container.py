"""The container files say what operators rely on: compose services, Dockerfile, env file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _assert_runs_the_bot(service: dict[str, Any]) -> None:
    assert service["restart"] == "unless-stopped"
    assert service["env_file"] == ".env"
    assert service["logging"]["driver"] == "json-file"
    assert {"max-size", "max-file"} <= set(service["logging"]["options"])
    assert any("/healthz" in part for part in service["healthcheck"]["test"])


def test_the_default_bot_keeps_sqlite_on_a_named_volume() -> None:
    compose = _compose()
    bot = compose["services"]["bot"]
    _assert_runs_the_bot(bot)
    assert "profiles" not in bot
    assert bot["environment"]["DATABASE_URL"] == "sqlite:////data/imagine.db"
    [volume] = bot["volumes"]
    name, target = volume.split(":")
    assert target == "/data" and name in compose["volumes"]


def test_the_postgres_profile_adds_postgres_16_and_points_a_bot_at_it() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:16" and postgres["profiles"] == ["postgres"]
    name = postgres["volumes"][0].split(":")[0]
    assert name in compose["volumes"]
    bot = compose["services"]["bot-postgres"]
    _assert_runs_the_bot(bot)
    assert bot["profiles"] == ["postgres"]
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in bot["environment"]["DATABASE_URL"]
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_dockerfile_follows_the_rules() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "# syntax" not in text
    assert re.search(r"uv==\d+\.\d+\.\d+|astral-sh/uv:\d+\.\d+\.\d+", text)
    for env in ("UV_COMPILE_BYTECODE=1", "UV_LINK_MODE=copy", "UV_PYTHON_DOWNLOADS=0"):
        assert env in text
    assert text.count("FROM ") >= 2  # multi-stage
    assert "uv sync --locked" in text and "COPY pyproject.toml uv.lock" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "tzdata" in text and 'VOLUME ["/data"]' in text
    assert re.search(r"^HEALTHCHECK .*", text, re.M) and "/healthz" in text


def test_dockerignore_keeps_caches_and_secrets_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".tools", ".env", "__pycache__", ".mypy_cache"} <= ignored


def test_env_example_has_no_inline_comments() -> None:
    """`docker --env-file` keeps `VALUE  # comment` verbatim as the value."""
    for line in (ROOT / ".env.example").read_text().splitlines():
        setting = line.lstrip("# ").strip()
        if re.match(r"^[A-Z][A-Z0-9_]*=", setting):
            assert "#" not in setting.split("=", 1)[1], line
