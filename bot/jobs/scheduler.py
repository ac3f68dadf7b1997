"""Starts jobs from the fleet-wide fair queue and holds their leases while they run.

Each process runs one `JobScheduler`. `pump()` takes the queue's lock, reads the snapshot
(bot.jobs.fair_queue), takes over jobs whose process died (lease expired) and claims the jobs
the round-robin rule starts next within the caps, then runs each claimed job in a task of
its own. It runs whenever something changed here (a new job, a finished one) and every
`poll_interval` seconds anyway, to see other processes' changes. While a job runs its
lease is renewed every third of `lease_seconds`; a job that stopped being ours (cancelled
elsewhere, or taken over after we stalled) is interrupted. A graceful stop releases every
lease at once, so other processes take the jobs over without waiting for expiry.

Admission (`admit`) checks the queue caps and the cooldown inside the caller's
transaction, under the same lock for every process, so simultaneous requests cannot pass
a cap together.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bot.errors import UserFacingError
from bot.jobs.fair_queue import QueueLimits, QueueStore, plan_starts, plan_takeovers, start_order
from bot.storage import Database, Row, Transaction

log = logging.getLogger(__name__)

__all__ = ["JobScheduler", "QueueFullError", "QueueLimits", "UserQueueFullError", "new_owner_id"]

_CLAIM_LOCK = "imagine-bot:queue:claim"
_ADMIT_LOCK = "imagine-bot:queue:admit"


class QueueFullError(UserFacingError):
    """The whole queue (or this server's share of it) is at its bound: try again later."""


class UserQueueFullError(UserFacingError):
    """This user already has as many jobs waiting as allowed."""


def new_owner_id() -> str:
    """This process's name on the leases it holds: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


# Runs one claimed job: its id and its row as claimed (the runner need not read it again).
RunJob = Callable[[int, Row], Coroutine[Any, Any, None]]


class JobScheduler:
    def __init__(
        self,
        run: RunJob,
        *,
        db: Database,
        limits: QueueLimits,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        poll_interval: float = 1.0,
        cooldown: float = 0.0,
        exempt: Callable[[int], bool] = lambda _: False,
        on_positions: Callable[[dict[int, int]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._run = run
        self._db = db
        self._store = QueueStore(db, clock)
        self._limits = limits
        self.owner = owner or new_owner_id()
        self._lease = lease_seconds
        self._poll_interval = poll_interval
        self._cooldown = cooldown
        self._exempt = exempt
        self._on_positions = on_positions
        self._clock = clock
        self._running: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._closed = False
        self._queued_count = 0
        self._pump_waiters: list[asyncio.Future[dict[int, int]]] = []
        self._pumper: asyncio.Task[None] | None = None

    @property
    def running(self) -> frozenset[int]:
        """Jobs this process runs now."""
        return frozenset(self._running)

    @property
    def queued_count(self) -> int:
        """Jobs waiting fleet-wide, as of the last claim (for the metrics' gauge)."""
        return self._queued_count

    async def start(self, *, exclusive: bool = False) -> None:
        """Begin claiming. `exclusive`: no other process can share this database (SQLite),
        so every lease left by an earlier run is stale and released at once."""
        if exclusive:
            released = await self._store.release_all()
            if released:
                log.info("released %s lease(s) left by the previous run", released)
        await self._store.join(self.owner)
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="scheduler-claim"),
            asyncio.create_task(self._renew_loop(), name="scheduler-leases"),
        ]

    # --- admission ------------------------------------------------------------------------

    async def admit(self, tx: Transaction, *, user_id: int, guild_id: int | None) -> None:
        """Refuse (raise) a new job that would not fit; call inside its reservation's
        transaction so the check and the new job commit together."""
        await tx.lock(_ADMIT_LOCK)
        if self._cooldown > 0 and not self._exempt(user_id):
            last = await self._store.last_request_at(tx, user_id)
            left = 0.0 if last is None else last + self._cooldown - self._clock()
            if left > 0:
                raise UserFacingError("error.cooldown", seconds=max(1, math.ceil(left)))
        total, mine, server = await self._store.waiting_counts(
            tx, user_id=user_id, guild_id=guild_id or 0
        )
        limits = self._limits
        if total >= limits.max_queued or server >= limits.max_queued_per_guild:
            raise QueueFullError("error.queue_full")
        if mine >= limits.max_queued_per_user:
            raise UserQueueFullError("error.user_queue_full", limit=limits.max_queued_per_user)

    async def counts_for(self, user_id: int) -> tuple[int, int]:
        """(running, waiting) jobs of a member across the fleet."""
        return await self._store.user_counts(user_id)

    # --- starting jobs ----------------------------------------------------------------------

    def wake(self) -> None:
        """Something changed: pump soon."""
        self._wake.set()

    async def pump(self, *, position_of: int | None = None) -> int | None:
        """Claim and start what may start now. Returns `position_of`'s place in the queue
        (1-based), or None when it started (or is not waiting).

        Calls that arrive while a claim is running share the next one: a burst of /imagine
        costs one claim transaction per round, not one each (each takes the fleet-wide
        claim lock and reads every unfinished job)."""
        if self._closed:
            return None
        waiter: asyncio.Future[dict[int, int]] = asyncio.get_running_loop().create_future()
        self._pump_waiters.append(waiter)
        if self._pumper is None or self._pumper.done():
            self._pumper = asyncio.create_task(self._pump_rounds(), name="scheduler-pump")
        positions = await waiter
        return positions.get(position_of) if position_of is not None else None

    async def _pump_rounds(self) -> None:
        while self._pump_waiters:
            waiters, self._pump_waiters = self._pump_waiters, []
            try:
                claimed, positions = await self._db.write(self._claim)
            except asyncio.CancelledError:
                for waiter in waiters:
                    waiter.cancel()
                raise
            except Exception as exc:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            # Waiters first, tasks after: both run in call order, so each caller shows its
            # job's queued state before that job's runner first runs (states in order).
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(positions)
            self._start_claimed(claimed)
            if positions and self._on_positions is not None:
                self._on_positions(positions)

    async def _claim(self, tx: Transaction) -> tuple[list[Row], dict[int, int]]:
        await tx.lock(_CLAIM_LOCK)
        now = self._clock()  # after the lock: the wait for it must not shorten the lease
        snapshot = await self._store.snapshot(tx, now=now, owner=self.owner, lease=self._lease)
        takeovers = plan_takeovers(snapshot)
        starts = plan_starts(snapshot, self._limits)
        wanted = takeovers + [job.job_id for job in starts]
        claimed = await self._store.claim(
            tx, wanted, owner=self.owner, until=now + self._lease, now=now
        )
        if takeovers:
            log.info(
                "taking over %s of %s job(s) whose lease ran out: %s",
                len(takeovers),
                len(snapshot.orphans),
                takeovers,
            )
        await self._store.record_served(tx, snapshot, starts)
        order = start_order(snapshot) if snapshot.waiting else []
        self._queued_count = len(order)
        return claimed, {job_id: i for i, job_id in enumerate(order, start=1)}

    def _start_claimed(self, claimed: list[Row]) -> None:
        rows = {int(row["id"]): row for row in claimed}
        taken_over = set(rows) - set(self._running)
        for job_id, row in rows.items():
            if job_id not in self._running and not self._closed:
                task = asyncio.create_task(self._run(job_id, row), name=f"job-{job_id}")
                self._running[job_id] = task
                task.add_done_callback(functools.partial(self._finished, job_id))
        if taken_over:
            log.debug("claimed %s job(s): %s", len(taken_over), sorted(taken_over))

    def stop(self, job_id: int) -> bool:
        """Interrupt a job this process runs (after it was cancelled). False if not here."""
        task = self._running.get(job_id)
        if task is None:
            return False
        task.cancel()
        return True

    def _finished(self, job_id: int, task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        if not task.cancelled() and task.exception() is not None:
            # The lease is kept: it runs out, and the job is tried again after that.
            log.error("job %s: runner crashed", job_id, exc_info=task.exception())
        self.wake()

    async def _claim_loop(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            self._wake.clear()
            try:
                await self.pump()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("could not claim jobs; will try again")

    async def _renew_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._lease / 3)
            try:
                mine = await self._store.renew(self.owner, list(self._running), self._lease)
            except Exception:
                log.exception("could not renew leases; will try again")
                continue
            for job_id, still_mine in mine.items():
                if not still_mine and self.stop(job_id):
                    log.info("job %s: no longer ours (cancelled or taken over); stopped", job_id)

    # --- stopping -----------------------------------------------------------------------------

    async def wait_idle(self) -> None:
        """Wait until nothing runs here or waits anywhere (tests, benchmarks)."""
        while True:
            if self._running:
                await asyncio.gather(*self._running.values(), return_exceptions=True)
            await self.pump()
            if not self._running and not await self._store.count_waiting():
                return
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Stop claiming, interrupt running jobs (they stay resumable) and release their
        leases, so another process takes them over at once."""
        self._closed = True
        for loop in self._loops:
            loop.cancel()
        pumper = [self._pumper] if self._pumper is not None else []
        for task in (*pumper, *self._running.values()):
            task.cancel()
        await asyncio.gather(*self._loops, *pumper, *self._running.values(), return_exceptions=True)
        try:  # the leases first: other processes take these jobs over at once
            released = await self._store.release(self.owner)
            if released:
                log.info("released %s lease(s) for other processes", released)
            await self._store.leave(self.owner)
        except Exception:
            log.exception("could not release the leases; they run out by themselves")
