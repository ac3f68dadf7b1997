from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable
from pathlib import Path

import pytest

from bot.db import Connection, Database, Migration, _split_sql, discover_migrations


async def test_migrations_apply_once_and_record_version(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "m.db")
    try:
        first = await database.migrate()
        assert first == [m.name for m in discover_migrations()]
        assert await database.migrate() == []
        assert await database.schema_version() == len(first)
        row = await database.fetchone("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
        row = await database.fetchone("PRAGMA foreign_keys")
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
        assert await database.fetchone("SELECT name FROM sqlite_master WHERE name = 'b'") is None
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


async def test_a_write_body_runs_as_one_transaction_and_rolls_back_on_error(db: Database) -> None:
    async def create(conn: Connection) -> None:
        await conn.execute("CREATE TABLE t (x INTEGER)")

    await db.write(create)

    async def insert_then_fail(conn: Connection) -> None:
        await conn.execute("INSERT INTO t VALUES (1)")
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await db.write(insert_then_fail)

    async def insert_two(conn: Connection) -> int:
        await conn.execute("INSERT INTO t VALUES (2)")
        return await conn.execute("INSERT INTO t VALUES (3), (4)")

    assert await db.write(insert_two) == 2
    assert [r[0] for r in await db.fetchall("SELECT x FROM t ORDER BY x")] == [2, 3, 4]


async def test_a_body_that_suspends_is_refused_and_rolled_back(db: Database) -> None:
    await db.write(lambda conn: conn.execute("CREATE TABLE t (x INTEGER)"))

    async def waits_for_the_network(conn: Connection) -> None:
        await conn.execute("INSERT INTO t VALUES (1)")
        await asyncio.sleep(0)  # e.g. an HTTP call inside a transaction

    with pytest.raises(RuntimeError, match="awaited something other than the database"):
        await db.write(waits_for_the_network)
    assert await db.fetchall("SELECT x FROM t") == []
    await db.write(lambda conn: conn.execute("INSERT INTO t VALUES (5)"))  # still usable
    assert [r[0] for r in await db.fetchall("SELECT x FROM t")] == [5]


async def test_concurrent_read_modify_writes_never_interleave(db: Database) -> None:
    await db.write(lambda conn: conn.execute("CREATE TABLE c (n INTEGER)"))
    await db.write(lambda conn: conn.execute("INSERT INTO c VALUES (0)"))

    async def increment(conn: Connection) -> None:
        row = await conn.fetchone("SELECT n FROM c")
        assert row is not None
        await conn.execute("UPDATE c SET n = ?", (row[0] + 1,))

    await asyncio.gather(*(db.write(increment) for _ in range(200)))
    assert (await db.fetchone("SELECT n FROM c"))[0] == 200  # type: ignore[index]


async def test_the_connection_cannot_be_used_outside_a_body(db: Database) -> None:
    """SQL only runs on the database thread: a connection leaked out of a body fails loudly."""
    leaked = await db.read(_leak)
    with pytest.raises(sqlite3.ProgrammingError, match="thread"):
        await leaked.fetchall("SELECT 1")


async def _leak(conn: Connection) -> Connection:
    return conn


async def test_closed_database_refuses_work(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "c.db")
    await database.close()
    await database.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await database.fetchall("SELECT 1")


async def _busy(conn: Connection) -> None:
    """Keep the database thread busy for a moment, so the writes sent meanwhile queue up."""
    await conn.fetchall(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)"
        " SELECT COUNT(*) FROM c"
    )


async def test_writes_that_queue_up_commit_together_and_fail_alone(db: Database) -> None:
    await db.write(lambda conn: conn.execute("CREATE TABLE t (x INTEGER)"))

    async def insert(conn: Connection, x: int) -> int:
        if x == 3:
            await conn.execute("INSERT INTO t VALUES (?)", (x,))
            raise ValueError("refused")  # after writing: its row must go too
        return await conn.execute("INSERT INTO t VALUES (?)", (x,))

    before = db.commits
    outcomes = await asyncio.gather(
        db.write(_busy),
        *(db.write(lambda conn, x=x: insert(conn, x)) for x in range(1, 6)),  # type: ignore[misc]
        return_exceptions=True,
    )
    assert isinstance(outcomes[3], ValueError)
    assert [o for i, o in enumerate(outcomes[1:], 1) if i != 3] == [1, 1, 1, 1]
    assert [r[0] for r in await db.fetchall("SELECT x FROM t ORDER BY x")] == [1, 2, 4, 5]
    assert db.commits - before < 6  # grouped: fewer commits than writes


async def test_a_group_whose_commit_fails_runs_each_write_alone(db: Database) -> None:
    """A deferred foreign key is only checked at COMMIT: one bad write must not sink the rest."""

    async def schema(conn: Connection) -> None:
        await conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await conn.execute(
            "CREATE TABLE child (id INTEGER PRIMARY KEY,"
            " parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        await conn.execute("INSERT INTO parent VALUES (1)")

    await db.write(schema)

    def child(child_id: int, parent_id: int) -> Awaitable[int]:
        sql = "INSERT INTO child VALUES (?, ?)"
        return db.write(lambda conn: conn.execute(sql, (child_id, parent_id)))

    outcomes = await asyncio.gather(
        db.write(_busy), child(1, 1), child(9, 99), child(2, 1), return_exceptions=True
    )
    assert outcomes[1] == 1 and outcomes[3] == 1
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert [r[0] for r in await db.fetchall("SELECT id FROM child ORDER BY id")] == [1, 2]


async def test_a_write_cancelled_before_it_ran_never_happens(db: Database) -> None:
    await db.write(lambda conn: conn.execute("CREATE TABLE t (x INTEGER)"))
    busy = asyncio.ensure_future(db.write(_busy))
    await asyncio.sleep(0)
    queued = asyncio.ensure_future(db.write(lambda conn: conn.execute("INSERT INTO t VALUES (1)")))
    await asyncio.sleep(0)
    queued.cancel()
    await busy
    with pytest.raises(asyncio.CancelledError):
        await queued
    await db.write(lambda conn: conn.execute("INSERT INTO t VALUES (2)"))  # runs after it
    assert [r[0] for r in await db.fetchall("SELECT x FROM t")] == [2]


async def test_close_finishes_what_was_asked_before_it(tmp_path: Path) -> None:
    path = tmp_path / "close.db"
    database = await Database.open(path)
    await database.write(lambda conn: conn.execute("CREATE TABLE t (x INTEGER)"))
    insert = database.write(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))
    writes = [asyncio.ensure_future(database.write(_busy)), asyncio.ensure_future(insert)]
    await asyncio.sleep(0)
    await database.close()
    assert [await w for w in writes][1] == 1
    with pytest.raises(RuntimeError, match="closed"):
        await database.write(lambda conn: conn.execute("INSERT INTO t VALUES (2)"))
    reopened = await Database.open(path)
    try:
        assert [r[0] for r in await reopened.fetchall("SELECT x FROM t")] == [1]
    finally:
        await reopened.close()
