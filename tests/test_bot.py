"""bot.bot: what the bot asks Discord for."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from bot.bot import ImagineBot, Services
from bot.ops.metrics import Metrics


def no_services(bot: ImagineBot) -> Services:
    # These tests only read what the bot asks Discord for; the tree counts into metrics.
    return cast(Services, SimpleNamespace(metrics=Metrics()))


def test_no_message_events_and_no_message_cache_but_reactions() -> None:
    # Nothing reads messages: 🔄 rerolls are raw reaction events, clicks are interactions.
    bot = ImagineBot(services_factory=no_services, dev_guild_id=None)
    intents = bot.intents
    assert not intents.guild_messages and not intents.dm_messages
    assert bot._connection.max_messages is None  # discord.py keeps no message cache
    assert intents.guild_reactions and intents.guilds  # the reroll; channels and permissions
    assert not (intents.message_content or intents.members or intents.presences)  # privileged
