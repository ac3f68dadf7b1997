"""The one module that speaks to GeekAI: URLs, auth, timeouts, retries, parsing, typed errors.

Everything that leaves this module is either a pydantic model or a `GeekAIError`. No other
module builds a GeekAI URL or sees the API key. Errors live in errors.py, shapes in schemas.py.

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
import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ValidationError

from bot.geekai.errors import (
    _REDACTED,
    _RETRYABLE_STATUSES,
    MAX_MODEL_PAGES,
    MODELS_PAGE_SIZE,
    RETRY_AFTER_CAP,
    GeekAIAuthError,
    GeekAIBadRequestError,
    GeekAIConnectionError,
    GeekAIError,
    GeekAIMalformedResponseError,
    GeekAINotFoundError,
    GeekAIOutOfBalanceError,
    GeekAIPayloadTooLargeError,
    GeekAIRateLimitedError,
    GeekAIServerError,
    GeekAITaskFailedError,
    GeekAITimeoutError,
    _trim,
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

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_IMAGE_BYTES = 40 * 1024 * 1024
_READ_CHUNK = 64 * 1024


class _BodyTooLargeError(Exception):
    pass


_M = TypeVar("_M", bound=BaseModel)

# ---------------------------------------------------------------------------------------
# Parsing helpers
# ---------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP-date. None if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _loads(text: str) -> Any:
    """JSON after GeekAI's keep-alive blank lines; raises ValueError when not JSON."""
    return json.loads(text.lstrip())


def _error_message(payload: Any, text: str) -> str:
    """The server's message: error.message → message → msg → error (string) → raw text."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        for key in ("message", "msg"):
            if isinstance(payload.get(key), str) and payload[key].strip():
                return str(payload[key])
        if isinstance(error, str) and error.strip():
            return error
        if isinstance(payload.get("detail"), str):  # FastAPI-style proxies
            return str(payload["detail"])
    return text


def _body_retry_after(payload: Any) -> float | None:
    for holder in (payload, payload.get("error") if isinstance(payload, dict) else None):
        if isinstance(holder, dict):
            value = holder.get("retry_after")
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                return parse_retry_after(str(value))
    return None


def _validation_summary(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)
    ]
    return "; ".join(parts)


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, read in chunks; raises _BodyTooLargeError past `max_bytes` (and stops
    reading: the connection is dropped rather than drained)."""
    if response.content_length is not None and response.content_length > max_bytes:
        response.close()
        raise _BodyTooLargeError
    buf = bytearray()
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        buf += chunk
        if len(buf) > max_bytes:
            response.close()
            raise _BodyTooLargeError
    return bytes(buf)


def _never_processed(exc: GeekAIError) -> bool:
    """The request provably did not create anything at GeekAI: never sent, 429 or 503."""
    if isinstance(exc, GeekAIRateLimitedError) or exc.status == 503:
        return True
    return isinstance(exc, GeekAIConnectionError) and exc.not_sent


class _Secret:
    """Holds the API key so that no repr, vars() dump or traceback local shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Secret('**********')"

    __str__ = __repr__


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
        task = self._parse(Task, payload, f"POST {request.path}")
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
        result = self._parse(GenerationResult, payload, what)
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
        task = self._parse(Task, payload, f"GET {path}")
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
            envelope = self._parse(_ModelsPage, payload, "GET /models")
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
                if exc.retryable and not idempotent and not _never_processed(exc):
                    log.warning(
                        "GeekAI %s %s failed (%s); not retried: the request may have arrived",
                        method,
                        path,
                        exc,
                    )
                    raise
                if not exc.retryable or attempt >= self._max_attempts:
                    if exc.retryable:
                        log.warning(
                            "GeekAI %s %s: giving up after %d attempts", method, path, attempt
                        )
                    raise
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
                await self._sleep(delay)
                waited = True
                attempt += 1

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
        headers = {"Authorization": f"Bearer {self._key.reveal()}", "Accept": "application/json"}
        data: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode()
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
        return self._interpret(method, path, status, response_headers, raw)

    def _interpret(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
    ) -> Any:
        text = raw.decode("utf-8", errors="replace").lstrip()  # keep-alive blank lines first
        if 200 <= status < 300:
            if not text:
                raise GeekAIMalformedResponseError(
                    f"GeekAI {method} {path}: HTTP {status} with an empty body", status=status
                )
            try:
                return _loads(text)
            except ValueError:
                raise GeekAIMalformedResponseError(
                    f"GeekAI {method} {path}: HTTP {status} body is not valid JSON",
                    status=status,
                    detail=self._scrub(_trim(text)),
                ) from None
        raise self._http_error(method, path, status, headers, text)

    def _http_error(
        self, method: str, path: str, status: int, headers: Mapping[str, str], text: str
    ) -> GeekAIError:
        """The typed error for a non-2xx answer, with the server's message as detail."""
        try:
            payload = _loads(text) if text else None
        except ValueError:
            payload = None
        detail = self._scrub(_trim(_error_message(payload, text) or f"HTTP {status}"))
        message = f"GeekAI {method} {path}: HTTP {status}: {detail}"
        if status == 429:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            if retry_after is None:
                retry_after = _body_retry_after(payload)
            return GeekAIRateLimitedError(message, detail=detail, retry_after=retry_after)
        error_type: type[GeekAIError]
        retryable: bool | None = None
        if status in (401, 403):
            error_type = GeekAIAuthError
        elif status == 402:
            error_type = GeekAIOutOfBalanceError
        elif status in (400, 422):
            error_type = GeekAIBadRequestError
        elif status == 404:
            error_type = GeekAINotFoundError
        elif status == 413:
            error_type = GeekAIPayloadTooLargeError
        elif status == 408:
            error_type = GeekAITimeoutError
        else:  # 5xx, redirects and anything unexpected
            error_type = GeekAIServerError
            retryable = status in _RETRYABLE_STATUSES
        return error_type(message, status=status, detail=detail, retryable=retryable)

    def _parse(self, model: type[_M], payload: Any, what: str) -> _M:
        if not isinstance(payload, dict):
            raise GeekAIMalformedResponseError(
                f"GeekAI {what}: expected a JSON object, got {type(payload).__name__}",
                status=200,
            )
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            # A 200 that carries an error message (some gateways do this) says more than
            # the validation errors do.
            server_says = _error_message(payload, "")
            detail = self._scrub(_trim(server_says or _validation_summary(exc)))
            raise GeekAIMalformedResponseError(
                f"GeekAI {what}: unexpected answer: {detail}", status=200, detail=detail
            ) from None

    def _scrub(self, text: str) -> str:
        """Servers and proxies sometimes echo the key (e.g. 'invalid key sk-…'): drop it."""
        return text.replace(self._key.reveal(), _REDACTED)
