"""The intake's checks (fast unit tier): one order for every way a job starts, blocked
words through Unicode tricks (zero-width characters, full-width letters, soft hyphens),
`--n 0` refused (issue 13)."""

from __future__ import annotations

import pytest

from bot.errors import UserFacingError
from bot.guilds.settings import GuildSettings
from bot.jobs.flags import ImagineOptions, resolve_options
from bot.jobs.intake import Intake, IntakeRules, JobRequest, normalise_for_matching
from bot.jobs.models import JobParams, JobState, Variation
from bot.jobs.results import ResultsService
from bot.jobs.variations import VaryService
from tests import factories as f

GUILD = f.guild(blocked_words=("gore", "ＢＬＯＯＤ"))
RULES = IntakeRules(default_model="gpt-image-1", max_prompt_length=1500, allow_dms=True)


def _intake(
    *guilds: GuildSettings, rules: IntakeRules = RULES, owners: frozenset[int] = frozenset()
) -> Intake:
    return f.make_intake(guilds=[GUILD, *guilds], rules=rules, owners=owners)


def _check(options: ImagineOptions, intake: Intake | None = None) -> JobParams:
    return (intake or _intake()).check(JobRequest(f.target(guild_id=GUILD.guild_id), options))


def _refusal(intake: Intake, request: JobRequest) -> str:
    with pytest.raises(UserFacingError) as caught:
        intake.check(request)
    return caught.value.key


# -- one order for every road ------------------------------------------------------------------


def test_place_comes_first_direct_messages() -> None:
    intake = _intake(rules=IntakeRules(default_model="gpt-image-1", allow_dms=False))
    bad_model = ImagineOptions(prompt="a cat", model="no-such-model")
    assert _refusal(intake, JobRequest(f.target(guild_id=None), bad_model)) == "error.dm_disabled"


def test_server_allowlist_before_channel_before_model() -> None:
    closed = f.guild(guild_id=7, channels=(1,), allowed_models=("dall-e-3",))
    bad = ImagineOptions(prompt="a cat", model="gpt-image-1")
    where = f.target(guild_id=7, channel_id=2)
    only_other = IntakeRules(default_model="gpt-image-1", guild_allowlist=frozenset({8}))
    assert _refusal(_intake(closed, rules=only_other), JobRequest(where, bad)) == (
        "error.guild_not_enabled"
    )
    assert _refusal(_intake(closed), JobRequest(where, bad)) == "error.channel_not_allowed"
    inside = f.target(guild_id=7, channel_id=1)
    assert _refusal(_intake(closed), JobRequest(inside, bad)) == "error.model_not_allowed"


def test_rights_on_the_source_come_before_the_request() -> None:
    source = f.job(where=f.target(user_id=1))
    other = f.target(user_id=2)
    bad = ImagineOptions(prompt="a cat", model="no-such-model")
    request = JobRequest(other, bad, source=source)
    assert _refusal(_intake(), request) == "error.reroll_requester_only"


def test_a_reroll_is_checked_against_the_rules_of_now() -> None:
    source = f.job(model="gpt-image-1", prompt="a quiet lake")
    reroll = ResultsService.reroll_request(source, f.target())
    assert _intake().check(reroll) == source.params  # allowed: the same parameters
    narrowed = f.guild(allowed_models=("dall-e-3",))
    assert _refusal(f.make_intake(guilds=[narrowed]), reroll) == "error.model_not_allowed"
    closed = f.guild(channels=(1,))
    assert _refusal(f.make_intake(guilds=[closed]), reroll) == "error.channel_not_allowed"
    words = f.guild(blocked_words=("lake",))
    assert _refusal(f.make_intake(guilds=[words]), reroll) == "error.blocked_word"


def test_only_results_can_be_run_again() -> None:
    source = f.job(state=JobState.RUNNING)
    assert _refusal(_intake(), ResultsService.reroll_request(source, f.target())) == (
        "error.not_a_result"
    )


def test_who_may_run_a_result_again() -> None:
    source = f.job(where=f.target(user_id=1))
    someone = f.target(user_id=2)
    assert _refusal(_intake(), ResultsService.reroll_request(source, someone)) == (
        "error.reroll_requester_only"
    )
    owner = _intake(owners=frozenset({2}))
    assert owner.check(ResultsService.reroll_request(source, someone)) == source.params
    anyone = f.make_intake(guilds=[f.guild(reroll_policy="anyone")])
    assert anyone.check(ResultsService.reroll_request(source, someone)) == source.params


def test_an_edit_goes_through_every_check_of_imagine() -> None:
    source = f.job(model="gpt-image-1", prompt="a fox")
    edited = ResultsService.edit_request(source, "a fox --n 0", f.target())
    assert _refusal(_intake(), edited) == "error.n_too_small"
    gory = ResultsService.edit_request(source, "a fox, lots of gore", f.target())
    assert _refusal(_intake(), gory) == "error.blocked_word"
    ok = _intake().check(ResultsService.edit_request(source, "a wolf --n 2", f.target()))
    assert (ok.prompt, ok.n, ok.model) == ("a wolf", 2, "gpt-image-1")


def test_a_vary_falls_back_to_the_vary_model_and_is_marked() -> None:
    source = f.job(model="dall-e-3", prompt="a lighthouse")
    image = f.image_input()
    request = VaryService(_intake()).vary_request(
        source, index=1, kind="strong", image=image, target=f.target()
    )
    checked = _intake().check(request)
    assert checked.model == RULES.vary_model and checked.image_url == image.url
    assert checked.variation == Variation(
        source_job_id=source.id, image=1, kind="strong", fallback_from="dall-e-3"
    )
    gory = f.job(model="dall-e-3", prompt="gore")
    request = VaryService(_intake()).vary_request(
        gory, index=1, kind="subtle", image=image, target=f.target()
    )
    assert _refusal(_intake(), request) == "error.blocked_word"


def test_imagine_from_an_image_picks_a_model_that_takes_one() -> None:
    request = VaryService(_intake()).from_image_request(
        ImagineOptions(prompt="the same, at night"), f.image_input(), f.target()
    )
    assert _intake().check(request).model == RULES.vary_model  # gpt-image-1 takes no image


# -- blocked words and counts -------------------------------------------------------------------


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
        _check(ImagineOptions(prompt=prompt))
    assert caught.value.key == "error.blocked_word"


def test_negative_prompt_is_checked_too() -> None:
    with pytest.raises(UserFacingError):
        _check(ImagineOptions(prompt="a cat", negative_prompt="no g\u00adore"))


@pytest.mark.parametrize("prompt", ["a glory", "a cat", "g o r e"])
def test_other_prompts_pass(prompt: str) -> None:
    assert _check(ImagineOptions(prompt=prompt)).prompt == prompt


def test_normalise_for_matching() -> None:
    assert normalise_for_matching("Ｓｔｒａ\u00dfe\u200b") == "strasse"


@pytest.mark.parametrize("text", ["a cat --n 0", "a cat --n -2"])
def test_n_below_one_in_the_flags_is_refused(text: str) -> None:
    with pytest.raises(UserFacingError) as caught:
        _check(resolve_options(text))
    assert caught.value.key == "error.n_too_small"


def test_no_n_means_one() -> None:
    assert _check(resolve_options("a cat")).n == 1
