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
before the bot connects: GUILD_CREATE is built at IDENTIFY. Layout: discord_gateway.py holds
the record types and the websocket, discord_rest.py the REST routes and Discord's checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
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
    SnowflakeFactory,
    iso_now,
)
from tests.fakes.discord_rest import (
    ADD_REACTIONS,
    ADMINISTRATOR,
    ATTACH_FILES,
    EMBED_LINKS,
    MANAGE_MESSAGES,
    READ_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    ApiError,
    Failure,
    RestApi,
)

__all__ = [
    "ApiError",
    "FakeChannel",
    "FakeDiscord",
    "FakeInteraction",
    "FakeMember",
    "FakeMessage",
    "GatewayConnectionInfo",
    "MessageSnapshot",
    "RecordedFile",
    "RecordedRequest",
]

MiB = 1024 * 1024
ALL_PERMISSIONS = discord.Permissions.all().value
EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_HISTORY
    | ADD_REACTIONS
    | 1 << 0
    | 1 << 18
    | 1 << 26
    | 1 << 31
    | 1 << 38  # invite, ext emojis, nick, app cmds, threads
)
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES
DM_APP_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_HISTORY


@dataclass
class FakeMember:
    user_id: int
    roles: list[int]
    permissions: int | None = None  # explicit guild permissions instead of @everyone + roles
    joined_at: str = field(default_factory=iso_now)


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = 0  # 0 guild text, 1 DM
    guild_id: int | None = None
    recipient_id: int | None = None
    position: int = 0
    overwrites: list[JSON] = field(default_factory=list)  # {id, type: 0 role/1 member, allow, deny}


class FakeDiscord:
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
    ) -> None:
        """`compression`: "auto" honours the client's ?compress= (zstd-stream only if a zstd
        module is importable), else "zlib-stream", "zstd-stream" or "none" (text frames).
        `token` / `allowed_intents` = None accept any token / any intents (else 4004 / 4014)."""
        self.application_id, self.bot_user_id, self.guild_id = application_id, bot_user_id, guild_id
        self.channel_id, self.owner_id, self.member_id = channel_id, owner_id, member_id
        self.ack_deadline, self.token_lifetime = ack_deadline, token_lifetime
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.token, self.allowed_intents = token, allowed_intents
        self.channel_file_limit = 10 * MiB  # per file on channel routes (boost tier 0/1)
        self.max_request_size = 25 * MiB
        self.api_base = self.gateway_url = self.http_base = ""
        self.requests: list[RecordedRequest] = []
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.registered_commands: dict[str | int, list[JSON]] = {}  # "global" or guild id
        self.users: dict[int, JSON] = {}
        self.members: dict[int, FakeMember] = {}
        self.roles: dict[int, JSON] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.dm_closed: set[int] = set()  # users whose DM channel answers 403/50007
        self.cdn: dict[str, tuple[bytes, str]] = {}
        self.cdn_requests: list[str] = []
        self.by_token: dict[str, FakeInteraction] = {}
        self.failures: list[Failure] = []
        self.snowflake = SnowflakeFactory()
        self.gateway = FakeGateway(self, compression)
        self.rest = RestApi(self)
        self._runner: web.AppRunner | None = None
        self.bot_role_id = guild_id + 1
        self.users[bot_user_id] = self._user(bot_user_id, "imagine-bot", bot=True)
        self.add_role(guild_id, "@everyone", EVERYONE_PERMISSIONS)
        self.add_role(self.bot_role_id, "imagine-bot", bot_permissions)
        self.roles[self.bot_role_id].update(managed=True, tags={"bot_id": str(bot_user_id)})
        self.members[bot_user_id] = FakeMember(bot_user_id, [self.bot_role_id])
        self.add_member(owner_id, username="owner")
        self.add_member(member_id, username="member")
        self.add_text_channel(channel_id, "general")

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

    # --- world set-up -----------------------------------------------------------------------
    def add_member(
        self,
        user_id: int,
        *,
        roles: Sequence[int] = (),
        permissions: int | None = None,
        username: str | None = None,
    ) -> None:
        self.users.setdefault(user_id, self._user(user_id, username or f"user{user_id}"))
        self.members[user_id] = FakeMember(user_id, list(roles), permissions)

    def add_role(self, role_id: int, name: str, permissions: int = 0) -> None:
        self.roles[role_id] = {
            "id": str(role_id),
            "name": name,
            "permissions": str(permissions),
            "position": len(self.roles),
            "color": 0,
            "colors": {"primary_color": 0},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
        }

    def add_text_channel(
        self, channel_id: int, name: str, *, overwrites: list[JSON] | None = None
    ) -> None:
        self.channels[channel_id] = FakeChannel(
            channel_id,
            name,
            guild_id=self.guild_id,
            position=len(self.channels),
            overwrites=overwrites or [],
        )

    def add_cdn_file(self, filename: str, data: bytes, content_type: str) -> JSON:
        """Serve `data` like a user upload; returns a `resolved.attachments` entry."""
        att = self.rest.store_file(self.channel_id, RecordedFile(filename, data, content_type))
        return self.attachment_payload(att, ephemeral=True)

    # --- permissions --------------------------------------------------------------------------
    def guild_permissions(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        if member is None:
            return 0
        perms = int(self.roles[self.guild_id]["permissions"])
        for role_id in member.roles:
            perms |= int(self.roles.get(role_id, {}).get("permissions", 0))
        if member.permissions is not None:
            perms = member.permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def channel_permissions(self, user_id: int, channel_id: int) -> int:
        channel = self.channels.get(channel_id)
        if channel is None or channel.guild_id is None:
            return DM_APP_PERMISSIONS
        perms = self.guild_permissions(user_id)
        if perms == ALL_PERMISSIONS:
            return perms
        roles = set(self.members[user_id].roles) if user_id in self.members else set()
        ows = channel.overwrites
        levels = (  # Discord's order: @everyone, then all roles together, then the member
            [o for o in ows if int(o["id"]) == self.guild_id],
            [o for o in ows if o.get("type") == 0 and int(o["id"]) in roles],
            [o for o in ows if o.get("type") == 1 and int(o["id"]) == user_id],
        )
        for level in levels:
            deny = allow = 0
            for o in level:
                deny, allow = deny | int(o.get("deny", 0)), allow | int(o.get("allow", 0))
            perms = (perms & ~deny) | allow
        return perms if perms & VIEW_CHANNEL else 0

    # --- payload builders ---------------------------------------------------------------------
    @staticmethod
    def _user(user_id: int, name: str, *, bot: bool = False) -> JSON:
        return {
            "id": str(user_id),
            "username": name,
            "global_name": None if bot else name.title(),
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
            "flags": 0,
        }

    def user_payload(self, user_id: int) -> JSON:
        return dict(self.users.get(user_id) or self._user(user_id, f"user{user_id}"))

    def member_payload(self, user_id: int, *, with_user: bool = True) -> JSON:
        member = self.members.get(user_id) or FakeMember(user_id, [])
        payload: JSON = {
            "roles": [str(r) for r in member.roles],
            "joined_at": member.joined_at,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = self.user_payload(user_id)
        return payload

    def channel_payload(self, channel_id: int) -> JSON:
        ch = self.channels[channel_id]
        if ch.type == 1:
            return {
                "id": str(ch.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.user_payload(ch.recipient_id or 0)],
            }
        overwrites = [
            {
                "id": str(o["id"]),
                "type": o.get("type", 0),
                "allow": str(o.get("allow", 0)),
                "deny": str(o.get("deny", 0)),
            }
            for o in ch.overwrites
        ]
        return {
            "id": str(ch.id),
            "type": 0,
            "guild_id": str(ch.guild_id),
            "name": ch.name,
            "position": ch.position,
            "permission_overwrites": overwrites,
            "nsfw": False,
            "topic": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "last_message_id": None,
            "flags": 0,
        }

    def guild_payload(self, *, full: bool = True) -> JSON:
        """full=True: the GUILD_CREATE shape (members, channels, member_count, ...)."""
        payload: JSON = {
            "id": str(self.guild_id),
            "name": "Fake Guild",
            "icon": None,
            "splash": None,
            "banner": None,
            "owner_id": str(self.owner_id),
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "mfa_level": 0,
            "explicit_content_filter": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "features": [],
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "description": None,
            "system_channel_id": str(self.channel_id),
            "system_channel_flags": 0,
            "roles": list(self.roles.values()),
            "emojis": [],
            "stickers": [],
        }
        if full:
            guild_channels = [c for c, ch in self.channels.items() if ch.guild_id]
            payload.update(
                unavailable=False,
                large=False,
                joined_at=iso_now(),
                member_count=len(self.members),
                members=[self.member_payload(uid) for uid in self.members],
                channels=[self.channel_payload(c) for c in guild_channels],
                threads=[],
                presences=[],
                voice_states=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
            )
        return payload

    def attachment_payload(self, att: RecordedFile, *, ephemeral: bool = False) -> JSON:
        payload: JSON = {
            "id": str(att.id),
            "filename": att.filename,
            "size": att.size,
            "url": att.url,
            "proxy_url": att.url,
            "content_type": att.content_type,
        }
        if att.description is not None:
            payload["description"] = att.description
        if ephemeral:
            payload["ephemeral"] = True
        if att.data[:8] == b"\x89PNG\r\n\x1a\n" and att.data[12:16] == b"IHDR":
            payload["width"], payload["height"] = struct.unpack(">II", att.data[16:24])
        return payload

    def message_payload(self, msg: FakeMessage, *, nested: bool = True) -> JSON:
        """The message object Discord returns (ids as strings, attachment:// resolved)."""
        atts = {a.filename: a for a in msg.attachments}
        embeds = []
        for sent in msg.embeds:
            embed = {"type": "rich", **sent}
            for key in ("image", "thumbnail"):
                url = (embed.get(key) or {}).get("url", "")
                if url.startswith("attachment://") and url[13:] in atts:
                    cdn = atts[url[13:]].url
                    embed[key] = {**embed[key], "url": cdn, "proxy_url": cdn}
            embeds.append(embed)
        reactions = [
            {
                "emoji": self.emoji_payload(e),
                "count": len(users),
                "me": self.bot_user_id in users,
                "count_details": {"burst": 0, "normal": len(users)},
                "me_burst": False,
                "burst_colors": [],
            }
            for e, users in msg.reactions.items()
            if users
        ]
        payload: JSON = {
            "id": str(msg.id),
            "channel_id": str(msg.channel_id),
            "content": msg.content,
            "author": self.user_payload(msg.author_id),
            "timestamp": msg.timestamp,
            "edited_timestamp": msg.edited_timestamp,
            "tts": msg.tts,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "type": msg.type,
            "attachments": [
                self.attachment_payload(a, ephemeral=msg.ephemeral) for a in msg.attachments
            ],
            "embeds": embeds,
            "components": list(msg.components),
            "flags": msg.flags,
            "reactions": reactions,
        }
        if msg.guild_id is not None:
            payload["guild_id"] = str(msg.guild_id)
        if msg.webhook_id is not None:
            payload["webhook_id"] = payload["application_id"] = str(msg.webhook_id)
        ix = self.interactions.get(msg.interaction_id or 0)
        if ix is not None:
            user = self.user_payload(ix.user_id)
            owners = {"0": str(ix.guild_id)} if ix.guild_id else {"1": str(ix.user_id)}
            payload["interaction_metadata"] = {
                "id": str(ix.id),
                "type": ix.type,
                "user": user,
                "authorizing_integration_owners": owners,
            }
            payload["interaction"] = {
                "id": str(ix.id),
                "type": ix.type,
                "name": ix.name,
                "user": user,
            }
        if msg.message_reference is not None:
            payload["message_reference"] = msg.message_reference
            ref = self.messages.get(int(msg.message_reference["message_id"]))
            if nested:
                alive = ref is not None and not ref.deleted
                payload["referenced_message"] = (
                    self.message_payload(ref, nested=False) if ref is not None and alive else None
                )
        return payload

    @staticmethod
    def emoji_payload(emoji: str) -> JSON:
        """ "🔁" -> unicode emoji; "name:123" (what discord.py sends) -> custom emoji."""
        name, _, emoji_id = emoji.rpartition(":")
        if name and emoji_id.isdigit():
            return {
                "id": emoji_id,
                "name": name.removeprefix("a:"),
                "animated": name.startswith("a:"),
            }
        return {"id": None, "name": emoji}

    # --- GatewayHost --------------------------------------------------------------------------
    def build_ready(self, session_id: str, resume_url: str, identify: JSON) -> JSON:
        me = {**self.user_payload(self.bot_user_id), "verified": True, "mfa_enabled": False}
        ready: JSON = {
            "v": 10,
            "user": me,
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": resume_url,
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
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

    def build_guild_creates(self) -> list[JSON]:
        return [self.guild_payload()]

    def build_member_chunk(self, request: JSON) -> JSON:
        ids = request.get("user_ids")
        wanted = [int(i) for i in ids] if isinstance(ids, list) else list(self.members)
        found = [u for u in wanted if u in self.members]
        return {
            "guild_id": str(self.guild_id),
            "members": [self.member_payload(u) for u in found],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": request.get("nonce"),
            "not_found": [str(u) for u in wanted if u not in found],
        }

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

        guild_id=None makes it a DM. For types 2/4 `data` gets name/options/id and, when the
        command was synced to the guild, `guild_id` (discord.py needs it to find guild
        commands); `data` entries override. message_id attaches that message (components).
        age > 0 makes it look created that many seconds ago, to discord.py (the id's
        timestamp, hence Interaction.created_at/expires_at) and to the fake's deadlines."""
        gid = self.guild_id if guild_id is ... else guild_id
        uid = self.owner_id if user_id is None else user_id
        cid = channel_id or (self.channel_id if gid is not None else self.dm_channel(uid).id)
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
                member={**self.member_payload(uid), "permissions": str(perms)},
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
    ) -> FakeInteraction:
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in values.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        return await self.send_interaction(
            custom_id, user_id=user_id, type=5, data=data, message_id=message_id
        )

    async def send_user_message(
        self,
        content: str,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
    ) -> FakeMessage:
        """A message written by a user (MESSAGE_CREATE), e.g. to reply to or react on."""
        uid = self.member_id if user_id is None else user_id
        channel = self.channels[channel_id or self.channel_id]
        msg = self.rest.new_message(channel, uid, {"content": content}, {})
        data = self.message_payload(msg)
        if channel.guild_id is not None:
            data["member"] = self.member_payload(uid, with_user=False)
            session = self.gateway.current
            no_content_intent = session is not None and not session.intents & 1 << 15
            if no_content_intent and f"<@{self.bot_user_id}>" not in content:
                data.update(content="", embeds=[], attachments=[], components=[])  # like Discord
        await self.dispatch("MESSAGE_CREATE", data)
        return msg

    async def send_reaction_add(
        self, message_id: int, emoji: str, user_id: int, *, channel_id: int | None = None
    ) -> None:
        msg = self.messages[message_id]
        msg.reactions.setdefault(emoji, set()).add(user_id)
        await self.dispatch_reaction("MESSAGE_REACTION_ADD", msg, emoji, user_id, channel_id)

    async def send_reaction_remove(self, message_id: int, emoji: str, user_id: int) -> None:
        msg = self.messages[message_id]
        msg.reactions.get(emoji, set()).discard(user_id)
        await self.dispatch_reaction("MESSAGE_REACTION_REMOVE", msg, emoji, user_id)

    async def dispatch_reaction(
        self, event: str, msg: FakeMessage, emoji: str, user_id: int, channel_id: int | None = None
    ) -> None:
        data: JSON = {
            "user_id": str(user_id),
            "channel_id": str(channel_id or msg.channel_id),
            "message_id": str(msg.id),
            "emoji": self.emoji_payload(emoji),
            "burst": False,
            "type": 0,
        }
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
        if event == "MESSAGE_REACTION_ADD":
            data.update(message_author_id=str(msg.author_id), burst_colors=[])
            if msg.guild_id is not None:
                data["member"] = self.member_payload(user_id)
        await self.dispatch(event, data)

    async def disconnect_gateway(self, *, allow_resume: bool = True, code: int = 4000) -> None:
        """Close the bot's websocket. discord.py reconnects to resume_gateway_url and RESUMEs
        (missed dispatches are replayed, then RESUMED) or, if not allowed, gets INVALID_SESSION
        and re-IDENTIFYs (after discord.py's 5 s `before_identify_hook` sleep)."""
        await self.gateway.disconnect(allow_resume=allow_resume, code=code)

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

    async def wait_ready(self, timeout: float = 10) -> None:
        """Until the bot has IDENTIFYed and READY + GUILD_CREATE were sent."""
        try:
            await asyncio.wait_for(self.gateway.ready.wait(), timeout)
        except TimeoutError:
            msg = f"bot did not IDENTIFY within {timeout}s; {self._debug_summary()}"
            raise AssertionError(msg) from None

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

    def dm_channel(self, user_id: int) -> FakeChannel:
        if user_id not in self.dm_channels:
            cid = self.snowflake()
            self.channels[cid] = FakeChannel(cid, "", type=1, recipient_id=user_id)
            self.dm_channels[user_id] = cid
        return self.channels[self.dm_channels[user_id]]
