"""Shared fixtures: a real SQLite file with every migration applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "test.db")
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()
