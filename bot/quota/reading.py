"""Reading quotas: which allowance applies to a member, their status, reports, exports.

`QuotaReader` is the read side of `bot.quota.service.QuotaService` (which adds the job
road and the admin changes): no Discord here either, callers pass plain ids.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.quota import ledger_reads, store
from bot.quota.export import ledger_csv
from bot.quota.ledger_reads import LedgerEntry, Usage
from bot.quota.policy import (
    Period,
    Policy,
    PolicyScope,
    PolicySource,
    period_bounds,
    resolve_policy,
)
from bot.quota.store import AuditEntry
from bot.quota.types import Ceilings, QuotaStatus, UsageReport, UserReport
from bot.storage import Database, Transaction

log = logging.getLogger(__name__)

EPOCH_SECONDS = 0.0

Clock = Callable[[], float]


class _Allowance(NamedTuple):
    policy: Policy
    source: PolicySource
    timezone: str
    period_start: float
    resets_at: float | None


class QuotaReader:
    def __init__(
        self,
        db: Database,
        *,
        global_default: Policy,
        owner_ids: frozenset[int],
        ceilings: Ceilings | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._ceilings = ceilings or Ceilings()
        self._db = db
        self._global_default = global_default
        self._owner_ids = owner_ids
        self._clock = clock

    def is_owner(self, user_id: int) -> bool:
        return user_id in self._owner_ids

    # --- reading --------------------------------------------------------------------------

    async def status(
        self,
        guild_id: int,
        user_id: int,
        role_ids: Sequence[int],
        *,
        conn: Transaction | None = None,
    ) -> QuotaStatus:
        """The member's allowance, usage and reset time in the current period.

        Pass `conn` to read inside an open transaction (e.g. "credits left" right after a
        commit, for the result embed).
        """
        now = self._clock()
        if conn is not None:
            return await self._status(conn, guild_id, user_id, role_ids, now)

        async def status(conn: Transaction) -> QuotaStatus:
            return await self._status(conn, guild_id, user_id, role_ids, now)

        return await self._db.read(status)

    async def show_user(
        self, guild_id: int, user_id: int, role_ids: Sequence[int] = (), *, entries: int = 10
    ) -> UserReport:

        async def report(conn: Transaction) -> UserReport:
            return UserReport(
                status=await self._status(conn, guild_id, user_id, role_ids, self._clock()),
                override=await store.get_policy(conn, guild_id, PolicyScope.USER, user_id),
                entries=await ledger_reads.recent_entries(conn, guild_id, user_id, limit=entries),
            )

        return await self._db.read(report)

    async def report(self, guild_id: int, *, top: int = 10) -> UsageReport:
        """Heaviest users in the server default's current period (since epoch if total)."""

        async def report(conn: Transaction) -> UsageReport:
            default = await store.get_policy(conn, guild_id, PolicyScope.GUILD, guild_id)
            period = (default or self._global_default).period
            timezone = await self._timezone(conn, guild_id)
            start, end = period_bounds(period, _utc(self._clock()), timezone)
            since = start.timestamp()
            return UsageReport(
                period=period,
                since=since,
                resets_at=None if end is None else end.timestamp(),
                top=await ledger_reads.top_users(conn, guild_id, since=since, limit=top),
                daily=await _daily_usage(conn, guild_id, _utc(self._clock()), timezone),
            )

        return await self._db.read(report)

    async def export_csv(self, guild_id: int) -> bytes:
        """The guild's whole ledger as UTF-8 CSV: a header, then one row per entry."""
        return ledger_csv(await self.export_entries(guild_id))

    async def export_entries(self, guild_id: int, period: str | None = None) -> list[LedgerEntry]:
        """The guild's ledger rows, oldest first; with `period` (day, week, month) only the
        rows that count in the current one (server time zone)."""

        async def rows(conn: Transaction) -> list[LedgerEntry]:
            entries = await ledger_reads.export_rows(conn, guild_id)
            if period is None or period in ("all", "total"):
                return entries
            timezone = await self._timezone(conn, guild_id)
            start, end = period_bounds(Period.parse(period), _utc(self._clock()), timezone)
            since = start.timestamp()
            until = float("inf") if end is None else end.timestamp()
            return [e for e in entries if since <= e.counts_at < until]

        return await self._db.read(rows)

    async def audit_log(self, guild_id: int, *, limit: int = 50) -> list[AuditEntry]:
        return await self._db.read(lambda conn: store.audit_entries(conn, guild_id, limit=limit))

    async def _timezone(self, conn: Transaction, guild_id: int) -> ZoneInfo:
        return _zone(await store.guild_timezone(conn, guild_id), guild_id)

    async def _allowance(
        self,
        conn: Transaction,
        guild_id: int,
        user_id: int,
        role_ids: Sequence[int],
        now: float,
    ) -> _Allowance:
        """The policy that applies, where it came from, and its current period (one query)."""
        if self.is_owner(user_id):
            # Unlimited never resets, so the server's time zone does not matter.
            return _Allowance(Policy.unlimited(), PolicySource.OWNER, "UTC", EPOCH_SECONDS, None)
        stored = await store.policies_for(conn, guild_id, user_id, role_ids)
        policy, source = resolve_policy(
            stored.user, stored.roles, stored.guild, self._global_default
        )
        timezone = _zone(stored.timezone, guild_id)
        start, end = period_bounds(policy.period, _utc(now), timezone)
        return _Allowance(
            policy=policy,
            source=source,
            timezone=timezone.key,
            period_start=start.timestamp(),
            resets_at=None if end is None else end.timestamp(),
        )

    async def _status(
        self,
        conn: Transaction,
        guild_id: int,
        user_id: int,
        role_ids: Sequence[int],
        now: float,
    ) -> QuotaStatus:
        allowance = await self._allowance(conn, guild_id, user_id, role_ids, now)
        current: Usage = await ledger_reads.usage(
            conn, guild_id, user_id, since=allowance.period_start
        )
        held = await ledger_reads.outstanding_reservations(
            conn, guild_id, user_id, since=allowance.period_start
        )
        limit = allowance.policy.limit
        return QuotaStatus(
            guild_id=guild_id,
            user_id=user_id,
            policy=allowance.policy,
            source=allowance.source,
            timezone=allowance.timezone,
            period_start=allowance.period_start,
            resets_at=allowance.resets_at,
            used=current.used,
            granted=current.granted,
            held=current.held,
            held_jobs=tuple(r.job_id for r in held),
            limit=limit,
            left=current.left(limit),
        )


def _zone(name: str, guild_id: int) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):  # a zone removed from tzdata since it was stored
        log.warning("quota: guild %s has unknown time zone %r; using UTC", guild_id, name)
        return ZoneInfo("UTC")


REPORT_DAYS = 30


async def _daily_usage(
    conn: Transaction, guild_id: int, now: datetime, timezone: ZoneInfo
) -> list[tuple[str, int]]:
    """Credits used per day of the server's calendar, the last REPORT_DAYS days."""
    today = now.astimezone(timezone).date()
    first = today - timedelta(days=REPORT_DAYS - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=timezone).timestamp()
    days = {first + timedelta(days=i): 0 for i in range(REPORT_DAYS)}
    for counts_at, amount in await ledger_reads.usage_since(conn, guild_id, since=start):
        day = datetime.fromtimestamp(counts_at, timezone).date()
        if day in days:
            days[day] += amount
    return [(day.isoformat(), used) for day, used in days.items()]


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
