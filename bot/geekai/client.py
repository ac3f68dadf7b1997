"""The one module that speaks to GeekAI: URLs, auth, timeouts, retries, parsing, typed errors.

Everything that leaves this module is either a pydantic model or a `GeekAIError`. No other
module builds a GeekAI URL or sees the API key. Errors live in errors.py, shapes in schemas.py,
reading and interpreting an answer (capped body, JSON, HTTP status → error) in transport.py.

Retry policy (per HTTP request, not per job): reads (GET) retry 429, 500/502/503/504,
timeouts and connection errors with capped exponential backoff and full jitter (a 429's
Retry-After is honoured, capped at `RETRY_AFTER_CAP`); everything else is raised at once.
A *submit* (POST) is retried only when GeekAI provably did not take the request: the
connection could not be opened (refused, DNS failure: nothing was sent), a 429 or a 503.
After a timeout, a dropped connection or a 500/502/504 the outcome is unknown, and GeekAI
has no idempotency key: a retry could create (and bill) a second task, so it is raised.

Body sizes: every answer is read in chunks and refused (`GeekAIMalformedResponseError`) once
it exceeds its cap: `max_body_bytes` (default 8 MiB) for answers without images, plus
`max_image_bytes` × 4/3 (base64) per image the request may return for answers that can
carry `b64_json` images (polls and sync calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import ValidationError

from bot.geekai.errors import (
    _REDACTED,
    MAX_MODEL_PAGES,
    MODELS_PAGE_SIZE,
    RETRY_AFTER_CAP,
    GeekAIConnectionError,
    GeekAIError,
    GeekAIMalformedResponseError,
    GeekAIRateLimitedError,
    GeekAITaskFailedError,
    GeekAITimeoutError,
)
from bot.geekai.schemas import (
    GenerationResult,
    ImageData,
    ImageRequest,
    ModelInfo,
    Task,
    TaskError,
    _ModelsPage,
)
from bot.geekai.transport import (
    _BodyTooLargeError,
    _interpret,
    _never_processed,
    _parse,
    _read_capped,
    _Secret,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_IMAGE_BYTES = 40 * 1024 * 1024

# ---------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------


class GeekAIClient:
    """Typed access to GeekAI's image API over an injected aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        request_timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        on_request: Callable[[str, float], None] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("GeekAI base_url must start with http:// or https://")
        if not api_key.strip():
            raise ValueError("GeekAI api_key is empty")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if request_timeout <= 0 or backoff_base < 0 or backoff_cap < 0:
            raise ValueError("timeouts and backoff must be positive")
        if max_body_bytes <= 0 or max_image_bytes <= 0:
            raise ValueError("body caps must be positive")
        self._max_body_bytes = max_body_bytes
        self._max_image_bytes = max_image_bytes
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._key = _Secret(api_key.strip())
        self._request_timeout = request_timeout
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        # After a 429, every request (of every job) waits until then: back off globally.
        self._not_before = 0.0
        self._on_request = on_request  # (endpoint, seconds): metrics

    @contextlib.contextmanager
    def _timed(self, endpoint: str) -> Iterator[None]:
        """Report how long one logical call took (retries included), success or not."""
        started = time.monotonic()
        try:
            yield
        finally:
            if self._on_request is not None:
                self._on_request(endpoint, time.monotonic() - started)

    @property
    def base_url(self) -> str:
        return self._base_url

    def __repr__(self) -> str:
        return f"GeekAIClient(base_url={self._base_url!r})"

    # -- public API ---------------------------------------------------------------------

    async def submit(self, request: ImageRequest) -> Task:
        """Create an async task; returns it with its id (usually `pending`)."""
        log.info("GeekAI submit: model=%s n=%s", request.model, request.n)
        log.debug("GeekAI submit prompt: %r", request.prompt)
        with self._timed("submit"):
            payload = await self._call(
                "POST",
                request.path,  # a masked edit goes to /images/edits (async: inferred, not doc'd)
                body=request.to_body(run_async=True),
                limit=self._request_timeout,
                idempotent=False,
            )
        task = _parse(Task, payload, f"POST {request.path}", scrub=self._scrub)
        log.info("GeekAI task %s created: %s", task.task_id, task.task_status)
        return task

    async def generate_sync(
        self,
        request: ImageRequest,
        *,
        timeout: float = 330.0,  # noqa: ASYNC109 - the request's own limit, not a wrapper's
    ) -> list[ImageData]:
        """Generate and wait in one request (`async: false`); GeekAI closes it after ~5 min."""
        log.info("GeekAI sync generate: model=%s n=%s", request.model, request.n)
        log.debug("GeekAI sync prompt: %r", request.prompt)
        what = "POST /images/generations (sync)"
        with self._timed("generate"):
            payload = await self._call(
                "POST",
                "/images/generations",
                body=request.to_body(run_async=False),
                limit=timeout,
                idempotent=False,
                max_bytes=self.body_cap(request.n),
            )
        result = _parse(GenerationResult, payload, what, scrub=self._scrub)
        if result.task_status == "failed" or (result.error is not None and not result.data):
            error = result.error or TaskError()
            raise GeekAITaskFailedError(error.message, code=error.code, task_id=result.task_id)
        if not result.data:
            # Open question 7 in the API notes: a sync call may come back with an unfinished
            # task. We do not poll here (callers use this as the zero-lag reference).
            state = f"task {result.task_id} {result.task_status}" if result.task_id else "no data"
            raise GeekAIMalformedResponseError(
                f"GeekAI {what}: answer holds no images ({state})", status=200
            )
        return result.data

    def body_cap(self, images: int) -> int:
        """The most bytes read of an answer that may carry `images` base64 images."""
        return self._max_body_bytes + max(0, images) * math.ceil(self._max_image_bytes * 4 / 3)

    async def get_task(self, task_id: str, *, max_images: int = 1) -> Task:
        """The task's current state, whatever it is; see `Task.raise_for_failure`.

        `max_images` (what the request may return) sizes the cap on the answer's body."""
        if not task_id:
            raise ValueError("task_id is empty")
        path = "/images/" + quote(task_id, safe="")
        with self._timed("poll"):
            payload = await self._call(
                "GET", path, limit=self._request_timeout, max_bytes=self.body_cap(max_images)
            )
        task = _parse(Task, payload, f"GET {path}", scrub=self._scrub)
        log.debug("GeekAI task %s: %s", task.task_id, task.task_status)
        return task

    async def list_models(self) -> list[ModelInfo]:
        """Every model on the account, all pages (at most `MAX_MODEL_PAGES`)."""
        models: dict[str, ModelInfo] = {}
        seen = 0
        for page in range(1, MAX_MODEL_PAGES + 1):
            with self._timed("models"):
                payload = await self._call(
                    "GET",
                    "/models",
                    params={"page": str(page), "page_size": str(MODELS_PAGE_SIZE)},
                    limit=self._request_timeout,
                )
            if isinstance(payload, list):  # an unpaginated bare list
                payload = {"data": payload, "total": len(payload)}
            envelope = _parse(_ModelsPage, payload, "GET /models", scrub=self._scrub)
            if not envelope.data:
                break
            seen += len(envelope.data)
            added = 0
            for item in envelope.data:
                try:
                    info = ModelInfo.model_validate(item)
                except ValidationError:
                    log.debug("GeekAI /models: skipped an entry without a usable id")
                    continue
                if info.id not in models:
                    models[info.id] = info
                    added += 1
            if added == 0:  # the server ignores `page` and repeats itself
                break
            if envelope.total is not None and seen >= envelope.total:
                break
        else:
            log.warning("GeekAI /models: stopped after %d pages", MAX_MODEL_PAGES)
        return list(models.values())

    # -- transport ----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        limit: float,
        idempotent: bool = True,
        max_bytes: int | None = None,
    ) -> Any:
        """One logical request with retries; returns the parsed JSON of a 2xx answer.

        A non-idempotent request (a submit) is retried only when it provably never reached
        GeekAI or was refused without being processed (see the module docstring)."""
        attempt = 1
        waited = False  # this call just slept out its own back-off
        while True:
            wait = self._not_before - self._monotonic()
            if wait > 0 and not waited:
                await self._sleep(wait)
            waited = False
            try:
                return await self._attempt(
                    method,
                    path,
                    body=body,
                    params=params,
                    limit=limit,
                    max_bytes=self._max_body_bytes if max_bytes is None else max_bytes,
                )
            except GeekAIError as exc:
                delay = self._retry_delay(exc, method, path, attempt, idempotent=idempotent)
                if delay is None:
                    raise
                await self._sleep(delay)
                waited = True
                attempt += 1

    def _retry_delay(
        self, exc: GeekAIError, method: str, path: str, attempt: int, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before trying again after `exc` on try `attempt`; None: raise it.

        A 429 also pushes back every other request of this client (`_not_before`)."""
        if exc.retryable and not idempotent and not _never_processed(exc):
            log.warning(
                "GeekAI %s %s failed (%s); not retried: the request may have arrived",
                method,
                path,
                exc,
            )
            return None
        if not exc.retryable or attempt >= self._max_attempts:
            if exc.retryable:
                log.warning("GeekAI %s %s: giving up after %d attempts", method, path, attempt)
            return None
        delay = self._backoff(attempt)
        if isinstance(exc, GeekAIRateLimitedError):
            if exc.retry_after is not None:
                delay = max(delay, min(exc.retry_after, RETRY_AFTER_CAP))
            self._not_before = max(self._not_before, self._monotonic() + delay)
        log.warning(
            "GeekAI %s %s failed (%s); attempt %d/%d in %.2fs",
            method,
            path,
            exc,
            attempt + 1,
            self._max_attempts,
            delay,
        )
        return delay

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(0.0, ceiling)

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None,
        params: Mapping[str, str] | None,
        limit: float,
        max_bytes: int,
    ) -> Any:
        headers, data = self._request_parts(body)
        log.debug("GeekAI %s %s", method, path)
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                data=data,
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=limit),
                allow_redirects=False,  # never carry the key to wherever a redirect points
            ) as response:
                status = response.status
                response_headers = response.headers
                raw = await _read_capped(response, max_bytes)
        except _BodyTooLargeError:
            raise GeekAIMalformedResponseError(
                f"GeekAI {method} {path}: the answer is larger than {max_bytes} bytes",
                status=status,
            ) from None
        except TimeoutError as exc:
            raise GeekAITimeoutError(
                f"GeekAI {method} {path}: no answer within {limit:g}s"
            ) from exc
        except aiohttp.ClientConnectorError as exc:  # no connection: nothing was sent
            reason = self._scrub(f"{type(exc).__name__}: {exc}")
            error = GeekAIConnectionError(f"GeekAI {method} {path}: {reason}")
            error.not_sent = True
            raise error from exc
        except aiohttp.ClientError as exc:
            reason = self._scrub(f"{type(exc).__name__}: {exc}")
            raise GeekAIConnectionError(f"GeekAI {method} {path}: {reason}") from exc
        log.debug("GeekAI %s %s -> %s (%d bytes)", method, path, status, len(raw))
        return _interpret(method, path, status, response_headers, raw, scrub=self._scrub)

    def _request_parts(self, body: dict[str, Any] | None) -> tuple[dict[str, str], bytes | None]:
        """The headers (with the key) and the JSON-encoded body of one request."""
        headers = {"Authorization": f"Bearer {self._key.reveal()}", "Accept": "application/json"}
        data: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode()
        return headers, data

    def _scrub(self, text: str) -> str:
        """Servers and proxies sometimes echo the key (e.g. 'invalid key sk-…'): drop it."""
        return text.replace(self._key.reveal(), _REDACTED)
