"""Metrics: the families the spec names, refusal reasons, and the dashboard's queries."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.errors import UserFacingError
from bot.jobs.scheduler import QueueFullError
from bot.ops.metrics import Metrics
from bot.quota.types import QuotaBlockedError, QuotaExceededError

ROOT = Path(__file__).resolve().parents[2]


def _families(metrics: Metrics) -> dict[str, str]:
    text = metrics.render().decode()
    families = text_string_to_metric_families(text)
    # `*_created` (when a series was created) parses as a gauge of its own: not a family.
    return {f.name: f.type for f in families if not f.name.endswith("_created")}


def test_the_families_and_their_types() -> None:
    assert _families(Metrics()) == {
        "imagine_jobs": "counter",
        "imagine_jobs_in_flight": "gauge",
        "imagine_queue_length": "gauge",
        "imagine_geekai_request_seconds": "histogram",
        "imagine_delivery_lag_seconds": "histogram",
        "imagine_quota_refusals": "counter",
    }


def test_each_registry_is_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.job_finished("succeeded", "m")
    assert b'imagine_jobs_total{model="m",state="succeeded"} 1.0' in first.render()
    assert b"imagine_jobs_total{" not in second.render()


def test_refusals_are_counted_by_reason_and_other_errors_are_not() -> None:
    metrics = Metrics()
    metrics.count_refusal(QuotaExceededError(left=0, needed=1, resets_at=None))
    metrics.count_refusal(QuotaExceededError(left=0, needed=1, resets_at=1.0))
    metrics.count_refusal(QuotaBlockedError())
    metrics.count_refusal(QueueFullError("error.queue_full"))
    metrics.count_refusal(UserFacingError("error.blocked_word", word="x"))
    metrics.count_refusal(RuntimeError("boom"))
    text = metrics.render().decode()
    counts = {
        s.labels["reason"]: s.value
        for f in text_string_to_metric_families(text)
        if f.name == "imagine_quota_refusals"
        for s in f.samples
        if s.name.endswith("_total")
    }
    assert counts == {"exceeded": 2.0, "blocked": 1.0, "queue_full": 1.0}


def test_the_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"imagine_[a-z_]+", e)}
    samples = set()
    for name, kind in _families(Metrics()).items():
        suffixes = {
            "counter": ["_total"],
            "gauge": [""],
            "histogram": ["_bucket", "_count", "_sum"],
        }
        samples |= {name + s for s in suffixes[kind]}
    assert used and used <= samples, used - samples
    assert {"imagine_jobs_total", "imagine_delivery_lag_seconds_bucket"} <= used
