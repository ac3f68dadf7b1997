"""File permissions of the SQLite store: only the bot's user may read it (it holds tokens
of interactions and everyone's usage)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_MODE = 0o600
_SIDE_FILES = ("", "-wal", "-shm")


def restrict_to_owner(database: Path) -> None:
    """chmod 0600 the database file and its WAL/shared-memory files, where they exist."""
    for suffix in _SIDE_FILES:
        path = Path(f"{database}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                os.chmod(path, PRIVATE_MODE)


def loose_mode(path: Path) -> int | None:
    """The file's mode if group or others may access it, else None."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & 0o077 else None
