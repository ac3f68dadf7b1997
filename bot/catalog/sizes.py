"""Image sizes and aspect ratios: parsing, the catalog's spelling, and custom-size rules."""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, ConfigDict, Field

_WXH = re.compile(r"^\s*(\d{1,6})\s*[xX×*]\s*(\d{1,6})\s*$")
_RATIO = re.compile(r"^\s*(\d{1,3})\s*[:/∶：]\s*(\d{1,3})\s*$")


def parse_size(text: str) -> tuple[int, int] | None:
    """`1024x768`, `1024*768`, `1024×768` (any case, spaces allowed) → (1024, 768)."""
    match = _WXH.match(text)
    return (int(match[1]), int(match[2])) if match else None


def normalise_size(text: str) -> str:
    """A size as the catalog writes it: `WxH` for pixel sizes, the text trimmed otherwise."""
    parsed = parse_size(text)
    return f"{parsed[0]}x{parsed[1]}" if parsed else text.strip()


def normalise_ratio(text: str) -> str:
    """`16:9`, `16/9`, ` 16 : 9 ` → `16:9`."""
    match = _RATIO.match(text)
    return f"{int(match[1])}:{int(match[2])}" if match else text.strip()


def _ratio_text(ratio: float) -> str:
    """0.0625 → `1:16`, 3.0 → `3:1`: width:height, readable in any language."""
    return f"1:{1 / ratio:.3g}" if ratio < 1 else f"{ratio:.3g}:1"


class SizeRange(BaseModel):
    """Custom `WxH` sizes a model accepts besides its fixed list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_side: int = Field(default=1, ge=1)
    max_side: int = Field(default=16384, ge=1)
    multiple_of: int = Field(default=1, ge=1)
    min_pixels: int = Field(default=0, ge=0)
    max_pixels: int | None = Field(default=None, ge=1)
    min_ratio: float | None = Field(default=None, gt=0)  # width / height
    max_ratio: float | None = Field(default=None, gt=0)

    def problem(self, width: int, height: int) -> tuple[str, dict[str, object]] | None:
        """The message key and parameters of the first rule `width`x`height` breaks."""
        if not self.min_side <= min(width, height) <= max(width, height) <= self.max_side:
            return "error.size_side", {"min": self.min_side, "max": self.max_side}
        if width % self.multiple_of or height % self.multiple_of:
            return "error.size_multiple", {"multiple": self.multiple_of}
        pixels, max_pixels = width * height, self.max_pixels or self.max_side**2
        if not self.min_pixels <= pixels <= max_pixels:
            return "error.size_pixels", {
                "pixels": pixels,
                "min": self.min_pixels,
                "max": max_pixels,
            }
        low, high = self.min_ratio or 0.0, self.max_ratio or math.inf
        if not low <= width / height <= high:
            return "error.size_ratio", {
                "min": _ratio_text(self.min_ratio or 1 / self.max_side),
                "max": _ratio_text(self.max_ratio or self.max_side),
            }
        return None
