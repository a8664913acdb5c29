"""The one HTTP layer under both ERP clients, token endpoints included.

* :class:`Transport` sends every request erpsync makes: timeouts always set, retries
  that never duplicate a write, redirects never followed, the tenant's governance,
  errors only from :mod:`erpsync.errors`, log lines without secrets.
* :class:`TransportOptions` is the one options object a backend hands down to its
  client, its transport and its token endpoint.
* :class:`RetryPolicy`, :class:`RetryBudget` and :class:`Timeout` say how patient to be;
  the retry checkers (:class:`MaxAttempts`, :class:`Throttled`,
  :class:`RetryableStatus`, :class:`UnknownOutcome`, composed with :class:`AllOf` and
  :class:`AnyOf`) say what is retried (:mod:`erpsync.transport.retry`).
* :mod:`erpsync.transport.bodies` reads every answer body of both ERPs;
  :mod:`erpsync.transport.urls` is the URL policy (https, or http to loopback).
* :func:`pooled_session` is a ``requests.Session`` whose connection pool fits the
  threads that share it.

:mod:`erpsync.http` is the older name of this package and keeps working.
"""

from __future__ import annotations

from erpsync._logging import RedactingFilter
from erpsync.transport.auth import RenewableAuth, bearer_of
from erpsync.transport.options import Timeout, TransportOptions, new_idempotency_key
from erpsync.transport.retry import (
    AllOf,
    AnyOf,
    AttemptContext,
    MaxAttempts,
    RetryableStatus,
    RetryBudget,
    RetryChecker,
    RetryPolicy,
    Throttled,
    UnknownOutcome,
    parse_retry_after,
    standard_retry_checker,
)
from erpsync.transport.sessions import pooled_session
from erpsync.transport.transport import ErrorDecoder, Transport
from erpsync.transport.urls import check_url, is_loopback

__all__ = [
    "AllOf",
    "AnyOf",
    "AttemptContext",
    "ErrorDecoder",
    "MaxAttempts",
    "RedactingFilter",
    "RenewableAuth",
    "RetryBudget",
    "RetryChecker",
    "RetryPolicy",
    "RetryableStatus",
    "Throttled",
    "Timeout",
    "Transport",
    "TransportOptions",
    "UnknownOutcome",
    "bearer_of",
    "check_url",
    "is_loopback",
    "new_idempotency_key",
    "parse_retry_after",
    "pooled_session",
    "standard_retry_checker",
]
