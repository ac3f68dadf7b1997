"""Shared fixtures: a database on each engine with every migration applied; the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Database, migrate, open_database
from tests.databases import ENGINES, create_postgres_database, drop_postgres_database
from tests.fakes.discord_server import FakeDiscord


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """ "sqlite" or "postgresql": tests using a database run once on each."""
    return str(request.param)


@pytest.fixture
async def database_url(engine: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a fresh, migrated database of this engine."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url)
    await migrate(database)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """The fake Discord (gateway and REST) on 127.0.0.1."""
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
