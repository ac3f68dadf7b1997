"""Compare the model catalog with what GeekAI lists (`GET /models`), for operators.

Answers two questions: which image models could the catalog add, and which catalog models
does GeekAI not (or no longer) offer. Run it from a CLI or an owner command; it makes one
paginated request and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.catalog.spec import Catalog
from bot.geekai import GeekAIClient, ModelInfo


@dataclass(frozen=True)
class CatalogDiff:
    missing_in_catalog: list[str]  # image models GeekAI lists that the catalog lacks
    missing_at_api: list[str]  # catalog models GeekAI does not list as image models
    deprecated_at_api: list[str] = field(default_factory=list)  # in both, marked deprecated

    @property
    def in_sync(self) -> bool:
        return not (self.missing_in_catalog or self.missing_at_api or self.deprecated_at_api)


def diff_models(catalog: Catalog, api_models: list[ModelInfo]) -> CatalogDiff:
    """The diff between the catalog and a `/models` listing (pure: easy to test)."""
    images = {m.id: m for m in api_models if (m.type or "").lower() == "image"}
    ours = {spec.id for spec in catalog.models}
    return CatalogDiff(
        missing_in_catalog=sorted(set(images) - ours - catalog.excluded),
        missing_at_api=sorted(ours - set(images)),
        deprecated_at_api=sorted(
            i for i in ours & set(images) if (images[i].status or "").lower() == "deprecated"
        ),
    )


async def compare_with_api(catalog: Catalog, client: GeekAIClient) -> CatalogDiff:
    """Fetch GeekAI's model list and diff it with the catalog (GeekAI errors propagate)."""
    return diff_models(catalog, await client.list_models())


def format_diff(diff: CatalogDiff) -> str:
    """A plain-text report for a terminal or a log."""
    if diff.in_sync:
        return "The model catalog matches GeekAI's image models."
    sections = [
        ("Image models GeekAI lists that the catalog lacks", diff.missing_in_catalog),
        ("Catalog models GeekAI does not list as image models", diff.missing_at_api),
        ("Catalog models GeekAI marks deprecated", diff.deprecated_at_api),
    ]
    lines: list[str] = []
    for title, ids in sections:
        if ids:
            lines.append(f"{title} ({len(ids)}):")
            lines.extend(f"  - {model_id}" for model_id in ids)
    return "\n".join(lines)
