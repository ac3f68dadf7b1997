"""Builds the services from the settings and the open resources, in dependency order.

storage → GeekAI client → quota → messenger → runner → scheduler → intake → results, vary.
Nothing here does I/O; `Application` (bot/app.py) opens the resources and closes them.
"""

from __future__ import annotations

import aiohttp
import discord

from bot.bot import ImagineBot, Services
from bot.catalog.spec import Catalog
from bot.geekai import GeekAIClient
from bot.guilds.settings import GuildSettingsService
from bot.jobs.intake import Intake, IntakeRules
from bot.jobs.polling.book import ScheduleBook
from bot.jobs.references import ReferenceImages
from bot.jobs.repository import JobRepository, StateRepository
from bot.jobs.results import ResultsService
from bot.jobs.runner import JobRunner, RunnerConfig
from bot.jobs.scheduler import JobScheduler, QueueLimits, new_owner_id
from bot.jobs.variations import VaryService
from bot.ops.alerts import OperatorAlerts, Sender
from bot.ops.metrics import Metrics
from bot.quota import Ceilings, Policy, QuotaService
from bot.settings import Settings
from bot.storage import Database
from bot.ui.messenger import Messenger
from bot.ui.positions import QueuePositions


def geekai_client(s: Settings, http: aiohttp.ClientSession, metrics: Metrics) -> GeekAIClient:
    return GeekAIClient(
        http,
        base_url=s.geekai_base_url,
        api_key=s.geekai_api_key.get_secret_value(),
        request_timeout=s.geekai_request_timeout,
        max_attempts=s.geekai_max_attempts,
        on_request=metrics.geekai_request,
        max_body_bytes=s.geekai_max_json_bytes,
        max_image_bytes=s.max_download_bytes,
    )


def quota_service(s: Settings, db: Database) -> QuotaService:
    return QuotaService(
        db,
        global_default=Policy.from_input(s.quota_default_credits, s.quota_default_period),
        owner_ids=s.owner_ids,
        ceilings=Ceilings(
            user_daily=s.user_daily_credits_max, guild_daily=s.guild_daily_credits_max
        ),
    )


def operator_channel(s: Settings, bot: ImagineBot) -> Sender | None:
    """Where alerts only the operator can act on go (OPERATOR_CHANNEL_ID), if set."""
    if s.operator_channel_id is None:
        return None
    channel = bot.get_partial_messageable(s.operator_channel_id)

    async def send(text: str) -> None:
        await channel.send(text, allowed_mentions=discord.AllowedMentions.none())

    return send


def queue_limits(s: Settings) -> QueueLimits:
    return QueueLimits(
        max_running=s.max_running_jobs,
        max_running_per_user=s.max_running_per_user,
        max_queued_per_user=s.max_queued_per_user,
        max_queued=s.max_queued_jobs,
        max_running_per_guild=s.max_running_per_guild,
        max_queued_per_guild=s.max_queued_per_guild,
    )


def intake_rules(s: Settings) -> IntakeRules:
    return IntakeRules(
        default_model=s.default_model,
        max_prompt_length=s.max_prompt_length,
        allow_dms=s.allow_dm_imagine,
        max_image_bytes=s.max_input_image_bytes,
        guild_allowlist=s.guild_allowlist,
        vary_model=s.vary_model,
        task_retries=s.geekai_task_retries,
    )


class _Builder:
    """The services of one process, built step by step (each step one kind of service)."""

    def __init__(
        self, s: Settings, *, db: Database, http: aiohttp.ClientSession, catalog: Catalog,
        metrics: Metrics, bot: ImagineBot,
    ) -> None:  # fmt: skip
        self.s, self.db, self.http, self.catalog, self.metrics = s, db, http, catalog, metrics
        self.bot = bot
        self.owner = new_owner_id()
        self.jobs = JobRepository(db)
        self.quota = quota_service(s, db)
        self.references = ReferenceImages(db, http, max_bytes=s.max_input_image_bytes)
        self.messenger = Messenger(
            bot,
            token_ttl=s.interaction_token_ttl,
            edit_interval=s.status_edit_interval,
            on_message_id=self.jobs.set_message,
            final_webhook_budget=s.delivery_webhook_budget,
        )
        self.positions = QueuePositions(self.messenger, alone=s.is_sqlite)

    def runner(self) -> JobRunner:
        s = self.s
        return JobRunner(
            references=self.references,
            catalog=self.catalog,
            alerts=OperatorAlerts(operator_channel(s, self.bot)),
            db=self.db,
            repo=self.jobs,
            quota=self.quota,
            client=geekai_client(s, self.http, self.metrics),
            messenger=self.messenger,
            http=self.http,
            config=RunnerConfig(
                job_timeout=s.job_timeout_seconds,
                max_download_bytes=s.max_download_bytes,
                schedules=ScheduleBook(self.jobs.recent_durations),
                max_parallel_deliveries=s.max_parallel_deliveries,
                owner=self.owner,
            ),
            metrics=self.metrics,
        )

    def scheduler(self, runner: JobRunner) -> JobScheduler:
        scheduler = JobScheduler(
            runner.run,
            db=self.db,
            limits=queue_limits(self.s),
            owner=self.owner,
            lease_seconds=self.s.lease_seconds,
            cooldown=self.s.user_cooldown_seconds,
            exempt=self.quota.is_owner,
            on_positions=self.positions.update,
        )
        self.metrics.watch_scheduler(scheduler)
        return scheduler

    def services(self) -> Services:
        runner = self.runner()
        scheduler = self.scheduler(runner)
        guilds = GuildSettingsService(self.db)
        intake = Intake(
            db=self.db, jobs=self.jobs, quota=self.quota, catalog=self.catalog,
            scheduler=scheduler, positions=self.positions, guilds=guilds,
            references=self.references, rules=intake_rules(self.s),
        )  # fmt: skip
        results = ResultsService(
            intake=intake, db=self.db, jobs=self.jobs, quota=self.quota, scheduler=scheduler,
            messenger=self.messenger, metrics=self.metrics,
        )  # fmt: skip
        return Services(
            intake=intake, results=results, vary=VaryService(intake), jobs=self.jobs,
            state=StateRepository(self.db), quota=self.quota, scheduler=scheduler, runner=runner,
            messenger=self.messenger, positions=self.positions, guild_settings=guilds,
            catalog=self.catalog, metrics=self.metrics,
        )  # fmt: skip


def build_services(
    s: Settings,
    *,
    db: Database,
    http: aiohttp.ClientSession,
    catalog: Catalog,
    metrics: Metrics,
    bot: ImagineBot,
) -> Services:
    """Every service of this process; `bot` is the client the messenger talks through."""
    return _Builder(s, db=db, http=http, catalog=catalog, metrics=metrics, bot=bot).services()
