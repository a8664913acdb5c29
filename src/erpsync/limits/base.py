"""What every limiter is: the :class:`Limiter` protocol and the :class:`RateLimit` it enforces.

The transport depends on this protocol only, never on a concrete limiter, so the
in-process :class:`~erpsync.limits.LocalLimiter` (the embedded default) and a limiter
whose state lives in Redis (shared by every worker process and host of a tenant) are
interchangeable wherever ``limiter=`` is accepted.

A limiter belongs to a tenant (one QuickBooks company, one NetSuite account), because
both ERPs count requests per tenant across all of a user's clients. Its three duties:

* :meth:`Limiter.slot` admits one request: it blocks until the concurrency gate has a
  place and every rate window that applies to ``scope`` has room, and frees the place
  when the request is done;
* :meth:`Limiter.on_throttle` is told when the ERP answered "too many" (429), so that it
  pauses new admissions for the ``Retry-After`` and slows down;
* :meth:`Limiter.on_success` is told when a request got a healthy answer, so that it can
  grow back toward the configured limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from erpsync.errors import ConfigurationError

__all__ = ["Limiter", "RateLimit", "rate_floor"]


@runtime_checkable
class Limiter(Protocol):
    """A tenant's governance, as the transport uses it (see the module docstring)."""

    #: A label for log lines and reprs (``"quickbooks:9130..."``).
    name: str

    @property
    def max_concurrency(self) -> int | None:
        """The configured number of requests allowed in flight at once (None: unlimited)."""
        ...

    def slot(self, scope: str | None = None) -> AbstractContextManager[None]:
        """Hold a place for one request, blocking until it is admitted."""
        ...

    def on_throttle(self, retry_after: float | None = None) -> None:
        """The ERP throttled a request: pause for ``retry_after`` seconds and slow down."""
        ...

    def on_success(self) -> None:
        """A request got a healthy answer: recover toward the configured limits."""
        ...


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` requests in any window of ``per`` seconds.

    ``scope`` None applies to every request; a named scope (``"batch"``) applies only to
    requests that ask for a slot with that scope, on top of the unscoped windows. The
    QuickBooks limits are ``RateLimit(500, 60)``, ``RateLimit(10, 1)`` and
    ``RateLimit(40, 60, scope="batch")``.
    """

    count: int
    per: float
    scope: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ConfigurationError(
                f"RateLimit count must be a positive integer, not {self.count!r}"
            )
        if not isinstance(self.per, int | float) or not math.isfinite(self.per) or self.per <= 0:
            raise ConfigurationError(
                f"RateLimit per must be a positive number of seconds, not {self.per!r}"
            )

    def applies_to(self, scope: str | None) -> bool:
        """Whether a request acquired with ``scope`` counts against this window."""
        return self.scope is None or self.scope == scope


def check_configuration(owner: str, concurrency: object, rates: Sequence[object]) -> None:
    """Refuse a concurrency that is not a positive int or None, and rates that are not
    :class:`RateLimit` objects: the one check every limiter's constructor makes."""
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise ConfigurationError(
            f"{owner} concurrency must be a positive integer or None, not {concurrency!r}"
        )
    for rate in rates:
        if not isinstance(rate, RateLimit):
            raise ConfigurationError(f"{owner} rates must be RateLimit objects, not {rate!r}")


def rate_floor(rates: Sequence[RateLimit]) -> float:
    """The lowest rate factor a throttled limiter halves down to: the factor at which the
    window with the smallest count admits one request per its period.

    Halving stops there (for QuickBooks: 1 request a second and 50 a minute), not when
    every window is at one (1 a minute): a factor of 1/500 turns a company's budget into
    a trickle that takes minutes of successes to grow back from, long enough for a
    worker's claims to outlive their lease while it waits. Both limiters use this one
    rule."""
    return max((1.0 / rate.count for rate in rates), default=1.0)


class Configured:
    """The configuration half of a limiter: its concurrency and rate windows, read-only."""

    _max_concurrency: int | None
    _rates: tuple[RateLimit, ...]

    @property
    def max_concurrency(self) -> int | None:
        """The configured concurrency (None: unlimited)."""
        return self._max_concurrency

    @property
    def rates(self) -> tuple[RateLimit, ...]:
        """The configured rate windows."""
        return self._rates
