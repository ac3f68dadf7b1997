"""A fake GeekAI image API: a real aiohttp server on 127.0.0.1 (random port) for tests.

Behaviour follows GeekAI's documented API: top-level `{"message": ...}` errors, async
tasks polled at `GET /images/{task_id}` (pending → running → succeed/failed by elapsed time),
synchronous calls that send blank lines as keep-alive before the JSON, paginated `/models`,
and result images served as real PNGs from the fake itself.

Tests steer it three ways: `script_submit` / `script_poll` queue canned HTTP answers (each
used once), `script_task` queues outcomes for the next tasks created, and `default_outcome`
applies after that. Every request is recorded in `requests`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import io
import json
import os
import re
import socket
import time
import uuid
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web
from PIL import Image, ImageDraw

__all__ = [
    "DEFAULT_MODELS",
    "FakeGeekAI",
    "FakeResponse",
    "FakeTask",
    "RecordedRequest",
    "TaskOutcome",
]

NOISY_PIXELS = 1_000_000  # images at least this large are random noise (incompressible)


@dataclass
class FakeResponse:
    """A canned answer. Status and body are optional: a bare `delay` only slows the request
    down and then lets the fake answer normally; `disconnect` drops the connection."""

    status: int | None = None
    json: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    disconnect: bool = False
    huge: int = 0  # stream a 200 JSON-ish body this long (bytes), without Content-Length

    @property
    def has_answer(self) -> bool:
        return (
            self.huge > 0
            or self.status is not None
            or self.json is not None
            or (self.raw is not None)
        )


@dataclass
class TaskOutcome:
    """How one task will play out. None means: the fake's / the request's default."""

    pending_seconds: float | None = None
    running_seconds: float | None = None
    result: Literal["succeed", "failed", "stuck"] = "succeed"
    error_code: str | int = "generation_failed"
    error_message: str = "image generation failed"
    n_images: int | None = None
    response_format: str | None = None
    image_size: tuple[int, int] | None = None
    image_url_status: int = 200
    image_bytes: bytes | None = None
    noisy: bool | None = None  # None: noisy when the image has >= NOISY_PIXELS pixels
    image_urls: list[str] | None = None  # answer with these URLs instead of the fake's own
    extra_images: int = 0  # answer with this many more images than were asked for
    task_id_override: str | None = None  # polls answer with this task id instead


@dataclass
class RecordedRequest:
    method: str
    path: str  # decoded
    raw_path: str  # as sent, percent-encoding kept
    query: dict[str, str]
    json: Any  # parsed body, None when there is none or it is not JSON
    body: bytes
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    status: int | None = None  # None: no answer (dropped, or the fake shut down first)


@dataclass
class FakeTask:
    task_id: str
    model: str
    prompt: str
    body: dict[str, Any]
    created_at: float  # time.monotonic()
    outcome: TaskOutcome
    pending_seconds: float
    running_seconds: float
    n_images: int
    response_format: str
    image_size: tuple[int, int]
    run_async: bool
    poll_count: int = 0
    statuses_served: list[str] = field(default_factory=list)

    @property
    def finishes_after(self) -> float | None:
        """Seconds from creation to the final status; None for a stuck task."""
        if self.outcome.result == "stuck":
            return None
        return self.pending_seconds + self.running_seconds

    @property
    def timeline(self) -> list[tuple[float, str]]:
        """(seconds after creation, status) for every status change."""
        steps = [(0.0, "pending"), (self.pending_seconds, "running")]
        if self.finishes_after is not None:
            steps.append((self.finishes_after, self.outcome.result))
        return steps

    def status(self, now: float | None = None) -> str:
        elapsed = (time.monotonic() if now is None else now) - self.created_at
        current = "pending"
        for offset, status in self.timeline:
            if elapsed >= offset:
                current = status
        return current

    @property
    def error(self) -> dict[str, Any]:
        return {
            "code": self.outcome.error_code,
            "message": self.outcome.error_message,
            "details": {},
        }


DEFAULT_MODELS: list[dict[str, Any]] = [
    {"id": "gpt-image-1", "name": "GPT Image 1", "type": "image", "status": "active"},
    {"id": "dall-e-3", "name": "DALL·E 3", "type": "image", "status": "active"},
    {"id": "cogview-4", "name": "CogView-4", "type": "image", "status": "active"},
    {"id": "cogview-3-flash", "name": "CogView-3-Flash", "type": "image", "status": "deprecated"},
    {"id": "doubao-seedream-4.0", "name": "Seedream 4.0", "type": "image", "status": "active"},
    {"id": "nano-banana", "name": "Nano Banana", "type": "image", "status": "beta"},
    {"id": "gpt-4o-mini", "name": "GPT-4o mini", "type": "chat", "status": "active"},
    {"id": "deepseek-chat", "name": "DeepSeek V3", "type": "chat", "status": "active"},
]

_DROPPED = web.RequestKey("fake_geekai.dropped", bool)
_FILE_NAME = re.compile(r"^(\d+)\.(png|jpg|webp)$")
# `output_format` → (Pillow format, extension, content type); png when absent.
_FORMATS = {
    "png": ("PNG", "png", "image/png"),
    "jpg": ("JPEG", "jpg", "image/jpeg"),
    "webp": ("WEBP", "webp", "image/webp"),
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeGeekAI:
    def __init__(
        self,
        *,
        api_key: str = "test-geekai-key",
        pending_seconds: float = 0.3,
        running_seconds: float = 0.6,
        image_size: tuple[int, int] = (64, 64),
        response_format_default: str = "url",
    ) -> None:
        self.api_key = api_key
        self.pending_seconds = pending_seconds
        self.running_seconds = running_seconds
        self.image_size = image_size
        self.response_format_default = response_format_default
        self.default_outcome = TaskOutcome()
        self.requests: list[RecordedRequest] = []
        self.tasks: dict[str, FakeTask] = {}
        self.image_requests: list[str] = []
        self.models: list[dict[str, Any]] = [dict(m) for m in DEFAULT_MODELS]
        self.models_page_size_cap: int | None = None  # serve at most this many per page
        self.keepalive_interval = 0.5  # seconds between blank lines on a sync call
        self.keepalives_sent = 0
        self.streamed_bytes = 0  # bytes of `huge` bodies sent so far
        self.sync_max_seconds = 300.0  # like GeekAI: drop a sync call after five minutes
        self._submit_script: deque[FakeResponse] = deque()
        self._poll_script: deque[FakeResponse] = deque()
        self._task_script: deque[TaskOutcome] = deque()
        self._pngs: dict[tuple[str, int], bytes] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._origin: str | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/api/v1/images/generations", self._generations)
        app.router.add_post("/api/v1/images/edits", self._edits)
        app.router.add_get("/api/v1/images/{task_id}", self._get_task)
        app.router.add_get("/api/v1/models", self._models)
        app.router.add_get("/files/{task_id}/{name}", self._file)
        app.router.add_get("/redirect", self._redirect)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._origin = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        self._closing.set()  # wakes every delayed or keep-alive handler
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def origin(self) -> str:
        if self._origin is None:
            raise RuntimeError("FakeGeekAI is not started")
        return self._origin

    @property
    def base_url(self) -> str:
        return self.origin + "/api/v1"

    # -- steering -------------------------------------------------------------------------

    def script_submit(self, *responses: FakeResponse) -> None:
        self._submit_script.extend(responses)

    def script_poll(self, *responses: FakeResponse) -> None:
        self._poll_script.extend(responses)

    def script_task(self, *outcomes: TaskOutcome) -> None:
        self._task_script.extend(outcomes)

    def poll_counts(self) -> dict[str, int]:
        return {task_id: task.poll_count for task_id, task in self.tasks.items()}

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- plumbing -------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            raw_path=request.raw_path.split("?", 1)[0],
            query=dict(request.query),
            json=parsed,
            body=body,
            headers=dict(request.headers),
            at=time.monotonic(),
        )
        self.requests.append(record)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            record.status = exc.status
            raise
        if not request.get(_DROPPED, False):
            record.status = response.status
        return response

    async def _wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the fake shuts down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), max(0.0, seconds))

    @staticmethod
    def _json(
        payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection without an answer (the returned response goes nowhere)."""
        request[_DROPPED] = True
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._json({"message": "invalid api key"}, status=401)
        return None

    async def _stream_huge(self, request: web.Request, size: int) -> web.StreamResponse:
        """A body of `size` bytes, written as the client reads it (never held in memory)."""
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"a" * (64 * 1024)
        try:
            await response.write(b'{"task_id": "t", "task_status": "running", "pad": "')
            while self.streamed_bytes < size and not self._closing.is_set():
                await response.write(chunk)
                self.streamed_bytes += len(chunk)
            await response.write(b'"}')
            await response.write_eof()
        except (ConnectionError, RuntimeError):  # the client stopped reading and hung up
            request[_DROPPED] = True
        return response

    async def _play(
        self, script: deque[FakeResponse], request: web.Request
    ) -> web.StreamResponse | None:
        """The next canned answer, or None to answer normally."""
        if not script:
            return None
        canned = script.popleft()
        if canned.delay:
            await self._wait(canned.delay)
        if canned.disconnect or self._closing.is_set():
            return self._drop(request)
        if not canned.has_answer:
            return None
        if canned.huge:
            return await self._stream_huge(request, canned.huge)
        status = canned.status or 200
        if canned.raw is not None:
            default_type = "application/json" if status < 300 else "text/plain; charset=utf-8"
            headers = {"Content-Type": default_type, **canned.headers}
            return web.Response(status=status, body=canned.raw, headers=headers)
        payload = canned.json
        if payload is None:
            try:
                payload = {"message": HTTPStatus(status).phrase}
            except ValueError:
                payload = {"message": "error"}
        return self._json(payload, status=status, headers=canned.headers)

    # -- POST /images/generations ---------------------------------------------------------

    async def _edits(self, request: web.Request) -> web.StreamResponse:
        """`POST /images/edits`: JSON like generations, with `image` and `mask` required
        (GeekAI's API reference); answered like generations (async tasks assumed)."""
        return await self._generations(request, edit=True)

    async def _generations(self, request: web.Request, edit: bool = False) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        if (canned := await self._play(self._submit_script, request)) is not None:
            return canned
        body = await self._body(request)
        if not isinstance(body, dict):
            return self._json({"message": "request body must be a JSON object"}, status=400)
        if edit and not (body.get("image") and body.get("mask")):
            return self._json({"message": "image and mask are required"}, status=400)
        if body.get("output_format") not in (None, *_FORMATS):
            return self._json({"message": "output_format must be png, jpg or webp"}, status=400)
        problem = self._validate(body)
        if problem is not None:
            return self._json({"message": problem}, status=400)
        task = self._create_task(body)
        if body.get("async") is True:
            return self._json(
                {
                    "created": int(time.time()),
                    "task_id": task.task_id,
                    "task_status": "pending",
                    "data": [],
                }
            )
        return await self._answer_sync(request, task)

    @staticmethod
    async def _body(request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError:
            return None

    @staticmethod
    def _validate(body: dict[str, Any]) -> str | None:
        for name in ("model", "prompt"):
            value = body.get(name)
            if not isinstance(value, str) or not value.strip():
                return f"{name} is required"
        n = body.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
            return "n must be an integer between 1 and 10"
        if body.get("response_format") not in (None, "url", "b64_json"):
            return "response_format must be url or b64_json"
        return None

    def _create_task(self, body: dict[str, Any]) -> FakeTask:
        outcome = (
            self._task_script.popleft()
            if self._task_script
            else dataclasses.replace(self.default_outcome)
        )

        def pick(value: float | None, default: float) -> float:
            return default if value is None else value

        task = FakeTask(
            task_id=str(uuid.uuid4()),
            model=body["model"],
            prompt=body["prompt"],
            body=body,
            created_at=time.monotonic(),
            outcome=outcome,
            pending_seconds=pick(outcome.pending_seconds, self.pending_seconds),
            running_seconds=pick(outcome.running_seconds, self.running_seconds),
            n_images=(outcome.n_images or int(body.get("n", 1))) + outcome.extra_images,
            response_format=(
                outcome.response_format
                or body.get("response_format")
                or self.response_format_default
            ),
            image_size=outcome.image_size or self.image_size,
            run_async=body.get("async") is True,
        )
        self.tasks[task.task_id] = task
        return task

    async def _answer_sync(self, request: web.Request, task: FakeTask) -> web.StreamResponse:
        """Blank lines as keep-alive until the task is done, then the JSON (GeekAI style)."""
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        finish = task.finishes_after
        try:
            while True:
                elapsed = time.monotonic() - task.created_at
                if finish is not None and elapsed >= finish:
                    break
                if elapsed >= self.sync_max_seconds or self._closing.is_set():
                    self._drop(request)
                    return response
                await response.write(b"\n")
                self.keepalives_sent += 1
                limit = (
                    self.sync_max_seconds if finish is None else min(finish, self.sync_max_seconds)
                )
                await self._wait(min(self.keepalive_interval, max(0.0, limit - elapsed)))
            status = task.status()
            payload: dict[str, Any] = {"created": int(time.time()), "model": task.model}
            if status == "succeed":
                payload["data"] = await self._image_items(task)
            else:  # failed: headers are long gone, so the failure travels in a 200 body
                payload.update(task_id=task.task_id, task_status=status, data=[], error=task.error)
            await response.write(json.dumps(payload, ensure_ascii=False).encode())
            await response.write_eof()
        except ConnectionError:  # the client gave up first
            request[_DROPPED] = True
        return response

    # -- GET /images/{task_id} ------------------------------------------------------------

    async def _get_task(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        task = self.tasks.get(request.match_info["task_id"])
        if task is not None:
            task.poll_count += 1
        if (canned := await self._play(self._poll_script, request)) is not None:
            return canned
        if task is None:
            return self._json({"message": "task not found"}, status=404)
        status = task.status()
        task.statuses_served.append(status)
        payload: dict[str, Any] = {
            "model": task.model,
            "task_id": task.outcome.task_id_override or task.task_id,
            "task_status": status,
            "created": int(time.time()),
            "data": [],
        }
        if status == "succeed":
            payload["data"] = await self._image_items(task)
        elif status == "failed":
            payload["error"] = task.error
        return self._json(payload)

    async def _image_items(self, task: FakeTask) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if task.outcome.image_urls is not None:
            return [{"url": url} for url in task.outcome.image_urls]
        for index in range(task.n_images):
            item: dict[str, Any] = {"revised_prompt": task.prompt}
            if task.response_format == "b64_json":
                item["b64_json"] = base64.b64encode(await self._png(task, index)).decode()
            else:
                ext = _FORMATS[task.body.get("output_format") or "png"][1]
                item["url"] = f"{self.origin}/files/{task.task_id}/{index}.{ext}"
            items.append(item)
        return items

    # -- GET /redirect?to=URL: a 302 from the fake's own (allowed) origin -------------

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(request.query["to"])

    # -- GET /files/{task_id}/{i}.png -----------------------------------------------------

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.image_requests.append(request.path)
        task = self.tasks.get(request.match_info["task_id"])
        match = _FILE_NAME.match(request.match_info["name"])
        if task is None or match is None or int(match.group(1)) >= task.n_images:
            return self._json({"message": "file not found"}, status=404)
        if task.outcome.image_url_status != 200:
            return self._json({"message": "file unavailable"}, status=task.outcome.image_url_status)
        png = await self._png(task, int(match.group(1)))
        content_type = _FORMATS[task.body.get("output_format") or "png"][2]
        return web.Response(body=png, headers={"Content-Type": content_type})

    async def _png(self, task: FakeTask, index: int) -> bytes:
        if task.outcome.image_bytes is not None:
            return task.outcome.image_bytes
        key = (task.task_id, index)
        if key not in self._pngs:
            width, height = task.image_size
            noisy = task.outcome.noisy
            if noisy is None:
                noisy = width * height >= NOISY_PIXELS
            salt = zlib.crc32(task.task_id.encode())
            fmt = _FORMATS[task.body.get("output_format") or "png"][0]
            self._pngs[key] = await asyncio.to_thread(
                render_png, task.image_size, index, salt, noisy, fmt
            )
        return self._pngs[key]

    # -- GET /models ------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        try:
            page = int(request.query.get("page", "1"))
            page_size = int(request.query.get("page_size", "20"))
        except ValueError:
            return self._json({"message": "page and page_size must be integers"}, status=400)
        if page < 1 or page_size < 1:
            return self._json({"message": "page and page_size must be positive"}, status=400)
        if self.models_page_size_cap is not None:
            page_size = min(page_size, self.models_page_size_cap)
        start = (page - 1) * page_size
        return self._json(
            {
                "data": self.models[start : start + page_size],
                "total": len(self.models),
                "page": page,
                "page_size": page_size,
            }
        )


def render_png(
    size: tuple[int, int], index: int, salt: int, noisy: bool, fmt: str = "PNG"
) -> bytes:
    """A real PNG (or `fmt`), different for every (task, index): a gradient, or noise."""
    width, height = size
    tint = ((index * 97 + salt) % 256, (index * 53 + (salt >> 8)) % 256, (salt >> 16) % 256)
    if noisy:
        image = Image.frombytes("RGB", size, os.urandom(width * height * 3))
    else:
        across = Image.linear_gradient("L").rotate(90).resize(size)
        down = Image.linear_gradient("L").resize(size)
        flat = Image.new("L", size, tint[0])
        image = Image.merge("RGB", (across, down, flat))
    draw = ImageDraw.Draw(image)
    box = max(8, min(width, height) // 4)
    draw.rectangle((0, 0, box, box), fill=tint)
    draw.text((2, 2), str(index), fill=(255, 255, 255))
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, format="PNG", compress_level=1 if noisy else 6)
    else:
        image.save(out, format=fmt)
    return out.getvalue()
