"""B4: the quota ledger, 50 concurrent tasks: aiosqlite, and 3 processes on PostgreSQL.

Runs `bench.quota_ledger` (the ledger's own benchmark, kept next to it) in a process of its
own and reads its JSON report: reserve + commit pairs per second through `QuotaService` with
50 concurrent tasks, and whether any user ended over their allowance.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bench.common import ROOT, base_env, fresh_postgres, postgres_server
from bench.scenario import Check, RunContext, Scenario


async def _ledger(ctx: RunContext, *args: str) -> dict[str, float]:
    attempts = "5" if ctx.smoke else "200"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.quota_ledger", "--tasks", "50", "--users", "50",
        "--attempts", attempts, *args, cwd=ROOT, env=base_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    log = ctx.log_dir / f"b4-quota-ledger{'-pg' if args else ''}.log"
    log.write_text(out.decode() + err.decode(errors="replace"))
    lines = out.decode().strip().splitlines()
    if not lines:
        raise RuntimeError(f"bench.quota_ledger printed nothing: {err.decode()[-500:]}")
    result = json.loads(lines[-1])
    return {
        "pairs_per_s": float(result["pairs_per_second"]),
        "overspend": 0.0 if result["exact"] and proc.returncode == 0 else 1.0,
        "client_cpu_ms_per_pair": float(result["client_cpu_ms_per_pair"]),
    }


async def run(ctx: RunContext) -> dict[str, float]:
    """SQLite always; PostgreSQL with three processes when IMAGINE_BENCH_POSTGRES_URL names
    a server (each run spends in a fresh database of its own there)."""
    metrics = await _ledger(ctx)
    server = postgres_server()
    if server:
        async with fresh_postgres(server, "b4") as url:
            pg = await _ledger(ctx, "--database-url", url, "--processes", "3")
        metrics["pg3.pairs_per_s"] = pg["pairs_per_s"]
        metrics["pg3.client_cpu_ms_per_pair"] = pg["client_cpu_ms_per_pair"]
        metrics["overspend"] = max(metrics["overspend"], pg["overspend"])
    return metrics


SCENARIO = Scenario(
    name="B4",
    title="quota ledger: reserve + commit, 50 concurrent tasks (SQLite; PostgreSQL × 3)",
    run=run,
    checks=(
        Check("pairs_per_s", "reserve + commit pairs per second (aiosqlite)", 500.0, "/s", ">="),
        Check(
            "pg3.pairs_per_s",
            "pairs per second, 3 processes summed (PostgreSQL)",
            1500.0,
            "/s",
            ">=",
            optional=True,
        ),
        Check("overspend", "users over their allowance", 0.0, ""),
    ),
)
