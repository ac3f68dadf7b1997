"""/settings: per-server settings for admins (rights checked in code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.access import ensure_admin
from bot.errors import UserFacingError
from bot.guild_settings import REROLL_POLICIES, GuildSettingsRepository
from bot.i18n import t
from bot.quota import QuotaService

if TYPE_CHECKING:
    from bot.client import ImagineBot


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsAdmin(commands.GroupCog, group_name="settings", description="Server settings"):
    def __init__(self, quota: QuotaService, settings: GuildSettingsRepository) -> None:
        self.quota = quota
        self.settings = settings
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            await ensure_admin(interaction, self.quota)
        except UserFacingError as exc:
            raise app_commands.CheckFailure(exc.key) from exc
        return True

    @app_commands.command(name="timezone", description="Time zone for quota periods")
    @app_commands.describe(tz="IANA time zone, e.g. Asia/Shanghai")
    async def timezone(self, interaction: discord.Interaction, tz: str) -> None:
        assert interaction.guild_id is not None
        name = await self.quota.set_timezone(
            interaction.guild_id, actor_id=interaction.user.id, timezone=tz
        )
        text = t(str(interaction.locale), "quota.confirm.timezone", timezone=name)
        await interaction.followup.send(text, ephemeral=True)


    @app_commands.command(name="reroll-policy", description="Who may reroll a result")
    @app_commands.describe(policy="requester (default) or anyone")
    @app_commands.choices(
        policy=[app_commands.Choice(name=p, value=p) for p in REROLL_POLICIES]
    )
    async def reroll_policy(self, interaction: discord.Interaction, policy: str) -> None:
        assert interaction.guild_id is not None
        if policy not in REROLL_POLICIES:
            allowed = ", ".join(REROLL_POLICIES)
            raise UserFacingError("settings.error.bad_reroll_policy", allowed=allowed)
        await self.settings.update(interaction.guild_id, interaction.user.id, reroll_policy=policy)
        text = t(str(interaction.locale), f"settings.confirm.reroll_{policy}")
        await interaction.followup.send(text, ephemeral=True)


async def setup(bot: ImagineBot) -> None:
    assert bot.services is not None
    await bot.add_cog(SettingsAdmin(bot.services.imagine.quota, bot.services.guild_settings))
