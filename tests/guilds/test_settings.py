"""Per-server settings: one table and one service; a change reaches another process's cache;
the migration that folded the quota settings and the watermark switch into the table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.guilds.settings import GuildSettings, GuildSettingsService
from bot.quota import QuotaInputError
from bot.storage import Database, migrate, open_database
from tests.databases import create_postgres_database, drop_postgres_database


async def test_a_change_made_elsewhere_reaches_the_cache_on_refresh(db: Database) -> None:
    here, there = GuildSettingsService(db), GuildSettingsService(db)
    await here.load_all()
    await there.load_all()
    assert here.cached(1).blocked_words == ()
    await there.update(1, actor_id=9, blocked_words=["dragon"])
    assert here.cached(1).blocked_words == ()  # not yet: no I/O in cached()
    assert await here.refresh() == 1
    assert here.cached(1).blocked_words == ("dragon",)
    await there.update(1, actor_id=9, reroll_policy="anyone", watermark=True)
    await there.set_timezone(1, actor_id=9, timezone="Asia/Shanghai")
    await here.refresh()
    settings = here.cached(1)
    assert (settings.reroll_policy, settings.watermark, settings.timezone) == (
        "anyone", True, "Asia/Shanghai",
    )  # fmt: skip


async def test_an_update_keeps_what_another_process_changed_meanwhile(db: Database) -> None:
    """Only the named settings are written: a stale cache elsewhere overwrites nothing."""
    here, there = GuildSettingsService(db), GuildSettingsService(db)
    await here.load_all()
    await there.set_admin_role(1, actor_id=9, role_id=77)
    await here.update(1, actor_id=8, channels=[5, 6])  # `here` never saw the role
    stored = await GuildSettingsService(db).get(1)
    assert (stored.admin_role_id, stored.channels) == (77, (5, 6))
    await there.set_admin_role(1, actor_id=9, role_id=None)
    assert (await here.get(1)).admin_role_id is None


async def test_time_zone_and_admin_role_changes_are_audited(db: Database) -> None:
    guilds = GuildSettingsService(db, clock=lambda: 1_700_000_000.0)
    await guilds.set_timezone(1, actor_id=9, timezone="Europe/Paris")
    await guilds.set_admin_role(1, actor_id=9, role_id=42)
    rows = await db.fetchall("SELECT action, before, after FROM quota_audit ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("set-timezone", '{"timezone": "UTC"}', '{"timezone": "Europe/Paris"}'),
        ("set-admin-role", '{"admin_role_id": null}', '{"admin_role_id": 42}'),
    ]
    with pytest.raises(QuotaInputError):
        await guilds.set_timezone(1, actor_id=9, timezone="Mars/Olympus_Mons")
    assert (await guilds.get(1)).timezone == "Europe/Paris"


async def test_unknown_settings_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="unknown guild setting"):
        await GuildSettingsService(db).update(1, actor_id=9, colour="red")
    assert await GuildSettingsService(db).get(1) == GuildSettings(1)


@pytest.fixture
async def blank_url(engine: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of this engine with no schema at all."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    url = await create_postgres_database(migrated=False)
    try:
        yield url
    finally:
        await drop_postgres_database(url)


async def test_the_split_settings_of_schema_5_are_folded_into_one_table(blank_url: str) -> None:
    db = await open_database(blank_url)
    try:
        await migrate(db, up_to=5)
        await db.execute(
            "INSERT INTO quota_guild_settings (guild_id, timezone, admin_role_id, updated_at)"
            " VALUES (1, 'Asia/Tokyo', 11, 10), (2, 'Europe/Berlin', NULL, 10)"
        )
        await db.execute(
            "INSERT INTO guild_settings (guild_id, blocked_words, updated_at)"
            " VALUES (1, '[\"gore\"]', 20), (3, '[]', 20)"
        )
        await db.execute(
            "INSERT INTO bot_state (key, value) VALUES ('guild_watermark:1', '1'),"
            " ('guild_watermark:4', '0'), ('command_tree_hash', 'abc')"
        )
        await migrate(db)
        guilds = GuildSettingsService(db)
        assert await guilds.load_all() == 4
        one, two, three, four = (guilds.cached(g) for g in (1, 2, 3, 4))
        assert (one.timezone, one.admin_role_id, one.watermark, one.blocked_words) == (
            "Asia/Tokyo", 11, True, ("gore",),
        )  # fmt: skip
        assert (two.timezone, two.admin_role_id, two.watermark) == ("Europe/Berlin", None, False)
        assert (three.timezone, three.watermark) == ("UTC", False)
        assert four == GuildSettings(4)
        keys = [r[0] for r in await db.fetchall("SELECT key FROM bot_state ORDER BY key")]
        assert keys == ["command_tree_hash"]
        tables = await db.fetchall(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?"
            if blank_url.startswith("postgresql")
            else "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            ("quota_guild_settings",),
        )
        assert tables[0][0] == 0
    finally:
        await db.close()
