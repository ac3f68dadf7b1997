"""Comparing the catalog with GeekAI's GET /models, against the fake GeekAI over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.catalog.compare import CatalogDiff, compare_with_api, format_diff
from bot.catalog.spec import Catalog, ModelSpec
from bot.geekai import GeekAIClient
from tests.fakes.geekai_server import FakeGeekAI

CATALOG = Catalog.load()


@pytest.fixture
async def fake() -> AsyncIterator[FakeGeekAI]:
    async with FakeGeekAI() as server:
        yield server


@pytest.fixture
async def client(fake: FakeGeekAI) -> AsyncIterator[GeekAIClient]:
    async with aiohttp.ClientSession() as session:
        yield GeekAIClient(session, base_url=fake.base_url, api_key=fake.api_key)


def image(model_id: str, status: str = "active") -> dict[str, str]:
    return {"id": model_id, "name": model_id, "type": "image", "status": status}


async def test_the_diff_names_models_missing_on_each_side(
    fake: FakeGeekAI, client: GeekAIClient
) -> None:
    fake.models += [
        image("flux-1.1-pro"),  # new at GeekAI
        image("gemini-2.5-flash-image"),  # excluded on purpose: served through chat
        {"id": "kling-v1", "name": "Kling", "type": "video", "status": "active"},
    ]
    fake.models_page_size_cap = 3  # several pages
    diff = await compare_with_api(CATALOG, client)

    assert diff.missing_in_catalog == ["flux-1.1-pro"]
    listed = {
        "gpt-image-1",
        "dall-e-3",
        "cogview-4",
        "cogview-3-flash",
        "doubao-seedream-4.0",
        "nano-banana",
    }
    assert diff.missing_at_api == sorted({m.id for m in CATALOG.models} - listed)
    assert "kling-v1" in diff.missing_at_api  # listed, but not as an image model
    assert "gpt-4o-mini" not in diff.missing_in_catalog  # chat models are ignored
    assert diff.deprecated_at_api == ["cogview-3-flash"]
    assert len(fake.requests_to("GET", "/api/v1/models")) >= 3


async def test_a_catalog_matching_the_api_is_in_sync(
    fake: FakeGeekAI, client: GeekAIClient
) -> None:
    catalog = Catalog(
        [
            ModelSpec(id="gpt-image-1", label="GPT Image 1"),
            ModelSpec(id="dall-e-3", label="DALL·E 3"),
        ]
    )
    fake.models = [
        image("gpt-image-1"),
        image("dall-e-3"),
        {"id": "gpt-4o-mini", "type": "chat", "status": "active"},
    ]
    diff = await compare_with_api(catalog, client)
    assert diff == CatalogDiff(missing_in_catalog=[], missing_at_api=[])
    assert diff.in_sync
    assert format_diff(diff) == "The model catalog matches GeekAI's image models."


def test_the_report_lists_each_side() -> None:
    report = format_diff(
        CatalogDiff(
            missing_in_catalog=["flux-1.1-pro"],
            missing_at_api=["kling-v1", "wanx2.1-t2i-plus"],
        )
    )
    assert report.splitlines() == [
        "Image models GeekAI lists that the catalog lacks (1):",
        "  - flux-1.1-pro",
        "Catalog models GeekAI does not list as image models (2):",
        "  - kling-v1",
        "  - wanx2.1-t2i-plus",
    ]
