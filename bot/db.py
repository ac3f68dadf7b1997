"""SQLite connection and numbered `.sql` migrations (forward-only, version kept in the DB)."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


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


class Database:
    """One aiosqlite connection in WAL mode.

    aiosqlite runs every statement of a connection on one thread, so concurrent tasks share
    one transaction; `transaction()` serialises multi-statement writes with a lock and
    `BEGIN IMMEDIATE` so one task's commit never carries another's half-done work.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA busy_timeout = 5000")
        return cls(conn)

    async def close(self) -> None:
        await self.conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def schema_version(self) -> int:
        await self._ensure_version_table()
        async with self.conn.execute("SELECT MAX(version) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def migrate(self, migrations: list[Migration] | None = None) -> list[str]:
        """Apply every pending migration, each in its own transaction. Returns names applied."""
        migrations = discover_migrations() if migrations is None else migrations
        current = await self.schema_version()
        applied = []
        for migration in migrations:
            if migration.version <= current:
                continue
            async with self.transaction() as conn:
                # executescript would COMMIT on its own; run statement by statement instead.
                for statement in _split_sql(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )
            log.info("applied migration %s", migration.name)
            applied.append(migration.name)
        return applied

    async def _ensure_version_table(self) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )


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
