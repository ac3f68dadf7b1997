"""Pure rendering: a job (and what we know about it) → the status message's content and embed.

No discord.py here: the embed is the dict Discord takes; `bot/ui/components.py` builds the
buttons and menus, `bot/ui/messenger.py` turns a StatusView into a message.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n.lookup import t
from bot.jobs.models import Job, JobParams, JobState

STATE_COLOURS = {
    JobState.QUEUED: 0xF5A623,
    JobState.SUBMITTING: 0xF8E71C,
    JobState.PENDING: 0xF8E71C,
    JobState.RUNNING: 0x7ED321,
    JobState.DELIVERING: 0x7ED321,
    JobState.SUCCEEDED: 0x2ECC71,
    JobState.FAILED: 0xD0021B,
    JobState.CANCELLED: 0x9B9B9B,
}
EMBED_TITLE_LIMIT = 256
EMBED_FIELD_LIMIT = 1024
CONTENT_LIMIT = 2000


@dataclass(frozen=True)
class StatusView:
    """What the status message shows; equal views mean no edit is needed."""

    content: str
    embed: dict[str, object]
    image_filename: str | None = None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_line(job: Job, *, position: int | None = None, reason: str | None = None) -> str:
    loc = job.target.locale
    match job.state:
        case JobState.QUEUED:
            if position is not None:
                return t(loc, "status.queued_position", position=position)
            return t(loc, "status.queued")
        case JobState.SUBMITTING | JobState.PENDING:
            return t(loc, "status.pending")
        case JobState.RUNNING:
            started = int(job.started_at or job.submitted_at or job.created_at)
            return t(loc, "status.running", started=f"<t:{started}:R>")
        case JobState.DELIVERING:
            return t(loc, "status.delivering", count=job.params.n)
        case JobState.SUCCEEDED:
            return t(loc, "status.succeeded", seconds=f"{elapsed(job):.1f}")
        case JobState.FAILED:
            return t(loc, "status.failed", reason=reason or job.error_message or "?")
        case JobState.CANCELLED:
            return t(loc, "status.cancelled")


def elapsed(job: Job) -> float:
    """Seconds the user waited: from the request to the end (or now, if not finished)."""
    end = job.finished_at if job.finished_at is not None else job.updated_at
    return max(0.0, end - job.created_at)


def _variation_field(loc: str, params: JobParams) -> dict[str, object]:
    v = params.variation
    assert v is not None
    kind = t(loc, f"ui.vary_{v.kind}")
    value = t(loc, "embed.variation_value", job_id=v.source_job_id, index=v.image, kind=kind)
    if v.fallback_from:
        value += "\n" + t(
            loc, "embed.variation_fallback", model=v.fallback_from, vary_model=params.model
        )
    return {"name": t(loc, "embed.variation"), "value": value, "inline": False}


def render_status(
    job: Job,
    *,
    position: int | None = None,
    reason: str | None = None,
    image_filename: str | None = None,
) -> StatusView:
    loc = job.target.locale
    params = job.params
    fields: list[dict[str, object]] = [
        {"name": t(loc, "embed.model"), "value": params.model, "inline": True},
    ]
    if params.size:
        fields.append({"name": t(loc, "embed.size"), "value": params.size, "inline": True})
    if params.n > 1:
        fields.append({"name": t(loc, "embed.count"), "value": str(params.n), "inline": True})
    if params.negative_prompt:
        fields.append(
            {
                "name": t(loc, "embed.negative"),
                "value": _clip(params.negative_prompt, EMBED_FIELD_LIMIT),
                "inline": False,
            }
        )
    if params.variation is not None:
        fields.append(_variation_field(loc, params))
    if job.state is JobState.SUCCEEDED:
        fields.append(
            {"name": t(loc, "embed.time"), "value": f"{elapsed(job):.1f} s", "inline": True}
        )
    embed: dict[str, object] = {
        "title": _clip(params.prompt, EMBED_TITLE_LIMIT),
        "color": STATE_COLOURS[job.state],
        "fields": fields,
        "footer": {"text": t(loc, "embed.footer", job_id=job.id)},
    }
    if image_filename is not None:
        embed["image"] = {"url": f"attachment://{image_filename}"}
    content = _clip(status_line(job, position=position, reason=reason), CONTENT_LIMIT)
    return StatusView(content=content, embed=embed, image_filename=image_filename)
