"""A fake Discord (REST + gateway) on 127.0.0.1 that the real discord.py client talks to.

    fake = FakeDiscord()
    await fake.start()
    with fake.patch_discord():  # sets Route.BASE and DiscordWebSocket.DEFAULT_GATEWAY
        task = asyncio.create_task(bot.start("any-token"))
        await fake.wait_ready()
        ix = await fake.send_interaction("imagine", [{"name": "prompt", "type": 3, "value": "x"}])
        await ix.wait_response()

Everything is recorded (`requests`, `messages`, `interactions`, `registered_commands`, the
gateway counters) and the fake rejects what Discord rejects (40060, 10062, 50027, 50035,
40005, 10008, ...). World set-up (`add_member`, `add_role`, `add_text_channel`) must happen
before the bot connects: GUILD_CREATE is built at IDENTIFY.

Shards and guilds: `add_guild(shard=(k, n))` adds a guild shard k of n owns (ids from
`guild_id_for_shard`); the constructor's guild (2000) is the default of every send_* helper
and is on shard 0. IDENTIFY with `shard: [k, n]` opens that shard's session (none: [0, 1]);
each gets READY/GUILD_CREATE for its own guilds only, guild events go to the owning shard
(DMs to shard 0), `wait_ready()` waits for every shard of the last IDENTIFY's count
(`shard_ids=` for a process running only some). `shards=` is what GET /gateway/bot
recommends. REST is shared by all sessions and processes.

Layout: discord_world.py holds guilds, members, channels and the JSON payloads,
discord_gateway.py the record types and the websocket, discord_rest.py the REST routes and
Discord's checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from types import EllipsisType
from typing import Any

import discord
import yarl
from aiohttp import web

from tests.fakes.discord_gateway import (
    JSON,
    FakeGateway,
    FakeInteraction,
    FakeMessage,
    GatewayConnectionInfo,
    MessageSnapshot,
    RecordedFile,
    RecordedRequest,
)
from tests.fakes.discord_rest import ApiError, Failure, RestApi
from tests.fakes.discord_world import (
    BOT_PERMISSIONS,
    DiscordWorld,
    FakeChannel,
    FakeGuild,
    FakeMember,
    guild_id_for_shard,
    shard_for_guild,
)

__all__ = [
    "ApiError",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeMessage",
    "GatewayConnectionInfo",
    "MessageSnapshot",
    "RecordedFile",
    "RecordedRequest",
    "guild_id_for_shard",
    "shard_for_guild",
]

MiB = 1024 * 1024


class FakeDiscord(DiscordWorld):
    guild_id_for_shard = staticmethod(guild_id_for_shard)
    shard_for_guild = staticmethod(shard_for_guild)

    def __init__(
        self,
        *,
        application_id: int = 1000,
        bot_user_id: int = 1000,
        guild_id: int = 2000,
        channel_id: int = 3000,
        owner_id: int = 4000,
        member_id: int = 5000,
        compression: str = "auto",
        ack_deadline: float = 3.0,
        token_lifetime: float = 900.0,
        heartbeat_interval_ms: int = 41250,
        bot_permissions: int = BOT_PERMISSIONS,
        token: str | None = None,
        allowed_intents: int | None = None,
        shards: int = 1,
    ) -> None:
        """`compression`: "auto" honours the client's ?compress= (zstd-stream only if a zstd
        module is importable), else "zlib-stream", "zstd-stream" or "none" (text frames).
        `token` / `allowed_intents` = None accept any token / any intents (else 4004 / 4014).
        `shards`: the shard count GET /gateway/bot recommends (what AutoShardedClient uses
        when it is given no shard_count). The default guild (id 2000) is on shard 0."""
        super().__init__(
            application_id=application_id,
            bot_user_id=bot_user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            owner_id=owner_id,
            member_id=member_id,
            bot_permissions=bot_permissions,
        )
        self.ack_deadline, self.token_lifetime = ack_deadline, token_lifetime
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.token, self.allowed_intents = token, allowed_intents
        self.shards = shards
        self.channel_file_limit = 10 * MiB  # per file on channel routes (boost tier 0/1)
        self.max_request_size = 25 * MiB
        self.api_base = self.gateway_url = ""
        self.requests: list[RecordedRequest] = []
        self.registered_commands: dict[str | int, list[JSON]] = {}  # "global" or guild id
        self.dm_closed: set[int] = set()  # users whose DM channel answers 403/50007
        self.cdn: dict[str, tuple[bytes, str]] = {}
        self.cdn_requests: list[str] = []
        self.by_token: dict[str, FakeInteraction] = {}
        self.failures: list[Failure] = []
        self.gateway = FakeGateway(self, compression)
        self.rest = RestApi(self)
        self._runner: web.AppRunner | None = None

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=256 * MiB)
        app.router.add_get("/", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)  # READY's resume_gateway_url
        app.router.add_get("/attachments/{tail:.*}", self._handle_cdn)
        app.router.add_route("*", "/api/v{version:[0-9]+}/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        port = server.sockets[0].getsockname()[1]
        self.http_base = f"http://127.0.0.1:{port}"
        self.api_base = f"{self.http_base}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{port}/"
        self.gateway.resume_url = f"ws://127.0.0.1:{port}/resume"

    async def close(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and gateway at this fake for the `with` block."""
        ws_class = discord.gateway.DiscordWebSocket
        old_base, old_gateway = discord.http.Route.BASE, ws_class.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        ws_class.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE, ws_class.DEFAULT_GATEWAY = old_base, old_gateway

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        return self.gateway.resume_count

    @property
    def gateway_connections(self) -> list[GatewayConnectionInfo]:
        return self.gateway.connections

    @property
    def routes(self) -> list[str]:
        """Every route template the fake serves (what fail_next and requests_for take)."""
        return self.rest.routes

    def add_cdn_file(self, filename: str, data: bytes, content_type: str) -> JSON:
        """Serve `data` like a user upload; returns a `resolved.attachments` entry."""
        att = self.rest.store_file(self.channel_id, RecordedFile(filename, data, content_type))
        return self.attachment_payload(att, ephemeral=True)

    # --- GatewayHost --------------------------------------------------------------------------
    def build_ready(
        self, session_id: str, resume_url: str, identify: JSON, guild_ids: list[int]
    ) -> JSON:
        me = {**self.user_payload(self.bot_user_id), "verified": True, "mfa_enabled": False}
        ready: JSON = {
            "v": 10,
            "user": me,
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": resume_url,
            "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if "shard" in identify:
            ready["shard"] = identify["shard"]
        return ready

    def guild_ids(self) -> list[int]:
        return list(self.guilds)

    def build_guild_creates(self, guild_ids: list[int]) -> list[JSON]:
        return [self.guild_payload(gid) for gid in guild_ids]

    def check_identify(self, identify: JSON) -> int | None:
        if self.token is not None and identify.get("token") != self.token:
            return 4004  # Authentication failed
        privileged = 1 << 1 | 1 << 8 | 1 << 15  # members, presences, message content
        asked = int(identify.get("intents") or 0) & privileged
        if self.allowed_intents is not None and asked & ~self.allowed_intents:
            return 4014  # Disallowed intents
        return None

    # --- driving the bot ------------------------------------------------------------------------
    async def dispatch(self, event: str, data: JSON) -> int | None:
        """Send any DISPATCH event (queued for RESUME while disconnected); returns its seq,
        or None when the bot's intents filter it out (see `gateway.dropped`)."""
        return await self.gateway.dispatch(event, data)

    async def send_interaction(
        self,
        name: str,
        options: list[JSON] | None = None,
        *,
        user_id: int | None = None,
        guild_id: int | EllipsisType | None = ...,
        channel_id: int | None = None,
        locale: str = "en-US",
        member_permissions: int | None = None,
        resolved: JSON | None = None,
        attachment_size_limit: int = 10 * MiB,
        type: int = 2,
        data: JSON | None = None,
        message_id: int | None = None,
        age: float = 0.0,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE (default: the owner runs /name in the default channel).

        guild_id: a guild from add_guild (default: the default guild, or the guild of
        `channel_id`); None makes it a DM. The channel defaults to the guild's text channel.
        The event goes to the session of the shard owning the guild (DMs: shard 0).
        For types 2/4 `data` gets name/options/id and, when the command was synced to the
        guild, `guild_id` (discord.py needs it to find guild commands); `data` entries
        override. message_id attaches that message (components).
        age > 0 makes it look created that many seconds ago, to discord.py (the id's
        timestamp, hence Interaction.created_at/expires_at) and to the fake's deadlines."""
        gid = self.guild_id if guild_id is ... else guild_id
        known_channel = self.channels.get(channel_id or 0)
        if guild_id is ... and known_channel is not None and known_channel.guild_id is not None:
            gid = known_channel.guild_id
        uid = self.owner_id if user_id is None else user_id
        if channel_id:
            cid = channel_id
        elif gid is None:
            cid = self.dm_channel(uid).id
        else:
            cid = self.guilds[gid].channel_id if gid in self.guilds else self.channel_id
        inner: JSON = {}
        if type in (2, 4):
            inner = {"name": name, "type": 1, "options": options or []}
            known = {c["name"]: c for c in self.registered_commands.get("global", [])}
            in_guild = {c["name"]: c for c in self.registered_commands.get(gid or 0, [])}
            if gid is not None and name in in_guild:
                known = in_guild
                inner["guild_id"] = str(gid)
            inner["id"] = known.get(name, {}).get("id", str(self.snowflake()))
            if resolved:
                inner["resolved"] = resolved
        inner.update(data or {})
        iid = self.snowflake(age)
        token = f"aW50ZXJhY3Rpb24.{iid}.{secrets.token_urlsafe(24)}"
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": type,
            "data": inner,
            "token": token,
            "version": 1,
            "locale": locale,
            "channel_id": str(cid),
            "channel": self.channel_payload(cid),
            "entitlements": [],
            "attachment_size_limit": attachment_size_limit,
            "context": 0 if gid else 1,
            "app_permissions": str(self.channel_permissions(self.bot_user_id, cid)),
        }
        if gid is not None:
            perms = member_permissions
            if perms is None:
                perms = self.channel_permissions(uid, cid)
            payload.update(
                guild_id=str(gid),
                guild_locale="en-US",
                authorizing_integration_owners={"0": str(gid)},
                guild={"id": str(gid), "locale": "en-US", "features": []},
                member={**self.member_payload(uid, guild_id=gid), "permissions": str(perms)},
            )
        else:  # a DM with the bot of a guild-installed app
            payload.update(user=self.user_payload(uid), authorizing_integration_owners={"0": "0"})
        if message_id is not None:
            payload["message"] = self.message_payload(self.messages[message_id])
        ix = FakeInteraction(
            id=iid,
            token=token,
            type=type,
            user_id=uid,
            channel_id=cid,
            guild_id=gid,
            name=inner.get("name") or inner.get("custom_id") or name,
            payload=payload,
            attachment_size_limit=attachment_size_limit,
            message_id=message_id,
            created_at=time.monotonic() - age,
        )
        self.interactions[iid] = ix
        self.by_token[token] = ix
        await self.dispatch("INTERACTION_CREATE", payload)
        return ix

    async def send_component_interaction(
        self,
        message_id: int,
        custom_id: str,
        *,
        user_id: int | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """A click on a button (component_type 2) or a select (3, with `values`)."""
        msg = self.messages[message_id]
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await self.send_interaction(
            custom_id,
            user_id=user_id,
            guild_id=msg.guild_id,
            channel_id=msg.channel_id,
            type=3,
            data=data,
            message_id=message_id,
        )

    async def send_autocomplete(
        self,
        name: str,
        options: list[JSON],
        *,
        focused: str,
        user_id: int | None = None,
        guild_id: int | EllipsisType | None = ...,
    ) -> FakeInteraction:
        """Type 4; the bot's type-8 answer lands in `autocomplete_choices`."""
        opts = [dict(o, focused=True) if o["name"] == focused else o for o in options]
        return await self.send_interaction(name, opts, user_id=user_id, guild_id=guild_id, type=4)

    async def send_modal_submit(
        self,
        custom_id: str,
        values: dict[str, str],
        *,
        user_id: int | None = None,
        message_id: int | None = None,
        guild_id: int | EllipsisType | None = ...,
        channel_id: int | None = None,
    ) -> FakeInteraction:
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in values.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        if message_id is not None and guild_id is ... and channel_id is None:
            msg = self.messages[message_id]
            guild_id, channel_id = msg.guild_id, msg.channel_id
        return await self.send_interaction(
            custom_id,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            type=5,
            data=data,
            message_id=message_id,
        )

    async def send_user_message(
        self,
        content: str,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
    ) -> FakeMessage:
        """A message written by a user (MESSAGE_CREATE), e.g. to reply to or react on; in
        `channel_id`, else in the text channel of `guild_id` (default: the default guild)."""
        uid = self.member_id if user_id is None else user_id
        channel = self.channels[channel_id or self.guild(guild_id).channel_id]
        msg = self.rest.new_message(channel, uid, {"content": content}, {})
        data = self.message_payload(msg)
        if channel.guild_id is not None:
            data["member"] = self.member_payload(uid, with_user=False, guild_id=channel.guild_id)
            session = self.gateway.session_for(channel.guild_id)
            no_content_intent = session is not None and not session.intents & 1 << 15
            if no_content_intent and f"<@{self.bot_user_id}>" not in content:
                data.update(content="", embeds=[], attachments=[], components=[])  # like Discord
        await self.dispatch("MESSAGE_CREATE", data)
        return msg

    async def send_reaction_add(
        self,
        message_id: int,
        emoji: str,
        user_id: int,
        *,
        channel_id: int | None = None,
        guild_id: int | EllipsisType | None = ...,
    ) -> None:
        """A user's reaction; channel and guild default to the message's (override to lie)."""
        msg = self.messages[message_id]
        msg.reactions.setdefault(emoji, set()).add(user_id)
        await self.dispatch_reaction(
            "MESSAGE_REACTION_ADD", msg, emoji, user_id, channel_id, guild_id=guild_id
        )

    async def send_reaction_remove(
        self,
        message_id: int,
        emoji: str,
        user_id: int,
        *,
        channel_id: int | None = None,
        guild_id: int | EllipsisType | None = ...,
    ) -> None:
        msg = self.messages[message_id]
        msg.reactions.get(emoji, set()).discard(user_id)
        await self.dispatch_reaction(
            "MESSAGE_REACTION_REMOVE", msg, emoji, user_id, channel_id, guild_id=guild_id
        )

    async def dispatch_reaction(
        self,
        event: str,
        msg: FakeMessage,
        emoji: str,
        user_id: int,
        channel_id: int | None = None,
        *,
        guild_id: int | EllipsisType | None = ...,
    ) -> None:
        gid = msg.guild_id if guild_id is ... else guild_id
        data: JSON = {
            "user_id": str(user_id),
            "channel_id": str(channel_id or msg.channel_id),
            "message_id": str(msg.id),
            "emoji": self.emoji_payload(emoji),
            "burst": False,
            "type": 0,
        }
        if gid is not None:
            data["guild_id"] = str(gid)
        if event == "MESSAGE_REACTION_ADD":
            data.update(message_author_id=str(msg.author_id), burst_colors=[])
            if gid is not None:
                data["member"] = self.member_payload(user_id, guild_id=gid)
        await self.dispatch(event, data)

    async def disconnect_gateway(
        self, *, allow_resume: bool = True, code: int = 4000, shard_id: int = 0
    ) -> None:
        """Close the websocket of shard `shard_id` (0: also an unsharded bot). discord.py
        reconnects to resume_gateway_url and RESUMEs (missed dispatches are replayed, then
        RESUMED) or, if not allowed, gets INVALID_SESSION and re-IDENTIFYs (after discord.py's
        5 s `before_identify_hook` sleep)."""
        await self.gateway.disconnect(allow_resume=allow_resume, code=code, shard_id=shard_id)

    def hold_gateway(self) -> None:
        """New gateway connections wait (before HELLO) until release_gateway()."""
        self.gateway.held.clear()

    def release_gateway(self) -> None:
        self.gateway.held.set()

    def fail_next(
        self,
        route: str,
        status: int,
        body: JSON,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests on `route` (a template from `routes`) with an error.

        429s get `Via`, `Retry-After` and `X-RateLimit-Scope`, and their body gets defaults
        (message, retry_after=1.0, global=False), so discord.py sleeps and retries; pass
        headers={"Via": ""} to look like a Cloudflare ban (discord.py then raises)."""
        if route not in self.rest.routes:
            raise ValueError(f"unknown route {route!r}; known: {self.rest.routes}")
        hdrs: dict[str, str] = {}
        if status == 429:
            body = {
                "message": "You are being rate limited.",
                "retry_after": 1.0,
                "global": False,
                **body,
            }
            hdrs = {
                "Retry-After": str(max(1, round(body["retry_after"]))),
                "X-RateLimit-Scope": "global" if body["global"] else "user",
            }
            if body["global"]:
                hdrs["X-RateLimit-Global"] = "true"
        self.failures.append(Failure(route, status, body, {**hdrs, **(headers or {})}, times))

    def expire_interaction(self, interaction: FakeInteraction) -> None:
        """Treat its token as older than token_lifetime: webhook calls then get 401/50027."""
        interaction.force_expired = True

    # --- queries ------------------------------------------------------------------------------
    def requests_for(self, route_prefix: str) -> list[RecordedRequest]:
        """Recorded requests whose route template starts with e.g. "PATCH /webhooks"."""
        return [r for r in self.requests if r.route.startswith(route_prefix)]

    def original_message(self, interaction: FakeInteraction) -> FakeMessage:
        if interaction.original_message_id is None:
            raise AssertionError(f"interaction {interaction.name!r} has no original response")
        return self.messages[interaction.original_message_id]

    def channel_messages(self, channel_id: int | None = None) -> list[FakeMessage]:
        cid = channel_id or self.channel_id
        return [m for m in self.messages.values() if m.channel_id == cid]

    async def wait_ready(
        self,
        timeout: float = 10,
        *,
        shard_ids: Iterable[int] | None = None,
        shard_count: int | None = None,
    ) -> None:
        """Until the bot has IDENTIFYed and READY + GUILD_CREATE were sent, on every shard
        expected: `shard_ids` (default: all) of `shard_count` (default: the count in the last
        IDENTIFY; an unsharded bot is shard 0 of 1). A fleet of processes each running some
        shards: wait per process with its shard_ids, or for all of them with the default."""
        wanted = None if shard_ids is None else list(shard_ids)
        deadline = time.monotonic() + timeout
        while not self.gateway.shards_ready(wanted, shard_count):
            if time.monotonic() > deadline:
                ready = sorted(k for k, s in self.gateway.active.items() if s.ready_sent)
                msg = f"bot did not IDENTIFY within {timeout}s (ready shards: {ready}); "
                raise AssertionError(msg + self._debug_summary())
            await asyncio.sleep(0.01)

    def events_for_shard(self, shard_id: int, shard_count: int | None = None) -> list[JSON]:
        """Every DISPATCH (op 0 payloads: t, s, d) the current session of that shard was sent
        or has queued, oldest first; shard_count defaults to the last IDENTIFY's."""
        session = self.gateway.session_of_shard(shard_id, shard_count)
        if session is None:
            raise LookupError(f"no gateway session for shard {shard_id}/{shard_count}")
        return [{"t": e.t, "s": e.seq, "d": e.d} for e in session.log]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,
        message: str = "",
    ) -> None:
        """Poll `predicate` every 10 ms; LookupError/AssertionError in it count as "not yet"."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if predicate():
                    return
                last = "False"
            except (LookupError, AssertionError) as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                what = message or getattr(predicate, "__qualname__", repr(predicate))
                summary = self._debug_summary()
                raise AssertionError(f"not true after {timeout}s: {what} ({last}); {summary}")
            await asyncio.sleep(0.01)

    def _debug_summary(self) -> str:
        last = [f"{r.route} -> {r.status}" for r in self.requests[-8:]]
        return (
            f"identify={self.identify_count} resume={self.resume_count} "
            f"connections={len(self.gateway_connections)} last requests={last}"
        )

    async def _handle_cdn(self, request: web.Request) -> web.Response:
        key = request.match_info["tail"]
        self.cdn_requests.append(key)
        if key not in self.cdn:
            return web.Response(status=404, text="Not Found")
        data, ctype = self.cdn[key]
        return web.Response(body=data, headers={"Content-Type": ctype})
