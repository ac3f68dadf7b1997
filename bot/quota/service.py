"""Quota decisions: which allowance applies, reserve/commit/refund, status and admin changes.

No Discord here: callers pass plain ids (guild, user, the member's role ids). The job
service calls `check_and_reserve` inside its own `db.write` body, right after inserting
the job row, so the job and its reservation are durable together; `commit`/`refund` take
the connection of the transaction that moves the job to its final state. Admin changes
open their own transaction and write their audit row in it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn

from bot.quota import ledger, ledger_reads, store
from bot.quota.ledger import Settlement
from bot.quota.policy import (
    Policy,
    PolicyScope,
    PolicySource,
    resolve_policy,
    validate_credits,
)
from bot.quota.reading import QuotaReader, _Allowance
from bot.quota.types import (
    CreditChange,
    PolicyChange,
    QuotaBlockedError,
    QuotaCeilingError,
    QuotaExceededError,
    QuotaStatus,
    Reservation,
)
from bot.storage import Transaction

log = logging.getLogger(__name__)


class QuotaService(QuotaReader):
    # --- the job road ---------------------------------------------------------------------

    async def check_and_reserve(
        self,
        conn: Transaction,
        *,
        guild_id: int,
        user_id: int,
        role_ids: Sequence[int],
        job_id: int,
        model_cost: int,
        n: int,
    ) -> Reservation:
        """Reserve n × model_cost credits for `job_id` or raise why not (inside a transaction).

        Owners and unlimited policies are never refused; their reservation is still written
        with its real cost so that usage and reports explain what they spent.
        """
        if model_cost < 0 or n < 1:
            raise ValueError(f"bad request cost: model_cost={model_cost} n={n}")
        amount = model_cost * n
        # Held to the end of the caller's transaction: this member's check and insert run
        # alone, in this process and every other one sharing the database.
        await conn.lock(f"quota:{guild_id}:{user_id}")
        now = self._clock()
        allowance = await self._allowance(conn, guild_id, user_id, role_ids, now)
        if allowance.policy.is_blocked:
            await _unless_granted(conn, guild_id, user_id, allowance.period_start)
        if allowance.source is not PolicySource.OWNER:
            await self._check_ceilings(conn, guild_id, user_id, amount, now)
        accepted = await ledger.reserve(
            conn,
            guild_id=guild_id,
            user_id=user_id,
            job_id=job_id,
            amount=amount,
            images=n,
            limit=allowance.policy.limit,
            period_start=allowance.period_start,
            now=now,
            note="owner" if allowance.source is PolicySource.OWNER else None,
        )
        if not accepted:
            await _refuse(conn, guild_id, user_id, job_id, amount, allowance)
        return Reservation(
            job_id=job_id,
            amount=amount,
            policy=allowance.policy,
            source=allowance.source,
            period_start=allowance.period_start,
            resets_at=allowance.resets_at,
        )

    async def _check_ceilings(
        self, conn: Transaction, guild_id: int, user_id: int, amount: int, now: float
    ) -> None:
        """The operator's daily ceilings, under locks every process shares (taken after the
        member's own, always in this order, so two reservations never wait on each other)."""
        day_start = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0)
        since = day_start.replace(microsecond=0).timestamp()
        resets_at = since + 86400
        for scope, cap, key in (
            ("user", self._ceilings.user_daily, {"user_id": user_id}),
            ("guild", self._ceilings.guild_daily, {"guild_id": guild_id}),
        ):
            if cap is None:
                continue
            await conn.lock(f"quota-{scope}:{next(iter(key.values()))}")
            spent = await ledger_reads.job_spend(conn, since=since, **key)
            if spent + amount > cap:
                log.info("quota: %s ceiling refused %s credits (%s of %s spent)", scope, amount,
                         spent, cap)  # fmt: skip
                raise QuotaCeilingError(
                    scope, left=max(0, cap - spent), needed=amount, resets_at=resets_at
                )

    async def commit(
        self, conn: Transaction, job_id: int, delivered_images: int
    ) -> Settlement | None:
        """Charge the job for the images delivered, release the rest (idempotent)."""
        settlement = await ledger.settle(
            conn, job_id=job_id, delivered_images=delivered_images, now=self._clock()
        )
        _log_settlement(settlement)
        return settlement

    async def refund(self, conn: Transaction, job_id: int) -> Settlement | None:
        """Give the job's whole reservation back (idempotent; no-op once settled)."""
        settlement = await ledger.refund(conn, job_id=job_id, now=self._clock())
        _log_settlement(settlement)
        return settlement

    async def settle_finished_jobs(self) -> list[Settlement]:
        """At start-up: settle reservations of jobs that ended before a crash could settle.

        A succeeded job is committed for the images it recorded as delivered; a failed or
        cancelled one is refunded. Jobs still in flight keep their reservation.
        """

        async def settle(conn: Transaction) -> list[Settlement]:
            settlements = []
            for item in await ledger_reads.unsettled_finished_jobs(conn):
                if item.job_state == "succeeded":
                    result = await self.commit(conn, item.job_id, item.images_delivered)
                else:
                    result = await self.refund(conn, item.job_id)
                if result is not None:
                    settlements.append(result)
            return settlements

        return await self._db.write(settle)

    # --- admin changes --------------------------------------------------------------------

    async def set_user_policy(
        self, guild_id: int, *, actor_id: int, user_id: int, credits: object, period: str
    ) -> PolicyChange:
        policy = Policy.from_input(credits, period)
        return await self._put_policy(guild_id, actor_id, PolicyScope.USER, user_id, policy)

    async def set_role_policy(
        self, guild_id: int, *, actor_id: int, role_id: int, credits: object, period: str
    ) -> PolicyChange:
        policy = Policy.from_input(credits, period)
        return await self._put_policy(guild_id, actor_id, PolicyScope.ROLE, role_id, policy)

    async def set_default_policy(
        self, guild_id: int, *, actor_id: int, credits: object, period: str
    ) -> PolicyChange:
        policy = Policy.from_input(credits, period)
        return await self._put_policy(guild_id, actor_id, PolicyScope.GUILD, guild_id, policy)

    async def clear_user_policy(
        self, guild_id: int, *, actor_id: int, user_id: int, role_ids: Sequence[int] = ()
    ) -> PolicyChange:
        """Remove a user's override; `effective` is what their roles / defaults now give."""
        return await self._put_policy(
            guild_id, actor_id, PolicyScope.USER, user_id, None, role_ids=role_ids
        )

    async def clear_role_policy(
        self, guild_id: int, *, actor_id: int, role_id: int
    ) -> PolicyChange:
        return await self._put_policy(guild_id, actor_id, PolicyScope.ROLE, role_id, None)

    async def clear_default_policy(self, guild_id: int, *, actor_id: int) -> PolicyChange:
        return await self._put_policy(guild_id, actor_id, PolicyScope.GUILD, guild_id, None)

    async def grant(
        self,
        guild_id: int,
        *,
        actor_id: int,
        user_id: int,
        credits: object,
        role_ids: Sequence[int] = (),
    ) -> CreditChange:
        """One-off extra credits for the user's current period (1…MAX_CREDITS)."""
        amount = validate_credits(credits, minimum=1)
        now = self._clock()

        async def grant(conn: Transaction) -> CreditChange:
            before = await self._status(conn, guild_id, user_id, role_ids, now)
            await ledger.grant(
                conn, guild_id=guild_id, user_id=user_id, credits=amount, actor_id=actor_id, now=now
            )
            after = await self._status(conn, guild_id, user_id, role_ids, now)
            await self._audit(conn, guild_id, actor_id, "grant", f"user:{user_id}", before, after)
            return CreditChange(credits=amount, status=after)

        return await self._db.write(grant)

    async def reset_user(
        self, guild_id: int, *, actor_id: int, user_id: int, role_ids: Sequence[int] = ()
    ) -> CreditChange:
        """Cancel the user's settled usage in the current period (in-flight jobs still count)."""
        now = self._clock()

        async def reset(conn: Transaction) -> CreditChange:
            before = await self._status(conn, guild_id, user_id, role_ids, now)
            cancelled = await ledger.reset(
                conn,
                guild_id=guild_id,
                user_id=user_id,
                period_start=before.period_start,
                actor_id=actor_id,
                now=now,
            )
            after = await self._status(conn, guild_id, user_id, role_ids, now)
            await self._audit(conn, guild_id, actor_id, "reset", f"user:{user_id}", before, after)
            return CreditChange(credits=cancelled, status=after)

        return await self._db.write(reset)

    async def _put_policy(
        self,
        guild_id: int,
        actor_id: int,
        scope: PolicyScope,
        target_id: int,
        policy: Policy | None,
        *,
        role_ids: Sequence[int] = (),
    ) -> PolicyChange:
        now = self._clock()
        target = f"{scope.value}:{target_id}"
        action = ("set-" if policy is not None else "clear-") + scope.value

        async def put(conn: Transaction) -> PolicyChange:
            before = await store.get_policy(conn, guild_id, scope, target_id)
            if policy is None:
                await store.delete_policy(conn, guild_id, scope, target_id)
            else:
                await store.put_policy(
                    conn, guild_id, scope, target_id, policy, actor_id=actor_id, now=now
                )
            await store.write_audit(
                conn, guild_id=guild_id, actor_id=actor_id, action=action, target=target,
                before=None if before is None else before.as_dict(),
                after=None if policy is None else policy.as_dict(), now=now,
            )  # fmt: skip
            effective, source = await self._effective_after(
                conn, guild_id, scope, target_id, role_ids
            )
            return PolicyChange(target, before, policy, effective, source)

        change = await self._db.write(put)
        before = change.before
        log.info("quota: %s in guild %s by %s: %s → %s", target, guild_id, actor_id, before, policy)
        return change

    async def _effective_after(
        self,
        conn: Transaction,
        guild_id: int,
        scope: PolicyScope,
        target_id: int,
        role_ids: Sequence[int],
    ) -> tuple[Policy, PolicySource]:
        """What now applies to the change's target: the user, the role's members, or default."""
        if scope is PolicyScope.USER:
            allowance = await self._allowance(conn, guild_id, target_id, role_ids, self._clock())
            return allowance.policy, allowance.source
        if scope is PolicyScope.ROLE:
            role_policy = await store.get_policy(conn, guild_id, scope, target_id)
            if role_policy is not None:
                return role_policy, PolicySource.ROLE
        default = await store.get_policy(conn, guild_id, PolicyScope.GUILD, guild_id)
        return resolve_policy(None, [], default, self._global_default)

    async def _audit(
        self,
        conn: Transaction,
        guild_id: int,
        actor_id: int,
        action: str,
        target: str,
        before: QuotaStatus,
        after: QuotaStatus,
    ) -> None:
        await store.write_audit(
            conn, guild_id=guild_id, actor_id=actor_id, action=action, target=target,
            before=before.as_dict(), after=after.as_dict(), now=self._clock(),
        )  # fmt: skip


async def _unless_granted(conn: Transaction, guild_id: int, user_id: int, since: float) -> None:
    """A blocked (0) policy refuses outright unless credits were granted this period."""
    if (await ledger_reads.usage(conn, guild_id, user_id, since=since)).granted == 0:
        raise QuotaBlockedError


async def _refuse(
    conn: Transaction, guild_id: int, user_id: int, job_id: int, amount: int, allowance: _Allowance
) -> NoReturn:
    """Refuse with what is left: limit − (used − granted), the sum the reservation was
    checked against (`ledger_reads.net_use`, cheaper than the whole `ledger_reads.usage`)."""
    limit = allowance.policy.limit
    spent = await ledger_reads.net_use(conn, guild_id, user_id, since=allowance.period_start)
    left = 0 if limit is None else max(0, limit - spent)
    log.info(
        "quota: user %s in guild %s refused job %s (needs %s, left %s)",
        user_id, guild_id, job_id, amount, left,
    )  # fmt: skip
    raise QuotaExceededError(left=left, needed=amount, resets_at=allowance.resets_at)


def _log_settlement(settlement: Settlement | None) -> None:
    if settlement is not None and not settlement.repeated:
        log.info(
            "quota: job %s %s: charged %s, released %s",
            settlement.job_id, settlement.kind.value, settlement.charged, settlement.released,
        )  # fmt: skip
