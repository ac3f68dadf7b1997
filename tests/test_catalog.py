from __future__ import annotations

import pytest

from bot.catalog import Catalog, InvalidRequestError, validate_params
from bot.i18n import t

CATALOG = Catalog.load()


def check(**kwargs: object) -> object:
    base: dict[str, object] = {"prompt": "a cat", "model": "gpt-image-1", "max_prompt_length": 100}
    return validate_params(CATALOG, **{**base, **kwargs})  # type: ignore[arg-type]


def test_first_models_are_present() -> None:
    for model in ("gpt-image-1", "dall-e-3", "cogview-4", "cogview-3-flash"):
        assert model in CATALOG


def test_valid_request_gets_default_size() -> None:
    params = check(model="dall-e-3")
    assert params.size == "1024x1024"  # type: ignore[attr-defined]
    assert params.n == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "key", "fragment"),
    [
        ({"prompt": "   "}, "error.prompt_empty", "empty"),
        ({"prompt": "x" * 101}, "error.prompt_too_long", "100"),
        ({"model": "nope"}, "error.unknown_model", "dall-e-3"),
        ({"model": "dall-e-3", "size": "512x512"}, "error.bad_size", "1792x1024"),
        ({"model": "dall-e-3", "n": 2}, "error.bad_n", "at most 1"),
        ({"model": "cogview-4", "negative_prompt": "dogs"}, "error.no_negative_prompt", "negative"),
    ],
)
def test_invalid_requests_are_refused_with_allowed_values(
    kwargs: dict[str, object], key: str, fragment: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        check(**kwargs)
    assert info.value.key == key
    assert fragment in t("en-US", info.value.key, **info.value.params)
