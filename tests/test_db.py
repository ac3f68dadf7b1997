from __future__ import annotations

from pathlib import Path

import pytest

from bot.db import Database, Migration, _split_sql, discover_migrations


async def test_migrations_apply_once_and_record_version(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "m.db")
    try:
        first = await database.migrate()
        assert first == [m.name for m in discover_migrations()]
        assert await database.migrate() == []
        assert await database.schema_version() == len(first)
        async with database.conn.execute("PRAGMA journal_mode") as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] == "wal"
        async with database.conn.execute("PRAGMA foreign_keys") as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] == 1
    finally:
        await database.close()


async def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "m.db")
    bad = [
        Migration(1, "0001_ok.sql", "CREATE TABLE a (x INTEGER);"),
        Migration(2, "0002_bad.sql", "CREATE TABLE b (x INTEGER); INSERT INTO nope VALUES (1);"),
    ]
    try:
        with pytest.raises(Exception, match="nope"):
            await database.migrate(bad)
        assert await database.schema_version() == 1
        async with database.conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'b'"
        ) as cur:
            assert await cur.fetchone() is None
    finally:
        await database.close()


def test_split_sql_keeps_semicolons_in_strings_and_triggers() -> None:
    script = (
        "-- comment; with a semicolon\n"
        "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = 'c;d';\nEND;\n"
    )
    statements = _split_sql(script)
    assert len(statements) == 2
    assert "'a;b'" in statements[0]
    assert statements[1].endswith("END;")


def test_migration_files_are_numbered_without_gaps() -> None:
    versions = [m.version for m in discover_migrations()]
    assert versions == list(range(1, len(versions) + 1))
