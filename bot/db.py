"""SQLite access: one connection on one thread, one thread hop per transaction, migrations.

Every statement of the bot runs on a single thread that owns the connection (WAL mode). The
event loop never blocks on SQLite, and a transaction costs one hop to that thread and back,
however many statements it runs: the whole body runs there at once. Writes that arrive
together also commit together (group commit, see `Database`).

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
import contextlib
import logging
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
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
        self.raw = raw

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        cursor = self.raw.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        cursor = self.raw.execute(sql, params)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row (a statement with RETURNING has done all its work by then)."""
        cursor = self.raw.execute(sql, params)
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


@dataclass(eq=False)
class _Work:
    """One request to the database thread and the future that receives its outcome."""

    run: Callable[[], Any]  # for a write: makes the body's coroutine; else the work itself
    future: asyncio.Future[Any]
    write: bool
    result: Any = None
    error: BaseException | None = None


class Database:
    """One SQLite connection in WAL mode, owned by one thread that runs every statement.

    * `write(body)` runs a body as a transaction: all of it or nothing, isolated from every
      other body (the thread runs one at a time), durable once `write` returns.
    * `read(body)` runs a body on one consistent snapshot; `fetchall` / `fetchone` are
      one-statement reads.

    Group commit: writes that queue up while the thread is busy run together in one
    `BEGIN IMMEDIATE … COMMIT`, each body inside its own SAVEPOINT, so a body that raises
    is rolled back alone and the others still commit. Every `write` in the group returns
    after that one COMMIT. If the shared transaction fails as a whole (its COMMIT is
    refused), each body runs again in a transaction of its own, so no body can make another
    fail. A burst of N writes costs one commit and one wake-up of the event loop, not N.

    A request whose task was cancelled before the thread reached it does not run; once it
    has started it completes (or rolls back) as a whole, whatever happens to the caller.
    """

    MAX_GROUP = 64

    def __init__(self, path: Path) -> None:
        self._path = path
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite", daemon=True)
        self._raw: sqlite3.Connection | None = None
        self._closed = False
        self.commits = 0  # write transactions committed (a group counts once)

    @classmethod
    async def open(cls, path: Path) -> Database:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        db = cls(path)
        db._thread.start()
        try:
            await db._submit(db._connect, False)
        except BaseException:
            db._closed = True
            db._queue.put(None)
            raise
        return db

    async def close(self) -> None:
        """Finish what was asked before, then close; nothing new is accepted from now."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._enqueue(self._disconnect, False)
        finally:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)

    async def write(self, body: Body[T]) -> T:
        """Run `body` as one write transaction (atomic, isolated, durable on return)."""
        result: T = await self._submit(lambda: body(self._connection()), True)
        return result

    async def read(self, body: Body[T]) -> T:
        """Run `body` on one consistent snapshot; it should only read."""
        result: T = await self._submit(lambda: self._read(body), False)
        return result

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = await self._submit(
            lambda: _drive(self._connection().fetchall(sql, params)), False
        )
        return rows

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = await self._submit(
            lambda: _drive(self._connection().fetchone(sql, params)), False
        )
        return row

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

    # --- the event loop's side ----------------------------------------------------------

    async def _submit(self, run: Callable[[], Any], write: bool) -> Any:
        if self._closed:
            raise RuntimeError("the database is closed")
        return await self._enqueue(run, write)

    async def _enqueue(self, run: Callable[[], Any], write: bool) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._queue.put(_Work(run, future, write))
        return await future

    @staticmethod
    def _settle(done: list[_Work]) -> None:
        """On the event loop: hand each finished request its outcome."""
        for work in done:
            if work.future.done():  # cancelled meanwhile
                continue
            if work.error is not None:
                work.future.set_exception(work.error)
            else:
                work.future.set_result(work.result)

    # --- the database thread's side -----------------------------------------------------

    def _serve(self) -> None:
        carried: _Work | None = None
        stop = False
        while not stop:
            first = carried if carried is not None else self._queue.get()
            carried = None
            if first is None:
                break
            group = [first]
            # Writes already waiting join this one's transaction; a read (or the stop) waits
            # for it, so everything still happens in the order it was asked for.
            while first.write and len(group) < self.MAX_GROUP:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if queued is None or not queued.write:
                    stop, carried = queued is None, queued
                    break
                group.append(queued)
            live = [work for work in group if not work.future.cancelled()]
            if not live:
                continue
            try:
                if first.write:
                    self._commit_group(live)
                else:
                    first.result = first.run()
            except BaseException as exc:  # the thread must live on: every request is answered
                for work in live:
                    work.result, work.error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                live[0].future.get_loop().call_soon_threadsafe(self._settle, live)
        self._disconnect()

    def _commit_group(self, group: list[_Work]) -> None:
        if self._in_one_transaction(group) or len(group) == 1:
            return
        # The shared transaction failed as a whole (a COMMIT refused, say, by one body's
        # deferred constraint), so nothing of it was kept: give each body its own.
        for work in group:
            work.result, work.error = None, None
            self._in_one_transaction([work])

    def _in_one_transaction(self, group: list[_Work]) -> bool:
        """Run the bodies in one transaction, each in a SAVEPOINT. True when every outcome is
        final; False when the transaction failed as a whole (then nothing was committed)."""
        raw = self._connection().raw
        try:
            raw.execute("BEGIN IMMEDIATE")
        except BaseException as exc:  # busy past the timeout, or broken: nothing ran
            for work in group:
                work.error = exc
            return True
        try:
            for work in group:
                raw.execute("SAVEPOINT body")
                try:
                    work.result = _drive(work.run())
                except BaseException as exc:
                    work.error = exc
                    if not raw.in_transaction:
                        raise  # SQLite gave up the whole transaction
                    raw.execute("ROLLBACK TO body")
                raw.execute("RELEASE body")
            raw.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
            for work in group:
                work.result, work.error = None, exc
            return False
        self.commits += 1
        return True

    def _read(self, body: Body[T]) -> T:
        conn = self._connection()
        conn.raw.execute("BEGIN")
        try:
            return _drive(body(conn))
        finally:
            if conn.raw.in_transaction:
                conn.raw.execute("ROLLBACK")  # a read has nothing to keep

    def _connection(self) -> Connection:
        if self._raw is None:
            raise RuntimeError("the database is closed")
        return Connection(self._raw)

    def _connect(self) -> None:
        raw = sqlite3.connect(self._path, isolation_level=None)  # transactions are explicit
        raw.row_factory = sqlite3.Row
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("PRAGMA synchronous = NORMAL")
        raw.execute("PRAGMA foreign_keys = ON")
        raw.execute("PRAGMA busy_timeout = 5000")
        self._raw = raw

    def _disconnect(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None


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
