"""The discord.py bot: its services, extensions, command sync and job resumption at start."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import discord
from discord.ext import commands

from bot.catalog.spec import Catalog
from bot.guilds.settings import GuildSettingsService
from bot.jobs.intake import Intake
from bot.jobs.repository import JobRepository, StateRepository
from bot.jobs.results import ResultsService
from bot.jobs.resume import resume_unfinished
from bot.jobs.runner import JobRunner
from bot.jobs.scheduler import JobScheduler
from bot.jobs.variations import VaryService
from bot.ops.metrics import Metrics
from bot.quota import QuotaService
from bot.ui.messenger import Messenger
from bot.ui.positions import QueuePositions
from bot.ui.translator import ImagineTranslator
from bot.ui.tree import ImagineTree

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


@dataclass(frozen=True)
class Services:
    """Everything the bot and its cogs use, built once by the composition root
    (bot/wiring.py) before the bot connects."""

    intake: Intake
    results: ResultsService
    vary: VaryService
    jobs: JobRepository
    state: StateRepository
    quota: QuotaService
    scheduler: JobScheduler
    runner: JobRunner
    messenger: Messenger
    positions: QueuePositions
    guild_settings: GuildSettingsService
    catalog: Catalog
    metrics: Metrics


def services_of(interaction: discord.Interaction) -> Services:
    """The services of the bot an interaction reached (buttons and modals, which discord.py
    builds itself, find them here)."""
    client = interaction.client
    if not isinstance(client, ImagineBot):
        raise TypeError(f"not an ImagineBot: {type(client).__name__}")
    return client.services


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
        self._dev_guild_id = dev_guild_id
        # Built now, before the bot connects: the messenger needs this client for REST.
        self.services: Services = services_factory(self)
        if isinstance(self.tree, ImagineTree):
            self.tree.metrics = self.services.metrics

    async def setup_hook(self) -> None:
        services = self.services
        await self.tree.set_translator(ImagineTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await services.guild_settings.load_all()
        services.guild_settings.start_refreshing()
        resumed = await resume_unfinished(
            quota=services.quota, jobs=services.jobs, scheduler=services.scheduler,
            positions=services.positions,
        )  # fmt: skip
        if resumed:
            log.info("resumed %s unfinished job(s)", resumed)
        await self._sync_commands()

    async def _sync_commands(self) -> None:
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
