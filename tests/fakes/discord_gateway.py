"""Wire-level half of the fake Discord: record types, snowflakes and the gateway websocket.

`FakeDiscord` (discord_server.py) owns one `FakeGateway`; the gateway asks its host for
the READY / GUILD_CREATE payloads and keeps the session log that RESUME replays.

Shards: an IDENTIFY with `shard: [i, n]` (none means [0, 1]) makes the session of shard
(i, n); several live at once, from one AutoShardedClient or from several processes. A guild
event goes only to the session owning the guild, `(guild_id >> 22) % n == i`, a DM event to
shard 0; while that shard is disconnected it is queued for its RESUME.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import WSMsgType, web

JSON = dict[str, Any]
DISCORD_EPOCH_MS = 1420070400000
COMPRESSIONS = ("auto", "zlib-stream", "zstd-stream", "none")

# Intent bits that gate dispatches: (needed in a guild, needed in a DM).
_GUILD_MESSAGES, _GUILD_REACTIONS, _DM_MESSAGES, _DM_REACTIONS = 1 << 9, 1 << 10, 1 << 12, 1 << 13
_EVENT_INTENTS: dict[str, tuple[int, int]] = {
    "MESSAGE_CREATE": (_GUILD_MESSAGES, _DM_MESSAGES),
    "MESSAGE_UPDATE": (_GUILD_MESSAGES, _DM_MESSAGES),
    "MESSAGE_DELETE": (_GUILD_MESSAGES, _DM_MESSAGES),
    "MESSAGE_REACTION_ADD": (_GUILD_REACTIONS, _DM_REACTIONS),
    "MESSAGE_REACTION_REMOVE": (_GUILD_REACTIONS, _DM_REACTIONS),
}


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


class SnowflakeFactory:
    """Time-based ids, so discord.py's `created_at` / `Interaction.expires_at` are right."""

    def __init__(self) -> None:
        self._increment = 0

    def __call__(self, age: float = 0.0) -> int:
        """A new id; `age` seconds in the past if given."""
        self._increment = (self._increment + 1) & 0xFFF
        ms = int((time.time() - age) * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (1 << 17) | self._increment


@dataclass
class RecordedFile:
    """An uploaded file. On a FakeMessage it also carries the attachment id/url Discord gave it."""

    filename: str
    data: bytes
    content_type: str
    id: int = 0
    url: str = ""
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    method: str
    path: str  # path below the API base, without query
    query: dict[str, str]
    json: Any  # parsed payload_json, or JSON body, or None
    files: list[RecordedFile]
    route: str  # normalized template, e.g. "PATCH /webhooks/{app}/{token}/messages/@original"
    at: float  # time.monotonic() when received
    status: int = 0  # what the fake answered
    response: Any = None  # the body the fake answered with (None for 204)
    injected: bool = False  # answered by fail_next()


@dataclass
class MessageSnapshot:
    content: str
    embeds: list[JSON]
    attachments: list[str]  # filenames
    components: list[JSON]
    flags: int
    at: float


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    author_id: int
    guild_id: int | None = None
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[RecordedFile] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    interaction_id: int | None = None
    webhook_id: int | None = None
    message_reference: JSON | None = None
    tts: bool = False
    deleted: bool = False
    edits: list[MessageSnapshot] = field(default_factory=list)
    reactions: dict[str, set[int]] = field(default_factory=dict)
    created_at: float = field(default_factory=time.monotonic)
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    initial: MessageSnapshot | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    @property
    def loading(self) -> bool:
        return bool(self.flags & 128)

    @property
    def attachment_names(self) -> list[str]:
        return [a.filename for a in self.attachments]

    def snapshot(self) -> MessageSnapshot:
        return MessageSnapshot(
            content=self.content,
            embeds=[dict(e) for e in self.embeds],
            attachments=self.attachment_names,
            components=list(self.components),
            flags=self.flags,
            at=time.monotonic(),
        )

    def history(self) -> list[MessageSnapshot]:
        """Creation state followed by every edit, oldest first."""
        return ([self.initial] if self.initial else []) + self.edits


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    name: str  # command name or custom_id
    user_id: int
    channel_id: int
    guild_id: int | None
    payload: JSON  # the INTERACTION_CREATE data as dispatched
    attachment_size_limit: int
    message_id: int | None = None  # component / modal-from-message interactions
    created_at: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    response_data: JSON | None = None
    responded_at: float | None = None
    ephemeral: bool = False
    original_message_id: int | None = None
    autocomplete_choices: list[JSON] | None = None
    followup_ids: list[int] = field(default_factory=list)
    first_followup_edited_original: bool = False
    force_expired: bool = False
    errors: list[tuple[str, int, int]] = field(default_factory=list)  # (route, status, code)
    _responded: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def wait_response(self, timeout: float = 5) -> None:
        try:
            await asyncio.wait_for(self._responded.wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"interaction {self.name!r} ({self.id}) got no callback within {timeout}s; "
                f"rejections: {self.errors}"
            ) from None


@dataclass
class GatewayConnectionInfo:
    path: str
    query: dict[str, str]
    compression: str  # what the fake used: zlib-stream, zstd-stream or none
    opened_at: float
    kind: str = ""  # identify, resume or invalid
    session_id: str | None = None
    shard: tuple[int, int] | None = None  # (shard_id, shard_count) of its session
    closed_at: float | None = None
    close_code: int | None = None  # the fake's code if it closed first, else the client's


class GatewayHost(Protocol):
    heartbeat_interval_ms: int

    def build_ready(
        self, session_id: str, resume_url: str, identify: JSON, guild_ids: list[int]
    ) -> JSON: ...
    def guild_ids(self) -> list[int]: ...
    def build_guild_creates(self, guild_ids: list[int]) -> list[JSON]: ...
    def build_member_chunk(self, request: JSON) -> JSON: ...
    def check_identify(self, identify: JSON) -> int | None: ...  # a close code to refuse with


def _zstd_compressor() -> Callable[[bytes], bytes] | None:
    """The same choice discord.py makes: `zstandard`, else stdlib `compression.zstd`."""
    with contextlib.suppress(ImportError):
        mod: Any = importlib.import_module("zstandard")
        obj = mod.ZstdCompressor().compressobj()
        return lambda raw: obj.compress(raw) + obj.flush(mod.COMPRESSOBJ_FLUSH_BLOCK)
    with contextlib.suppress(ImportError):
        std: Any = importlib.import_module("compression.zstd")
        comp = std.ZstdCompressor()
        return lambda raw: comp.compress(raw, mode=std.ZstdCompressor.FLUSH_BLOCK)
    return None


def _zlib_compressor() -> Callable[[bytes], bytes]:
    obj = zlib.compressobj()  # one stream per connection, as Discord does
    return lambda raw: obj.compress(raw) + obj.flush(zlib.Z_SYNC_FLUSH)


def owns(shard: tuple[int, int], guild_id: int | None) -> bool:
    """Whether shard (shard_id, shard_count) gets this guild's events (None: a DM)."""
    if guild_id is None:
        return shard[0] == 0
    return (guild_id >> 22) % shard[1] == shard[0]


def _parse_shard(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's `shard`: absent means [0, 1]; None if it is not a valid [id, count]."""
    if value is None:
        return (0, 1)
    ok = isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)
    if not ok or not 0 <= value[0] < value[1]:
        return None
    return (value[0], value[1])


def _event_guild(t: str, d: JSON) -> int | None:
    gid = d.get("guild_id")
    if gid is None and t in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
        gid = d.get("id")
    return int(gid) if gid else None


@dataclass
class _LogEntry:
    seq: int
    t: str
    d: JSON
    owner: _Connection | None = None  # READY/RESUMED belong to one connection only


@dataclass(eq=False)
class _Session:
    session_id: str
    identify: JSON
    intents: int
    shard: tuple[int, int] = (0, 1)
    seq: int = 0
    log: list[_LogEntry] = field(default_factory=list)
    conn: _Connection | None = None
    resumable: bool = True
    ready_sent: bool = False  # READY and its GUILD_CREATEs went out
    closed: bool = False  # the client closed it (1000/1001): Discord forgets the session


class _Connection:
    def __init__(self, ws: web.WebSocketResponse, info: GatewayConnectionInfo) -> None:
        self.ws = ws
        self.info = info
        self.session: _Session | None = None
        self.sent_index = 0  # next session.log index to send
        self.lock = asyncio.Lock()
        self.compress: Callable[[bytes], bytes] | None = None
        if info.compression == "zlib-stream":
            self.compress = _zlib_compressor()
        elif info.compression == "zstd-stream":
            self.compress = _zstd_compressor()

    async def send_unlocked(self, payload: JSON) -> None:
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        if self.compress is None:
            await self.ws.send_str(raw.decode())
        else:
            await self.ws.send_bytes(self.compress(raw))

    async def send(self, payload: JSON) -> None:
        async with self.lock:
            await self.send_unlocked(payload)


class FakeGateway:
    def __init__(self, host: GatewayHost, compression: str) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}")
        if compression == "zstd-stream" and _zstd_compressor() is None:
            raise ValueError("zstd-stream needs `zstandard` (or Python 3.14's compression.zstd)")
        self.host = host
        self.compression = compression
        self.resume_url = ""
        self.sessions: dict[str, _Session] = {}
        self.active: dict[tuple[int, int], _Session] = {}  # (shard_id, shard_count) -> session
        self.last: _Session | None = None  # the most recent IDENTIFY's session
        self.connections: list[GatewayConnectionInfo] = []
        self.received: list[JSON] = []  # every payload the client sent, in order
        self.dropped: list[tuple[str, JSON]] = []  # dispatches the bot's intents filtered out
        self.unrouted: list[tuple[str, JSON]] = []  # dispatches no session's shard owns
        self.last_replay: list[str] = []  # event names replayed by the last RESUME
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.ack_heartbeats = True
        self.ready = asyncio.Event()
        self.held = asyncio.Event()  # cleared: new connections wait before HELLO
        self.held.set()
        self._live: set[_Connection] = set()

    # --- connection handling -------------------------------------------------------------
    def _choose_compression(self, asked: str | None) -> str:
        if self.compression != "auto":
            return self.compression
        if asked == "zlib-stream" or (asked == "zstd-stream" and _zstd_compressor() is not None):
            return asked
        return "none"  # text frames are always accepted by discord.py

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        query = dict(request.query)
        info = GatewayConnectionInfo(
            path=request.path,
            query=query,
            compression=self._choose_compression(query.get("compress")),
            opened_at=time.monotonic(),
        )
        self.connections.append(info)
        conn = _Connection(ws, info)
        self._live.add(conn)
        try:
            await self.held.wait()
            interval = self.host.heartbeat_interval_ms
            await conn.send({"op": 10, "d": {"heartbeat_interval": interval}, "s": None, "t": None})
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    raw = msg.data if isinstance(msg.data, str) else msg.data.decode()
                    await self._on_payload(conn, json.loads(raw))
        except (ConnectionError, RuntimeError):
            pass
        finally:
            info.closed_at = time.monotonic()
            client_closed = info.close_code is None  # else the fake closed first
            if client_closed:
                info.close_code = ws.close_code
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
                if client_closed and ws.close_code in (1000, 1001):
                    conn.session.closed = True
            self._live.discard(conn)
        return ws

    async def _on_payload(self, conn: _Connection, msg: JSON) -> None:
        self.received.append(msg)
        op, d = msg.get("op"), msg.get("d")
        if op == 1:
            self.heartbeat_count += 1
            if self.ack_heartbeats:
                await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == 8:
            chunk = self.host.build_member_chunk(d or {})
            await self._deliver(conn.session, "GUILD_MEMBERS_CHUNK", chunk)
        elif op not in (3, 4):
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: _Connection, d: JSON) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        refuse = self.host.check_identify(d)
        shard = _parse_shard(d.get("shard"))
        if shard is None:
            refuse = 4010  # Invalid shard
        if refuse is not None or shard is None:
            await conn.ws.close(code=refuse or 4010, message=b"Identify refused by the fake.")
            return
        self.identify_count += 1
        self.ready.clear()
        intents = int(d.get("intents") or 0)
        session = _Session(secrets.token_hex(16), identify=d, intents=intents, shard=shard)
        self.sessions[session.session_id] = session
        for key, old in list(self.active.items()):  # sessions their clients closed are gone
            if old.closed and old.conn is None:
                del self.active[key]
        self.active[shard] = session
        self.last = session
        conn.info.kind, conn.info.session_id = "identify", session.session_id
        conn.info.shard = shard
        guild_ids = [g for g in self.host.guild_ids() if owns(shard, g)]
        ready = self.host.build_ready(session.session_id, self.resume_url, d, guild_ids)
        self._append(session, "READY", ready, conn)
        for guild in self.host.build_guild_creates(guild_ids):
            self._append(session, "GUILD_CREATE", guild)
        await self._attach(session, conn, 0)
        session.ready_sent = True
        self.ready.set()

    async def _resume(self, conn: _Connection, d: JSON) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq") or 0
        active = session is not None and self.active.get(session.shard) is session
        usable = session is not None and session.resumable and active
        if session is None or not usable or seq > session.seq:
            conn.info.kind = "invalid"
            conn.info.shard = session.shard if session is not None else None
            if session is not None and active:
                del self.active[session.shard]
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        self.resume_count += 1
        conn.info.kind, conn.info.session_id = "resume", session.session_id
        conn.info.shard = session.shard
        start = next((i for i, e in enumerate(session.log) if e.seq > seq), len(session.log))
        self.last_replay = [e.t for e in session.log[start:] if e.owner is None]
        self._append(session, "RESUMED", {}, conn)
        old = session.conn
        await self._attach(session, conn, start)
        if old is not None and old is not conn:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await old.ws.close(code=4000)

    def _append(self, session: _Session, t: str, d: JSON, owner: _Connection | None = None) -> int:
        session.seq += 1
        session.log.append(_LogEntry(session.seq, t, d, owner))
        return session.seq

    async def _attach(self, session: _Session, conn: _Connection, start: int) -> None:
        conn.session, conn.sent_index = session, start
        session.conn = conn
        await self._flush(conn)

    async def _flush(self, conn: _Connection) -> None:
        session = conn.session
        if session is None:
            return
        async with conn.lock:
            while conn.sent_index < len(session.log):
                entry = session.log[conn.sent_index]
                if entry.owner is None or entry.owner is conn:
                    payload = {"op": 0, "t": entry.t, "s": entry.seq, "d": entry.d}
                    await conn.send_unlocked(payload)
                conn.sent_index += 1

    # --- used by FakeDiscord ----------------------------------------------------------------
    @property
    def current(self) -> _Session | None:
        """The most recent IDENTIFY's session while it is still active."""
        last = self.last
        return last if last is not None and self.active.get(last.shard) is last else None

    def session_for(self, guild_id: int | None) -> _Session | None:
        """The active session that gets this guild's events (None: a DM, shard 0)."""
        owners = [s for s in self.active.values() if owns(s.shard, guild_id)]
        return self.current if self.current in owners else (owners[0] if owners else None)

    def session_of_shard(self, shard_id: int, shard_count: int | None = None) -> _Session | None:
        if shard_count is None:
            if self.last is None:
                return None
            shard_count = self.last.shard[1]
        return self.active.get((shard_id, shard_count))

    def shards_ready(self, shard_ids: list[int] | None, shard_count: int | None) -> bool:
        count = shard_count or (self.last.shard[1] if self.last is not None else 0)
        if not count:
            return False
        wanted = range(count) if shard_ids is None else shard_ids
        sessions = [self.active.get((i, count)) for i in wanted]
        return all(s is not None and s.ready_sent for s in sessions)

    async def dispatch(self, t: str, d: JSON, *, required: bool = True) -> int | None:
        """Send (or, while its shard is disconnected, queue for RESUME) one DISPATCH event to
        every session whose shard owns its guild. Returns the (first) seq, None if intents
        filtered it out (`dropped`) or no shard owns it (`unrouted`); with no session at all
        it raises if `required`, else returns None."""
        if not self.active:
            if not required:
                return None
            raise RuntimeError(f"cannot dispatch {t}: no gateway session yet (await wait_ready())")
        guild_id = _event_guild(t, d)
        targets = [s for s in self.active.values() if owns(s.shard, guild_id)]
        if not targets:
            self.unrouted.append((t, d))
            return None
        seqs = [await self._deliver(session, t, d) for session in targets]
        return next((seq for seq in seqs if seq is not None), None)

    async def _deliver(self, session: _Session, t: str, d: JSON) -> int | None:
        if t in _EVENT_INTENTS:
            needed = _EVENT_INTENTS[t][0 if d.get("guild_id") else 1]
            if not session.intents & needed:
                self.dropped.append((t, d))
                return None
        seq = self._append(session, t, d)
        if session.conn is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):  # RESUME replays it
                await self._flush(session.conn)
        return seq

    async def disconnect(self, *, allow_resume: bool, code: int, shard_id: int = 0) -> None:
        live = [s for s in self.active.values() if s.shard[0] == shard_id and s.conn is not None]
        current = self.current
        session = current if current in live else (live[0] if live else None)
        if session is None or session.conn is None:
            raise RuntimeError(f"no live gateway connection of shard {shard_id} to drop")
        session.resumable = allow_resume
        conn, session.conn = session.conn, None
        conn.info.close_code = code
        await conn.ws.close(code=code, message=b"Disconnected by the fake.")

    async def close_all(self) -> None:
        self.held.set()
        for conn in list(self._live):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.close(code=1001, message=b"Fake Discord shutting down.")
