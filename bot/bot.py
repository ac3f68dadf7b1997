"""The discord.py bot: wiring of services, extensions, command sync and job resumption."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import discord
from discord.ext import commands

from bot.guilds.settings import GuildSettingsRepository
from bot.jobs.intake import ImagineService
from bot.jobs.repository import StateRepository
from bot.jobs.results import ResultsService
from bot.ops.metrics import Metrics
from bot.tree import ImagineTree
from bot.ui.translator import ImagineTranslator

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.imagine",
    "cogs.quota",
    "cogs.settings",
    "cogs.results",
    "cogs.jobs",
    "cogs.vary",
)
SYNC_HASH_KEY = "command_tree_hash"


@dataclass
class Services:
    """What the cogs may use; built once by the composition root."""

    imagine: ImagineService
    results: ResultsService
    guild_settings: GuildSettingsRepository
    state: StateRepository
    owner_ids: frozenset[int]
    metrics: Metrics = field(default_factory=Metrics)


class ImagineBot(commands.AutoShardedBot):
    def __init__(
        self,
        *,
        services_factory: Callable[[ImagineBot], Services],
        dev_guild_id: int | None,
        guild_ready_timeout: float = 2.0,
        shard_count: int = 1,
        shard_ids: tuple[int, ...] | None = None,
    ) -> None:
        """`shard_ids`: the shards of `shard_count` this process runs (None: all of them)."""
        intents = discord.Intents.default()  # reactions included; no privileged intents
        # No message events, no message cache: nothing reads messages (the 🔄 reroll uses raw
        # reaction events; button clicks are interactions that carry their message).
        intents.messages = False  # guild_messages and dm_messages
        # A voice-less bot: don't warn operators about voice libraries it never needs.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            max_messages=None,
            tree_cls=ImagineTree,
            help_command=None,
            max_ratelimit_timeout=30.0,
            guild_ready_timeout=guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=shard_count,
            shard_ids=list(shard_ids if shard_ids is not None else range(shard_count)),
        )
        self._services_factory = services_factory
        self._dev_guild_id = dev_guild_id
        self.services: Services | None = None

    async def setup_hook(self) -> None:
        self.services = self._services_factory(self)
        await self.tree.set_translator(ImagineTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.services.guild_settings.load_all()
        self.services.guild_settings.start_refreshing()
        resumed = await self.services.imagine.resume_unfinished()
        if resumed:
            log.info("resumed %s unfinished job(s)", resumed)
        await self._sync_commands()

    async def _sync_commands(self) -> None:
        assert self.services is not None
        if self._dev_guild_id is not None:
            guild = discord.Object(id=self._dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            log.info("synced commands to development guild %s", self._dev_guild_id)
            return
        translator = self.tree.translator
        assert translator is not None
        # The hash covers translations too, so a new localization triggers a sync.
        payload = [
            await cmd.get_translated_payload(self.tree, translator)
            for cmd in self.tree.get_commands()
        ]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        if await self.services.state.get(SYNC_HASH_KEY) == digest:
            log.info("command tree unchanged; not syncing")
            return
        await self.tree.sync()
        await self.services.state.put(SYNC_HASH_KEY, digest)
        log.info("synced %s global command(s)", len(payload))

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("ready as %s (%s) in %s guild(s)", self.user, self.user.id, len(self.guilds))
