"""/jobs and /models as text (fast unit tier)."""

from __future__ import annotations

from bot.jobs.models import JobState
from bot.ui.listings import jobs_text, model_line
from tests import factories as f


def test_jobs_list_links_each_job_and_shortens_long_prompts() -> None:
    running = f.job(job_id=7, state=JobState.RUNNING, prompt="x" * 80)
    text = jobs_text("en-US", [running])
    line = text.splitlines()[1]
    assert line.startswith("#7 ") and "x" * 59 + "…" in line and "x" * 60 not in line
    assert f"/channels/{f.GUILD_ID}/{f.CHANNEL_ID}/{running.message_id}" in line
    assert jobs_text("zh-CN", []) != jobs_text("en-US", [])


def test_a_model_line_marks_the_default_and_what_it_can_do() -> None:
    spec = f.CATALOG.get("gpt-image-1")
    assert spec is not None
    line = model_line("en-US", spec, is_default=True)
    assert "gpt-image-1" in line and "⭐" in line and "mask" in line.lower()
    assert "⭐" not in model_line("en-US", spec, is_default=False)
