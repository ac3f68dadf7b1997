"""/quotas export's CSV: ids as text, names, formula-safe, gzip and split (issue 13)."""

from __future__ import annotations

import csv
import gzip
import io
import random

from bot.quota import Period, Policy
from bot.quota.export import CSV_HEADER, ledger_csv, pack_export
from bot.quota.ledger_reads import EntryKind, LedgerEntry
from bot.storage import Database
from tests.quota.test_ledger import ADMIN, GUILD, USER, Clock, make_service

BIG_ID = 1234567890123456789


def entry(i: int, *, user_id: int = BIG_ID, note: str | None = None) -> LedgerEntry:
    return LedgerEntry(
        id=i, guild_id=987654321098765432, user_id=user_id, job_id=i, kind=EntryKind.RESERVE,
        amount=1, images=1, counts_at=1_700_000_000.0 + i, created_at=1_700_000_000.0 + i,
        actor_id=None if i % 2 else 111111111111111111, note=note,
    )  # fmt: skip


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_ids_are_text_that_keeps_all_19_digits_and_names_are_added() -> None:
    names = {BIG_ID: "Ada", 111111111111111111: "=HYPERLINK(evil)"}
    data = ledger_csv([entry(1), entry(2)], names=names.get)
    [first, second] = rows(data)
    assert tuple(first) == CSV_HEADER
    assert first["user_id"] == f"#{BIG_ID}" and first["guild_id"] == "#987654321098765432"
    assert first["user_name"] == "Ada" and first["actor_id"] == ""
    assert second["actor_id"] == "#111111111111111111"
    assert second["actor_name"] == "'=HYPERLINK(evil)"  # no formula in a spreadsheet


def test_small_export_is_one_plain_csv() -> None:
    [only] = pack_export([entry(1)], limit=10_000)
    assert only.filename == "ledger.csv" and rows(only.data)[0]["id"] == "1"


def test_over_the_limit_it_is_gzipped_then_split() -> None:
    rng = random.Random(3)
    entries = [entry(i, note="".join(rng.choices("abcdefgh", k=60))) for i in range(3000)]
    plain = ledger_csv(entries)
    [gz] = pack_export(entries, limit=len(plain) - 1)
    assert gz.filename == "ledger.csv.gz" and gzip.decompress(gz.data) == plain
    limit = len(gz.data) // 3
    parts = pack_export(entries, limit=limit)
    assert len(parts) >= 3 and all(len(p.data) <= limit for p in parts)
    assert parts[0].filename.startswith("ledger-part") and parts[0].filename.endswith(".csv.gz")
    back = [r for p in parts for r in rows(gzip.decompress(p.data))]
    assert [int(r["id"]) for r in back] == list(range(3000))


async def test_export_one_period(db: Database) -> None:
    clock = Clock("2024-03-14T12:00")
    service = make_service(db, clock, Policy(10, Period.DAY))
    await service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=1)  # yesterday
    clock.set("2024-03-15T12:00")
    await service.grant(GUILD, actor_id=ADMIN, user_id=USER, credits=2)  # today
    everything = await service.export_entries(GUILD)
    today = await service.export_entries(GUILD, "day")
    this_month = await service.export_entries(GUILD, "month")
    assert [e.amount for e in everything] == [1, 2] == [e.amount for e in this_month]
    assert [e.amount for e in today] == [2]
