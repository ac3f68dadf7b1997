"""The model catalog: request bodies per model, refusals with their messages, loading."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.catalog.requests import ALWAYS_SENT, build_request
from bot.catalog.sizes import SizeRange, normalise_size
from bot.catalog.spec import Catalog, CatalogError, ModelSpec
from bot.catalog.suggest import (
    Choice,
    suggest_aspect_ratios,
    suggest_models,
    suggest_qualities,
    suggest_sizes,
    suggest_styles,
)
from bot.catalog.validation import ImageInput, InvalidRequestError, validate_params
from bot.i18n import lookup as i18n
from bot.jobs.models import JobParams

CATALOG = Catalog.load()
MODEL_IDS = [m.id for m in CATALOG.models]
EN = i18n.EN
ZH = i18n.ZH
IMAGE = ImageInput("cat.png", "image/png", 2048, "https://cdn.example/cat.png")

# The body fields each model receives besides model, prompt and async — written out by
# hand from GeekAI's API reference, so that a catalog edit that starts sending a field shows up.
EXPECTED_FIELDS: dict[str, set[str]] = {
    "gpt-image-1": {"n", "size", "quality", "background", "output_format"},
    "gpt-image-2": {"n", "size", "quality", "background", "image", "output_format"},
    "gpt-image-2.5-sunburst": {"n", "size", "quality", "background", "image", "output_format"},
    "gpt-image-2.5-flare": {"n", "size", "quality", "background", "image", "output_format"},
    "dall-e-3": {"n", "size", "quality"},
    "cogview-4": {"n", "size", "quality"},
    "cogview-3-plus": {"n", "size", "quality"},
    "cogview-3-flash": {"n", "size", "quality"},
    "doubao-seedream-4.0": {"n", "size", "image", "extra_body"},
    "doubao-seedream-4.5": {"n", "size", "image", "extra_body"},
    "doubao-seedream-5.0-lite": {"size", "image", "extra_body"},
    "jimeng_t2i_v40": {"n", "size", "image", "strength"},
    "kling-v1": {"n", "aspect_ratio", "quality", "negative_prompt"},
    "kling-v1-5": {"n", "aspect_ratio", "quality", "negative_prompt"},
    "imagen-3.0-generate-002": {"n", "aspect_ratio"},
    "wanx2.1-t2i-turbo": {"n", "size", "negative_prompt"},
    "wanx2.1-t2i-plus": {"n", "size", "negative_prompt"},
    "stable-image-ultra": {
        "n",
        "size",
        "aspect_ratio",
        "negative_prompt",
        "style_preset",
        "image",
        "strength",
    },
    "stable-image-core": {"n", "size", "aspect_ratio", "negative_prompt", "style_preset"},
    "nano-banana": {"n", "aspect_ratio", "image"},
    "nano-banana-hd": {"n", "aspect_ratio", "image"},
    "nano-banana-2": {"n", "size", "aspect_ratio", "image"},
    "z-image-turbo": {"n", "size"},
}


def check(**kwargs: Any) -> JobParams:
    base: dict[str, Any] = {"prompt": "a cat", "model": "gpt-image-1", "max_prompt_length": 100}
    return validate_params(CATALOG, **{**base, **kwargs})


def spec_of(model_id: str) -> ModelSpec:
    spec = CATALOG.get(model_id)
    assert spec is not None
    return spec


def full_options(spec: ModelSpec) -> dict[str, Any]:
    """Every option the model accepts, each with an allowed value."""
    options: dict[str, Any] = {"model": spec.id, "n": spec.max_n}
    if spec.takes_size:
        options["size"] = spec.fixed_sizes[0]
    values = {
        "aspect_ratio": spec.aspect_ratios,
        "quality": spec.qualities,
        "style": spec.styles,
        "background": spec.backgrounds,
    }
    options.update({name: allowed[-1] for name, allowed in values.items() if allowed})
    if spec.negative_prompt:
        options["negative_prompt"] = "dogs"
    if spec.image_input:
        options["image"] = IMAGE
    if spec.strength:
        options["strength"] = 0.7
    if spec.sequential:
        options.update(n=1, sequential=3)
    if spec.output_formats:
        options["output_format"] = spec.output_formats[-1]
    return options


def render(error: InvalidRequestError, catalog: Mapping[str, str]) -> str:
    """The refusal as the bot shows it (same formatter: `{n:# image|images}` plurals)."""
    locale = "zh-CN" if catalog is i18n.ZH else "en-US"
    return i18n.t(locale, error.key, **error.params)


def refused(**kwargs: Any) -> tuple[InvalidRequestError, str, str]:
    """The refusal of a request, rendered in English and Chinese (a KeyError if unknown)."""
    with pytest.raises(InvalidRequestError) as info:
        check(**kwargs)
    return info.value, render(info.value, EN), render(info.value, ZH)


# -- what is sent ---------------------------------------------------------------------------


def test_expectations_cover_every_catalog_model() -> None:
    assert set(EXPECTED_FIELDS) == set(MODEL_IDS)
    for model in ("gpt-image-1", "dall-e-3", "cogview-4", "cogview-3-plus", "cogview-3-flash"):
        assert model in CATALOG  # ids existing jobs and settings use keep working


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_a_full_valid_request_sends_exactly_the_accepted_fields(model_id: str) -> None:
    params = check(**full_options(spec_of(model_id)))
    body = build_request(spec_of(model_id), params).to_body()
    assert set(body) == ALWAYS_SENT | EXPECTED_FIELDS[model_id]


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_stray_stored_fields_are_never_sent(model_id: str) -> None:
    """A job stored with every field set (e.g. before an override changed the model)."""
    params = JobParams(
        model=model_id,
        prompt="p",
        negative_prompt="x",
        size="1024x1024",
        aspect_ratio="1:1",
        n=1,
        quality="hd",
        style="anime",
        strength=0.5,
        background="opaque",
        image_url="https://cdn.example/a.png",
        sequential_images=2,
        output_format="webp",
    )
    body = build_request(spec_of(model_id), params).to_body()
    assert set(body) == ALWAYS_SENT | EXPECTED_FIELDS[model_id]


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_a_minimal_request_sends_no_more_than_needed(model_id: str) -> None:
    body = build_request(spec_of(model_id), check(model=model_id)).to_body()
    assert {"model", "prompt", "async"} <= set(body) <= ALWAYS_SENT | EXPECTED_FIELDS[model_id]
    assert not {"image", "strength", "negative_prompt", "extra_body", "quality"} & set(body)
    assert body["prompt"] == "a cat" and body["model"] == model_id


def test_values_are_mapped_to_the_api_spelling() -> None:
    style = build_request(
        spec_of("stable-image-core"), check(model="stable-image-core", style="Anime")
    ).to_body()
    assert style["style_preset"] == "anime"
    wanx = build_request(
        spec_of("wanx2.1-t2i-plus"), check(model="wanx2.1-t2i-plus", size="1024×768")
    ).to_body()
    assert wanx["size"] == "1024*768"
    tier = check(model="doubao-seedream-4.5", size="4K")
    assert tier.size == "4k"  # the catalog's spelling, whatever the case typed
    group = build_request(
        spec_of("doubao-seedream-4.0"), check(model="doubao-seedream-4.0", sequential=5)
    ).to_body()
    assert group["extra_body"] == {
        "sequential_image_generation": "auto",
        "sequential_image_generation_options": {"max_images": 5},
    }
    image = build_request(
        spec_of("jimeng_t2i_v40"), check(model="jimeng_t2i_v40", image=IMAGE, strength=0.3)
    ).to_body()
    assert (image["image"], image["strength"]) == (IMAGE.url, 0.3)


def test_defaults_and_size_spellings() -> None:
    assert check(model="dall-e-3").size == "1024x1024"
    assert check(model="kling-v1").aspect_ratio == "1:1"
    assert check(model="stable-image-core").size is None
    assert check(model="cogview-4", size="1280 * 720").size == "1280x720"
    assert check(model="nano-banana", aspect_ratio="16/9").aspect_ratio == "16:9"
    assert normalise_size("1024X1536") == "1024x1536"


def test_unknown_model_in_a_stored_job_still_gets_a_request() -> None:
    params = JobParams(model="gone-model", prompt="p", size="512x512")
    body = CATALOG.request_for(params).to_body()
    assert body["model"] == "gone-model" and body["size"] == "512x512"


def test_costs_follow_the_quality() -> None:
    assert spec_of("dall-e-3").cost_for("hd") == 2
    assert spec_of("dall-e-3").cost_for("standard") == 1
    assert spec_of("dall-e-3").cost_for(None) == 1
    assert check(model="doubao-seedream-4.0", sequential=6).max_images == 6


# -- what is refused ------------------------------------------------------------------------


def _unsupported(spec: ModelSpec) -> list[tuple[dict[str, Any], str]]:
    """Each option the model does not take, and the refusal it must get."""
    options: list[tuple[bool, dict[str, Any], str]] = [
        (spec.negative_prompt, {"negative_prompt": "dogs"}, "error.no_negative_prompt"),
        (spec.takes_size, {"size": "1024x1024"}, "error.no_size_use_ratio"),
        (bool(spec.aspect_ratios), {"aspect_ratio": "1:1"}, "error.no_aspect_ratio"),
        (bool(spec.qualities), {"quality": "hd"}, "error.no_quality"),
        (bool(spec.styles), {"style": "anime"}, "error.no_style"),
        (bool(spec.backgrounds), {"background": "opaque"}, "error.no_background"),
        (spec.image_input, {"image": IMAGE}, "error.no_image_input"),
        (spec.strength, {"strength": 0.5}, "error.no_strength"),
        (spec.sequential, {"sequential": 2}, "error.no_sequential"),
    ]
    return [(kwargs, key) for supported, kwargs, key in options if not supported]


def _alternatives(spec: ModelSpec, key: str) -> list[str]:
    """What a refusal of an unsupported option offers instead."""
    return {
        "error.no_aspect_ratio": spec.fixed_sizes,
        "error.no_size_use_ratio": spec.aspect_ratios,
    }.get(key, [])


def _bad_values(spec: ModelSpec) -> list[tuple[dict[str, Any], str, list[str]]]:
    """Values outside the model's lists, the refusal, and the values it must name."""
    cases: list[tuple[dict[str, Any], str, list[str]]] = [
        ({"n": spec.max_n + 1}, "error.bad_n", [str(spec.max_n)]),
    ]
    lists = [
        ("aspect_ratio", "7:5", spec.aspect_ratios),
        ("quality", "ultra", spec.qualities),
        ("style", "no-such-style", spec.styles),
        ("background", "green", spec.backgrounds),
    ]
    cases += [
        ({name: bad}, f"error.bad_{name}", allowed) for name, bad, allowed in lists if allowed
    ]
    if spec.takes_size:
        key = "error.bad_size_or_custom" if spec.size_range else "error.bad_size"
        cases.append(({"size": "huge"}, key, spec.fixed_sizes))
    if spec.takes_size and not spec.size_range:
        cases.append(({"size": "1000x1000"}, "error.bad_size", spec.fixed_sizes))
    if spec.strength:
        cases.append(({"strength": 1.5, "image": IMAGE}, "error.bad_strength", ["0", "1"]))
    if spec.sequential:
        cases.append(({"sequential": 16}, "error.bad_sequential", [str(spec.max_sequential)]))
    return cases


UNSUPPORTED = [(m.id, kw, key) for m in CATALOG.models for kw, key in _unsupported(m)]
BAD_VALUES = [(m.id, *case) for m in CATALOG.models for case in _bad_values(m)]


@pytest.mark.parametrize(("model_id", "kwargs", "key"), UNSUPPORTED)
def test_an_option_the_model_does_not_take_is_refused(
    model_id: str, kwargs: dict[str, Any], key: str
) -> None:
    error, english, chinese = refused(model=model_id, **kwargs)
    assert error.key == key
    for value in [f"`{model_id}`", *_alternatives(spec_of(model_id), key)]:
        assert value in english and value in chinese


@pytest.mark.parametrize(("model_id", "kwargs", "key", "allowed"), BAD_VALUES)
def test_a_value_outside_the_model_lists_is_refused_naming_the_allowed_values(
    model_id: str, kwargs: dict[str, Any], key: str, allowed: list[str]
) -> None:
    error, english, chinese = refused(model=model_id, **kwargs)
    assert error.key == key
    for value in allowed:
        assert value in english and value in chinese


@pytest.mark.parametrize(
    ("model_id", "size", "key", "named"),
    [
        ("cogview-4", "4096x4096", "error.size_side", ["512", "2048"]),
        ("cogview-4", "1000x1000", "error.size_multiple", ["16"]),
        ("cogview-4", "2048x2048", "error.size_pixels", ["2097152", "4194304"]),
        ("doubao-seedream-4.0", "8192x128", "error.size_ratio", ["1:16", "16:1"]),
        ("doubao-seedream-4.5", "1280x720", "error.size_pixels", ["3686400"]),
        ("wanx2.1-t2i-turbo", "1440x1440", "error.size_pixels", ["2000000"]),
        ("wanx2.1-t2i-turbo", "700x1000", "error.size_side", ["768", "1440"]),
        (
            "gpt-image-2",
            "3840x1024",
            "error.size_ratio",
            ["1:3 ", "3:1"],
        ),  # exactly 1:3, not 1:3.0003
        ("stable-image-core", "32x32", "error.size_side", ["64", "16384"]),
    ],
)
def test_a_custom_size_outside_the_range_names_the_rule(
    model_id: str, size: str, key: str, named: list[str]
) -> None:
    error, english, chinese = refused(model=model_id, size=size)
    assert error.key == key
    for value in [size, *named]:
        assert value in english and value in chinese


@pytest.mark.parametrize(
    ("model_id", "size", "stored"),
    [
        ("cogview-4", "1280x720", "1280x720"),
        ("doubao-seedream-4.0", "1920 X 1080", "1920x1080"),
        ("stable-image-core", "512x512", "512x512"),
        ("jimeng_t2i_v40", "1024*4096", "1024x4096"),
        ("gpt-image-2", "2048×1152", "2048x1152"),
        ("doubao-seedream-4.0", "2k", "2K"),
        ("gpt-image-1", "AUTO", "auto"),
    ],
)
def test_a_size_in_the_list_or_inside_the_range_is_accepted(
    model_id: str, size: str, stored: str
) -> None:
    assert check(model=model_id, size=size).size == stored


@pytest.mark.parametrize(
    ("kwargs", "key", "named"),
    [
        ({"prompt": "   "}, "error.prompt_empty", []),
        ({"prompt": "x" * 101}, "error.prompt_too_long", ["100"]),
        ({"model": "nope"}, "error.unknown_model", ["dall-e-3", "nano-banana"]),
        (
            {"model": "nope", "allowed_models": frozenset({"kling-v1"})},
            "error.unknown_model",
            ["kling-v1"],
        ),
        (
            {"model": "dall-e-3", "allowed_models": frozenset({"gpt-image-1", "cogview-4"})},
            "error.model_not_allowed",
            ["gpt-image-1", "cogview-4"],
        ),
        (
            {"model": "nano-banana", "image": ImageInput("a.pdf", "application/pdf", 10, "u")},
            "error.attachment_not_image",
            ["a.pdf", "application/pdf", "PNG, JPEG, WebP"],
        ),
        (
            {"model": "nano-banana", "image": ImageInput("a.gif", None, 10, "u")},
            "error.attachment_not_image",
            ["a.gif", "PNG, JPEG, WebP"],
        ),
        (
            {"model": "nano-banana", "image": ImageInput("a.png", "image/png", 11 * 2**20, "u")},
            "error.attachment_too_large",
            ["a.png", "11.0", "10.0"],
        ),
        (
            {"model": "nano-banana", "image": IMAGE, "max_image_bytes": 1024},
            "error.attachment_too_large",
            ["cat.png"],
        ),
        ({"model": "jimeng_t2i_v40", "strength": 0.5}, "error.strength_needs_image", []),
        ({"model": "doubao-seedream-4.0", "sequential": 3, "n": 2}, "error.sequential_with_n", []),
    ],
)
def test_other_refusals(kwargs: dict[str, Any], key: str, named: list[str]) -> None:
    error, english, chinese = refused(**kwargs)
    assert error.key == key
    for value in named:
        assert value in english and value in chinese


def test_refusals_list_only_the_models_this_server_allows() -> None:
    allowed = frozenset({"dall-e-3", "nano-banana"})
    error, _, _ = refused(model="dall-e-3", image=IMAGE, allowed_models=allowed)
    assert error.params["allowed"] == "nano-banana"
    error, _, _ = refused(model="nope", allowed_models=allowed)
    assert error.params["allowed"] == "dall-e-3, nano-banana"


def test_attachments_are_recognised_by_type_or_name() -> None:
    for image in (
        ImageInput("a.WEBP", None, 10, "u1"),
        ImageInput("photo", "image/jpeg; charset=binary", 10, "u2"),
        ImageInput("b.jpg", "IMAGE/JPEG", 10 * 2**20, "u3"),
    ):
        assert check(model="nano-banana", image=image).image_url == image.url


# -- autocomplete ---------------------------------------------------------------------------

SUGGESTERS: list[tuple[str, Callable[[ModelSpec | None, str], list[Choice]]]] = [
    ("size", suggest_sizes),
    ("aspect_ratio", suggest_aspect_ratios),
    ("quality", suggest_qualities),
    ("style", suggest_styles),
]


@pytest.mark.parametrize("model_id", MODEL_IDS)
@pytest.mark.parametrize(("option", "suggest"), SUGGESTERS)
def test_autocomplete_offers_only_valid_values_for_each_model(
    model_id: str, option: str, suggest: Callable[[ModelSpec | None, str], list[Choice]]
) -> None:
    spec = spec_of(model_id)
    choices = suggest(spec, "")
    assert len(choices) <= 25
    allowed = {
        "size": spec.fixed_sizes,
        "aspect_ratio": spec.aspect_ratios,
        "quality": spec.qualities,
        "style": spec.styles,
    }[option]
    assert [value for _, value in choices] == allowed[:25]
    for name, value in choices:
        assert value in name and len(name) <= 100
        check(model=model_id, **{option: value})  # each suggestion is accepted
    for _, value in choices:  # typing the start of a value narrows the list to it first
        narrowed = suggest(spec, value[:2].upper())
        assert narrowed and narrowed[0][1].lower().startswith(value[:2].lower())
        assert value in [v for _, v in narrowed]


def test_autocomplete_prefix_filtering_and_custom_sizes() -> None:
    assert suggest_qualities(spec_of("dall-e-3"), "h") == [("hd", "hd")]
    prefix_first = ["1792x1024", "1024x1792"]
    assert [v for _, v in suggest_sizes(spec_of("dall-e-3"), "1792")] == prefix_first
    assert [v for _, v in suggest_sizes(spec_of("dall-e-3"), "1024 * 17")] == ["1024x1792"]
    assert suggest_sizes(spec_of("cogview-4"), "1280*720") == [("1280x720 (16:9)", "1280x720")]
    assert suggest_sizes(spec_of("cogview-4"), "4096x4096") == []  # outside the range
    assert suggest_sizes(spec_of("dall-e-3"), "1280x720") == []  # no custom sizes at all
    assert suggest_aspect_ratios(spec_of("kling-v1"), "16/") == [("16:9", "16:9")]
    assert suggest_styles(spec_of("stable-image-core"), "PIX") == [("pixel-art", "pixel-art")]
    assert suggest_sizes(None, "") == [] and suggest_styles(spec_of("dall-e-3"), "") == []


def test_model_autocomplete_filters_by_text_and_by_the_server_allow_list() -> None:
    everything = suggest_models(CATALOG, "")
    assert [v for _, v in everything] == MODEL_IDS[:25]
    assert [v for _, v in suggest_models(CATALOG, "nano")] == [
        "nano-banana",
        "nano-banana-hd",
        "nano-banana-2",
    ]
    assert "nano-banana" in [v for _, v in suggest_models(CATALOG, "banana")]  # substring
    assert [v for _, v in suggest_models(CATALOG, "dall")] == ["dall-e-3"]  # by label too
    allowed = frozenset({"dall-e-3", "kling-v1"})
    assert [v for _, v in suggest_models(CATALOG, "", allowed)] == ["dall-e-3", "kling-v1"]


def test_model_autocomplete_never_exceeds_25_choices() -> None:
    many = [ModelSpec(id=f"m{i}", label=f"Model {i}") for i in range(40)]
    assert len(suggest_models(Catalog(many), "")) == 25
    assert len(suggest_models(Catalog(many), "m1")) == 11  # m1, m10…m19


# -- loading and the operator's override ----------------------------------------------------


def write(path: Path, content: object) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


def test_override_adds_a_model_and_replaces_one(tmp_path: Path) -> None:
    override = write(
        tmp_path / "models.json",
        {
            "models": [
                {
                    "id": "flux-pro",
                    "label": "Flux Pro",
                    "sizes": ["1024x1024"],
                    "default_size": "1024x1024",
                    "max_n": 2,
                    "cost": 3,
                },
                {"id": "dall-e-3", "label": "DALL·E 3", "sizes": ["1024x1024"], "max_n": 2},
            ]
        },
    )
    catalog = Catalog.load_with_override(override)
    assert len(catalog.models) == len(CATALOG.models) + 1
    flux = catalog.get("flux-pro")
    assert flux is not None and flux.cost == 3
    assert catalog.get("dall-e-3") == ModelSpec(
        id="dall-e-3", label="DALL·E 3", sizes=["1024x1024"], max_n=2
    )
    assert validate_params(catalog, prompt="p", model="dall-e-3", n=2, max_prompt_length=10).n == 2
    assert Catalog.load_with_override(None).models == CATALOG.models


def test_a_default_size_may_be_a_custom_size_inside_the_range() -> None:
    spec = ModelSpec(id="x", label="X", size_range=SizeRange(min_side=256), default_size="300*400")
    assert check_with(spec).size == "300x400"
    with pytest.raises(ValueError, match="default_size '200x400' is not an allowed size"):
        ModelSpec(id="y", label="Y", size_range=SizeRange(min_side=256), default_size="200x400")


def check_with(spec: ModelSpec) -> JobParams:
    return validate_params(Catalog([spec]), prompt="p", model=spec.id, max_prompt_length=10)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ({"model": []}, 'expected {"models": [...]}'),
        ({"models": [{"id": "x", "label": "X", "max-n": 2}]}, "models[0] (x).max-n"),
        ({"models": [{"id": "x", "label": "X", "max_n": 99}]}, "models[0] (x).max_n"),
        (
            {"models": [{"id": "x", "label": "X", "sizes": ["1K"], "default_size": "2K"}]},
            "default_size '2K' is not an allowed size",
        ),
        ({"models": [{"id": "x", "label": "X", "strength": True}]}, "strength needs image_input"),
        ({"models": [{"id": "x", "label": "X"}, {"id": "x", "label": "Y"}]}, "duplicate"),
    ],
)
def test_a_bad_override_file_fails_naming_the_file_and_the_problem(
    tmp_path: Path, content: object, problem: str
) -> None:
    path = write(tmp_path / "operator-models.json", content)
    with pytest.raises(CatalogError) as info:
        Catalog.load_with_override(path)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_a_missing_override_file_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"missing\.json: cannot read it"):
        Catalog.load_with_override(tmp_path / "missing.json")
