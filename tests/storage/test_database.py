"""The storage interface on both engines: transactions, errors, migrations, SQLite's rules."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from bot.storage import (
    Database,
    DatabaseInUseError,
    IntegrityError,
    SchemaTooNewError,
    StorageError,
    Transaction,
    discover_migrations,
    migrate,
    open_database,
    pending_migrations,
    schema_version,
)
from bot.storage.migrate import MIGRATIONS_DIR
from bot.storage.postgres import lock_key, to_dollar_params
from bot.storage.sqlite import split_sql, sqlite_path
from tests.databases import HAVE_POSTGRES, create_postgres_database, drop_postgres_database

ROOT = Path(__file__).resolve().parents[2]


async def test_a_transaction_commits_as_a_whole_or_not_at_all(db: Database) -> None:
    await db.execute("INSERT INTO bot_state (key, value) VALUES ('a', '1')")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.transaction() as tx:
            await tx.execute("UPDATE bot_state SET value = '2' WHERE key = 'a'")
            await tx.execute("INSERT INTO bot_state (key, value) VALUES ('b', '1')")
            raise Boom
    rows = await db.fetchall("SELECT key, value FROM bot_state ORDER BY key")
    assert [(r["key"], r["value"]) for r in rows] == [("a", "1")]


async def test_bodies_may_await_and_writes_do_not_interleave(db: Database) -> None:
    """Read-modify-write with a sleep in the middle, 20 at once: no update is lost."""
    await db.execute("INSERT INTO bot_state (key, value) VALUES ('n', '0')")

    async def increment(tx: Transaction) -> None:
        await tx.lock("counter")
        row = await tx.fetchone("SELECT value FROM bot_state WHERE key = 'n'")
        assert row is not None
        await asyncio.sleep(0.001)
        await tx.execute("UPDATE bot_state SET value = ? WHERE key = 'n'", (str(int(row[0]) + 1),))

    await asyncio.gather(*(db.write(increment) for _ in range(20)))
    row = await db.fetchone("SELECT value FROM bot_state WHERE key = 'n'")
    assert row is not None and row["value"] == "20"


async def test_constraint_violations_are_integrity_errors(db: Database) -> None:
    await db.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'v')")
    with pytest.raises(IntegrityError):
        await db.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'w')")
    with pytest.raises(StorageError):
        await db.execute("SELECT * FROM no_such_table")


async def test_returning_and_row_access_by_name_and_position(db: Database) -> None:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO bot_state (key, value) VALUES (?, ?) RETURNING key, value", ("x", "'?'")
        )
    assert row is not None and (row[0], row["value"]) == ("x", "'?'")
    assert await db.execute("DELETE FROM bot_state WHERE key = ?", ("x",)) == 1


async def test_migrations_apply_once_and_record_the_version(db: Database) -> None:
    expected = discover_migrations(db.engine)
    assert await schema_version(db) == len(expected)
    assert await migrate(db) == []
    assert await pending_migrations(db) == []


async def test_a_newer_database_is_refused(db: Database) -> None:
    newest = len(discover_migrations(db.engine))
    await db.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (newest + 1, f"{newest + 1:04d}_future.sql", time.time()),
    )
    with pytest.raises(SchemaTooNewError, match="newer than this bot knows"):
        await migrate(db)


async def test_a_failed_migration_leaves_nothing_behind(
    database_url: str, engine: str, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_ok.sql").write_text("CREATE TABLE a (x INTEGER);")
    (folder / "0002_bad.sql").write_text("CREATE TABLE b (x INTEGER); INSERT INTO nope VALUES (1);")
    url = database_url
    if engine == "postgresql":
        url = await create_postgres_database(migrated=False)
    db = await open_database(url)
    try:
        with pytest.raises(StorageError, match="nope"):
            await migrate(db, folder)
        assert await schema_version(db) == 1
        with pytest.raises(StorageError):
            await db.fetchall("SELECT * FROM b")
    finally:
        await db.close()
        if engine == "postgresql":
            await drop_postgres_database(url)


def test_each_engine_has_every_version_and_variants_win() -> None:
    sqlite = discover_migrations("sqlite")
    postgres = discover_migrations("postgresql")
    assert [m.version for m in sqlite] == [m.version for m in postgres]
    assert all(".postgres." not in m.name for m in sqlite)
    assert all(".sqlite." not in m.name for m in postgres)
    assert (MIGRATIONS_DIR / postgres[0].name).exists()


def test_placeholders_become_numbered_outside_literals() -> None:
    sql = "SELECT ? , '?' , \"a?\" -- what?\n, ? FROM t WHERE x = ?"
    assert to_dollar_params(sql) == "SELECT $1 , '?' , \"a?\" -- what?\n, $2 FROM t WHERE x = $3"
    assert lock_key("a") == lock_key("a") != lock_key("b")
    assert -(2**63) <= lock_key("quota:1:2") < 2**63


def test_split_sql_keeps_semicolons_in_strings_and_triggers() -> None:
    script = (
        "-- comment; with a semicolon\n"
        "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = 'c;d';\nEND;\n"
    )
    assert len(split_sql(script)) == 2


# --- SQLite's own rules -----------------------------------------------------------------------


async def test_sqlite_file_is_private_and_a_second_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "bot.db"
    db = await open_database(f"sqlite:///{path}")
    try:
        await migrate(db)
        await db.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'v')")
        for file in (path, path.with_name("bot.db-wal")):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        script = (
            "import asyncio, sys\n"
            "from bot.storage import open_database, StorageError\n"
            "try:\n"
            f"    asyncio.run(open_database('sqlite:///{path}'))\n"
            "except StorageError as exc:\n"
            "    print(exc); sys.exit(3)\n"
        )
        other = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 3, other.stderr
        assert "in use by another bot process" in other.stdout
        assert "PostgreSQL" in other.stdout
        with pytest.raises(DatabaseInUseError):
            await open_database(f"sqlite:///{path}")
    finally:
        await db.close()
    again = await open_database(f"sqlite:///{path}")  # free again once closed
    await again.close()


async def test_an_old_file_is_tightened_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    db = await open_database(f"sqlite:///{path}")
    await db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_todays_sqlite_database_upgrades_in_place_after_a_backup(tmp_path: Path) -> None:
    """A file at the schema before this round (v3) keeps its rows and gets a backup."""
    path = tmp_path / "bot.db"
    folder = tmp_path / "old-migrations"
    folder.mkdir()
    for migration in discover_migrations("sqlite")[:3]:
        (folder / migration.name).write_text(migration.sql)
    db = await open_database(f"sqlite:///{path}")
    try:
        await migrate(db, folder)
        await db.execute(
            "INSERT INTO jobs (channel_id, user_id, upload_limit, model, prompt, params,"
            " state, task_id, created_at, updated_at) VALUES (1, 2, 3, 'm', 'p', '{}',"
            " 'pending', 't-1', 0, 0)"
        )
        applied = await migrate(db)
        assert applied == [m.name for m in discover_migrations("sqlite")[3:]]
        row = await db.fetchone("SELECT state, task_id, lease_owner FROM jobs")
        assert row is not None and (row[0], row[1], row[2]) == ("pending", "t-1", None)
    finally:
        await db.close()
    [backup] = await asyncio.to_thread(lambda: list(tmp_path.glob("bot.db.backup-v3-*")))
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT MAX(version) FROM schema_migrations").fetchone() == (3,)
        assert copy.execute("SELECT task_id FROM jobs").fetchone() == ("t-1",)


async def test_a_locked_sqlite_file_is_waited_out_not_fatal(tmp_path: Path) -> None:
    """Another connection (a backup tool, say) holds the write lock past the busy timeout:
    the write is retried with backoff and lands once the lock is gone."""
    path = tmp_path / "busy.db"
    from bot.storage.sqlite import SQLiteDatabase

    db = await SQLiteDatabase.open(path, busy_timeout=0.05)
    await migrate(db)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(
            db.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'v')")
        )
        await asyncio.sleep(0.4)
        assert not write.done()
        other.execute("ROLLBACK")
        assert await asyncio.wait_for(write, 10) == 1
    finally:
        other.close()
        await db.close()


@pytest.mark.skipif(not HAVE_POSTGRES, reason="no PostgreSQL: scripts/test starts one")
async def test_an_unreachable_postgres_is_a_clear_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot connect to PostgreSQL") as info:
        await open_database("postgresql://bot:pw-secret@127.0.0.1:1/nothing")
    assert "pw-secret" not in str(info.value)


async def test_a_body_that_starts_with_a_lock_is_still_one_transaction(db: Database) -> None:
    """PostgreSQL sends BEGIN with a leading lock; the body still commits or rolls back
    whole, and a body that ran nothing, or only read, is fine too."""

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.transaction() as tx:
            await tx.lock("first")
            await tx.execute("INSERT INTO bot_state (key, value) VALUES ('a', '1')")
            raise Boom
    async with db.transaction():
        pass
    async with db.transaction(readonly=True) as tx:
        await tx.lock("first")
        assert await tx.fetchall("SELECT key FROM bot_state") == []
    async with db.transaction() as tx:
        await tx.lock("first")
        await tx.lock("second")
        await tx.execute("INSERT INTO bot_state (key, value) VALUES ('b', '1')")
    rows = await db.fetchall("SELECT key FROM bot_state")
    assert [r["key"] for r in rows] == ["b"]


async def _rows_seen_by_another_connection(database_url: str) -> dict[str, str]:
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(sqlite_path(database_url))
        try:
            return dict(conn.execute("SELECT key, value FROM bot_state").fetchall())
        finally:
            conn.close()
    pg = await asyncpg.connect(database_url)
    try:
        return {r["key"]: r["value"] for r in await pg.fetch("SELECT key, value FROM bot_state")}
    finally:
        await pg.close()


async def test_one_statement_on_its_own_commits_alone(db: Database, database_url: str) -> None:
    """`db.execute` / `db.write_fetchone`: one statement, committed by itself."""
    insert = "INSERT INTO bot_state (key, value) VALUES ('a', '1'), ('b', '2')"
    assert await db.execute(insert) == 2
    row = await db.write_fetchone(
        "UPDATE bot_state SET value = ? WHERE key = ? RETURNING key, value", ("3", "a")
    )
    assert row is not None and (row["key"], row[1]) == ("a", "3")
    nothing = "UPDATE bot_state SET value = '9' WHERE key = 'zz' RETURNING key"
    assert await db.write_fetchone(nothing) is None
    with pytest.raises(IntegrityError):
        await db.execute("INSERT INTO bot_state (key, value) VALUES ('a', 'again')")
    assert await _rows_seen_by_another_connection(database_url) == {"a": "3", "b": "2"}
    async with db.transaction() as tx:  # a transaction still works after them
        await tx.execute("SELECT key FROM bot_state")  # rows it does not fetch: closed first
        await tx.execute("DELETE FROM bot_state WHERE key = 'b'")
    assert await _rows_seen_by_another_connection(database_url) == {"a": "3"}


async def test_sqlite_sends_one_statement_alone_without_begin_or_commit(tmp_path: Path) -> None:
    """One hop to aiosqlite's thread instead of three (BEGIN IMMEDIATE, it, COMMIT)."""
    from bot.storage.sqlite import SQLiteDatabase

    db = await SQLiteDatabase.open(tmp_path / "alone.db")
    try:
        await migrate(db)
        sent: list[str] = []
        await db._connection().set_trace_callback(sent.append)
        await db.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'v')")
        await db.write_fetchone("UPDATE bot_state SET value = 'w' RETURNING key")
        await db.fetchone("SELECT value FROM bot_state")
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM bot_state")
        assert [s.split()[0] for s in sent] == [
            "INSERT", "UPDATE", "SELECT", "BEGIN", "DELETE", "COMMIT",
        ]  # fmt: skip
    finally:
        await db.close()


async def test_sqlite_leaves_planner_statistics_when_it_closes(tmp_path: Path) -> None:
    """`PRAGMA optimize` at close (SQLite's advice): the next start plans with statistics."""
    from bot.storage.sqlite import SQLiteDatabase

    db = await SQLiteDatabase.open(tmp_path / "stats.db")
    await migrate(db)
    async with db.transaction() as tx:
        for user in range(200):
            await tx.execute(
                "INSERT INTO jobs (guild_id, channel_id, user_id, upload_limit, model, prompt,"
                " params, state, created_at, updated_at) VALUES (1, 1, ?, 1, 'm', 'p', '{}',"
                " 'succeeded', 0, 0)",
                (user,),
            )
    await db.fetchall("SELECT id FROM jobs WHERE user_id = ?", (7,))
    await db.close()
    plain = sqlite3.connect(tmp_path / "stats.db")
    try:
        stats = plain.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'jobs'").fetchall()
    finally:
        plain.close()
    assert ("jobs_by_user",) in stats
