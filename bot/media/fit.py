"""Fitting an image under an upload limit: kept as it is, or re-encoded and shrunk.

`fit_image` is CPU-bound (Pillow decodes, resizes and encodes for tens to hundreds of
milliseconds). Async callers must not call it on the event loop: use `fit_image_async`
(or `fit_image_and_tile_async`), which runs it in a worker thread via `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from bot.media.decode import decode_pixels, decode_tile, open_image, shrink
from bot.media.errors import ImageTooLargeError, NotAnImageError, mib

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = [
    "ImageFile",
    "encode_capped",
    "fit_decoded",
    "fit_image",
    "fit_image_and_tile",
    "fit_image_and_tile_async",
    "fit_image_async",
]

MIN_SIDE = 256  # fit_image never shrinks the shorter side below this (unless it already is)
WEBP_METHOD = 1  # measured: ~2x faster than the default 4 at about the same size and PSNR
WEBP_MAX_SIDE = 16383  # libwebp refuses anything larger
_DOWNSCALE_STEP = 0.8

# Formats uploaded as they are when small enough: Pillow format → (extension, content type).
_KEEP_FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
# Re-encoding ladder, tried in order at each size.
_LADDER = (("WEBP", 90), ("WEBP", 80), ("JPEG", 90), ("JPEG", 80))
# Above this many pixels an opaque image tries JPEG before WebP: libwebp needs ~1 s of CPU
# for 16 MP where libjpeg-turbo needs ~0.07 s (measured, B7 in docs/benchmarks.md).
JPEG_FIRST_PIXELS = 8_000_000
PNG_LEVEL = 1
_BIG_LADDER = (("JPEG", 90), ("JPEG", 80), ("WEBP", 90), ("WEBP", 80))
_EXTENSIONS = {"WEBP": ("webp", "image/webp"), "JPEG": ("jpg", "image/jpeg")}


@dataclass(frozen=True)
class ImageFile:
    data: bytes
    filename: str  # e.g. "image_1.png"
    width: int
    height: int
    content_type: str  # e.g. "image/png"


class _Overflow(Exception):
    pass


class _CappedBuffer(io.BytesIO):
    """A BytesIO that aborts the encoder (via _Overflow) once it holds more than `cap` bytes."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def write(self, buffer: ReadableBuffer, /) -> int:
        written = super().write(buffer)
        if self.tell() > self.cap:
            raise _Overflow
        return written


def _flatten(im: Image.Image) -> Image.Image:
    if im.mode != "RGBA":
        return im
    background = Image.new("RGB", im.size, (255, 255, 255))
    background.paste(im, mask=im.getchannel("A"))
    return background


def encode_capped(im: Image.Image, fmt: str, quality: int, cap: int) -> tuple[bytes | None, int]:
    """Encode; return (bytes if ≤ cap else None, the size seen — a lower bound if aborted)."""
    buf = _CappedBuffer(cap)
    try:
        if fmt == "WEBP":
            im.save(buf, "WEBP", quality=quality, method=WEBP_METHOD)
        elif fmt == "JPEG":  # optimize (Huffman tables): ~5% smaller, twice the CPU on big ones
            big = im.width * im.height > JPEG_FIRST_PIXELS
            im.save(buf, "JPEG", quality=quality, optimize=not big)
        else:  # grids: level 1 is ~7x faster than the default 6 for photographic content
            im.save(buf, "PNG", compress_level=PNG_LEVEL)
    except _Overflow:
        return None, buf.tell()
    data = buf.getvalue()
    return (data if len(data) <= cap else None), len(data)


def fit_decoded(
    im: Image.Image, limit_bytes: int, basename: str, *, jpeg_first: bool = False
) -> ImageFile:
    """Re-encode an RGB/RGBA image under `limit_bytes`, shrinking it if it must."""
    width, height = im.size
    min_scale = min(1.0, MIN_SIDE / min(width, height))
    scale = 1.0
    while True:
        if scale == 1.0:
            candidate = im
        else:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            candidate = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        flat: Image.Image | None = None
        smallest: int | None = None
        big = candidate.mode == "RGB" and (
            jpeg_first or candidate.width * candidate.height > JPEG_FIRST_PIXELS
        )
        for fmt, quality in _BIG_LADDER if big else _LADDER:
            if fmt == "WEBP" and max(candidate.size) > WEBP_MAX_SIDE:
                continue
            if fmt == "JPEG":
                if flat is None:
                    flat = _flatten(candidate)
                source = flat
            else:
                source = candidate
            try:
                data, seen = encode_capped(source, fmt, quality, limit_bytes)
            except (OSError, ValueError):  # an encoder refusing this size/mode: try the next
                continue
            if data is not None:
                ext, content_type = _EXTENSIONS[fmt]
                w, h = candidate.size
                return ImageFile(data, f"{basename}.{ext}", w, h, content_type)
            smallest = seen if smallest is None else min(smallest, seen)
        if scale <= min_scale:
            raise ImageTooLargeError(f"the image cannot be made smaller than {mib(limit_bytes)}")
        # Bytes grow roughly with the pixel count: jump straight towards the target if it is
        # far off, otherwise shrink by the usual step.
        step = _DOWNSCALE_STEP
        if smallest:
            step = min(step, 0.9 * math.sqrt(limit_bytes / smallest))
        scale = max(min_scale, scale * step)


def fit_image(data: bytes, *, limit_bytes: int, basename: str) -> ImageFile:
    """Return the image as a file of at most `limit_bytes`.

    A PNG/JPEG/WebP already under the limit is returned byte for byte. Anything else is
    re-encoded: WebP q90, q80 (alpha kept), then JPEG q90, q80 (alpha flattened on white) at
    full size (opaque images over `JPEG_FIRST_PIXELS` try JPEG first: far cheaper), then the
    same at sizes shrinking by 0.8 per step (more when far off) down to a shorter side of
    `MIN_SIDE`. Raises ImageTooLargeError if even that does not fit, and NotAnImageError
    for bad data or decompression bombs.

    CPU-bound: from async code use `fit_image_async`.
    """
    return fit_image_and_tile(data, limit_bytes=limit_bytes, basename=basename)[0]


def fit_image_and_tile(
    data: bytes, *, limit_bytes: int, basename: str, tile_side: int | None = None
) -> tuple[ImageFile, Image.Image | None]:
    """`fit_image`, plus (if `tile_side` is given) the image shrunk to fit in a `tile_side`
    square, made from the same decode, for `bot.media.grid.make_grid_from_tiles` (no second
    decode)."""
    if limit_bytes <= 0:
        raise ValueError("limit_bytes must be positive")
    im = open_image(data)
    try:
        keep = _KEEP_FORMATS.get(im.format or "")
        if keep is not None and len(data) <= limit_bytes:
            width, height = im.size
            try:
                im.verify()
            except Exception:
                raise NotAnImageError("the image data is corrupt") from None
            ext, content_type = keep
            fitted = ImageFile(data, f"{basename}.{ext}", width, height, content_type)
            tile = None
            if tile_side is not None:  # verify() used up the file: open it again
                tile = decode_tile(data, tile_side)
            return fitted, tile
        decoded = decode_pixels(im)
        tile = shrink(decoded, tile_side) if tile_side is not None else None
        return fit_decoded(decoded, limit_bytes, basename), tile
    finally:
        im.close()


async def fit_image_async(data: bytes, *, limit_bytes: int, basename: str) -> ImageFile:
    """`fit_image` in a worker thread (`asyncio.to_thread`)."""
    return await asyncio.to_thread(fit_image, data, limit_bytes=limit_bytes, basename=basename)


async def fit_image_and_tile_async(
    data: bytes, *, limit_bytes: int, basename: str, tile_side: int | None = None
) -> tuple[ImageFile, Image.Image | None]:
    """`fit_image_and_tile` in a worker thread."""
    return await asyncio.to_thread(
        fit_image_and_tile, data, limit_bytes=limit_bytes, basename=basename, tile_side=tile_side
    )
