"""Quota figures rendered as sentences in the reader's language (pure)."""

from __future__ import annotations

from bot.i18n.lookup import t
from bot.quota.ledger_reads import LedgerEntry
from bot.quota.policy import Policy
from bot.quota.types import PolicyChange, QuotaStatus, UsageReport, UserReport


def allowance(locale: str, policy: Policy) -> str:
    if policy.is_unlimited:
        return t(locale, "quota.allowance.unlimited")
    if policy.is_blocked:
        return t(locale, "quota.allowance.blocked")
    period = t(locale, f"quota.period.{policy.period.value}")
    return t(locale, "quota.allowance", credits=policy.credits, period=period)


def _left(status: QuotaStatus) -> str:
    return "∞" if status.left is None else str(status.left)


def status_text(locale: str, status: QuotaStatus, *, running: int, queued: int) -> str:
    """/quota: allowance and its source, used and left, when it resets, jobs in flight."""
    lines = [
        t(
            locale,
            "quota.status.header",
            allowance=allowance(locale, status.policy),
            source=t(locale, f"quota.source.{status.source.value}"),
        )
    ]
    if status.left is None:
        lines.append(t(locale, "quota.status.usage_unlimited", used=status.used))
    else:
        lines.append(t(locale, "quota.status.usage", used=status.used, left=status.left))
    if status.resets_at is not None:
        lines.append(t(locale, "quota.status.resets", resets_at=int(status.resets_at)))
    elif not status.policy.is_unlimited:
        lines.append(t(locale, "quota.status.never_resets"))
    if status.granted:
        lines.append(t(locale, "quota.status.granted", granted=status.granted))
    if status.held:
        lines.append(
            t(locale, "quota.status.held", jobs=len(status.held_jobs), credits=status.held)
        )
    lines.append(t(locale, "quota.status.jobs", running=running, queued=queued))
    return "\n".join(lines)


def policy_change_text(locale: str, change: PolicyChange, key: str, **ids: int) -> str:
    return t(locale, key, allowance=allowance(locale, change.effective), **ids)


def entry_line(locale: str, entry: LedgerEntry) -> str:
    job = f"(#{entry.job_id})" if entry.job_id is not None else ""
    return t(
        locale,
        "quota.show.entry",
        at=int(entry.created_at),
        kind=t(locale, f"quota.kind.{entry.kind}"),
        amount=f"{entry.amount:+d}",
        job=job,
    )


def show_text(locale: str, report: UserReport) -> str:
    status = report.status
    lines = [
        t(
            locale,
            "quota.show.header",
            user_id=status.user_id,
            allowance=allowance(locale, status.policy),
            source=t(locale, f"quota.source.{status.source.value}"),
            used=status.used,
            left=_left(status),
        )
    ]
    lines += [entry_line(locale, e) for e in report.entries] or [t(locale, "quota.show.empty")]
    return "\n".join(lines)


def report_text(locale: str, report: UsageReport) -> str:
    if not report.top:
        return t(locale, "quota.report.empty")
    lines = [t(locale, "quota.report.header", since=int(report.since))]
    lines += [
        t(locale, "quota.report.row", rank=rank, user_id=user_id, used=used)
        for rank, (user_id, used) in enumerate(report.top, start=1)
    ]
    return "\n".join(lines)
