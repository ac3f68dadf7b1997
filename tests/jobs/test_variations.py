"""Vary's pure parts: which options carry over to which model, and the catalog's new fields."""

from __future__ import annotations

import pytest

from bot.catalog.requests import build_request
from bot.catalog.spec import Catalog, ModelSpec
from bot.catalog.validation import ImageInput, InvalidRequestError, validate_params
from bot.jobs.models import DiscordTarget, Job, JobParams, JobState
from bot.jobs.variations import carry_over
from bot.ui.components import result_buttons

CATALOG = Catalog.load()
IMAGE = ImageInput("a.png", "image/png", 1000, "https://cdn.example/a.png")
MASK = ImageInput("m.png", "image/png", 1000, "https://cdn.example/m.png")


def spec(model_id: str) -> ModelSpec:
    found = CATALOG.get(model_id)
    assert found is not None
    return found


def test_on_its_own_model_everything_carries_over_with_the_kinds_strength() -> None:
    p = JobParams(model="jimeng_t2i_v40", prompt="p", size="2304x1728", n=3)
    options = carry_over(spec("jimeng_t2i_v40"), p, "subtle")
    assert (options.model, options.size, options.n, options.strength) == (
        "jimeng_t2i_v40", "2304x1728", 3, 0.3,
    )  # fmt: skip
    assert carry_over(spec("jimeng_t2i_v40"), p, "strong").strength == 0.7


def test_on_the_vary_model_only_what_it_takes_carries_over() -> None:
    p = JobParams(model="cogview-4", prompt="p", size="768x1344", quality="hd", n=4)
    options = carry_over(spec("jimeng_t2i_v40"), p, "strong")
    assert options.size is None and options.quality is None and options.n == 4
    kept = carry_over(spec("doubao-seedream-4.0"), p, "strong")
    assert kept.strength is None  # Seedream takes images but no strength


def test_masks_and_output_formats_are_validated_against_the_model() -> None:
    def check(**kwargs: object) -> JobParams:
        base: dict[str, object] = {"prompt": "p", "model": "gpt-image-1", "max_prompt_length": 99}
        return validate_params(CATALOG, **{**base, **kwargs})  # type: ignore[arg-type]

    edit = check(image=IMAGE, mask=MASK, output_format="JPEG")
    assert edit.output_format == "jpg" and edit.mask_url == MASK.url
    request = build_request(spec("gpt-image-1"), edit.model_copy(update={"retries": 1}))
    body = request.to_body()
    assert request.path == "/images/edits" and body["mask"] == MASK.url
    assert body["retries"] == 1 and "output_format" not in body  # not an edit field
    cases: list[tuple[dict[str, object], str]] = [
        ({"image": IMAGE}, "error.no_image_input"),  # GPT Image 1: an image only with a mask
        ({"mask": MASK}, "error.mask_needs_image"),
        ({"model": "dall-e-3", "image": IMAGE, "mask": MASK}, "error.no_mask"),
        ({"model": "dall-e-3", "output_format": "png"}, "error.no_output_format"),
        ({"output_format": "gif"}, "error.bad_output_format"),
    ]
    for kwargs, key in cases:
        with pytest.raises(InvalidRequestError) as info:
            check(**kwargs)
        assert info.value.key == key, kwargs


def test_watermark_is_sent_only_to_models_that_take_it() -> None:
    on = JobParams(model="nano-banana", prompt="p", watermark=True)
    assert build_request(spec("nano-banana"), on).to_body()["watermark"] is True
    stray = JobParams(model="dall-e-3", prompt="p", watermark=True)
    assert "watermark" not in build_request(spec("dall-e-3"), stray).to_body()


def _job(locale: str) -> Job:
    target = DiscordTarget(
        guild_id=1, channel_id=2, user_id=3, locale=locale, application_id=None,
        interaction_id=None, interaction_token=None, interaction_created_at=None,
        upload_limit=10 * 2**20,
    )  # fmt: skip
    return Job(
        id=123456789, target=target, message_id=None, params=JobParams(model="m", prompt="p"),
        state=JobState.SUCCEEDED, task_id=None, error_code=None, error_message=None,
        images_delivered=10, submit_attempts=1, parent_job_id=None, created_at=0.0,
        updated_at=0.0, submitted_at=None, started_at=None, finished_at=None,
    )  # fmt: skip


def test_ten_images_still_fit_discords_five_rows_with_every_button_and_the_menu() -> None:
    rows = result_buttons(_job("zh-CN"), 10).to_components()
    assert len(rows) == 4 and all(len(row["components"]) <= 5 for row in rows)
    emojis = [c.get("emoji", {}).get("name") for c in rows[0]["components"]]
    assert emojis == ["🔄", "✏️", "🗑", "🖌️"]
    [menu] = rows[3]["components"]
    assert menu["type"] == 3 and len(menu["options"]) == 20 <= 25
    assert (menu["options"][1]["label"], menu["options"][1]["value"]) == (
        "图 1 · 强烈变化",
        "1:strong",
    )
    ids = [c["custom_id"] for row in rows for c in row["components"]]
    assert len(ids) == len(set(ids)) and all(len(i) <= 100 for i in ids)
