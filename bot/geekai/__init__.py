"""The only package that speaks to GeekAI (see client.py)."""

from bot.geekai.client import GeekAIClient
from bot.geekai.errors import (
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
)
from bot.geekai.schemas import (
    GenerationResult,
    ImageData,
    ImageRequest,
    ModelInfo,
    Task,
    TaskError,
    TaskStatus,
)
from bot.geekai.transport import parse_retry_after

__all__ = [
    "GeekAIAuthError",
    "GeekAIBadRequestError",
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
