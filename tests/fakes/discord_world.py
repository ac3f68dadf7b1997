"""The world half of the fake Discord: guilds, members, roles, channels, permissions and the
JSON payloads discord.py parses. `FakeDiscord` (discord_server.py) builds on `DiscordWorld`.

One default guild comes from the constructor (`guild_id`, `channel_id`, `owner_id`,
`member_id`); `add_guild()` adds more, each with its own @everyone role, bot role, bot
member, owner, members and a text channel. `guild_id_for_shard()` picks a guild id that a
given shard owns under Discord's rule `shard_id = (guild_id >> 22) % shard_count`.
"""

from __future__ import annotations

import itertools
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

from tests.fakes.discord_gateway import (
    DISCORD_EPOCH_MS,
    JSON,
    FakeInteraction,
    FakeMessage,
    RecordedFile,
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
)

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

_guild_increment = itertools.count(1)


def shard_for_guild(guild_id: int, shard_count: int) -> int:
    """Discord's rule: which shard of `shard_count` receives this guild's events."""
    return (guild_id >> 22) % shard_count


def guild_id_for_shard(shard_id: int, shard_count: int) -> int:
    """A new snowflake-valid guild id (about a day old) that shard `shard_id` of
    `shard_count` owns. Ids are unique within a process (a counter in the low bits)."""
    if not 0 <= shard_id < shard_count:
        raise ValueError(f"shard_id must be in 0..{shard_count - 1}, not {shard_id}")
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS - 86_400_000
    ms += shard_id - ms % shard_count
    return (ms << 22) | (1 << 17) | (next(_guild_increment) & 0x1FFFF)


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


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    channel_id: int  # its first text channel (also the system channel)
    bot_role_id: int
    members: dict[int, FakeMember] = field(default_factory=dict)
    roles: dict[int, JSON] = field(default_factory=dict)  # the @everyone role has the guild's id


class DiscordWorld:
    """Guilds, users, channels and messages, and their Discord payloads.

    `members` / `roles` are the default guild's (the same dicts as `guilds[guild_id]`)."""

    def __init__(
        self,
        *,
        application_id: int,
        bot_user_id: int,
        guild_id: int,
        channel_id: int,
        owner_id: int,
        member_id: int,
        bot_permissions: int,
    ) -> None:
        self.application_id, self.bot_user_id, self.guild_id = application_id, bot_user_id, guild_id
        self.channel_id, self.owner_id, self.member_id = channel_id, owner_id, member_id
        self.http_base = ""
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.users: dict[int, JSON] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.snowflake = SnowflakeFactory()
        self.bot_role_id = guild_id + 1
        self.users[bot_user_id] = self._user(bot_user_id, "imagine-bot", bot=True)
        self._new_guild(guild_id, "Fake Guild", owner_id, channel_id, self.bot_role_id)
        default = self.guilds[guild_id]
        self.members, self.roles = default.members, default.roles
        self._populate(default, bot_permissions, [(owner_id, "owner"), (member_id, "member")])

    def _new_guild(
        self, guild_id: int, name: str, owner_id: int, channel_id: int, bot_role_id: int
    ) -> FakeGuild:
        if guild_id in self.guilds:
            raise ValueError(f"guild {guild_id} exists already")
        self.guilds[guild_id] = FakeGuild(guild_id, name, owner_id, channel_id, bot_role_id)
        return self.guilds[guild_id]

    def _populate(
        self, guild: FakeGuild, bot_permissions: int, members: Sequence[tuple[int, str | None]]
    ) -> None:
        self.add_role(guild.id, "@everyone", EVERYONE_PERMISSIONS, guild_id=guild.id)
        self.add_role(guild.bot_role_id, "imagine-bot", bot_permissions, guild_id=guild.id)
        bot_tags = {"bot_id": str(self.bot_user_id)}
        guild.roles[guild.bot_role_id].update(managed=True, tags=bot_tags)
        guild.members[self.bot_user_id] = FakeMember(self.bot_user_id, [guild.bot_role_id])
        for user_id, username in members:
            self.add_member(user_id, username=username, guild_id=guild.id)
        self.add_text_channel(guild.channel_id, "general", guild_id=guild.id)

    # --- world set-up -----------------------------------------------------------------------
    def add_guild(
        self,
        guild_id: int | None = None,
        *,
        shard: tuple[int, int] | None = None,
        name: str | None = None,
        owner_id: int | None = None,
        member_ids: Sequence[int] | None = None,
        channel_id: int | None = None,
        bot_permissions: int = BOT_PERMISSIONS,
    ) -> int:
        """Add a guild the bot is in; returns its id. `shard=(shard_id, shard_count)` picks an
        id that shard owns (else a fresh snowflake). The owner defaults to the default guild's
        owner and the members to [the default member], so send_* defaults work there too.
        Like the rest of the world set-up, call it before the bot connects (or dispatch its
        GUILD_CREATE yourself: `await fake.dispatch("GUILD_CREATE", fake.guild_payload(id))`)."""
        if guild_id is None:
            guild_id = guild_id_for_shard(*shard) if shard else self.snowflake()
        elif shard is not None and shard_for_guild(guild_id, shard[1]) != shard[0]:
            raise ValueError(f"guild {guild_id} is not on shard {shard}")
        owner = self.owner_id if owner_id is None else owner_id
        others = [self.member_id] if member_ids is None else list(member_ids)
        channel = channel_id or self.snowflake()
        guild_name = name or f"Fake Guild {len(self.guilds) + 1}"
        guild = self._new_guild(guild_id, guild_name, owner, channel, self.snowflake())
        members = [(owner, None)] + [(uid, None) for uid in others if uid != owner]
        self._populate(guild, bot_permissions, members)
        return guild_id

    def guild(self, guild_id: int | None = None) -> FakeGuild:
        """The guild with that id (the default guild for None)."""
        return self.guilds[self.guild_id if guild_id is None else guild_id]

    def add_member(
        self,
        user_id: int,
        *,
        roles: Sequence[int] = (),
        permissions: int | None = None,
        username: str | None = None,
        guild_id: int | None = None,
    ) -> None:
        self.users.setdefault(user_id, self._user(user_id, username or f"user{user_id}"))
        self.guild(guild_id).members[user_id] = FakeMember(user_id, list(roles), permissions)

    def add_role(
        self, role_id: int, name: str, permissions: int = 0, *, guild_id: int | None = None
    ) -> None:
        roles = self.guild(guild_id).roles
        roles[role_id] = {
            "id": str(role_id),
            "name": name,
            "permissions": str(permissions),
            "position": len(roles),
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
        self,
        channel_id: int,
        name: str,
        *,
        overwrites: list[JSON] | None = None,
        guild_id: int | None = None,
    ) -> None:
        gid = self.guild(guild_id).id
        position = sum(1 for c in self.channels.values() if c.guild_id == gid)
        self.channels[channel_id] = FakeChannel(
            channel_id, name, guild_id=gid, position=position, overwrites=overwrites or []
        )

    def dm_channel(self, user_id: int) -> FakeChannel:
        if user_id not in self.dm_channels:
            cid = self.snowflake()
            self.channels[cid] = FakeChannel(cid, "", type=1, recipient_id=user_id)
            self.dm_channels[user_id] = cid
        return self.channels[self.dm_channels[user_id]]

    def guild_channel_ids(self, guild_id: int | None = None) -> list[int]:
        gid = self.guild(guild_id).id
        return [c for c, ch in self.channels.items() if ch.guild_id == gid]

    # --- permissions --------------------------------------------------------------------------
    def guild_permissions(self, user_id: int, guild_id: int | None = None) -> int:
        guild = self.guild(guild_id)
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        if member is None:
            return 0
        perms = int(guild.roles[guild.id]["permissions"])
        for role_id in member.roles:
            perms |= int(guild.roles.get(role_id, {}).get("permissions", 0))
        if member.permissions is not None:
            perms = member.permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def channel_permissions(self, user_id: int, channel_id: int) -> int:
        channel = self.channels.get(channel_id)
        if channel is None or channel.guild_id is None:
            return DM_APP_PERMISSIONS
        guild = self.guild(channel.guild_id)
        perms = self.guild_permissions(user_id, guild.id)
        if perms == ALL_PERMISSIONS:
            return perms
        member = guild.members.get(user_id)
        roles = set(member.roles) if member is not None else set()
        ows = channel.overwrites
        levels = (  # Discord's order: @everyone, then all roles together, then the member
            [o for o in ows if int(o["id"]) == guild.id],
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

    def member_payload(
        self, user_id: int, *, with_user: bool = True, guild_id: int | None = None
    ) -> JSON:
        members = self.guilds[guild_id].members if guild_id in self.guilds else self.members
        member = members.get(user_id) or FakeMember(user_id, [])
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

    def guild_payload(self, guild_id: int | None = None, *, full: bool = True) -> JSON:
        """full=True: the GUILD_CREATE shape (members, channels, member_count, ...)."""
        guild = self.guild(guild_id)
        payload: JSON = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "banner": None,
            "owner_id": str(guild.owner_id),
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
            "system_channel_id": str(guild.channel_id),
            "system_channel_flags": 0,
            "roles": list(guild.roles.values()),
            "emojis": [],
            "stickers": [],
        }
        if full:
            payload.update(
                unavailable=False,
                large=False,
                joined_at=iso_now(),
                member_count=len(guild.members),
                members=[self.member_payload(uid, guild_id=guild.id) for uid in guild.members],
                channels=[self.channel_payload(c) for c in self.guild_channel_ids(guild.id)],
                threads=[],
                presences=[],
                voice_states=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
            )
        return payload

    def build_member_chunk(self, request: JSON) -> JSON:
        """The GUILD_MEMBERS_CHUNK answering an op 8 REQUEST_GUILD_MEMBERS."""
        gid = int(request.get("guild_id") or self.guild_id)
        members = self.guilds[gid].members if gid in self.guilds else {}
        ids = request.get("user_ids")
        wanted = [int(i) for i in ids] if isinstance(ids, list) else list(members)
        found = [u for u in wanted if u in members]
        return {
            "guild_id": str(gid),
            "members": [self.member_payload(u, guild_id=gid) for u in found],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": request.get("nonce"),
            "not_found": [str(u) for u in wanted if u not in found],
        }

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
