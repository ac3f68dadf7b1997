"""Midjourney-style flags in the prompt: parsing, and explicit options winning over them."""

from __future__ import annotations

import pytest

from bot.catalog.validation import InvalidRequestError
from bot.i18n import lookup as i18n
from bot.jobs.flags import EXAMPLES, FLAG_OPTIONS, parse_prompt_flags, resolve_options

EN = i18n.EN
ZH = i18n.ZH


@pytest.mark.parametrize(
    ("text", "prompt", "flags", "unknown"),
    [
        ("a red fox", "a red fox", {}, []),
        ("a fox --ar 16:9", "a fox", {"aspect_ratio": "16:9"}, []),
        ("a fox --aspect 3:2 --n 4", "a fox", {"aspect_ratio": "3:2", "n": "4"}, []),
        ("a fox --no trees, cars --n 2", "a fox", {"negative_prompt": "trees, cars", "n": "2"}, []),
        ('a fox --no "red cars" at dusk', "a fox at dusk", {"negative_prompt": "red cars"}, []),
        ("a fox --no “red cars” at dusk", "a fox at dusk", {"negative_prompt": "red cars"}, []),
        ('a fox --style "pixel-art" --q hd', "a fox", {"style": "pixel-art", "quality": "hd"}, []),
        ("a fox —ar 16:9", "a fox", {"aspect_ratio": "16:9"}, []),  # phone em dash
        ("a fox ––n 2", "a fox", {"n": "2"}, []),
        (
            "a fox --AR 1:1 --Model dall-e-3",
            "a fox",
            {"aspect_ratio": "1:1", "model": "dall-e-3"},
            [],
        ),
        ("a fox --model cogview-4 in the snow", "a fox in the snow", {"model": "cogview-4"}, []),
        ("a fox --quality=high", "a fox", {"quality": "high"}, []),
        (
            "a fox --size 1024*768 --bg transparent",
            "a fox",
            {"size": "1024*768", "background": "transparent"},
            [],
        ),
        ("a fox --strength 0.4 --group 3", "a fox", {"strength": "0.4", "sequential": "3"}, []),
        ("a fox --n 2 --n 3", "a fox", {"n": "3"}, []),  # the last one wins
        ("a fox --v 6 --ar 2:3", "a fox --v 6", {"aspect_ratio": "2:3"}, ["--v"]),
        (
            "a fox --stylize 250 —chaos 5",
            "a fox --stylize 250 —chaos 5",
            {},
            ["--stylize", "—chaos"],
        ),
        ("a fox --no trees --v 6", "a fox --v 6", {"negative_prompt": "trees"}, ["--v"]),
        ('a fox --no "wet -- dry" x', "a fox x", {"negative_prompt": "wet -- dry"}, []),
        ("well--known fox -- friend", "well--known fox -- friend", {}, []),
        ("a fox --ar16:9", "a fox --ar16:9", {}, []),  # not a flag: no space before the value
        ("--ar 1:1", "", {"aspect_ratio": "1:1"}, []),
        ("a fox\non two lines --n 2", "a fox\non two lines", {"n": "2"}, []),
    ],
)
def test_flags_parse(text: str, prompt: str, flags: dict[str, str], unknown: list[str]) -> None:
    parsed = parse_prompt_flags(text)
    assert (parsed.prompt, parsed.flags, parsed.unknown) == (prompt, flags, unknown)


@pytest.mark.parametrize(
    ("text", "flag"),
    [("a fox --ar", "--ar"), ("a fox --no --n 2", "--no"), ('a fox --q "" x', "--q")],
)
def test_a_known_flag_without_a_value_is_refused_with_an_example(text: str, flag: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_prompt_flags(text)
    assert info.value.key == "error.flag_needs_value"
    example = EXAMPLES[FLAG_OPTIONS[flag[2:]]]
    for catalog in (EN, ZH):
        text = catalog[info.value.key].format(**info.value.params)
        assert flag in text and example in text


def test_explicit_options_win_over_flags() -> None:
    options = resolve_options(
        "a fox --ar 16:9 --n 4 --model dall-e-3 --no trees --q hd --strength x",
        aspect_ratio="1:1",
        n=2,
        strength=0.5,
    )
    assert options.prompt == "a fox"
    assert (options.aspect_ratio, options.n, options.strength) == ("1:1", 2, 0.5)
    assert (options.model, options.negative_prompt, options.quality) == ("dall-e-3", "trees", "hd")


def test_flags_fill_what_was_not_given() -> None:
    options = resolve_options(
        "a fox --n 3 --strength 0.25 --group 4 --size 2K --style anime --bg opaque --v 6"
    )
    assert (options.n, options.strength, options.sequential) == (3, 0.25, 4)
    assert (options.size, options.style, options.background) == ("2K", "anime", "opaque")
    assert options.unknown_flags == ("--v",)
    assert options.prompt == "a fox --v 6"
    assert resolve_options("plain").n is None


@pytest.mark.parametrize(
    ("text", "flag", "value"),
    [
        ("a --n four", "--n", "four"),
        ("a --strength lots", "--strength", "lots"),
        ("a --group 2.5", "--group", "2.5"),
    ],
)
def test_a_number_flag_with_text_is_refused(text: str, flag: str, value: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        resolve_options(text)
    assert info.value.key == "error.bad_flag_number"
    assert info.value.params == {"flag": flag, "value": value}
    assert value in ZH[info.value.key].format(**info.value.params)
