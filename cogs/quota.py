"""/quota for members and /quotas for server admins: thin wrappers over QuotaService."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettingsService
from bot.i18n.lookup import t
from bot.jobs.scheduler import JobScheduler
from bot.quota import QuotaService
from bot.quota import texts as qt
from bot.quota.chart import render_usage_chart
from bot.quota.export import pack_export
from bot.quota.types import CreditChange
from bot.ui.access import check_admin, ensure_local_role, ensure_member, role_ids

if TYPE_CHECKING:
    from bot.bot import ImagineBot

PERIODS = [
    app_commands.Choice(name=p, value=p) for p in ("day", "week", "month", "total", "unlimited")
]
NO_MENTIONS = discord.AllowedMentions.none()
EXPORT_PERIODS = [app_commands.Choice(name=p, value=p) for p in ("all", "day", "week", "month")]


def _guild_id(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise UserFacingError("error.guild_only")
    return interaction.guild_id


class QuotaCog(commands.Cog):
    def __init__(self, quota: QuotaService, scheduler: JobScheduler) -> None:
        self.quota = quota
        self.scheduler = scheduler

    @app_commands.command(name="quota", description="Show your credits and jobs")
    @app_commands.guild_only()
    async def quota_command(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        user = interaction.user
        status = await self.quota.status(_guild_id(interaction), user.id, role_ids(user))
        running, queued = await self.scheduler.counts_for(user.id)
        text = qt.status_text(str(interaction.locale), status, running=running, queued=queued)
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class QuotasAdmin(commands.GroupCog, group_name="quotas", description="Manage credit quotas"):
    def __init__(self, quota: QuotaService, guilds: GuildSettingsService) -> None:
        self.quota = quota
        self.guilds = guilds
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await check_admin(interaction, self.quota, self.guilds)

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="set-user", description="Set a member's credits per period")
    @app_commands.describe(user="Member", credits="Credits (0 blocks)", period="Period")
    @app_commands.choices(period=PERIODS)
    async def set_user(
        self, interaction: discord.Interaction, user: discord.Member, credits: int, period: str
    ) -> None:
        ensure_member(interaction, user)
        change = await self.quota.set_user_policy(
            _guild_id(interaction), actor_id=interaction.user.id, user_id=user.id,
            credits=credits, period=period,
        )  # fmt: skip
        key = "quota.confirm.set_user"
        text = qt.policy_change_text(str(interaction.locale), change, key, user_id=user.id)
        await self._reply(interaction, text)

    @app_commands.command(name="set-role", description="Set the credits per period of a role")
    @app_commands.describe(role="Role", credits="Credits (0 blocks)", period="Period")
    @app_commands.choices(period=PERIODS)
    async def set_role(
        self, interaction: discord.Interaction, role: discord.Role, credits: int, period: str
    ) -> None:
        ensure_local_role(interaction, role)
        change = await self.quota.set_role_policy(
            _guild_id(interaction), actor_id=interaction.user.id, role_id=role.id,
            credits=credits, period=period,
        )  # fmt: skip
        key = "quota.confirm.set_role"
        text = qt.policy_change_text(str(interaction.locale), change, key, role_id=role.id)
        await self._reply(interaction, text)

    @app_commands.command(name="set-default", description="Set the server's default credits")
    @app_commands.describe(credits="Credits (0 blocks)", period="Period")
    @app_commands.choices(period=PERIODS)
    async def set_default(
        self, interaction: discord.Interaction, credits: int, period: str
    ) -> None:
        change = await self.quota.set_default_policy(
            _guild_id(interaction), actor_id=interaction.user.id, credits=credits, period=period
        )
        key = "quota.confirm.set_default"
        await self._reply(interaction, qt.policy_change_text(str(interaction.locale), change, key))

    @app_commands.command(name="grant", description="Give a member extra credits this period")
    @app_commands.describe(user="Member", credits="Extra credits")
    async def grant(
        self, interaction: discord.Interaction, user: discord.Member, credits: int
    ) -> None:
        ensure_member(interaction, user)
        change = await self.quota.grant(
            _guild_id(interaction), actor_id=interaction.user.id, user_id=user.id,
            credits=credits, role_ids=role_ids(user),
        )  # fmt: skip
        await self._credit_reply(interaction, "quota.confirm.grant", user, change)

    @app_commands.command(name="reset", description="Reset a member's usage this period")
    @app_commands.describe(user="Member")
    async def reset(self, interaction: discord.Interaction, user: discord.Member) -> None:
        ensure_member(interaction, user)
        change = await self.quota.reset_user(
            _guild_id(interaction), actor_id=interaction.user.id, user_id=user.id,
            role_ids=role_ids(user),
        )  # fmt: skip
        await self._credit_reply(interaction, "quota.confirm.reset", user, change)

    async def _credit_reply(
        self, interaction: discord.Interaction, key: str, user: discord.Member, change: CreditChange
    ) -> None:
        loc = str(interaction.locale)
        status = change.status
        text = t(
            loc, key, user_id=user.id, credits=change.credits,
            allowance=qt.allowance(loc, status.policy),
            left="∞" if status.left is None else status.left,
        )  # fmt: skip
        await self._reply(interaction, text)

    @app_commands.command(name="show", description="Show a member's quota and recent ledger")
    @app_commands.describe(user="Member")
    async def show(self, interaction: discord.Interaction, user: discord.Member) -> None:
        ensure_member(interaction, user)
        report = await self.quota.show_user(_guild_id(interaction), user.id, role_ids(user))
        await self._reply(interaction, qt.show_text(str(interaction.locale), report))

    @app_commands.command(name="report", description="Top users this period")
    async def report(self, interaction: discord.Interaction) -> None:
        report = await self.quota.report(_guild_id(interaction))
        loc = str(interaction.locale)
        chart = render_usage_chart(report, loc)
        lines = [qt.report_text(loc, report), t(loc, "quota.chart.caption")]
        if not chart.titles_drawn:  # no font for this language: the titles go in the text
            daily = t(loc, "quota.chart.daily", days=len(chart.days))
            lines.append(f"{t(loc, 'quota.chart.members')} / {daily}")
        await interaction.followup.send(
            "\n".join(lines),
            file=discord.File(io.BytesIO(chart.png), filename="usage.png"),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="export", description="Download this server's ledger as CSV")
    @app_commands.describe(period="Only the current day, week or month (default: everything)")
    @app_commands.choices(period=EXPORT_PERIODS)
    async def export(self, interaction: discord.Interaction, period: str = "all") -> None:
        guild_id = _guild_id(interaction)
        entries = await self.quota.export_entries(guild_id, period)
        guild = interaction.guild

        def name(user_id: int) -> str | None:
            member = guild.get_member(user_id) if guild is not None else None
            return member.display_name if member is not None else None

        limit = guild.filesize_limit if guild is not None else 10 * 1024 * 1024
        files = pack_export(entries, limit=limit - 64 * 1024, names=name)  # room for the form
        text = t(str(interaction.locale), "quota.export.done", rows=len(entries))
        for start in range(0, len(files), 10):  # 10 files per message
            batch = [
                discord.File(io.BytesIO(f.data), filename=f.filename)
                for f in files[start : start + 10]
            ]
            await interaction.followup.send(
                text if start == 0 else discord.utils.MISSING, files=batch, ephemeral=True
            )

    @app_commands.command(name="admin-role", description="Let a role run admin commands")
    @app_commands.describe(role="Role (leave empty to remove)")
    async def admin_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        if role is not None:
            ensure_local_role(interaction, role)
        await self.guilds.set_admin_role(
            _guild_id(interaction), actor_id=interaction.user.id,
            role_id=role.id if role else None,
        )  # fmt: skip
        loc = str(interaction.locale)
        if role is None:
            await self._reply(interaction, t(loc, "quota.confirm.admin_role_cleared"))
        else:
            await self._reply(interaction, t(loc, "quota.confirm.admin_role", role=role.mention))


async def setup(bot: ImagineBot) -> None:
    services = bot.services
    await bot.add_cog(QuotaCog(services.quota, services.scheduler))
    await bot.add_cog(QuotasAdmin(services.quota, services.guild_settings))
