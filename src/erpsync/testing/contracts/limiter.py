"""The limiter contract: what every :class:`~erpsync.limits.Limiter` must do.

Subclass :class:`LimiterContract` and give it ``make_limiter``, a fixture returning a
factory: ``make_limiter(concurrency=..., rates=[...], adaptive=...)`` builds a limiter
with fresh state (nothing carried over from another test). A limiter that can run on an
injected time also overrides ``clock`` (an :class:`erpsync.testing.Clock`) and builds
its limiters on it; the default is real time, with windows short enough that the whole
suite takes a few seconds::

    class TestMyLimiter(LimiterContract):
        @pytest.fixture
        def make_limiter(self):
            return lambda **config: MyLimiter(namespace=uuid4().hex, **config)

The rules: ``slot(scope)`` never admits more than ``max_concurrency`` at once and frees
its place however the body ends; no window of ``per`` seconds admits more than
``count`` (scoped windows only for their scope); ``on_throttle(retry_after)`` pauses
every caller for ``retry_after`` and, when adaptive, slows down; ``on_success`` brings it
back. Timings are measured where the caller stands, so a limiter whose time is elsewhere
(Redis' server clock) gets :attr:`LimiterContract.tolerance` of slack for the round trip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pytest

from erpsync.limits import Limiter, RateLimit
from erpsync.testing.core.clock import Clock, SystemClock

__all__ = ["LimiterContract", "LimiterFactory"]

#: Float rounding of clock readings (an epoch-based clock resolves about 0.2 us).
_EPSILON = 1e-6


class LimiterFactory(Protocol):
    """Builds a limiter with fresh state from the configuration the contract asks for."""

    def __call__(
        self,
        *,
        concurrency: int | None = None,
        rates: Sequence[RateLimit] = (),
        adaptive: bool = True,
    ) -> Limiter: ...


def _most_in_any_window(times: Sequence[float], per: float, tolerance: float) -> int:
    """The most admissions inside one half-open window of ``per - tolerance`` seconds."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, stamp in enumerate(ordered):
        while stamp - ordered[start] >= per - tolerance - _EPSILON:
            start += 1
        most = max(most, end - start + 1)
    return most


class _Gauge:
    """Counts the bodies running inside a slot at once, and the most ever seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


def _in_threads(count: int, work: Callable[[int], None], timeout: float = 20.0) -> None:
    """Run ``work(i)`` in ``count`` threads; fail (not hang) if any is stuck or raises."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a thread is still waiting for a slot"
    if errors:
        raise errors[0]


class LimiterContract:
    """The behaviour every limiter must show (see the module docstring)."""

    #: Seconds of slack on timings measured by the caller (a round trip to the store).
    tolerance: float = 0.03
    #: A short window, in the clock's seconds.
    window: float = 0.3

    @pytest.fixture
    def make_limiter(self) -> LimiterFactory:
        raise NotImplementedError("a LimiterContract subclass must define make_limiter")

    @pytest.fixture
    def clock(self) -> Clock:
        return SystemClock()

    # -- the protocol -------------------------------------------------------------------------

    def test_is_a_limiter_reporting_its_concurrency(self, make_limiter: LimiterFactory) -> None:
        limiter = make_limiter(concurrency=3)
        assert isinstance(limiter, Limiter)
        assert limiter.max_concurrency == 3
        assert make_limiter().max_concurrency is None
        assert isinstance(limiter.name, str)

    # -- the concurrency gate -----------------------------------------------------------------

    def test_concurrency_is_never_exceeded(self, make_limiter: LimiterFactory) -> None:
        limiter, gauge = make_limiter(concurrency=2), _Gauge()

        def work(_: int) -> None:
            for _ in range(3):
                with limiter.slot(), gauge:
                    time.sleep(0.02)

        _in_threads(6, work)
        assert gauge.most == 2

    def test_scoped_requests_share_the_gate(self, make_limiter: LimiterFactory) -> None:
        limiter, gauge = make_limiter(concurrency=1), _Gauge()

        def work(index: int) -> None:
            with limiter.slot("batch" if index % 2 else None), gauge:
                time.sleep(0.02)

        _in_threads(4, work)
        assert gauge.most == 1

    def test_slot_is_released_when_the_body_raises(self, make_limiter: LimiterFactory) -> None:
        limiter = make_limiter(concurrency=1)

        class Boom(Exception):
            pass

        for _ in range(3):
            with pytest.raises(Boom), limiter.slot():
                raise Boom  # the body's own exception comes out, unwrapped
        admitted = threading.Event()

        def again(_: int) -> None:
            with limiter.slot():
                admitted.set()

        _in_threads(1, again, timeout=5.0)
        assert admitted.is_set()

    # -- rate windows -------------------------------------------------------------------------

    def test_window_admits_count_then_waits_for_the_oldest(
        self, make_limiter: LimiterFactory, clock: Clock
    ) -> None:
        limiter = make_limiter(rates=[RateLimit(3, self.window)])
        times = []
        for _ in range(7):
            with limiter.slot():
                times.append(clock.now())
        assert _most_in_any_window(times, self.window, self.tolerance) <= 3
        # Never slower than the rule requires: 7 admissions at 3 a window span two windows.
        assert times[-1] - times[0] <= 2 * self.window + 10 * self.tolerance + 0.001
        assert times[2] - times[0] <= 2 * self.tolerance + 0.001  # the first three at once

    def test_a_window_counts_a_request_until_per_after_its_answer(
        self, make_limiter: LimiterFactory, clock: Clock
    ) -> None:
        # The service counts a request when it arrives, anywhere between our admission
        # and our answer: a request still out holds its place, however old its admission,
        # and the place frees a window after the answer.
        limiter = make_limiter(rates=[RateLimit(1, self.window)])
        holding, go, entered = threading.Event(), threading.Event(), threading.Event()
        answered: list[float] = []
        admitted: list[float] = []

        def first() -> None:
            with limiter.slot():
                holding.set()
                go.wait(10)
            answered.append(clock.now())

        def second() -> None:
            with limiter.slot():
                admitted.append(clock.now())
                entered.set()

        threads = [threading.Thread(target=f, daemon=True) for f in (first, second)]
        threads[0].start()
        assert holding.wait(5)
        threads[1].start()
        assert not entered.wait(2 * self.window)  # still out: still counted
        go.set()
        threads[0].join(5)
        assert entered.wait(5)
        threads[1].join(5)
        assert admitted[0] - answered[0] >= self.window - self.tolerance - _EPSILON

    def test_windows_hold_across_threads(self, make_limiter: LimiterFactory, clock: Clock) -> None:
        limiter = make_limiter(concurrency=4, rates=[RateLimit(4, self.window)])
        times: list[float] = []
        lock = threading.Lock()

        def work(_: int) -> None:
            for _ in range(3):
                with limiter.slot(), lock:
                    times.append(clock.now())

        _in_threads(4, work)
        assert len(times) == 12
        assert _most_in_any_window(times, self.window, self.tolerance) <= 4

    def test_a_scoped_window_counts_only_its_scope(
        self, make_limiter: LimiterFactory, clock: Clock
    ) -> None:
        limiter = make_limiter(rates=[RateLimit(2, self.window, scope="batch")])
        start = clock.now()
        for _ in range(5):
            with limiter.slot():
                pass
        assert clock.now() - start < self.window / 2, "unscoped requests were held back"
        batches = []
        for _ in range(3):
            with limiter.slot("batch"):
                batches.append(clock.now())
        assert batches[2] - batches[0] >= self.window - self.tolerance - _EPSILON

    # -- throttling ---------------------------------------------------------------------------

    def test_throttle_pauses_every_caller(self, make_limiter: LimiterFactory, clock: Clock) -> None:
        limiter = make_limiter(concurrency=4, adaptive=False)
        start = clock.now()
        limiter.on_throttle(self.window)
        waited: list[float] = []
        lock = threading.Lock()

        def work(_: int) -> None:
            with limiter.slot(), lock:
                waited.append(clock.now() - start)

        _in_threads(3, work)
        assert min(waited) >= self.window - self.tolerance - _EPSILON
        start = clock.now()
        limiter.on_throttle(None)  # no Retry-After: no pause
        with limiter.slot():
            assert clock.now() - start < self.window / 2

    def test_throttle_slows_down_and_success_recovers(
        self, make_limiter: LimiterFactory, clock: Clock
    ) -> None:
        limiter = make_limiter(rates=[RateLimit(4, self.window)])
        limiter.on_throttle(None)
        times = []
        for _ in range(4):
            with limiter.slot():
                times.append(clock.now())
        # Halved: two a window, so the third waits for the first to leave.
        assert times[2] - times[0] >= self.window - self.tolerance - _EPSILON
        for _ in range(40):
            limiter.on_success()
        clock.sleep(self.window + self.tolerance)
        times = []
        for _ in range(4):
            with limiter.slot():
                times.append(clock.now())
        assert times[3] - times[0] < self.window / 2, "the rate did not recover"

    def test_non_adaptive_throttle_does_not_slow_down(
        self, make_limiter: LimiterFactory, clock: Clock
    ) -> None:
        limiter = make_limiter(rates=[RateLimit(4, self.window)], adaptive=False)
        limiter.on_throttle(None)
        start = clock.now()
        for _ in range(4):
            with limiter.slot():
                pass
        assert clock.now() - start < self.window / 2

    def test_success_alone_changes_nothing(self, make_limiter: LimiterFactory) -> None:
        limiter: Any = make_limiter(concurrency=2)
        for _ in range(5):
            limiter.on_success()
        gauge = _Gauge()

        def work(_: int) -> None:
            with limiter.slot(), gauge:
                time.sleep(0.02)

        _in_threads(4, work)
        assert gauge.most == 2  # never grows past the configuration
