"""GeekAI errors: a typed hierarchy whose str() is always safe to log."""

from __future__ import annotations

from typing import ClassVar

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
    """Could not connect, or the connection dropped before the answer was complete.

    `not_sent` is True when no connection was made at all (refused, DNS failure): the
    request certainly never reached GeekAI."""

    default_retryable = True
    not_sent: bool = False


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
