"""In-process governance: how many requests may be in flight and how many may start in a
window of time, shrinking when the ERP throttles and growing back when it stops.

Both ERPs count against the *company* (QuickBooks realm, NetSuite account), not against
one client object, so a limiter belongs to a tenant: :func:`limiter_for` hands every
backend object of the same tenant the same limiter.

:class:`LocalLimiter` is the embedded default; it implements the
:class:`~erpsync.limits.Limiter` protocol, as does the Redis-backed limiter that is
shared by every process and host.

Why sliding windows and not a token bucket
------------------------------------------
The design sketch said "a concurrency gate and a token bucket". The rate part is a
*sliding-window log* instead, because the services count requests per window: QuickBooks
allows 500 requests in a minute and 10 in a second. A token bucket that starts full
(capacity ``count``, refilled at ``count / per``) admits a burst of ``count`` at once and
then keeps refilling, so the first ``per`` seconds can see nearly ``2 * count`` requests,
and that is exactly the pattern that draws 429s. A bucket that starts empty or with a
smaller capacity avoids the excess only by being slower than the service permits. The log
keeps, per window, the requests still in flight and the time the answers of the last
``count`` arrived, and admits a new one only while fewer than ``count`` are in flight or
answered less than ``per`` seconds ago, which guarantees that **the service never sees
more than ``count`` arrivals in any ``per`` seconds** while never waiting longer than
that rule requires. Memory is O(count) per window (500 floats for QuickBooks), which is
nothing.

Why the answer's time and not the admission's: a request reaches the service somewhere
between the moment it is let through here and the moment its answer comes back, and
the gap varies (CPU before the bytes leave, the network, a busy server). A log of
admission times can then let two requests ``per`` apart here arrive less than ``per``
apart there, so it needs a safety margin that costs throughput on every window; a log
of answer times cannot (the service's arrival is never later than our answer), so it
needs none. It costs one latency per window instead of a margin on every one: against
QuickBooks' 40 batches a minute, 50 ms in 60 s. Requests that fail without an answer
(a dropped connection) are stamped when they fail, which is just as safe.

That is what the adaptive part
is for: :meth:`LocalLimiter.on_throttle` halves the effective concurrency and rate
(multiplicative decrease) and can pause new admissions for the ``Retry-After`` the
service asked for; :meth:`LocalLimiter.on_success` grows them back additively (AIMD, as in
TCP congestion control and botocore's adaptive retry mode).

Waiting for a rate window or a pause uses the injected ``sleep`` (outside the lock), so a
fake clock makes tests instant; waiting for a concurrency place uses the condition
variable, woken when a place is freed. Admission is not strictly first-come
first-served: whichever waiting thread re-checks first after a place frees up wins.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from erpsync.errors import ConfigurationError
from erpsync.limits.base import Configured, Limiter, RateLimit, check_configuration, rate_floor

__all__ = ["LocalLimiter", "RateLimit", "limiter_for"]

#: Rate factor regained per successful request; from a halving (0.5) back to the
#: configured rate takes ten successes, which at QuickBooks' 10/s is about a second.
_RATE_RECOVERY_STEP = 0.05

#: Shortest rate wait handed to ``sleep``: guarantees progress even when float rounding
#: leaves a wait of a few ulps that would not advance a fake clock.
_MIN_WAIT = 1e-6


class _Window:
    """One :class:`RateLimit`'s requests: how many are in flight, and when the answers
    of the others arrived, oldest first (see the module docstring)."""

    __slots__ = ("limit", "open", "times")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.open = 0
        self.times: deque[float] = deque()

    def wait(self, now: float, allowed: int) -> float | None:
        """Seconds until one more admission fits with at most ``allowed`` per window;
        None when it must wait for a request in flight to be answered first."""
        per = self.limit.per
        while self.times and now - self.times[0] >= per:
            self.times.popleft()
        excess = len(self.times) + self.open - allowed
        if excess < 0:
            return 0.0
        if excess >= len(self.times):
            return None
        # The answer at index `excess` must leave the window before a new one fits.
        # Written as `per - age` so it agrees to the last bit with the test above.
        return per - (now - self.times[excess])

    def close(self, now: float) -> None:
        """A request of this window was answered (or failed) at ``now``."""
        self.open -= 1
        self.times.append(now)


class LocalLimiter(Configured):
    """A concurrency gate plus sliding rate windows, adaptive to throttling.

    ``concurrency`` None means no concurrency limit; ``rates`` empty means no rate limit.
    With ``adaptive`` false the configured values are fixed and :meth:`on_throttle` only
    pauses admissions for the ``retry_after`` it is given. ``handoff`` is the longest a
    thread that frees a concurrency place waits for a thread blocked on the gate to take
    it before going on (see :meth:`slot`; 0: it does not wait).
    """

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        rates: Sequence[RateLimit] = (),
        adaptive: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "",
        handoff: float = 0.002,
    ) -> None:
        check_configuration("LocalLimiter", concurrency, rates)
        if (
            isinstance(handoff, bool)
            or not isinstance(handoff, int | float)
            or not math.isfinite(handoff)
            or handoff < 0
        ):
            raise ConfigurationError(f"LocalLimiter handoff must be seconds >= 0, not {handoff!r}")
        self._handoff = float(handoff)
        self._max_concurrency = concurrency
        self._rates = tuple(rates)
        self._adaptive = adaptive
        self._clock = clock
        self._sleep = sleep
        self.name = name
        self._cond = threading.Condition()
        self._windows = [_Window(rate) for rate in self._rates]
        self._in_flight = 0
        self._waiting = 0  # threads asking for a place
        self._gate_waiters = 0  # of which waiting for a concurrency place
        self._handoffs: deque[threading.Event] = deque()  # releasers waiting for a taker
        # Fractional so that additive increase can be +1 per "round" of successes.
        self._concurrency_level = float(concurrency) if concurrency is not None else 0.0
        self._rate_factor = 1.0
        # Halving stops once the tightest window is at one request (base.rate_floor).
        self._min_rate_factor = rate_floor(self._rates)
        self._paused_until = -math.inf

    # -- read-only state ------------------------------------------------------------------

    @property
    def effective_concurrency(self) -> int | None:
        """How many requests may be in flight now (None: unlimited)."""
        with self._cond:
            return self._effective_concurrency()

    @property
    def rate_factor(self) -> float:
        """The fraction of the configured rates currently admitted, in (0, 1]."""
        with self._cond:
            return self._rate_factor

    @property
    def effective_rates(self) -> tuple[RateLimit, ...]:
        """The rate windows as currently enforced (counts scaled by :attr:`rate_factor`)."""
        with self._cond:
            return tuple(
                RateLimit(self._allowed(rate), rate.per, rate.scope) for rate in self._rates
            )

    @property
    def in_flight(self) -> int:
        """How many slots are held right now."""
        with self._cond:
            return self._in_flight

    @property
    def waiting(self) -> int:
        """How many requests wait for a place right now (as ``RedisLimiter.waiting``)."""
        with self._cond:
            return self._waiting

    # -- admission ------------------------------------------------------------------------

    @contextmanager
    def slot(self, scope: str | None = None) -> Iterator[None]:
        """Hold a place for one request; blocks until the gate and every window admit it.
        The request counts in its windows until ``per`` after the slot is left. A thread
        leaving the slot while another waits for a concurrency place waits (at most
        ``handoff``) until that one has taken it."""
        windows = [w for w in self._windows if w.limit.applies_to(scope)]
        self._acquire(windows)
        try:
            yield
        finally:
            handoff: threading.Event | None = None
            with self._cond:
                self._in_flight -= 1
                now = self._clock()
                for window in windows:
                    window.close(now)
                if self._gate_waiters and self._handoff > 0:
                    handoff = threading.Event()
                    self._handoffs.append(handoff)
                self._cond.notify_all()
            if handoff is not None:
                # Hand the place over before doing anything else. The thread woken for it
                # needs the interpreter, which this thread would otherwise keep for its
                # own work after the answer (decoding it, building and signing its next
                # request: milliseconds), up to the 5 ms switch interval, while the
                # place stands idle; against NetSuite's 5 places at 50 ms that was
                # 3 to 4 ms a cycle, 7% of the throughput. Waiting here lets the woken
                # thread take the place and send; it gives the interpreter back as soon
                # as its request is on the wire.
                handoff.wait(self._handoff)

    def _acquire(self, windows: list[_Window]) -> None:
        with self._cond:
            self._waiting += 1
        try:
            self._admit(windows)
        finally:
            with self._cond:
                self._waiting -= 1

    def _admit(self, windows: list[_Window]) -> None:
        while True:
            with self._cond:
                limit = self._effective_concurrency()
                while limit is not None and self._in_flight >= limit:
                    self._gate_waiters += 1
                    try:
                        self._cond.wait()
                    finally:
                        self._gate_waiters -= 1
                    limit = self._effective_concurrency()
                now = self._clock()
                wait: float | None = self._paused_until - now
                for window in windows:
                    needed = window.wait(now, self._allowed(window.limit))
                    wait = None if needed is None or wait is None else max(wait, needed)
                if wait is None:
                    # Full of requests still out: the first answer frees a place (or
                    # starts its countdown), and leaving a slot wakes us.
                    self._cond.wait()
                    continue
                if wait <= 0:
                    for window in windows:
                        window.open += 1
                    self._in_flight += 1
                    if self._handoffs:
                        self._handoffs.popleft().set()  # the place a releaser freed: taken
                    return
            # Sleep outside the lock so that other threads can release and re-check.
            self._sleep(max(wait, _MIN_WAIT))

    # -- adaptation -----------------------------------------------------------------------

    def on_throttle(self, retry_after: float | None = None) -> None:
        """The service said "too many": slow down, and pause for ``retry_after`` if given."""
        with self._cond:
            if retry_after is not None and retry_after > 0:
                self._paused_until = max(self._paused_until, self._clock() + retry_after)
            if self._adaptive:
                if self._max_concurrency is not None:
                    self._concurrency_level = max(1.0, math.floor(self._concurrency_level / 2))
                self._rate_factor = max(self._min_rate_factor, self._rate_factor / 2)

    def on_success(self) -> None:
        """A request got a healthy answer: grow back additively toward the configuration."""
        if not self._adaptive:
            return
        with self._cond:
            if self._max_concurrency is not None:
                # +1 per round of `level` successes, like TCP congestion avoidance.
                self._concurrency_level = min(
                    float(self._max_concurrency),
                    self._concurrency_level + 1.0 / self._concurrency_level,
                )
            self._rate_factor = min(1.0, self._rate_factor + _RATE_RECOVERY_STEP)
            self._cond.notify_all()

    # -- helpers (lock held) --------------------------------------------------------------

    def _effective_concurrency(self) -> int | None:
        if self._max_concurrency is None:
            return None
        # The epsilon absorbs float error in the additive steps (1/3 + 1/3 + 1/3 < 1).
        return max(1, math.floor(self._concurrency_level + 1e-9))

    def _allowed(self, rate: RateLimit) -> int:
        return max(1, math.floor(rate.count * self._rate_factor + 1e-9))

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return (
            f"LocalLimiter({label}concurrency={self._max_concurrency}, "
            f"rates={list(self._rates)!r}, adaptive={self._adaptive})"
        )


_registry: dict[str, Limiter] = {}
_registry_lock = threading.Lock()


def limiter_for(key: str, factory: Callable[[], Limiter]) -> Limiter:
    """The process-wide limiter of a tenant, made by ``factory`` the first time.

    The ERP counts requests per company or account, so two backend objects for the same
    tenant (two threads, a CLI run inside a service) must draw from one budget. ``key``
    should name the service and the tenant (``"quickbooks:9130..."``); ``factory`` runs
    at most once per key, under a lock.
    """
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = factory()
            if not isinstance(limiter, Limiter):
                raise ConfigurationError(
                    f"limiter_for({key!r}) factory returned {type(limiter).__name__}, not Limiter"
                )
            _registry[key] = limiter
        return limiter
