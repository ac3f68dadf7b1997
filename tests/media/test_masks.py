"""Region-edit masks: checked with Pillow against their image before anything is charged."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.catalog.validation import InvalidRequestError
from bot.media.masks import data_uri, prepare_mask


def _encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def _mask(size: tuple[int, int], *, hole: bool = True) -> bytes:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole:
        mask.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    return _encode(mask)


IMAGE = _encode(Image.new("RGB", (64, 32), (10, 20, 30)))


def test_a_mask_of_the_same_size_is_sent_as_it_is() -> None:
    assert prepare_mask(IMAGE, _mask((64, 32))) is None


def test_a_mask_of_the_same_aspect_ratio_is_scaled_to_the_image() -> None:
    scaled = prepare_mask(IMAGE, _mask((128, 64)))
    assert scaled is not None
    with Image.open(io.BytesIO(scaled)) as image:
        assert image.size == (64, 32) and image.mode == "RGBA"
        assert image.getchannel("A").getextrema() == (0, 255)
    assert data_uri(scaled).startswith("data:image/png;base64,iVBOR")


@pytest.mark.parametrize(
    ("mask", "key"),
    [
        (_mask((32, 32)), "error.mask_size"),
        (_mask((64, 32), hole=False), "error.mask_opaque"),
        (_encode(Image.new("RGB", (64, 32))), "error.mask_no_alpha"),
        (_encode(Image.new("RGB", (64, 32)), "JPEG"), "error.mask_not_png"),
        (b"not an image", "error.mask_unreadable"),
    ],
)
def test_unusable_masks_are_refused_with_the_reason(mask: bytes, key: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        prepare_mask(IMAGE, mask)
    assert info.value.key == key


def test_a_palette_mask_with_a_transparent_entry_counts() -> None:
    mask = Image.new("P", (64, 32), 0)
    mask.putpixel((0, 0), 1)
    out = io.BytesIO()
    mask.save(out, "PNG", transparency=0)
    assert prepare_mask(IMAGE, out.getvalue()) is None
