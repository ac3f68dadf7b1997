"""SQLite access: one connection on one thread, one thread hop per transaction, migrations.

Every statement of the bot runs on a single worker thread that owns the connection (WAL
mode). The event loop never blocks on SQLite, and a transaction costs one hop to that thread
and back, however many statements it runs: the whole body runs there at once.

A body is an `async def` taking a `Connection`, like

    async def reserve(conn: Connection) -> Job:
        job = await repo.insert(conn, ...)
        await quota.check_and_reserve(conn, job_id=job.id, ...)
        return job

    job = await db.write(reserve)

`Connection`'s methods are coroutines that never suspend (they run SQLite directly on the
database thread), so the SQL helpers keep one async signature and compose with `await`. A
body must await nothing else: the database thread drives it to the end in one step, and a
body that tries to suspend (network, sleep, a lock) is rolled back with a RuntimeError. That
is also what makes each transaction atomic with respect to every other one: the thread runs
one body at a time, start to finish.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

T = TypeVar("T")
Params = Sequence[Any]
Body = Callable[["Connection"], Coroutine[Any, Any, T]]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"badly named migration file: {path.name}")
        migrations.append(Migration(int(match.group(1)), path.name, path.read_text("utf-8")))
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migrations must be numbered 0001, 0002, … without gaps: {versions}")
    return migrations


class Connection:
    """What a transaction body sees. Only usable on the database thread (sqlite3 checks)."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        cursor = self._raw.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        cursor = self._raw.execute(sql, params)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row (a statement with RETURNING has done all its work by then)."""
        cursor = self._raw.execute(sql, params)
        try:
            row: sqlite3.Row | None = cursor.fetchone()
            return row
        finally:
            cursor.close()


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a body that never suspends to its end, here and now."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a database transaction body awaited something other than the database")


class Database:
    """One SQLite connection in WAL mode, owned by one worker thread.

    `write(body)` runs a body inside `BEGIN IMMEDIATE` … `COMMIT` (ROLLBACK if it raises);
    `read(body)` inside a read transaction (one consistent snapshot); `fetchall` and
    `fetchone` are one-statement reads. Each is one hop to the thread. If the awaiting task
    is cancelled once its hop has started, the transaction still completes (or rolls back)
    as a whole: it is never left half done.
    """

    def __init__(self, executor: ThreadPoolExecutor, raw: sqlite3.Connection) -> None:
        self._executor = executor
        self._raw = raw
        self._conn = Connection(raw)
        self._closed = False

    @classmethod
    async def open(cls, path: Path) -> Database:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

        def connect() -> sqlite3.Connection:
            raw = sqlite3.connect(path, isolation_level=None)  # transactions are explicit
            raw.row_factory = sqlite3.Row
            raw.execute("PRAGMA journal_mode = WAL")
            raw.execute("PRAGMA synchronous = NORMAL")
            raw.execute("PRAGMA foreign_keys = ON")
            raw.execute("PRAGMA busy_timeout = 5000")
            return raw

        try:
            raw = await asyncio.get_running_loop().run_in_executor(executor, connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, raw)

    async def close(self) -> None:
        if self._closed:
            return
        try:
            await self._hop(self._raw.close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=True)

    async def write(self, body: Body[T]) -> T:
        """Run `body` as one write transaction (atomic; one hop)."""
        return await self._hop(lambda: self._transaction("BEGIN IMMEDIATE", body))

    async def read(self, body: Body[T]) -> T:
        """Run `body` on one consistent snapshot (one hop); it should only read."""
        return await self._hop(lambda: self._transaction("BEGIN", body))

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self._hop(lambda: _drive(self._conn.fetchall(sql, params)))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self._hop(lambda: _drive(self._conn.fetchone(sql, params)))

    async def schema_version(self) -> int:
        await self._ensure_version_table()
        row = await self.fetchone("SELECT MAX(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0

    async def migrate(self, migrations: list[Migration] | None = None) -> list[str]:
        """Apply every pending migration, each in its own transaction. Returns names applied."""
        migrations = discover_migrations() if migrations is None else migrations
        current = await self.schema_version()
        applied = []
        for migration in migrations:
            if migration.version <= current:
                continue

            async def apply(conn: Connection, migration: Migration = migration) -> None:
                # executescript would COMMIT on its own; run statement by statement instead.
                for statement in _split_sql(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )

            await self.write(apply)
            log.info("applied migration %s", migration.name)
            applied.append(migration.name)
        return applied

    async def _ensure_version_table(self) -> None:
        async def create(conn: Connection) -> None:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )

        await self.write(create)

    def _transaction(self, begin: str, body: Body[T]) -> T:
        """On the database thread: the whole transaction."""
        self._raw.execute(begin)
        try:
            result = _drive(body(self._conn))
            self._raw.execute("COMMIT")
        except BaseException:
            if self._raw.in_transaction:
                self._raw.execute("ROLLBACK")
            raise
        return result

    async def _hop(self, work: Callable[[], T]) -> T:
        if self._closed:
            raise RuntimeError("the database is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)


def _split_sql(script: str) -> list[str]:
    """Split a migration into complete statements (triggers and `;` in strings included)."""
    statements, start = [], 0
    for end, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : end + 1]):
            statements.append(script[start : end + 1].strip())
            start = end + 1
    rest = "\n".join(
        line for line in script[start:].splitlines() if not line.strip().startswith("--")
    )
    if rest.strip():
        raise RuntimeError("migration ends with an incomplete statement")
    return statements
