"""SQL for the append-only credit ledger: reservations, settlements, grants (and, from
`bot.quota.ledger_reads`, re-exported here, the reads).

Every function takes the `Transaction` of the caller's transaction (a `Database.write`
body), so a job row and its reservation, or an admin
change and its audit row, commit together or not at all. Nothing here commits. Stored
policies, server settings and the audit log are in `bot.quota.store`.

How usage is derived (the ledger is the only record; nothing is ever updated or deleted):

* Every row has a signed `amount` and a `counts_at` instant. A row counts toward the
  period that contains its `counts_at` (in the server's time zone; the service turns the
  period into a `since` instant and sums rows with `counts_at >= since`).
* **used** = sum of `amount` over reserve, commit, refund and adjust rows. **granted** =
  sum of `amount` over grant rows. **left** = limit + granted − used.
* `reserve` (+n×cost): written when /imagine is accepted, `counts_at` = now. It counts as
  used at once, so queued and running jobs hold their credits. It is inserted only if
  used − granted + amount ≤ limit, evaluated by the INSERT itself (one statement, in a
  `BEGIN IMMEDIATE` transaction), so concurrent requests cannot overspend.
* `commit` (−released): when the job delivered d of its n images it is charged
  d × unit cost (unit cost = reserve amount / reserve images, frozen at reservation) and
  the row releases the rest. `counts_at` = the reservation's, so a job reserved at 23:59
  and delivered at 00:01 is charged and released in the same (earlier) period.
* `refund` (−reserved): failure, timeout, cancel, moderation block. Same `counts_at` rule.
* A job is settled (commit or refund) at most once: the settling INSERT skips a job that
  already has a settlement (and reports the first one), and a partial unique index backs
  that up in the schema. Settling a job that has no reservation is a no-op (None).
* `grant` (+credits, admin): extra allowance in the period containing the grant; it lapses
  with that period (for `total` it never lapses). Grants also lift a blocked (0) policy.
* `adjust` (±, admin): a correction of `used`. **reset** is an adjust with note 'reset'
  that cancels the period's *settled* usage so far (used − credits held by unsettled
  reservations), so jobs still in flight are still charged or refunded correctly later.
* Reservations made by bot owners or under an unlimited policy are written with their
  real cost (limit None) so usage and reports stay explainable; nothing ever refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Names imported `as` themselves are re-exports: callers use `ledger.usage`, `ledger.EntryKind` …
from bot.quota.ledger_reads import EntryKind, _rows, usage
from bot.storage import Row, Transaction


@dataclass(frozen=True)
class Settlement:
    """How a job's reservation ended; `repeated` when an earlier settle already did it."""

    job_id: int
    guild_id: int
    user_id: int
    kind: EntryKind  # COMMIT or REFUND
    reserved: int
    charged: int
    released: int
    repeated: bool


_INSERT = (
    "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, amount, images, counts_at,"
    " created_at, actor_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)


# --- credits ------------------------------------------------------------------------------


async def reserve(
    conn: Transaction,
    *,
    guild_id: int,
    user_id: int,
    job_id: int,
    amount: int,
    images: int,
    limit: int | None,
    period_start: float,
    now: float,
    note: str | None = None,
) -> bool:
    """Hold `amount` credits for `job_id` if used − granted + amount ≤ limit (None: always).

    The check and the insert are one statement. A second reservation for the same job
    raises bot.storage.IntegrityError (a caller bug, not a quota answer).
    """
    if amount < 0 or images < 1:
        raise ValueError(f"bad reservation: amount={amount} images={images}")
    values = (guild_id, user_id, job_id, amount, images, now, now, note)
    insert = (
        "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, amount, images, counts_at,"
        " created_at, note)"
        " SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), 'reserve',"
        " CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS DOUBLE PRECISION),"
        " CAST(? AS DOUBLE PRECISION), CAST(? AS TEXT)"
    )
    if limit is None:
        rows = await _rows(conn, insert + " RETURNING id", values)
    else:
        rows = await _rows(
            conn,
            insert + " WHERE CAST(? AS BIGINT) + ("  # noqa: S608
            "  SELECT COALESCE(SUM(CASE WHEN kind = 'grant' THEN -amount ELSE amount END), 0)"
            "  FROM quota_ledger WHERE guild_id = ? AND user_id = ? AND counts_at >= ?"
            " ) <= ? RETURNING id",
            (*values, amount, guild_id, user_id, period_start, limit),
        )
    return bool(rows)


async def _reservation_and_settlement(
    conn: Transaction, job_id: int
) -> tuple[Row | None, Row | None]:
    rows = await _rows(
        conn,
        "SELECT guild_id, user_id, job_id, kind, amount, amount AS reserved FROM quota_ledger"
        " WHERE job_id = ? AND kind IN ('reserve', 'commit', 'refund')",
        (job_id,),
    )
    reservation = next((r for r in rows if r["kind"] == "reserve"), None)
    settlement = next((r for r in rows if r["kind"] != "reserve"), None)
    return reservation, settlement


def _settlement(reservation: Row, kind: EntryKind, amount: int, *, repeated: bool) -> Settlement:
    """`reservation` has the reserve row's guild_id, user_id, job_id and `reserved`."""
    reserved, released = int(reservation["reserved"]), -amount
    return Settlement(
        job_id=reservation["job_id"],
        guild_id=reservation["guild_id"],
        user_id=reservation["user_id"],
        kind=kind,
        reserved=reserved,
        charged=reserved - released,
        released=released,
        repeated=repeated,
    )


# min(kept, images of the reservation), in SQL both engines share (two placeholders).
_KEPT = "(CASE WHEN CAST(? AS INTEGER) < r.images THEN CAST(? AS INTEGER) ELSE r.images END)"


async def _settle(
    conn: Transaction,
    *,
    job_id: int,
    delivered_images: int | None,
    now: float,
    note: str | None,
) -> Settlement | None:
    kind = EntryKind.REFUND if delivered_images is None else EntryKind.COMMIT
    kept = max(0, delivered_images or 0)
    # One statement: copy the reservation's owner and counts_at, charge kept × unit cost
    # (amount / images of the reserve row, exact since amount = n × unit), release the
    # rest; skipped when the job is already settled or was never reserved.
    rows = await _rows(
        conn,
        "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, amount, images, counts_at,"  # noqa: S608
        " created_at, note)"
        " SELECT r.guild_id, r.user_id, r.job_id, CAST(? AS TEXT),"
        "  r.amount / r.images * " + _KEPT + " - r.amount, " + _KEPT + ", r.counts_at,"
        "  CAST(? AS DOUBLE PRECISION), CAST(? AS TEXT)"
        " FROM quota_ledger r WHERE r.job_id = ? AND r.kind = 'reserve'"
        " AND NOT EXISTS (SELECT 1 FROM quota_ledger s"
        "  WHERE s.job_id = r.job_id AND s.kind IN ('commit', 'refund'))"
        " RETURNING guild_id, user_id, job_id, amount, (SELECT x.amount FROM quota_ledger x"
        "  WHERE x.job_id = quota_ledger.job_id AND x.kind = 'reserve') AS reserved",
        (kind.value, kept, kept, kept, kept, now, note, job_id),
    )
    if rows:
        row = rows[0]
        return _settlement(row, kind, int(row["amount"]), repeated=False)
    reservation, existing = await _reservation_and_settlement(conn, job_id)
    if reservation is None or existing is None:
        return None
    return _settlement(
        reservation, EntryKind(existing["kind"]), int(existing["amount"]), repeated=True
    )


async def settle(
    conn: Transaction,
    *,
    job_id: int,
    delivered_images: int,
    now: float,
    note: str | None = None,
) -> Settlement | None:
    """Commit the job for the images it delivered and release the rest (idempotent).

    Takes images, not credits: the unit cost is the one frozen in the reservation, so a
    changed model price or a restart between reserve and commit cannot change the charge.
    Delivering 0 images releases everything (kind stays COMMIT). None if never reserved.
    """
    return await _settle(conn, job_id=job_id, delivered_images=delivered_images, now=now, note=note)


async def refund(
    conn: Transaction, *, job_id: int, now: float, note: str | None = None
) -> Settlement | None:
    """Release the whole reservation (idempotent; no-op if already settled or none)."""
    return await _settle(conn, job_id=job_id, delivered_images=None, now=now, note=note)


async def grant(
    conn: Transaction,
    *,
    guild_id: int,
    user_id: int,
    credits: int,
    actor_id: int,
    now: float,
    note: str | None = None,
) -> int:
    """Add `credits` of one-off allowance for the current period. Returns the entry id."""
    if credits <= 0:
        raise ValueError(f"grant must be positive: {credits}")
    rows = await _rows(
        conn, _INSERT, (guild_id, user_id, None, "grant", credits, None, now, now, actor_id, note)
    )
    return int(rows[0]["id"])


async def adjust(
    conn: Transaction,
    *,
    guild_id: int,
    user_id: int,
    amount: int,
    actor_id: int,
    now: float,
    note: str | None = None,
) -> int:
    """Correct `used` by `amount` (negative gives credits back). Returns the entry id."""
    rows = await _rows(
        conn, _INSERT, (guild_id, user_id, None, "adjust", amount, None, now, now, actor_id, note)
    )
    return int(rows[0]["id"])


async def reset(
    conn: Transaction,
    *,
    guild_id: int,
    user_id: int,
    period_start: float,
    actor_id: int,
    now: float,
) -> int:
    """Cancel the settled usage since `period_start` with one adjust row; returns credits."""
    current = await usage(conn, guild_id, user_id, since=period_start)
    cancelled = max(0, current.used - current.held)
    await adjust(
        conn, guild_id=guild_id, user_id=user_id, amount=-cancelled, actor_id=actor_id,
        now=now, note="reset",
    )  # fmt: skip
    return cancelled
