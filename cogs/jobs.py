"""/jobs: my running and queued jobs, with a cancel button each (refunded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n.lookup import t
from bot.jobs.models import Job
from bot.jobs.repository import JobRepository
from bot.ui.components import cancel_buttons

if TYPE_CHECKING:
    from bot.bot import ImagineBot

JOB_LINK = "https://discord.com/channels/{guild}/{channel}/{message}"


def jobs_text(locale: str, jobs: list[Job]) -> str:
    if not jobs:
        return t(locale, "jobs.none")
    lines = [t(locale, "jobs.header")]
    for job in jobs:
        link = ""
        if job.message_id is not None and job.target.guild_id is not None:
            link = " · " + JOB_LINK.format(
                guild=job.target.guild_id, channel=job.target.channel_id, message=job.message_id
            )
        state = t(locale, f"jobs.state.{job.state.value}")
        prompt = job.params.prompt if len(job.params.prompt) <= 60 else job.params.prompt[:59] + "…"
        lines.append(f"#{job.id} {state} — {prompt}{link}")
    return "\n".join(lines)


class JobsCog(commands.Cog):
    def __init__(self, repo: JobRepository) -> None:
        self.repo = repo

    @app_commands.command(name="jobs", description="Your running and queued jobs")
    async def jobs(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        jobs = await self.repo.unfinished_for(interaction.user.id)
        view = cancel_buttons([job.id for job in jobs])  # clicks: cogs/results.py
        text = jobs_text(str(interaction.locale), jobs)
        await interaction.followup.send(
            text[:2000], view=view, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(JobsCog(bot.services.jobs))
