"""What bench/bot_proc.py changes in the real bot reaches the services it builds."""

from __future__ import annotations

import pytest

import bot.wiring
from bench.bot_proc import apply_poll
from bot.jobs.polling.book import ScheduleBook
from bot.jobs.polling.schedules import FixedSchedule, StaticSchedules
from tests.e2e.harness import Harness


@pytest.fixture
def engine() -> str:
    return "sqlite"  # about the wiring, not the database


async def test_a_fixed_poll_variant_reaches_the_runner(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B2's fixed-interval references: after the services moved to bot/wiring.py the patch
    still went to bot.app, and every "fixed" variant quietly ran the learned schedule."""
    monkeypatch.setattr(bot.wiring, "ScheduleBook", ScheduleBook)  # undone after the test
    apply_poll("fixed:3.0")
    await harness.start_bot()
    assert harness.app is not None
    assert harness.app.services.runner._config.schedules == StaticSchedules(FixedSchedule(3.0))
