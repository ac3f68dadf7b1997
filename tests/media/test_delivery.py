"""prepare_delivery bounds memory: one image at a time, each decoded once (issue 13)."""

from __future__ import annotations

import base64
import contextlib
import gc
import io
import os
import threading
import weakref
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from PIL import Image, PngImagePlugin

from bot.geekai import ImageData
from bot.media import decode, fit
from bot.media.delivery import prepare_delivery
from bot.media.errors import NotAnImageError
from bot.media.grid import make_grid


def noisy_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


@contextlib.asynccontextmanager
async def serving(png: bytes) -> AsyncIterator[str]:
    """An origin on 127.0.0.1 answering every path with `png`; its base URL."""

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=png, headers={"Content-Type": "image/png"})

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def origin() -> AsyncIterator[str]:
    async with serving(noisy_png(256)) as url:
        yield url


async def test_each_image_is_decoded_once_and_one_at_a_time(
    origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_decode = decode.decode_pixels
    lock = threading.Lock()
    live = 0
    calls: list[int] = []  # how many decodes were live when each began

    def counting_decode(im: Image.Image) -> Image.Image:
        nonlocal live
        with lock:
            live += 1
            calls.append(live)
        try:
            return real_decode(im)
        finally:
            with lock:
                live -= 1

    # Fitting decodes in bot.media.fit, a tile of an image kept as it is in bot.media.decode.
    monkeypatch.setattr(fit, "decode_pixels", counting_decode)
    monkeypatch.setattr(decode, "decode_pixels", counting_decode)
    items = [ImageData(url=f"{origin}/{i}.png") for i in range(4)]
    async with aiohttp.ClientSession() as http:
        # 256² noise is ~190 KiB: over a 100 KiB budget, so every image is re-encoded.
        delivery = await prepare_delivery(
            http, items, max_download_bytes=1 << 20, upload_limit=100_000
        )
    assert len(delivery.images) == 4 and delivery.preview.filename.startswith("grid")
    assert all(len(f.data) <= 100_000 for f in delivery.files)
    assert calls == [1, 1, 1, 1]  # the grid reuses the fitting decode; never two at once


def test_make_grid_holds_one_decoded_image_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    real_decode = decode.decode_pixels
    earlier: list[weakref.ref[Image.Image]] = []

    def spy(im: Image.Image) -> Image.Image:
        gc.collect()
        assert all(ref() is None for ref in earlier), "an earlier full decode is still held"
        decoded = real_decode(im)
        earlier.append(weakref.ref(decoded))
        return decoded

    monkeypatch.setattr(decode, "decode_pixels", spy)
    grid = make_grid([noisy_png(600)] * 4, limit_bytes=1 << 20, max_side=512)
    assert grid.width <= 512 and len(earlier) == 4


def _corrupt_idat(png: bytes) -> bytes:
    """The PNG with one byte of its image data flipped: its chunk CRC no longer matches."""
    at = png.index(b"IDAT") + 4 + 100
    return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1 :]


async def test_a_corrupt_result_kept_as_it_is_is_still_refused() -> None:
    """Small enough to go to Discord byte for byte: the bytes are still checked first."""
    png = _corrupt_idat(noisy_png(64))
    async with serving(png) as corrupt_origin, aiohttp.ClientSession() as http:
        for item in (
            ImageData(url=f"{corrupt_origin}/x.png"),
            ImageData(b64_json=base64.b64encode(png).decode()),
        ):
            with pytest.raises(NotAnImageError):
                await prepare_delivery(
                    http, [item], max_download_bytes=1 << 20, upload_limit=8 << 20
                )


async def test_each_result_is_verified_once(origin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A result PNG is read for its check once, not on download and again when fitted."""
    real_verify = PngImagePlugin.PngImageFile.verify
    calls: list[int] = []

    def counting_verify(self: PngImagePlugin.PngImageFile) -> None:
        calls.append(1)
        real_verify(self)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "verify", counting_verify)
    items = [ImageData(url=f"{origin}/{i}.png") for i in range(2)]
    async with aiohttp.ClientSession() as http:
        delivery = await prepare_delivery(
            http, items, max_download_bytes=1 << 20, upload_limit=8 << 20
        )
    assert [f.data[:8] for f in delivery.images] == [b"\x89PNG\r\n\x1a\n"] * 2  # kept as is
    assert len(calls) == 2
