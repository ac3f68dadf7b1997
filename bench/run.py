"""Run the benchmarks: `uv run python -m bench.run [B1 B2 ...] [--smoke] [--runs N] [--out F]`.

Each scenario runs N times (fresh processes each time); the table shows the median of the
runs next to the target, with the references measured in the same runs. Results, with
every run's numbers and the machine, go to `--out` as JSON. `--smoke` runs tiny sizes in
seconds to prove the code works; its numbers mean nothing and nothing is judged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import b1_ack, b2_delivery, b3_load, b4_quota, b5_resume, b6_fleet, b7_grid
from bench.common import ROOT, machine
from bench.scenario import Check, RunContext, Scenario

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        b1_ack.SCENARIO,
        b2_delivery.SCENARIO,
        b3_load.SCENARIO,
        b4_quota.SCENARIO,
        b5_resume.SCENARIO,
        b6_fleet.SCENARIO,
        b7_grid.SCENARIO,
    )
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"


def code_version() -> dict[str, object]:
    """The commit measured and whether bot/ or cogs/ had uncommitted changes (read-only)."""

    def git(*args: str) -> str:
        # Fixed, read-only git commands; no outside input.
        command = ["git", *args]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": git("status", "--porcelain", "--", "bot", "cogs").splitlines(),
    }


def median(values: list[float]) -> float:
    real = [v for v in values if not math.isnan(v)]
    return statistics.median(real) if real else math.nan


async def run_scenario(scenario: Scenario, runs: int, smoke: bool, root: Path) -> dict[str, Any]:
    per_run: list[dict[str, float]] = []
    for index in range(runs):
        workdir = root / scenario.name / f"run{index}"
        log_dir = workdir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        metrics = await scenario.run(RunContext(index, smoke, workdir, log_dir))
        metrics["wall_seconds"] = time.monotonic() - started
        per_run.append(metrics)
        print(f"  {scenario.name} run {index + 1}/{runs}: {time.monotonic() - started:.0f} s",
              file=sys.stderr, flush=True)  # fmt: skip
    keys = sorted({k for m in per_run for k in m})
    medians = {k: median([m.get(k, math.nan) for m in per_run]) for k in keys}
    skipped = all(m.get("skipped", 0.0) for m in per_run)

    def verdict(check: Check) -> bool | None:
        value = medians.get(check.metric, math.nan)
        if smoke or skipped or (check.optional and math.isnan(value)):
            return None
        return check.passed(value)

    checks = [
        {
            "metric": c.metric,
            "label": c.label,
            "target": c.target(),
            "median": medians.get(c.metric, math.nan),
            "runs": [m.get(c.metric, math.nan) for m in per_run],
            "passed": verdict(c),
            "optional": c.optional,
        }
        for c in scenario.checks
    ]
    return {
        "title": scenario.title,
        "skipped": skipped,
        "median": medians,
        "runs": per_run,
        "checks": checks,
        "shown": list(scenario.shown),
    }


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def table(results: dict[str, Any]) -> str:
    lines = [
        "| # | measure | target | median (runs) | result |",
        "|---|---|---|---|---|",
    ]
    for name, result in results["scenarios"].items():
        for check in result["checks"]:
            runs = ", ".join(_fmt(v) for v in check["runs"])
            verdict = {True: "pass", False: "MISS", None: "-"}[check["passed"]]
            if result.get("skipped"):
                verdict = "skipped"
            elif check["passed"] is None and math.isnan(check["median"]):
                verdict = "not measured"
            lines.append(
                f"| {name} | {check['label']} | {check['target']} |"
                f" {_fmt(check['median'])} ({runs}) | {verdict} |"
            )
        shown = [(k, result["median"].get(k, math.nan)) for k in result["shown"]]
        refs = ", ".join(f"{k} {_fmt(v)}" for k, v in shown if not math.isnan(v))
        if refs:
            lines.append(f"| {name} | same-run references | | {refs} | |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    names = [n.upper() for n in args.scenarios] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {list(SCENARIOS)}")
    results: dict[str, Any] = {
        "machine": machine(),
        "smoke": args.smoke,
        "preview": os.environ.get("BENCH_PREVIEW"),  # a proposed fix was applied to the bot
        "runs": args.runs,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "code": code_version(),
        "scenarios": {},
    }
    with tempfile.TemporaryDirectory(prefix="imagine-bench-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        for name in names:
            print(f"{name}: {SCENARIOS[name].title}", file=sys.stderr, flush=True)
            results["scenarios"][name] = await run_scenario(
                SCENARIOS[name], args.runs, args.smoke, root
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help=f"any of {list(SCENARIOS)} (default all)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no judging")
    parser.add_argument("--runs", type=int, default=1, help="runs per scenario (median)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON")
    parser.add_argument("--keep", help="keep databases and process logs in this directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, allow_nan=True) + "\n")
    print(table(results))
    print(f"\nmachine: {results['machine']}\ncode: {results['code']}\nresults: {args.out}")
    failed = [c for s in results["scenarios"].values() for c in s["checks"] if c["passed"] is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
