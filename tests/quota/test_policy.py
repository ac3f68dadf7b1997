"""Pure quota rules: resolution order, input validation, period boundaries, messages."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n.lookup import EN, ZH
from bot.quota.policy import (
    EPOCH,
    Period,
    Policy,
    PolicySource,
    QuotaInputError,
    parse_timezone,
    period_bounds,
    resolve_policy,
)

DAY5 = Policy(5, Period.DAY)
GLOBAL = Policy(25, Period.DAY)
UNLIMITED = Policy.unlimited()
BLOCKED = Policy(0, Period.DAY)


@pytest.mark.parametrize(
    ("user", "roles", "guild", "expected", "source"),
    [
        (None, [], None, GLOBAL, PolicySource.GLOBAL),
        (None, [], Policy(7, Period.WEEK), Policy(7, Period.WEEK), PolicySource.GUILD),
        (None, [DAY5], Policy(7, Period.WEEK), DAY5, PolicySource.ROLE),
        (Policy(2, Period.MONTH), [DAY5], Policy(7, Period.WEEK), Policy(2, Period.MONTH),
         PolicySource.USER),
        # A user override wins even when it is stricter, including a block.
        (BLOCKED, [UNLIMITED], None, BLOCKED, PolicySource.USER),
        # Most generous role: unlimited beats any number …
        (None, [Policy(1_000_000, Period.DAY), UNLIMITED], None, UNLIMITED, PolicySource.ROLE),
        # … otherwise most credits (as stated, not as a rate) …
        (None, [Policy(10, Period.DAY), Policy(50, Period.MONTH)], None,
         Policy(50, Period.MONTH), PolicySource.ROLE),
        # … equal credits: the one that refills sooner.
        (None, [Policy(10, Period.TOTAL), Policy(10, Period.WEEK), Policy(10, Period.DAY)],
         None, Policy(10, Period.DAY), PolicySource.ROLE),
        # A blocking role loses to any other role, but still beats the server default.
        (None, [BLOCKED, Policy(1, Period.TOTAL)], None, Policy(1, Period.TOTAL),
         PolicySource.ROLE),
        (None, [BLOCKED], Policy(7, Period.WEEK), BLOCKED, PolicySource.ROLE),
        (None, [], BLOCKED, BLOCKED, PolicySource.GUILD),
    ],
)  # fmt: skip
def test_resolution_order(
    user: Policy | None,
    roles: list[Policy],
    guild: Policy | None,
    expected: Policy,
    source: PolicySource,
) -> None:
    assert resolve_policy(user, roles, guild, GLOBAL) == (expected, source)


def test_policy_flags_and_normalisation() -> None:
    assert BLOCKED.is_blocked and not BLOCKED.is_unlimited and BLOCKED.limit == 0
    assert UNLIMITED.is_unlimited and not UNLIMITED.is_blocked and UNLIMITED.limit is None
    assert Policy(40, Period.UNLIMITED) == UNLIMITED
    assert Policy.from_input(9, " Week ") == Policy(9, Period.WEEK)
    assert Policy.from_input(0, "unlimited") == UNLIMITED
    assert Policy.from_input(0, "day").is_blocked


@pytest.mark.parametrize(
    ("credits", "period", "key"),
    [
        (-1, "day", "quota.error.bad_credits"),
        (1_000_001, "day", "quota.error.bad_credits"),
        (2.5, "day", "quota.error.bad_credits"),
        ("5", "day", "quota.error.bad_credits"),
        (True, "day", "quota.error.bad_credits"),
        (5, "year", "quota.error.bad_period"),
        (5, "", "quota.error.bad_period"),
    ],
)
def test_bad_admin_input_is_refused(credits: object, period: str, key: str) -> None:
    with pytest.raises(QuotaInputError) as caught:
        Policy.from_input(credits, period)
    assert caught.value.key == key
    assert set(caught.value.params) <= _fields(EN[key])


def test_timezone_names() -> None:
    assert parse_timezone("Asia/Shanghai").key == "Asia/Shanghai"
    for bad in ("Mars/Olympus_Mons", "", "../../etc/passwd", "x" * 100):
        with pytest.raises(QuotaInputError) as caught:
            parse_timezone(bad)
        assert caught.value.key == "quota.error.bad_timezone"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (period, zone, now in UTC, expected start in UTC, expected end in UTC)
BOUNDS = [
    (Period.DAY, "UTC", "2024-03-15T13:00", "2024-03-15T00:00", "2024-03-16T00:00"),
    (Period.DAY, "UTC", "2024-03-15T23:59:59", "2024-03-15T00:00", "2024-03-16T00:00"),
    # Shanghai is UTC+8: local midnight is 16:00 UTC the day before.
    (Period.DAY, "Asia/Shanghai", "2024-03-15T15:59:59", "2024-03-14T16:00",
     "2024-03-15T16:00"),
    (Period.DAY, "Asia/Shanghai", "2024-03-15T16:00", "2024-03-15T16:00", "2024-03-16T16:00"),
    # 2024-03-18 is a Monday: the week turns at Monday 00:00 Shanghai = Sunday 16:00 UTC.
    (Period.WEEK, "Asia/Shanghai", "2024-03-17T15:59:59", "2024-03-10T16:00",
     "2024-03-17T16:00"),
    (Period.WEEK, "Asia/Shanghai", "2024-03-17T16:00", "2024-03-17T16:00", "2024-03-24T16:00"),
    (Period.WEEK, "UTC", "2024-03-17T16:00", "2024-03-11T00:00", "2024-03-18T00:00"),
    # Month end, leap February, and the year end.
    (Period.MONTH, "Asia/Shanghai", "2024-02-29T15:59", "2024-01-31T16:00", "2024-02-29T16:00"),
    (Period.MONTH, "Asia/Shanghai", "2024-02-29T16:00", "2024-02-29T16:00", "2024-03-31T16:00"),
    (Period.MONTH, "Asia/Shanghai", "2024-12-31T16:30", "2024-12-31T16:00", "2025-01-31T16:00"),
    (Period.MONTH, "UTC", "2024-12-31T16:30", "2024-12-01T00:00", "2025-01-01T00:00"),
    # New York: spring forward on 2024-03-10 (23 h day), fall back on 2024-11-03 (25 h day).
    (Period.DAY, "America/New_York", "2024-03-10T12:00", "2024-03-10T05:00",
     "2024-03-11T04:00"),
    (Period.DAY, "America/New_York", "2024-11-03T12:00", "2024-11-03T04:00",
     "2024-11-04T05:00"),
    (Period.WEEK, "America/New_York", "2024-03-09T12:00", "2024-03-04T05:00",
     "2024-03-11T04:00"),
    (Period.MONTH, "America/New_York", "2024-11-30T12:00", "2024-11-01T04:00",
     "2024-12-01T05:00"),
    # Santiago skips local midnight (00:00 → 01:00) on 2024-09-08: the day starts at 01:00.
    (Period.DAY, "America/Santiago", "2024-09-08T12:00", "2024-09-08T04:00",
     "2024-09-09T03:00"),
]  # fmt: skip


@pytest.mark.parametrize(("period", "zone", "now", "start", "end"), BOUNDS)
def test_period_bounds(period: Period, zone: str, now: str, start: str, end: str) -> None:
    got_start, got_end = period_bounds(period, _utc(now), ZoneInfo(zone))
    assert got_end is not None
    assert got_start.timestamp() == _utc(start).timestamp()
    assert got_end.timestamp() == _utc(end).timestamp()


@pytest.mark.parametrize("period", [Period.TOTAL, Period.UNLIMITED])
def test_total_and_unlimited_never_reset(period: Period) -> None:
    assert period_bounds(period, _utc("2024-05-05T05:05"), ZoneInfo("Asia/Shanghai")) == (
        EPOCH,
        None,
    )


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Shanghai", "Australia/Lord_Howe"])
@pytest.mark.parametrize("period", [Period.DAY, Period.WEEK, Period.MONTH])
def test_periods_tile_the_year_without_gaps(zone: str, period: Period) -> None:
    """Walking a year in 5-hour steps: now is inside its period, periods chain exactly."""
    tz = ZoneInfo(zone)
    now = _utc("2024-01-01T00:00")
    previous: tuple[datetime, datetime | None] | None = None
    while now < _utc("2025-01-01T00:00"):
        start, end = period_bounds(period, now, tz)
        assert end is not None
        assert start.timestamp() <= now.timestamp() < end.timestamp()
        local_start = start.astimezone(tz)
        assert (local_start.hour, local_start.minute) == (0, 0)
        if period is Period.WEEK:
            assert local_start.weekday() == 0
        if period is Period.MONTH:
            assert local_start.day == 1
        if previous is not None and previous[0] != start:
            assert previous[1] is not None
            assert previous[1].timestamp() == start.timestamp()
        previous = (start, end)
        now += timedelta(hours=5)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        period_bounds(Period.DAY, datetime(2024, 1, 1), ZoneInfo("UTC"))


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_messages_have_both_languages_and_the_same_placeholders() -> None:
    quota_keys = [key for key in EN if key.startswith("quota.")]
    assert quota_keys
    for key in quota_keys:
        assert _fields(EN[key]) == _fields(ZH[key]), key
    for period in Period:
        assert f"quota.period.{period.value}" in EN
    for source in PolicySource:
        assert f"quota.source.{source.value}" in EN
    assert "<t:{resets_at}:R>" in EN["quota.exceeded"]
