"""Prometheus metrics of one process, in a registry of its own (no global state).

The composition root builds one `Metrics` and hands it to whatever it instruments; each hook
is a one-line call. Gauges are read at scrape time from the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.errors import UserFacingError

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# A GeekAI request takes from tens of milliseconds (poll) to a minute (a slow submit).
_REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Download, fit and upload: under a second usually, tens of seconds for large batches.
_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)

# Error message keys of the refusals that keep a member from starting a job.
_REFUSAL_REASONS = {
    "quota.exceeded": "exceeded",
    "quota.exceeded_total": "exceeded",
    "quota.blocked": "blocked",
    "error.queue_full": "queue_full",
    "error.user_queue_full": "user_queue_full",
    "error.cooldown": "cooldown",
    "quota.ceiling_user": "ceiling",
    "quota.ceiling_guild": "ceiling",
    "error.guild_not_enabled": "not_enabled",
}


class QueueView(Protocol):
    """What the gauges read from the scheduler."""

    @property
    def running(self) -> frozenset[int]: ...

    @property
    def queued_count(self) -> int: ...


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Counter(
            "imagine_jobs", "Jobs that reached a final state.", ["state", "model"], registry=r
        )
        self.in_flight = Gauge(
            "imagine_jobs_in_flight", "Jobs running now (submitted or being polled).", registry=r
        )
        self.queue_length = Gauge(
            "imagine_queue_length", "Jobs waiting for a slot in this process.", registry=r
        )
        self.geekai_seconds = Histogram(
            "imagine_geekai_request_seconds",
            "Duration of GeekAI API calls, retries included.",
            ["endpoint"],
            buckets=_REQUEST_BUCKETS,
            registry=r,
        )
        self.delivery_lag = Histogram(
            "imagine_delivery_lag_seconds",
            "From the poll that saw the task finished to the image posted on Discord.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "imagine_quota_refusals",
            "Requests refused by quotas, cooldown or a full queue.",
            ["reason"],
            registry=r,
        )
        self.in_flight.set_function(lambda: 0.0)
        self.queue_length.set_function(lambda: 0.0)

    def watch_scheduler(self, scheduler: QueueView) -> None:
        """Read the gauges from `scheduler` at every scrape."""
        self.in_flight.set_function(lambda: float(len(scheduler.running)))
        self.queue_length.set_function(lambda: float(scheduler.queued_count))

    def job_finished(self, state: str, model: str) -> None:
        self.jobs.labels(state=state, model=model).inc()

    def delivered(self, lag_seconds: float) -> None:
        self.delivery_lag.observe(max(0.0, lag_seconds))

    def geekai_request(self, endpoint: str, seconds: float) -> None:
        self.geekai_seconds.labels(endpoint=endpoint).observe(seconds)

    def count_refusal(self, exc: BaseException) -> None:
        """Count `exc` if it is a refusal to start a job; any other error is ignored."""
        if isinstance(exc, UserFacingError) and exc.key in _REFUSAL_REASONS:
            self.refusals.labels(reason=_REFUSAL_REASONS[exc.key]).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every family."""
        return generate_latest(self.registry)


RequestTimer = Callable[[str, float], None]
