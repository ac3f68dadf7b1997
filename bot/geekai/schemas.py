"""GeekAI request and response models, tolerant of the shapes the API is seen to use."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.geekai.errors import (
    GeekAITaskFailedError,
)

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
    output_format: Literal["png", "jpg", "webp"] | None = None
    mask: str | None = Field(default=None, repr=False)  # set: the request is an edit
    watermark: bool | None = None
    retries: int | None = Field(default=None, ge=0)

    @property
    def path(self) -> str:
        """Where it goes: a masked edit to `/images/edits` (JSON, like generations)."""
        return "/images/edits" if self.mask else "/images/generations"

    def to_body(self, *, run_async: bool = True) -> dict[str, Any]:
        """The JSON body for `POST {path}`: set fields only, plus `async`."""
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
