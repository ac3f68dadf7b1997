"""gateway_problems for a plain Client and an AutoShardedClient on the fake gateway."""

from __future__ import annotations

import asyncio
import contextlib

import discord
import pytest

from bot.ops.readiness import database_problems, gateway_problems
from tests.e2e.harness import BOT_TOKEN
from tests.fakes.discord_server import FakeDiscord


async def _until(predicate: object, timeout: float = 10.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("sharded", [False, True])
async def test_ready_then_down_while_the_gateway_is_away(
    fake_discord: FakeDiscord, sharded: bool
) -> None:
    intents = discord.Intents.default()
    client: discord.Client = (
        discord.AutoShardedClient(intents=intents, shard_count=1)
        if sharded
        else discord.Client(intents=intents)
    )
    assert gateway_problems(client) == ["the gateway has not sent READY yet"]
    with fake_discord.patch_discord():
        await client.login(BOT_TOKEN)
        task = asyncio.create_task(client.connect(reconnect=True))
        try:
            await asyncio.wait_for(client.wait_until_ready(), 10)
            assert gateway_problems(client) == []
            fake_discord.hold_gateway()
            await fake_discord.disconnect_gateway(allow_resume=True)
            await _until(lambda: gateway_problems(client) != [])
            expected = "shard 0 is disconnected" if sharded else "the gateway connection"
            assert expected in gateway_problems(client)[0]
            fake_discord.release_gateway()
            await _until(lambda: gateway_problems(client) == [])
        finally:
            fake_discord.release_gateway()
            await client.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    assert gateway_problems(client) == ["the Discord client is closed"]
    assert gateway_problems(None) == ["the bot is not started yet"]


async def test_database_problems_name_the_failure_and_the_timeout() -> None:
    async def ok() -> None:
        return None

    async def broken() -> None:
        raise RuntimeError("the database is closed")

    async def slow() -> None:
        await asyncio.sleep(1)

    assert await database_problems(ok, 1.0) == []
    assert await database_problems(broken, 1.0) == [
        "the database does not answer: RuntimeError: the database is closed"
    ]
    assert await database_problems(slow, 0.05) == ["the database did not answer within 0.05s"]
