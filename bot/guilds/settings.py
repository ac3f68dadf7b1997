"""Per-server settings (reroll policy, models, channels, blocked words): SQL and defaults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.storage import Database, Transaction

ReRollPolicy = Literal["requester", "anyone"]
log = logging.getLogger(__name__)

REROLL_POLICIES: tuple[ReRollPolicy, ...] = ("requester", "anyone")


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    reroll_policy: ReRollPolicy = "requester"
    default_model: str | None = None
    allowed_models: tuple[str, ...] = ()  # empty: every model in the catalog
    channels: tuple[int, ...] = ()  # empty: every channel
    blocked_words: tuple[str, ...] = field(default=())


class GuildSettingsRepository:
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
        sql = (
            "SELECT guild_id, reroll_policy, default_model, allowed_models, channels,"
            " blocked_words, updated_at FROM guild_settings"
        )
        rows = await (
            self._db.fetchall(sql + " WHERE updated_at >= ?", (since,))
            if since is not None
            else self._db.fetchall(sql)
        )
        for row in rows:
            self._cache[int(row[0])] = _settings(int(row[0]), [row[i] for i in range(1, 6)])
            self._newest = max(self._newest, float(row[6]))
        return len(rows)

    def cached(self, guild_id: int) -> GuildSettings:
        """The settings without I/O (valid after `load_all`; defaults for unknown servers)."""
        return self._cache.get(guild_id) or GuildSettings(guild_id)

    async def get(self, guild_id: int) -> GuildSettings:
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        row = await self._db.fetchone(
            "SELECT reroll_policy, default_model, allowed_models, channels, blocked_words"
            " FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        settings = (
            GuildSettings(guild_id)
            if row is None
            else _settings(guild_id, [row[i] for i in range(5)])
        )
        self._cache[guild_id] = settings
        return settings

    async def update(self, guild_id: int, actor_id: int, **changes: Any) -> GuildSettings:
        """Change some settings; returns the new settings."""
        current = await self.get(guild_id)
        values = {
            "reroll_policy": current.reroll_policy,
            "default_model": current.default_model,
            "allowed_models": json.dumps(list(current.allowed_models)),
            "channels": json.dumps(list(current.channels)),
            "blocked_words": json.dumps(list(current.blocked_words), ensure_ascii=False),
        }
        for key, value in changes.items():
            if key not in values:
                raise ValueError(f"unknown guild setting {key}")
            values[key] = (
                value
                if isinstance(value, str | None)
                else json.dumps(list(value), ensure_ascii=False)
            )

        async def put(conn: Transaction) -> None:
            await conn.execute(
                "INSERT INTO guild_settings (guild_id, reroll_policy, default_model,"
                " allowed_models, channels, blocked_words, updated_at, updated_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET reroll_policy = excluded.reroll_policy,"
                " default_model = excluded.default_model,"
                " allowed_models = excluded.allowed_models, channels = excluded.channels,"
                " blocked_words = excluded.blocked_words, updated_at = excluded.updated_at,"
                " updated_by = excluded.updated_by",
                (
                    guild_id, values["reroll_policy"], values["default_model"],
                    values["allowed_models"], values["channels"], values["blocked_words"],
                    self._clock(), actor_id,
                ),
            )  # fmt: skip

        await self._db.write(put)
        self._cache.pop(guild_id, None)
        return await self.get(guild_id)


def _settings(guild_id: int, row: Sequence[Any]) -> GuildSettings:
    """(reroll_policy, default_model, allowed_models, channels, blocked_words) → settings."""
    return GuildSettings(
        guild_id,
        reroll_policy=row[0],
        default_model=row[1],
        allowed_models=tuple(json.loads(row[2])),
        channels=tuple(int(c) for c in json.loads(row[3])),
        blocked_words=tuple(json.loads(row[4])),
    )
