"""Which engine a database URL names: `sqlite:///path` (aiosqlite) or `postgresql://…` (asyncpg)."""

from __future__ import annotations

from typing import Any

from bot.storage.database import Database, StorageError
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import SQLiteDatabase, sqlite_path


async def open_database(url: str, **options: Any) -> Database:
    """Connect to the database the URL names: `sqlite:///path` or `postgresql://…`."""
    if url.startswith("sqlite:"):
        return await SQLiteDatabase.open(sqlite_path(url), **options)
    if url.startswith(("postgresql:", "postgres:")):
        return await PostgresDatabase.open(url, **options)
    raise StorageError("DATABASE_URL must start with sqlite:/// or postgresql://")
