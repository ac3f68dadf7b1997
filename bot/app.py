"""The composition root: settings → catalog → database → HTTP session → services → bot.

Opens every long-lived resource in order and closes it in reverse; bot/wiring.py builds
the services from them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

import aiohttp
import discord.gateway
import discord.http
import yarl

from bot.bot import ImagineBot, Services
from bot.catalog.spec import Catalog
from bot.media.netguard import guarded_session
from bot.ops.http import OpsServer
from bot.ops.metrics import Metrics
from bot.ops.readiness import database_problems, gateway_problems
from bot.settings import Settings
from bot.storage import Database, migrate, open_database
from bot.wiring import build_services

log = logging.getLogger(__name__)

USER_AGENT = "imagine-bot (+https://github.com/imagine-bot)"


def apply_discord_endpoints(settings: Settings) -> None:
    """Point discord.py at the configured REST base and gateway (proxies, tests).

    discord.py reads these class attributes when it builds each route and dials the
    gateway, so they must be set before the client makes its first request.
    """
    discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class Application:
    """Owns every long-lived resource; `async with` opens and closes them in order."""

    def __init__(self, settings: Settings, *, guild_ready_timeout: float = 2.0) -> None:
        self.settings = settings
        self._guild_ready_timeout = guild_ready_timeout
        self.db: Database | None = None
        self.http: aiohttp.ClientSession | None = None
        self.bot: ImagineBot | None = None
        self.catalog = Catalog([])
        self._bot_task: asyncio.Task[None] | None = None
        self.metrics = Metrics()
        self.ops: OpsServer | None = None

    async def __aenter__(self) -> Application:
        # First, so a bad operator catalog stops the start before anything is opened.
        self.catalog = Catalog.load_with_override(self.settings.model_catalog_path)
        apply_discord_endpoints(self.settings)
        self.db = await open_database(self.settings.database_url)
        try:
            await migrate(self.db)
        except BaseException:
            await self.db.close()  # a refused schema: close before the error is reported
            self.db = None
            raise
        # Every connection (GeekAI, result downloads) refuses non-public addresses except
        # the configured origins (SSRF guard, bot/netguard.py).
        self.http = guarded_session(
            [self.settings.geekai_base_url, self.settings.discord_api_base],
            headers={"User-Agent": USER_AGENT},
        )
        self.bot = ImagineBot(
            services_factory=self._build_services,
            dev_guild_id=self.settings.dev_guild_id,
            guild_ready_timeout=self._guild_ready_timeout,
            shard_count=self.settings.shard_count,
            shard_ids=self.settings.shard_ids,
        )
        if self.settings.http_port is not None:
            self.ops = OpsServer(
                host=self.settings.http_host,
                port=self.settings.http_port,
                metrics=self.metrics,
                readiness=self.readiness,
            )
            await self.ops.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def services(self) -> Services:
        """The services of the open application (bot/wiring.py builds them)."""
        if self.bot is None:
            raise RuntimeError("the application is not open")
        return self.bot.services

    def _build_services(self, bot: ImagineBot) -> Services:
        assert self.db is not None and self.http is not None
        return build_services(
            self.settings, db=self.db, http=self.http, catalog=self.catalog,
            metrics=self.metrics, bot=bot,
        )  # fmt: skip

    async def readiness(self) -> list[str]:
        """Why this process cannot serve now (empty: ready); what /readyz answers."""
        return gateway_problems(self.bot) + await database_problems(self._ping_database, 2.0)

    async def _ping_database(self) -> None:
        if self.db is None:
            raise RuntimeError("the database is closed")
        await self.db.fetchone("SELECT 1")

    async def start(self) -> None:
        """Log in and connect in the background; returns once setup is done."""
        assert self.bot is not None
        await self.bot.login(self.settings.discord_token.get_secret_value())
        self._bot_task = asyncio.create_task(self.bot.connect(reconnect=True), name="gateway")

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set or the gateway connection ends for good."""
        await self.start()
        assert self._bot_task is not None
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({self._bot_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if self._bot_task in done:
            self._bot_task.result()  # re-raise a fatal gateway error (e.g. bad token)

    async def close(self) -> None:
        """Stop taking work, interrupt jobs (they stay resumable), then close resources."""
        if self.ops is not None:
            await self.ops.close()
            self.ops = None
        if self.bot is not None:
            services = self.bot.services
            await services.scheduler.close()
            await services.guild_settings.close()
            await services.messenger.close()
        if self.bot is not None and not self.bot.is_closed():
            await self.bot.close()
        if self._bot_task is not None:
            self._bot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._bot_task
        if self.http is not None:
            await self.http.close()
        if self.db is not None:
            await self.db.close()
        self.db = self.http = None
