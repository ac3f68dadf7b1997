"""When to ask GeekAI about a task next (being split into modules: planner.py for now)."""

from bot.jobs.polling.planner import (
    BackoffSchedule,
    FixedSchedule,
    JobPolls,
    JobTrack,
    PollPlan,
    PollPlanner,
    PollSchedule,
    ScheduleBook,
    ScheduleProvider,
    StaticSchedules,
)

__all__ = [
    "BackoffSchedule",
    "FixedSchedule",
    "JobPolls",
    "JobTrack",
    "PollPlan",
    "PollPlanner",
    "PollSchedule",
    "ScheduleBook",
    "ScheduleProvider",
    "StaticSchedules",
]
