"""Turn a finished task's images into files that fit one Discord message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bot.geekai import ImageData
from bot.images import (
    ImageError,
    ImageFile,
    decode_base64_image,
    download_image,
    fit_image_async,
    make_grid_async,
)

# Discord: 10 files per message and 25 MiB per request (discord-platform.md §3).
MAX_FILES = 10
REQUEST_BUDGET = 24 * 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    images: list[ImageFile]
    preview: ImageFile  # what the embed shows: the image itself, or a grid of them

    @property
    def files(self) -> list[ImageFile]:
        if self.preview in self.images:
            return self.images
        return [*self.images, self.preview]


async def fetch_image(session: aiohttp.ClientSession, item: ImageData, *, max_bytes: int) -> bytes:
    if item.b64_json:
        return decode_base64_image(item.b64_json, max_bytes=max_bytes)
    if item.url:
        return await download_image(session, item.url, max_bytes=max_bytes)
    raise ImageError("the result holds neither a URL nor image data")


async def prepare_delivery(
    session: aiohttp.ClientSession,
    items: Sequence[ImageData],
    *,
    max_download_bytes: int,
    upload_limit: int,
) -> Delivery:
    """Download every image, fit each (and a grid for n > 1) under Discord's limits."""
    items = list(items)[: MAX_FILES - 1]
    raw = await asyncio.gather(
        *(fetch_image(session, item, max_bytes=max_download_bytes) for item in items)
    )
    count = len(raw) + (1 if len(raw) > 1 else 0)
    per_file = min(upload_limit, REQUEST_BUDGET // max(count, 1))
    images = list(
        await asyncio.gather(
            *(
                fit_image_async(data, limit_bytes=per_file, basename=f"image_{i}")
                for i, data in enumerate(raw, start=1)
            )
        )
    )
    if len(images) == 1:
        return Delivery(images=images, preview=images[0])
    grid = await make_grid_async([img.data for img in images], limit_bytes=per_file)
    return Delivery(images=images, preview=grid)
