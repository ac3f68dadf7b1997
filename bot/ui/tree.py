"""The command tree: one place where every app-command error is answered and logged."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.errors import UserFacingError
from bot.i18n.lookup import t
from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)


async def answer_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Tell only the user, whether or not the interaction was already answered."""
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
        return
    # A deferred public "thinking…" message would show the refusal to everyone: remove it.
    try:
        await interaction.delete_original_response()
    except discord.HTTPException as exc:
        log.debug("could not delete the deferred response (%s); answering anyway", exc.status)
    await interaction.followup.send(text, ephemeral=True)


class ImagineTree(app_commands.CommandTree[discord.Client]):
    def __init__(self, client: discord.Client, *, fallback_to_global: bool = True) -> None:
        super().__init__(client, fallback_to_global=fallback_to_global)
        # Counts refusals; ImagineBot points it at its services' metrics once they are built.
        self.metrics = Metrics()

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original: BaseException = (
            error.original if isinstance(error, app_commands.CommandInvokeError) else error
        )
        if isinstance(original, app_commands.CheckFailure) and isinstance(
            original.__cause__, UserFacingError
        ):
            original = original.__cause__  # a refusal raised by an interaction_check
        locale = str(interaction.locale)
        if isinstance(original, UserFacingError):
            self.metrics.count_refusal(original)
            text = t(locale, original.key, **original.params)
        elif isinstance(original, app_commands.NoPrivateMessage):
            text = t(locale, "error.guild_only")
        elif (
            isinstance(original, app_commands.TransformerError)
            and original.type is discord.AppCommandOptionType.user
        ):  # a `discord.Member` option naming someone who is not (or no longer) a member
            user_id = getattr(original.value, "id", original.value)
            text = t(locale, "error.not_member", user=f"<@{user_id}>")
        else:
            error_id = secrets.token_hex(4)
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "error %s in /%s (interaction %s, user %s, guild %s)",
                error_id,
                command,
                interaction.id,
                interaction.user.id,
                interaction.guild_id,
                exc_info=original,
                extra={"error_id": error_id},
            )
            text = t(locale, "error.unexpected", error_id=error_id)
        try:
            await answer_ephemeral(interaction, text)
        except discord.HTTPException as exc:
            log.warning("could not answer interaction %s: %s", interaction.id, exc.status)
