"""The image errors: `ImageError` and its kinds, and the size wording their messages use.

Nothing here talks to Discord. Every `ImageError` has a short, user-safe `str()`: it never
holds a URL's query string (signed URLs), at most its host and path.
"""

from __future__ import annotations

__all__ = ["ImageDownloadError", "ImageError", "ImageTooLargeError", "NotAnImageError", "mib"]


class ImageError(Exception):
    """Base class; `str()` is a short, user-safe reason."""


class ImageDownloadError(ImageError):
    """Non-2xx status, connection error, timeout, bad scheme/host or too many redirects."""


class ImageTooLargeError(ImageError):
    """More than `max_bytes` while downloading/decoding, or it cannot be made to fit."""


class NotAnImageError(ImageError):
    """Bytes Pillow cannot open or verify, an unsupported format, or a decompression bomb."""


def mib(n: int) -> str:
    """`n` bytes as MiB with one decimal, for error messages."""
    return f"{n / (1024 * 1024):.1f} MiB"
