"""Per-user credit quotas: policies, the append-only ledger, and the service the bot calls."""

from bot.quota.ledger import EntryKind, LedgerEntry, Settlement, Usage
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
    CreditChange,
    PolicyChange,
    QuotaBlockedError,
    QuotaExceededError,
    QuotaStatus,
    Reservation,
    UsageReport,
    UserReport,
)

__all__ = [
    "CreditChange",
    "EntryKind",
    "LedgerEntry",
    "Period",
    "Policy",
    "PolicyChange",
    "PolicyScope",
    "PolicySource",
    "QuotaBlockedError",
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
