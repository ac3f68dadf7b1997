"""Who may run admin commands: checked in code, since server admins can override the
commands' default permissions for anyone."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettingsService
from bot.jobs.models import DiscordTarget
from bot.quota import QuotaService


async def ensure_admin(
    interaction: discord.Interaction, quota: QuotaService, guilds: GuildSettingsService
) -> None:
    """Bot owners, members with Manage Server, or members with the server's admin role
    (read from the database, so a role just removed by another process counts at once)."""
    if quota.is_owner(interaction.user.id):
        return
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        raise UserFacingError("error.guild_only")
    if interaction.permissions.manage_guild:
        return
    admin_role = (await guilds.get(interaction.guild_id)).admin_role_id
    if admin_role is not None and any(r.id == admin_role for r in interaction.user.roles):
        return
    raise UserFacingError("error.not_admin")


def ensure_member(interaction: discord.Interaction, user: discord.User | discord.Member) -> None:
    """A user option must name a member of this server (not someone from elsewhere)."""
    if not isinstance(user, discord.Member) or user.guild.id != interaction.guild_id:
        raise UserFacingError("error.not_member", user=f"<@{user.id}>")


def ensure_local_role(interaction: discord.Interaction, role: discord.Role) -> None:
    if role.guild.id != interaction.guild_id:
        raise UserFacingError("error.foreign_role")


# What posting a result in a channel with the bot's own token needs.
RESULT_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
    "read_message_history": "Read Message History",
}


def missing_permissions(
    client: discord.Client, guild_id: int | None, channel_id: int, needed: dict[str, str]
) -> list[str]:
    """Names of the permissions the bot lacks in a channel (from the cache; [] if unknown)."""
    guild = client.get_guild(guild_id) if guild_id is not None else None
    channel = guild.get_channel(channel_id) if guild is not None else None
    if guild is None or channel is None or guild.me is None:
        return []
    perms = channel.permissions_for(guild.me)
    return [label for flag, label in needed.items() if not getattr(perms, flag)]


def interaction_target(interaction: discord.Interaction) -> DiscordTarget:
    """Where a job started by this interaction shows its status: its own response."""
    return DiscordTarget(
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


def role_ids(user: discord.abc.User) -> list[int]:
    """The member's role ids (none for a user outside a server)."""
    return [role.id for role in getattr(user, "roles", [])]


async def check_admin(
    interaction: discord.Interaction, quota: QuotaService, guilds: GuildSettingsService
) -> bool:
    """For an admin group's `interaction_check`: answer privately, then check rights in code.

    A refusal becomes a CheckFailure whose cause the command tree shows to the user.
    """
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        await ensure_admin(interaction, quota, guilds)
    except UserFacingError as exc:
        raise app_commands.CheckFailure(exc.key) from exc
    return True
