"""The SQLite engine, through aiosqlite: one process, one file, zero set-up.

One connection (WAL mode) serves the process; an asyncio lock hands it to one transaction
at a time, and write transactions begin with `BEGIN IMMEDIATE`, so every write body runs
alone and a quota check and its reservation cannot interleave with another's. A second
process on the same file is refused at open (an exclusive lock on `<file>.lock`): SQLite
is for one process; a fleet shares PostgreSQL. The file and its lock are created mode 0600
(SQLite gives its -wal and -shm files the same mode), since they hold interaction tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import IO, Any

import aiosqlite

from bot.storage.database import (
    BaseDatabase,
    DatabaseInUseError,
    IntegrityError,
    Params,
    Row,
    StorageError,
    Transaction,
    TransientStorageError,
)

log = logging.getLogger(__name__)
# aiosqlite logs every statement with its parameters at DEBUG, interaction tokens included:
# never let those records through, whatever LOG_LEVEL says.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

_PREFIX = "sqlite:///"
_TRANSIENT = ("database is locked", "database table is locked", "busy")


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative.db` → relative.db; `sqlite:////abs/x.db` → /abs/x.db."""
    if not url.startswith(_PREFIX) or len(url) == len(_PREFIX):
        raise ValueError("a SQLite URL looks like sqlite:///data/imagine.db")
    return Path(url[len(_PREFIX) :])


def storage_error(exc: sqlite3.Error) -> StorageError:
    """The engine-neutral error for a sqlite3 one."""
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(text)
    if isinstance(exc, sqlite3.OperationalError) and any(t in text.lower() for t in _TRANSIENT):
        return TransientStorageError(text)
    return StorageError(text)


class _Transaction:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; the rows it changed. A statement without result rows has run
        to its end, holds nothing and needs no close (a second hop to aiosqlite's thread):
        its cursor is freed with its last reference. One with rows (a SELECT, RETURNING)
        is still open until closed, so that is done."""
        try:
            cursor = await self._conn.execute(sql, params)
            if cursor.description is not None:
                await cursor.close()
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc
        return cursor.rowcount

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row (a statement with RETURNING has done all its work by then)."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def lock(self, key: str) -> None:
        """Nothing to do: a write transaction here already excludes every other one."""


class SQLiteDatabase(BaseDatabase):
    engine = "sqlite"

    def __init__(self, path: Path, conn: aiosqlite.Connection, lock_file: IO[bytes] | None):
        self.path = path
        self._conn: aiosqlite.Connection | None = conn
        self._lock_file = lock_file
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, busy_timeout: float = 5.0) -> SQLiteDatabase:
        memory = str(path) == ":memory:"
        lock_file = None if memory else _lock_process(path)
        try:
            if not memory:
                _create_private(path)
            conn = await aiosqlite.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
        except sqlite3.Error as exc:
            _release(lock_file)
            raise StorageError(f"cannot open {path}: {exc}") from exc
        except BaseException:
            _release(lock_file)
            raise
        conn.row_factory = sqlite3.Row
        try:
            for pragma in (
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA foreign_keys = ON",
                f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}",
            ):
                await conn.execute_fetchall(pragma)
        except sqlite3.Error as exc:
            await conn.close()
            _release(lock_file)
            raise StorageError(f"cannot use {path}: {exc}") from exc
        return cls(path, conn, lock_file)

    def transaction(
        self, *, readonly: bool = False, urgent: bool = False
    ) -> AbstractAsyncContextManager[Transaction]:
        # One connection: an urgent transaction queues like any other (in order, and
        # every transaction here is short).
        return self._transaction(readonly)

    @contextlib.asynccontextmanager
    async def _transaction(self, readonly: bool) -> AsyncIterator[Transaction]:
        async with self._alone() as conn:
            try:
                await conn.execute_fetchall("BEGIN" if readonly else "BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise storage_error(exc) from exc
            try:
                yield _Transaction(conn)
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    await asyncio.shield(conn.rollback())
                raise
            try:
                if readonly:
                    await conn.rollback()  # a read has nothing to keep
                else:
                    # Once asked, the commit completes whatever happens to the caller.
                    await asyncio.shield(conn.commit())
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    await conn.rollback()
                raise storage_error(exc) from exc

    @contextlib.asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[Transaction]:
        async with self._alone() as conn:
            yield _Transaction(conn)

    @contextlib.asynccontextmanager
    async def _alone(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, to this caller alone, with no transaction open: for one
        transaction, or one statement in autocommit mode (SQLite commits it alone, taking
        the write lock for just that statement)."""
        async with self._lock:
            conn = self._connection()
            if conn.in_transaction:  # an earlier rollback was interrupted
                await conn.rollback()
            yield conn

    def migration_lock(self) -> AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()  # the file lock already keeps other processes out

    async def executescript(self, tx: Transaction, script: str) -> None:
        # executescript() would COMMIT on its own; run statement by statement instead.
        for statement in split_sql(script):
            await tx.execute(statement)

    async def backup(self, label: str) -> Path | None:
        """A consistent copy next to the file (`VACUUM INTO`), mode 0600; None in memory."""
        if str(self.path) == ":memory:":
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.backup-{label}-{stamp}")
        async with self._lock:
            try:
                await self._connection().execute_fetchall("VACUUM INTO ?", (str(target),))
            except sqlite3.Error as exc:
                raise StorageError(f"cannot back up {self.path} to {target}: {exc}") from exc
        os.chmod(target, 0o600)
        return target

    async def close(self) -> None:
        """Wait for the transaction in progress, then close; later calls fail clearly."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                # SQLite's advice for a connection's end: refresh the planner's statistics
                # where this session's queries would gain (bounded work: a sample per index).
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute_fetchall("PRAGMA analysis_limit = 400")
                    await conn.execute_fetchall("PRAGMA optimize")
                await conn.close()
        _release(self._lock_file)
        self._lock_file = None

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError("the database is closed")
        return self._conn


def _create_private(path: Path) -> None:
    """Create the file (and its folder) readable by this user only; tighten an old one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError as exc:
        raise StorageError(_unusable(path, exc)) from exc


def _unusable(path: Path, exc: OSError) -> str:
    return (
        f"cannot create {path}: {exc.strerror or exc} (set DATABASE_URL to a writable place,"
        " e.g. sqlite:////data/imagine.db, or fix the folder's owner)"
    )


def _lock_process(path: Path) -> IO[bytes]:
    lock_path = path.with_name(path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(_unusable(lock_path, exc)) from exc
    handle = os.fdopen(fd, "r+b")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise DatabaseInUseError(
            f"{path} is in use by another bot process; SQLite serves one process"
            " (run a fleet on PostgreSQL: DATABASE_URL=postgresql://…)"
        ) from None
    return handle


def _release(handle: IO[Any] | None) -> None:
    if handle is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def split_sql(script: str) -> list[str]:
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
        raise StorageError("migration ends with an incomplete statement")
    return statements
