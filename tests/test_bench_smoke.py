"""The benchmark suite still runs end to end (tiny sizes; no timing is judged).

The PostgreSQL variants (B3, B4, B5 on PostgreSQL, and B6, a fleet) run when the tests have
a PostgreSQL server (IMAGINE_TEST_POSTGRES_URL, which scripts/test starts); without one,
B6 is reported as skipped and the PostgreSQL figures as not measured.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import HAVE_POSTGRES, POSTGRES_URL

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(180)
def test_bench_smoke_runs_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = dict(os.environ)
    env["IMAGINE_BENCH_POSTGRES_URL"] = "" if not HAVE_POSTGRES else POSTGRES_URL
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    assert set(results["scenarios"]) == {"B1", "B2", "B3", "B4", "B5", "B6", "B7"}
    assert results["scenarios"]["B6"]["skipped"] is not HAVE_POSTGRES
    for name, scenario in results["scenarios"].items():
        for check in scenario["checks"]:
            measured = not scenario["skipped"] and (HAVE_POSTGRES or not check["optional"])
            assert math.isnan(check["median"]) is not measured, (name, check)
            assert check["passed"] is None  # smoke runs judge nothing
    # Every job of every smoke scenario made it through the real bot.
    scenarios = results["scenarios"]
    assert scenarios["B1"]["median"]["unanswered"] == 0
    assert scenarios["B2"]["median"]["learned.undelivered"] == 0
    assert scenarios["B3"]["median"]["undelivered"] == 0
    assert scenarios["B5"]["median"]["not_resumed"] == 0
    assert scenarios["B4"]["median"]["overspend"] == 0
    assert scenarios["B7"]["median"]["single.uploaded_mib"] > 0
    if HAVE_POSTGRES:
        assert scenarios["B3"]["median"]["pg.undelivered"] == 0
        assert scenarios["B5"]["median"]["pg.not_resumed"] == 0
        b6 = scenarios["B6"]["median"]
        assert b6["fleet.undelivered"] == b6["kill.not_resumed"] == 0
        assert b6["fleet.duplicate_submits"] == b6["fleet.duplicate_results"] == 0
        assert b6["kill.orphans"] > 0
    assert "| B3 |" in done.stdout
