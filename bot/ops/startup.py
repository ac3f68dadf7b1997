"""Known start-up failures, said in one line (the caller exits 3)."""

from __future__ import annotations

import errno

from bot.settings import Settings


def describe_start_error(exc: OSError, settings: Settings) -> str:
    """What went wrong and what to change, without a traceback."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot serve health/metrics on {settings.http_host}:{settings.http_port}: "
            "the port is in use (change HTTP_PORT)"
        )
    if exc.filename is not None:
        return (
            f"cannot use the database {settings.database_display}: {exc.strerror} "
            f"at {exc.filename} (set DATABASE_URL to a writable place, e.g. "
            "sqlite:////data/imagine.db, or fix the directory's owner)"
        )
    return f"cannot start: {exc}"
