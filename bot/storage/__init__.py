"""The database: one interface (transactions, rows, errors), SQLite and PostgreSQL behind it."""

from bot.storage.database import (
    Database,
    DatabaseInUseError,
    IntegrityError,
    Row,
    SchemaTooNewError,
    StorageError,
    Transaction,
    TransientStorageError,
)
from bot.storage.engines import open_database
from bot.storage.migrate import discover_migrations, migrate, pending_migrations, schema_version

__all__ = [
    "Database",
    "DatabaseInUseError",
    "IntegrityError",
    "Row",
    "SchemaTooNewError",
    "StorageError",
    "Transaction",
    "TransientStorageError",
    "discover_migrations",
    "migrate",
    "open_database",
    "pending_migrations",
    "schema_version",
]
