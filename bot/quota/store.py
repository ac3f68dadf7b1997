"""SQL for stored quota policies, the server's time zone (read from guild_settings) and audit.

Like `bot.quota.ledger`, every function runs inside the caller's transaction, so an admin
change and its audit row commit together or not at all. Nothing here commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.quota.ledger_reads import _rows
from bot.quota.policy import Period, Policy, PolicyScope
from bot.storage import Row, Transaction

DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class StoredPolicies:
    """The stored policies that may apply to one member, and the server's time zone."""

    user: Policy | None
    roles: list[Policy]
    guild: Policy | None
    timezone: str  # IANA name, UTC when never set


@dataclass(frozen=True)
class AuditEntry:
    id: int
    guild_id: int
    actor_id: int
    action: str
    target: str
    before: Any
    after: Any
    created_at: float


# --- policies and settings ----------------------------------------------------------------


def _policy(row: Row) -> Policy:
    return Policy(int(row["credits"]), Period(row["period"]))


async def policies_for(
    conn: Transaction, guild_id: int, user_id: int, role_ids: Iterable[int]
) -> StoredPolicies:
    """The user's override, the given roles' policies, the server default and time zone."""
    roles = list(role_ids)
    # One placeholder per role (a member has at most a few hundred); none: no role matches.
    in_roles = ", ".join("?" for _ in roles) or "NULL"
    rows = await _rows(
        conn,
        "SELECT scope, credits, period, NULL AS timezone FROM quota_policies"  # noqa: S608
        " WHERE guild_id = ? AND (scope = 'guild' OR (scope = 'user' AND target_id = ?)"
        f" OR (scope = 'role' AND target_id IN ({in_roles})))"
        " UNION ALL SELECT 'settings', NULL, NULL, timezone FROM guild_settings"
        " WHERE guild_id = ?",
        (guild_id, user_id, *roles, guild_id),
    )
    by_scope: dict[str, list[Policy]] = {"user": [], "role": [], "guild": []}
    timezone = DEFAULT_TIMEZONE
    for row in rows:
        if row["scope"] == "settings":
            timezone = str(row["timezone"])
        else:
            by_scope[row["scope"]].append(_policy(row))
    return StoredPolicies(
        user=next(iter(by_scope["user"]), None),
        roles=by_scope["role"],
        guild=next(iter(by_scope["guild"]), None),
        timezone=timezone,
    )


async def get_policy(
    conn: Transaction, guild_id: int, scope: PolicyScope, target_id: int
) -> Policy | None:
    rows = await _rows(
        conn,
        "SELECT credits, period FROM quota_policies"
        " WHERE guild_id = ? AND scope = ? AND target_id = ?",
        (guild_id, scope.value, target_id),
    )
    return _policy(rows[0]) if rows else None


async def put_policy(
    conn: Transaction,
    guild_id: int,
    scope: PolicyScope,
    target_id: int,
    policy: Policy,
    *,
    actor_id: int,
    now: float,
) -> None:
    await _rows(
        conn,
        "INSERT INTO quota_policies (guild_id, scope, target_id, credits, period, updated_at,"
        " updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (guild_id, scope, target_id) DO UPDATE SET credits = excluded.credits,"
        " period = excluded.period, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by",
        (guild_id, scope.value, target_id, policy.credits, policy.period.value, now, actor_id),
    )


async def delete_policy(
    conn: Transaction, guild_id: int, scope: PolicyScope, target_id: int
) -> bool:
    rows = await _rows(
        conn,
        "DELETE FROM quota_policies WHERE guild_id = ? AND scope = ? AND target_id = ?"
        " RETURNING target_id",
        (guild_id, scope.value, target_id),
    )
    return bool(rows)


async def guild_timezone(conn: Transaction, guild_id: int) -> str:
    """The server's IANA time zone (a column of guild_settings, bot/guilds/); UTC if unset."""
    rows = await _rows(conn, "SELECT timezone FROM guild_settings WHERE guild_id = ?", (guild_id,))
    return str(rows[0]["timezone"]) if rows else DEFAULT_TIMEZONE


# --- audit --------------------------------------------------------------------------------


async def write_audit(
    conn: Transaction,
    *,
    guild_id: int,
    actor_id: int,
    action: str,
    target: str,
    before: object,
    after: object,
    now: float,
) -> int:
    """Record one admin change; before/after are stored as JSON (None → NULL)."""
    rows = await _rows(
        conn,
        "INSERT INTO quota_audit (guild_id, actor_id, action, target, before, after, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id, actor_id, action, target,
            None if before is None else json.dumps(before, sort_keys=True),
            None if after is None else json.dumps(after, sort_keys=True),
            now,
        ),
    )  # fmt: skip
    return int(rows[0]["id"])


async def audit_entries(conn: Transaction, guild_id: int, *, limit: int = 50) -> list[AuditEntry]:
    """The guild's latest admin changes, newest first."""
    rows = await _rows(
        conn,
        "SELECT id, guild_id, actor_id, action, target, before, after, created_at"
        " FROM quota_audit WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
        (guild_id, limit),
    )
    return [
        AuditEntry(
            id=r["id"],
            guild_id=r["guild_id"],
            actor_id=r["actor_id"],
            action=r["action"],
            target=r["target"],
            before=None if r["before"] is None else json.loads(r["before"]),
            after=None if r["after"] is None else json.loads(r["after"]),
            created_at=r["created_at"],
        )
        for r in rows
    ]
