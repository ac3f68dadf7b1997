"""Proof that FakeDiscord is accepted by the real discord.py client (a commands.Bot).

Every test runs a throwaway bot against a fresh fake on 127.0.0.1 and asserts on what the
fake recorded and on what discord.py saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import struct
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands
from discord.webhook.async_ import async_context, interaction_response_params

from tests.fakes.discord_server import FakeDiscord

GUILD, CHANNEL, OWNER, MEMBER, BOT = 2000, 3000, 4000, 5000, 1000
PROMPT = [{"name": "prompt", "type": 3, "value": "a cat"}]
ORIGINAL = "PATCH /webhooks/{app}/{token}/messages/@original"
CALLBACK = "POST /interactions/{id}/{token}/callback"


def make_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
    return png + chunk(b"IEND", b"")


PNG = make_png()


class RerollView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Reroll", custom_id="reroll:1", style=discord.ButtonStyle.primary)
    async def reroll(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(content="rerolled")


class IdeaModal(discord.ui.Modal, title="Your idea"):
    idea: discord.ui.TextInput[IdeaModal] = discord.ui.TextInput(label="Idea", custom_id="idea")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"noted: {self.idea.value}")


class ProofBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.default()
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.1)
        self.ready_count = 0
        self.ready_event = asyncio.Event()
        self.resumed_count = 0
        self.raw_reactions: list[discord.RawReactionActionEvent] = []
        self.errors: list[tuple[str, int, int]] = []
        self.results: dict[str, Any] = {}
        self.interactions: list[discord.Interaction] = []
        self.slow_delay = 0.0

    async def setup_hook(self) -> None:
        guild = discord.Object(GUILD)
        for command in guild_commands():
            self.tree.add_command(command, guild=guild)
        self.tree.add_command(dm_command())
        self.add_view(RerollView())
        self.results["synced"] = await self.tree.sync(guild=guild)
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py sleeps 5 s before every re-IDENTIFY; tests don't

    async def on_ready(self) -> None:
        self.ready_count += 1
        self.ready_event.set()

    async def on_resumed(self) -> None:
        self.resumed_count += 1

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.append(payload)


def proof(interaction: discord.Interaction) -> ProofBot:
    bot = cast(ProofBot, interaction.client)
    bot.interactions.append(interaction)
    return bot


def guild_commands() -> list[app_commands.Command[Any, Any, Any] | app_commands.Group]:
    @app_commands.command(description="Generate an image")
    async def imagine(
        interaction: discord.Interaction,
        prompt: str,
        style: str | None = None,
        reference: discord.Attachment | None = None,
    ) -> None:
        bot = proof(interaction)
        await interaction.response.defer(thinking=True)
        try:
            if reference is not None:  # an image the user attached to the command
                bot.results["reference"] = (reference.filename, await reference.read())
            await interaction.edit_original_response(content=f"Generating {prompt}… 50%")
            embed = discord.Embed(title=prompt).set_image(url="attachment://image.png")
            image = discord.File(io.BytesIO(PNG), "image.png")
            bot.results["imagine"] = await interaction.edit_original_response(
                content=f"Done: {prompt}", embed=embed, attachments=[image]
            )
        except discord.HTTPException as exc:
            bot.errors.append(("imagine", exc.status, exc.code))

    @imagine.autocomplete("style")
    async def style_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        styles = ("photo", "anime", "pixel")
        return [app_commands.Choice(name=s, value=s) for s in styles if s.startswith(current)]

    @app_commands.command(description="Say hello")
    async def hello(interaction: discord.Interaction) -> None:
        bot = proof(interaction)
        await interaction.response.send_message("Hello!")
        original = await interaction.original_response()
        assert isinstance(interaction.channel, discord.TextChannel)
        reply = await interaction.channel.send("a reply", reference=original)
        await reply.add_reaction("🔁")
        bot.results["hello"] = (original, reply)

    @app_commands.command(description="Acknowledge twice")
    async def double(interaction: discord.Interaction) -> None:
        bot = proof(interaction)
        await interaction.response.defer()
        params = interaction_response_params(4, {"content": "second answer"})
        try:  # discord.py refuses a 2nd response itself, so use its adapter directly
            await async_context.get().create_interaction_response(
                interaction.id, interaction.token, session=interaction._session, params=params
            )
        except discord.HTTPException as exc:
            bot.errors.append(("double", exc.status, exc.code))
        await interaction.edit_original_response(content="only once")

    @app_commands.command(description="Answer too late")
    async def slow(interaction: discord.Interaction) -> None:
        bot = proof(interaction)
        await asyncio.sleep(bot.slow_delay)
        try:
            await interaction.response.defer()
        except discord.HTTPException as exc:
            bot.errors.append(("slow", exc.status, exc.code))

    @app_commands.command(description="Ephemeral answer")
    async def secret(interaction: discord.Interaction) -> None:
        proof(interaction)
        await interaction.response.send_message("psst", ephemeral=True)

    @app_commands.command(description="A message with a persistent button")
    async def panel(interaction: discord.Interaction) -> None:
        proof(interaction)
        await interaction.response.send_message("panel", view=RerollView())

    @app_commands.command(description="Defer, then followups")
    async def later(interaction: discord.Interaction) -> None:
        bot = proof(interaction)
        await interaction.response.defer(thinking=True)
        first = await interaction.followup.send("first followup", wait=True)
        second = await interaction.followup.send("second followup", ephemeral=True, wait=True)
        bot.results["later"] = (first, second)

    @app_commands.command(description="Ask for an idea in a modal")
    async def idea(interaction: discord.Interaction) -> None:
        proof(interaction)
        await interaction.response.send_modal(IdeaModal(custom_id="idea-modal"))

    settings = app_commands.Group(name="settings", description="Settings")

    @settings.command(name="show", description="Show a setting")
    async def show(interaction: discord.Interaction, key: str) -> None:
        proof(interaction)
        await interaction.response.send_message(f"{key} = on", ephemeral=True)

    return [imagine, hello, double, slow, secret, panel, later, idea, settings]


def dm_command() -> app_commands.Command[Any, Any, Any]:
    @app_commands.command(description="DM the user")
    async def dm(interaction: discord.Interaction) -> None:
        bot = proof(interaction)
        await interaction.response.send_message("check your DMs", ephemeral=True)
        bot.results["dm"] = await interaction.user.send("dm hello")

    return dm


@contextlib.asynccontextmanager
async def running_bot(fake: FakeDiscord) -> AsyncIterator[ProofBot]:
    with fake.patch_discord():
        bot = ProofBot()
        task = asyncio.create_task(bot.start("fake-token"))
        try:
            await fake.wait_ready()
            await asyncio.wait_for(bot.ready_event.wait(), 5)
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(task, 5)


@pytest.fixture
def fake(fake_discord: FakeDiscord) -> FakeDiscord:
    return fake_discord


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[ProofBot]:
    async with running_bot(fake) as proof_bot:
        yield proof_bot


def channel_of(bot: ProofBot) -> discord.TextChannel:
    channel = bot.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_ready_builds_cache_and_registers_commands(fake: FakeDiscord, bot: ProofBot) -> None:
    assert bot.user is not None and bot.user.id == BOT and bot.user.bot
    assert bot.application_id == 1000
    guild = bot.get_guild(GUILD)
    assert guild is not None and guild.name == "Fake Guild" and guild.owner_id == OWNER
    assert guild.member_count == 3 and guild.me.id == BOT
    channel = channel_of(bot)
    perms = channel.permissions_for(guild.me)
    assert perms.send_messages and perms.attach_files and perms.embed_links
    assert not perms.administrator
    assert bot.ready_count == 1 and fake.identify_count == 1

    conn = fake.gateway_connections[0]
    expected = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
    assert (conn.kind, conn.path, conn.compression) == ("identify", "/", expected)
    assert conn.query == {"v": "10", "encoding": "json", "compress": expected}
    await fake.wait_for(lambda: fake.gateway.heartbeat_count >= 1)

    startup = [(r.route, r.status) for r in fake.requests[:2]]
    assert startup == [("GET /users/@me", 200), ("GET /oauth2/applications/@me", 200)]
    guild_names = {c["name"] for c in fake.registered_commands[GUILD]}
    assert guild_names == {
        "imagine",
        "hello",
        "double",
        "slow",
        "secret",
        "panel",
        "later",
        "idea",
        "settings",
    }
    settings = next(c for c in fake.registered_commands[GUILD] if c["name"] == "settings")
    assert settings["options"][0]["type"] == 1 and settings["options"][0]["name"] == "show"
    assert [c["name"] for c in fake.registered_commands["global"]] == ["dm"]
    synced = {c.name: c.id for c in bot.results["synced"]}
    assert synced == {c["name"]: int(c["id"]) for c in fake.registered_commands[GUILD]}

    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": "Bot fake-token"}
        async with session.get(f"{fake.api_base}/users/@me", headers=auth) as resp:
            assert resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["id"] == str(BOT)
        async with session.get(f"{fake.api_base}/users/@me") as resp:
            assert resp.status == 401


async def test_defer_then_edit_original_with_file(fake: FakeDiscord, bot: ProofBot) -> None:
    ix = await fake.send_interaction("imagine", PROMPT)
    await ix.wait_response()
    assert ix.response_type == 5 and not ix.ephemeral
    await fake.wait_for(lambda: "imagine" in bot.results)

    msg = fake.original_message(ix)
    states = [(s.content, s.attachments) for s in msg.history()]
    assert states == [("", []), ("Generating a cat… 50%", []), ("Done: a cat", ["image.png"])]
    assert msg.history()[0].flags == 128 and msg.flags == 0  # loading until the first edit
    assert msg.attachments[0].data == PNG and msg.attachments[0].content_type == "image/png"
    assert msg.embeds[0]["image"]["url"] == "attachment://image.png"
    assert (msg.interaction_id, msg.type, msg.author_id) == (ix.id, 20, BOT)

    callback = fake.requests_for(CALLBACK)
    assert [(r.json, r.query, r.status) for r in callback] == [
        ({"type": 5}, {"with_response": "1"}, 200)
    ]
    edits = fake.requests_for(ORIGINAL)
    assert [(r.status, [f.filename for f in r.files]) for r in edits] == [
        (200, []),
        (200, ["image.png"]),
    ]
    assert edits[1].json["attachments"] == [{"id": 0, "filename": "image.png"}]
    assert edits[1].files[0].data == PNG
    assert callback[0].at < edits[0].at < edits[1].at

    result = bot.results["imagine"]
    assert isinstance(result, discord.InteractionMessage) and result.id == msg.id
    assert result.attachments[0].width == 3 and result.attachments[0].height == 2
    assert result.embeds[0].image.url == result.attachments[0].url  # resolved like Discord
    assert await result.attachments[0].read() == PNG  # served by the fake CDN


async def test_send_message_reply_and_reactions(fake: FakeDiscord, bot: ProofBot) -> None:
    ix = await fake.send_interaction("hello")
    await fake.wait_for(lambda: "hello" in bot.results)
    assert ix.response_type == 4
    original = fake.original_message(ix)
    assert (original.content, original.type, original.edits) == ("Hello!", 20, [])
    assert fake.requests_for("GET /webhooks/{app}/{token}/messages/@original")[0].status == 200

    _, reply_obj = bot.results["hello"]
    reply = fake.messages[reply_obj.id]
    assert reply.type == 19 and reply.content == "a reply"
    assert reply.message_reference is not None
    assert int(reply.message_reference["message_id"]) == original.id
    assert reply_obj.reference is not None and reply_obj.reference.message_id == original.id
    sent = fake.requests_for("POST /channels/{channel}/messages")[0].json
    assert sent["message_reference"]["message_id"] == original.id
    assert reply.reactions == {"🔁": {BOT}}
    react = fake.requests_for("PUT /channels/{channel}/messages/{id}/reactions/{emoji}/@me")
    assert react[0].path == f"/channels/{CHANNEL}/messages/{reply.id}/reactions/🔁/@me"

    await fake.send_reaction_add(reply.id, "👍", MEMBER)
    await fake.wait_for(lambda: any(e.user_id == MEMBER for e in bot.raw_reactions))
    event = next(e for e in bot.raw_reactions if e.user_id == MEMBER)
    assert (event.message_id, event.message_author_id, event.guild_id) == (reply.id, BOT, GUILD)
    assert event.emoji.name == "👍" and event.member is not None and event.member.id == MEMBER
    own = [e for e in bot.raw_reactions if e.user_id == BOT]  # Discord echoes the bot's own
    assert [str(e.emoji) for e in own] == ["🔁"]
    assert reply.reactions == {"🔁": {BOT}, "👍": {MEMBER}}
    await fake.send_reaction_remove(reply.id, "👍", MEMBER)
    assert reply.reactions["👍"] == set()


async def test_second_callback_is_rejected_with_40060(fake: FakeDiscord, bot: ProofBot) -> None:
    ix = await fake.send_interaction("double")
    await fake.wait_for(lambda: fake.original_message(ix).content == "only once")
    assert bot.errors == [("double", 400, 40060)]
    assert [r.status for r in fake.requests_for(CALLBACK)] == [200, 400]
    assert fake.requests_for(CALLBACK)[1].response["code"] == 40060
    assert ix.response_type == 5 and ix.errors == [(CALLBACK, 400, 40060)]


async def test_late_callback_is_rejected_with_10062(fake: FakeDiscord, bot: ProofBot) -> None:
    fake.ack_deadline, bot.slow_delay = 0.2, 0.3
    ix = await fake.send_interaction("slow")
    await fake.wait_for(lambda: bool(bot.errors))
    assert bot.errors == [("slow", 404, 10062)]
    assert ix.response_type is None and ix.original_message_id is None


async def test_expired_token_gets_401_50027(fake: FakeDiscord, bot: ProofBot) -> None:
    ix = await fake.send_interaction("imagine", PROMPT)
    await fake.wait_for(lambda: "imagine" in bot.results)
    interaction = bot.interactions[-1]
    fake.expire_interaction(ix)
    with pytest.raises(discord.HTTPException) as edit_error:
        await interaction.edit_original_response(content="too late")
    with pytest.raises(discord.HTTPException) as followup_error:
        await interaction.followup.send("too late")
    for error in (edit_error.value, followup_error.value):
        assert (error.status, error.code) == (401, 50027)
    assert fake.original_message(ix).content == "Done: a cat"
    # Without expire_interaction, token_lifetime decides.
    ix2 = await fake.send_interaction("imagine", PROMPT)
    await fake.wait_for(lambda: len(bot.interactions) == 2 and "imagine" in bot.results)
    fake.token_lifetime = 0.0
    with pytest.raises(discord.HTTPException) as lifetime_error:
        await bot.interactions[-1].original_response()
    assert lifetime_error.value.status == 401 and ix2.errors[-1][1:] == (401, 50027)


async def test_rate_limits_are_retried_by_discord_py(fake: FakeDiscord, bot: ProofBot) -> None:
    fake.fail_next(ORIGINAL, 429, {"retry_after": 0.2})
    await fake.send_interaction("imagine", PROMPT)
    await fake.wait_for(lambda: "imagine" in bot.results)
    edits = fake.requests_for(ORIGINAL)
    assert [(r.status, r.injected) for r in edits] == [(429, True), (200, False), (200, False)]
    assert edits[1].at - edits[0].at >= 0.19 and edits[1].json == edits[0].json
    assert bot.errors == []

    channel = channel_of(bot)
    posts_route = "POST /channels/{channel}/messages"
    fake.fail_next(posts_route, 429, {"retry_after": 0.1, "global": True})
    message = await channel.send("after a global 429")
    posts = fake.requests_for("POST /channels/{channel}/messages")
    assert [r.status for r in posts] == [429, 200] and fake.messages[message.id].content
    # Without a Via header discord.py takes a 429 for a Cloudflare ban and raises at once.
    fake.fail_next(
        "POST /channels/{channel}/messages", 429, {"retry_after": 0.1}, headers={"Via": ""}
    )
    with pytest.raises(discord.HTTPException) as banned:
        await channel.send("banned")
    assert banned.value.status == 429
    fake.fail_next(
        "PATCH /channels/{channel}/messages/{id}",
        403,
        {"code": 50013, "message": "Missing Permissions"},
    )
    with pytest.raises(discord.Forbidden) as forbidden:
        await message.edit(content="nope")
    assert forbidden.value.code == 50013
    with pytest.raises(ValueError, match="unknown route"):
        fake.fail_next("PATCH /nowhere", 500, {})


async def test_message_limits_are_enforced(fake: FakeDiscord, bot: ProofBot) -> None:
    channel = channel_of(bot)

    async def rejected(**kwargs: Any) -> tuple[int, int, str]:
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(**kwargs)
        return info.value.status, info.value.code, info.value.text

    status, code, text = await rejected(content="x" * 2001)
    assert (status, code) == (400, 50035) and "content" in text and "2000" in text
    big_embeds = [discord.Embed(description="d" * 4000), discord.Embed(description="e" * 4000)]
    assert (await rejected(embeds=big_embeds))[:2] == (400, 50035)
    eleven = [discord.File(io.BytesIO(PNG), f"{n}.png") for n in range(11)]
    assert (await rejected(files=eleven))[:2] == (400, 50035)
    huge = discord.File(io.BytesIO(b"\0" * (10 * 1024 * 1024 + 1)), "huge.bin")
    assert (await rejected(file=huge))[:2] == (413, 40005)
    nine_mib = [discord.File(io.BytesIO(b"\0" * (9 * 1024 * 1024)), f"{n}.bin") for n in range(3)]
    assert (await rejected(files=nine_mib))[:2] == (413, 40005)  # 27 MiB request
    assert (await rejected())[:2] == (400, 50006)  # empty message
    assert all(r.status >= 400 for r in fake.requests_for("POST /channels"))
    assert fake.channel_messages() == []

    small = await fake.send_interaction("imagine", PROMPT, attachment_size_limit=50)
    await fake.wait_for(lambda: bool(bot.errors))
    assert bot.errors == [("imagine", 413, 40005)] and len(PNG) > 50
    assert fake.original_message(small).content == "Generating a cat… 50%"


async def test_unknown_deleted_and_ephemeral_messages_are_404(
    fake: FakeDiscord, bot: ProofBot
) -> None:
    channel = channel_of(bot)
    with pytest.raises(discord.NotFound) as unknown:
        await channel.get_partial_message(123456789).edit(content="x")
    message = await channel.send("bye")
    await message.delete()
    assert fake.messages[message.id].deleted
    with pytest.raises(discord.NotFound) as deleted:
        await message.edit(content="x")
    ix = await fake.send_interaction("secret")
    await ix.wait_response()
    secret = fake.original_message(ix)
    assert ix.ephemeral and secret.ephemeral and secret.flags == 64
    with pytest.raises(discord.NotFound) as ephemeral:
        await channel.get_partial_message(secret.id).edit(content="x")
    for error in (unknown, deleted, ephemeral):
        assert (error.value.status, error.value.code) == (404, 10008)
    assert secret.content == "psst" and secret.edits == []


async def test_resume_replays_missed_dispatches(fake: FakeDiscord, bot: ProofBot) -> None:
    fake.hold_gateway()  # the reconnect waits, so events sent meanwhile must be replayed
    await fake.disconnect_gateway()
    user_message = await fake.send_user_message("hi bot")
    await fake.send_reaction_add(user_message.id, "👍", MEMBER)
    fake.release_gateway()
    await fake.wait_for(lambda: bot.resumed_count == 1)
    assert fake.resume_count == 1 and fake.identify_count == 1 and bot.ready_count == 1
    assert fake.gateway.last_replay == ["MESSAGE_CREATE", "MESSAGE_REACTION_ADD"]
    conn = fake.gateway_connections[-1]
    assert (conn.kind, conn.path, len(fake.gateway_connections)) == ("resume", "/resume", 2)
    assert fake.gateway_connections[0].close_code == 4000
    await fake.wait_for(lambda: any(e.message_id == user_message.id for e in bot.raw_reactions))

    ix = await fake.send_interaction("hello")
    await ix.wait_response()
    assert ix.response_type == 4


async def test_invalid_session_makes_the_bot_identify_again(
    fake: FakeDiscord, bot: ProofBot
) -> None:
    await fake.disconnect_gateway(allow_resume=False)
    await fake.wait_for(lambda: bot.ready_count == 2)
    assert fake.identify_count == 2 and fake.resume_count == 0
    assert [c.kind for c in fake.gateway_connections] == ["identify", "invalid", "identify"]
    assert bot.get_guild(GUILD) is not None
    ix = await fake.send_interaction("hello")
    await ix.wait_response()
    assert ix.response_type == 4


@pytest.mark.parametrize("compression", ["zlib-stream", "none"])
async def test_gateway_compression_modes(compression: str) -> None:
    server = FakeDiscord(compression=compression)
    await server.start()
    try:
        async with running_bot(server) as proof_bot:
            assert server.gateway_connections[0].compression == compression
            assert server.gateway_connections[0].query["compress"] in ("zlib-stream", "zstd-stream")
            ix = await server.send_interaction("imagine", PROMPT)
            await server.wait_for(lambda: "imagine" in proof_bot.results)
            assert ix.response_type == 5 and server.original_message(ix).content == "Done: a cat"
    finally:
        await server.close()


async def test_components_autocomplete_followups_and_dms(fake: FakeDiscord, bot: ProofBot) -> None:
    panel = await fake.send_interaction("panel")
    await panel.wait_response()
    message = fake.original_message(panel)
    assert message.components[0]["components"][0]["custom_id"] == "reroll:1"
    click = await fake.send_component_interaction(message.id, "reroll:1", user_id=MEMBER)
    await click.wait_response()
    assert click.response_type == 7 and click.original_message_id == message.id
    assert [s.content for s in message.history()] == ["panel", "rerolled"]

    options = [*PROMPT, {"name": "style", "type": 3, "value": "p"}]
    complete = await fake.send_autocomplete("imagine", options, focused="style")
    await complete.wait_response()
    assert complete.response_type == 8
    assert complete.autocomplete_choices == [
        {"name": "photo", "value": "photo"},
        {"name": "pixel", "value": "pixel"},
    ]

    later = await fake.send_interaction("later")
    await fake.wait_for(lambda: "later" in bot.results)
    first, second = bot.results["later"]
    assert later.first_followup_edited_original and first.id == later.original_message_id
    assert fake.original_message(later).content == "first followup"
    assert later.followup_ids == [second.id] and fake.messages[second.id].ephemeral

    dm = await fake.send_interaction("dm", guild_id=None, user_id=MEMBER)
    await fake.wait_for(lambda: "dm" in bot.results)
    assert dm.guild_id is None and dm.payload["context"] == 1 and "user" in dm.payload
    dm_messages = fake.channel_messages(fake.dm_channels[MEMBER])
    assert [m.content for m in dm_messages] == ["check your DMs", "dm hello"]
    assert fake.requests_for("POST /users/@me/channels")[0].json == {"recipient_id": MEMBER}
    assert isinstance(bot.results["dm"].channel, discord.DMChannel)


async def test_modal_and_subcommand(fake: FakeDiscord, bot: ProofBot) -> None:
    ask = await fake.send_interaction("idea")
    await ask.wait_response()
    assert ask.response_type == 9 and ask.response_data is not None
    assert ask.response_data["custom_id"] == "idea-modal"
    submit = await fake.send_modal_submit("idea-modal", {"idea": "more cats"}, user_id=MEMBER)
    await submit.wait_response()
    assert submit.response_type == 4
    assert fake.original_message(submit).content == "noted: more cats"

    show = [{"name": "show", "type": 1, "options": [{"name": "key", "type": 3, "value": "nsfw"}]}]
    sub = await fake.send_interaction("settings", show)
    await sub.wait_response()
    assert sub.ephemeral and fake.original_message(sub).content == "nsfw = on"


async def test_attachment_option_and_old_interactions(fake: FakeDiscord, bot: ProofBot) -> None:
    upload = fake.add_cdn_file("ref.png", PNG, "image/png")
    options = [*PROMPT, {"name": "reference", "type": 11, "value": upload["id"]}]
    resolved = {"attachments": {upload["id"]: upload}}
    await fake.send_interaction("imagine", options, resolved=resolved)
    await fake.wait_for(lambda: "imagine" in bot.results)
    assert bot.results["reference"] == ("ref.png", PNG) and fake.cdn_requests

    old = await fake.send_interaction("hello", age=5.0)  # past the 3 s deadline already
    await fake.wait_for(lambda: bool(old.errors))
    assert old.errors == [(CALLBACK, 404, 10062)] and old.response_type is None
    assert bot.interactions[-1].created_at.timestamp() < time.time() - 4.5
