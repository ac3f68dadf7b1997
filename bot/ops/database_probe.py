"""Everything `check` asks the database, in one place (so it ports to the new storage)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.ops.files import loose_mode
from bot.storage import Database, StorageError, discover_migrations, open_database, schema_version
from bot.storage.database import BaseDatabase
from bot.storage.sqlite import sqlite_path


@dataclass(frozen=True)
class DatabaseFacts:
    location: str
    exists: bool
    writable: bool = False  # the file system lets us write (file and directory)
    answers: bool = False
    version: int | None = None  # schema version found (None: could not read it)
    known: int = 0  # migrations this code ships
    loose_mode: int | None = None  # the file's mode when group/others can read it
    problem: str | None = None  # why it did not answer / is not writable

    @property
    def read_only(self) -> bool:
        return self.exists and (not self.writable or "readonly" in (self.problem or ""))

    @property
    def locked(self) -> bool:
        return "locked" in (self.problem or "")


def _writable(path: Path) -> bool:
    """The file and its directory (SQLite writes -wal and -shm files beside it)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _stat(path: Path) -> tuple[bool, int | None]:
    """Does the file exist, and its mode if group/others can read it (a local stat)."""
    if not path.exists():
        return False, None
    return True, loose_mode(path)


async def probe_database(url: str) -> DatabaseFacts:
    """Open the database (a SQLite file only if it exists: never creates it), ping it, read
    its version. `schema_version()` runs a (no-op) write, which is what proves writability.
    A SQLite file in use by a running bot is reported as locked (it serves one process)."""
    engine = "sqlite" if url.startswith("sqlite:") else "postgresql"
    known = len(discover_migrations(engine))
    location, exists, mode, writable = url, True, None, True
    if engine == "sqlite":
        path = sqlite_path(url)
        location = str(path)
        exists, mode = _stat(path)
        if not exists:
            return DatabaseFacts(location, exists=False, known=known, version=0)
        writable = _writable(path)
    else:
        location = _without_password(url)
    try:
        # A check answers in seconds: wait briefly on a lock, and do not retry.
        db = await open_database(url, **({"busy_timeout": 1.0} if engine == "sqlite" else {}))
    except StorageError as exc:
        problem = str(exc).replace("in use by another bot process", "locked (in use by a bot)")
        return DatabaseFacts(
            location, True, writable=writable, known=known, loose_mode=mode, problem=problem
        )
    if isinstance(db, BaseDatabase):
        db.retry_attempts = 1
    return await _ask(db, location, writable=writable, known=known, mode=mode)


async def _ask(
    db: Database, location: str, *, writable: bool, known: int, mode: int | None
) -> DatabaseFacts:
    """Ping the open database and read its schema version; it is closed afterwards."""
    try:
        try:
            await db.fetchone("SELECT 1")
        except StorageError as exc:
            return DatabaseFacts(
                location, True, writable, known=known, loose_mode=mode, problem=str(exc)
            )
        try:
            version = await schema_version(db)
        except StorageError as exc:
            return DatabaseFacts(
                location,
                True,
                writable=writable,
                answers=True,
                known=known,
                loose_mode=mode,
                problem=str(exc),
            )
    finally:
        await db.close()
    return DatabaseFacts(
        location,
        True,
        answers=True,
        writable=writable,
        version=version,
        known=known,
        loose_mode=mode,
    )


def _without_password(url: str) -> str:
    password = urlsplit(url).password
    return url.replace(password, "***") if password else url
