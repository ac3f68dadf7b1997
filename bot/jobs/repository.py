"""SQL for jobs. The only module (with the ledger's) that holds SQL; always bound parameters."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.jobs.models import TERMINAL_STATES, DiscordTarget, Job, JobParams, JobState
from bot.storage import Database, Row, Transaction

Clock = Callable[[], float]


def _row_to_job(row: Row) -> Job:
    target = DiscordTarget(
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        user_id=row["user_id"],
        locale=row["locale"],
        application_id=row["application_id"],
        interaction_id=row["interaction_id"],
        interaction_token=row["interaction_token"],
        interaction_created_at=row["interaction_created_at"],
        upload_limit=row["upload_limit"],
        reply_to_message_id=row["reply_to_message_id"],
    )
    return Job(
        id=row["id"],
        target=target,
        message_id=row["message_id"],
        params=JobParams.model_validate_json(row["params"]),
        state=JobState(row["state"]),
        task_id=row["task_id"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        images_delivered=row["images_delivered"],
        submit_attempts=row["submit_attempts"],
        parent_job_id=row["parent_job_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        submitted_at=row["submitted_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


# Timestamp column stamped the first time a job enters a state.
_STAMP = {
    JobState.PENDING: "submitted_at",
    JobState.RUNNING: "started_at",
    JobState.SUCCEEDED: "finished_at",
    JobState.FAILED: "finished_at",
    JobState.CANCELLED: "finished_at",
}


class JobRepository:
    def __init__(self, db: Database, clock: Clock = time.time) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self, target: DiscordTarget, params: JobParams, *, parent_job_id: int | None = None
    ) -> Job:
        async def insert(conn: Transaction) -> Job:
            return await self.insert(conn, target, params, parent_job_id=parent_job_id)

        return await self._db.write(insert)

    async def insert(
        self,
        conn: Transaction,
        target: DiscordTarget,
        params: JobParams,
        *,
        parent_job_id: int | None = None,
    ) -> Job:
        """Insert a job inside the caller's transaction (e.g. with its credit reservation)."""
        now = self._clock()
        row = await conn.fetchone(
            "INSERT INTO jobs (guild_id, channel_id, user_id, locale, application_id,"
            " interaction_id, interaction_token, interaction_created_at, upload_limit,"
            " model, prompt, params, parent_job_id, created_at, updated_at,"
            " reply_to_message_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                target.guild_id,
                target.channel_id,
                target.user_id,
                target.locale,
                target.application_id,
                target.interaction_id,
                target.interaction_token,
                target.interaction_created_at,
                target.upload_limit,
                params.model,
                params.prompt,
                params.model_dump_json(),
                parent_job_id,
                now,
                now,
                target.reply_to_message_id,
            ),
        )
        assert row is not None
        return _row_to_job(row)

    @staticmethod
    def from_row(row: Row) -> Job:
        """The job a `SELECT *` (or `RETURNING *`) row of `jobs` holds."""
        return _row_to_job(row)

    async def get(self, job_id: int) -> Job | None:
        row = await self._db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _row_to_job(row)

    async def by_message(self, message_id: int) -> Job | None:
        """The job whose status/result message this is."""
        row = await self._db.fetchone(
            "SELECT * FROM jobs WHERE message_id = ? ORDER BY id DESC LIMIT 1", (message_id,)
        )
        return None if row is None else _row_to_job(row)

    async def unfinished_for(self, user_id: int) -> list[Job]:
        """A user's jobs not yet finished, oldest first (for /jobs)."""
        placeholders = ", ".join("?" for _ in TERMINAL_STATES)
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE user_id = ? AND state NOT IN ({placeholders})"  # noqa: S608
            " ORDER BY id LIMIT 50",
            (user_id, *TERMINAL_STATES),
        )
        return [_row_to_job(row) for row in rows]

    async def claim_reroll(self, message_id: int, user_id: int) -> bool:
        """Record that this member rerolled this message by reaction; False if they had."""

        async def claim(conn: Transaction) -> bool:
            inserted = await conn.execute(
                "INSERT INTO reroll_claims (message_id, user_id, created_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (message_id, user_id, self._clock()),
            )
            return inserted == 1

        return await self._db.write(claim)

    async def release_reroll(self, message_id: int, user_id: int) -> None:
        """Forget a claim whose reroll was refused (so a later try can work)."""
        await self._db.execute(
            "DELETE FROM reroll_claims WHERE message_id = ? AND user_id = ? AND job_id IS NULL",
            (message_id, user_id),
        )

    async def bind_reroll(self, message_id: int, user_id: int, job_id: int) -> None:
        await self._db.execute(
            "UPDATE reroll_claims SET job_id = ? WHERE message_id = ? AND user_id = ?",
            (job_id, message_id, user_id),
        )

    async def unfinished(self) -> list[Job]:
        """Every job not yet succeeded, failed or cancelled, oldest first."""
        placeholders = ", ".join("?" for _ in TERMINAL_STATES)
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE state NOT IN ({placeholders}) ORDER BY id",  # noqa: S608
            tuple(TERMINAL_STATES),
        )
        return [_row_to_job(row) for row in rows]

    async def set_message(self, job_id: int, message_id: int) -> None:
        await self._update(job_id, {"message_id": message_id})

    async def note_submit_attempt(self, job_id: int, *, owner: str | None = None) -> Job | None:
        """Mark that a submit is about to be sent (so a restart knows one may exist).

        With `owner`, only while that process holds the job's lease (never two submits)."""
        return await self._update(
            job_id,
            {"state": JobState.SUBMITTING.value},
            increment="submit_attempts",
            only_from=(JobState.QUEUED, JobState.SUBMITTING),
            owner=owner,
        )

    async def transition(
        self,
        job_id: int,
        state: JobState,
        *,
        only_from: Iterable[JobState] | None = None,
        owner: str | None = None,
        **fields: Any,
    ) -> Job | None:
        """Move a job to `state` (and set `fields`); None if it was not in `only_from` (or,
        with `owner`, if that process no longer holds its lease).

        Entering a terminal state also forgets the interaction token and ends the lease.
        """

        sql, params = self._transition_sql(job_id, state, only_from, owner, fields)
        return _job_or_none(await self._db.write_fetchone(sql, params))

    async def transition_in(
        self,
        conn: Transaction,
        job_id: int,
        state: JobState,
        *,
        only_from: Iterable[JobState] | None = None,
        owner: str | None = None,
        **fields: Any,
    ) -> Job | None:
        """`transition` inside the caller's transaction (e.g. with the credit settlement)."""
        sql, params = self._transition_sql(job_id, state, only_from, owner, fields)
        return _job_or_none(await conn.fetchone(sql, params))

    def _transition_sql(
        self,
        job_id: int,
        state: JobState,
        only_from: Iterable[JobState] | None,
        owner: str | None,
        fields: dict[str, Any],
    ) -> tuple[str, list[Any]]:
        values: dict[str, Any] = {"state": state.value, **fields}
        stamp = _STAMP.get(state)
        if stamp is not None:
            values.setdefault(stamp, self._clock())
        if state in TERMINAL_STATES:
            # The lease ends; lease_owner stays as the record of which process ran it last.
            values.update(interaction_token=None, lease_expires_at=None)
        allowed = (
            tuple(only_from)
            if only_from is not None
            else tuple(s for s in JobState if s not in TERMINAL_STATES)
        )
        return self._update_sql(job_id, values, only_from=allowed, keep_stamps=True, owner=owner)

    async def recent_durations(self, model: str, limit: int = 200) -> list[float]:
        """Seconds from submit to finish of the model's latest successful jobs."""
        rows = await self._db.fetchall(
            "SELECT finished_at - submitted_at FROM jobs"
            " WHERE state = 'succeeded' AND model = ? AND submitted_at IS NOT NULL"
            " ORDER BY finished_at DESC LIMIT ?",
            (model, limit),
        )
        return [float(r[0]) for r in rows if r[0] is not None]

    async def _update(
        self,
        job_id: int,
        values: dict[str, Any],
        *,
        increment: str | None = None,
        only_from: tuple[JobState, ...] | None = None,
        owner: str | None = None,
    ) -> Job | None:
        sql, params = self._update_sql(
            job_id, values, increment=increment, only_from=only_from, owner=owner
        )
        return _job_or_none(await self._db.write_fetchone(sql, params))

    def _update_sql(
        self,
        job_id: int,
        values: dict[str, Any],
        *,
        increment: str | None = None,
        only_from: tuple[JobState, ...] | None = None,
        keep_stamps: bool = False,
        owner: str | None = None,
    ) -> tuple[str, list[Any]]:
        """One `UPDATE jobs … RETURNING *` of `values` (plus `updated_at`), only from those
        states and, with `owner`, only while that process holds the lease."""
        values = {**values, "updated_at": self._clock()}
        assignments = []
        params: list[Any] = []
        for column, value in values.items():
            if column not in _UPDATABLE:
                raise ValueError(f"not an updatable column: {column}")
            if keep_stamps and column in _STAMP.values():
                # First entry into a state wins: a resumed job keeps its original times.
                assignments.append(f"{column} = COALESCE({column}, ?)")
            else:
                assignments.append(f"{column} = ?")
            params.append(value)
        if increment is not None:
            assignments.append(f"{increment} = {increment} + 1")
        sql = f"UPDATE jobs SET {', '.join(assignments)} WHERE id = ?"  # noqa: S608
        params.append(job_id)
        if only_from is not None:
            sql += f" AND state IN ({', '.join('?' for _ in only_from)})"
            params.extend(s.value for s in only_from)
        if owner is not None:
            sql += " AND lease_owner = ?"
            params.append(owner)
        return sql + " RETURNING *", params


def _job_or_none(row: Row | None) -> Job | None:
    return None if row is None else _row_to_job(row)


# Column names are interpolated above, so they come only from this fixed set.
_UPDATABLE = frozenset(
    {
        "state",
        "message_id",
        "task_id",
        "error_code",
        "error_message",
        "images_delivered",
        "submit_attempts",
        "interaction_token",
        "updated_at",
        "submitted_at",
        "started_at",
        "finished_at",
        "lease_owner",
        "lease_expires_at",
    }
)


class StateRepository:
    """Key/value facts the bot keeps between runs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT value FROM bot_state WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def put(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO bot_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
