"""The quota ledger as CSV for /quotas export (pure: rows in, UTF-8 bytes out)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.quota.ledger import LedgerEntry

CSV_HEADER = (
    "id", "created_at", "guild_id", "user_id", "job_id", "kind", "amount", "images",
    "counts_at", "actor_id", "note",
)  # fmt: skip


def ledger_csv(entries: Iterable[LedgerEntry]) -> bytes:
    """A header, then one row per entry; times as ISO 8601 UTC with milliseconds."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for e in entries:
        writer.writerow(
            (
                e.id, _iso(e.created_at), e.guild_id, e.user_id, e.job_id or "",
                e.kind.value, e.amount, "" if e.images is None else e.images,
                _iso(e.counts_at), e.actor_id or "", e.note or "",
            )
        )  # fmt: skip
    return buffer.getvalue().encode("utf-8")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
