"""Domain types shared by the job road: parameters, states and the job record."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class JobState(enum.StrEnum):
    QUEUED = "queued"
    SUBMITTING = "submitting"  # sent to GeekAI, task id not yet known
    PENDING = "pending"
    RUNNING = "running"
    DELIVERING = "delivering"  # GeekAI finished; downloading and posting the images
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class Variation(BaseModel):
    """A job that varies one image of an earlier result (the Vary… menu)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    source_job_id: int
    image: int = Field(ge=1, le=10)  # which image of the source result, 1-based
    kind: Literal["subtle", "strong"]
    # The source's model when it takes no reference image and the vary model ran instead.
    fallback_from: str | None = None


class JobParams(BaseModel):
    """What the user asked for, validated against the model catalog; stored as JSON."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model: str
    prompt: str
    negative_prompt: str | None = None
    size: str | None = None
    aspect_ratio: str | None = None
    n: int = Field(default=1, ge=1, le=10)
    quality: str | None = None
    style: str | None = None
    strength: float | None = None
    background: str | None = None
    # The input image for image-to-image: a URL GeekAI fetches (a Discord attachment URL).
    image_url: str | None = Field(default=None, repr=False)
    # Seedream "group images": ask for up to this many related images in one task.
    sequential_images: int | None = Field(default=None, ge=2, le=15)
    # The region to repaint: a PNG whose transparent pixels mark it (URL or data: URI).
    mask_url: str | None = Field(default=None, repr=False)
    output_format: Literal["png", "jpg", "webp"] | None = None
    watermark: bool | None = None  # set at intake from the server, for models that take it
    retries: int | None = Field(default=None, ge=0, le=10)  # GeekAI's server-side retries
    variation: Variation | None = None

    @property
    def max_images(self) -> int:
        """The most images this request can return: what quotas must reserve."""
        return max(self.n, self.sequential_images or 0)


@dataclass(frozen=True)
class DiscordTarget:
    """Where a job's status message lives and how the bot may edit it."""

    guild_id: int | None
    channel_id: int
    user_id: int
    locale: str
    application_id: int | None
    interaction_id: int | None
    interaction_token: str | None
    interaction_created_at: float | None
    upload_limit: int
    reply_to_message_id: int | None = None  # rerolls by reaction reply to the result


@dataclass(frozen=True)
class Job:
    id: int
    target: DiscordTarget
    message_id: int | None
    params: JobParams
    state: JobState
    task_id: str | None
    error_code: str | None
    error_message: str | None
    images_delivered: int
    submit_attempts: int
    parent_job_id: int | None
    created_at: float
    updated_at: float
    submitted_at: float | None
    started_at: float | None
    finished_at: float | None

    @property
    def user_id(self) -> int:
        return self.target.user_id

    @property
    def model(self) -> str:
        return self.params.model
