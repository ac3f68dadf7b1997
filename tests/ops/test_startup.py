"""A database path the bot cannot use stops it with one line and exit code 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import Transaction, migrate, open_database
from tests.ops.test_check import _cli, _env

ENV = {"DISCORD_TOKEN": "x" * 30, "GEEKAI_API_KEY": "sk-test"}


def _assert_one_line_exit_3(code: int, out: str, err: str) -> str:
    assert code == 3, (out, err)
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert "DATABASE_URL" in line
    return line


async def test_the_default_path_in_a_read_only_directory(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        code, out, err = await _cli(cwd=tmp_path, env=_env(**ENV))
    finally:
        tmp_path.chmod(0o755)
    line = _assert_one_line_exit_3(code, out, err)
    assert "Permission denied" in line and "data/imagine.db" in line


@pytest.mark.parametrize("command", [[], ["migrate"]])
async def test_a_path_through_a_file(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "data").write_text("not a directory")
    code, out, err = await _cli(*command, cwd=tmp_path, env=_env(**ENV))
    _assert_one_line_exit_3(code, out, err)


@pytest.mark.parametrize("command", [[], ["migrate"]])
async def test_a_database_newer_than_the_code_is_refused(
    tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "bot.db"
    db = await open_database(f"sqlite:///{path}")
    try:
        await migrate(db)
        await db.write(_future_migration)
    finally:
        await db.close()
    env = _env(**ENV, DATABASE_URL=f"sqlite:///{path}")
    code, out, err = await _cli(*command, cwd=tmp_path, env=env)
    assert code == 3, (out, err)
    [line] = err.strip().splitlines()
    assert "schema version 99" in line and "Traceback" not in err


async def _future_migration(conn: Transaction) -> None:
    await conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, '0099_x.sql', 0)"
    )
