"""/imagine and /models: validate (no I/O), defer, hand the request to the job service."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalog.spec import ModelSpec
from bot.catalog.suggest import (
    suggest_aspect_ratios,
    suggest_models,
    suggest_output_formats,
    suggest_qualities,
    suggest_sizes,
    suggest_styles,
)
from bot.catalog.validation import ImageInput, InvalidRequestError
from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettings
from bot.i18n.lookup import t
from bot.jobs.flags import parse_prompt_flags, resolve_options
from bot.jobs.intake import Intake, JobRequest
from bot.jobs.models import JobParams
from bot.media.masks import data_uri, prepare_mask
from bot.ui.access import interaction_target, role_ids
from bot.ui.listings import model_line

if TYPE_CHECKING:
    from bot.bot import ImagineBot

PROMPT_MAX = 4000
Choices = list[app_commands.Choice[str]]


def _choices(pairs: list[tuple[str, str]]) -> Choices:
    return [app_commands.Choice(name=name[:100], value=value[:100]) for name, value in pairs]


class ImagineCog(commands.Cog):
    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    def _guild(self, interaction: discord.Interaction) -> GuildSettings | None:
        return self.intake.guild(interaction.guild_id)

    @app_commands.command(name="imagine", description="Generate images from a text prompt")
    @app_commands.describe(
        prompt="What to draw (flags like --ar 16:9 --no trees --n 2 work too)",
        model="Image model (default: the server's default)",
        size="Image size, e.g. 1024x1024 or 2K",
        aspect_ratio="Aspect ratio, e.g. 16:9 (models that take ratios)",
        n="How many images",
        quality="Quality, e.g. hd or high",
        negative_prompt="What to keep out of the image",
        style="Style preset (Stable Image)",
        image="Reference image for image-to-image (png, jpg or webp)",
        strength="How strongly the reference image counts, 0 to 1",
        background="Background: auto, transparent or opaque (GPT Image)",
        mask="PNG mask for image: its transparent pixels are repainted (GPT Image 1)",
        output_format="File format: png, jpg or webp (models that offer it)",
    )
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        model: str | None = None,
        size: str | None = None,
        aspect_ratio: str | None = None,
        n: app_commands.Range[int, 1, 10] | None = None,
        quality: str | None = None,
        negative_prompt: str | None = None,
        style: str | None = None,
        image: discord.Attachment | None = None,
        strength: app_commands.Range[float, 0.0, 1.0] | None = None,
        background: str | None = None,
        mask: discord.Attachment | None = None,
        output_format: str | None = None,
    ) -> None:
        options = resolve_options(
            prompt, model=model, size=size, aspect_ratio=aspect_ratio, n=n, quality=quality,
            negative_prompt=negative_prompt, style=style, strength=strength,
            background=background, output_format=output_format,
        )  # fmt: skip
        request = JobRequest(
            interaction_target(interaction), options, image=_input(image), mask=_input(mask),
            role_ids=tuple(role_ids(interaction.user)),
        )  # fmt: skip
        # The intake's checks need no I/O: a bad request gets an ephemeral answer, costs nothing.
        params = self.intake.check(request)
        await interaction.response.defer(thinking=True)
        if image is not None and mask is not None:  # its pixels, still before any charge
            params = await checked_mask(params, image, mask)
        await self.intake.start(request, params)

    def _chosen_model(self, interaction: discord.Interaction) -> ModelSpec | None:
        """The model the user is filling options for: option, --model flag, server default."""
        namespace = interaction.namespace
        model = getattr(namespace, "model", None)
        if not model:
            try:
                model = parse_prompt_flags(getattr(namespace, "prompt", None) or "").flags.get(
                    "model"
                )
            except InvalidRequestError:
                model = None
        return self.intake.catalog.get(model or self.intake.default_model(interaction.guild_id))

    @imagine.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, current: str) -> Choices:
        guild = self._guild(interaction)
        allowed = frozenset(guild.allowed_models) if guild else None
        return _choices(suggest_models(self.intake.catalog, current, allowed))

    @imagine.autocomplete("size")
    async def _sizes(self, interaction: discord.Interaction, current: str) -> Choices:
        return _choices(suggest_sizes(self._chosen_model(interaction), current))

    @imagine.autocomplete("aspect_ratio")
    async def _ratios(self, interaction: discord.Interaction, current: str) -> Choices:
        return _choices(suggest_aspect_ratios(self._chosen_model(interaction), current))

    @imagine.autocomplete("quality")
    async def _qualities(self, interaction: discord.Interaction, current: str) -> Choices:
        return _choices(suggest_qualities(self._chosen_model(interaction), current))

    @imagine.autocomplete("output_format")
    async def _formats(self, interaction: discord.Interaction, current: str) -> Choices:
        spec = self._chosen_model(interaction)
        return _choices(suggest_output_formats(spec, current))

    @imagine.autocomplete("style")
    async def _styles(self, interaction: discord.Interaction, current: str) -> Choices:
        return _choices(suggest_styles(self._chosen_model(interaction), current))

    @app_commands.command(name="models", description="The image models available here")
    async def models(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = self._guild(interaction)
        allowed = set(guild.allowed_models) if guild and guild.allowed_models else None
        locale = str(interaction.locale)
        default = self.intake.default_model(interaction.guild_id)
        lines = [t(locale, "models.header")]
        for spec in self.intake.catalog.models:
            if allowed is not None and spec.id not in allowed:
                continue
            lines.append(model_line(locale, spec, is_default=spec.id == default))
        text = "\n".join(lines)
        for start in range(0, len(text), 2000):  # long catalogs span several messages
            await interaction.followup.send(text[start : start + 2000], ephemeral=True)


def _input(attachment: discord.Attachment | None) -> ImageInput | None:
    if attachment is None:
        return None
    return ImageInput(attachment.filename, attachment.content_type, attachment.size, attachment.url)


async def checked_mask(
    params: JobParams, image: discord.Attachment, mask: discord.Attachment
) -> JobParams:
    """Download image and mask from Discord and check the mask against the image."""
    try:
        image_bytes, mask_bytes = await image.read(), await mask.read()
    except discord.HTTPException as exc:
        raise UserFacingError("error.mask_unreadable", reason=f"HTTP {exc.status}") from None
    scaled = await asyncio.to_thread(prepare_mask, image_bytes, mask_bytes)
    return params if scaled is None else params.model_copy(update={"mask_url": data_uri(scaled)})


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(ImagineCog(bot.services.intake))
