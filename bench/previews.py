"""Fixes proposed for files outside bench/, applied to the bot process by monkeypatching so
their effect can be measured before they land (`BENCH_PREVIEW=name[,name...]`).

Each mirrors an exact change written up in docs/benchmarks.md; none is ever active in the
figures reported as the bot's own. A preview is removed once its change lands (as
`close-uploads` and `no-message-events` have: bot/ui/messenger.py, bot/bot.py); its name is
then refused like any unknown one. Names:

* `final-edit-now` (bot/ui/messenger.py): `Messenger.finish` does not wait out the
  status-edit interval; the final view replaces whatever status was pending. (Since
  388523b `_deliver` no longer shows "delivering", so this only matters when the last
  status edit was under 1.5 s before the end, e.g. pending → running → done quickly.)
"""

from __future__ import annotations

from typing import Any

from bot.jobs.models import Job
from bot.ui.messenger import Messenger, _MessageState


def final_edit_now(_: str) -> None:
    finish, wait = Messenger.finish, Messenger._wait_interval
    finishing: set[int] = set()

    async def wait_unless_final(self: Messenger, state: Any) -> None:
        if id(state) not in finishing:
            await wait(self, state)

    async def finish_now(self: Messenger, job: Job, *args: Any, **kwargs: Any) -> int:
        state = self._states.setdefault(job.id, _MessageState())
        finishing.add(id(state))
        try:
            return await finish(self, job, *args, **kwargs)
        finally:
            finishing.discard(id(state))

    Messenger.finish = finish_now  # type: ignore[method-assign]
    Messenger._wait_interval = wait_unless_final  # type: ignore[method-assign]


PREVIEWS = {
    "final-edit-now": final_edit_now,
}


def apply(spec: str) -> None:
    """Apply each `name[=value]` of a comma-separated list."""
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        if name not in PREVIEWS:
            raise SystemExit(f"unknown BENCH_PREVIEW {name!r}; known: {sorted(PREVIEWS)}")
        PREVIEWS[name](value)
