"""The older name of :mod:`erpsync.transport`, kept so that existing imports work.

``from erpsync.http import Transport, RetryPolicy, Timeout`` and the rest resolve to the
same objects as ``from erpsync.transport import ...``; new code should import from
:mod:`erpsync.transport`.
"""

from __future__ import annotations

from erpsync.transport import (
    ErrorDecoder,
    RedactingFilter,
    RenewableAuth,
    RetryBudget,
    RetryPolicy,
    Timeout,
    Transport,
    TransportOptions,
    new_idempotency_key,
    parse_retry_after,
)

__all__ = [
    "ErrorDecoder",
    "RedactingFilter",
    "RenewableAuth",
    "RetryBudget",
    "RetryPolicy",
    "Timeout",
    "Transport",
    "TransportOptions",
    "new_idempotency_key",
    "parse_retry_after",
]
