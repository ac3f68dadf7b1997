"""Opening untrusted image bytes safely and decoding them: validation, pixels, grid tiles.

Decompression bombs: every image is opened with `Image.open` (which reads only the header)
and its size is checked against `MAX_PIXELS` before any pixel data is decoded. Pillow's
global `Image.MAX_IMAGE_PIXELS` is left untouched; it still applies too (images above twice
Pillow's limit already fail inside `Image.open`).
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from bot.media.errors import NotAnImageError

__all__ = [
    "MAX_PIXELS",
    "decode_pixels",
    "decode_tile",
    "open_image",
    "shrink",
    "validate_image",
]

MAX_PIXELS = 64_000_000  # decompression-bomb cap (width * height), below Pillow's ~89.5 MP warning

# Formats we are willing to parse at all (keeps Pillow's rarer plugins, e.g. EPS, out of reach).
_OPEN_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_ORIENTATION = 0x0112


def open_image(data: bytes) -> Image.Image:
    """Open (header only) and apply the decompression-bomb cap; nothing is decoded yet."""
    try:
        im = Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
    except Image.DecompressionBombError:
        raise NotAnImageError("the image's dimensions are too large") from None
    except Exception:
        raise NotAnImageError("the data is not a supported image") from None
    width, height = im.size
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        im.close()
        raise NotAnImageError("the image's dimensions are too large")
    return im


def validate_image(data: bytes) -> tuple[int, int]:
    """Check that `data` is a supported, non-bomb image (Pillow `verify`); return its size."""
    im = open_image(data)
    try:
        size = im.size
        im.verify()
    except Exception:
        raise NotAnImageError("the image data is corrupt") from None
    finally:
        im.close()
    return size


def decode_pixels(im: Image.Image) -> Image.Image:
    """Decode pixels, apply EXIF orientation, convert to RGB or RGBA.

    No copy is made when there is nothing to change (a 4096² RGB image is 48 MiB)."""
    try:
        im.load()
        if im.getexif().get(_ORIENTATION, 1) != 1:
            im = ImageOps.exif_transpose(im)
        if im.mode == "RGBA" or (im.mode == "RGB" and "transparency" not in im.info):
            return im
        if im.mode.startswith("I"):  # 16-bit greyscale PNG: scale to 8 bits
            return im.convert("I").point(lambda v: v / 256).convert("L").convert("RGB")
        alpha = im.mode in ("LA", "La", "PA", "RGBa") or "transparency" in im.info
        return im.convert("RGBA" if alpha else "RGB")
    except Exception:
        raise NotAnImageError("the image data is corrupt") from None


def shrink(im: Image.Image, side: int) -> Image.Image:
    """The decoded image fitted inside a `side` square (never enlarged): a new, small image."""
    scale = min(1.0, side / im.width, side / im.height)
    if scale >= 1.0:
        return im.copy()
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    # A preview tile: box-average by the whole factor first (cheap, and itself a good
    # antialiasing filter), then LANCZOS only over what is left, if anything. A 4096²
    # result becomes a 1024² tile with no LANCZOS pass at all.
    factor = int(min(im.width / size[0], im.height / size[1]))
    reduced = im.reduce(factor) if factor >= 2 else im
    if reduced.size == size:
        return reduced
    return reduced.resize(size, Image.Resampling.LANCZOS)


def decode_tile(data: bytes, side: int) -> Image.Image:
    """Decode one image just enough for a grid cell of at most `side`, and release it."""
    im = open_image(data)
    try:
        if im.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that is enough
            im.draft(None, (side, side))
        decoded = decode_pixels(im)
        try:
            return shrink(decoded, side)
        finally:
            if decoded is not im:
                decoded.close()
    finally:
        im.close()
