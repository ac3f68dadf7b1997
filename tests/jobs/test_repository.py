from __future__ import annotations

from bot.jobs.models import DiscordTarget, JobParams, JobState
from bot.jobs.repository import JobRepository, StateRepository
from bot.storage import Database

TARGET = DiscordTarget(
    guild_id=1,
    channel_id=2,
    user_id=3,
    locale="en-US",
    application_id=4,
    interaction_id=5,
    interaction_token="secret-token",
    interaction_created_at=100.0,
    upload_limit=10_000_000,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_job_lifecycle_round_trips(db: Database) -> None:
    clock = Clock()
    repo = JobRepository(db, clock)
    params = JobParams(model="dall-e-3", prompt="a fox", size="1024x1024")
    job = await repo.create(TARGET, params)
    assert job.state is JobState.QUEUED and job.params == params and job.target == TARGET

    marked = await repo.note_submit_attempt(job.id)
    assert marked is not None and marked.state is JobState.SUBMITTING
    assert marked.submit_attempts == 1
    clock.now = 1001.0
    pending = await repo.transition(job.id, JobState.PENDING, task_id="t-1")
    assert pending is not None and pending.task_id == "t-1" and pending.submitted_at == 1001.0
    clock.now = 1005.0
    await repo.transition(job.id, JobState.RUNNING)
    clock.now = 1006.0
    again = await repo.transition(job.id, JobState.PENDING)
    assert again is not None and again.submitted_at == 1001.0  # first entry wins
    clock.now = 1020.0
    done = await repo.transition(job.id, JobState.SUCCEEDED, images_delivered=1)
    assert done is not None and done.finished_at == 1020.0
    assert done.target.interaction_token is None  # forgotten at the end
    assert await repo.recent_durations("dall-e-3") == [19.0]
    # A finished job cannot move again.
    assert await repo.transition(job.id, JobState.FAILED) is None
    assert await repo.unfinished() == []


async def test_unfinished_lists_oldest_first(db: Database) -> None:
    repo = JobRepository(db)
    params = JobParams(model="dall-e-3", prompt="p")
    ids = [(await repo.create(TARGET, params)).id for _ in range(3)]
    await repo.transition(ids[1], JobState.CANCELLED)
    assert [j.id for j in await repo.unfinished()] == [ids[0], ids[2]]


async def test_state_repository(db: Database) -> None:
    state = StateRepository(db)
    assert await state.get("k") is None
    await state.put("k", "1")
    await state.put("k", "2")
    assert await state.get("k") == "2"
