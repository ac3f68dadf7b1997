"""Per-server settings, all in one table (`guild_settings`) behind one service.

Reroll policy, default and allowed models, channels, blocked words, the quota time zone,
the bot's admin role and the watermark switch. Every process keeps them in memory, so the
checks before a reply need no I/O, and reads again what changed (by any process of a
fleet) every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.guilds import repository
from bot.quota.policy import parse_timezone
from bot.quota.store import write_audit
from bot.storage import Database, Transaction

ReRollPolicy = Literal["requester", "anyone"]
log = logging.getLogger(__name__)

REROLL_POLICIES: tuple[ReRollPolicy, ...] = ("requester", "anyone")
DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    reroll_policy: ReRollPolicy = "requester"
    default_model: str | None = None
    allowed_models: tuple[str, ...] = ()  # empty: every model in the catalog
    channels: tuple[int, ...] = ()  # empty: every channel
    blocked_words: tuple[str, ...] = field(default=())
    timezone: str = DEFAULT_TIMEZONE  # IANA name; quota periods start at its midnight
    admin_role_id: int | None = None  # a role that may run admin commands, besides Manage Server
    watermark: bool = False  # the AI-generated mark, on models that take it


class GuildSettingsService:
    # Rows changed up to this long before the newest one seen are read again at each
    # refresh: writers on other machines may have clocks that lag a little.
    CLOCK_MARGIN = 60.0

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._cache: dict[int, GuildSettings] = {}
        self._newest = 0.0  # updated_at of the newest row read
        self._refresher: asyncio.Task[None] | None = None

    async def load_all(self) -> int:
        """Read every server's settings into memory, so checks before deferring need no I/O."""
        return await self._load(since=None)

    async def refresh(self) -> int:
        """Read again the settings changed since the last read (by any process)."""
        return await self._load(since=self._newest - self.CLOCK_MARGIN)

    def start_refreshing(self, interval: float = 5.0) -> None:
        """Keep the cache current in a fleet: an admin's change made through another
        process reaches this one within `interval` seconds."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.refresh()
                except Exception:
                    log.exception("could not refresh server settings; will try again")

        if self._refresher is None:
            self._refresher = asyncio.create_task(loop(), name="guild-settings-refresh")

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None

    async def _load(self, *, since: float | None) -> int:
        rows = await self._db.read(lambda conn: repository.load(conn, since=since))
        for values, updated_at in rows:
            settings = GuildSettings(**values)
            self._cache[settings.guild_id] = settings
            self._newest = max(self._newest, updated_at)
        return len(rows)

    def cached(self, guild_id: int) -> GuildSettings:
        """The settings without I/O (valid after `load_all`; defaults for unknown servers)."""
        return self._cache.get(guild_id) or GuildSettings(guild_id)

    async def get(self, guild_id: int) -> GuildSettings:
        """The settings as stored now (read again, and cached)."""
        row = await self._db.read(lambda conn: repository.load_one(conn, guild_id))
        settings = GuildSettings(guild_id) if row is None else GuildSettings(**row)
        self._cache[guild_id] = settings
        return settings

    async def update(self, guild_id: int, actor_id: int, **changes: object) -> GuildSettings:
        """Change some settings (only those named: a concurrent change of another setting,
        from another process, is kept); returns the new settings."""

        async def put(conn: Transaction) -> None:
            await repository.upsert(conn, guild_id, changes, actor_id=actor_id, now=self._clock())

        await self._db.write(put)
        return await self.get(guild_id)

    async def set_timezone(self, guild_id: int, *, actor_id: int, timezone: str) -> str:
        """Set the time zone quota periods follow; returns its canonical IANA name. Audited."""
        name = parse_timezone(timezone).key
        await self._audited(guild_id, actor_id, "set-timezone", "timezone", name)
        return name

    async def set_admin_role(self, guild_id: int, *, actor_id: int, role_id: int | None) -> None:
        """Let a role run admin commands (None: only Manage Server). Audited."""
        await self._audited(guild_id, actor_id, "set-admin-role", "admin_role_id", role_id)

    async def _audited(
        self, guild_id: int, actor_id: int, action: str, column: str, value: object
    ) -> None:
        now = self._clock()

        async def change(conn: Transaction) -> None:
            before = await repository.load_one(conn, guild_id)
            old = before[column] if before is not None else getattr(GuildSettings(guild_id), column)
            await repository.upsert(conn, guild_id, {column: value}, actor_id=actor_id, now=now)
            await write_audit(
                conn, guild_id=guild_id, actor_id=actor_id, action=action,
                target=f"guild:{guild_id}", before={column: old}, after={column: value}, now=now,
            )  # fmt: skip

        await self._db.write(change)
        await self.get(guild_id)
