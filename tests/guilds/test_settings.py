"""Server settings: one process's change reaches another's cache (a fleet)."""

from __future__ import annotations

from bot.guilds.settings import GuildSettingsRepository
from bot.storage import Database


async def test_a_change_made_elsewhere_reaches_the_cache_on_refresh(db: Database) -> None:
    here, there = GuildSettingsRepository(db), GuildSettingsRepository(db)
    await here.load_all()
    await there.load_all()
    assert here.cached(1).blocked_words == ()
    await there.update(1, actor_id=9, blocked_words=["dragon"])
    assert here.cached(1).blocked_words == ()  # not yet: no I/O in cached()
    assert await here.refresh() == 1
    assert here.cached(1).blocked_words == ("dragon",)
    await there.update(1, actor_id=9, reroll_policy="anyone")
    await here.refresh()
    assert here.cached(1).reroll_policy == "anyone"
