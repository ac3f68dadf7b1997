"""Tell the operator about problems only they can fix (bad API key, no balance): once per
kind per hour, in the log and optionally in an operator channel — not once per job."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Sender = Callable[[str], Awaitable[None]]


class OperatorAlerts:
    def __init__(
        self,
        send: Sender | None = None,
        *,
        interval: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._monotonic = monotonic
        self._last: dict[str, float] = {}

    async def alert(self, kind: str, detail: str) -> bool:
        """Raise an alert unless the same kind was raised within the interval."""
        now = self._monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            return False
        self._last[kind] = now
        log.error("operator alert [%s]: %s", kind, detail)
        if self._send is not None:
            try:
                await self._send(f"⚠️ imagine-bot: {kind}: {detail}"[:2000])
            except Exception:  # the alert channel itself failing must not fail a job
                log.exception("could not post the operator alert to its channel")
        return True
