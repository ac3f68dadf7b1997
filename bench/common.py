"""What every scenario shares: processes (fake GeekAI, the bot, the floor bot), the fake
Discord with many members, paced dispatch, /proc readings and percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from tests.e2e.harness import BOT_TOKEN
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage

ROOT = Path(__file__).resolve().parents[1]
FIRST_USER = 100_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- numbers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError, ValueError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        memory = int(first.split()[1]) // 1024
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_mib": memory,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system, all threads
    peak_rss_mib: float  # VmHWM
    rss_mib: float  # VmRSS now


def usage(pid: int) -> Usage:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )

    def mib(key: str) -> float:
        return int(status[key].split()[0]) / 1024

    return Usage(cpu, mib("VmHWM"), mib("VmRSS"))


# --- processes ------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def usage(self) -> Usage:
        return usage(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode


async def spawn(
    name: str, module: str, *args: str, env: dict[str, str], cwd: Path, log_dir: Path
) -> Proc:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args,
            cwd=cwd, env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE if module == "bench.geekai_proc" else log,
            stderr=log,
        )  # fmt: skip
    return Proc(name, process, log_path)


def base_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}


class GeekAIProcess:
    """The fake GeekAI in its own process (bench.geekai_proc) and its control API."""

    def __init__(self, proc: Proc, base_url: str, control: str) -> None:
        self.proc = proc
        self.base_url = base_url
        self.control = control
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, log_dir: Path, *, realistic_png: bool = False
    ) -> AsyncIterator[GeekAIProcess]:
        args = ["--realistic-png"] if realistic_png else []
        proc = await spawn(
            "geekai", "bench.geekai_proc", *args, env=base_env(), cwd=ROOT, log_dir=log_dir
        )
        assert proc.process.stdout is not None
        try:
            line = await asyncio.wait_for(proc.process.stdout.readline(), 60)
            if not line:
                raise RuntimeError(f"fake GeekAI did not start:\n{proc.log_tail()}")
            info = json.loads(line)
            geekai = cls(proc, info["base_url"], info["control"])
            try:
                yield geekai
            finally:
                await geekai._http.close()
        finally:
            await proc.stop()

    @property
    def api_key(self) -> str:
        from bench.geekai_proc import API_KEY

        return API_KEY

    async def script(self, outcomes: list[dict[str, float]]) -> None:
        async with self._http.post(self.control + "/script", json={"outcomes": outcomes}) as r:
            r.raise_for_status()

    async def set_default(self, pending_seconds: float, running_seconds: float) -> None:
        body = {"pending_seconds": pending_seconds, "running_seconds": running_seconds}
        async with self._http.post(self.control + "/default", json=body) as r:
            r.raise_for_status()

    async def tasks(self) -> list[dict[str, Any]]:
        async with self._http.get(self.control + "/tasks") as r:
            r.raise_for_status()
            rows: list[dict[str, Any]] = await r.json()
        return rows

    async def cpu_seconds(self) -> float:
        async with self._http.get(self.control + "/usage") as r:
            return float((await r.json())["cpu_seconds"])


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_server() -> str | None:
    """IMAGINE_BENCH_POSTGRES_URL: a PostgreSQL server the PostgreSQL variants may create
    databases on (any database of it: the URL's path is replaced), or None: SQLite only."""
    url = os.environ.get("IMAGINE_BENCH_POSTGRES_URL", "").strip()
    return url if url and url != "off" else None


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@contextlib.asynccontextmanager
async def fresh_postgres(server: str, label: str) -> AsyncIterator[str]:
    """A new, empty database on `server` for one run (dropped afterwards); its URL."""
    import asyncpg  # the PostgreSQL variants only

    name = f"bench_{label.lower()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(server, name)
    finally:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def engines() -> list[tuple[str, str | None]]:
    """The (metric prefix, PostgreSQL server) pairs a two-engine scenario runs: SQLite
    always ("", None), and PostgreSQL ("pg.", server) when a server is given."""
    server = postgres_server()
    return [("", None)] + ([("pg.", server)] if server else [])


# --- the fake Discord and the bots ----------------------------------------------------------


def users(count: int) -> list[int]:
    return [FIRST_USER + i for i in range(count)]


async def start_discord(members: int) -> FakeDiscord:
    """A fake Discord whose guild has `members` extra members (one per simulated user)."""
    fake = FakeDiscord()
    for user_id in users(members):
        fake.add_member(user_id, username=f"bench{user_id}")
    await fake.start()
    return fake


def bot_env(
    discord: FakeDiscord, geekai: GeekAIProcess, db: Path | str, **settings: object
) -> dict[str, str]:
    """The real bot's environment, as an operator would set it (see .env.example).

    `db`: a SQLite file, or a database URL (postgresql://...). The per-server caps follow
    the fleet-wide ones unless given: a benchmark puts all its jobs in one or a few servers,
    and measures the bot, not a server's share of the queue."""
    if "max_running_jobs" in settings:
        settings.setdefault("max_running_per_guild", settings["max_running_jobs"])
    if "max_queued_jobs" in settings:
        settings.setdefault("max_queued_per_guild", settings["max_queued_jobs"])
    env = {
        **base_env(),
        "DISCORD_TOKEN": BOT_TOKEN,
        "GEEKAI_API_KEY": geekai.api_key,
        "GEEKAI_BASE_URL": geekai.base_url,
        "DISCORD_API_BASE": discord.api_base,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "DATABASE_URL": db if isinstance(db, str) else f"sqlite:///{db}",
        "DEV_GUILD_ID": str(discord.guild_id),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        # Benchmarks measure the bot's overhead, not the owner's policy: no credit limit.
        "QUOTA_DEFAULT_PERIOD": "unlimited",
    }
    env.update({key.upper(): str(value) for key, value in settings.items()})
    for name, value in os.environ.items():
        # A proposed fix (applied by bench.bot_proc) or allocator tuning being tried out.
        if name == "BENCH_PREVIEW" or name.startswith(
            ("MALLOC_", "PYTHONMALLOC", "PYTHONASYNCIODEBUG")
        ):
            env[name] = value
    return env


async def wait_commands(discord: FakeDiscord, within: float = 60.0) -> None:
    await discord.wait_ready(timeout=within)
    await discord.wait_for(
        lambda: any(
            c["name"] == "imagine" for c in discord.registered_commands.get(discord.guild_id, [])
        ),
        timeout=within,
        message="the bot synced /imagine to the guild",
    )


@dataclass
class Dispatched:
    interactions: list[FakeInteraction] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)


async def dispatch(
    discord: FakeDiscord, prompts: Sequence[str], *, rate: float, first_user: int = 0
) -> Dispatched:
    """Send /imagine for each prompt, `rate` per second, each from its own member."""
    out = Dispatched()
    loop = asyncio.get_running_loop()
    start = loop.time()
    members = users(first_user + len(prompts))[first_user:]
    for i, (prompt, user_id) in enumerate(zip(prompts, members, strict=True)):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        option = {"name": "prompt", "type": 3, "value": prompt}
        out.interactions.append(
            await discord.send_interaction("imagine", [option], user_id=user_id)
        )
        out.prompts.append(prompt)
    return out


def final_snapshot_at(discord: FakeDiscord, interaction: FakeInteraction) -> float | None:
    """When the message first showed ✅ with its image(s) (time.monotonic()), if it has."""
    if interaction.original_message_id is None:
        return None
    message: FakeMessage | None = discord.messages.get(interaction.original_message_id)
    if message is None:
        return None
    for snapshot in message.edits:
        if snapshot.content.startswith("✅") and snapshot.attachments:
            return snapshot.at
    return None


def failed(discord: FakeDiscord, interaction: FakeInteraction) -> bool:
    message_id = interaction.original_message_id
    message = discord.messages.get(message_id) if message_id is not None else None
    return message is not None and message.content.startswith(("🔴", "⚪"))


async def wait_delivered(
    discord: FakeDiscord, interactions: Sequence[FakeInteraction], within: float
) -> tuple[int, int]:
    """Wait until every job shows ✅ with images or failed; returns (delivered, failed)."""
    deadline = time.monotonic() + within
    pending = list(interactions)
    delivered = failures = 0
    while pending and time.monotonic() < deadline:
        still = []
        for ix in pending:
            if final_snapshot_at(discord, ix) is not None:
                delivered += 1
            elif failed(discord, ix):
                failures += 1
            else:
                still.append(ix)
        pending = still
        if pending:
            await asyncio.sleep(0.2)
    return delivered, failures


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """No garbage collection in this (measuring) process for the block: a full collection of
    the fakes' records takes tens of milliseconds and would land in the measurements."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def read_lag(path: Path, since: float, until: float) -> list[float]:
    """Event-loop lateness samples (seconds) the bot's probe took in [since, until]."""
    with contextlib.suppress(OSError, ValueError):
        samples = json.loads(path.read_text())
        return [lag for at, lag in samples if since <= at <= until]
    return []
