"""REST half of the fake Discord: routing, body parsing, Discord's checks, the message store
(create/edit semantics incl. `attachments`) and the route handlers.

Handlers read and change the world owned by `FakeDiscord` (`self.f`); every request is
recorded in `FakeDiscord.requests` with its normalized route template and our answer.
"""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from tests.fakes.discord_gateway import (
    JSON,
    FakeInteraction,
    FakeMessage,
    RecordedFile,
    RecordedRequest,
    iso_now,
)

if TYPE_CHECKING:
    from tests.fakes.discord_server import FakeDiscord
    from tests.fakes.discord_world import FakeChannel

MiB = 1024 * 1024
ADMINISTRATOR, ADD_REACTIONS, VIEW_CHANNEL, SEND_MESSAGES = 1 << 3, 1 << 6, 1 << 10, 1 << 11
MANAGE_MESSAGES, EMBED_LINKS, ATTACH_FILES, READ_HISTORY = 1 << 13, 1 << 14, 1 << 15, 1 << 16
FLAG_EPHEMERAL, FLAG_LOADING, FLAG_COMPONENTS_V2 = 64, 128, 1 << 15
# flags a new message may carry: suppress embeds, ephemeral, silent, voice message, components v2
CREATE_FLAGS = 4 | FLAG_EPHEMERAL | 4096 | 8192 | FLAG_COMPONENTS_V2
CALLBACKS_FOR = {1: {1}, 2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
_PARAM_RE = {"token": r"[^/]+", "emoji": r"[^/]+"}  # every other {param} is a snowflake
Handler = Callable[["_Ctx"], Awaitable[tuple[int, Any]]]


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> JSON:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def form_error(key: str, code: str, message: str) -> ApiError:
    """400/50035 with Discord's nested `errors` shape (dotted key -> nested dicts)."""
    errors: JSON = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(key.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


@dataclass
class Failure:
    route: str
    status: int
    body: JSON
    headers: dict[str, str]
    times: int


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    bot_auth: bool


@dataclass
class _Ctx:
    request: web.Request
    params: dict[str, str]
    query: dict[str, str]
    payload: Any
    files: dict[int, RecordedFile]
    size: int
    route: str
    interaction: FakeInteraction | None = None

    @property
    def body(self) -> JSON:
        return self.payload if isinstance(self.payload, dict) else {}


class RestApi:
    def __init__(self, fake: FakeDiscord) -> None:
        self.f = fake
        self._routes = self._build_routes()

    @property
    def routes(self) -> list[str]:
        return [f"{r.method} {r.template}" for r in self._routes]

    # --- plumbing ---------------------------------------------------------------------------
    def _build_routes(self) -> list[_Route]:
        wh, ch = "/webhooks/{app}/{token}", "/channels/{channel}"
        msg = ch + "/messages"
        cmds, gcmds = "/applications/{app}/commands", "/applications/{app}/guilds/{guild}/commands"
        table: list[tuple[str, str, Handler, bool]] = [  # (method, template, handler, bot auth)
            ("GET", "/users/@me", self._r_me, True),
            ("GET", "/users/{user}", self._r_user, True),
            ("POST", "/users/@me/channels", self._r_create_dm, True),
            ("GET", "/oauth2/applications/@me", self._r_app, True),
            ("GET", "/applications/@me", self._r_app, True),
            ("GET", "/gateway", self._r_gateway, False),
            ("GET", "/gateway/bot", self._r_gateway, True),
            ("GET", cmds, self._r_commands, True),
            ("PUT", cmds, self._r_commands, True),
            ("GET", gcmds, self._r_commands, True),
            ("PUT", gcmds, self._r_commands, True),
            ("POST", "/interactions/{id}/{token}/callback", self._r_callback, False),
            ("GET", wh + "/messages/@original", self._r_webhook_message, False),
            ("PATCH", wh + "/messages/@original", self._r_webhook_message, False),
            ("DELETE", wh + "/messages/@original", self._r_webhook_message, False),
            ("GET", wh + "/messages/{id}", self._r_webhook_message, False),
            ("PATCH", wh + "/messages/{id}", self._r_webhook_message, False),
            ("DELETE", wh + "/messages/{id}", self._r_webhook_message, False),
            ("POST", wh, self._r_followup, False),
            ("GET", ch, self._r_channel, True),
            ("POST", ch + "/typing", self._r_typing, True),
            ("GET", msg, self._r_history, True),
            ("POST", msg, self._r_create_message, True),
            ("GET", msg + "/{id}", self._r_channel_message, True),
            ("PATCH", msg + "/{id}", self._r_channel_message, True),
            ("DELETE", msg + "/{id}", self._r_channel_message, True),
            ("PUT", msg + "/{id}/reactions/{emoji}/@me", self._r_reaction, True),
            ("DELETE", msg + "/{id}/reactions/{emoji}/@me", self._r_reaction, True),
            ("DELETE", msg + "/{id}/reactions/{emoji}/{user}", self._r_reaction, True),
            ("GET", "/guilds/{guild}", self._r_guild, True),
            ("GET", "/guilds/{guild}/channels", self._r_guild, True),
            ("GET", "/guilds/{guild}/roles", self._r_guild, True),
            ("GET", "/guilds/{guild}/members/{user}", self._r_guild, True),
        ]
        routes = []
        for method, template, handler, auth in table:
            pattern = re.sub(
                r"\{(\w+)\}", lambda m: f"(?P<{m[1]}>{_PARAM_RE.get(m[1], '[0-9]+')})", template
            )
            routes.append(_Route(method, template, re.compile(f"^{pattern}$"), handler, auth))
        return routes

    @staticmethod
    def _respond(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        hdrs = {k: v for k, v in {"Via": "1.1 google", **(headers or {})}.items() if v}
        if status == 204 or body is None:
            return web.Response(status=status, headers=hdrs)
        hdrs["Content-Type"] = "application/json"  # exactly: discord.py compares it verbatim
        return web.Response(status=status, body=json.dumps(body).encode(), headers=hdrs)

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, dict[int, RecordedFile], int]:
        """(payload_json or JSON body, uploaded files by their files[n] index, bytes read)."""
        if not request.content_type.startswith("multipart/"):
            raw = await request.read()
            return (json.loads(raw) if raw else None), {}, len(raw)
        payload: Any = None
        files: dict[int, RecordedFile] = {}
        size = 0
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            data = bytes(await part.read(decode=False))
            size += len(data)
            if part.name == "payload_json":
                payload = json.loads(data)
            elif part.filename is not None:
                index = re.fullmatch(r"files\[(\d+)\]", part.name or "")
                ctype = part.headers.get("Content-Type", "application/octet-stream")
                n = int(index[1]) if index else len(files)
                files[n] = RecordedFile(part.filename, data, ctype)
        return payload, files, size

    async def handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        route = next((r for r in self._routes if r.method == method and r.regex.match(path)), None)
        bad_json = False
        try:
            payload, files, size = await self._read_body(request)
        except ValueError:
            payload, files, size, bad_json = None, {}, 0, True
        template = f"{method} {route.template}" if route else f"{method} UNKNOWN {path}"
        query = dict(request.query)
        rec = RecordedRequest(
            method, path, query, payload, list(files.values()), template, time.monotonic()
        )
        self.f.requests.append(rec)
        try:
            if bad_json:
                raise ApiError(400, 50109, "The request body contains invalid JSON.")
            if route is None:
                raise ApiError(404, 0, "404: Not Found")
            if route.bot_auth and not self._authorized(request):
                raise ApiError(401, 0, "401: Unauthorized")
            failure = next((x for x in self.f.failures if x.route == template and x.times), None)
            if failure is not None:
                failure.times -= 1
                rec.injected, rec.status, rec.response = True, failure.status, failure.body
                return self._respond(failure.status, failure.body, failure.headers)
            match = route.regex.match(path)
            assert match is not None
            ctx = _Ctx(request, match.groupdict(), query, payload, files, size, template)
            try:
                status, body = await route.handler(ctx)
            except ApiError as exc:
                if ctx.interaction is not None:
                    ctx.interaction.errors.append((template, exc.status, exc.code))
                raise
        except ApiError as exc:
            status, body = exc.status, exc.body()
        rec.status, rec.response = status, body
        return self._respond(status, body)

    def _authorized(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        return auth.startswith("Bot ") and self.f.token in (None, auth[4:])

    def _validate(
        self, ctx: _Ctx, payload: JSON, *, file_limit: int, creating: bool, prefix: str = ""
    ) -> None:
        """Discord's message checks: sizes first (413), then the form (400)."""
        files = list(ctx.files.values())
        if ctx.size > self.f.max_request_size or any(f.size > file_limit for f in files):
            raise ApiError(413, 40005, "Request entity too large")
        content = payload.get("content") or ""
        embeds = payload.get("embeds") or []
        components = payload.get("components") or []
        too_long = "BASE_TYPE_MAX_LENGTH"
        if len(content) > 2000:
            raise form_error(prefix + "content", too_long, "Must be 2000 or fewer in length.")
        if len(embeds) > 10:
            raise form_error(prefix + "embeds", too_long, "Must be 10 or fewer in length.")
        total = 0
        for i, embed in enumerate(embeds):
            fields = embed.get("fields") or []
            if len(fields) > 25:
                raise form_error(f"{prefix}embeds.{i}.fields", too_long, "Must be 25 or fewer.")
            parts = {
                "title": (embed.get("title"), 256),
                "description": (embed.get("description"), 4096),
                "footer.text": ((embed.get("footer") or {}).get("text"), 2048),
                "author.name": ((embed.get("author") or {}).get("name"), 256),
            }
            for n, fld in enumerate(fields):
                parts[f"fields.{n}.name"] = (fld.get("name"), 256)
                parts[f"fields.{n}.value"] = (fld.get("value"), 1024)
            for key, (text, limit) in parts.items():
                total += len(text or "")
                if len(text or "") > limit:
                    msg = f"Must be {limit} or fewer in length."
                    raise form_error(f"{prefix}embeds.{i}.{key}", too_long, msg)
        if total > 6000:
            msg = "Embed size exceeds maximum size of 6000"
            raise form_error(prefix + "embeds", "MAX_EMBED_SIZE_EXCEEDED", msg)
        if len(files) > 10 or len(payload.get("attachments") or []) > 10:
            raise form_error(prefix + "attachments", too_long, "Must be 10 or fewer in length.")
        if not int(payload.get("flags") or 0) & FLAG_COMPONENTS_V2:
            ids = [c.get("custom_id") for row in components for c in row.get("components", [])]
            ids = [c for c in ids if c is not None]
            if len(components) > 5 or any(len(r.get("components", [])) > 5 for r in components):
                raise form_error(prefix + "components", too_long, "Must be 5 or fewer in length.")
            if any(not 1 <= len(c) <= 100 for c in ids) or len(ids) != len(set(ids)):
                msg = "custom_id must be 1-100 characters and unique in the message"
                raise form_error(prefix + "components", "COMPONENT_CUSTOM_ID_INVALID", msg)
        has_body = content or embeds or files or components or payload.get("sticker_ids")
        if creating and not (has_body or payload.get("poll")):
            raise ApiError(400, 50006, "Cannot send an empty message")

    # --- message store (also used by FakeDiscord's send_* helpers) ----------------------------
    def store_file(
        self, channel_id: int, upload: RecordedFile, entry: JSON | None = None
    ) -> RecordedFile:
        """Give an upload an attachment id and a (signed-looking) CDN url on this server."""
        att_id = self.f.snowflake()
        ctype = mimetypes.guess_type(upload.filename)[0] or upload.content_type
        filename = (entry or {}).get("filename") or upload.filename
        self.f.cdn[f"{channel_id}/{att_id}/{filename}"] = (upload.data, ctype)
        now = int(time.time())
        path = f"{channel_id}/{att_id}/{quote(filename)}"
        url = f"{self.f.http_base}/attachments/{path}?ex={now + 86400:x}&is={now:x}&hm={att_id:x}&"
        return RecordedFile(
            filename,
            upload.data,
            ctype,
            id=att_id,
            url=url,
            description=(entry or {}).get("description"),
        )

    def _resolve_attachments(
        self, msg: FakeMessage, payload: JSON, files: dict[int, RecordedFile], *, editing: bool
    ) -> list[RecordedFile]:
        """`attachments` in a payload lists the files to keep: existing ones by attachment id,
        new uploads by their files[n] index. Without it, an edit keeps all and adds uploads."""
        entries = payload.get("attachments")
        if entries is None:
            kept = list(msg.attachments) if editing else []
            return kept + [self.store_file(msg.channel_id, f) for f in files.values()]
        existing = {a.id: a for a in msg.attachments} if editing else {}
        result, used = [], set()
        for n, entry in enumerate(entries):
            att_id = int(entry.get("id", -1))
            if att_id in files:
                result.append(self.store_file(msg.channel_id, files[att_id], entry))
                used.add(att_id)
            elif att_id in existing:
                result.append(existing[att_id])
            else:
                raise form_error(f"attachments.{n}.id", "ATTACHMENT_NOT_FOUND", "Unknown id")
        new = [self.store_file(msg.channel_id, f) for i, f in files.items() if i not in used]
        return result + new

    def new_message(
        self,
        channel: FakeChannel,
        author_id: int,
        payload: JSON,
        files: dict[int, RecordedFile],
        *,
        flags: int = 0,
        interaction: FakeInteraction | None = None,
        type: int = 0,
    ) -> FakeMessage:
        msg = FakeMessage(
            id=self.f.snowflake(),
            channel_id=channel.id,
            author_id=author_id,
            guild_id=channel.guild_id,
            content=payload.get("content") or "",
            embeds=list(payload.get("embeds") or []),
            flags=flags,
            type=type,
            components=list(payload.get("components") or []),
            tts=bool(payload.get("tts")),
            interaction_id=interaction.id if interaction else None,
            webhook_id=self.f.application_id if interaction else None,
        )
        msg.attachments = self._resolve_attachments(msg, payload, files, editing=False)
        msg.initial = msg.snapshot()
        self.f.messages[msg.id] = msg
        return msg

    def edit_message(self, msg: FakeMessage, payload: JSON, files: dict[int, RecordedFile]) -> None:
        """Apply an edit (fields absent from the payload are kept) and record a snapshot."""
        msg.attachments = self._resolve_attachments(msg, payload, files, editing=True)
        if "content" in payload:
            msg.content = payload["content"] or ""
        if "embeds" in payload:
            msg.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            msg.components = list(payload["components"] or [])
        if payload.get("flags") is not None:  # only SUPPRESS_EMBEDS / IS_COMPONENTS_V2 change
            msg.flags = (msg.flags & ~4) | (int(payload["flags"]) & (4 | FLAG_COMPONENTS_V2))
        msg.flags &= ~FLAG_LOADING
        msg.edited_timestamp = iso_now()
        msg.edits.append(msg.snapshot())

    async def announce(self, event: str, msg: FakeMessage) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE as Discord sends them (never for ephemeral ones)."""
        if msg.ephemeral:
            return
        data = self.f.message_payload(msg)
        if event == "MESSAGE_DELETE":
            data = {k: data[k] for k in ("id", "channel_id", "guild_id") if k in data}
        await self.f.gateway.dispatch(event, data, required=False)

    # --- users, application, commands -----------------------------------------------------
    async def _r_me(self, ctx: _Ctx) -> tuple[int, Any]:
        return 200, {**self.f.user_payload(self.f.bot_user_id), "verified": True}

    async def _r_user(self, ctx: _Ctx) -> tuple[int, Any]:
        uid = int(ctx.params["user"])
        if uid not in self.f.users:
            raise ApiError(404, 10013, "Unknown User")
        return 200, self.f.user_payload(uid)

    async def _r_app(self, ctx: _Ctx) -> tuple[int, Any]:
        f = self.f
        return 200, {
            "id": str(f.application_id),
            "name": "imagine-bot",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "00" * 32,
            "flags": 0,
            "owner": f.user_payload(f.owner_id),
            "team": None,
            "summary": "",
            "bot": f.user_payload(f.bot_user_id),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
        }

    async def _r_gateway(self, ctx: _Ctx) -> tuple[int, Any]:
        if ctx.route == "GET /gateway":
            return 200, {"url": self.f.gateway_url}
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        body = {"url": self.f.gateway_url, "shards": self.f.shards, "session_start_limit": limit}
        return 200, body

    async def _r_commands(self, ctx: _Ctx) -> tuple[int, Any]:
        """Bulk overwrite keeps the ids of commands that keep their name, like Discord."""
        f = self.f
        if int(ctx.params["app"]) != f.application_id:
            raise ApiError(403, 50001, "Missing Access")
        key: str | int = int(ctx.params["guild"]) if "guild" in ctx.params else "global"
        if ctx.request.method == "GET":
            return 200, f.registered_commands.get(key, [])
        old = {c["name"]: c["id"] for c in f.registered_commands.get(key, [])}
        result = []
        for n, cmd in enumerate(ctx.payload or []):
            name, desc = cmd.get("name", ""), cmd.get("description", "")
            chat_input = cmd.get("type", 1) == 1
            # User / message commands (context menus) may have spaces and capitals.
            rule = r"[-_\w]{1,32}" if chat_input else r"[-_\w ]{1,32}"
            if not re.fullmatch(rule, name) or (chat_input and name != name.lower()):
                raise form_error(f"{n}.name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid name")
            if chat_input and not 1 <= len(desc) <= 100:
                raise form_error(f"{n}.description", "BASE_TYPE_BAD_LENGTH", "Must be 1-100 long.")
            if len(cmd.get("options") or []) > 25:
                raise form_error(f"{n}.options", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer.")
            echo = {"type": 1, "options": [], "default_member_permissions": None, "nsfw": False}
            echo["description"] = ""  # what Discord answers for context menus
            echo.update(cmd)
            echo.update(
                id=old.get(name) or str(f.snowflake()),
                version=str(f.snowflake()),
                application_id=str(f.application_id),
            )
            if key != "global":
                echo["guild_id"] = str(key)
            result.append(echo)
        f.registered_commands[key] = result
        return 200, result

    # --- interactions ------------------------------------------------------------------------
    async def _r_callback(self, ctx: _Ctx) -> tuple[int, Any]:
        f = self.f
        ix = f.interactions.get(int(ctx.params["id"]))
        if ix is None or ix.token != ctx.params["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        ctx.interaction = ix
        if ix.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if ix.force_expired or time.monotonic() - ix.created_at > f.ack_deadline:
            raise ApiError(404, 10062, "Unknown interaction")
        ctype = int(ctx.body.get("type") or 0)
        data = ctx.body.get("data") or {}
        if ctype not in CALLBACKS_FOR.get(ix.type, set()):
            msg_ = f"Callback type {ctype} is invalid for interaction type {ix.type}"
            raise form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", msg_)
        msg: FakeMessage | None = None
        channel = f.channels[ix.channel_id]
        kind = 20 if ix.type == 2 else 0  # CHAT_INPUT_COMMAND message type
        limit = ix.attachment_size_limit
        if ctype == 4:
            self._validate(ctx, data, file_limit=limit, creating=True, prefix="data.")
            flags = int(data.get("flags") or 0) & CREATE_FLAGS
            msg = self.new_message(
                channel, f.bot_user_id, data, ctx.files, flags=flags, interaction=ix, type=kind
            )
        elif ctype == 5:  # the "thinking" message; only EPHEMERAL is honoured
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            msg = self.new_message(
                channel, f.bot_user_id, {}, {}, flags=flags, interaction=ix, type=kind
            )
        elif ctype == 7:
            if ix.message_id is None:
                raise form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", "No message")
            self._validate(ctx, data, file_limit=limit, creating=False, prefix="data.")
            msg = f.messages[ix.message_id]
            self.edit_message(msg, data, ctx.files)
        elif ctype == 8 and len(data.get("choices") or []) > 25:
            raise form_error("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer.")
        elif ctype == 9 and not (data.get("custom_id") and data.get("title")):
            raise form_error("data", "BASE_TYPE_REQUIRED", "This field is required")
        ix.response_type, ix.response_data, ix.responded_at = ctype, data, time.monotonic()
        if ctype == 8:
            ix.autocomplete_choices = list(data.get("choices") or [])
        if ctype == 6:
            msg = f.messages.get(ix.message_id or 0)
        if msg is not None:
            ix.original_message_id, ix.ephemeral = msg.id, msg.ephemeral
            await self.announce("MESSAGE_UPDATE" if ctype in (6, 7) else "MESSAGE_CREATE", msg)
        ix._responded.set()
        if ctx.query.get("with_response", "").lower() not in ("1", "true"):
            return 204, None
        body: JSON = {
            "interaction": {
                "id": str(ix.id),
                "type": ix.type,
                "activity_instance_id": None,
                "response_message_id": str(msg.id) if msg else None,
                "response_message_loading": ctype == 5,
                "response_message_ephemeral": bool(msg and msg.ephemeral),
            }
        }
        body["resource"] = {"type": ctype}
        if msg is not None and ctype in (4, 7):  # documented: message only for these two
            body["resource"]["message"] = f.message_payload(msg)
        return 200, body

    def _webhook_interaction(self, ctx: _Ctx) -> FakeInteraction:
        if int(ctx.params["app"]) != self.f.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        ix = self.f.by_token.get(ctx.params["token"])
        if ix is None:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        ctx.interaction = ix
        if ix.force_expired or time.monotonic() - ix.created_at > self.f.token_lifetime:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return ix

    async def _r_webhook_message(self, ctx: _Ctx) -> tuple[int, Any]:
        ix = self._webhook_interaction(ctx)
        mid = int(ctx.params["id"]) if "id" in ctx.params else ix.original_message_id
        msg = self.f.messages.get(mid or 0)
        own = mid == ix.original_message_id or mid in ix.followup_ids
        if msg is None or msg.deleted or not own:
            raise ApiError(404, 10008, "Unknown Message")
        if ctx.request.method == "PATCH":
            self._validate(ctx, ctx.body, file_limit=ix.attachment_size_limit, creating=False)
            self.edit_message(msg, ctx.body, ctx.files)
            await self.announce("MESSAGE_UPDATE", msg)
        elif ctx.request.method == "DELETE":
            msg.deleted = True
            await self.announce("MESSAGE_DELETE", msg)
            return 204, None
        return 200, self.f.message_payload(msg)

    async def _r_followup(self, ctx: _Ctx) -> tuple[int, Any]:
        f = self.f
        ix = self._webhook_interaction(ctx)
        if ix.response_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        self._validate(ctx, ctx.body, file_limit=ix.attachment_size_limit, creating=True)
        original = f.messages.get(ix.original_message_id or 0)
        if ix.response_type == 5 and original and original.loading and not original.deleted:
            # The first followup after a thinking defer edits the loading message (and keeps
            # the defer's ephemeral state whatever the followup's flags say).
            self.edit_message(original, ctx.body, ctx.files)
            ix.first_followup_edited_original, msg = True, original
            await self.announce("MESSAGE_UPDATE", msg)
        else:
            flags = int(ctx.body.get("flags") or 0) & CREATE_FLAGS
            msg = self.new_message(
                f.channels[ix.channel_id],
                f.bot_user_id,
                ctx.body,
                ctx.files,
                flags=flags,
                interaction=ix,
                type=20 if ix.type == 2 else 0,
            )
            ix.followup_ids.append(msg.id)
            await self.announce("MESSAGE_CREATE", msg)
        return 200, f.message_payload(msg)  # documented: `wait` is always true for followups

    # --- channels ------------------------------------------------------------------------------
    def _channel(self, ctx: _Ctx, *needed: int) -> FakeChannel:
        channel = self.f.channels.get(int(ctx.params["channel"]))
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        if channel.guild_id is not None:
            perms = self.f.channel_permissions(self.f.bot_user_id, channel.id)
            if not perms & VIEW_CHANNEL:
                raise ApiError(403, 50001, "Missing Access")
            if any(not perms & p for p in needed):
                raise ApiError(403, 50013, "Missing Permissions")
        return channel

    def _channel_message(self, ctx: _Ctx, channel: FakeChannel) -> FakeMessage:
        """Ephemeral messages don't exist for channel routes."""
        msg = self.f.messages.get(int(ctx.params["id"]))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    async def _r_create_dm(self, ctx: _Ctx) -> tuple[int, Any]:
        uid = int(ctx.body.get("recipient_id") or 0)
        if uid not in self.f.users:
            raise form_error("recipient_id", "NUMBER_TYPE_COERCE", "Unknown user")
        return 200, self.f.channel_payload(self.f.dm_channel(uid).id)

    async def _r_channel(self, ctx: _Ctx) -> tuple[int, Any]:
        return 200, self.f.channel_payload(self._channel(ctx).id)

    async def _r_typing(self, ctx: _Ctx) -> tuple[int, Any]:
        self._channel(ctx, SEND_MESSAGES)
        return 204, None

    async def _r_history(self, ctx: _Ctx) -> tuple[int, Any]:
        channel = self._channel(ctx, READ_HISTORY)
        msgs = [m for m in self.f.channel_messages(channel.id) if not m.deleted and not m.ephemeral]
        msgs = sorted(msgs, key=lambda m: -m.id)[: int(ctx.query.get("limit", 50))]
        return 200, [self.f.message_payload(m) for m in msgs]

    async def _r_create_message(self, ctx: _Ctx) -> tuple[int, Any]:
        f = self.f
        channel = self._channel(ctx, SEND_MESSAGES, *([ATTACH_FILES] if ctx.files else []))
        if channel.recipient_id in f.dm_closed:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        self._validate(ctx, ctx.body, file_limit=f.channel_file_limit, creating=True)
        ref = ctx.body.get("message_reference")
        kind, reference = 0, None
        if ref:
            target = f.messages.get(int(ref.get("message_id") or 0))
            if target is None or target.deleted or target.ephemeral:
                if ref.get("fail_if_not_exists", True):
                    code = "MESSAGE_REFERENCE_UNKNOWN_MESSAGE"
                    raise form_error("message_reference", code, "Unknown message")
            else:
                kind = 19  # REPLY
                reference = {
                    "type": 0,
                    "message_id": str(target.id),
                    "channel_id": str(target.channel_id),
                }
                if target.guild_id is not None:
                    reference["guild_id"] = str(target.guild_id)
        flags = int(ctx.body.get("flags") or 0) & (CREATE_FLAGS & ~FLAG_EPHEMERAL)
        msg = self.new_message(channel, f.bot_user_id, ctx.body, ctx.files, flags=flags, type=kind)
        msg.message_reference = reference
        await self.announce("MESSAGE_CREATE", msg)
        return 200, f.message_payload(msg)

    async def _r_channel_message(self, ctx: _Ctx) -> tuple[int, Any]:
        channel = self._channel(ctx)
        msg = self._channel_message(ctx, channel)
        if ctx.request.method == "PATCH":
            if msg.author_id != self.f.bot_user_id:
                raise ApiError(403, 50005, "Cannot edit a message authored by another user")
            self._validate(ctx, ctx.body, file_limit=self.f.channel_file_limit, creating=False)
            self.edit_message(msg, ctx.body, ctx.files)
            await self.announce("MESSAGE_UPDATE", msg)
        elif ctx.request.method == "DELETE":
            if msg.author_id != self.f.bot_user_id:
                self._channel(ctx, MANAGE_MESSAGES)
            msg.deleted = True
            await self.announce("MESSAGE_DELETE", msg)
            return 204, None
        return 200, self.f.message_payload(msg)

    async def _r_reaction(self, ctx: _Ctx) -> tuple[int, Any]:
        channel = self._channel(ctx, READ_HISTORY)
        msg = self._channel_message(ctx, channel)
        emoji = ctx.params["emoji"]
        if emoji.isascii() and not re.fullmatch(r"\w+:\d+", emoji):
            raise ApiError(400, 10014, "Unknown Emoji")
        user = self.f.bot_user_id if ctx.route.endswith("/@me") else int(ctx.params["user"])
        if ctx.request.method == "PUT":
            if not msg.reactions.get(emoji):
                self._channel(ctx, ADD_REACTIONS)  # needed only to add a new emoji
            msg.reactions.setdefault(emoji, set()).add(user)
            await self.f.dispatch_reaction("MESSAGE_REACTION_ADD", msg, emoji, user)
        else:
            if user != self.f.bot_user_id:
                self._channel(ctx, MANAGE_MESSAGES)
            msg.reactions.get(emoji, set()).discard(user)
            await self.f.dispatch_reaction("MESSAGE_REACTION_REMOVE", msg, emoji, user)
        return 204, None

    async def _r_guild(self, ctx: _Ctx) -> tuple[int, Any]:
        f = self.f
        guild = f.guilds.get(int(ctx.params["guild"]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        if ctx.route.endswith("/channels"):
            return 200, [f.channel_payload(c) for c in f.guild_channel_ids(guild.id)]
        if ctx.route.endswith("/roles"):
            return 200, list(guild.roles.values())
        if "user" in ctx.params:
            if int(ctx.params["user"]) not in guild.members:
                raise ApiError(404, 10007, "Unknown Member")
            return 200, f.member_payload(int(ctx.params["user"]), guild_id=guild.id)
        return 200, f.guild_payload(guild.id, full=False)
