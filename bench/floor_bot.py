"""B1's floor: the least a discord.py bot can do for /imagine — defer, nothing else.

`python -m bench.floor_bot` with the bot's environment (DISCORD_TOKEN, DISCORD_API_BASE,
DISCORD_GATEWAY_URL, DEV_GUILD_ID). Same library, intents, options and command sync as the
real bot, so the difference in acknowledgement latency is what the bot itself adds.
"""

from __future__ import annotations

import asyncio
import os
import signal

import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands
from discord.ext import commands


class FloorBot(commands.Bot):
    def __init__(self, guild_id: int) -> None:
        intents = discord.Intents.default()
        intents.messages = False  # as bot/bot.py: no message events, no message cache
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            max_messages=None,
            help_command=None,
        )
        self.guild = discord.Object(id=guild_id)

    async def setup_hook(self) -> None:
        @app_commands.command(name="imagine", description="Generate images from a text prompt")
        async def imagine(
            interaction: discord.Interaction,
            prompt: app_commands.Range[str, 1, 4000],
            model: str | None = None,
            size: str | None = None,
            n: app_commands.Range[int, 1, 10] = 1,
            negative_prompt: str | None = None,
        ) -> None:
            await interaction.response.defer(thinking=True)

        self.tree.add_command(imagine, guild=self.guild)
        await self.tree.sync(guild=self.guild)


async def run() -> None:
    discord.http.Route.BASE = os.environ["DISCORD_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    client = FloorBot(int(os.environ["DEV_GUILD_ID"]))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with client:
        runner = asyncio.create_task(client.start(os.environ["DISCORD_TOKEN"]))
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if runner.done():
            runner.result()


if __name__ == "__main__":
    asyncio.run(run())
