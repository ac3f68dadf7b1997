"""Everything `check` asks the database, in one place (so it ports to the new storage)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.db import Database, discover_migrations
from bot.ops.files import loose_mode


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


async def probe_database(path: Path) -> DatabaseFacts:
    """Open the SQLite file if it exists (never creates it), ping it, read its version.

    `schema_version()` runs a (no-op) write transaction, which is what proves writability.
    """
    known = len(discover_migrations())
    exists, mode = _stat(path)
    if not exists:
        return DatabaseFacts(str(path), exists=False, known=known, version=0)
    try:
        db = await Database.open(path)
    except Exception as exc:  # sqlite3.Error or OSError: the reason is what matters
        return DatabaseFacts(
            str(path),
            True,
            writable=_writable(path),
            known=known,
            loose_mode=mode,
            problem=str(exc),
        )
    try:
        try:
            await db.fetchone("SELECT 1")
        except Exception as exc:
            return DatabaseFacts(
                str(path), True, _writable(path), known=known, loose_mode=mode, problem=str(exc)
            )
        try:
            version = await db.schema_version()
        except Exception as exc:
            return DatabaseFacts(
                str(path),
                True,
                writable=_writable(path),
                answers=True,
                known=known,
                loose_mode=mode,
                problem=str(exc),
            )
    finally:
        await db.close()
    return DatabaseFacts(
        str(path),
        True,
        answers=True,
        writable=_writable(path),
        version=version,
        known=known,
        loose_mode=mode,
    )
