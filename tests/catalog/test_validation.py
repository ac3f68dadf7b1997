"""ImagineService.validate: blocked words through Unicode tricks (zero-width characters,
full-width letters, soft hyphens), and `--n 0` refused (issue 13)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bot.catalog.spec import Catalog
from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettings
from bot.jobs.flags import ImagineOptions, resolve_options
from bot.jobs.intake import ImagineService, normalise_for_matching


def _service() -> ImagineService:
    none = cast(Any, None)
    return ImagineService(
        db=none,
        repo=none,
        quota=none,
        catalog=Catalog.load(),
        scheduler=none,
        messenger=none,
        default_model="gpt-image-1",
        max_prompt_length=1500,
    )


GUILD = GuildSettings(guild_id=1, blocked_words=("gore", "ＢＬＯＯＤ"))


@pytest.mark.parametrize(
    "prompt",
    [
        "lots of gore",
        "lots of GORE",
        "lots of g\u200bore",  # zero-width space
        "lots of g\u200do\u200cr\u2060e",  # zero-width joiner, non-joiner, word joiner
        "lots of go\u00adre",  # soft hyphen
        "lots of ｇｏｒｅ",  # full-width letters
        "lots of ＧＯ\u00adＲＥ",
        "\ufeffgore",  # byte-order mark
        "a blood moon",  # the blocked word itself is full-width
        "a B\u200bLOOD moon",
    ],
)
def test_blocked_words_survive_unicode_tricks(prompt: str) -> None:
    with pytest.raises(UserFacingError) as caught:
        _service().validate(ImagineOptions(prompt=prompt), guild=GUILD)
    assert caught.value.key == "error.blocked_word"


def test_negative_prompt_is_checked_too() -> None:
    with pytest.raises(UserFacingError):
        _service().validate(
            ImagineOptions(prompt="a cat", negative_prompt="no g\u00adore"), guild=GUILD
        )


@pytest.mark.parametrize("prompt", ["a glory", "a cat", "g o r e"])
def test_other_prompts_pass(prompt: str) -> None:
    assert _service().validate(ImagineOptions(prompt=prompt), guild=GUILD).prompt == prompt


def test_normalise_for_matching() -> None:
    assert normalise_for_matching("Ｓｔｒａ\u00dfe\u200b") == "strasse"


@pytest.mark.parametrize("text", ["a cat --n 0", "a cat --n -2"])
def test_n_below_one_in_the_flags_is_refused(text: str) -> None:
    with pytest.raises(UserFacingError) as caught:
        _service().validate(resolve_options(text))
    assert caught.value.key == "error.n_too_small"


def test_no_n_means_one() -> None:
    assert _service().validate(resolve_options("a cat")).n == 1
