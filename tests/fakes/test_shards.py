"""Proof that FakeDiscord speaks several shards and several guilds to real discord.py
(AutoShardedBot in one process, a fleet of processes each with its own shard_ids).

The default guild (id 2000) is on shard 0 for any shard count; `add_guild(shard=(k, 3))`
adds one that shard k of 3 owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord_server import FakeDiscord, guild_id_for_shard, shard_for_guild

GUILD, MEMBER = 2000, 5000
ROOT = Path(__file__).resolve().parents[2]


class ShardBot(commands.AutoShardedBot):
    def __init__(self, *, intents: discord.Intents | None = None, **options: Any) -> None:
        intents = intents or discord.Intents.default()
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.1, **options)
        self.ready_event = asyncio.Event()
        self.handled: list[tuple[int | None, int | None]] = []  # (guild id, guild.shard_id)
        self.reactions: list[discord.RawReactionActionEvent] = []
        self.messages: list[int] = []
        self.resumed: list[int] = []

    async def setup_hook(self) -> None:
        self.tree.add_command(whoami())

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py sleeps 5 s before each further shard's IDENTIFY

    async def on_ready(self) -> None:
        self.ready_event.set()

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.resumed.append(shard_id)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.reactions.append(payload)

    async def on_message(self, message: discord.Message) -> None:
        if not message.author.bot:
            self.messages.append(message.id)


def whoami() -> app_commands.Command[Any, Any, Any]:
    @app_commands.command(description="Which shard am I on")
    async def whoami(interaction: discord.Interaction) -> None:
        bot = cast(ShardBot, interaction.client)
        shard = interaction.guild.shard_id if interaction.guild else None
        bot.handled.append((interaction.guild_id, shard))
        await interaction.response.send_message(f"guild {interaction.guild_id} shard {shard}")

    return whoami


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, **options: Any) -> AsyncIterator[ShardBot]:
    """Start a ShardBot (not waiting for the fake: callers wait for their shards)."""
    with fake.patch_discord():
        bot = ShardBot(**options)
        task = asyncio.create_task(bot.start("fake-token"))
        try:
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(task, 5)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    server.add_guild(shard=(1, 3), name="Guild One")
    server.add_guild(shard=(2, 3), name="Guild Two")
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def guild_on(fake: FakeDiscord, shard_id: int) -> int:
    return next(g for g in fake.guilds if shard_for_guild(g, 3) == shard_id)


def event_ids(fake: FakeDiscord, shard_id: int, event: str) -> list[int]:
    return [int(e["d"]["id"]) for e in fake.events_for_shard(shard_id) if e["t"] == event]


def test_guild_ids_for_shards_are_valid_unique_snowflakes() -> None:
    ids = set()
    for count in (1, 2, 3, 7, 16):
        for shard in range(count):
            gid = guild_id_for_shard(shard, count)
            assert shard_for_guild(gid, count) == shard and gid not in ids
            age = discord.utils.utcnow() - discord.utils.snowflake_time(gid)
            assert 0 < age.total_seconds() < 2 * 86400
            ids.add(gid)
    with pytest.raises(ValueError):
        guild_id_for_shard(3, 3)


async def test_added_guilds_have_their_own_world(fake: FakeDiscord) -> None:
    one = guild_on(fake, 1)
    guild = fake.guilds[one]
    assert guild.name == "Guild One" and guild.owner_id == fake.owner_id
    assert set(guild.members) == {fake.bot_user_id, fake.owner_id, MEMBER}
    assert set(guild.roles) == {one, guild.bot_role_id} and fake.roles is fake.guilds[GUILD].roles
    assert fake.channels[guild.channel_id].guild_id == one
    assert fake.guild_channel_ids(one) == [guild.channel_id]
    assert fake.guild_channel_ids() == [fake.channel_id]
    fake.add_member(6000, guild_id=one, username="only-in-one")
    assert 6000 in guild.members and 6000 not in fake.members
    assert fake.guild_permissions(6000, one) and not fake.guild_permissions(6000)
    payload = fake.guild_payload(one)
    assert payload["id"] == str(one) and payload["member_count"] == 4
    assert [c["id"] for c in payload["channels"]] == [str(guild.channel_id)]
    with pytest.raises(ValueError):
        fake.add_guild(GUILD)
    with pytest.raises(ValueError):
        fake.add_guild(one, shard=(0, 3))
    assert fake.add_guild(shard=(0, 3)) in fake.guilds


async def test_auto_sharded_client_gets_each_guild_on_its_shard(fake: FakeDiscord) -> None:
    async with running(fake, shard_count=3) as bot:
        await fake.wait_ready()
        await asyncio.wait_for(bot.ready_event.wait(), 5)
        assert fake.identify_count == 3 and bot.shard_count == 3
        assert {c.shard for c in fake.gateway_connections} == {(0, 3), (1, 3), (2, 3)}
        for shard in range(3):
            gid = guild_on(fake, shard)
            ready = fake.events_for_shard(shard)[0]
            assert ready["t"] == "READY" and ready["d"]["shard"] == [shard, 3]
            assert [int(g["id"]) for g in ready["d"]["guilds"]] == [gid]
            assert event_ids(fake, shard, "GUILD_CREATE") == [gid]
        assert {g.id for g in bot.guilds} == set(fake.guilds)
        assert {g.id: g.shard_id for g in bot.guilds} == {
            g: shard_for_guild(g, 3) for g in fake.guilds
        }

        for shard in (2, 0, 1):
            gid = guild_on(fake, shard)
            ix = await fake.send_interaction("whoami", guild_id=gid)
            await ix.wait_response()
            assert ix.channel_id == fake.guilds[gid].channel_id
            assert fake.original_message(ix).guild_id == gid
            assert bot.handled[-1] == (gid, shard)
            arrived = [s for s in range(3) if ix.id in event_ids(fake, s, "INTERACTION_CREATE")]
            assert arrived == [shard]
            # the response's MESSAGE_CREATE goes to the same shard
            assert fake.original_message(ix).id in event_ids(fake, shard, "MESSAGE_CREATE")

        dm = await fake.send_interaction("whoami", guild_id=None)
        await dm.wait_response()
        assert bot.handled[-1] == (None, None)
        assert dm.id in event_ids(fake, 0, "INTERACTION_CREATE")

        joined = fake.add_guild(shard=(2, 3), name="Joined Later")  # the bot joins a guild
        await fake.dispatch("GUILD_CREATE", fake.guild_payload(joined))
        await fake.wait_for(lambda: bot.get_guild(joined) is not None)
        assert [s for s in range(3) if joined in event_ids(fake, s, "GUILD_CREATE")] == [2]


async def test_recommended_shard_count_comes_from_gateway_bot() -> None:
    server = FakeDiscord(shards=2)
    other = server.add_guild(shard=(1, 2))
    await server.start()
    try:
        async with running(server) as bot:
            await server.wait_ready()
            await asyncio.wait_for(bot.ready_event.wait(), 5)
            assert bot.shard_count == 2 and server.identify_count == 2
            assert server.requests_for("GET /gateway/bot")
            limits = await bot.fetch_session_start_limits()
            assert limits.max_concurrency == 1 and limits.remaining > 0
            guild = bot.get_guild(other)
            assert guild is not None and guild.shard_id == 1
    finally:
        await server.close()


async def test_two_clients_each_see_only_their_guilds(fake: FakeDiscord) -> None:
    zero, one, two = (guild_on(fake, s) for s in range(3))
    async with running(fake, shard_ids=[0], shard_count=3) as first:
        await fake.wait_ready(shard_ids=[0])
        await asyncio.wait_for(first.ready_event.wait(), 5)
        # shard 1 has no session yet: its events are not delivered (Discord drops them)
        await fake.send_user_message("nobody hears this", guild_id=one)
        assert fake.gateway.unrouted[-1][0] == "MESSAGE_CREATE"
        async with running(fake, shard_ids=[1, 2], shard_count=3) as second:
            await fake.wait_ready()
            await asyncio.wait_for(second.ready_event.wait(), 5)
            assert {g.id for g in first.guilds} == {zero}
            assert {g.id for g in second.guilds} == {one, two}

            ix = await fake.send_interaction("whoami", guild_id=one)
            await ix.wait_response()
            assert second.handled == [(one, 1)] and first.handled == []
            ix0 = await fake.send_interaction("whoami", guild_id=zero)
            await ix0.wait_response()
            assert first.handled == [(zero, 0)] and second.handled == [(one, 1)]

            in_two = await fake.send_user_message("react here", guild_id=two)
            in_zero = await fake.send_user_message("and here")
            await fake.send_reaction_add(in_two.id, "👍", MEMBER)
            await fake.send_reaction_add(in_zero.id, "🔥", MEMBER)
            await fake.wait_for(lambda: len(first.reactions) == 1 and len(second.reactions) == 1)
            assert (first.reactions[0].message_id, first.reactions[0].guild_id) == (
                in_zero.id,
                zero,
            )
            assert (second.reactions[0].message_id, second.reactions[0].guild_id) == (
                in_two.id,
                two,
            )
            assert first.messages == [in_zero.id] and second.messages == [in_two.id]

            # REST is shared: the first process edits the answer the second one gave
            token_owner = discord.Webhook.partial(fake.application_id, ix.token, client=first)
            original = fake.original_message(ix)
            await token_owner.edit_message(original.id, content="edited by process one")
            assert original.content == "edited by process one"
            assert original.id in event_ids(fake, 1, "MESSAGE_UPDATE")
            assert original.id not in event_ids(fake, 0, "MESSAGE_UPDATE")


async def test_dropped_shard_resumes_and_gets_its_queued_events(fake: FakeDiscord) -> None:
    one, two = guild_on(fake, 1), guild_on(fake, 2)
    async with running(fake, shard_count=3) as bot:
        await fake.wait_ready()
        await asyncio.wait_for(bot.ready_event.wait(), 5)
        fake.hold_gateway()  # the reconnect waits, so events sent meanwhile must be replayed
        await fake.disconnect_gateway(shard_id=1)
        missed = await fake.send_user_message("while shard 1 was away", guild_id=one)
        await fake.send_reaction_add(missed.id, "👍", MEMBER)
        live = await fake.send_interaction("whoami", guild_id=two)  # shard 2 is unaffected
        await live.wait_response()
        assert bot.handled == [(two, 2)] and bot.reactions == []
        fake.release_gateway()
        await fake.wait_for(lambda: bot.resumed == [1])
        assert fake.resume_count == 1 and fake.identify_count == 3
        assert fake.gateway.last_replay == ["MESSAGE_CREATE", "MESSAGE_REACTION_ADD"]
        conn = fake.gateway_connections[-1]
        assert (conn.kind, conn.path, conn.shard) == ("resume", "/resume", (1, 3))
        await fake.wait_for(lambda: [r.message_id for r in bot.reactions] == [missed.id])
        assert missed.id in bot.messages

        ix = await fake.send_interaction("whoami", guild_id=one)
        await ix.wait_response()
        assert bot.handled[-1] == (one, 1)


FLEET_BOT = """
import asyncio, sys
import discord, yarl

api, gateway, shard_ids = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
discord.http.Route.BASE = api
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


class Fleet(discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id, *, initial=False):
        return None

    async def on_ready(self):
        print("ready", sorted(g.id for g in self.guilds), flush=True)

    async def on_interaction(self, interaction):
        shard = interaction.guild.shard_id if interaction.guild else None
        await interaction.response.send_message(f"{shard_ids} {shard}")


asyncio.run(Fleet(intents=discord.Intents.default(), shard_ids=shard_ids, shard_count=3).start("t"))
"""


async def test_bots_in_separate_processes_share_the_fake(fake: FakeDiscord, tmp_path: Path) -> None:
    script = tmp_path / "fleet_bot.py"
    script.write_text(FLEET_BOT)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    procs = []
    try:
        for shard_ids in ("0", "1,2"):
            args = (str(script), fake.api_base, fake.gateway_url, shard_ids)
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, *args, env=env, stdout=asyncio.subprocess.PIPE
                )
            )
        await fake.wait_ready(timeout=30)
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 10)
            assert line.startswith(b"ready"), line
        for shard in range(3):
            ix = await fake.send_interaction("whoami", guild_id=guild_on(fake, shard))
            await ix.wait_response()
            owner = "[0]" if shard == 0 else "[1, 2]"
            assert (ix.response_data or {}).get("content") == f"{owner} {shard}"
        assert {c.shard for c in fake.gateway_connections} == {(0, 3), (1, 3), (2, 3)}
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)


async def test_intents_are_filtered_per_session(fake: FakeDiscord) -> None:
    zero, one = guild_on(fake, 0), guild_on(fake, 1)
    no_reactions = discord.Intents.default()
    no_reactions.reactions = False
    async with (
        running(fake, shard_ids=[0], shard_count=3, intents=no_reactions) as first,
        running(fake, shard_ids=[1, 2], shard_count=3) as second,
    ):
        await fake.wait_ready()
        await asyncio.wait_for(first.ready_event.wait(), 5)
        await asyncio.wait_for(second.ready_event.wait(), 5)
        in_zero = await fake.send_user_message("no reactions here")
        in_one = await fake.send_user_message("reactions here", guild_id=one)
        await fake.send_reaction_add(in_zero.id, "👍", MEMBER)
        await fake.send_reaction_add(in_one.id, "👍", MEMBER)
        await fake.wait_for(lambda: [r.message_id for r in second.reactions] == [in_one.id])
        assert fake.gateway.dropped[-1][0] == "MESSAGE_REACTION_ADD"
        assert fake.gateway.dropped[-1][1]["guild_id"] == str(zero)
        assert first.reactions == [] and first.messages == [in_zero.id]
