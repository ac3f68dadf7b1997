"""/jobs: my running and queued jobs, with a cancel button each (refunded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.jobs.repository import JobRepository
from bot.ui.components import cancel_buttons
from bot.ui.listings import jobs_text

if TYPE_CHECKING:
    from bot.bot import ImagineBot


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
