"""The fake GeekAI in a process of its own, steered over a small control API.

`python -m bench.geekai_proc [--realistic-png]` starts `tests.fakes.geekai_server.FakeGeekAI`
on 127.0.0.1 and prints one JSON line, `{"base_url": ..., "control": ...}`, then serves
until stdin closes or SIGTERM. Running it apart keeps its work (PNG rendering, serving
megabytes of results) off the fake Discord's event loop and the bot's CPU.

Control API (JSON):
  POST /script  {"outcomes": [{"pending_seconds": s, "running_seconds": s}, ...]}
                the next tasks created play these out, in order
  POST /default {"pending_seconds": s, "running_seconds": s}   for every task after that
  GET  /tasks   every task: id, prompt, created_at / done_at and the times of its status
                checks (time.monotonic(), which the processes of one machine share)
  GET  /usage   this process's CPU seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import signal
import sys
from typing import Any

from aiohttp import web
from PIL import Image, ImageChops

from tests.fakes.geekai_server import FakeGeekAI, TaskOutcome

API_KEY = "bench-geekai-key"
PNG_VARIANTS = 4


def realistic_png(seed: int, side: int = 1024) -> bytes:
    """A 1024×1024 PNG of about 1.5 MB: a gradient with fine noise, like a busy picture."""
    size = (side, side)
    across = Image.linear_gradient("L").rotate(90).resize(size)
    down = Image.linear_gradient("L").resize(size)
    base = Image.merge("RGB", (across, down, Image.new("L", size, seed * 37 % 256)))
    rng = random.Random(seed)
    grain = Image.frombytes("L", size, rng.randbytes(side * side)).point(lambda v: v * 8 // 255)
    flipped = grain.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    noise = Image.merge("RGB", (grain, grain.rotate(90), flipped))
    out = io.BytesIO()
    ImageChops.add(base, noise).save(out, "PNG")
    return out.getvalue()


class Control:
    def __init__(self, fake: FakeGeekAI, pngs: list[bytes]) -> None:
        self.fake = fake
        self.pngs = pngs
        self.created = 0

    def outcome(self, spec: dict[str, Any]) -> TaskOutcome:
        outcome = TaskOutcome(
            pending_seconds=spec.get("pending_seconds"),
            running_seconds=spec.get("running_seconds"),
        )
        if self.pngs:
            self.created += 1
            outcome.image_bytes = self.pngs[self.created % len(self.pngs)]
        return outcome

    async def script(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.fake.script_task(*(self.outcome(spec) for spec in body["outcomes"]))
        return web.json_response({"scripted": len(body["outcomes"])})

    async def default(self, request: web.Request) -> web.Response:
        self.fake.default_outcome = self.outcome(await request.json())
        return web.json_response({})

    async def tasks(self, request: web.Request) -> web.Response:
        checks: dict[str, list[float]] = {}
        for record in self.fake.requests:
            if record.method == "GET" and record.path.startswith("/api/v1/images/"):
                checks.setdefault(record.path.rsplit("/", 1)[-1], []).append(record.at)
        rows = [
            {
                "task_id": task.task_id,
                "prompt": task.prompt,
                "async": task.run_async,
                "created_at": task.created_at,
                "done_at": None
                if task.finishes_after is None
                else task.created_at + task.finishes_after,
                "polls": task.poll_count,
                "poll_times": checks.get(task.task_id, []),
            }
            for task in self.fake.tasks.values()
        ]
        return web.json_response(rows)

    async def usage(self, request: web.Request) -> web.Response:
        times = os.times()
        return web.json_response({"cpu_seconds": times.user + times.system})


async def serve(args: argparse.Namespace) -> None:
    pngs = [realistic_png(seed) for seed in range(PNG_VARIANTS)] if args.realistic_png else []
    fake = FakeGeekAI(api_key=API_KEY, pending_seconds=0.3, running_seconds=0.6)
    await fake.start()
    control = Control(fake, pngs)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/script", control.script)
    app.router.add_post("/default", control.default)
    app.router.add_get("/tasks", control.tasks)
    app.router.add_get("/usage", control.usage)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"base_url": fake.base_url, "control": f"http://127.0.0.1:{port}"}))
    sys.stdout.flush()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    await stop.wait()
    with contextlib.suppress(Exception):
        loop.remove_reader(sys.stdin.fileno())
    await runner.cleanup()
    await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realistic-png", action="store_true", help="~1.5 MB 1024² results")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
