"""The composition root: settings → HTTP session → database → API client → bot, injected."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bot.bot import ImagineBot, Services
from bot.catalog.spec import Catalog
from bot.geekai import GeekAIClient
from bot.guilds.settings import GuildSettingsRepository
from bot.jobs.intake import ImagineService, IntakeExtras
from bot.jobs.polling import ScheduleBook
from bot.jobs.references import ReferenceImages
from bot.jobs.repository import JobRepository, StateRepository
from bot.jobs.results import ResultsService
from bot.jobs.runner import JobRunner, RunnerConfig
from bot.jobs.scheduler import JobScheduler, QueueLimits, new_owner_id
from bot.media.netguard import guarded_session
from bot.ops.alerts import OperatorAlerts
from bot.ops.http import OpsServer
from bot.ops.metrics import Metrics
from bot.ops.readiness import database_problems, gateway_problems
from bot.quota import Ceilings, Policy, QuotaService
from bot.settings import Settings
from bot.storage import Database, migrate, open_database
from bot.ui.messenger import Messenger

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
        self.scheduler: JobScheduler | None = None
        self.guild_settings: GuildSettingsRepository | None = None
        self.runner: JobRunner | None = None
        self.repo: JobRepository | None = None
        self.messenger: Messenger | None = None
        self.quota: QuotaService | None = None
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

    def _build_services(self, bot: ImagineBot) -> Services:
        assert self.db is not None and self.http is not None
        s = self.settings
        owner = new_owner_id()
        self.repo = JobRepository(self.db)
        self.messenger = messenger = Messenger(
            bot,
            token_ttl=s.interaction_token_ttl,
            edit_interval=s.status_edit_interval,
            on_message_id=self.repo.set_message,
            final_webhook_budget=s.delivery_webhook_budget,
        )
        client = GeekAIClient(
            self.http,
            base_url=s.geekai_base_url,
            api_key=s.geekai_api_key.get_secret_value(),
            request_timeout=s.geekai_request_timeout,
            max_attempts=s.geekai_max_attempts,
            on_request=self.metrics.geekai_request,
            max_body_bytes=s.geekai_max_json_bytes,
            max_image_bytes=s.max_download_bytes,
        )
        self.quota = quota = QuotaService(
            self.db,
            global_default=Policy.from_input(s.quota_default_credits, s.quota_default_period),
            owner_ids=s.owner_ids,
            ceilings=Ceilings(
                user_daily=s.user_daily_credits_max, guild_daily=s.guild_daily_credits_max
            ),
        )
        send = None
        if s.operator_channel_id is not None:
            channel = bot.get_partial_messageable(s.operator_channel_id)

            async def send(text: str) -> None:
                await channel.send(text, allowed_mentions=discord.AllowedMentions.none())

        references = ReferenceImages(self.db, self.http, max_bytes=s.max_input_image_bytes)
        self.runner = runner = JobRunner(
            references=references,
            catalog=self.catalog,
            alerts=OperatorAlerts(send),
            db=self.db,
            repo=self.repo,
            quota=quota,
            client=client,
            messenger=messenger,
            http=self.http,
            config=RunnerConfig(
                job_timeout=s.job_timeout_seconds,
                max_download_bytes=s.max_download_bytes,
                schedules=ScheduleBook(self.repo.recent_durations),
                max_parallel_deliveries=s.max_parallel_deliveries,
                owner=owner,
            ),
            metrics=self.metrics,
        )
        limits = QueueLimits(
            max_running=s.max_running_jobs,
            max_running_per_user=s.max_running_per_user,
            max_queued_per_user=s.max_queued_per_user,
            max_queued=s.max_queued_jobs,
            max_running_per_guild=s.max_running_per_guild,
            max_queued_per_guild=s.max_queued_per_guild,
        )
        self.scheduler = JobScheduler(
            runner.run,
            db=self.db,
            limits=limits,
            owner=owner,
            lease_seconds=s.lease_seconds,
            cooldown=s.user_cooldown_seconds,
            exempt=quota.is_owner,
            on_positions=lambda p: imagine.update_positions(p),
        )
        self.metrics.watch_scheduler(self.scheduler)
        imagine = ImagineService(
            db=self.db,
            repo=self.repo,
            quota=quota,
            catalog=self.catalog,
            scheduler=self.scheduler,
            messenger=messenger,
            default_model=s.default_model,
            max_prompt_length=s.max_prompt_length,
            allow_dms=s.allow_dm_imagine,
            max_image_bytes=s.max_input_image_bytes,
            extras=IntakeExtras.from_settings(s, StateRepository(self.db)),
            guild_allowlist=s.guild_allowlist,
            references=references,
            alone=s.is_sqlite,
        )
        self.guild_settings = guild_settings = GuildSettingsRepository(self.db)
        results = ResultsService(
            imagine=imagine, guild_settings=guild_settings, metrics=self.metrics
        )
        return Services(
            imagine=imagine,
            results=results,
            guild_settings=guild_settings,
            state=StateRepository(self.db),
            owner_ids=s.owner_ids,
            metrics=self.metrics,
        )

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
        if self.scheduler is not None:
            await self.scheduler.close()
        if self.guild_settings is not None:
            await self.guild_settings.close()
        if self.messenger is not None:
            await self.messenger.close()
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
