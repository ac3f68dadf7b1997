"""B7: memory and CPU of delivering four 4096×4096 PNG results (download, fit, grid).

A worker process (`python -m bench.b7_grid --worker …`) serves the PNG from disk on
127.0.0.1 (sendfile: the served bytes never enter the process) and runs the real delivery
code path, `bot.media.delivery.prepare_delivery`, through the application's guarded HTTP session:
download each image, fit it under the per-file budget of one Discord message, and build the
2×2 grid preview. It reports the peak RSS the delivery added (VmHWM after − VmRSS before;
the peak is reset through /proc/self/clear_refs just before) and the process CPU time (all
threads). Run once with one delivery, once with four deliveries at the same time. The
upload to Discord is not part of it (that is B2's subject).

The PNG is made beforehand in a process of its own (noise over gradients at compression
level 3: ~32 MiB, the size of a real 4096² PNG from a model), cached in the run's workdir.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import sys
import time
from pathlib import Path

from bench.common import ROOT, base_env
from bench.scenario import Check, RunContext, Scenario

FULL_SIDE = 4096
SMOKE_SIDE = 512
UPLOAD_LIMIT = 10 * 1024 * 1024  # a server without boosts
IMAGES = 4


def make_png(path: Path, side: int) -> None:
    from PIL import Image

    size = (side, side)
    gradient = Image.linear_gradient("L").resize(size)
    bands = [
        Image.blend(gradient.rotate(90 * i), Image.effect_noise(size, sigma), 0.3)
        for i, sigma in enumerate((10, 14, 18))
    ]
    out = io.BytesIO()
    Image.merge("RGB", bands).save(out, "PNG", compress_level=3)
    path.write_bytes(out.getvalue())


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(key)


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


def _file_mib(path: Path) -> float:
    return path.stat().st_size / 2**20


async def worker(png: Path, parallel: int) -> dict[str, float]:
    from aiohttp import web

    from bot.geekai import ImageData
    from bot.media.delivery import prepare_delivery
    from bot.media.netguard import guarded_session

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(png, headers={"Content-Type": "image/png"})

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    async with guarded_session([origin]) as http:
        gc.collect()
        _reset_peak()
        before = _status("VmRSS")
        cpu0 = time.process_time()
        wall0 = time.monotonic()

        async def one(k: int) -> int:
            items = [ImageData(url=f"{origin}/{k}-{i}.png") for i in range(IMAGES)]
            delivery = await prepare_delivery(
                http, items, max_download_bytes=40 * 1024 * 1024, upload_limit=UPLOAD_LIMIT
            )
            return sum(len(f.data) for f in delivery.files)

        sizes = await asyncio.gather(*(one(k) for k in range(parallel)))
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        peak = _status("VmHWM")
    await runner.cleanup()
    return {
        "peak_rss_added_mib": peak - before,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "baseline_rss_mib": before,
        "uploaded_mib": sum(sizes) / 2**20,
        "png_mib": _file_mib(png),
    }


async def _python(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.b7_grid", *args, cwd=ROOT, env=base_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.b7_grid {args} failed: {err.decode(errors='replace')[-2000:]}")
    return out.decode()


async def run(ctx: RunContext) -> dict[str, float]:
    side = SMOKE_SIDE if ctx.smoke else FULL_SIDE
    png = ctx.workdir.parent / f"b7-{side}.png"  # shared by the runs of this scenario
    if not png.exists():
        await _python("--make", str(png), "--side", str(side))
    metrics: dict[str, float] = {}
    for label, parallel in (("single", 1), ("parallel4", 4)):
        report = json.loads(await _python("--worker", str(png), "--parallel", str(parallel)))
        (ctx.log_dir / f"b7-{label}.json").write_text(json.dumps(report, indent=2))
        metrics.update({f"{label}.{k}": v for k, v in report.items()})
    return metrics


SCENARIO = Scenario(
    name="B7",
    title="delivery of four 4096² PNG results: peak memory and CPU",
    run=run,
    checks=(
        Check("single.peak_rss_added_mib", "one delivery: peak RSS added", 300.0, "MiB"),
        Check("single.cpu_seconds", "one delivery: CPU time", 3.0, "s"),
        Check(
            "parallel4.peak_rss_added_mib", "4 deliveries at once: peak RSS added", 1024.0, "MiB"
        ),
    ),
    shown=(
        "single.wall_seconds",
        "parallel4.cpu_seconds",
        "parallel4.wall_seconds",
        "single.png_mib",
    ),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--make", type=Path)
    parser.add_argument("--side", type=int, default=FULL_SIDE)
    parser.add_argument("--worker", type=Path)
    parser.add_argument("--parallel", type=int, default=1)
    args = parser.parse_args(argv)
    if args.make is not None:
        make_png(args.make, args.side)
        return 0
    if args.worker is not None:
        print(json.dumps(asyncio.run(worker(args.worker, args.parallel))))
        return 0
    parser.error("--make or --worker")
    return 2


if __name__ == "__main__":
    sys.exit(main())
