"""Shared factories for the fast unit tier: jobs, targets, server settings and an intake
whose checks run without a database (its start is covered by tests/jobs/test_intake_start.py
on a real SQLite file, and end to end by tests/e2e)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, cast

from bot.catalog.spec import Catalog
from bot.catalog.validation import ImageInput
from bot.guilds.settings import GuildSettings, GuildSettingsService
from bot.jobs.intake import Intake, IntakeRules
from bot.jobs.models import DiscordTarget, Job, JobParams, JobState
from bot.quota import Policy, QuotaService

CATALOG = Catalog.load()
GUILD_ID = 1_000
CHANNEL_ID = 2_000
USER_ID = 3_000
_UNUSED = cast(Any, None)  # a dependency the code under test never reaches


def target(**changes: Any) -> DiscordTarget:
    values: dict[str, Any] = {
        "guild_id": GUILD_ID, "channel_id": CHANNEL_ID, "user_id": USER_ID, "locale": "en-US",
        "application_id": 1, "interaction_id": 2, "interaction_token": "token",
        "interaction_created_at": time.time(), "upload_limit": 10 * 1024 * 1024,
    }  # fmt: skip
    values.update(changes)
    return DiscordTarget(**values)


def params(**changes: Any) -> JobParams:
    return JobParams(**{"prompt": "a red fox", "model": "gpt-image-1", **changes})


def job(
    *,
    job_id: int = 1,
    state: JobState = JobState.SUCCEEDED,
    where: DiscordTarget | None = None,
    **param_changes: Any,
) -> Job:
    now = time.time()
    return Job(
        id=job_id, target=where or target(), message_id=10_000 + job_id,
        params=params(**param_changes), state=state, task_id="task-1", error_code=None,
        error_message=None, images_delivered=1, submit_attempts=1, parent_job_id=None,
        created_at=now - 30, updated_at=now, submitted_at=now - 29, started_at=now - 28,
        finished_at=now if state is JobState.SUCCEEDED else None,
    )  # fmt: skip


def guild(**changes: Any) -> GuildSettings:
    return GuildSettings(**{"guild_id": GUILD_ID, **changes})


class StaticGuilds:
    """Server settings held in memory, as GuildSettingsService.cached answers them."""

    def __init__(self, settings: Iterable[GuildSettings] = ()) -> None:
        self._by_id = {s.guild_id: s for s in settings}

    def cached(self, guild_id: int) -> GuildSettings:
        return self._by_id.get(guild_id) or GuildSettings(guild_id)


def make_intake(
    *,
    guilds: Iterable[GuildSettings] = (),
    owners: frozenset[int] = frozenset(),
    rules: IntakeRules | None = None,
    catalog: Catalog = CATALOG,
) -> Intake:
    """An intake for `check` (no I/O): its start-side dependencies are left out."""
    quota = QuotaService(_UNUSED, global_default=Policy.unlimited(), owner_ids=owners)
    return Intake(
        db=_UNUSED, jobs=_UNUSED, quota=quota, catalog=catalog, scheduler=_UNUSED,
        positions=_UNUSED, guilds=cast(GuildSettingsService, StaticGuilds(guilds)),
        references=_UNUSED,
        rules=rules or IntakeRules(default_model="gpt-image-1", allow_dms=True),
    )  # fmt: skip


def image_input(url: str = "https://cdn.discordapp.com/attachments/1/2/cat.png") -> ImageInput:
    return ImageInput("cat.png", "image/png", 2048, url)
