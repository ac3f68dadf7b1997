"""Numbered migrations for both engines, the version check, and a backup before migrating.

Files in `migrations/` are named `NNNN_name.sql` (both engines) or `NNNN_name.sqlite.sql` /
`NNNN_name.postgres.sql` (one engine's variant where the SQL differs); versions run
0001, 0002, … without gaps for every engine. Each migration runs in one transaction
together with its row in `schema_migrations`, so a failed one leaves nothing behind.
Migrations are forward-only: a database whose version is newer than the newest file this
code has is refused, so older code never writes to a schema it does not know.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from bot.storage.database import Database, SchemaTooNewError, StorageError, Transaction

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$")
_ENGINE_SUFFIX = {"sqlite": "sqlite", "postgresql": "postgres"}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover_migrations(engine: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """This engine's migrations in order: its own variant of a version, else the shared file."""
    suffix = _ENGINE_SUFFIX[engine]
    chosen: dict[int, tuple[int, Path]] = {}  # version → (preference, file)
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise StorageError(f"badly named migration file: {path.name}")
        variant = match.group(3)
        if variant is not None and variant != suffix:
            continue
        version, rank = int(match.group(1)), 1 if variant else 0
        if version in chosen and chosen[version][0] == rank:
            raise StorageError(f"two migrations for version {version}: {path.name}")
        if version not in chosen or rank > chosen[version][0]:
            chosen[version] = (rank, path)
    versions = sorted(chosen)
    if versions != list(range(1, len(versions) + 1)):
        raise StorageError(f"migrations must be numbered 0001, 0002, … without gaps: {versions}")
    return [Migration(v, chosen[v][1].name, chosen[v][1].read_text("utf-8")) for v in versions]


async def _ensure_version_table(db: Database) -> None:
    """In a write transaction, not as a lone statement: on SQLite that takes the write lock
    even when the table exists, so a file another program holds locked is found here
    (`python -m bot check` reports it) rather than by the first job."""

    async def create(tx: Transaction) -> None:
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )

    await db.write(create)


async def schema_version(db: Database) -> int:
    """The newest migration applied to this database (0 for a new one)."""
    await _ensure_version_table(db)
    row = await db.fetchone("SELECT MAX(version) FROM schema_migrations")
    return int(row[0]) if row is not None and row[0] is not None else 0


async def pending_migrations(db: Database, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Migrations not applied yet; raises SchemaTooNewError for a newer database."""
    migrations = discover_migrations(db.engine, directory)
    current = await schema_version(db)
    newest = migrations[-1].version if migrations else 0
    if current > newest:
        raise SchemaTooNewError(
            f"the database is at schema version {current}, newer than this bot knows"
            f" ({newest}): run the newer version of the bot, or restore a backup"
        )
    return [m for m in migrations if m.version > current]


async def migrate(
    db: Database, directory: Path = MIGRATIONS_DIR, *, up_to: int | None = None
) -> list[str]:
    """Apply every pending migration in order (one transaction each); the names applied.

    Several processes may start at once: the migration lock lets one migrate while the
    others wait, then find nothing left to do. An existing SQLite database is backed up
    next to its file before the first pending migration runs.
    """
    async with db.migration_lock():
        pending = await pending_migrations(db, directory)
        if up_to is not None:  # tests: a database left at an older version
            pending = [m for m in pending if m.version <= up_to]
        if pending and pending[0].version > 1:
            path = await db.backup(f"v{pending[0].version - 1}")
            if path is not None:
                log.info("backed up the database to %s before migrating", path.name)
        applied = []
        for migration in pending:

            async def apply(tx: Transaction, migration: Migration = migration) -> None:
                await db.executescript(tx, migration.sql)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )

            await db.write(apply)
            log.info("applied migration %s", migration.name)
            applied.append(migration.name)
        return applied
