"""Known start-up failures, said in one line (the caller exits 3)."""

from __future__ import annotations

import errno
import sqlite3

from bot.settings import Settings


def describe_start_error(exc: OSError | sqlite3.Error, settings: Settings) -> str:
    """What went wrong and what to change, without a traceback."""
    if isinstance(exc, sqlite3.Error):
        return (
            f"cannot open the database {settings.database_path}: {exc} "
            "(check DATABASE_URL and the file's permissions)"
        )
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot serve health/metrics on {settings.http_host}:{settings.http_port}: "
            "the port is in use (change HTTP_PORT)"
        )
    if exc.filename is not None:
        return (
            f"cannot use the database path {settings.database_path}: {exc.strerror} "
            f"at {exc.filename} (set DATABASE_URL to a writable place, e.g. "
            "sqlite:////data/imagine.db, or fix the directory's owner)"
        )
    return f"cannot start: {exc}"


class SchemaTooNewError(Exception):
    """The database was migrated by a newer release than this code: refuse to touch it."""


def refuse_newer_schema(version: int, known: int) -> None:
    """Raise if the database's schema version is past the last migration this code ships."""
    if version > known:
        raise SchemaTooNewError(
            f"the database is at schema version {version} but this release knows only "
            f"{known}: run the newer release, or restore the backup taken before upgrading"
        )
