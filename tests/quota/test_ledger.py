"""The credit ledger and QuotaService on a real SQLite file (WAL, all migrations)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bot.guilds.settings import GuildSettingsService
from bot.jobs.models import DiscordTarget, JobParams, JobState
from bot.jobs.repository import JobRepository
from bot.quota import ledger_reads
from bot.quota.export import CSV_HEADER
from bot.quota.ledger import Settlement
from bot.quota.ledger_reads import EntryKind
from bot.quota.policy import Period, Policy, PolicySource, QuotaInputError
from bot.quota.service import QuotaService
from bot.quota.types import QuotaBlockedError, QuotaExceededError
from bot.storage import (
    Database,
    DatabaseInUseError,
    IntegrityError,
    migrate,
    open_database,
)
from bot.storage import Transaction as Connection

GUILD = 1000
OTHER_GUILD = 2000
USER = 11
ADMIN = 99
OWNER = 7
DEFAULT = Policy(25, Period.DAY)


class Clock:
    def __init__(self, when: str) -> None:
        self.now = _ts(when)

    def __call__(self) -> float:
        return self.now

    def set(self, when: str) -> None:
        self.now = _ts(when)


def _ts(when: str) -> float:
    return datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()


def make_service(db: Database, clock: Clock, default: Policy = DEFAULT) -> QuotaService:
    return QuotaService(db, global_default=default, owner_ids=frozenset({OWNER}), clock=clock)


async def make_jobs(db: Database, count: int, *, user_id: int = USER, n: int = 1) -> list[int]:
    repo = JobRepository(db)
    target = DiscordTarget(
        guild_id=GUILD, channel_id=5, user_id=user_id, locale="en-US", application_id=None,
        interaction_id=None, interaction_token=None, interaction_created_at=None,
        upload_limit=8_000_000,
    )  # fmt: skip
    params = JobParams(model="m", prompt="a cat", n=n)
    return [(await repo.create(target, params)).id for _ in range(count)]


async def reserve(
    db: Database,
    service: QuotaService,
    job_id: int,
    *,
    n: int = 1,
    cost: int = 1,
    user_id: int = USER,
    guild_id: int = GUILD,
    roles: tuple[int, ...] = (),
) -> None:
    await db.write(
        lambda conn: service.check_and_reserve(
            conn, guild_id=guild_id, user_id=user_id, role_ids=roles, job_id=job_id,
            model_cost=cost, n=n,
        )
    )  # fmt: skip


async def count_rows(db: Database, table: str) -> int:
    queries = {
        "quota_ledger": "SELECT COUNT(*) FROM quota_ledger",
        "quota_audit": "SELECT COUNT(*) FROM quota_audit",
        "quota_policies": "SELECT COUNT(*) FROM quota_policies",
        "guild_settings": "SELECT COUNT(*) FROM guild_settings",
    }
    row = await db.fetchone(queries[table])
    assert row is not None
    return int(row[0])


async def test_fifty_concurrent_reserves_with_five_left_accept_exactly_five(db: Database) -> None:
    clock = Clock("2024-03-15T10:00")
    service = make_service(db, clock, Policy(10, Period.DAY))
    [spent] = await make_jobs(db, 1, n=5)
    await reserve(db, service, spent, n=5)
    await db.write(lambda conn: service.commit(conn, spent, 5))
    assert (await service.status(GUILD, USER, ())).left == 5
    jobs = await make_jobs(db, 50)

    async def attempt(job_id: int) -> int:
        reservation = await db.write(
            lambda conn: service.check_and_reserve(
                conn, guild_id=GUILD, user_id=USER, role_ids=(), job_id=job_id,
                model_cost=1, n=1,
            )
        )  # fmt: skip
        return reservation.job_id

    results = await asyncio.gather(*(attempt(j) for j in jobs), return_exceptions=True)
    accepted = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, QuotaExceededError)]
    assert len(accepted) == 5 and len(refused) == 45, results
    for error in refused:
        assert error.key == "quota.exceeded"
        assert error.params == {"left": 0, "needed": 1, "resets_at": int(_ts("2024-03-16T00:00"))}
    status = await service.status(GUILD, USER, ())
    assert (status.used, status.left, status.held) == (10, 0, 5)
    assert sorted(status.held_jobs) == sorted(accepted)
    assert await count_rows(db, "quota_ledger") == 1 + 1 + 5  # spent reserve+commit, 5 holds


async def test_two_processes_on_one_database_cannot_overspend(
    database_url: str, engine: str
) -> None:
    """Like two bot processes sharing PostgreSQL: the reservation's lock holds the line.
    SQLite serves one process: a second one on the same file is refused at open."""
    first = await open_database(database_url)
    await migrate(first)
    if engine == "sqlite":
        with pytest.raises(DatabaseInUseError, match="another bot process"):
            await open_database(database_url)
        await first.close()
        return
    second = await open_database(database_url)
    try:
        clock = Clock("2024-03-15T10:00")
        services = [make_service(d, clock, Policy(7, Period.DAY)) for d in (first, second)]
        jobs = await make_jobs(first, 40)

        async def attempt(index: int, job_id: int) -> bool:
            database, service = (first, services[0]) if index % 2 else (second, services[1])
            try:
                await reserve(database, service, job_id)
            except QuotaExceededError:
                return False
            return True

        results = await asyncio.gather(*(attempt(i, j) for i, j in enumerate(jobs)))
        assert results.count(True) == 7
        assert (await services[0].status(GUILD, USER, ())).used == 7
    finally:
        await second.close()
        await first.close()


async def test_commit_for_fewer_images_releases_the_rest(db: Database) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"), Policy(20, Period.DAY))
    [job] = await make_jobs(db, 1, n=4)
    await reserve(db, service, job, n=4, cost=3)
    assert (await service.status(GUILD, USER, ())).used == 12
    settlement = await db.write(lambda conn: service.commit(conn, job, 1))
    assert settlement is not None
    assert (settlement.kind, settlement.reserved, settlement.charged, settlement.released) == (
        EntryKind.COMMIT, 12, 3, 9,
    )  # fmt: skip
    status = await service.status(GUILD, USER, ())
    assert (status.used, status.held, status.left) == (3, 0, 17)


async def test_refund_releases_everything_and_settling_twice_changes_nothing(
    db: Database,
) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"), Policy(20, Period.DAY))
    failed, done, never = await make_jobs(db, 3, n=2)
    await reserve(db, service, failed, n=2, cost=2)
    await reserve(db, service, done, n=2, cost=2)

    async def settle_both(conn: Connection) -> None:
        first = await service.refund(conn, failed)
        assert first is not None and not first.repeated and first.released == 4
        committed = await service.commit(conn, done, 2)
        assert committed is not None and committed.charged == 4

    await db.write(settle_both)
    rows_before = await count_rows(db, "quota_ledger")

    async def settle_again(conn: Connection) -> tuple[Settlement | None, ...]:
        return (
            await service.refund(conn, failed),
            await service.commit(conn, failed, 2),
            await service.refund(conn, done),
            await service.commit(conn, never, 1),
        )

    again, late_commit, refund_after_commit, nothing = await db.write(settle_again)
    assert again is not None and again.repeated and again.kind is EntryKind.REFUND
    assert late_commit is not None and late_commit.repeated and late_commit.charged == 0
    assert refund_after_commit is not None and refund_after_commit.kind is EntryKind.COMMIT
    assert refund_after_commit.charged == 4
    assert nothing is None
    assert await count_rows(db, "quota_ledger") == rows_before
    assert (await service.status(GUILD, USER, ())).used == 4


async def test_the_ledger_is_append_only(db: Database) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"))
    [job] = await make_jobs(db, 1)
    await reserve(db, service, job)
    with pytest.raises(IntegrityError, match="append-only"):
        await db.write(lambda conn: conn.execute("UPDATE quota_ledger SET amount = 0"))
    with pytest.raises(IntegrityError, match="append-only"):
        await db.write(lambda conn: conn.execute("DELETE FROM quota_ledger"))
    with pytest.raises(IntegrityError):  # one reservation per job
        await reserve(db, service, job)
    await db.write(lambda conn: service.commit(conn, job, 1))
    with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"):  # one settlement per job
        await db.write(
            lambda conn: conn.execute(
                "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, amount, counts_at,"
                " created_at) VALUES (?, ?, ?, 'refund', -1, 0, 0)",
                (GUILD, USER, job),
            )
        )


async def test_restart_between_reserve_and_commit_counts_once(database_url: str) -> None:
    clock = Clock("2024-03-15T10:00")
    first = await open_database(database_url)
    await migrate(first)
    service = make_service(first, clock, Policy(10, Period.DAY))
    [job] = await make_jobs(first, 1, n=3)
    await reserve(first, service, job, n=3)
    await first.close()

    clock.set("2024-03-15T10:05")
    second = await open_database(database_url)
    service = make_service(second, clock, Policy(10, Period.DAY))
    held = await service.status(GUILD, USER, ())
    assert (held.used, held.held, held.held_jobs) == (3, 3, (job,))
    await second.write(lambda conn: service.commit(conn, job, 3))
    assert (await second.write(lambda conn: service.commit(conn, job, 3))) is not None  # repeated
    await second.close()

    third = await open_database(database_url)
    try:
        service = make_service(third, clock, Policy(10, Period.DAY))
        status = await service.status(GUILD, USER, ())
        assert (status.used, status.held, status.left) == (3, 0, 7)
        kinds = [
            e.kind for e in await third.read(lambda conn: ledger_reads.export_rows(conn, GUILD))
        ]
        assert kinds == [EntryKind.RESERVE, EntryKind.COMMIT]
    finally:
        await third.close()


async def test_a_crash_before_the_transaction_commits_reserves_nothing(db: Database) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"), Policy(10, Period.DAY))
    [job] = await make_jobs(db, 1, n=2)

    async def crash(conn: Connection) -> None:
        await service.check_and_reserve(
            conn, guild_id=GUILD, user_id=USER, role_ids=(), job_id=job, model_cost=1, n=2
        )
        raise RuntimeError("crash before COMMIT")

    with pytest.raises(RuntimeError):
        await db.write(crash)
    assert await count_rows(db, "quota_ledger") == 0
    await reserve(db, service, job, n=2)  # the job can still be reserved exactly once
    assert (await service.status(GUILD, USER, ())).used == 2


async def test_reservations_of_jobs_that_ended_before_a_crash_are_settled_at_start(
    db: Database,
) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"), Policy(20, Period.DAY))
    repo = JobRepository(db)
    failed, succeeded, running = await make_jobs(db, 3, n=2)
    for job in (failed, succeeded, running):
        await reserve(db, service, job, n=2, cost=2)
    await repo.transition(failed, JobState.FAILED)
    await repo.transition(succeeded, JobState.SUCCEEDED, images_delivered=1)
    await repo.transition(running, JobState.RUNNING)

    settled = {s.job_id: s for s in await service.settle_finished_jobs()}
    assert set(settled) == {failed, succeeded}
    assert settled[failed].kind is EntryKind.REFUND and settled[failed].released == 4
    assert settled[succeeded].kind is EntryKind.COMMIT and settled[succeeded].charged == 2
    assert await service.settle_finished_jobs() == []
    status = await service.status(GUILD, USER, ())
    assert (status.used, status.held, status.held_jobs) == (2 + 4, 4, (running,))


async def test_period_rolls_over_at_local_midnight_in_shanghai(db: Database) -> None:
    clock = Clock("2024-03-15T15:59")  # 23:59 in Shanghai
    service = make_service(db, clock, Policy(3, Period.DAY))
    assert await GuildSettingsService(db).set_timezone(
        GUILD, actor_id=ADMIN, timezone="Asia/Shanghai"
    ) == ("Asia/Shanghai")
    late, extra, tomorrow = await make_jobs(db, 3, n=3)
    await reserve(db, service, late, n=3)
    with pytest.raises(QuotaExceededError) as caught:
        await reserve(db, service, extra, n=1)
    assert caught.value.params["resets_at"] == int(_ts("2024-03-15T16:00"))

    clock.set("2024-03-15T16:01")  # 00:01 the next day in Shanghai
    # 1 of 3 delivered: the charge and the release both belong to the day of the reserve.
    await db.write(lambda conn: service.commit(conn, late, 1))
    status = await service.status(GUILD, USER, ())
    assert (status.used, status.left, status.period_start) == (0, 3, _ts("2024-03-15T16:00"))
    previous_day = await db.read(
        lambda conn: ledger_reads.usage(
            conn, GUILD, USER, since=_ts("2024-03-14T16:00"), until=_ts("2024-03-15T16:00")
        )
    )
    assert (previous_day.used, previous_day.held) == (1, 0)
    assert status.resets_at == _ts("2024-03-16T16:00")
    await reserve(db, service, tomorrow, n=3)
    # The same instants in a UTC server are still one day: the timezone decides.
    utc_status = await make_service(db, clock, Policy(3, Period.DAY)).status(OTHER_GUILD, USER, ())
    assert utc_status.period_start == _ts("2024-03-15T00:00")


async def test_day_with_a_dst_switch_in_new_york(db: Database) -> None:
    clock = Clock("2024-03-10T04:59")  # 23:59 EST on 9 March
    service = make_service(db, clock, Policy(1, Period.DAY))
    await GuildSettingsService(db).set_timezone(GUILD, actor_id=ADMIN, timezone="America/New_York")
    first, second = await make_jobs(db, 2)
    await reserve(db, service, first)
    clock.set("2024-03-10T05:00")  # midnight EST; this day has 23 hours
    await reserve(db, service, second)
    status = await service.status(GUILD, USER, ())
    assert status.resets_at == _ts("2024-03-11T04:00")  # midnight EDT


async def test_policy_resolution_order_through_the_service(db: Database) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"), Policy(25, Period.DAY))
    role_a, role_b = 501, 502

    async def effective(roles: tuple[int, ...]) -> tuple[Policy, PolicySource]:
        status = await service.status(GUILD, USER, roles)
        return status.policy, status.source

    assert await effective((role_a, role_b)) == (Policy(25, Period.DAY), PolicySource.GLOBAL)
    await service.set_default_policy(GUILD, actor_id=ADMIN, credits=7, period="week")
    assert await effective((role_a,)) == (Policy(7, Period.WEEK), PolicySource.GUILD)
    await service.set_role_policy(GUILD, actor_id=ADMIN, role_id=role_a, credits=3, period="day")
    await service.set_role_policy(GUILD, actor_id=ADMIN, role_id=role_b, credits=10, period="day")
    assert await effective((role_a,)) == (Policy(3, Period.DAY), PolicySource.ROLE)
    assert await effective((role_a, role_b)) == (Policy(10, Period.DAY), PolicySource.ROLE)
    change = await service.set_user_policy(
        GUILD, actor_id=ADMIN, user_id=USER, credits=2, period="month"
    )
    assert (change.effective, change.source) == (Policy(2, Period.MONTH), PolicySource.USER)
    assert await effective((role_a, role_b)) == (Policy(2, Period.MONTH), PolicySource.USER)
    # Another server's settings never leak in.
    other = await service.status(OTHER_GUILD, USER, (role_a, role_b))
    assert other.source is PolicySource.GLOBAL
    cleared = await service.clear_user_policy(
        GUILD, actor_id=ADMIN, user_id=USER, role_ids=(role_a, role_b)
    )
    assert (cleared.before, cleared.after) == (Policy(2, Period.MONTH), None)
    assert (cleared.effective, cleared.source) == (Policy(10, Period.DAY), PolicySource.ROLE)
    await service.clear_default_policy(GUILD, actor_id=ADMIN)
    assert await effective(()) == (Policy(25, Period.DAY), PolicySource.GLOBAL)


async def test_blocked_unlimited_and_owner(db: Database) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"), Policy(0, Period.DAY))
    jobs = await make_jobs(db, 4, n=2)
    with pytest.raises(QuotaBlockedError) as blocked:
        await reserve(db, service, jobs[0], n=2)
    assert blocked.value.key == "quota.blocked"
    # A grant lifts a block for the granted credits only.
    await service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=2)
    await reserve(db, service, jobs[0], n=2)
    with pytest.raises(QuotaExceededError):
        await reserve(db, service, jobs[1], n=1)
    # Unlimited: never refused, still recorded at its real cost.
    await service.set_user_policy(
        GUILD, actor_id=ADMIN, user_id=USER, credits=0, period="unlimited"
    )
    await reserve(db, service, jobs[1], n=2, cost=500_000)
    status = await service.status(GUILD, USER, ())
    assert (status.limit, status.left, status.used) == (None, None, 1_000_002)
    # Owners bypass even a block, with a marked reservation.
    [owner_job] = await make_jobs(db, 1, user_id=OWNER)
    await reserve(db, service, owner_job, user_id=OWNER, n=1, cost=3)
    owner = await service.status(GUILD, OWNER, ())
    assert (owner.source, owner.policy.is_unlimited, owner.used) == (PolicySource.OWNER, True, 3)
    [entry] = await db.read(lambda conn: ledger_reads.recent_entries(conn, GUILD, OWNER))
    assert (entry.kind, entry.amount, entry.note) == (EntryKind.RESERVE, 3, "owner")


async def test_a_total_allowance_never_resets(db: Database) -> None:
    clock = Clock("2024-03-15T10:00")
    service = make_service(db, clock, Policy(2, Period.TOTAL))
    first, second = await make_jobs(db, 2, n=2)
    await reserve(db, service, first, n=2)
    clock.set("2025-06-01T10:00")
    with pytest.raises(QuotaExceededError) as caught:
        await reserve(db, service, second, n=1)
    assert caught.value.key == "quota.exceeded_total" and caught.value.resets_at is None


async def test_grant_and_reset(db: Database) -> None:
    clock = Clock("2024-03-15T10:00")
    service = make_service(db, clock, Policy(2, Period.DAY))
    done, in_flight, later = await make_jobs(db, 3, n=2)
    await reserve(db, service, done, n=2)
    await db.write(lambda conn: service.commit(conn, done, 2))
    granted = await service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=3)
    assert (granted.credits, granted.status.left, granted.status.granted) == (3, 3, 3)
    await reserve(db, service, in_flight, n=1)

    reset = await service.reset_user(GUILD, actor_id=ADMIN, user_id=USER)
    # Settled usage (2) is cancelled; the in-flight job keeps holding its 1 credit.
    assert (reset.credits, reset.status.used, reset.status.left) == (2, 1, 4)
    await db.write(lambda conn: service.refund(conn, in_flight))
    assert (await service.status(GUILD, USER, ())).left == 5

    clock.set("2024-03-16T10:00")  # the grant lapses with its period
    status = await service.status(GUILD, USER, ())
    assert (status.used, status.granted, status.left) == (0, 0, 2)
    await reserve(db, service, later, n=2)


async def test_admin_changes_are_audited_with_before_and_after(db: Database) -> None:
    clock = Clock("2024-03-15T10:00")
    service = make_service(db, clock, Policy(25, Period.DAY))
    await service.set_user_policy(GUILD, actor_id=ADMIN, user_id=USER, credits=5, period="day")
    await service.set_user_policy(GUILD, actor_id=ADMIN, user_id=USER, credits=9, period="week")
    await service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=4)
    await GuildSettingsService(db, clock).set_timezone(
        GUILD, actor_id=ADMIN, timezone="Asia/Shanghai"
    )
    log = await service.audit_log(GUILD)
    assert [(e.action, e.target, e.actor_id) for e in log] == [
        ("set-timezone", f"guild:{GUILD}", ADMIN),
        ("grant", f"user:{USER}", ADMIN),
        ("set-user", f"user:{USER}", ADMIN),
        ("set-user", f"user:{USER}", ADMIN),
    ]
    tz, grant, second, first = log
    assert (first.before, first.after) == (None, {"credits": 5, "period": "day"})
    assert (second.before, second.after) == (
        {"credits": 5, "period": "day"},
        {"credits": 9, "period": "week"},
    )
    assert (grant.before["left"], grant.after["left"], grant.after["granted"]) == (9, 13, 4)
    assert (tz.before, tz.after) == ({"timezone": "UTC"}, {"timezone": "Asia/Shanghai"})
    assert all(e.created_at == _ts("2024-03-15T10:00") for e in log)


async def test_bad_admin_input_changes_nothing(db: Database) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"))
    guilds = GuildSettingsService(db)
    attempts: list[Callable[[], Awaitable[object]]] = [
        lambda: service.set_user_policy(GUILD, actor_id=ADMIN, user_id=USER, credits=-1,
                                        period="day"),
        lambda: service.set_user_policy(GUILD, actor_id=ADMIN, user_id=USER, credits=10**9,
                                        period="day"),
        lambda: service.set_user_policy(GUILD, actor_id=ADMIN, user_id=USER, credits=5,
                                        period="fortnight"),
        lambda: service.set_role_policy(GUILD, actor_id=ADMIN, role_id=1, credits=2.5,
                                        period="day"),
        lambda: service.set_default_policy(GUILD, actor_id=ADMIN, credits="5", period="day"),
        lambda: service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=0),
        lambda: service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=-3),
        lambda: service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=1_000_001),
        lambda: guilds.set_timezone(GUILD, actor_id=ADMIN, timezone="Mars/Olympus_Mons"),
        lambda: guilds.set_timezone(GUILD, actor_id=ADMIN, timezone=""),
    ]  # fmt: skip
    for attempt in attempts:
        with pytest.raises(QuotaInputError):
            await attempt()
    for table in ("quota_ledger", "quota_audit", "quota_policies", "guild_settings"):
        assert await count_rows(db, table) == 0, table


async def test_csv_export_matches_status(db: Database) -> None:
    clock = Clock("2024-03-14T12:00")
    service = make_service(db, clock, Policy(10, Period.DAY))
    yesterday, partial, refunded, held = await make_jobs(db, 4, n=3)
    await reserve(db, service, yesterday, n=3)
    await db.write(lambda conn: service.commit(conn, yesterday, 3))
    clock.set("2024-03-15T12:00")
    for job in (partial, refunded, held):
        await reserve(db, service, job, n=3)

    async def settle(conn: Connection) -> None:
        await service.commit(conn, partial, 2)
        await service.refund(conn, refunded)

    await db.write(settle)
    await service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=4)

    rows = list(csv.DictReader(io.StringIO((await service.export_csv(GUILD)).decode("utf-8"))))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 2 + 3 + 2 + 1
    status = await service.status(GUILD, USER, ())
    today = [r for r in rows if datetime.fromisoformat(r["counts_at"]).timestamp()
             >= status.period_start]  # fmt: skip
    used = sum(int(r["amount"]) for r in today if r["kind"] != "grant")
    granted = sum(int(r["amount"]) for r in today if r["kind"] == "grant")
    assert (used, granted) == (status.used, status.granted) == (2 + 3, 4)
    assert status.left == 10 + 4 - 5
    assert {r["kind"] for r in rows} == {"reserve", "commit", "refund", "grant"}
    assert next(r for r in rows if r["kind"] == "grant")["actor_id"] == f"#{ADMIN}"


async def test_show_user_and_report(db: Database) -> None:
    service = make_service(db, Clock("2024-03-15T12:00"), Policy(10, Period.DAY))
    await service.set_user_policy(GUILD, actor_id=ADMIN, user_id=USER, credits=8, period="day")
    for user_id, images in ((USER, 2), (12, 5), (13, 1)):
        [job] = await make_jobs(db, 1, user_id=user_id, n=images)
        await reserve(db, service, job, user_id=user_id, n=images)
    report = await service.report(GUILD, top=2)
    assert (report.period, report.since, report.top) == (
        Period.DAY, _ts("2024-03-15T00:00"), [(12, 5), (USER, 2)],
    )  # fmt: skip
    shown = await service.show_user(GUILD, USER)
    assert shown.override == Policy(8, Period.DAY)
    assert (shown.status.used, shown.status.left) == (2, 6)
    assert [e.kind for e in shown.entries] == [EntryKind.RESERVE]
