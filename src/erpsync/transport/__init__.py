"""The one HTTP layer under both ERP clients, token endpoints included.

* :class:`Transport` sends every request erpsync makes: timeouts always set, retries
  that never duplicate a write, the tenant's governance, errors only from
  :mod:`erpsync.errors`, log lines without secrets.
* :class:`TransportOptions` is the one options object a backend hands down to its
  client, its transport and its token endpoint.
* :class:`RetryPolicy`, :class:`RetryBudget` and :class:`Timeout` say how patient to be.

:mod:`erpsync.http` is the older name of this package and keeps working.
"""

from __future__ import annotations

from erpsync.transport.options import TransportOptions
from erpsync.transport.transport import (
    ErrorDecoder,
    RedactingFilter,
    RenewableAuth,
    RetryBudget,
    RetryPolicy,
    Timeout,
    Transport,
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
