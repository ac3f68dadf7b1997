"""Who may run admin commands (fast unit tier): bot owners, Manage Server, the server's
admin role (read fresh from the database); everyone else is refused. The interaction and
the member are stand-ins with the attributes `ensure_admin` reads."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast
from unittest.mock import MagicMock

import discord
import pytest

from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettingsService
from bot.quota import Policy, QuotaService
from bot.storage import Database
from bot.ui.access import ensure_admin, role_ids

GUILD, OWNER, MEMBER, ROLE = 10, 1, 2, 30


def _interaction(user: Any, *, manage_guild: bool = False, guild_id: int | None = GUILD) -> Any:
    return SimpleNamespace(
        user=user, guild_id=guild_id,
        permissions=SimpleNamespace(manage_guild=manage_guild),
    )  # fmt: skip


def _member(user_id: int, *roles: int) -> Any:
    member = MagicMock(spec=discord.Member)
    member.id = user_id
    member.roles = [SimpleNamespace(id=r) for r in roles]
    return member


async def _refusal(db: Database, interaction: Any) -> str | None:
    quota = QuotaService(db, global_default=Policy.unlimited(), owner_ids=frozenset({OWNER}))
    try:
        await ensure_admin(cast(discord.Interaction, interaction), quota, GuildSettingsService(db))
    except UserFacingError as exc:
        return exc.key
    return None


async def test_who_is_an_admin(db: Database) -> None:
    guilds = GuildSettingsService(db)
    assert await _refusal(db, _interaction(_member(MEMBER))) == "error.not_admin"
    assert await _refusal(db, _interaction(_member(MEMBER), manage_guild=True)) is None
    assert await _refusal(db, _interaction(SimpleNamespace(id=OWNER), guild_id=None)) is None
    assert await _refusal(db, _interaction(SimpleNamespace(id=MEMBER), guild_id=None)) == (
        "error.guild_only"
    )
    await guilds.set_admin_role(GUILD, actor_id=OWNER, role_id=ROLE)
    assert await _refusal(db, _interaction(_member(MEMBER, ROLE))) is None
    assert await _refusal(db, _interaction(_member(MEMBER, ROLE + 1))) == "error.not_admin"
    await guilds.set_admin_role(GUILD, actor_id=OWNER, role_id=None)
    assert await _refusal(db, _interaction(_member(MEMBER, ROLE))) == "error.not_admin"


@pytest.mark.parametrize("user", [SimpleNamespace(id=5), SimpleNamespace(id=5, roles=[])])
def test_a_user_outside_a_server_has_no_roles(user: Any) -> None:
    assert role_ids(user) == []
