"""Splitting long replies into Discord-sized messages (2,000 characters each)."""

from __future__ import annotations

MESSAGE_LIMIT = 2000


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at line breaks where possible,
    else after a ", " (lists), else anywhere. Never returns an empty list."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    pages: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a whole page
            cut = line.rfind(", ", 0, limit - 1)
            cut = cut + 2 if cut > 0 else limit
            head, line = line[:cut].rstrip(), line[cut:]
            if current:
                pages.append(current)
                current = ""
            pages.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pages.append(current)
            current = line
        else:
            current = candidate
    if current or not pages:
        pages.append(current)
    return pages
