"""The command tree's answer to every error (fast unit tier): a refusal in the member's
language, privately, counted; anything unexpected gets an error id, logged, never its text.
The interaction is a stand-in with the attributes `on_error` reads."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest
from discord import app_commands

from bot.errors import UserFacingError
from bot.quota import QuotaExceededError
from bot.ui.tree import ImagineTree


@dataclass
class _Response:
    done: bool = False
    sent: list[tuple[str, bool]] = field(default_factory=list)

    def is_done(self) -> bool:
        return self.done

    async def send_message(self, text: str, *, ephemeral: bool = False) -> None:
        self.sent.append((text, ephemeral))


def _interaction(locale: str = "en-US") -> Any:
    return SimpleNamespace(
        locale=locale, response=_Response(), command=SimpleNamespace(qualified_name="imagine"),
        id=1, user=SimpleNamespace(id=2), guild_id=3,
    )  # fmt: skip


def _tree() -> ImagineTree:
    return ImagineTree(discord.Client(intents=discord.Intents.none()))


async def _answer(error: app_commands.AppCommandError, locale: str = "en-US") -> str:
    interaction = _interaction(locale)
    await _tree().on_error(cast(discord.Interaction, interaction), error)
    [(text, ephemeral)] = interaction.response.sent
    assert ephemeral and isinstance(text, str)
    return text


def _invoke_error(original: Exception) -> app_commands.CommandInvokeError:
    command = cast(Any, SimpleNamespace(name="imagine"))
    return app_commands.CommandInvokeError(command, original)


async def test_a_refusal_is_answered_in_the_members_language_and_counted() -> None:
    tree = _tree()
    interaction = _interaction("zh-CN")
    await tree.on_error(cast(discord.Interaction, interaction), _invoke_error(
        QuotaExceededError(left=0, needed=1, resets_at=None)
    ))  # fmt: skip
    [(text, _)] = interaction.response.sent
    assert "点数" in text or "额度" in text
    families = {m.name: m for m in tree.metrics.registry.collect()}
    samples = [s for m in families.values() for s in m.samples if s.value and "refus" in s.name]
    assert samples, "the refusal was not counted"


async def test_a_check_failure_shows_the_refusal_it_carries() -> None:
    failure = app_commands.CheckFailure("error.not_admin")
    failure.__cause__ = UserFacingError("error.not_admin")
    assert await _answer(failure) == (
        "Only server managers (Manage Server) or the bot's admin role can do this."
    )


async def test_a_guild_only_command_in_a_dm() -> None:
    assert "only in a server" in await _answer(app_commands.NoPrivateMessage())


async def test_an_unexpected_error_gets_an_id_and_only_the_log_has_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.ui.tree"):
        text = await _answer(_invoke_error(RuntimeError("database on fire")))
    assert "database on fire" not in text
    error_id = text.split("`")[1]
    assert len(error_id) == 8
    assert any(error_id in r.getMessage() for r in caplog.records)
    assert any("database on fire" in str(r.exc_info) for r in caplog.records)
