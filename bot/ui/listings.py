"""Lists members read as text: the /models catalogue and /jobs (pure: data in, text out)."""

from __future__ import annotations

from bot.catalog.requests import ALWAYS_SENT
from bot.catalog.spec import ModelSpec
from bot.i18n.lookup import t
from bot.jobs.models import Job

JOB_LINK = "https://discord.com/channels/{guild}/{channel}/{message}"


def jobs_text(locale: str, jobs: list[Job]) -> str:
    if not jobs:
        return t(locale, "jobs.none")
    lines = [t(locale, "jobs.header")]
    for job in jobs:
        link = ""
        if job.message_id is not None and job.target.guild_id is not None:
            link = " · " + JOB_LINK.format(
                guild=job.target.guild_id, channel=job.target.channel_id, message=job.message_id
            )
        state = t(locale, f"jobs.state.{job.state.value}")
        prompt = job.params.prompt if len(job.params.prompt) <= 60 else job.params.prompt[:59] + "…"
        lines.append(f"#{job.id} {state} — {prompt}{link}")
    return "\n".join(lines)


def capabilities(locale: str, spec: ModelSpec) -> str:
    """What /models and autocomplete say a model can do beyond text-to-image."""
    caps = []
    if spec.can_vary:
        caps.append(t(locale, "models.can_vary"))
    if spec.mask:
        caps.append(t(locale, "models.takes_mask"))
    if spec.output_formats:
        caps.append(t(locale, "models.formats", formats="/".join(spec.output_formats)))
    return " · ".join(caps)


def model_line(locale: str, spec: ModelSpec, *, is_default: bool) -> str:
    sizes = ", ".join(spec.fixed_sizes[:6]) or "—"
    if len(spec.fixed_sizes) > 6:
        sizes += ", …"
    hidden = ALWAYS_SENT | {"n", "size", "retries"}
    options = ", ".join(sorted(spec.accepted_fields - hidden)) or "—"
    marker = " ⭐" if is_default else ""
    if caps := capabilities(locale, spec):
        marker += f" — {caps}"
    return t(
        locale, "models.line", id=spec.id, label=spec.label, sizes=sizes, options=options,
        max_n=spec.max_n, cost=spec.cost, marker=marker,
    )  # fmt: skip
