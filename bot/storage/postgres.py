"""The PostgreSQL engine, through asyncpg: one database shared by a fleet of processes.

A pool of connections serves the process; each transaction takes one for its duration
(READ COMMITTED). Statements are written with `?` placeholders like everywhere else and
turned into `$1, $2 …` here. `tx.lock(key)` is a transaction-scoped advisory lock, which is
what makes a quota check and its reservation, or a queue cap and the job taking the slot,
atomic across processes. Migrations run under a session advisory lock, so processes
starting together migrate once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.storage.database import (
    BaseDatabase,
    IntegrityError,
    Params,
    Row,
    StorageError,
    Transaction,
    TransientStorageError,
)

log = logging.getLogger(__name__)

_MIGRATION_LOCK = "imagine-bot:migrations"
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})


@functools.lru_cache(maxsize=1024)
def to_dollar_params(sql: str) -> str:
    """`?` placeholders → `$1, $2 …`, leaving string literals, identifiers and comments."""
    out: list[str] = []
    n, i, quote = 0, 0, ""
    while i < len(sql):
        char = sql[i]
        if quote:
            out.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end])
            i = end
            continue
        elif char == "?":
            n += 1
            out.append(f"${n}")
        else:
            out.append(char)
        i += 1
    return "".join(out)


def lock_key(key: str) -> int:
    """A stable signed 64-bit advisory-lock id for a name."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def storage_error(exc: BaseException) -> StorageError:
    """The engine-neutral error for an asyncpg (or connection) one."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(text)
    state = getattr(exc, "sqlstate", None)
    if state in _TRANSIENT_SQLSTATES or isinstance(
        exc, OSError | asyncpg.ConnectionDoesNotExistError | asyncpg.InterfaceError
    ):
        return TransientStorageError(text)
    return StorageError(text)


_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


class _Transaction:
    """Sends its BEGIN with the first statement that needs one, so that a transaction whose
    first statement is `lock()` (every reservation) costs one round trip less: BEGIN and the
    advisory lock go in one simple-protocol message (the lock id is an integer literal).

    With `begin=None` on the pool, statements run outside any transaction, each committed
    alone (`PostgresDatabase._autocommit`)."""

    def __init__(
        self,
        conn: asyncpg.Connection[Any] | PoolConnectionProxy[Any] | asyncpg.Pool[Any],
        begin: str | None,
    ) -> None:
        self.conn = conn
        self._begin = begin  # None once sent

    async def begun(self) -> None:
        """Send the BEGIN now if no statement has yet."""
        if self._begin is not None:
            begin, self._begin = self._begin, None
            await self._run(begin)

    async def _run(self, sql: str) -> str:
        try:
            return await self.conn.execute(sql)
        except _ERRORS as exc:
            raise storage_error(exc) from exc

    async def execute(self, sql: str, params: Params = ()) -> int:
        await self.begun()
        try:
            status = await self.conn.execute(to_dollar_params(sql), *params)
        except _ERRORS as exc:
            raise storage_error(exc) from exc
        # "INSERT 0 3", "UPDATE 2", "DELETE 0", "CREATE TABLE" …
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        await self.begun()
        try:
            return list(await self.conn.fetch(to_dollar_params(sql), *params))
        except _ERRORS as exc:
            raise storage_error(exc) from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def lock(self, key: str) -> None:
        statement = f"SELECT pg_advisory_xact_lock({lock_key(key)})"  # an int: no injection
        if self._begin is not None:
            begin, self._begin = self._begin, None
            statement = f"{begin}; {statement}"
        await self._run(statement)

    async def end(self, commit: bool) -> None:
        """COMMIT (or ROLLBACK); nothing when no statement ever ran (nothing was begun)."""
        if self._begin is None:
            await self._run("COMMIT" if commit else "ROLLBACK")


class PostgresDatabase(BaseDatabase):
    engine = "postgresql"

    def __init__(self, pool: asyncpg.Pool, urgent_pool: asyncpg.Pool) -> None:
        self._pool: asyncpg.Pool | None = pool
        # One connection for urgent transactions (lease renewals), so that a burst holding
        # every pool connection cannot make a lease run out.
        self._urgent_pool: asyncpg.Pool | None = urgent_pool

    @classmethod
    async def open(
        cls, url: str, *, min_size: int = 1, max_size: int = 10, connect_timeout: float = 10.0
    ) -> PostgresDatabase:
        options: dict[str, Any] = {
            "timeout": connect_timeout,
            "command_timeout": 60,
            "reset": _keep_session,
        }
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, **options)
            try:
                urgent = await asyncpg.create_pool(url, min_size=1, max_size=1, **options)
            except BaseException:
                await pool.close()
                raise
        except (*_ERRORS, ValueError) as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {_safe(exc, url)}") from None
        return cls(pool, urgent)

    def transaction(
        self, *, readonly: bool = False, urgent: bool = False
    ) -> AbstractAsyncContextManager[Transaction]:
        return self._transaction(readonly, urgent)

    @contextlib.asynccontextmanager
    async def _transaction(self, readonly: bool, urgent: bool) -> AsyncIterator[Transaction]:
        pool = self._live_pool(urgent)
        try:
            conn = await pool.acquire()
        except _ERRORS as exc:
            raise storage_error(exc) from exc
        try:
            tx = _Transaction(conn, "BEGIN READ ONLY" if readonly else "BEGIN")
            try:
                yield tx
            except BaseException:
                with contextlib.suppress(StorageError):
                    await tx.end(commit=False)
                raise
            await tx.end(commit=True)
        finally:
            # Should a ROLLBACK have failed, asyncpg's reset rolls back (or drops the
            # connection) before the pool hands it out again.
            await pool.release(conn)

    @contextlib.asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[Transaction]:
        yield _Transaction(self._live_pool(), begin=None)  # each statement on any connection

    @contextlib.asynccontextmanager
    async def _migration_lock(self) -> AsyncIterator[None]:
        async with self._live_pool().acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", lock_key(_MIGRATION_LOCK))
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", lock_key(_MIGRATION_LOCK))

    def migration_lock(self) -> AbstractAsyncContextManager[None]:
        return self._migration_lock()

    async def executescript(self, tx: Transaction, script: str) -> None:
        assert isinstance(tx, _Transaction)
        await tx.begun()  # the script runs inside the migration's transaction
        try:
            await tx.conn.execute(script)  # no arguments: the simple protocol runs it whole
        except _ERRORS as exc:
            raise storage_error(exc) from exc

    async def backup(self, label: str) -> Path | None:
        """PostgreSQL is backed up by its operator (pg_dump); nothing to do here."""
        return None

    async def close(self) -> None:
        pools, self._pool, self._urgent_pool = [self._pool, self._urgent_pool], None, None
        for pool in pools:
            if pool is not None:
                await pool.close()

    def _live_pool(self, urgent: bool = False) -> asyncpg.Pool:
        pool = self._urgent_pool if urgent else self._pool
        if pool is None:
            raise StorageError("the database is closed")
        return pool


async def _keep_session(conn: asyncpg.Connection[Any]) -> None:
    """What a connection returned to the pool needs reset: nothing. The bot never leaves
    session state behind (no LISTEN, no cursors or advisory locks outside a transaction,
    no SET), so asyncpg's default reset query would only cost a round trip per transaction.
    """


def _safe(exc: BaseException, url: str) -> str:
    """The error without the URL's password, should the driver have echoed it."""
    text = str(exc) or type(exc).__name__
    password = _password(url)
    return text.replace(password, "***") if password else text


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None
