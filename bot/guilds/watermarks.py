"""Per-server watermark switch (`/settings watermark`), kept in the bot's key/value state.

Stored as `guild_watermark:<guild id>` in `bot_state` rather than as a `guild_settings`
column, so it needs no migration while that table moves to the new storage layer.
"""

from __future__ import annotations

from typing import Protocol


class KeyValueStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...


class GuildWatermarks:
    def __init__(self, store: KeyValueStore) -> None:
        # No cache: one indexed read per job, and an admin's change reaches every process
        # of a fleet at once.
        self._store = store

    @staticmethod
    def _key(guild_id: int) -> str:
        return f"guild_watermark:{guild_id}"

    async def get(self, guild_id: int) -> bool:
        """Whether the server wants the AI-generated mark (off unless turned on)."""
        return await self._store.get(self._key(guild_id)) == "1"

    async def set(self, guild_id: int, on: bool) -> None:
        await self._store.put(self._key(guild_id), "1" if on else "0")
