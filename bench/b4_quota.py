"""B4: the quota ledger on one SQLite file in WAL mode, 50 concurrent tasks.

Runs `bench.quota_ledger` (the ledger's own benchmark, kept next to it) in a process of its
own and reads its report: reserve + commit pairs per second through `QuotaService` with 50
concurrent tasks, whether any user ended over their allowance, and the floor — the same
transaction shape with trivial statements, i.e. what `Database` + aiosqlite cost before any
quota SQL runs.
"""

from __future__ import annotations

import asyncio
import re
import sys

from bench.common import ROOT, base_env
from bench.scenario import Check, RunContext, Scenario

_PAIRS = re.compile(r"reserve\+commit pairs/s: ([\d,.]+)")
_FLOOR = re.compile(r"floor .*?: ([\d,.]+) pairs/s")
_OVERSPEND = re.compile(r"^overspend: none$", re.MULTILINE)


def _number(pattern: re.Pattern[str], text: str) -> float:
    match = pattern.search(text)
    if match is None:
        raise RuntimeError(f"bench.quota_ledger's report changed; cannot find {pattern.pattern}")
    return float(match.group(1).replace(",", ""))


async def run(ctx: RunContext) -> dict[str, float]:
    attempts = "5" if ctx.smoke else "200"
    args = ["--tasks", "50", "--users", "50", "--attempts", attempts, "--floor"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.quota_ledger", *args, cwd=ROOT, env=base_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    (ctx.log_dir / "b4-quota-ledger.log").write_text(text)
    overspent = _OVERSPEND.search(text) is None or proc.returncode != 0
    return {
        "pairs_per_s": _number(_PAIRS, text),
        "floor_pairs_per_s": _number(_FLOOR, text),
        "overspend": 1.0 if overspent else 0.0,
    }


SCENARIO = Scenario(
    name="B4",
    title="quota ledger: reserve + commit, 50 concurrent tasks, one WAL file",
    run=run,
    checks=(
        Check("pairs_per_s", "reserve + commit pairs per second", 2000.0, "/s", ">="),
        Check("overspend", "users over their allowance", 0.0, ""),
    ),
    shown=("floor_pairs_per_s",),
)
