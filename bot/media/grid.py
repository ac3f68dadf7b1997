"""Grids: several images tiled into one preview picture under an upload limit.

`make_grid` is CPU-bound (Pillow decodes, resizes and encodes for tens to hundreds of
milliseconds). Async callers must not call it on the event loop: use `make_grid_async`
(or `make_grid_from_tiles_async`), which runs it in a worker thread via `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import math

from PIL import Image, ImageOps

from bot.media.decode import decode_tile
from bot.media.fit import ImageFile, encode_capped, fit_decoded

__all__ = [
    "GRID_BACKGROUND",
    "GRID_GUTTER",
    "grid_shape",
    "grid_tile_side",
    "make_grid",
    "make_grid_async",
    "make_grid_from_tiles",
    "make_grid_from_tiles_async",
]

GRID_GUTTER = 4
GRID_BACKGROUND = (43, 45, 49)  # letterbox/gutter colour of opaque grids (Discord's dark grey)
GRID_PNG_MAX_PIXELS = 1_500_000  # larger opaque grids are JPEG (see make_grid_from_tiles)


def grid_shape(count: int) -> tuple[int, int]:
    """(columns, rows): 2 → 2x1, 3-4 → 2x2, 5-6 → 3x2, 7-9 → 3x3, 10 → 4x3."""
    if count < 1:
        raise ValueError("a grid needs at least one image")
    columns = math.ceil(math.sqrt(count))
    return columns, math.ceil(count / columns)


def grid_tile_side(count: int, max_side: int = 2048) -> int:
    """How large each image must stay for a grid of `count` with long side `max_side`."""
    columns, rows = grid_shape(count)
    return max_side // min(columns, rows)


def make_grid(
    images: list[bytes], *, limit_bytes: int, max_side: int = 2048, basename: str = "grid"
) -> ImageFile:
    """Tile the images into one picture of at most `limit_bytes`.

    Layout from `grid_shape`. All cells have the same size (the largest width and height
    among the images, scaled down so the grid's long side is ≤ `max_side`; never scaled
    up); each image is fitted inside its cell keeping its aspect ratio and centred
    (letterboxed). Cells are separated by `GRID_GUTTER` px. The background is transparent if
    any image has alpha, otherwise `GRID_BACKGROUND`. Saved as PNG if that fits (opaque
    grids only up to `GRID_PNG_MAX_PIXELS`; larger ones try JPEG first), else through the
    same re-encoding ladder as `bot.media.fit.fit_image`.

    Memory: the images are decoded one at a time, each only as far as its cell needs
    (JPEG `draft`, then `reduce` + LANCZOS), and released before the next.

    CPU-bound: from async code use `make_grid_async`.
    """
    if limit_bytes <= 0:
        raise ValueError("limit_bytes must be positive")
    side = grid_tile_side(len(images), max_side)
    tiles = [decode_tile(data, side) for data in images]
    return make_grid_from_tiles(
        tiles, limit_bytes=limit_bytes, max_side=max_side, basename=basename
    )


def make_grid_from_tiles(
    tiles: list[Image.Image], *, limit_bytes: int, max_side: int = 2048, basename: str = "grid"
) -> ImageFile:
    """`make_grid` from already decoded, already shrunk images (see
    `bot.media.fit.fit_image_and_tile`). The tiles are closed when done."""
    if limit_bytes <= 0:
        raise ValueError("limit_bytes must be positive")
    columns, rows = grid_shape(len(tiles))
    cell_w0 = max(im.width for im in tiles)
    cell_h0 = max(im.height for im in tiles)
    avail_w = max_side - GRID_GUTTER * (columns - 1)
    avail_h = max_side - GRID_GUTTER * (rows - 1)
    scale = min(1.0, avail_w / (columns * cell_w0), avail_h / (rows * cell_h0))
    cell_w = max(1, int(cell_w0 * scale + 1e-6))
    cell_h = max(1, int(cell_h0 * scale + 1e-6))
    width = columns * cell_w + GRID_GUTTER * (columns - 1)
    height = rows * cell_h + GRID_GUTTER * (rows - 1)

    if any(im.mode == "RGBA" for im in tiles):
        canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    else:
        canvas = Image.new("RGB", (width, height), GRID_BACKGROUND)
    for index, im in enumerate(tiles):
        tile = ImageOps.contain(im, (cell_w, cell_h), Image.Resampling.LANCZOS)
        column, row = index % columns, index // columns
        x = column * (cell_w + GRID_GUTTER) + (cell_w - tile.width) // 2
        y = row * (cell_h + GRID_GUTTER) + (cell_h - tile.height) // 2
        canvas.paste(tile.convert(canvas.mode), (x, y))
        im.close()
    tiles.clear()

    if canvas.mode == "RGBA" or width * height <= GRID_PNG_MAX_PIXELS:
        png, _ = encode_capped(canvas, "PNG", 0, limit_bytes)
        if png is not None:
            return ImageFile(png, f"{basename}.png", width, height, "image/png")
        return fit_decoded(canvas, limit_bytes, basename)
    # A large opaque grid of photographs: JPEG (≈ 0.03 s for 4 MP, a third of the bytes)
    # rather than PNG (≈ 0.4 s even at level 1).
    return fit_decoded(canvas, limit_bytes, basename, jpeg_first=True)


async def make_grid_from_tiles_async(
    tiles: list[Image.Image], *, limit_bytes: int, max_side: int = 2048, basename: str = "grid"
) -> ImageFile:
    """`make_grid_from_tiles` in a worker thread."""
    return await asyncio.to_thread(
        make_grid_from_tiles, tiles, limit_bytes=limit_bytes, max_side=max_side, basename=basename
    )


async def make_grid_async(
    images: list[bytes], *, limit_bytes: int, max_side: int = 2048, basename: str = "grid"
) -> ImageFile:
    """`make_grid` in a worker thread (`asyncio.to_thread`)."""
    return await asyncio.to_thread(
        make_grid, images, limit_bytes=limit_bytes, max_side=max_side, basename=basename
    )
