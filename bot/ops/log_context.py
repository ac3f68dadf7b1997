"""Ids of the job being worked on, carried by a contextvar into every log record.

`bind_job(...)` is called where a job's work starts (each job runs in its own asyncio task,
which copies the context), and `JobContextFilter` copies the ids onto each record, where the
JSON formatter writes them as fields. No message text is formatted for it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

JOB_FIELDS = ("job_id", "guild_id", "user_id", "task_id")

_job: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar(
    "imagine_job_log_context", default=None
)


def bind_job(**ids: object) -> contextvars.Token[dict[str, object] | None]:
    """Add ids (job_id, guild_id, user_id, task_id) to this task's log context."""
    merged = dict(_job.get() or {})
    merged.update({k: v for k, v in ids.items() if k in JOB_FIELDS and v is not None})
    return _job.set(merged)


def unbind_job(token: contextvars.Token[dict[str, object] | None]) -> None:
    _job.reset(token)


@contextlib.contextmanager
def job_context(**ids: object) -> Iterator[None]:
    """Bind ids for the `with` block only (work on a job inside someone else's task)."""
    token = bind_job(**ids)
    try:
        yield
    finally:
        unbind_job(token)


def current_job_ids() -> dict[str, object]:
    return dict(_job.get() or {})


class JobContextFilter(logging.Filter):
    """Puts the bound job ids on the record (explicit `extra=` values win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_job.get() or {}).items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True
