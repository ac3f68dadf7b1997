"""/imagine: validate, defer, hand the request to the job service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.models import DiscordTarget
from bot.service import ImagineService

if TYPE_CHECKING:
    from bot.client import ImagineBot

PROMPT_MAX = 4000


class ImagineCog(commands.Cog):
    def __init__(self, service: ImagineService) -> None:
        self.service = service

    @app_commands.command(name="imagine", description="Generate images from a text prompt")
    @app_commands.describe(
        prompt="What to draw",
        model="Image model (default: the server's default)",
        size="Image size, e.g. 1024x1024",
        n="How many images",
        negative_prompt="What to keep out of the image",
    )
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        model: str | None = None,
        size: str | None = None,
        n: app_commands.Range[int, 1, 10] = 1,
        negative_prompt: str | None = None,
    ) -> None:
        # Pure checks first: a bad request gets an ephemeral answer and costs nothing.
        if interaction.guild_id is None and not self.service.allow_dms:
            raise UserFacingError("error.dm_disabled")
        params = self.service.validate(
            prompt=prompt, model=model, size=size, n=n, negative_prompt=negative_prompt
        )
        self.service.check_cooldown(interaction.user.id)
        self.service.scheduler.check_room(interaction.user.id)
        await interaction.response.defer(thinking=True)
        target = DiscordTarget(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id or 0,
            user_id=interaction.user.id,
            locale=str(interaction.locale),
            application_id=interaction.application_id,
            interaction_id=interaction.id,
            interaction_token=interaction.token,
            interaction_created_at=interaction.created_at.timestamp(),
            upload_limit=interaction.filesize_limit,
        )
        roles = getattr(interaction.user, "roles", [])
        await self.service.start_job(target, params, role_ids=[role.id for role in roles])

    @imagine.autocomplete("model")
    async def _model_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.lower()
        return [
            app_commands.Choice(name=spec.label, value=spec.id)
            for spec in self.service.catalog.models
            if needle in spec.id.lower() or needle in spec.label.lower()
        ][:25]

    @imagine.autocomplete("size")
    async def _size_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        model_id = getattr(interaction.namespace, "model", None) or self.service.default_model
        spec = self.service.catalog.get(model_id)
        sizes = spec.sizes if spec else []
        return [app_commands.Choice(name=s, value=s) for s in sizes if current in s][:25]


async def setup(bot: ImagineBot) -> None:
    assert bot.services is not None
    await bot.add_cog(ImagineCog(bot.services.imagine))
