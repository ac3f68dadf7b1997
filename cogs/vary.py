"""Vary… menu and 🖌️ region edit on results, and the "Imagine from this image" message menu.

The menu and the button are DynamicItems (state in the custom_id: they work after a
restart); the work is VaryService's (bot/jobs/variations.py) and the intake's (bot/jobs/intake.py).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import Services, services_of
from bot.catalog.validation import IMAGE_EXTENSIONS, ImageInput
from bot.errors import UserFacingError
from bot.i18n.lookup import t
from bot.jobs.flags import resolve_options
from bot.jobs.variations import VaryKind
from bot.ui import custom_ids
from bot.ui.access import RESULT_PERMISSIONS, interaction_target, missing_permissions, role_ids
from bot.ui.components import region_button, result_buttons
from bot.ui.tree import answer_ephemeral

if TYPE_CHECKING:
    from bot.bot import ImagineBot

log = logging.getLogger(__name__)
MENU_NAME = "Imagine from this image"
_VALUE = re.compile(r"(?P<index>[0-9]{1,2}):(?P<kind>subtle|strong)")


async def _tell(interaction: discord.Interaction, exc: UserFacingError) -> None:
    """A refusal, privately. (Not answer_ephemeral once a click was acknowledged without a
    message: its "original response" is the result itself, which must stay.)"""
    text = t(str(interaction.locale), exc.key, **exc.params)
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


def result_images(message: discord.Message | None) -> dict[int, discord.Attachment]:
    """The delivered images of a result message by number (`image_<k>.<ext>`; no grid)."""
    found: dict[int, discord.Attachment] = {}
    for attachment in message.attachments if message else []:
        match = re.fullmatch(r"image_([0-9]+)\.\w+", attachment.filename)
        if match:
            found[int(match[1])] = attachment
    return found


def _input(attachment: discord.Attachment) -> ImageInput:
    return ImageInput(attachment.filename, attachment.content_type, attachment.size, attachment.url)


def message_image(message: discord.Message) -> ImageInput | None:
    """The first image of any message: an image attachment, else an embed's image."""
    for attachment in message.attachments:
        is_image = (attachment.content_type or "").startswith("image/")
        if is_image or attachment.filename.lower().endswith(IMAGE_EXTENSIONS):
            return _input(attachment)
    for embed in message.embeds:
        url = embed.image.url or embed.thumbnail.url
        if url:
            name = url.split("?", 1)[0].rsplit("/", 1)[-1] or "image"
            return ImageInput(name, None, 0, url)
    return None


class VaryMenu(
    discord.ui.DynamicItem[discord.ui.Select[Any]], template=custom_ids.VARY
):  # fmt: skip
    def __init__(self, job_id: int) -> None:
        super().__init__(discord.ui.Select(custom_id=custom_ids.vary(job_id)))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VaryMenu:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await vary(interaction, services_of(interaction), self.job_id)
        except UserFacingError as exc:
            await _tell(interaction, exc)


class RegionButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=custom_ids.REGION
):  # fmt: skip
    def __init__(self, job_id: int) -> None:
        super().__init__(region_button(job_id))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RegionButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await open_region_modal(interaction, services_of(interaction), self.job_id)
        except UserFacingError as exc:
            await _tell(interaction, exc)


class RegionModal(discord.ui.Modal):
    """How to repaint a region (Discord has no painting UI): pick the image and the prompt,
    get the exact /imagine command with `image` and `mask` to run."""

    def __init__(self, locale: str, prompt: str, model: str, images: dict[int, str]) -> None:
        super().__init__(title=t(locale, "ui.region_title")[:45])
        self.model, self.images = model, images
        count = max(images)
        self.index: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t(locale, "ui.region_image_label", count=count)[:45],
            default="1",
            max_length=2,
            placeholder=t(locale, "ui.region_placeholder")[:100],
        )
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t(locale, "ui.region_prompt_label")[:45],
            style=discord.TextStyle.paragraph,
            default=prompt[:1500],
            max_length=1500,
        )
        self.add_item(self.index)
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        locale = str(interaction.locale)
        try:
            index = int(self.index.value.strip() or "1")
        except ValueError:
            index = 0
        if index not in self.images:
            text = t(locale, "error.bad_image_number", count=max(self.images))
        else:
            prompt = " ".join(self.prompt.value.split()).replace("`", "'")
            text = t(
                locale, "region.howto", index=index, url=self.images[index], prompt=prompt,
                model=self.model,
            )  # fmt: skip
        await interaction.response.send_message(text[:2000], ephemeral=True)


class FromImageModal(discord.ui.Modal):
    """ "Imagine from this image": the prompt (flags work) and an optional strength."""

    def __init__(self, locale: str, image: ImageInput) -> None:
        super().__init__(title=t(locale, "ui.from_image_title")[:45])
        self.image = image
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t(locale, "ui.from_image_prompt")[:45],
            style=discord.TextStyle.paragraph,
            max_length=4000,
        )
        self.strength: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t(locale, "ui.from_image_strength")[:45], required=False, max_length=5
        )
        self.add_item(self.prompt)
        self.add_item(self.strength)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        try:
            await start_from_image(
                interaction, services_of(interaction), self.image, self.prompt.value,
                self.strength.value,
            )  # fmt: skip
        except UserFacingError as exc:
            text = t(str(interaction.locale), exc.key, **exc.params)
            await answer_ephemeral(interaction, text)


def _strength(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise UserFacingError("error.bad_strength_text", value=text)
    return value


async def vary(interaction: discord.Interaction, services: Services, job_id: int) -> None:
    """Vary… : the chosen image of this result, as the reference of a new job that replies
    to the result, charged to whoever chose."""
    data: dict[str, Any] = dict(interaction.data or {})
    values = data.get("values") or [""]
    choice = _VALUE.fullmatch(str(values[0]))
    images = result_images(interaction.message)
    if choice is None or int(choice["index"]) not in images or interaction.message is None:
        raise UserFacingError("error.image_gone")
    index = int(choice["index"])
    kind: VaryKind = "strong" if choice["kind"] == "strong" else "subtle"
    # No message of its own: the job replies to the result.
    target = dataclasses.replace(
        interaction_target(interaction), application_id=None, interaction_id=None,
        interaction_token=None, interaction_created_at=None,
        reply_to_message_id=interaction.message.id,
    )  # fmt: skip
    source = await services.results.job(job_id)
    request = services.vary.vary_request(
        source, index=index, kind=kind, image=_input(images[index]), target=target,
        role_ids=role_ids(interaction.user),
    )  # fmt: skip
    params = services.intake.check(request)
    missing = missing_permissions(
        interaction.client, interaction.guild_id, interaction.channel_id or 0, RESULT_PERMISSIONS
    )
    if missing:
        raise UserFacingError("error.missing_permissions", permissions=", ".join(missing))
    # Re-sending the result's components clears the menu's choice, so the same option can
    # be chosen again.
    await interaction.response.edit_message(view=result_buttons(source, len(images)))
    await services.vary.start(request, params)


async def open_region_modal(
    interaction: discord.Interaction, services: Services, job_id: int
) -> None:
    source = await services.results.job(job_id)
    images = {k: a.url for k, a in result_images(interaction.message).items()}
    if not images:
        raise UserFacingError("error.image_gone")
    model = services.vary.region_model(source, interaction.guild_id)
    modal = RegionModal(str(interaction.locale), source.params.prompt, model, images)
    await interaction.response.send_modal(modal)


async def start_from_image(
    interaction: discord.Interaction,
    services: Services,
    image: ImageInput,
    prompt: str,
    strength: str,
) -> None:
    options = resolve_options(prompt, strength=_strength(strength))
    request = services.vary.from_image_request(
        options, image, interaction_target(interaction), role_ids=role_ids(interaction.user)
    )
    params = services.intake.check(request)
    await interaction.response.defer(thinking=True)
    await services.vary.start(request, params)


class VaryCog(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name=MENU_NAME, callback=self.imagine_from_image)
        self.menu.allowed_contexts = app_commands.AppCommandContext(guild=True, dm_channel=True)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def imagine_from_image(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        if interaction.guild_id is None and not self.bot.services.intake.rules.allow_dms:
            raise UserFacingError("error.dm_disabled")  # before the modal (checked again)
        image = message_image(message)
        if image is None:
            raise UserFacingError("error.no_image_in_message")
        await interaction.response.send_modal(FromImageModal(str(interaction.locale), image))


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(VaryMenu, RegionButton)
    await bot.add_cog(VaryCog(bot))
