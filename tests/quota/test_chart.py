"""The /quotas report chart: a real PNG whose bars are the ledger's sums."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from bot.quota.chart import (
    BACKGROUND,
    BAR,
    CJK_FONTS,
    DAY_BAR,
    DAYS,
    MEMBERS,
    UsageChart,
    render_usage_chart,
)  # fmt: skip
from bot.quota.policy import Period, Policy
from bot.quota.reading import REPORT_DAYS
from bot.storage import Database
from bot.storage import Transaction as Connection
from tests.quota.test_ledger import ADMIN, GUILD, USER, Clock, make_jobs, make_service, reserve


async def _ledger_sums(db: Database, since: float) -> tuple[dict[int, int], dict[str, int]]:
    """Used credits per user since `since`, and per UTC day overall: straight from the table."""
    rows = await db.fetchall(
        "SELECT user_id, amount, counts_at FROM quota_ledger"
        " WHERE guild_id = ? AND kind != 'grant'",
        (GUILD,),
    )
    per_user: dict[int, int] = defaultdict(int)
    per_day: dict[str, int] = defaultdict(int)
    for row in rows:
        user_id, amount, counts_at = int(row[0]), int(row[1]), float(row[2])
        if counts_at >= since:
            per_user[user_id] += amount
        per_day[datetime.fromtimestamp(counts_at, UTC).date().isoformat()] += amount
    return {u: v for u, v in per_user.items() if v}, dict(per_day)


def _assert_bars_are_drawn(chart: UsageChart) -> None:
    opened = Image.open(io.BytesIO(chart.png))
    assert opened.format == "PNG"
    image = opened.convert("RGB")
    for values, boxes, colour, panel in (
        ([v for _, v in chart.members], chart.member_boxes, BAR, MEMBERS),
        ([v for _, v in chart.days], chart.day_boxes, DAY_BAR, DAYS),
    ):
        highest = max(values)
        full = panel.bottom - panel.top  # the largest value fills the panel
        for value, box in zip(values, boxes, strict=True):
            if value == 0:
                assert box is None
                continue
            assert box is not None
            left, top, right, bottom = box
            x = (left + right) // 2
            # Measure the bar on the picture: coloured from top to bottom, white above it.
            column = [image.getpixel((x, y)) for y in range(top - 3, bottom + 1)]
            assert column[3:] == [colour] * (bottom - top + 1)
            assert column[0] == BACKGROUND or column[0] != colour
            assert abs((bottom - top + 1) - full * value / highest) <= 1


async def test_the_chart_plots_the_ledger(db: Database) -> None:
    clock = Clock("2024-03-01T09:00")
    service = make_service(db, clock, Policy(100, Period.DAY))
    plan = [  # (day, user, images reserved, images committed or None for a refund)
        ("2024-02-10T10:00", USER, 3, 3),  # outside the 30 days
        ("2024-03-01T09:00", USER, 4, 4),
        ("2024-03-01T10:00", 12, 2, None),
        ("2024-03-10T08:00", 12, 5, 2),
        ("2024-03-14T23:30", USER, 1, 1),
        ("2024-03-15T10:00", USER, 2, 2),
        ("2024-03-15T11:00", 12, 6, 6),
        ("2024-03-15T11:30", 13, 1, 1),
    ]
    for when, user_id, images, committed in plan:
        clock.set(when)
        [job] = await make_jobs(db, 1, user_id=user_id, n=images)
        await reserve(db, service, job, user_id=user_id, n=images)

        async def settle(
            conn: Connection, job: int = job, committed: int | None = committed
        ) -> None:
            if committed is None:
                await service.refund(conn, job)
            else:
                await service.commit(conn, job, committed)

        await db.write(settle)
    clock.set("2024-03-15T12:00")
    await service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=4)  # not a use
    report = await service.report(GUILD)
    chart = render_usage_chart(report, "en-US")

    per_user, per_day = await _ledger_sums(db, report.since)
    assert chart.members == sorted(per_user.items(), key=lambda kv: (-kv[1], kv[0]))
    assert chart.members == [(12, 6), (USER, 2), (13, 1)]
    assert len(chart.days) == REPORT_DAYS
    assert chart.days[0][0] == "2024-02-15" and chart.days[-1][0] == "2024-03-15"
    assert dict(chart.days) == {day: per_day.get(day, 0) for day, _ in chart.days}
    assert dict(chart.days)["2024-03-01"] == 4  # the refunded job counts nothing
    assert dict(chart.days)["2024-03-10"] == 2  # only what was delivered
    assert chart.titles_drawn
    _assert_bars_are_drawn(chart)


async def test_chinese_labels_fall_back_to_numbers_without_a_cjk_font(db: Database) -> None:
    clock = Clock("2024-03-15T10:00")
    service = make_service(db, clock, Policy(100, Period.DAY))
    [job] = await make_jobs(db, 1, n=2)
    await reserve(db, service, job, n=2)
    chart = render_usage_chart(await service.report(GUILD), "zh-CN")
    assert chart.titles_drawn == any(Path(p).exists() for p in CJK_FONTS)
    assert chart.members == [(USER, 2)]
    _assert_bars_are_drawn(chart)
