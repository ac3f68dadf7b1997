"""Test databases on both engines: a real SQLite file, and a real PostgreSQL database.

`scripts/test` starts a throwaway PostgreSQL server and exports its URL as
IMAGINE_TEST_POSTGRES_URL; every test asking for `database_url` (or `db`) then runs once
per engine. Each PostgreSQL test gets a database of its own, copied from a template that
holds every migration (so a test starts in milliseconds), dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.storage import migrate, open_database

POSTGRES_URL = os.environ.get("IMAGINE_TEST_POSTGRES_URL", "")
HAVE_POSTGRES = POSTGRES_URL not in ("", "off")
TEMPLATE = "imagine_test_template"

ENGINES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not HAVE_POSTGRES, reason="no PostgreSQL: scripts/test starts one for the tests"
        ),
    ),
]

_template_ready = False


def url_for(name: str) -> str:
    """The test server's URL for database `name`."""
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(POSTGRES_URL)


async def _ensure_template() -> None:
    """Create the migrated template once per test run (rebuilt at each run: migrations
    may have changed since the last one)."""
    global _template_ready
    if _template_ready:
        return
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    db = await open_database(url_for(TEMPLATE))
    try:
        await migrate(db)
    finally:
        await db.close()
    _template_ready = True


async def create_postgres_database(*, migrated: bool = True) -> str:
    """A new database on the test server (a copy of the migrated template, or empty)."""
    if migrated:
        await _ensure_template()
    name = f"imagine_test_{secrets.token_hex(6)}"
    admin = await _admin()
    try:
        template = f' TEMPLATE "{TEMPLATE}"' if migrated else ""
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await admin.close()
    return url_for(name)


async def drop_postgres_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
