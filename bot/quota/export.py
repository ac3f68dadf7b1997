"""The quota ledger as CSV for /quotas export (pure: rows in, UTF-8 bytes out).

Discord ids (guild, user, actor) are 19-digit numbers: a spreadsheet opening the CSV would
turn them into floats and lose the last digits. They are written as text with a `#` prefix
(`#1234567890123456789`): every spreadsheet keeps that as text, and scripts strip one
character. Member names (when the bot knows them) are in `user_name` / `actor_name`; a name
that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`.

Large exports: `pack_export` gzips a CSV over the upload limit, and if even that is too
large, splits the rows into parts (each with the header) that are gzipped one by one.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.quota.ledger_reads import LedgerEntry

CSV_HEADER = (
    "id", "created_at", "guild_id", "user_id", "user_name", "job_id", "kind", "amount",
    "images", "counts_at", "actor_id", "actor_name", "note",
)  # fmt: skip
ID_PREFIX = "#"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

NameLookup = Callable[[int], str | None]


def discord_id(value: int | None) -> str:
    return "" if value is None else f"{ID_PREFIX}{value}"


def _safe(text: str | None) -> str:
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _rows(entries: Iterable[LedgerEntry], names: NameLookup) -> Iterable[tuple[object, ...]]:
    for e in entries:
        yield (
            e.id, _iso(e.created_at), discord_id(e.guild_id), discord_id(e.user_id),
            _safe(names(e.user_id)), e.job_id or "", e.kind.value, e.amount,
            "" if e.images is None else e.images, _iso(e.counts_at), discord_id(e.actor_id),
            _safe(names(e.actor_id) if e.actor_id is not None else None), _safe(e.note),
        )  # fmt: skip


def _csv(rows: Iterable[tuple[object, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def ledger_csv(entries: Iterable[LedgerEntry], *, names: NameLookup | None = None) -> bytes:
    """A header, then one row per entry; times as ISO 8601 UTC with milliseconds."""
    return _csv(_rows(entries, names or (lambda _: None)))


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes


def pack_export(
    entries: Sequence[LedgerEntry],
    *,
    limit: int,
    names: NameLookup | None = None,
    basename: str = "ledger",
) -> list[ExportFile]:
    """The CSV as one file if it fits in `limit` bytes, else gzipped, else split into
    gzipped parts of whole rows (each with the header) that fit."""
    rows = list(_rows(entries, names or (lambda _: None)))
    plain = _csv(rows)
    if len(plain) <= limit:
        return [ExportFile(f"{basename}.csv", plain)]
    packed = gzip.compress(plain, mtime=0)
    if len(packed) <= limit:
        return [ExportFile(f"{basename}.csv.gz", packed)]
    # Split by the compressed size seen so far, halving a part until it fits.
    parts: list[bytes] = []
    per_part = max(1, int(len(rows) * limit / len(packed) * 0.9))
    start = 0
    while start < len(rows):
        count = min(per_part, len(rows) - start)
        while True:
            data = gzip.compress(_csv(rows[start : start + count]), mtime=0)
            if len(data) <= limit or count == 1:
                break
            count = max(1, count // 2)
        parts.append(data)
        start += count
    width = len(str(len(parts)))
    return [
        ExportFile(f"{basename}-part{i:0{width}d}-of-{len(parts)}.csv.gz", data)
        for i, data in enumerate(parts, start=1)
    ]


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
