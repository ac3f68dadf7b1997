"""What a refusal tells: the credits left, counted like the reservation's own check."""

from __future__ import annotations

import pytest

from bot.quota.policy import Period, Policy
from bot.quota.types import QuotaExceededError
from bot.storage import Database
from tests.quota.test_ledger import ADMIN, GUILD, USER, Clock, make_jobs, make_service, reserve


async def test_a_refusal_counts_charges_holds_releases_and_grants(db: Database) -> None:
    service = make_service(db, Clock("2024-03-15T10:00"), Policy(5, Period.DAY))
    done, refunded, held, big = await make_jobs(db, 4, n=6)
    await reserve(db, service, done, n=2)
    await db.write(lambda conn: service.commit(conn, done, 1))  # charged 1, 1 released
    await reserve(db, service, refunded, n=3)
    await db.write(lambda conn: service.refund(conn, refunded))  # all 3 back
    await reserve(db, service, held, n=2)  # in flight: holds 2
    await service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=3)
    status = await service.status(GUILD, USER, ())
    assert (status.used, status.held, status.granted, status.left) == (3, 2, 3, 5)
    with pytest.raises(QuotaExceededError) as caught:
        await reserve(db, service, big, n=6)
    assert (caught.value.left, caught.value.needed) == (5, 6)
    await reserve(db, service, big, n=5)  # exactly what is left fits
    assert (await service.status(GUILD, USER, ())).left == 0


async def test_a_refusal_over_a_spent_limit_leaves_zero(db: Database) -> None:
    clock = Clock("2024-03-15T10:00")
    service = make_service(db, clock, Policy(2, Period.DAY))
    first, second = await make_jobs(db, 2, n=3)
    await reserve(db, service, first, n=2)
    await service.set_default_policy(GUILD, actor_id=ADMIN, credits=1, period="day")
    with pytest.raises(QuotaExceededError) as caught:  # 2 used of a limit now 1
        await reserve(db, service, second, n=1)
    assert (caught.value.left, caught.value.needed) == (0, 1)
