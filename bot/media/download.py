"""Getting a result image's bytes: a capped, SSRF-checked download, or base64 data; both validated.

`decode_base64_image` is cheap (a base64 decode plus Pillow's header check and `verify()`,
no pixel decoding), and `download_image` does its validation in a thread: both are safe to
call from the event loop.

SSRF: only http(s) URLs are fetched, redirects are followed by hand
(at most `MAX_REDIRECTS`, each hop re-checked, no https → http downgrade), and
`allowed_hosts` restricts every hop to a host allowlist. Private/loopback addresses are
refused at connect time by the session's connector (`bot.media.netguard.GuardedConnector`, which
the application's session uses): every hop opens its connection through it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Collection

import aiohttp
from yarl import URL

from bot.media.decode import validate_image
from bot.media.errors import ImageDownloadError, ImageTooLargeError, NotAnImageError, mib

__all__ = ["MAX_REDIRECTS", "decode_base64_image", "download_image"]

MAX_REDIRECTS = 3
_CHUNK = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def _describe(url: URL) -> str:
    """Host and (shortened) path only: never userinfo, query string or fragment."""
    path = url.raw_path
    if len(path) > 60:
        path = path[:59] + "…"
    return f"{url.host or '?'}{path}"


def _check_hop(url: URL, allowed_hosts: Collection[str] | None) -> None:
    if url.scheme not in ("http", "https") or not url.host:
        raise ImageDownloadError("only http and https image URLs can be downloaded")
    if allowed_hosts is not None and url.host.lower() not in allowed_hosts:
        raise ImageDownloadError(f"refusing to download images from {url.host}")


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int, where: str) -> bytes:
    too_large = ImageTooLargeError(f"the image at {where} is larger than {mib(max_bytes)}")
    if resp.content_length is not None and resp.content_length > max_bytes:
        raise too_large
    # Chunks joined once at the end: a growing bytearray plus its final copy would peak at
    # about three times the image's size.
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise too_large
    return b"".join(chunks)


async def _fetch(
    session: aiohttp.ClientSession,
    start: URL,
    *,
    max_bytes: int,
    allowed_hosts: Collection[str] | None,
) -> bytes:
    url = start
    seen = {url}
    for _ in range(MAX_REDIRECTS + 1):
        _check_hop(url, allowed_hosts)
        async with session.get(url, allow_redirects=False) as resp:
            if resp.status in _REDIRECT_STATUSES:
                location = resp.headers.get(aiohttp.hdrs.LOCATION)
                if not location:
                    raise ImageDownloadError(
                        f"HTTP {resp.status} without a target from {_describe(url)}"
                    )
                try:
                    target = url.join(URL(location))
                except (ValueError, TypeError):
                    raise ImageDownloadError(f"bad redirect from {_describe(url)}") from None
                if url.scheme == "https" and target.scheme == "http":
                    raise ImageDownloadError(f"refusing an https → http redirect from {url.host}")
                if target in seen:
                    raise ImageDownloadError(f"redirect loop at {_describe(url)}")
                seen.add(target)
                url = target
                continue
            if not 200 <= resp.status < 300:
                raise ImageDownloadError(f"HTTP {resp.status} from {_describe(url)}")
            return await _read_capped(resp, max_bytes, _describe(url))
    raise ImageDownloadError(f"more than {MAX_REDIRECTS} redirects from {_describe(start)}")


async def download_image(
    session: aiohttp.ClientSession,
    url: str,
    *,
    max_bytes: int,
    timeout: float = 30.0,  # noqa: ASYNC109 - part of the agreed interface
    allowed_hosts: Collection[str] | None = None,
    validate: bool = True,
) -> bytes:
    """Download an image with a byte cap and validate it (`validate=False`: the caller
    checks the bytes itself before using them, as `fit_image` does).

    Streams the body and stops as soon as more than `max_bytes` arrived (a too-large
    Content-Length is refused before reading). Follows at most `MAX_REDIRECTS` redirects,
    re-checking scheme and host on each hop. `timeout` covers the whole download, redirects
    included. If `allowed_hosts` is given (lower-case host names), every hop must be in it.

    Raises ImageDownloadError, ImageTooLargeError or NotAnImageError.
    """
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        raise ImageDownloadError("the image URL is malformed") from None
    if allowed_hosts is not None:
        allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
    _check_hop(parsed, allowed_hosts)
    where = _describe(parsed)
    try:
        async with asyncio.timeout(timeout):
            data = await _fetch(session, parsed, max_bytes=max_bytes, allowed_hosts=allowed_hosts)
    except TimeoutError:
        raise ImageDownloadError(f"timed out downloading the image from {where}") from None
    except (aiohttp.ClientError, OSError) as exc:
        # str(exc) of aiohttp errors can hold the full URL; report the type only.
        raise ImageDownloadError(
            f"could not download the image from {where} ({type(exc).__name__})"
        ) from None
    if validate:
        await asyncio.to_thread(validate_image, data)
    return data


def decode_base64_image(b64: str, *, max_bytes: int, validate: bool = True) -> bytes:
    """Decode base64 image data (plain, or a `data:image/...;base64,` URL; whitespace and
    missing padding tolerated; URL-safe alphabet accepted) and validate it (unless the
    caller checks it itself: `validate=False`)."""
    text = b64.strip()
    if text[:5].lower() == "data:":
        header, sep, text = text.partition(",")
        if not sep or ";base64" not in header.lower():
            raise NotAnImageError("the data URL is not base64-encoded")
    text = "".join(text.split())
    if len(text) // 4 * 3 > max_bytes + 3:  # cheap estimate before decoding anything
        raise ImageTooLargeError(f"the image is larger than {mib(max_bytes)}")
    text += "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            data = base64.urlsafe_b64decode(text)
        else:
            data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NotAnImageError("the image data is not valid base64") from None
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"the image is larger than {mib(max_bytes)}")
    if validate:
        validate_image(data)
    return data
