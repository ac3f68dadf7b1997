"""The /quotas report chart (Pillow): credits per member this period, and per day.

Pure: takes a `UsageReport`, returns the PNG and exactly what it plotted (and where), so a
test can hold the picture against the ledger. Titles are drawn in the reader's language
when the font can draw it; Pillow's bundled font has no CJK glyphs, so without a CJK font
on the system the chart keeps to numbers (ranks, dates, credits) and the message text,
which Discord renders in any script, carries the titles.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.i18n.lookup import t
from bot.quota.types import UsageReport

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Box = tuple[int, int, int, int]  # left, top, right, bottom (inclusive pixels)

WIDTH, HEIGHT = 900, 600
BACKGROUND = (255, 255, 255)
BAR = (88, 101, 242)  # Discord blurple
DAY_BAR = (87, 242, 135)
INK = (35, 39, 42)
GRID = (220, 221, 222)
# Where a CJK font usually lives on Debian/Ubuntu (fonts-noto-cjk, fonts-wqy-*, droid).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
_MISSING_GLYPH = "\ue000"  # a private-use code point: no font draws it


@dataclass(frozen=True)
class Panel:
    top: int
    bottom: int  # the baseline: bars grow up from here


MEMBERS = Panel(top=60, bottom=270)
DAYS = Panel(top=360, bottom=560)
LEFT, RIGHT = 60, WIDTH - 30


@dataclass(frozen=True)
class UsageChart:
    png: bytes
    members: list[tuple[int, int]]  # (user id, credits) as plotted, in rank order
    days: list[tuple[str, int]]  # (date, credits) as plotted, oldest first
    member_boxes: list[Box | None]  # each member's bar (None: a zero has no bar)
    day_boxes: list[Box | None]
    titles_drawn: bool  # False: the font cannot draw the reader's language


def _draws(font: Font, text: str) -> bool:
    """Can `font` draw every character of `text` (no "missing glyph" boxes)?"""
    missing = bytes(font.getmask(_MISSING_GLYPH))
    return all(ch.isspace() or ch.isascii() or bytes(font.getmask(ch)) != missing for ch in text)


@cache
def _font(size: int, cjk: bool) -> Font:
    if cjk:
        for path in CJK_FONTS:
            if Path(path).exists():
                return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _bars(
    draw: ImageDraw.ImageDraw, panel: Panel, values: list[int], colour: tuple[int, int, int]
) -> list[Box | None]:
    """Bars whose heights are proportional to `values` (the largest fills the panel)."""
    highest = max(values, default=0)
    slot = (RIGHT - LEFT) / max(1, len(values))
    width = max(1, int(slot * 0.7))
    draw.line([(LEFT, panel.bottom + 1), (RIGHT, panel.bottom + 1)], fill=INK)
    boxes: list[Box | None] = []
    for i, value in enumerate(values):
        height = round((panel.bottom - panel.top) * value / highest) if highest else 0
        if height <= 0:
            boxes.append(None)
            continue
        left = LEFT + int(i * slot + (slot - width) / 2)
        box = (left, panel.bottom - height + 1, left + width - 1, panel.bottom)
        draw.rectangle(box, fill=colour)
        boxes.append(box)
    return boxes


def _label(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, font: Font) -> None:
    draw.text((x, y), text, fill=INK, font=font, anchor="ms")


def render_usage_chart(report: UsageReport, locale: str) -> UsageChart:
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    titles = [
        t(locale, "quota.chart.members"),
        t(locale, "quota.chart.daily", days=len(report.daily)),
    ]
    needs_cjk = not all(title.isascii() for title in titles)
    title_font, small = _font(20, needs_cjk), _font(13, False)
    titles_drawn = all(_draws(title_font, title) for title in titles)
    if titles_drawn:
        draw.text((LEFT, 20), titles[0], fill=INK, font=title_font)
        draw.text((LEFT, 320), titles[1], fill=INK, font=title_font)
    members = list(report.top)
    member_boxes = _bars(draw, MEMBERS, [used for _, used in members], BAR)
    for rank, ((_, used), box) in enumerate(zip(members, member_boxes, strict=True), start=1):
        centre = LEFT + (rank - 0.5) * (RIGHT - LEFT) / len(members)
        _label(draw, centre, MEMBERS.bottom + 18, f"#{rank}", small)
        _label(draw, centre, (box[1] if box else MEMBERS.bottom) - 4, str(used), small)
    days = list(report.daily)
    day_boxes = _bars(draw, DAYS, [used for _, used in days], DAY_BAR)
    for i, ((day, used), box) in enumerate(zip(days, day_boxes, strict=True)):
        centre = LEFT + (i + 0.5) * (RIGHT - LEFT) / len(days)
        if i % 5 == 0 or i == len(days) - 1:
            _label(draw, centre, DAYS.bottom + 18, day[5:], small)  # MM-DD
        if box is not None:
            _label(draw, centre, box[1] - 4, str(used), small)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return UsageChart(buffer.getvalue(), members, days, member_boxes, day_boxes, titles_drawn)
