"""Is this process ready to serve? The gateway on every shard, and the database."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

import discord


def gateway_problems(bot: discord.Client | None) -> list[str]:
    """Why the gateway is not usable now; empty when every shard is connected.

    Works for `Bot` (one websocket) and `AutoShardedBot` (one per shard of this process).
    """
    if bot is None:
        return ["the bot is not started yet"]
    if bot.is_closed():
        return ["the Discord client is closed"]
    if not bot.is_ready():
        return ["the gateway has not sent READY yet"]
    if isinstance(bot, discord.AutoShardedClient):
        return [
            f"gateway: shard {shard_id} is disconnected"
            for shard_id, shard in sorted(bot.shards.items())
            if shard.is_closed() or not math.isfinite(shard.latency)
        ]
    ws = bot.ws
    if ws is None or not ws.open or not math.isfinite(bot.latency):
        return ["the gateway connection is down (reconnecting)"]
    return []


async def database_problems(ping: Callable[[], Awaitable[object]], limit: float) -> list[str]:
    """Run one trivial query; a failure or a slow answer is the reason."""
    try:
        await asyncio.wait_for(ping(), limit)
    except TimeoutError:
        return [f"the database did not answer within {limit:g}s"]
    except Exception as exc:  # any failure means not ready; the reason is what matters
        return [f"the database does not answer: {type(exc).__name__}: {exc}"]
    return []
