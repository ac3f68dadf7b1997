"""Per-user credit quotas: policies, the append-only ledger, and the service the bot calls."""

from bot.quota.ledger import Settlement
from bot.quota.ledger_reads import EntryKind, LedgerEntry, Usage
from bot.quota.policy import (
    Period,
    Policy,
    PolicyScope,
    PolicySource,
    QuotaInputError,
    period_bounds,
    resolve_policy,
)
from bot.quota.service import QuotaService
from bot.quota.types import (
    Ceilings,
    CreditChange,
    PolicyChange,
    QuotaBlockedError,
    QuotaCeilingError,
    QuotaExceededError,
    QuotaStatus,
    Reservation,
    UsageReport,
    UserReport,
)

__all__ = [
    "Ceilings",
    "CreditChange",
    "EntryKind",
    "LedgerEntry",
    "Period",
    "Policy",
    "PolicyChange",
    "PolicyScope",
    "PolicySource",
    "QuotaBlockedError",
    "QuotaCeilingError",
    "QuotaExceededError",
    "QuotaInputError",
    "QuotaService",
    "QuotaStatus",
    "Reservation",
    "Settlement",
    "Usage",
    "UsageReport",
    "UserReport",
    "period_bounds",
    "resolve_policy",
]
