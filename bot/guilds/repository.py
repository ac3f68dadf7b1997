"""SQL of `guild_settings`, one row per server that changed anything (bound parameters)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.storage import Row, Transaction

# Column → how it is stored: lists as JSON text, the rest as they are.
_JSON_LISTS = ("allowed_models", "channels", "blocked_words")
COLUMNS = (
    "reroll_policy", "default_model", "allowed_models", "channels", "blocked_words",
    "timezone", "admin_role_id", "watermark",
)  # fmt: skip
_SELECT = "SELECT guild_id, " + ", ".join(COLUMNS) + ", updated_at FROM guild_settings"  # noqa: S608


def _values(row: Row) -> dict[str, Any]:
    """A stored row → the keyword arguments of GuildSettings."""
    return {
        "guild_id": int(row["guild_id"]),
        "reroll_policy": row["reroll_policy"],
        "default_model": row["default_model"],
        "allowed_models": tuple(json.loads(row["allowed_models"])),
        "channels": tuple(int(c) for c in json.loads(row["channels"])),
        "blocked_words": tuple(json.loads(row["blocked_words"])),
        "timezone": row["timezone"],
        "admin_role_id": None if row["admin_role_id"] is None else int(row["admin_role_id"]),
        "watermark": bool(row["watermark"]),
    }


async def load(conn: Transaction, *, since: float | None) -> list[tuple[dict[str, Any], float]]:
    """Every server's settings (or those changed since `since`), with their updated_at."""
    if since is None:
        rows = await conn.fetchall(_SELECT)
    else:
        rows = await conn.fetchall(_SELECT + " WHERE updated_at >= ?", (since,))
    return [(_values(row), float(row["updated_at"])) for row in rows]


async def load_one(conn: Transaction, guild_id: int) -> dict[str, Any] | None:
    row = await conn.fetchone(_SELECT + " WHERE guild_id = ?", (guild_id,))
    return None if row is None else _values(row)


def _stored(column: str, value: object) -> object:
    if column not in COLUMNS:
        raise ValueError(f"unknown guild setting {column}")
    if column in _JSON_LISTS:
        assert isinstance(value, list | tuple)
        return json.dumps(list(value), ensure_ascii=False)
    return value


async def upsert(
    conn: Transaction, guild_id: int, changes: Mapping[str, object], *, actor_id: int, now: float
) -> None:
    """Set the named columns of the server's row (created with defaults if missing)."""
    stored = {column: _stored(column, value) for column, value in changes.items()}
    names = list(stored)
    columns = ", ".join(["guild_id", *names, "updated_at", "updated_by"])
    marks = ", ".join("?" for _ in range(len(names) + 3))
    updates = ", ".join(f"{n} = excluded.{n}" for n in [*names, "updated_at", "updated_by"])
    await conn.execute(
        f"INSERT INTO guild_settings ({columns}) VALUES ({marks})"  # noqa: S608 (names checked)
        f" ON CONFLICT (guild_id) DO UPDATE SET {updates}",
        (guild_id, *stored.values(), now, actor_id),
    )
