"""split_message: Discord-sized pieces, cut at lines, then list separators."""

from __future__ import annotations

import pytest

from bot.ui.pages import split_message


def test_short_text_is_one_page() -> None:
    assert split_message("a\nb") == ["a\nb"]
    assert split_message("") == [""]


@pytest.mark.parametrize("limit", [37, 120, 2000])
def test_long_text_is_cut_at_lines_and_commas_and_nothing_is_lost(limit: int) -> None:
    words = [f"word{i:03d}" for i in range(400)]
    text = "Default model: x\nBlocked words: " + ", ".join(words) + "\nTime zone: UTC"
    pages = split_message(text, limit)
    assert all(0 < len(p) <= limit for p in pages)
    joined = " ".join(pages)
    assert all(w in joined for w in words) and "Time zone: UTC" in pages[-1]


def test_a_tiny_limit_still_bounds_every_page() -> None:
    assert all(0 < len(p) <= 5 for p in split_message("abcdefghijklmnop, qr\nst", 5))
