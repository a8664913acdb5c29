"""Tests for erpsync.limits: the concurrency gate, the rate windows and adaptation."""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsync.errors import ConfigurationError
from erpsync.limits import Limiter, LocalLimiter, RateLimit, limiter_for


class FakeClock:
    """A thread-safe clock that only moves when someone sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def make(clock: FakeClock, **kw: object) -> Limiter:
    return LocalLimiter(clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def wait_until(predicate, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.001)
    return predicate()


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "per"),
    [(0, 1.0), (-1, 1.0), (1.5, 1.0), (True, 1.0), (1, 0), (1, -2.0), (1, float("inf"))],
)
def test_rate_limit_rejects_nonsense(count, per):
    with pytest.raises(ConfigurationError):
        RateLimit(count, per)


@pytest.mark.parametrize("concurrency", [0, -3, 2.5, True])
def test_limiter_rejects_bad_concurrency(concurrency):
    with pytest.raises(ConfigurationError):
        LocalLimiter(concurrency=concurrency)


def test_limiter_rejects_non_rate_objects():
    with pytest.raises(ConfigurationError):
        LocalLimiter(rates=[(10, 1.0)])  # type: ignore[list-item]


def test_rate_limit_scope_applies():
    assert RateLimit(10, 1).applies_to(None)
    assert RateLimit(10, 1).applies_to("batch")
    assert RateLimit(40, 60, scope="batch").applies_to("batch")
    assert not RateLimit(40, 60, scope="batch").applies_to(None)


# -- rate windows -----------------------------------------------------------------------


def test_window_admits_count_then_waits_exactly_until_the_oldest_leaves():
    clock = FakeClock(0.0)
    limiter = make(clock, rates=[RateLimit(2, 1.0)])
    admitted = []
    for _ in range(6):
        with limiter.slot():
            admitted.append(clock())
    assert admitted == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


def test_first_window_never_admits_twice_the_count():
    # The failure mode of a full token bucket: a burst of `count` plus a refill's worth.
    clock = FakeClock(0.0)
    limiter = make(clock, rates=[RateLimit(10, 1.0)])
    admitted = []
    for _ in range(30):
        with limiter.slot():
            admitted.append(clock())
    in_first_second = [t for t in admitted if t < 1.0]
    assert len(in_first_second) == 10
    for i in range(len(admitted) - 10):
        assert admitted[i + 10] - admitted[i] >= 1.0


def test_scoped_window_only_counts_its_scope():
    clock = FakeClock(0.0)
    limiter = make(clock, rates=[RateLimit(100, 1.0), RateLimit(2, 60.0, scope="batch")])
    for _ in range(2):
        with limiter.slot("batch"):
            pass
    # Unscoped requests are not held back by the spent batch window.
    for _ in range(5):
        with limiter.slot():
            pass
    assert clock() == 0.0
    with limiter.slot("batch"):
        pass
    assert clock() == pytest.approx(60.0)


def test_idle_time_frees_the_window():
    clock = FakeClock(0.0)
    limiter = make(clock, rates=[RateLimit(3, 10.0)])
    for _ in range(3):
        with limiter.slot():
            pass
    clock.advance(10.0)
    with limiter.slot():
        pass
    assert clock.sleeps == []


_rates = st.lists(
    st.builds(
        RateLimit,
        count=st.integers(1, 6),
        per=st.sampled_from([0.1, 0.5, 1.0, 2.5, 60.0]),
        scope=st.sampled_from([None, None, "batch"]),
    ),
    min_size=1,
    max_size=3,
)
_ops = st.lists(
    st.tuples(st.sampled_from([None, "batch"]), st.floats(0.0, 3.0, allow_nan=False)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(rates=_rates, ops=_ops, throttles=st.lists(st.integers(0, 59), max_size=3))
def test_property_no_window_ever_exceeds_its_count(rates, ops, throttles):
    clock = FakeClock(0.0)
    limiter = make(clock, rates=rates)
    admitted: list[tuple[float, str | None]] = []
    for index, (scope, gap) in enumerate(ops):
        clock.advance(gap)
        if index in throttles:
            limiter.on_throttle()
        arrival = clock()
        with limiter.slot(scope):
            admitted.append((clock(), scope))
        assert clock() >= arrival
        limiter.on_success()
    for rate in rates:
        times = [t for t, scope in admitted if rate.applies_to(scope)]
        for i in range(len(times) - rate.count):
            # Any half-open window [a, a + per) holds at most `count` admissions.
            assert times[i + rate.count] - times[i] >= rate.per


@settings(max_examples=100, deadline=None)
@given(count=st.integers(1, 8), per=st.sampled_from([0.5, 1.0, 60.0]), n=st.integers(1, 40))
def test_property_back_to_back_requests_wait_no_longer_than_needed(count, per, n):
    clock = FakeClock(0.0)
    limiter = make(clock, rates=[RateLimit(count, per)])
    admitted = []
    for _ in range(n):
        with limiter.slot():
            admitted.append(clock())
    # With no throttling the schedule is exactly `count` per `per` seconds.
    for i, t in enumerate(admitted):
        assert t == pytest.approx((i // count) * per, abs=1e-4)


def test_windows_hold_across_threads():
    clock = FakeClock(0.0)
    limiter = make(clock, rates=[RateLimit(5, 1.0)])
    admitted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            with limiter.slot(), lock:
                admitted.append(clock())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(admitted) == 40
    admitted.sort()
    for i in range(len(admitted) - 5):
        assert admitted[i + 5] - admitted[i] >= 1.0


# -- concurrency gate -------------------------------------------------------------------


def test_concurrency_gate_never_exceeds_its_limit_with_many_threads():
    limiter = LocalLimiter(concurrency=3)
    entered = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Semaphore(0)

    def worker() -> None:
        nonlocal entered, peak
        with limiter.slot():
            with lock:
                entered += 1
                peak = max(peak, limiter.in_flight)
            release.acquire()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    assert wait_until(lambda: entered == 3)
    time.sleep(0.02)  # give a fourth thread the chance to slip through, were it able to
    assert entered == 3
    assert limiter.in_flight == 3
    for expected in range(4, 11):
        release.release()
        assert wait_until(lambda e=expected: entered == e)
        assert limiter.in_flight <= 3
    for _ in range(3):
        release.release()
    for t in threads:
        t.join(5)
    assert peak == 3
    assert limiter.in_flight == 0


def test_slot_is_released_when_the_body_raises():
    limiter = LocalLimiter(concurrency=1)
    with pytest.raises(RuntimeError), limiter.slot():
        raise RuntimeError("boom")
    assert limiter.in_flight == 0
    with limiter.slot():
        assert limiter.in_flight == 1


def test_unlimited_limiter_admits_immediately():
    clock = FakeClock()
    limiter = make(clock)
    with limiter.slot(), limiter.slot("batch"):
        assert limiter.in_flight == 2
    assert limiter.effective_concurrency is None
    assert clock.sleeps == []


# -- adaptation -------------------------------------------------------------------------


def test_throttle_halves_concurrency_and_rate_down_to_floor():
    clock = FakeClock()
    limiter = make(clock, concurrency=10, rates=[RateLimit(500, 60.0), RateLimit(10, 1.0)])
    seen = []
    for _ in range(3):
        limiter.on_throttle()
        seen.append(limiter.effective_concurrency)
    assert seen == [5, 2, 1]
    assert limiter.rate_factor == pytest.approx(1 / 8)
    assert [r.count for r in limiter.effective_rates] == [62, 1]
    for _ in range(20):
        limiter.on_throttle()
    # The floor: the tightest window at one request a second, the minute at 50, not
    # every window at one (that would be one request a minute).
    assert limiter.rate_factor == pytest.approx(1 / 10)
    assert [r.count for r in limiter.effective_rates] == [50, 1]


def test_success_grows_back_additively_and_never_past_configuration():
    clock = FakeClock()
    limiter = make(clock, concurrency=8, rates=[RateLimit(10, 1.0)])
    limiter.on_throttle()
    limiter.on_throttle()
    assert limiter.effective_concurrency == 2
    assert limiter.rate_factor == pytest.approx(0.25)
    history = []
    for _ in range(60):
        limiter.on_success()
        history.append(limiter.effective_concurrency)
    assert history[0] == 2  # one success is not yet a round
    assert history == sorted(history)  # monotone, one step at a time
    assert all(b - a <= 1 for a, b in itertools.pairwise(history))
    assert history[-1] == 8
    assert limiter.rate_factor == 1.0
    assert [r.count for r in limiter.effective_rates] == [10]


def test_shrunk_concurrency_is_enforced():
    limiter = LocalLimiter(concurrency=4)
    limiter.on_throttle()
    assert limiter.effective_concurrency == 2
    entered = threading.Event()
    done = threading.Event()

    def third() -> None:
        with limiter.slot():
            entered.set()
        done.set()

    with limiter.slot(), limiter.slot():
        t = threading.Thread(target=third)
        t.start()
        assert not entered.wait(0.03)
    assert entered.wait(2)
    t.join(2)
    assert done.is_set()


def test_growth_wakes_waiters():
    limiter = LocalLimiter(concurrency=2)
    limiter.on_throttle()
    assert limiter.effective_concurrency == 1
    entered = threading.Event()

    def second() -> None:
        with limiter.slot():
            entered.set()

    with limiter.slot():
        t = threading.Thread(target=second)
        t.start()
        assert not entered.wait(0.02)
        limiter.on_success()  # 1 + 1/1 = 2 places
        assert entered.wait(2)
    t.join(2)


def test_retry_after_pauses_new_admissions():
    clock = FakeClock(0.0)
    limiter = make(clock, concurrency=5)
    limiter.on_throttle(retry_after=7.5)
    with limiter.slot():
        assert clock() == pytest.approx(7.5)
    # The pause is over; the next one goes straight through.
    with limiter.slot():
        pass
    assert clock() == pytest.approx(7.5)


def test_non_adaptive_limiter_only_pauses():
    clock = FakeClock(0.0)
    limiter = make(clock, concurrency=4, rates=[RateLimit(10, 1.0)], adaptive=False)
    limiter.on_throttle(retry_after=2.0)
    limiter.on_throttle()
    assert limiter.effective_concurrency == 4
    assert limiter.rate_factor == 1.0
    with limiter.slot():
        assert clock() == pytest.approx(2.0)


def test_shrunk_rate_is_enforced():
    clock = FakeClock(0.0)
    limiter = make(clock, rates=[RateLimit(4, 1.0)], adaptive=True)
    limiter.on_throttle()  # 2 per second now
    times = []
    for _ in range(4):
        with limiter.slot():
            times.append(clock())
    assert times == [0.0, 0.0, 1.0, 1.0]


def test_repr_names_the_limiter():
    assert "qbo:1" in repr(LocalLimiter(name="qbo:1", concurrency=10))


# -- registry ---------------------------------------------------------------------------


def test_limiter_for_shares_one_limiter_per_key():
    key = f"test:{uuid.uuid4().hex}"
    calls = []

    def factory() -> Limiter:
        calls.append(1)
        return LocalLimiter(concurrency=10, name=key)

    first = limiter_for(key, factory)
    assert limiter_for(key, factory) is first
    assert limiter_for(f"{key}-other", factory) is not first
    assert len(calls) == 2


def test_limiter_for_is_thread_safe():
    key = f"test:{uuid.uuid4().hex}"
    calls = []
    start = threading.Barrier(8)
    results: list[Limiter] = []

    def factory() -> Limiter:
        calls.append(1)
        time.sleep(0.002)
        return LocalLimiter()

    def worker() -> None:
        start.wait()
        results.append(limiter_for(key, factory))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(calls) == 1
    assert len({id(r) for r in results}) == 1


def test_limiter_for_rejects_a_bad_factory():
    with pytest.raises(ConfigurationError):
        limiter_for(f"test:{uuid.uuid4().hex}", lambda: object())  # type: ignore[arg-type,return-value]


def test_a_freed_place_is_taken_by_the_waiting_thread_before_the_freer_goes_on() -> None:
    # The thread that frees a place would otherwise keep the interpreter for its own work
    # after the answer while the woken thread waits for it, and the place stands idle.
    limiter = LocalLimiter(concurrency=1, handoff=5.0)  # long: the test does not race it
    taken = threading.Event()

    def waiter() -> None:
        with limiter.slot():
            taken.set()

    with limiter.slot():
        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        while limiter.waiting == 0:
            time.sleep(0.001)
        time.sleep(0.05)  # past the count, into the gate's wait
    # Leaving returned only once the waiter held the place.
    assert taken.is_set()
    thread.join(5)
    assert limiter.waiting == 0


def test_no_handoff_when_nobody_waits_or_it_is_off() -> None:
    limiter = LocalLimiter(concurrency=1, handoff=5.0)
    started = time.monotonic()
    with limiter.slot():
        pass
    assert time.monotonic() - started < 1.0  # nobody waited: no wait for a taker
    off = LocalLimiter(concurrency=1, handoff=0)
    with off.slot():
        pass


@pytest.mark.parametrize("bad", [-1, float("nan"), "2ms", True])
def test_a_bad_handoff_is_a_configuration_error(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="handoff"):
        LocalLimiter(concurrency=1, handoff=bad)  # type: ignore[arg-type]
