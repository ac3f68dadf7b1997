"""bot.media download, decode, fit and grid: real Pillow-made images and a local aiohttp server."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from bot.media import fit, grid
from bot.media.decode import validate_image
from bot.media.download import decode_base64_image, download_image
from bot.media.errors import ImageDownloadError, ImageError, ImageTooLargeError, NotAnImageError
from bot.media.fit import ImageFile, fit_image, fit_image_async
from bot.media.grid import grid_shape, make_grid, make_grid_async

MiB = 1024 * 1024
PILLOW_DEFAULT_MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3


# ----------------------------------------------------------------------------- helpers


def encode(im: Image.Image, fmt: str = "PNG", **params: Any) -> bytes:
    buf = io.BytesIO()
    if fmt == "PNG":
        params.setdefault("compress_level", 1)  # fast; noise does not compress anyway
    im.save(buf, fmt, **params)
    return buf.getvalue()


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    return Image.linear_gradient("L").resize((width, height)).convert(mode)


def noise(width: int, height: int, mode: str = "RGB") -> Image.Image:
    return Image.frombytes(mode, (width, height), os.urandom(width * height * len(mode)))


def solid(width: int, height: int, colour: tuple[int, ...], mode: str = "RGB") -> Image.Image:
    return Image.new(mode, (width, height), colour)


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def png_header_only(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG start whose IHDR claims width x height (1-bit greyscale)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def pixel(im: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = im.getpixel(xy)
    assert isinstance(value, tuple)
    return value


@pytest.fixture(scope="module")
def noisy_2048_png() -> bytes:
    data = encode(noise(2048, 2048))
    assert len(data) > 11 * MiB
    return data


SMALL_PNG = encode(gradient(64, 48))
NOISE_PNG_48K = encode(noise(128, 128))  # ~48 KiB, incompressible


# ----------------------------------------------------------------------------- fit_image


@pytest.mark.parametrize(
    ("fmt", "ext", "content_type"),
    [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"), ("WEBP", "webp", "image/webp")],
)
def test_small_image_is_kept_byte_identical(fmt: str, ext: str, content_type: str) -> None:
    data = encode(gradient(300, 200), fmt)
    result = fit_image(data, limit_bytes=MiB, basename="image_1")
    assert result == ImageFile(data, f"image_1.{ext}", 300, 200, content_type)


def test_image_exactly_at_the_limit_is_kept() -> None:
    result = fit_image(SMALL_PNG, limit_bytes=len(SMALL_PNG), basename="a")
    assert result.data == SMALL_PNG


def test_png_one_byte_over_the_limit_is_re_encoded() -> None:
    data = encode(gradient(300, 200))
    result = fit_image(data, limit_bytes=len(data) - 1, basename="image_2")
    assert result.data != data
    assert len(result.data) <= len(data) - 1
    assert (result.filename, result.content_type) == ("image_2.webp", "image/webp")
    assert opened(result.data).format == "WEBP"
    assert (result.width, result.height) == (300, 200)


def test_gif_is_never_kept_as_is() -> None:
    data = encode(gradient(64, 64, "L").convert("P"), "GIF")
    result = fit_image(data, limit_bytes=MiB, basename="g")
    assert result.filename == "g.webp"
    assert opened(result.data).format == "WEBP"


def test_large_noisy_png_is_re_encoded_at_full_size(noisy_2048_png: bytes) -> None:
    limit = 8 * MiB
    started = time.perf_counter()
    result = fit_image(noisy_2048_png, limit_bytes=limit, basename="image_1")
    elapsed = time.perf_counter() - started
    assert len(result.data) <= limit
    im = opened(result.data)
    assert im.size == (result.width, result.height) == (2048, 2048)
    assert im.format == "WEBP" and result.content_type == "image/webp"
    assert result.filename == "image_1.webp"
    assert elapsed < 5  # ~0.45 s measured on 2 cores; generous for a loaded CI box


def test_downscales_when_re_encoding_alone_is_not_enough() -> None:
    data = encode(noise(1024, 512))
    limit = 150_000
    result = fit_image(data, limit_bytes=limit, basename="d")
    assert len(result.data) <= limit
    im = opened(result.data)
    assert im.size == (result.width, result.height)
    assert 256 <= result.height < 512
    assert abs(result.width / result.height - 2) < 0.02  # aspect ratio kept


def test_impossible_limit_raises_too_large() -> None:
    data = encode(noise(512, 512))
    with pytest.raises(ImageTooLargeError) as info:
        fit_image(data, limit_bytes=2000, basename="x")
    assert "MiB" in str(info.value)


def test_rgba_keeps_alpha_in_webp() -> None:
    im = noise(512, 512, "RGBA")
    alpha = Image.new("L", (512, 512), 255)
    alpha.paste(0, (0, 0, 256, 512))  # left half fully transparent
    im.putalpha(alpha)
    data = encode(im)
    limit = 400_000
    assert len(data) > limit
    result = fit_image(data, limit_bytes=limit, basename="t")
    assert len(result.data) <= limit and result.filename == "t.webp"
    out = opened(result.data)
    assert out.mode == "RGBA"
    assert pixel(out, (10, 10))[3] == 0
    assert pixel(out, (500, 10))[3] == 255


def test_rgb_png_with_a_transparent_colour_key_keeps_it() -> None:
    im = Image.new("RGB", (64, 64), (0, 0, 0))
    im.paste((255, 255, 255), (16, 16, 48, 48))
    data = encode(im, transparency=(0, 0, 0))
    result = fit_image(data, limit_bytes=len(data) - 1, basename="k")
    out = opened(result.data)
    assert out.mode == "RGBA"
    assert pixel(out, (2, 2))[3] == 0
    assert pixel(out, (32, 32)) == (255, 255, 255, 255)


def test_alpha_is_flattened_on_white_when_falling_back_to_jpeg() -> None:
    # Wider than WebP allows (16383 px), so the ladder has to use JPEG.
    im = Image.new("P", (17000, 300), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (8500, 0, 17000, 300))
    data = encode(im, "GIF", transparency=0)
    result = fit_image(data, limit_bytes=5 * MiB, basename="wide")
    assert (result.filename, result.content_type) == ("wide.jpg", "image/jpeg")
    out = opened(result.data)
    assert out.size == (17000, 300)
    assert close(pixel(out, (100, 150)), (255, 255, 255))
    assert close(pixel(out, (16000, 150)), (255, 0, 0), tolerance=30)


def test_exif_orientation_is_applied_when_re_encoding() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    data = encode(noise(300, 200), "JPEG", exif=exif, quality=95)
    result = fit_image(data, limit_bytes=len(data) - 1, basename="r")
    assert (result.width, result.height) == (200, 300)
    assert opened(result.data).size == (200, 300)


def test_16_bit_greyscale_is_scaled_not_clipped() -> None:
    data = encode(Image.new("I;16", (64, 64), 32768))
    result = fit_image(data, limit_bytes=len(data) - 1, basename="g16")
    out = opened(result.data).convert("RGB")
    assert close(pixel(out, (32, 32)), (128, 128, 128), tolerance=4)


@pytest.mark.parametrize("data", [b"", b"hello world", SMALL_PNG[: len(SMALL_PNG) // 2]])
def test_fit_image_rejects_non_images(data: bytes) -> None:
    with pytest.raises(NotAnImageError):
        fit_image(data, limit_bytes=MiB, basename="x")


def test_truncated_png_fails_validation() -> None:
    with pytest.raises(NotAnImageError):
        validate_image(NOISE_PNG_48K[:-5000])
    assert validate_image(NOISE_PNG_48K) == (128, 128)


# ----------------------------------------------------------------------------- bombs


def test_decompression_bomb_over_our_cap_is_rejected() -> None:
    # 9000 x 9000 = 81 MP: above MAX_PIXELS (64 MP), below Pillow's own 89.5 MP warning.
    bomb = encode(Image.new("1", (9000, 9000)), optimize=True)
    assert len(bomb) < 100_000
    with pytest.raises(NotAnImageError, match="dimensions"):
        validate_image(bomb)
    with pytest.raises(NotAnImageError, match="dimensions"):
        fit_image(bomb, limit_bytes=len(bomb) + 1, basename="b")
    with pytest.raises(NotAnImageError, match="dimensions"):
        decode_base64_image(base64.b64encode(bomb).decode(), max_bytes=MiB)
    # The cap is not rejecting everything big: 49 MP passes.
    fine = encode(Image.new("1", (7000, 7000)), optimize=True)
    assert validate_image(fine) == (7000, 7000)
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT_MAX_PIXELS  # no global state changed


def test_header_claiming_400_megapixels_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = png_header_only(20000, 20000)
    assert len(bomb) < 200
    with pytest.raises(NotAnImageError, match="dimensions"):
        fit_image(bomb, limit_bytes=MiB, basename="b")
    # Even with Pillow's own guard switched off, our cap holds.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(NotAnImageError, match="dimensions"):
        validate_image(bomb)


# ----------------------------------------------------------------------------- grid


@pytest.mark.parametrize(
    ("count", "shape"),
    [(1, (1, 1)), (2, (2, 1)), (3, (2, 2)), (4, (2, 2)), (5, (3, 2)), (6, (3, 2)),
     (7, (3, 3)), (8, (3, 3)), (9, (3, 3)), (10, (4, 3))],
)  # fmt: skip
def test_grid_shape(count: int, shape: tuple[int, int]) -> None:
    assert grid_shape(count) == shape


def test_grid_of_two_places_cells_side_by_side() -> None:
    red, blue = (encode(solid(512, 512, c)) for c in ((255, 0, 0), (0, 0, 255)))
    result = make_grid([red, blue], limit_bytes=MiB)
    assert (result.width, result.height) == (512 * 2 + 4, 512)
    assert (result.filename, result.content_type) == ("grid.png", "image/png")
    out = opened(result.data).convert("RGB")
    assert out.size == (1028, 512)
    assert pixel(out, (256, 256)) == (255, 0, 0)
    assert pixel(out, (514, 256)) == grid.GRID_BACKGROUND  # the gutter
    assert pixel(out, (772, 256)) == (0, 0, 255)


def test_grid_of_four_is_two_by_two() -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    result = make_grid([encode(solid(300, 200, c)) for c in colours], limit_bytes=MiB)
    assert (result.width, result.height) == (604, 404)
    out = opened(result.data).convert("RGB")
    for index, colour in enumerate(colours):
        x, y = (index % 2) * 304 + 150, (index // 2) * 204 + 100
        assert pixel(out, (x, y)) == colour


def test_grid_of_nine_large_images_is_capped_at_max_side() -> None:
    cell = encode(gradient(1024, 1024))
    limit = 2 * MiB
    result = make_grid([cell] * 9, limit_bytes=limit)
    # (2048 - 2 gutters) / 3 columns = 680 px per cell.
    assert (result.width, result.height) == (3 * 680 + 8, 3 * 680 + 8) == (2048, 2048)
    assert len(result.data) <= limit
    assert opened(result.data).size == (2048, 2048)


def test_grid_of_ten_is_four_by_three_and_max_side_is_a_parameter() -> None:
    cells = [encode(gradient(100, 100)) for _ in range(10)]
    result = make_grid(cells, limit_bytes=MiB, basename="g10")
    assert (result.width, result.height) == (4 * 100 + 12, 3 * 100 + 8)
    assert result.filename == "g10.png"
    small = make_grid(cells, limit_bytes=MiB, max_side=212)
    assert (small.width, small.height) == (4 * 50 + 12, 3 * 50 + 8)


def test_grid_letterboxes_mixed_aspect_ratios() -> None:
    wide = encode(solid(400, 200, (255, 0, 0)))
    tall = encode(solid(200, 400, (0, 0, 255)))
    result = make_grid([wide, tall], limit_bytes=MiB)
    assert (result.width, result.height) == (804, 400)  # cells are 400 x 400
    out = opened(result.data).convert("RGB")
    assert pixel(out, (200, 50)) == grid.GRID_BACKGROUND  # above the wide image
    assert pixel(out, (200, 200)) == (255, 0, 0)
    assert pixel(out, (404 + 50, 200)) == grid.GRID_BACKGROUND  # left of the tall image
    assert pixel(out, (604, 200)) == (0, 0, 255)


def test_grid_of_noise_is_re_encoded_under_the_limit() -> None:
    cells = [encode(noise(512, 512)) for _ in range(4)]
    limit = 1 * MiB
    result = make_grid(cells, limit_bytes=limit)
    assert len(result.data) <= limit
    assert result.content_type in ("image/webp", "image/jpeg")
    assert opened(result.data).size == (result.width, result.height)
    assert result.width == result.height  # shrunk, but still square


def test_grid_with_alpha_has_a_transparent_background() -> None:
    cells = [encode(solid(100, 100, (255, 0, 0, 255), "RGBA")), SMALL_PNG]
    result = make_grid(cells, limit_bytes=MiB)
    out = opened(result.data)
    assert out.mode == "RGBA"
    assert pixel(out, (102, 50))[3] == 0  # gutter
    assert pixel(out, (50, 50)) == (255, 0, 0, 255)


def test_grid_rejects_bad_members() -> None:
    with pytest.raises(NotAnImageError):
        make_grid([SMALL_PNG, b"not an image"], limit_bytes=MiB)
    with pytest.raises(ValueError):
        make_grid([], limit_bytes=MiB)


# ----------------------------------------------------------------------------- async wrappers


async def test_async_wrappers_run_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real_fit, real_grid = fit.fit_image, grid.make_grid

    def fit_spy(data: bytes, *, limit_bytes: int, basename: str) -> ImageFile:
        threads.append(threading.get_ident())
        return real_fit(data, limit_bytes=limit_bytes, basename=basename)

    def grid_spy(
        data: list[bytes], *, limit_bytes: int, max_side: int = 2048, basename: str = "grid"
    ) -> ImageFile:
        threads.append(threading.get_ident())
        return real_grid(data, limit_bytes=limit_bytes, max_side=max_side, basename=basename)

    monkeypatch.setattr(fit, "fit_image", fit_spy)
    monkeypatch.setattr(grid, "make_grid", grid_spy)
    fitted = await fit_image_async(SMALL_PNG, limit_bytes=MiB, basename="a")
    grid_file = await make_grid_async([SMALL_PNG, SMALL_PNG], limit_bytes=MiB, basename="b")
    assert fitted.data == SMALL_PNG
    assert grid_file.filename == "b.png" and (grid_file.width, grid_file.height) == (132, 48)
    assert len(threads) == 2
    assert threading.get_ident() not in threads


# ----------------------------------------------------------------------------- base64


def test_base64_plain_and_data_url() -> None:
    b64 = base64.b64encode(SMALL_PNG).decode()
    assert decode_base64_image(b64, max_bytes=MiB) == SMALL_PNG
    assert decode_base64_image(f"data:image/png;base64,{b64}", max_bytes=MiB) == SMALL_PNG
    assert decode_base64_image(f"  DATA:image/png;BASE64,{b64}\n", max_bytes=MiB) == SMALL_PNG


def test_base64_tolerates_whitespace_missing_padding_and_urlsafe() -> None:
    wrapped = base64.encodebytes(SMALL_PNG).decode()  # newline every 76 chars
    assert "\n" in wrapped
    assert decode_base64_image(wrapped, max_bytes=MiB) == SMALL_PNG
    unpadded = base64.b64encode(SMALL_PNG).decode().rstrip("=")
    assert decode_base64_image(unpadded, max_bytes=MiB) == SMALL_PNG
    urlsafe = base64.urlsafe_b64encode(SMALL_PNG).decode()
    assert decode_base64_image(urlsafe, max_bytes=MiB) == SMALL_PNG


@pytest.mark.parametrize(
    "text",
    [
        "not base64 at all!!",
        base64.b64encode(b"plain text, not an image").decode(),
        "data:image/png,%89PNG",  # a data URL without ;base64
        "",
    ],
)
def test_base64_rejects_non_images(text: str) -> None:
    with pytest.raises(NotAnImageError):
        decode_base64_image(text, max_bytes=MiB)


def test_base64_over_max_bytes() -> None:
    b64 = base64.b64encode(NOISE_PNG_48K).decode()
    with pytest.raises(ImageTooLargeError):
        decode_base64_image(b64, max_bytes=len(NOISE_PNG_48K) - 1)
    assert decode_base64_image(b64, max_bytes=len(NOISE_PNG_48K)) == NOISE_PNG_48K


# ----------------------------------------------------------------------------- download

SECRET = "sig=TOPSECRET123"
MAX = 20_000  # max_bytes for download tests; NOISE_PNG_48K is well above it


@dataclass
class Server:
    base: str
    hits: dict[str, int] = field(default_factory=dict)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    release = asyncio.Event()  # set at teardown so stalled handlers finish
    hits: dict[str, int] = {}

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        hits[request.path] = hits.get(request.path, 0) + 1
        response: web.StreamResponse = await handler(request)
        return response

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=SMALL_PNG, content_type="image/png")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="nope")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=NOISE_PNG_48K, content_type="image/png")

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>", content_type="text/html")

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(body=png_header_only(20000, 20000), content_type="image/png")

    async def chunked_image(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(NOISE_PNG_48K), 4096):
            await response.write(NOISE_PNG_48K[start : start + 4096])
        await response.write_eof()
        return response

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"\0" * 65536
        try:
            while not release.is_set():  # until the client hangs up
                await response.write(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    async def lying_length(request: web.Request) -> web.StreamResponse:
        # Claims 10 MB, sends 10 bytes, then stalls: only an early refusal is quick.
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.content_length = 10_000_000
        await response.prepare(request)
        await response.write(SMALL_PNG[:10])
        await asyncio.wait_for(release.wait(), 10)
        return response

    async def slow_headers(request: web.Request) -> web.Response:
        await asyncio.wait_for(release.wait(), 10)
        return web.Response(body=SMALL_PNG)

    async def slow_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.content_length = len(SMALL_PNG)
        await response.prepare(request)
        await response.write(SMALL_PNG[:20])
        await asyncio.wait_for(release.wait(), 10)
        return response

    async def redirect(request: web.Request) -> web.Response:
        left = int(request.match_info["n"])  # redirects still to go before the image
        target = "/ok.png" if left <= 1 else f"/r/{left - 1}"
        if left % 2:  # alternate absolute and relative Locations
            target = f"http://127.0.0.1:{request.url.port}{target}"
        raise web.HTTPFound(target)

    async def loop_a(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop/b")

    async def loop_b(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/loop/a")

    async def to_ftp(request: web.Request) -> web.Response:
        raise web.HTTPFound("ftp://127.0.0.1/ok.png")

    async def to_localhost(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"http://localhost:{request.url.port}/ok.png")

    async def no_location(request: web.Request) -> web.Response:
        return web.Response(status=302)

    app = web.Application(middlewares=[count])
    app.router.add_get("/ok.png", image)
    app.router.add_get("/missing", missing)
    app.router.add_get("/big", big)
    app.router.add_get("/text", text)
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/chunked-image", chunked_image)
    app.router.add_get("/endless", endless)
    app.router.add_get("/lying-length", lying_length)
    app.router.add_get("/slow-headers", slow_headers)
    app.router.add_get("/slow-body", slow_body)
    app.router.add_get("/r/{n}", redirect)
    app.router.add_get("/loop/a", loop_a)
    app.router.add_get("/loop/b", loop_b)
    app.router.add_get("/to-ftp", to_ftp)
    app.router.add_get("/to-localhost", to_localhost)
    app.router.add_get("/no-location", no_location)

    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Server(base=f"http://127.0.0.1:{port}", hits=hits)
    finally:
        release.set()
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    yield port


async def test_download_ok(server: Server, session: aiohttp.ClientSession) -> None:
    data = await download_image(session, f"{server.base}/ok.png?{SECRET}", max_bytes=MiB)
    assert data == SMALL_PNG
    # Exactly max_bytes is allowed.
    assert await download_image(session, f"{server.base}/ok.png", max_bytes=len(SMALL_PNG))


async def test_download_404(server: Server, session: aiohttp.ClientSession) -> None:
    with pytest.raises(ImageDownloadError, match="HTTP 404"):
        await download_image(session, f"{server.base}/missing", max_bytes=MiB)


async def test_download_connection_refused(
    session: aiohttp.ClientSession, closed_port: int
) -> None:
    with pytest.raises(ImageDownloadError):
        await download_image(session, f"http://127.0.0.1:{closed_port}/x.png", max_bytes=MiB)


@pytest.mark.parametrize("path", ["/big", "/chunked-image", "/endless", "/lying-length"])
async def test_download_over_max_bytes(
    server: Server, session: aiohttp.ClientSession, path: str
) -> None:
    # /big has a true Content-Length; /chunked-image and /endless have none; /lying-length
    # announces 10 MB but stalls after 10 bytes, so only an early refusal avoids the timeout.
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="larger than"):
        await download_image(session, f"{server.base}{path}", max_bytes=MAX, timeout=3)
    assert time.perf_counter() - started < 2


async def test_download_not_an_image(server: Server, session: aiohttp.ClientSession) -> None:
    with pytest.raises(NotAnImageError):
        await download_image(session, f"{server.base}/text", max_bytes=MiB)
    with pytest.raises(NotAnImageError, match="dimensions"):
        await download_image(session, f"{server.base}/bomb", max_bytes=MiB)


async def test_download_follows_up_to_three_redirects(
    server: Server, session: aiohttp.ClientSession
) -> None:
    data = await download_image(session, f"{server.base}/r/3", max_bytes=MiB)
    assert data == SMALL_PNG
    assert server.hits == {"/r/3": 1, "/r/2": 1, "/r/1": 1, "/ok.png": 1}
    with pytest.raises(ImageDownloadError, match="redirects"):
        await download_image(session, f"{server.base}/r/4", max_bytes=MiB)


async def test_download_rejects_redirect_loop(
    server: Server, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(ImageDownloadError, match="loop"):
        await download_image(session, f"{server.base}/loop/a", max_bytes=MiB)
    assert server.hits == {"/loop/a": 1, "/loop/b": 1}


@pytest.mark.parametrize(
    ("path", "reason"), [("/to-ftp", "only http and https"), ("/no-location", "HTTP 302 without")]
)
async def test_download_rejects_bad_redirects(
    server: Server, session: aiohttp.ClientSession, path: str, reason: str
) -> None:
    with pytest.raises(ImageDownloadError, match=reason):
        await download_image(session, f"{server.base}{path}", max_bytes=MiB)
    assert "/ok.png" not in server.hits


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/ok.png",
        "file:///etc/passwd",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "/relative/path.png",
        "http://",
        "",
    ],
)
async def test_download_rejects_non_http_urls(session: aiohttp.ClientSession, url: str) -> None:
    with pytest.raises(ImageDownloadError):
        await download_image(session, url, max_bytes=MiB)


async def test_download_allowed_hosts(server: Server, session: aiohttp.ClientSession) -> None:
    with pytest.raises(ImageDownloadError, match="refusing"):
        await download_image(
            session, f"{server.base}/ok.png", max_bytes=MiB, allowed_hosts={"cdn.example.com"}
        )
    assert server.hits == {}
    # Allowed at first, but the redirect leaves the allowlist.
    with pytest.raises(ImageDownloadError, match="refusing"):
        await download_image(
            session, f"{server.base}/to-localhost", max_bytes=MiB, allowed_hosts={"127.0.0.1"}
        )
    assert "/ok.png" not in server.hits
    data = await download_image(
        session, f"{server.base}/ok.png", max_bytes=MiB, allowed_hosts={"127.0.0.1"}
    )
    assert data == SMALL_PNG


@pytest.mark.parametrize("path", ["/slow-headers", "/slow-body"])
async def test_download_timeout(server: Server, session: aiohttp.ClientSession, path: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ImageDownloadError, match="timed out"):
        await download_image(session, f"{server.base}{path}", max_bytes=MiB, timeout=0.3)
    assert time.perf_counter() - started < 2


async def test_errors_hide_the_query_string_with_raise_for_status_sessions(server: Server) -> None:
    # aiohttp's own ClientResponseError text holds the full URL.
    async with aiohttp.ClientSession(raise_for_status=True) as strict:
        with pytest.raises(ImageDownloadError) as info:
            await download_image(strict, f"{server.base}/missing?{SECRET}", max_bytes=MiB)
    assert "TOPSECRET" not in str(info.value) and "127.0.0.1/missing" in str(info.value)


@pytest.mark.parametrize(
    "path",
    ["/missing", "/big", "/text", "/loop/a", "/r/5", "/slow-headers", "/to-ftp", "CLOSED"],
)
async def test_errors_never_contain_the_query_string(
    server: Server, session: aiohttp.ClientSession, closed_port: int, path: str
) -> None:
    base = f"http://user:hunter2@127.0.0.1:{closed_port}" if path == "CLOSED" else server.base
    url = f"{base}{'/x.png' if path == 'CLOSED' else path}?{SECRET}&token=abc#frag"
    with pytest.raises(ImageError) as info:
        await download_image(session, url, max_bytes=MAX, timeout=0.5)
    message = str(info.value)
    assert message
    for leak in ("TOPSECRET", "sig=", "token", "hunter2", "frag", "?"):
        assert leak not in message, message
    assert "127.0.0.1" in message or path in ("/text", "/to-ftp")
