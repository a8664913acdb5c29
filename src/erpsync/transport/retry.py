"""Retry decisions as small parts: the policy, the budget and the checkers.

A failed attempt is described once, as an :class:`AttemptContext`, and a
:class:`RetryChecker` answers one question about it: may it be sent again? Each rule is
its own checker, in the spirit of botocore's ``retries.standard`` module, so that a user
can drop one, add one or tighten one without copying a retry loop:

* :class:`MaxAttempts`: never past ``max_attempts`` (the first attempt counts);
* :class:`Throttled`: the service refused the request unprocessed (HTTP 429, a
  :class:`~erpsync.errors.RateLimitError`): safe to repeat whatever it was, after the
  ``Retry-After`` the service asked for;
* :class:`RetryableStatus`: a server-side failure (5xx, or an error the ERP's decoder
  marked retryable) of a request that is safe to repeat (idempotent);
* :class:`UnknownOutcome`: no answer arrived (connection reset, read timeout) or nothing
  was sent (connect failure, a token endpoint down): retried when repeating cannot make
  a second record, i.e. the request is idempotent or provably never left this machine.

:func:`standard_retry_checker` composes them: ``AllOf(MaxAttempts(n), AnyOf(Throttled(),
RetryableStatus(), UnknownOutcome()))``. Pass ``RetryPolicy(checker=...)`` for another
composition. The shared :class:`RetryBudget` is spent on top of whatever the checker
says, so no checker can start a retry storm.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from erpsync.errors import ConfigurationError, ErpSyncError, RateLimitError, ServiceError

if TYPE_CHECKING:
    from erpsync.limits import Limiter

__all__ = [
    "AllOf",
    "AnyOf",
    "AttemptContext",
    "MaxAttempts",
    "RetryBudget",
    "RetryChecker",
    "RetryPolicy",
    "RetryableStatus",
    "Throttled",
    "UnknownOutcome",
    "parse_retry_after",
    "standard_retry_checker",
]


@dataclass(frozen=True)
class AttemptContext:
    """What one failed attempt tells a :class:`RetryChecker`.

    ``attempt_number`` counts from 1. ``idempotent`` says whether repeating the request
    can make a second record. ``http_status`` is None when no answer arrived. ``sent``
    is False only when the request provably never left this machine (a refused
    connection, a failed name lookup, an auth that failed while preparing it).
    ``transient`` is False for failures that cannot pass by waiting (a TLS certificate
    problem, a malformed request). ``retry_after`` is the wait the service asked for.
    """

    attempt_number: int
    idempotent: bool
    error: ErpSyncError
    http_status: int | None = None
    sent: bool = True
    transient: bool = True
    timeout: bool = False
    retry_after: float | None = None


@runtime_checkable
class RetryChecker(Protocol):
    """One rule: may this failed attempt be sent again?"""

    def is_retryable(self, context: AttemptContext) -> bool: ...


@dataclass(frozen=True)
class MaxAttempts:
    """No retry once ``max_attempts`` attempts (the first included) have been made."""

    max_attempts: int

    def is_retryable(self, context: AttemptContext) -> bool:
        return context.attempt_number < self.max_attempts


@dataclass(frozen=True)
class Throttled:
    """The service refused the request unprocessed (429, a RateLimitError): repeat it.

    Safe for every method, writes included, because nothing was processed. The wait is
    the ``Retry-After`` the service sent (see :meth:`RetryPolicy.delay`). With
    ``max_retry_after`` set, a request the service asked to hold off longer than that is
    not retried here but raised at once, for a caller that would rather reschedule.
    """

    max_retry_after: float | None = None

    def is_retryable(self, context: AttemptContext) -> bool:
        throttled = isinstance(context.error, RateLimitError) or context.http_status == 429
        if not throttled:
            return False
        wait = context.retry_after
        return self.max_retry_after is None or wait is None or wait <= self.max_retry_after


@dataclass(frozen=True)
class RetryableStatus:
    """A server-side failure of an idempotent request: repeat it.

    Retryable are the errors the ERP's decoder marked ``retryable`` (5xx, QuickBooks'
    system fault) and any status in ``statuses``. A non-idempotent write is never
    repeated after an answer of this kind: it may have been applied.
    """

    statuses: frozenset[int] = frozenset()

    def is_retryable(self, context: AttemptContext) -> bool:
        if context.http_status is None or not context.idempotent:
            return False
        if context.http_status in self.statuses:
            return True
        error = context.error
        return isinstance(error, ServiceError) and error.retryable


@dataclass(frozen=True)
class UnknownOutcome:
    """No answer (or nothing sent): repeat it when repeating cannot duplicate a record.

    A request that never left this machine is always safe to send again; one that may
    have reached the server only when it is idempotent.
    """

    def is_retryable(self, context: AttemptContext) -> bool:
        if context.http_status is not None or not context.transient:
            return False
        return context.idempotent or not context.sent


class AnyOf:
    """Retryable when any of the checkers says so."""

    def __init__(self, *checkers: RetryChecker) -> None:
        self.checkers = _checked(checkers)

    def is_retryable(self, context: AttemptContext) -> bool:
        return any(checker.is_retryable(context) for checker in self.checkers)

    def __repr__(self) -> str:
        return f"AnyOf{self.checkers!r}"


class AllOf:
    """Retryable only when every checker says so (a cap AND a reason)."""

    def __init__(self, *checkers: RetryChecker) -> None:
        self.checkers = _checked(checkers)

    def is_retryable(self, context: AttemptContext) -> bool:
        return all(checker.is_retryable(context) for checker in self.checkers)

    def __repr__(self) -> str:
        return f"AllOf{self.checkers!r}"


def _checked(checkers: Iterable[object]) -> tuple[RetryChecker, ...]:
    result = tuple(checkers)
    for checker in result:
        if not isinstance(checker, RetryChecker):
            raise ConfigurationError(
                f"{checker!r} is not a retry checker (it needs is_retryable(context))"
            )
    return result  # type: ignore[return-value]  # checked above


def standard_retry_checker(max_attempts: int) -> RetryChecker:
    """erpsync's default: at most ``max_attempts``, for a throttle, a retryable server
    failure of a safe request, or a lost answer that repeating cannot duplicate."""
    return AllOf(MaxAttempts(max_attempts), AnyOf(Throttled(), RetryableStatus(), UnknownOutcome()))


class RetryBudget:
    """Tokens that retries spend and successes earn back, shared by a tenant's requests.

    Per-request attempt caps do not stop a retry storm: with a dead service, every
    thread still retries ``max_attempts`` times. A shared budget does: once retries have
    drained it, further failures are raised at once until successes refill it. A
    timeout costs more than another failure because it also held a connection and a
    concurrency place for the whole timeout.
    """

    def __init__(
        self,
        capacity: int = 100,
        retry_cost: int = 5,
        timeout_cost: int = 10,
        success_refund: int = 1,
    ) -> None:
        for name, value in (
            ("capacity", capacity),
            ("retry_cost", retry_cost),
            ("timeout_cost", timeout_cost),
            ("success_refund", success_refund),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"RetryBudget {name} must be a non-negative integer")
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund
        self._available = capacity
        self._lock = threading.Lock()

    @property
    def available(self) -> int:
        """Tokens left."""
        with self._lock:
            return self._available

    def acquire(self, *, timeout: bool = False) -> bool:
        """Spend the cost of one retry; False (and nothing spent) when it cannot be paid."""
        cost = self.timeout_cost if timeout else self.retry_cost
        with self._lock:
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def release(self) -> None:
        """A request succeeded: earn back ``success_refund`` tokens, up to capacity."""
        with self._lock:
            self._available = min(self.capacity, self._available + self.success_refund)

    def __repr__(self) -> str:
        return f"RetryBudget(available={self.available}, capacity={self.capacity})"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry what is safe to retry.

    ``max_attempts`` counts the first attempt. The n-th retry (n from 0) waits
    ``uniform(0, min(max_delay, base_delay * 2**n))`` ("full jitter", which spreads
    competing clients best), unless the service said how long to wait (``Retry-After``,
    :attr:`RateLimitError.retry_after`); that wait is honoured up to ``max_retry_after``.
    ``checker`` decides what is retried (default :func:`standard_retry_checker`).
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    budget: RetryBudget | None = field(default=None, compare=False)
    checker: RetryChecker | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ConfigurationError("RetryPolicy max_attempts must be an integer")
        if self.max_attempts < 1:
            raise ConfigurationError("RetryPolicy max_attempts must be at least 1")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"RetryPolicy {name} must be a non-negative number")
        if self.checker is not None and not isinstance(self.checker, RetryChecker):
            raise ConfigurationError("RetryPolicy checker must have is_retryable(context)")

    def should_retry(self, context: AttemptContext) -> bool:
        """The checker's answer; never past ``max_attempts`` whatever the checker says."""
        if context.attempt_number >= self.max_attempts:
            return False
        checker = self.checker or standard_retry_checker(self.max_attempts)
        return checker.is_retryable(context)

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """The full-jitter wait before retry ``retry_number`` (0 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(retry_number, 64))
        return rng.uniform(0.0, ceiling)

    def delay(self, retry_number: int, rng: random.Random, retry_after: float | None) -> float:
        """The wait before a retry: the service's wish when known (capped), else backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(retry_number, rng)


#: The retry budget of each tenant limiter, made on first use (see Transport).
_BUDGETS: weakref.WeakKeyDictionary[Limiter, RetryBudget] = weakref.WeakKeyDictionary()
_BUDGETS_LOCK = threading.Lock()


def default_budget(limiter: Limiter | None) -> RetryBudget:
    """The budget for a policy that names none: the tenant's (one per limiter), or a
    transport's own when it has no limiter."""
    if limiter is None:
        return RetryBudget()
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(limiter)
        if budget is None:
            budget = _BUDGETS[limiter] = RetryBudget()
        return budget


def parse_retry_after(value: str | None, date_header: str | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    A date is measured against the response's own ``Date`` header when present (the
    server's clock, immune to skew of ours), otherwise against our wall clock. A date
    in the past means "now"; an unreadable value means "not said".
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    when = _http_date(value)
    if when is None:
        return None
    now = _http_date(date_header) if date_header else None
    if now is None:
        now = datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


def _http_date(value: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
