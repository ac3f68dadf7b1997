"""GeekAI's wire format, under the client: capped body reads, JSON, typed errors, Retry-After.

`GeekAIClient` (client.py) sends the requests; this module reads what comes back. An
answer's body is read in chunks and given up past its cap (`_read_capped`), a 2xx body is
parsed as JSON after GeekAI's keep-alive blank lines, and a non-2xx answer becomes the
`GeekAIError` of its status with the server's own message (scrubbed of the API key) as
detail. `_Secret` holds the key so that it never shows in a repr or traceback.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from bot.geekai.errors import (
    _RETRYABLE_STATUSES,
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
    GeekAITimeoutError,
    _trim,
)

_READ_CHUNK = 64 * 1024

_M = TypeVar("_M", bound=BaseModel)


class _BodyTooLargeError(Exception):
    pass


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


def _interpret(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    scrub: Callable[[str], str],
) -> Any:
    """The parsed JSON of a 2xx answer; otherwise raises its typed `GeekAIError`.

    `scrub` removes the API key from any text that goes into an error."""
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
                detail=scrub(_trim(text)),
            ) from None
    raise _http_error(method, path, status, headers, text, scrub=scrub)


def _http_error(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    text: str,
    *,
    scrub: Callable[[str], str],
) -> GeekAIError:
    """The typed error for a non-2xx answer, with the server's message as detail."""
    try:
        payload = _loads(text) if text else None
    except ValueError:
        payload = None
    detail = scrub(_trim(_error_message(payload, text) or f"HTTP {status}"))
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


def _parse(model: type[_M], payload: Any, what: str, *, scrub: Callable[[str], str]) -> _M:
    """`payload` (a 2xx answer to `what`) as `model`, or `GeekAIMalformedResponseError`."""
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
        detail = scrub(_trim(server_says or _validation_summary(exc)))
        raise GeekAIMalformedResponseError(
            f"GeekAI {what}: unexpected answer: {detail}", status=200, detail=detail
        ) from None
