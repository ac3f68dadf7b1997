"""The one module that speaks to GeekAI: URLs, auth, timeouts, retries, parsing, typed errors.

Everything that leaves this module is either a pydantic model or a `GeekAIError`. No other
module builds a GeekAI URL or sees the API key. API facts: /work/shared/geekai-api.md.

Retry policy (per HTTP request, not per job): 429, 500/502/503/504, timeouts and connection
errors are retried with capped exponential backoff and full jitter (a 429's Retry-After is
honoured, capped at `RETRY_AFTER_CAP`); everything else is raised at once. Note that a
retried *submit* can create a second task if the first request reached GeekAI before it
timed out or the connection dropped: GeekAI has no idempotency key and no cancel endpoint.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC
from typing import Any, ClassVar, Literal, TypeVar, get_args
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "GeekAIAuthError",
    "GeekAIClient",
    "GeekAIConnectionError",
    "GeekAIError",
    "GeekAIMalformedResponseError",
    "GeekAINotFoundError",
    "GeekAIOutOfBalanceError",
    "GeekAIPayloadTooLargeError",
    "GeekAIRateLimitedError",
    "GeekAIServerError",
    "GeekAITaskFailedError",
    "GeekAITimeoutError",
    "GenerationResult",
    "ImageData",
    "ImageRequest",
    "ModelInfo",
    "Task",
    "TaskError",
    "TaskStatus",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

DETAIL_LIMIT = 300  # characters of a server message kept in an error
RETRY_AFTER_CAP = 60.0  # seconds: never sleep longer than this on one Retry-After
MAX_MODEL_PAGES = 50
MODELS_PAGE_SIZE = 100  # asked for; the server may answer with fewer per page
_RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
_REDACTED = "[redacted]"

# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class GeekAIError(Exception):
    """Base of every GeekAI failure. `str(e)` is safe to log: it never holds the API key.

    `status` is the HTTP status (None when there was no answer), `detail` the server's own
    message trimmed to `DETAIL_LIMIT` characters, `retryable` whether trying again may help.
    """

    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = _trim(message if detail is None else detail)
        self.retryable = self.default_retryable if retryable is None else retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status={self.status!r})"


class GeekAIAuthError(GeekAIError):
    """401 / 403: the key is missing, wrong, or lacks permission."""


class GeekAIOutOfBalanceError(GeekAIError):
    """402: the account has run out of coins."""


class GeekAIBadRequestError(GeekAIError):
    """400: GeekAI rejected the parameters; `detail` says why."""


class GeekAINotFoundError(GeekAIError):
    """404: unknown task id, model or path."""


class GeekAIPayloadTooLargeError(GeekAIError):
    """413: the request (usually a reference image) is too large."""


class GeekAIRateLimitedError(GeekAIError):
    """429: over the model's RPM/TPM. `retry_after` is in seconds, as the server said it."""

    default_retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after


class GeekAIServerError(GeekAIError):
    """5xx, or any status this client does not expect. Retryable for 500/502/503/504."""


class GeekAITimeoutError(GeekAIError):
    """No complete answer within the request timeout."""

    default_retryable = True


class GeekAIConnectionError(GeekAIError):
    """Could not connect, or the connection dropped before the answer was complete."""

    default_retryable = True


class GeekAIMalformedResponseError(GeekAIError):
    """A 2xx answer that is not JSON, is truncated, or does not have the expected shape."""


class GeekAITaskFailedError(GeekAIError):
    """A task that ended `failed`; `code` and `message` are GeekAI's (either may be None)."""

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        task_id: str | None = None,
    ) -> None:
        where = f"task {task_id}" if task_id else "task"
        summary = f"GeekAI {where} failed: {code or 'no code'}: {message or 'no message'}"
        super().__init__(_trim(summary), detail=message or "")
        self.code = code
        self.message = message
        self.task_id = task_id


def _trim(text: str, limit: int = DETAIL_LIMIT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------


class ImageRequest(BaseModel):
    """What the bot asks GeekAI for. Fields left None are not sent."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    prompt: str = Field(min_length=1, repr=False)
    negative_prompt: str | None = Field(default=None, repr=False)
    size: str | None = None
    aspect_ratio: str | None = None
    n: int = Field(default=1, ge=1)
    quality: str | None = None
    style_preset: str | None = None
    image: str | None = Field(default=None, repr=False)  # URL or base64: can be megabytes
    strength: float | None = Field(default=None, ge=0.0, le=1.0)
    background: str | None = None
    response_format: Literal["url", "b64_json"] | None = None
    extra_body: dict[str, Any] | None = None

    def to_body(self, *, run_async: bool = True) -> dict[str, Any]:
        """The JSON body for `POST /images/generations`: set fields only, plus `async`."""
        # Built by hand, not with exclude_none, so None values inside extra_body survive.
        body = {name: value for name, value in self.model_dump().items() if value is not None}
        body["async"] = run_async
        return body


class _Lenient(BaseModel):
    """Answers are parsed tolerantly: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


class ImageData(_Lenient):
    url: str | None = None
    b64_json: str | None = Field(default=None, repr=False)
    revised_prompt: str | None = Field(default=None, repr=False)


class TaskError(_Lenient):
    code: str | None = None
    message: str | None = None

    @field_validator("code", "message", mode="before")
    @classmethod
    def _scalar_to_str(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value


TaskStatus = Literal["pending", "running", "succeed", "failed"]
_STATUSES: frozenset[str] = frozenset(get_args(TaskStatus))
# The docs spell it `succeed`; other spellings seen on OpenAI-style gateways map onto ours.
_STATUS_SYNONYMS = {
    "success": "succeed",
    "succeeded": "succeed",
    "completed": "succeed",
    "complete": "succeed",
    "done": "succeed",
    "fail": "failed",
    "failure": "failed",
    "error": "failed",
    "queued": "pending",
    "submitted": "pending",
    "waiting": "pending",
    "processing": "running",
    "in_progress": "running",
}


class _TaskShape(_Lenient):
    """Fields shared by a polled task and a synchronous answer, with their coercions."""

    task_id: str | None = None
    task_status: TaskStatus | None = None
    data: list[ImageData] = []
    error: TaskError | None = None
    model: str | None = None

    @field_validator("task_id", mode="before")
    @classmethod
    def _id_to_str(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("task_status", mode="before")
    @classmethod
    def _normalise_status(cls, value: object) -> object:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return lowered if lowered in _STATUSES else _STATUS_SYNONYMS.get(lowered, value)
        return value

    @field_validator("data", mode="before")
    @classmethod
    def _data_to_list(cls, value: object) -> object:
        if value is None:
            return []
        if isinstance(value, dict):  # one image as an object instead of a list of one
            return [value]
        return value

    @field_validator("error", mode="before")
    @classmethod
    def _error_to_object(cls, value: object) -> object:
        if value is None or value == {} or value == "":
            return None
        if isinstance(value, str):
            return {"message": value}
        return value


class Task(_TaskShape):
    """An image task as `POST … async:true` and `GET /images/{task_id}` describe it."""

    task_id: str = Field(min_length=1)
    task_status: TaskStatus

    def raise_for_failure(self) -> None:
        """Raise `GeekAITaskFailedError` if the task ended `failed`; otherwise do nothing."""
        if self.task_status == "failed":
            error = self.error or TaskError()
            raise GeekAITaskFailedError(error.message, code=error.code, task_id=self.task_id)


class GenerationResult(_TaskShape):
    """A synchronous (`async: false`) answer: OpenAI-style `{created, data}`, maybe more."""

    created: int | None = None


class ModelInfo(_Lenient):
    id: str = Field(min_length=1)
    name: str | None = None
    type: str | None = None
    status: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value


class _ModelsPage(_Lenient):
    data: list[Any] = []
    total: int | None = None
    page: int | None = None
    page_size: int | None = None

    @field_validator("data", mode="before")
    @classmethod
    def _none_to_list(cls, value: object) -> object:
        return [] if value is None else value


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
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("GeekAI base_url must start with http:// or https://")
        if not api_key.strip():
            raise ValueError("GeekAI api_key is empty")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if request_timeout <= 0 or backoff_base < 0 or backoff_cap < 0:
            raise ValueError("timeouts and backoff must be positive")
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._key = _Secret(api_key.strip())
        self._request_timeout = request_timeout
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._rng = rng or random.Random()

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
        payload = await self._call(
            "POST",
            "/images/generations",
            body=request.to_body(run_async=True),
            limit=self._request_timeout,
        )
        task = self._parse(Task, payload, "POST /images/generations")
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
        payload = await self._call(
            "POST", "/images/generations", body=request.to_body(run_async=False), limit=timeout
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

    async def get_task(self, task_id: str) -> Task:
        """The task's current state, whatever it is; see `Task.raise_for_failure`."""
        if not task_id:
            raise ValueError("task_id is empty")
        path = "/images/" + quote(task_id, safe="")
        payload = await self._call("GET", path, limit=self._request_timeout)
        task = self._parse(Task, payload, f"GET {path}")
        log.debug("GeekAI task %s: %s", task.task_id, task.task_status)
        return task

    async def list_models(self) -> list[ModelInfo]:
        """Every model on the account, all pages (at most `MAX_MODEL_PAGES`)."""
        models: dict[str, ModelInfo] = {}
        seen = 0
        for page in range(1, MAX_MODEL_PAGES + 1):
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
    ) -> Any:
        """One logical request with retries; returns the parsed JSON of a 2xx answer."""
        attempt = 1
        while True:
            try:
                return await self._attempt(method, path, body=body, params=params, limit=limit)
            except GeekAIError as exc:
                if not exc.retryable or attempt >= self._max_attempts:
                    if exc.retryable:
                        log.warning(
                            "GeekAI %s %s: giving up after %d attempts", method, path, attempt
                        )
                    raise
                delay = self._backoff(attempt)
                if isinstance(exc, GeekAIRateLimitedError) and exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, RETRY_AFTER_CAP))
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
                raw = await response.read()
                status = response.status
                response_headers = response.headers
        except TimeoutError as exc:
            raise GeekAITimeoutError(
                f"GeekAI {method} {path}: no answer within {limit:g}s"
            ) from exc
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
