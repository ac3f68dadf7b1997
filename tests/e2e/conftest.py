from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import Harness
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.geekai_server import FakeGeekAI


@pytest.fixture
async def fake_geekai() -> AsyncIterator[FakeGeekAI]:
    fake = FakeGeekAI(pending_seconds=0.3, running_seconds=0.6)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def harness(
    fake_discord: FakeDiscord, fake_geekai: FakeGeekAI, tmp_path: Path, database_url: str
) -> AsyncIterator[Harness]:
    h = Harness(fake_discord, fake_geekai, tmp_path, database_url=database_url)
    h.capture_logs()
    try:
        yield h
    finally:
        await h.close()
