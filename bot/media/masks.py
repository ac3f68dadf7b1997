"""Checks a region-edit mask against its image before anything is charged (Pillow).

A mask is a PNG whose transparent pixels mark the region GeekAI repaints
(`POST /images/edits`). It must be the image's size; one of the same aspect ratio is
scaled to it (and then sent as data, since the member's attachment no longer fits).
"""

from __future__ import annotations

import base64
import io

from PIL import Image

from bot.catalog.validation import InvalidRequestError
from bot.media.decode import validate_image
from bot.media.errors import ImageError

ASPECT_TOLERANCE = 0.01  # 1 %: a 1024x1024 mask still fits a 1023x1024 image


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _check_transparency(mask: Image.Image) -> None:
    """The mask must have an alpha channel (or a transparent palette entry) that is used."""
    if mask.mode not in ("RGBA", "LA", "PA") and "transparency" not in mask.info:
        raise InvalidRequestError("error.mask_no_alpha")
    low = mask.convert("RGBA").getchannel("A").getextrema()[0]
    if not (isinstance(low, int | float) and low < 255):
        raise InvalidRequestError("error.mask_opaque")


def prepare_mask(image: bytes, mask: bytes) -> bytes | None:
    """None when the mask can be sent as it is; the scaled mask's PNG bytes when it had the
    image's aspect ratio but not its size. Raises InvalidRequestError with the reason."""
    try:
        image_size = validate_image(image)
        validate_image(mask)
    except ImageError as exc:
        raise InvalidRequestError("error.mask_unreadable", reason=str(exc)) from None
    with Image.open(io.BytesIO(mask)) as opened:
        if opened.format != "PNG":
            raise InvalidRequestError("error.mask_not_png", filename="mask")
        _check_transparency(opened)
        if opened.size == image_size:
            return None
        mask_ratio = opened.size[0] / opened.size[1]
        image_ratio = image_size[0] / image_size[1]
        if abs(mask_ratio - image_ratio) > ASPECT_TOLERANCE * image_ratio:
            raise InvalidRequestError(
                "error.mask_size", mask_size=_size(opened.size), image_size=_size(image_size)
            )
        scaled = opened.convert("RGBA").resize(image_size, Image.Resampling.NEAREST)
    out = io.BytesIO()
    scaled.save(out, format="PNG")
    return out.getvalue()


def data_uri(png: bytes) -> str:
    """A PNG as the Base64 form GeekAI takes where it takes a URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode()
