"""/settings: per-server settings for admins (rights checked in code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalog.spec import Catalog
from bot.errors import UserFacingError
from bot.guilds.settings import REROLL_POLICIES, GuildSettingsService
from bot.i18n.lookup import t
from bot.quota import QuotaService
from bot.ui.access import check_admin
from bot.ui.pages import split_message

if TYPE_CHECKING:
    from bot.bot import ImagineBot


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsAdmin(commands.GroupCog, group_name="settings", description="Server settings"):
    def __init__(
        self,
        quota: QuotaService,
        settings: GuildSettingsService,
        catalog: Catalog,
        default_model: str,
    ) -> None:
        self.quota = quota
        self.settings = settings
        self.catalog = catalog
        self.default_model = default_model
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await check_admin(interaction, self.quota, self.settings)

    @app_commands.command(name="timezone", description="Time zone for quota periods")
    @app_commands.describe(tz="IANA time zone, e.g. Asia/Shanghai")
    async def timezone(self, interaction: discord.Interaction, tz: str) -> None:
        assert interaction.guild_id is not None
        name = await self.settings.set_timezone(
            interaction.guild_id, actor_id=interaction.user.id, timezone=tz
        )
        text = t(str(interaction.locale), "quota.confirm.timezone", timezone=name)
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="reroll-policy", description="Who may reroll a result")
    @app_commands.describe(policy="requester (default) or anyone")
    @app_commands.choices(policy=[app_commands.Choice(name=p, value=p) for p in REROLL_POLICIES])
    async def reroll_policy(self, interaction: discord.Interaction, policy: str) -> None:
        assert interaction.guild_id is not None
        if policy not in REROLL_POLICIES:
            allowed = ", ".join(REROLL_POLICIES)
            raise UserFacingError("settings.error.bad_reroll_policy", allowed=allowed)
        await self.settings.update(interaction.guild_id, interaction.user.id, reroll_policy=policy)
        text = t(str(interaction.locale), f"settings.confirm.reroll_{policy}")
        await interaction.followup.send(text, ephemeral=True)

    async def _reply(self, interaction: discord.Interaction, key: str, **params: object) -> None:
        await interaction.followup.send(
            t(str(interaction.locale), key, **params), ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )  # fmt: skip

    def _gid(self, interaction: discord.Interaction) -> int:
        assert interaction.guild_id is not None
        return interaction.guild_id

    @app_commands.command(name="show", description="Show this server's settings")
    async def show(self, interaction: discord.Interaction) -> None:
        s = await self.settings.get(self._gid(interaction))
        loc = str(interaction.locale)
        everything = t(loc, "settings.all")
        text = t(
            loc, "settings.show",
            default_model=s.default_model or self.default_model,
            allowed_models=", ".join(s.allowed_models) or everything,
            channels=", ".join(f"<#{c}>" for c in s.channels) or everything,
            blocked_words=", ".join(s.blocked_words) or "—",
            reroll_policy=s.reroll_policy,
            timezone=s.timezone,
        )  # fmt: skip
        state = t(loc, "settings.on" if s.watermark else "settings.off")
        text += "\n" + t(loc, "settings.watermark_line", state=state)
        for page in split_message(text):  # 200 blocked words do not fit in one message
            await interaction.followup.send(
                page, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )

    @app_commands.command(name="watermark", description="AI-generated mark on models that take it")
    @app_commands.describe(state="on or off (default off)")
    @app_commands.choices(state=[app_commands.Choice(name=s, value=s) for s in ("on", "off")])
    async def watermark(self, interaction: discord.Interaction, state: str) -> None:
        await self.settings.update(
            self._gid(interaction), interaction.user.id, watermark=state == "on"
        )
        models = ", ".join(m.id for m in self.catalog.models if m.watermark) or "—"
        await self._reply(interaction, f"settings.confirm.watermark_{state}", models=models)

    @app_commands.command(name="default-model", description="The model /imagine uses by default")
    @app_commands.describe(model="Model id")
    async def default_model_command(self, interaction: discord.Interaction, model: str) -> None:
        if model not in self.catalog:
            raise UserFacingError(
                "error.unknown_model", model=model, allowed=", ".join(self.catalog.ids)
            )
        await self.settings.update(self._gid(interaction), interaction.user.id, default_model=model)
        await self._reply(interaction, "settings.confirm.default_model", model=model)

    @app_commands.command(name="allowed-models", description="Models members may use")
    @app_commands.describe(models="Comma-separated model ids; empty for all")
    async def allowed_models(self, interaction: discord.Interaction, models: str = "") -> None:
        wanted = _split(models)
        unknown = [m for m in wanted if m not in self.catalog]
        if unknown:
            raise UserFacingError(
                "error.unknown_model", model=unknown[0], allowed=", ".join(self.catalog.ids)
            )
        await self.settings.update(
            self._gid(interaction), interaction.user.id, allowed_models=wanted
        )
        loc = str(interaction.locale)
        await self._reply(
            interaction, "settings.confirm.allowed_models",
            models=", ".join(wanted) or t(loc, "settings.all"),
        )  # fmt: skip

    @app_commands.command(name="blocked-words", description="Words refused in prompts")
    @app_commands.describe(words="Comma-separated words; empty clears the list")
    async def blocked_words(self, interaction: discord.Interaction, words: str = "") -> None:
        wanted = _split(words)[:200]
        gid = self._gid(interaction)
        await self.settings.update(gid, interaction.user.id, blocked_words=wanted)
        await self._reply(interaction, "settings.confirm.blocked_words", count=len(wanted))

    @app_commands.command(name="channels", description="Channels where /imagine may be used")
    @app_commands.describe(action="add, remove or clear (clear: every channel)", channel="Channel")
    @app_commands.choices(
        action=[app_commands.Choice(name=a, value=a) for a in ("add", "remove", "clear")]
    )
    async def channels(
        self,
        interaction: discord.Interaction,
        action: str,
        channel: discord.TextChannel | None = None,
    ) -> None:
        gid = self._gid(interaction)
        current = list((await self.settings.get(gid)).channels)
        if action == "clear":
            current = []
        elif channel is None or channel.guild.id != gid:
            raise UserFacingError("settings.error.channel_needed")
        elif action == "add" and channel.id not in current:
            current.append(channel.id)
        elif action == "remove" and channel.id in current:
            current.remove(channel.id)
        await self.settings.update(gid, interaction.user.id, channels=current)
        loc = str(interaction.locale)
        shown = ", ".join(f"<#{c}>" for c in current) or t(loc, "settings.all")
        await self._reply(interaction, "settings.confirm.channels", channels=shown)


def _split(text: str) -> list[str]:
    """`a, b ,c` → ["a", "b", "c"] (empty parts dropped, order kept, no repeats)."""
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


async def setup(bot: ImagineBot) -> None:
    services = bot.services
    await bot.add_cog(
        SettingsAdmin(
            services.quota,
            services.guild_settings,
            services.catalog,
            services.intake.rules.default_model,
        )
    )
