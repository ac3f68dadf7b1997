"""Result buttons, the 🔄 reaction and /jobs. Buttons are DynamicItems: they work on
messages from before a restart, and every click re-checks who is clicking."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord.ext import commands

from bot.bot import services_of
from bot.errors import UserFacingError
from bot.i18n.lookup import t
from bot.jobs.models import DiscordTarget, Job
from bot.jobs.results import ResultsService
from bot.ui import components, custom_ids
from bot.ui.access import (
    RESULT_PERMISSIONS,
    ensure_admin,
    interaction_target,
    missing_permissions,
    role_ids,
)
from bot.ui.components import REROLL_EMOJI
from bot.ui.tree import answer_ephemeral

if TYPE_CHECKING:
    from bot.bot import ImagineBot

log = logging.getLogger(__name__)
NOTICE_SECONDS = 10


async def _is_admin(interaction: discord.Interaction) -> bool:
    try:
        services = services_of(interaction)
        await ensure_admin(interaction, services.quota, services.guild_settings)
    except UserFacingError:
        return False
    return True


async def _refuse(interaction: discord.Interaction, exc: UserFacingError) -> None:
    services_of(interaction).metrics.count_refusal(exc)
    await answer_ephemeral(interaction, t(str(interaction.locale), exc.key, **exc.params))


_Button = TypeVar("_Button", bound="_JobButton")
Action = Callable[[_Button, discord.Interaction, ResultsService], Awaitable[None]]


def answers_refusals(
    action: Action[_Button],
) -> Callable[[_Button, discord.Interaction], Coroutine[Any, Any, None]]:
    """Make a button's action its callback, answering a refusal privately."""

    async def callback(self: _Button, interaction: discord.Interaction) -> None:
        try:
            await action(self, interaction, services_of(interaction).results)
        except UserFacingError as exc:
            await _refuse(interaction, exc)

    return callback


class _JobButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"imagine:abstract:(?P<job_id>[0-9]+)"
):
    """Base (never registered): holds the job id; each subclass sets its own template."""

    def __init__(self, job_id: int, button: discord.ui.Button[Any]) -> None:
        super().__init__(button)
        self.job_id = job_id


class RerollButton(_JobButton, template=custom_ids.REROLL):
    def __init__(self, job_id: int) -> None:
        super().__init__(job_id, components.reroll_button(job_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RerollButton:
        return cls(int(match["job_id"]))

    @answers_refusals
    async def callback(self, interaction: discord.Interaction, results: ResultsService) -> None:
        source = await results.job(self.job_id)
        request = results.reroll_request(
            source, interaction_target(interaction), role_ids=role_ids(interaction.user)
        )
        intake = services_of(interaction).intake
        params = intake.check(request)  # before any response
        await interaction.response.defer(thinking=True)
        await intake.start(request, params)


class EditButton(_JobButton, template=custom_ids.EDIT):
    def __init__(self, job_id: int) -> None:
        super().__init__(job_id, components.edit_button(job_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> EditButton:
        return cls(int(match["job_id"]))

    @answers_refusals
    async def callback(self, interaction: discord.Interaction, results: ResultsService) -> None:
        source = await results.job(self.job_id)
        # Refused before the modal opens; the intake checks again when it is sent.
        services_of(interaction).intake.check_rights(source, interaction.user.id)
        await interaction.response.send_modal(EditPromptModal(source, str(interaction.locale)))


class EditPromptModal(discord.ui.Modal):
    def __init__(self, source: Job, locale: str) -> None:
        super().__init__(
            title=t(locale, "ui.edit_title")[:45], custom_id=custom_ids.edit_modal(source.id)
        )
        self.source = source
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t(locale, "ui.edit_label")[:45],
            style=discord.TextStyle.paragraph,
            default=source.params.prompt[:4000],
            max_length=4000,
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        try:
            request = services.results.edit_request(
                self.source, self.prompt.value, interaction_target(interaction),
                role_ids=role_ids(interaction.user),
            )  # fmt: skip
            params = services.intake.check(request)
            await interaction.response.defer(thinking=True)
            await services.intake.start(request, params)
        except UserFacingError as exc:
            await _refuse(interaction, exc)


class ImageButton(_JobButton, template=custom_ids.IMAGE):
    def __init__(self, job_id: int, index: int) -> None:
        super().__init__(job_id, components.image_button(job_id, index))
        self.index = index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ImageButton:
        return cls(int(match["job_id"]), int(match["index"]))

    @answers_refusals
    async def callback(self, interaction: discord.Interaction, results: ResultsService) -> None:
        """Show image #index alone, at the size it was posted, only to the clicker."""
        message = interaction.message
        wanted = f"image_{self.index}."
        attachment = next(
            (a for a in (message.attachments if message else []) if a.filename.startswith(wanted)),
            None,
        )
        if attachment is None:
            raise UserFacingError("error.image_gone")
        embed = discord.Embed(title=f"#{self.index}").set_image(url=attachment.url)
        await interaction.response.send_message(embed=embed, ephemeral=True)


class DeleteButton(_JobButton, template=custom_ids.DELETE):
    def __init__(self, job_id: int) -> None:
        super().__init__(job_id, components.delete_button(job_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> DeleteButton:
        return cls(int(match["job_id"]))

    @answers_refusals
    async def callback(self, interaction: discord.Interaction, results: ResultsService) -> None:
        job = await results.job(self.job_id)
        if not results.may_delete(job, interaction.user.id, is_admin=await _is_admin(interaction)):
            raise UserFacingError("error.delete_not_allowed")
        await interaction.response.defer()  # acknowledge the click without a new message
        if interaction.message is not None:
            await interaction.message.delete()  # a finished job is not refunded
        log.info("job %s: result deleted by user %s", job.id, interaction.user.id)


class CancelButton(_JobButton, template=custom_ids.CANCEL):
    def __init__(self, job_id: int) -> None:
        super().__init__(job_id, components.cancel_button(job_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CancelButton:
        return cls(int(match["job_id"]))

    @answers_refusals
    async def callback(self, interaction: discord.Interaction, results: ResultsService) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job, kept = await results.cancel(
            self.job_id, user_id=interaction.user.id, is_admin=await _is_admin(interaction)
        )
        locale = str(interaction.locale)
        if kept:
            text = t(locale, "jobs.cancelled_kept", job_id=job.id, credits=kept)
        else:
            text = t(locale, "jobs.cancelled", job_id=job.id)
        await interaction.followup.send(text, ephemeral=True)


DYNAMIC_ITEMS = (RerollButton, EditButton, ImageButton, DeleteButton, CancelButton)


class ResultsCog(commands.Cog):
    def __init__(self, bot: ImagineBot, results: ResultsService) -> None:
        self.bot = bot
        self.results = results

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        me = self.bot.user
        if me is None or payload.user_id == me.id or str(payload.emoji) != REROLL_EMOJI:
            return
        if payload.message_author_id != me.id or payload.guild_id is None:
            return
        source = await self.results.result_for_message(payload.message_id)
        if source is None:
            return  # not a finished result: a status message, an error, anything else
        guild = self.bot.get_guild(payload.guild_id)
        locale = str(guild.preferred_locale) if guild is not None else "en-US"
        target = DiscordTarget(
            guild_id=payload.guild_id,
            channel_id=payload.channel_id,
            user_id=payload.user_id,
            locale=locale,
            application_id=None,
            interaction_id=None,
            interaction_token=None,
            interaction_created_at=None,
            upload_limit=guild.filesize_limit if guild is not None else 10 * 1024 * 1024,
            reply_to_message_id=payload.message_id,
        )
        missing = missing_permissions(
            self.bot, payload.guild_id, payload.channel_id, RESULT_PERMISSIONS
        )
        if missing:  # say which, privately: the channel may not even take a reply
            text = t(locale, "error.missing_permissions", permissions=", ".join(missing))
            if self.results.first_notice(payload.message_id, payload.user_id):
                await self._dm(payload.user_id, text)
            return
        roles = payload.member.roles if payload.member is not None else []
        request = self.results.reroll_request(source, target, role_ids=[r.id for r in roles])
        try:
            job = await self.results.reroll_by_reaction(request)
        except UserFacingError as exc:
            if self.results.first_notice(
                payload.message_id, payload.user_id
            ):  # once, not per toggle
                text = f"<@{payload.user_id}> " + t(locale, exc.key, **exc.params)
                await self._notice(payload, text)
            job = None
        if job is None:
            log.debug("reaction by %s on %s: nothing started", payload.user_id, payload.message_id)
        await self._remove_reaction(payload)

    async def _notice(self, payload: discord.RawReactionActionEvent, text: str) -> None:
        """A brief reply that deletes itself: reactions have no ephemeral answers."""
        channel = self.bot.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
        try:
            await channel.send(
                text,
                reference=discord.MessageReference(
                    message_id=payload.message_id, channel_id=payload.channel_id,
                    fail_if_not_exists=False,
                ),
                delete_after=NOTICE_SECONDS,
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(payload.user_id)]),
            )  # fmt: skip
        except discord.HTTPException as exc:
            log.warning("could not post a reroll notice in %s: %s", payload.channel_id, exc.status)

    async def _dm(self, user_id: int, text: str) -> None:
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            await user.send(text)
        except discord.HTTPException as exc:  # DMs closed: nothing else we can do
            log.info("could not DM user %s: %s", user_id, exc.status)

    async def _remove_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        channel = self.bot.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
        message = channel.get_partial_message(payload.message_id)
        try:
            await message.remove_reaction(REROLL_EMOJI, discord.Object(payload.user_id))
        except discord.HTTPException as exc:  # no Manage Messages: leave it
            log.debug("could not remove a 🔄 reaction: %s", exc.status)


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(ResultsCog(bot, bot.services.results))
