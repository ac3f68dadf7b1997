"""Reads of the credit ledger: usage in a window, holds, reports and exports.

Like the writes in `bot.quota.ledger` (which re-exports everything here), every function
runs inside the caller's transaction. How usage is derived is told there.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.storage import Row, Transaction


class EntryKind(enum.StrEnum):
    RESERVE = "reserve"
    COMMIT = "commit"
    REFUND = "refund"
    GRANT = "grant"
    ADJUST = "adjust"


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    guild_id: int
    user_id: int
    job_id: int | None
    kind: EntryKind
    amount: int
    images: int | None
    counts_at: float
    created_at: float
    actor_id: int | None
    note: str | None


@dataclass(frozen=True)
class Usage:
    """A user's credits in a window: `used` (incl. `held`), `granted` extra allowance."""

    used: int
    granted: int
    held: int  # credits of reservations not yet committed or refunded (in-flight jobs)

    def left(self, limit: int | None) -> int | None:
        return None if limit is None else max(0, limit + self.granted - self.used)


@dataclass(frozen=True)
class OutstandingReservation:
    job_id: int
    guild_id: int
    user_id: int
    amount: int
    images: int
    counts_at: float
    job_state: str
    images_delivered: int


async def _rows(conn: Transaction, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    return await conn.fetchall(sql, params)


def _entry(row: Row) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        job_id=row["job_id"],
        kind=EntryKind(row["kind"]),
        amount=row["amount"],
        images=row["images"],
        counts_at=row["counts_at"],
        created_at=row["created_at"],
        actor_id=row["actor_id"],
        note=row["note"],
    )


async def usage(
    conn: Transaction,
    guild_id: int,
    user_id: int,
    *,
    since: float,
    until: float | None = None,
) -> Usage:
    """Credits used and granted with since ≤ counts_at < until, and how much is held."""
    rows = await _rows(
        conn,
        "SELECT COALESCE(SUM(CASE WHEN kind = 'grant' THEN 0 ELSE amount END), 0) AS used,"
        " COALESCE(SUM(CASE WHEN kind = 'grant' THEN amount ELSE 0 END), 0) AS granted,"
        " COALESCE(SUM(CASE WHEN kind = 'reserve' AND NOT EXISTS (SELECT 1 FROM quota_ledger s"
        "  WHERE s.job_id = r.job_id AND s.kind IN ('commit', 'refund'))"
        "  THEN amount ELSE 0 END), 0) AS held"
        " FROM quota_ledger r WHERE guild_id = ? AND user_id = ?"
        " AND counts_at >= ? AND counts_at < ?",
        (guild_id, user_id, since, math.inf if until is None else until),
    )
    row = rows[0]
    return Usage(used=int(row["used"]), granted=int(row["granted"]), held=int(row["held"]))


async def net_use(conn: Transaction, guild_id: int, user_id: int, *, since: float) -> int:
    """used − granted since `since`: what a reservation is checked against (limit − this
    is what is left). One index range, without `usage`'s per-reservation settled check."""
    row = await conn.fetchone(
        "SELECT COALESCE(SUM(CASE WHEN kind = 'grant' THEN -amount ELSE amount END), 0)"
        " FROM quota_ledger WHERE guild_id = ? AND user_id = ? AND counts_at >= ?",
        (guild_id, user_id, since),
    )
    return 0 if row is None else int(row[0])


_OUTSTANDING = (
    "SELECT r.job_id, r.guild_id, r.user_id, r.amount, r.images, r.counts_at,"
    " j.state AS job_state, j.images_delivered FROM quota_ledger r"
    " JOIN jobs j ON j.id = r.job_id"
)
_NOT_SETTLED = (
    " AND NOT EXISTS (SELECT 1 FROM quota_ledger s"
    "  WHERE s.job_id = r.job_id AND s.kind IN ('commit', 'refund'))"
)


def _outstanding(row: Row) -> OutstandingReservation:
    return OutstandingReservation(
        job_id=row["job_id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        amount=row["amount"],
        images=row["images"],
        counts_at=row["counts_at"],
        job_state=row["job_state"],
        images_delivered=row["images_delivered"],
    )


async def job_spend(
    conn: Transaction, *, since: float, user_id: int | None = None, guild_id: int | None = None
) -> int:
    """Credits jobs hold or were charged since `since`, of one member across every server
    or of one whole server: what the operator's ceilings count (grants and admin resets
    do not lift them)."""
    column, value = ("user_id", user_id) if user_id is not None else ("guild_id", guild_id)
    row = await conn.fetchone(
        "SELECT COALESCE(SUM(amount), 0) FROM quota_ledger"  # noqa: S608 - a fixed column name
        f" WHERE {column} = ? AND counts_at >= ? AND kind IN ('reserve', 'commit', 'refund')",
        (value, since),
    )
    return 0 if row is None else int(row[0])


async def outstanding_reservations(
    conn: Transaction, guild_id: int, user_id: int, *, since: float = 0.0
) -> list[OutstandingReservation]:
    """The user's reservations since `since` not yet committed or refunded, oldest first."""
    rows = await _rows(
        conn,
        _OUTSTANDING + " WHERE r.guild_id = ? AND r.user_id = ? AND r.counts_at >= ?"
        " AND r.kind = 'reserve'" + _NOT_SETTLED + " ORDER BY r.id",
        (guild_id, user_id, since),
    )
    return [_outstanding(r) for r in rows]


async def unsettled_finished_jobs(conn: Transaction) -> list[OutstandingReservation]:
    """Reservations whose job ended but were never settled (a crash in between).

    Scans every reservation: meant for start-up, not for a hot path.
    """
    rows = await _rows(
        conn,
        _OUTSTANDING + " WHERE r.kind = 'reserve'"
        " AND j.state IN ('succeeded', 'failed', 'cancelled')" + _NOT_SETTLED + " ORDER BY r.id",
    )
    return [_outstanding(r) for r in rows]


async def recent_entries(
    conn: Transaction, guild_id: int, user_id: int, *, limit: int = 10
) -> list[LedgerEntry]:
    """The user's latest ledger rows in the guild, newest first."""
    rows = await _rows(
        conn,
        "SELECT id, guild_id, user_id, job_id, kind, amount, images, counts_at, created_at,"
        " actor_id, note"
        " FROM quota_ledger WHERE guild_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?",
        (guild_id, user_id, limit),
    )
    return [_entry(r) for r in rows]


async def top_users(
    conn: Transaction, guild_id: int, *, since: float, limit: int = 10
) -> list[tuple[int, int]]:
    """(user id, credits used since `since`) of the heaviest users, most first."""
    rows = await _rows(
        conn,
        "SELECT user_id,"
        " COALESCE(SUM(CASE WHEN kind = 'grant' THEN 0 ELSE amount END), 0) AS used"
        " FROM quota_ledger"
        " WHERE guild_id = ? AND counts_at >= ? GROUP BY user_id"
        " HAVING COALESCE(SUM(CASE WHEN kind = 'grant' THEN 0 ELSE amount END), 0) > 0"
        " ORDER BY used DESC, user_id LIMIT ?",
        (guild_id, since, limit),
    )
    return [(int(r["user_id"]), int(r["used"])) for r in rows]


async def usage_since(conn: Transaction, guild_id: int, *, since: float) -> list[tuple[float, int]]:
    """(counts_at, credits) of every entry that counts as use since `since` (grants don't)."""
    rows = await _rows(
        conn,
        "SELECT counts_at, amount FROM quota_ledger"
        " WHERE guild_id = ? AND counts_at >= ? AND kind != 'grant' ORDER BY counts_at",
        (guild_id, since),
    )
    return [(float(r["counts_at"]), int(r["amount"])) for r in rows]


async def export_rows(conn: Transaction, guild_id: int) -> list[LedgerEntry]:
    """Every ledger row of the guild, oldest first."""
    rows = await _rows(
        conn,
        "SELECT id, guild_id, user_id, job_id, kind, amount, images, counts_at, created_at,"
        " actor_id, note"
        " FROM quota_ledger WHERE guild_id = ? ORDER BY id",
        (guild_id,),
    )
    return [_entry(r) for r in rows]
