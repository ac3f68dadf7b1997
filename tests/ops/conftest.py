from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.geekai_server import FakeGeekAI


@pytest.fixture
async def fake_geekai() -> AsyncIterator[FakeGeekAI]:
    fake = FakeGeekAI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
