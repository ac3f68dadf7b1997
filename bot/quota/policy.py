"""Pure quota rules: allowances, which one applies to a member, and period boundaries."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UserFacingError

MIN_CREDITS = 0
MAX_CREDITS = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class QuotaInputError(UserFacingError):
    """An admin typed a number, period or time zone the bot cannot accept; nothing changed."""


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TOTAL = "total"
    UNLIMITED = "unlimited"

    @classmethod
    def parse(cls, text: str) -> Period:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise QuotaInputError(
                "quota.error.bad_period", period=text, allowed=", ".join(p.value for p in cls)
            ) from None


class PolicyScope(enum.StrEnum):
    """Whom a stored policy is for; GUILD is the server default (target = the guild)."""

    USER = "user"
    ROLE = "role"
    GUILD = "guild"


class PolicySource(enum.StrEnum):
    """Where the allowance that applies to a member came from (strongest first)."""

    OWNER = "owner"
    USER = "user"
    ROLE = "role"
    GUILD = "guild"
    GLOBAL = "global"


# Tie-break between role allowances with equal credits: the one that refills sooner wins.
_REFILL_RANK = {Period.DAY: 3, Period.WEEK: 2, Period.MONTH: 1, Period.TOTAL: 0}


@dataclass(frozen=True)
class Policy:
    """`credits` per `period`; credits 0 blocks; an unlimited policy always has credits 0."""

    credits: int
    period: Period

    def __post_init__(self) -> None:
        if isinstance(self.credits, bool) or not isinstance(self.credits, int):
            raise TypeError("credits must be an int")
        if not MIN_CREDITS <= self.credits <= MAX_CREDITS:
            raise ValueError(f"credits out of range: {self.credits}")
        if self.period is Period.UNLIMITED and self.credits != 0:
            # Normalised so that two unlimited policies compare equal and store the same.
            object.__setattr__(self, "credits", 0)

    @classmethod
    def unlimited(cls) -> Policy:
        return cls(0, Period.UNLIMITED)

    @classmethod
    def from_input(cls, credits: object, period: str) -> Policy:
        """Validate an admin's `credits` and `period` (raises QuotaInputError, never more)."""
        parsed = Period.parse(period)
        if parsed is Period.UNLIMITED:
            return cls.unlimited()
        return cls(validate_credits(credits), parsed)

    @property
    def is_unlimited(self) -> bool:
        return self.period is Period.UNLIMITED

    @property
    def is_blocked(self) -> bool:
        return not self.is_unlimited and self.credits == 0

    @property
    def limit(self) -> int | None:
        """Credits per period, or None when unlimited."""
        return None if self.is_unlimited else self.credits

    def as_dict(self) -> dict[str, object]:
        return {"credits": self.credits, "period": self.period.value}


def validate_credits(value: object, *, minimum: int = MIN_CREDITS) -> int:
    """An int in minimum…MAX_CREDITS (bools and floats refused), else QuotaInputError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (minimum <= value <= MAX_CREDITS)
    ):
        raise QuotaInputError("quota.error.bad_credits", value=value, min=minimum, max=MAX_CREDITS)
    return value


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA zone such as `Asia/Shanghai`, else QuotaInputError."""
    cleaned = name.strip()
    try:
        if not cleaned or len(cleaned) > 64:
            raise ValueError(cleaned)
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise QuotaInputError("quota.error.bad_timezone", timezone=name) from None


def generosity(policy: Policy) -> tuple[int, int, int]:
    """Sort key: unlimited first, then most credits, then the soonest refill."""
    if policy.is_unlimited:
        return (1, 0, 0)
    return (0, policy.credits, _REFILL_RANK[policy.period])


def resolve_policy(
    user_policy: Policy | None,
    role_policies: Sequence[Policy],
    guild_default: Policy | None,
    global_default: Policy,
) -> tuple[Policy, PolicySource]:
    """The allowance that applies: user override > best role > server default > global.

    "Best role" is the most generous among the member's roles that have a policy: unlimited
    beats any number; otherwise the most credits; equal credits → the period that refills
    soonest (day > week > month > total). Credits are compared as they are, not as a rate,
    so admins can predict the result. A role with 0 credits therefore loses to any other
    role policy; to block one person whatever their roles, set a user override of 0.
    """
    if user_policy is not None:
        return user_policy, PolicySource.USER
    if role_policies:
        return max(role_policies, key=generosity), PolicySource.ROLE
    if guild_default is not None:
        return guild_default, PolicySource.GUILD
    return global_default, PolicySource.GLOBAL


def period_bounds(period: Period, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime | None]:
    """[start, end) of the period containing `now`, in wall-clock time of `tz`.

    A day starts at local midnight, a week on local Monday 00:00 (ISO), a month on the 1st
    at 00:00. Boundaries are built from local dates (not by adding 24 h), so a DST switch
    gives a 23- or 25-hour day. Where local midnight does not exist (a DST gap at 00:00)
    the period starts at the first instant of the day. `total` and `unlimited` never
    reset: (epoch, None). Results are aware datetimes in `tz`; take `.timestamp()` before
    subtracting them (Python subtracts same-zone datetimes as wall-clock times).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if period in (Period.TOTAL, Period.UNLIMITED):
        return EPOCH, None
    today = now.astimezone(tz).date()
    if period is Period.DAY:
        first, after = today, today + timedelta(days=1)
    elif period is Period.WEEK:
        first = today - timedelta(days=today.weekday())
        after = first + timedelta(days=7)
    else:
        first = today.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    return _local_midnight(first, tz), _local_midnight(after, tz)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 on a non-existent wall time uses the offset before the gap, which maps to the
    # first real instant after it; normalising through UTC makes that explicit.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).astimezone(tz)
