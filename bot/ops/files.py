"""File permissions of the SQLite store: only the bot's user may read it (it holds tokens
of interactions and everyone's usage)."""

from __future__ import annotations

import stat
from pathlib import Path

PRIVATE_MODE = 0o600


def loose_mode(path: Path) -> int | None:
    """The file's mode if group or others may access it, else None."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & 0o077 else None
