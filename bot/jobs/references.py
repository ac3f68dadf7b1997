"""Reference images kept in the database, so a job can be run again after Discord's signed
attachment URL has expired (rerolls, edits, variations of an image-to-image job).

At intake a reference URL is downloaded once (size-capped, through the bot's guarded
session, and checked to be an image), stored by the sha256 of its bytes, and the job's
params name it `ref:<digest>`. At submit the runner sends it to GeekAI as Base64.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import time

import aiohttp
from PIL import Image, UnidentifiedImageError

from bot.errors import UserFacingError
from bot.jobs.models import JobParams
from bot.storage import Database

PREFIX = "ref:"
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


class ReferenceImages:
    def __init__(self, db: Database, http: aiohttp.ClientSession, *, max_bytes: int) -> None:
        self._db = db
        self._http = http
        self._max_bytes = max_bytes

    async def keep(self, params: JobParams) -> JobParams:
        """Params whose reference image (a URL) is stored and named by digest instead."""
        url = params.image_url
        if url is None or not url.startswith(("http://", "https://")):
            return params  # none, already kept, or Base64 already
        data = await self._download(url)
        content_type = await asyncio.to_thread(_image_type, data)
        digest = hashlib.sha256(data).hexdigest()
        await self._db.execute(
            "INSERT INTO reference_images (digest, content_type, data, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
            (digest, content_type, data, time.time()),
        )
        return params.model_copy(update={"image_url": PREFIX + digest})

    async def resolve(self, params: JobParams) -> JobParams:
        """Params ready for GeekAI: a kept image becomes a Base64 data URI."""
        ref = params.image_url
        if ref is None or not ref.startswith(PREFIX):
            return params
        row = await self._db.fetchone(
            "SELECT content_type, data FROM reference_images WHERE digest = ?",
            (ref[len(PREFIX) :],),
        )
        if row is None:
            raise LookupError(f"reference image {ref} is missing from the database")
        encoded = base64.b64encode(bytes(row["data"])).decode("ascii")
        return params.model_copy(
            update={"image_url": f"data:{row['content_type']};base64,{encoded}"}
        )

    async def _download(self, url: str) -> bytes:
        try:
            async with self._http.get(url, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise UserFacingError(
                        "error.reference_unreadable", reason=f"HTTP {resp.status}"
                    )
                chunks, size = [], 0
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise UserFacingError("error.reference_unreadable", reason="too large")
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = type(exc).__name__
            raise UserFacingError("error.reference_unreadable", reason=reason) from None
        return b"".join(chunks)


def _image_type(data: bytes) -> str:
    """The content type of an image Pillow can open, or a refusal (an attachment is
    untrusted: its name and declared type prove nothing)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = _FORMATS.get(image.format or "")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        kind = None
    if kind is None:
        raise UserFacingError("error.reference_unreadable", reason="not a PNG, JPEG, WebP or GIF")
    return kind
