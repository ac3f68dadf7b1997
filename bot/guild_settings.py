"""Per-server settings (reroll policy, models, channels, blocked words): SQL and defaults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.storage import Database, Transaction

ReRollPolicy = Literal["requester", "anyone"]
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
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._cache: dict[int, GuildSettings] = {}
        self._loaded = False

    async def load_all(self) -> int:
        """Read every server's settings into memory, so checks before deferring need no I/O."""
        ids = [row[0] for row in await self._db.fetchall("SELECT guild_id FROM guild_settings")]
        for guild_id in ids:
            self._cache.pop(guild_id, None)
            await self.get(guild_id)
        self._loaded = True
        return len(ids)

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
        settings = GuildSettings(guild_id)
        if row is not None:
            settings = GuildSettings(
                guild_id,
                reroll_policy=row[0],
                default_model=row[1],
                allowed_models=tuple(json.loads(row[2])),
                channels=tuple(int(c) for c in json.loads(row[3])),
                blocked_words=tuple(json.loads(row[4])),
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
