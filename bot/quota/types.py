"""What the quota service returns and raises: reservations, status, reports and refusals."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import UserFacingError
from bot.quota.ledger_reads import LedgerEntry
from bot.quota.policy import Period, Policy, PolicySource


class QuotaExceededError(UserFacingError):
    """Not enough credits left this period for the request."""

    def __init__(self, *, left: int, needed: int, resets_at: float | None) -> None:
        if resets_at is None:
            super().__init__("quota.exceeded_total", left=left, needed=needed)
        else:
            super().__init__("quota.exceeded", left=left, needed=needed, resets_at=int(resets_at))
        self.left = left
        self.needed = needed
        self.resets_at = resets_at


class QuotaBlockedError(UserFacingError):
    """The member's allowance is 0 credits and nothing was granted."""

    def __init__(self) -> None:
        super().__init__("quota.blocked")


class QuotaCeilingError(UserFacingError):
    """The operator's daily ceiling (one member across servers, or one server) is reached."""

    def __init__(self, scope: str, *, left: int, needed: int, resets_at: float) -> None:
        super().__init__(
            f"quota.ceiling_{scope}", left=left, needed=needed, resets_at=int(resets_at)
        )


@dataclass(frozen=True)
class Ceilings:
    """Operator ceilings per UTC day; None: none. No server setting can exceed them."""

    user_daily: int | None = None  # one member, all servers together
    guild_daily: int | None = None  # one server, all members together


@dataclass(frozen=True)
class Reservation:
    job_id: int
    amount: int
    policy: Policy
    source: PolicySource
    period_start: float
    resets_at: float | None


@dataclass(frozen=True)
class QuotaStatus:
    """A member's allowance and usage in the current period (times are unix seconds)."""

    guild_id: int
    user_id: int
    policy: Policy
    source: PolicySource
    timezone: str
    period_start: float
    resets_at: float | None  # None: total / unlimited never reset
    used: int  # includes `held`
    granted: int
    held: int  # credits held by unsettled reservations (queued / running jobs)
    held_jobs: tuple[int, ...]
    limit: int | None  # None: unlimited
    left: int | None  # None: unlimited

    def as_dict(self) -> dict[str, object]:
        return {
            "policy": self.policy.as_dict(),
            "source": self.source.value,
            "used": self.used,
            "granted": self.granted,
            "left": self.left,
        }


@dataclass(frozen=True)
class PolicyChange:
    """An admin's policy change and the allowance that now applies to its target."""

    target: str
    before: Policy | None
    after: Policy | None
    effective: Policy
    source: PolicySource


@dataclass(frozen=True)
class CreditChange:
    """A grant or reset: the credits it moved and the user's status afterwards."""

    credits: int
    status: QuotaStatus


@dataclass(frozen=True)
class UserReport:
    status: QuotaStatus
    override: Policy | None
    entries: list[LedgerEntry]


@dataclass(frozen=True)
class UsageReport:
    period: Period
    since: float
    resets_at: float | None
    top: list[tuple[int, int]]  # (user id, credits used), most first
    # (local date "YYYY-MM-DD", credits used that day) for the last REPORT_DAYS days, oldest first.
    daily: list[tuple[str, int]] = field(default_factory=list)
