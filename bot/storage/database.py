"""The storage interface every repository uses, whichever engine is behind it.

A transaction is ordinary asyncio code:

    async with db.transaction() as tx:
        job = await jobs.insert(tx, ...)
        await ledger.reserve(tx, job_id=job.id, ...)

Everything inside commits together, or nothing does (an exception rolls back). SQL is
written once, with `?` placeholders and the portable subset of SQL both engines share;
the engine translates placeholders and raises the errors below, so no repository ever
imports `sqlite3`, `aiosqlite` or `asyncpg`.

`tx.lock(key)` serialises transactions that take the same key until they end: a quota
check and its reservation, or a queue cap and the job that takes the slot, hold even when
many processes share one PostgreSQL. On SQLite every write transaction is exclusive
already (`BEGIN IMMEDIATE`), so there it costs nothing.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Params = Sequence[Any]


class Row(Protocol):
    """A result row: by position or by column name (sqlite3.Row and asyncpg.Record both)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Any: ...


class StorageError(Exception):
    """A database problem the operator has to fix (the message is safe to print)."""


class TransientStorageError(StorageError):
    """Busy, locked, a serialization conflict or a dropped connection: worth retrying."""


class IntegrityError(StorageError):
    """A constraint refused the statement (unique index, check, append-only trigger)."""


class SchemaTooNewError(StorageError):
    """The database was migrated by a newer version of the bot than this one."""


class DatabaseInUseError(StorageError):
    """Another process already owns this SQLite file."""


class Transaction(Protocol):
    """What a transaction body sees. Only valid inside its `async with`."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def lock(self, key: str) -> None:
        """Hold `key` until this transaction ends (other holders of it wait)."""
        ...


class Database(Protocol):
    engine: str  # "sqlite" or "postgresql"

    def transaction(
        self, *, readonly: bool = False, urgent: bool = False
    ) -> AbstractAsyncContextManager[Transaction]:
        """A transaction: commits at the end of the block, rolls back on an exception.
        `urgent` (short bodies only, e.g. lease renewals): not queued behind other work
        for a connection, where the engine can avoid it (PostgreSQL: a connection of its
        own)."""
        ...

    async def write(
        self, body: Callable[[Transaction], Awaitable[T]], *, urgent: bool = False
    ) -> T:
        """Run `body` in a write transaction, again (with backoff) after a transient error."""
        ...

    async def read(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run `body` in a read-only transaction (one consistent snapshot)."""
        ...

    # One statement on its own, atomic by itself: no BEGIN or COMMIT around it, so one
    # round trip (PostgreSQL) or one hop to the SQLite thread instead of three. Retried
    # like `write` after a transient error. For anything of two statements or more that
    # must agree (a check and the write it allows), use a transaction.
    async def execute(self, sql: str, params: Params = ()) -> int:
        """A write; the number of rows it changed."""
        ...

    async def write_fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """A write with RETURNING; its first row (None: it changed nothing)."""
        ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """A read (one statement sees one consistent snapshot)."""
        ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def close(self) -> None: ...

    # For migrations (bot.storage.migrate).
    def migration_lock(self) -> AbstractAsyncContextManager[None]:
        """Held while migrating, so processes starting together migrate once."""
        ...

    async def executescript(self, tx: Transaction, script: str) -> None: ...

    async def backup(self, label: str) -> Path | None:
        """A copy of the database next to it before migrating (None: the engine has none)."""
        ...


class BaseDatabase(abc.ABC):
    """What both engines share: one-statement helpers and retried write bodies."""

    engine = "?"
    # Transient errors are retried this many times, waiting about 0.05, 0.1, 0.2 … s.
    retry_attempts = 6
    retry_base_delay = 0.05

    @abc.abstractmethod
    def transaction(
        self, *, readonly: bool = False, urgent: bool = False
    ) -> AbstractAsyncContextManager[Transaction]:
        """Each engine's own."""

    async def write(
        self, body: Callable[[Transaction], Awaitable[T]], *, urgent: bool = False
    ) -> T:
        """The body must only touch the database: it may run more than once."""
        return await self._retried(body, readonly=False, urgent=urgent)

    async def read(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        return await self._retried(body, readonly=True, urgent=False)

    async def _retried(
        self, body: Callable[[Transaction], Awaitable[T]], *, readonly: bool, urgent: bool
    ) -> T:
        async def attempt() -> T:
            async with self.transaction(readonly=readonly, urgent=urgent) as tx:
                return await body(tx)

        return await self._again(attempt)

    async def _again(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()`, again with backoff after a transient error (it changed nothing)."""
        for number in range(1, self.retry_attempts + 1):
            try:
                return await attempt()
            except TransientStorageError as exc:
                if number == self.retry_attempts:
                    raise
                delay = self.retry_base_delay * 2 ** (number - 1) * random.uniform(0.5, 1.5)
                log.warning("database busy (%s); retrying in %.2f s", exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    @abc.abstractmethod
    def _autocommit(self) -> AbstractAsyncContextManager[Transaction]:
        """Statements outside any transaction: the engine commits each one alone (no BEGIN,
        no COMMIT). Only for one statement at a time; `lock` means nothing there."""

    async def _lone(self, run: Callable[[Transaction], Awaitable[T]]) -> T:
        async def attempt() -> T:
            async with self._autocommit() as statements:
                return await run(statements)

        return await self._again(attempt)

    async def execute(self, sql: str, params: Params = ()) -> int:
        return await self._lone(lambda statements: statements.execute(sql, params))

    async def write_fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self.fetchone(sql, params)  # the same lone statement, named for the reader

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._lone(lambda statements: statements.fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None
