"""The benchmark suite still runs end to end (tiny sizes; no timing is judged)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(90)
def test_bench_smoke_runs_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=80, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    assert set(results["scenarios"]) == {"B1", "B2", "B3", "B4", "B5", "B7"}
    for name, scenario in results["scenarios"].items():
        for check in scenario["checks"]:
            assert not math.isnan(check["median"]), (name, check)
            assert check["passed"] is None  # smoke runs judge nothing
    # Every job of every smoke scenario made it through the real bot.
    scenarios = results["scenarios"]
    assert scenarios["B1"]["median"]["unanswered"] == 0
    assert scenarios["B2"]["median"]["learned.undelivered"] == 0
    assert scenarios["B3"]["median"]["undelivered"] == 0
    assert scenarios["B5"]["median"]["not_resumed"] == 0
    assert scenarios["B4"]["median"]["overspend"] == 0
    assert scenarios["B7"]["median"]["single.uploaded_mib"] > 0
    assert "| B3 |" in done.stdout
