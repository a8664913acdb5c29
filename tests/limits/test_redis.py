"""RedisLimiter against a real Redis: the ERPs' limits, state shared between limiters and
processes, leases that outlive a killed worker only until they expire, and the backends
that accept it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal

import pytest
import redis

from erpsync import ConfigurationError, Invoice, InvoiceLine, RateLimitError, Ref, ServiceError
from erpsync.limits import Limiter, RateLimit, RedisLimiter
from erpsync.netsuite import wire as ns_wire
from erpsync.quickbooks import wire as qbo_wire
from erpsync.testing import FakeNetSuite, FakeQuickBooks

_SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    """A worker process running ``code`` with this checkout's erpsync first on the path."""
    env = {**os.environ, "PYTHONPATH": os.path.abspath(_SRC)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- the ERPs' published limits --------------------------------------------------------------


def test_quickbooks_holds_intuits_limits(redis_url: str) -> None:
    limiter = RedisLimiter.quickbooks(redis_url, "9130")
    assert isinstance(limiter, Limiter)
    assert limiter.max_concurrency == qbo_wire.MAX_CONCURRENT_REQUESTS == 10
    assert set(limiter.rates) == {
        RateLimit(500, 60),
        RateLimit(10, 1),
        RateLimit(40, 60, scope=qbo_wire.BATCH_SCOPE),
    }
    assert limiter.name == "quickbooks:9130"


@pytest.mark.parametrize(
    ("concurrency", "plus", "expected"),
    [(5, 0, 5), (7, 0, 7), ("premium", 0, 15), ("Enterprise", 1, 30), ("standard", 2, 25)],
)
def test_netsuite_holds_the_account_concurrency(
    redis_url: str, concurrency: int | str, plus: int, expected: int
) -> None:
    limiter = RedisLimiter.netsuite(redis_url, "1234567-sb1", concurrency, suitecloud_plus=plus)
    assert limiter.max_concurrency == expected
    assert limiter.rates == ()
    assert limiter.name == "netsuite:1234567_SB1"
    assert RedisLimiter.netsuite(redis_url, "1234567_SB1").max_concurrency == (
        ns_wire.DEFAULT_CONCURRENCY
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda url: RedisLimiter("http://localhost:6379", key="k"),
        lambda url: RedisLimiter(42, key="k"),
        lambda url: RedisLimiter(url, key=""),
        lambda url: RedisLimiter(url, key="a{b}"),
        lambda url: RedisLimiter(url, key="k", concurrency=0),
        lambda url: RedisLimiter(url, key="k", rates=[(10, 1)]),  # type: ignore[list-item]
        lambda url: RedisLimiter(url, key="k", lease=0),
        lambda url: RedisLimiter(url, key="k", poll=float("inf")),
        lambda url: RedisLimiter.netsuite(url, "1234567", "gold"),
        lambda url: RedisLimiter.netsuite(url, "1234567", suitecloud_plus=-1),
        lambda url: RedisLimiter.netsuite(url, " "),
        lambda url: RedisLimiter.quickbooks(url, ""),
    ],
)
def test_bad_configuration_is_refused_before_any_request(redis_url: str, build: object) -> None:
    with pytest.raises(ConfigurationError):
        build(redis_url)  # type: ignore[operator]


def test_an_unreachable_redis_is_a_service_error_without_the_password() -> None:
    limiter = RedisLimiter("redis://:s3cret-pw@127.0.0.1:1/0", key="k", concurrency=1)
    with pytest.raises(ServiceError) as caught, limiter.slot():
        pass
    assert caught.value.retryable
    assert "s3cret-pw" not in str(caught.value) and "s3cret-pw" not in repr(limiter)


# -- one budget for every limiter of the tenant ------------------------------------------------


def test_limiters_of_one_tenant_share_the_gate(redis_url: str, tenant: str) -> None:
    first = RedisLimiter(redis_url, key=tenant, concurrency=1)
    second = RedisLimiter(redis_url, key=tenant, concurrency=1, poll=0.002)
    other_tenant = RedisLimiter(redis_url, key=f"{tenant}-b", concurrency=1)
    admitted = threading.Event()

    def take_second() -> None:
        with second.slot():
            admitted.set()

    with first.slot():
        assert first.in_flight == 1
        with other_tenant.slot():
            pass  # another tenant's gate is its own
        thread = threading.Thread(target=take_second)
        thread.start()
        assert not admitted.wait(0.2), "the second limiter got a place the first one holds"
    assert admitted.wait(2.0)
    thread.join()
    assert first.in_flight == 0


def test_a_throttle_seen_by_one_worker_pauses_and_slows_all(redis_url: str, tenant: str) -> None:
    seen = RedisLimiter(redis_url, key=tenant, rates=[RateLimit(4, 0.3)])
    peer = RedisLimiter(redis_url, key=tenant, rates=[RateLimit(4, 0.3)])
    start = time.monotonic()
    seen.on_throttle(0.25)
    seen.on_throttle(0.05)  # a shorter Retry-After never cuts a pause short
    with peer.slot():
        assert time.monotonic() - start >= 0.24
    stamps = []
    for _ in range(3):
        with peer.slot():
            stamps.append(time.monotonic())
    # Halved once (not twice: the second throttle fell inside the cooldown): 2 a window.
    assert stamps[1] - stamps[0] >= 0.25
    for _ in range(20):
        peer.on_success()
    time.sleep(0.35)
    start = time.monotonic()
    for _ in range(4):
        with seen.slot():
            pass
    assert time.monotonic() - start < 0.15, "the recovery one worker saw did not reach the other"


def _sleep_recording(waits: list[float], meaning: str) -> Callable[[float], None]:
    """A limiter's sleep that records each wait and refuses one longer than 5 s."""

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if seconds > 5:
            raise AssertionError(f"asked to wait {seconds:.1f} s: {meaning}")
        time.sleep(seconds)

    return sleep


def test_throttles_slow_the_tenant_down_to_one_a_second_not_one_a_minute(
    redis_url: str, tenant: str
) -> None:
    waits: list[float] = []
    sleep = _sleep_recording(waits, "slowed below the floor")
    rates = [RateLimit(100, 60), RateLimit(10, 1)]
    limiter = RedisLimiter(redis_url, key=tenant, rates=rates, cooldown=0.001, sleep=sleep)
    for _ in range(12):  # far more halvings than it takes to reach the floor
        limiter.on_throttle()
        time.sleep(0.003)
    for _ in range(3):  # one a second (10 a minute): the floor, with the minute window wide open
        with limiter.slot():
            pass
    assert 0.8 <= max(waits) <= 1.1, waits


# -- why not the limits library: all windows at once, on the server's clock -----------------


def test_a_request_refused_by_one_window_takes_no_place_in_another(
    redis_url: str, tenant: str
) -> None:
    # 2 a minute and 1 per 0.2 s: the second request waits 0.2 s for the short window.
    # Had that refusal taken a place in the minute window (as one window per call would),
    # the minute would be full and the second request would wait a minute.
    waits: list[float] = []
    sleep = _sleep_recording(waits, "a place was lost")
    rates = [RateLimit(2, 60), RateLimit(1, 0.2)]
    limiter = RedisLimiter(redis_url, key=tenant, rates=rates, sleep=sleep)
    for _ in range(2):
        with limiter.slot():
            pass
    assert waits and max(waits) <= 0.25
    with pytest.raises(AssertionError, match="asked to wait"), limiter.slot():
        pass  # the third is over the minute's 2: now the long wait is right


def test_windows_are_on_the_servers_clock_not_the_workers(
    redis_url: str, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = RedisLimiter(redis_url, key=tenant, rates=[RateLimit(1, 0.5)])
    with first.slot():
        pass
    # a worker whose clock is an hour ahead still sees the window the first one filled
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    ahead = RedisLimiter(redis_url, key=tenant, rates=[RateLimit(1, 0.5)])
    start = time.monotonic()
    with ahead.slot():
        assert time.monotonic() - start >= 0.3


# -- leases ------------------------------------------------------------------------------------

_HOLDER = """
import sys, time
from erpsync.limits import RedisLimiter
limiter = RedisLimiter(sys.argv[1], key=sys.argv[2], concurrency=1, lease=0.6)
with limiter.slot():
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_killed_worker_frees_its_slot_when_the_lease_expires(redis_url: str, tenant: str) -> None:
    worker = _python(_HOLDER, redis_url, tenant)
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "held", worker.stderr.read()  # type: ignore[union-attr]
        limiter = RedisLimiter(redis_url, key=tenant, concurrency=1, poll=0.01)
        time.sleep(1.5)  # well past one lease: the live worker keeps renewing it
        assert limiter.in_flight == 1
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(5)
        killed_at = time.monotonic()
        with limiter.slot():
            waited = time.monotonic() - killed_at
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(5)
    assert waited <= 0.6 + 0.3, f"the dead worker's slot was freed after {waited:.2f}s"


_WINDOW_HOLDER = """
import sys, time
from erpsync.limits import RateLimit, RedisLimiter
limiter = RedisLimiter(sys.argv[1], key=sys.argv[2], rates=[RateLimit(1, 0.3)], lease=0.6)
with limiter.slot():
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_request_out_keeps_its_window_place_until_its_worker_dies(
    redis_url: str, tenant: str
) -> None:
    # Out for longer than its lease: the live worker renews its window entry as it renews
    # a slot, so the window stays full; once the worker is killed, the place frees when
    # the lease runs out, plus the window.
    worker = _python(_WINDOW_HOLDER, redis_url, tenant)
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "held", worker.stderr.read()  # type: ignore[union-attr]
        limiter = RedisLimiter(redis_url, key=tenant, rates=[RateLimit(1, 0.3)], poll=0.01)
        entered = threading.Event()

        def ask() -> None:
            with limiter.slot():
                entered.set()

        asker = threading.Thread(target=ask, daemon=True)
        asker.start()
        assert not entered.wait(1.5)  # well past one lease and many windows: still held
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(5)
        killed_at = time.monotonic()
        assert entered.wait(5)
        waited = time.monotonic() - killed_at
        asker.join(5)
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(5)
    assert waited <= 0.6 + 0.3 + 0.3, f"the dead worker's window place freed after {waited:.2f}s"


# -- many processes, one company -------------------------------------------------------------

_WORKER = """
import logging, sys, threading, time, redis
from erpsync.limits import RedisLimiter
url, realm, log, index = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
limiter = RedisLimiter.quickbooks(url, realm)
events = redis.Redis.from_url(url)

class Admissions(logging.Handler):
    # The limiter's own record of each admission: the Redis TIME its script decided on.
    def emit(self, record):
        events.rpush(log, f"in {record.admitted_at!r} {time.time()!r}")

logging.getLogger("erpsync.limits.redis").addHandler(Admissions())
logging.getLogger("erpsync.limits.redis").setLevel(logging.DEBUG)

def run(thread):
    for n in range(3):
        with limiter.slot("batch" if n == 1 else None):
            time.sleep(1.0 if (index + thread + n) % 2 else 0.05)
            events.rpush(log, f"out {time.time()!r}")

threads = [threading.Thread(target=run, args=(t,)) for t in range(2)]
for t in threads: t.start()
for t in threads: t.join()
"""


def _most_in_one_window(times: list[float], per: float) -> int:
    """The most admissions inside one half-open interval of ``per`` seconds."""
    ordered = sorted(times)
    return max(sum(1 for t in ordered[i:] if t - start < per) for i, start in enumerate(ordered))


def test_eight_processes_share_one_companys_limits(redis_url: str) -> None:
    realm, log = f"realm-{os.getpid()}-{time.monotonic_ns()}", f"log-{time.monotonic_ns()}"
    workers = [_python(_WORKER, redis_url, realm, log, str(i)) for i in range(8)]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    events = [line.decode().split() for line in redis.Redis.from_url(redis_url).lrange(log, 0, -1)]
    admitted = [float(e[1]) for e in events if e[0] == "in"]
    assert len(admitted) == 48
    # Never more than 10 admissions in any second, judged on the clock the limiter judges
    # on (Redis TIME, as its script saw it), with no slack. The worker's own clock read
    # after the admission is no measure of it: on a loaded machine a thread can be
    # descheduled for longer than any slack between the script and its time.time(), and
    # early admissions stamped late bunch up with later ones (11 in a "second" that way).
    assert _most_in_one_window(admitted, 1.0) <= qbo_wire.REQUESTS_PER_SECOND
    # Never more than 10 in flight; and several processes held slots at once (the test can
    # fail). A slot is held from its admission (server time, no later than the body
    # starts) to after its "out" stamp, so the level counted here is never above the real
    # one. The lower bound is loose because the eight interpreters start seconds apart.
    level = peak = 0
    marks = [(float(e[1]), 1) for e in events if e[0] == "in"]
    marks += [(float(e[1]), -1) for e in events if e[0] == "out"]
    for _, step in sorted(marks, key=lambda m: (m[0], m[1])):
        level += step
        peak = max(peak, level)
    assert 4 <= peak <= qbo_wire.MAX_CONCURRENT_REQUESTS


# -- accepted wherever limiter= is ------------------------------------------------------------


def test_both_emulated_backends_accept_it(redis_url: str, tenant: str) -> None:
    invoice = Invoice(
        external_id="redis-1",
        customer=Ref(id="1"),
        date=date(2026, 11, 3),
        lines=[InvoiceLine(description="Job", amount=Decimal("10.00"), item=Ref(id="1"))],
    )
    qbo = FakeQuickBooks()
    with qbo:
        limiter = RedisLimiter.quickbooks(redis_url, f"{tenant}-qbo")
        backend = qbo.backend(limiter=limiter)
        customer = next(iter(backend.iter_customers()))
        item = next(iter(backend.iter_items()))
        line = InvoiceLine(description="Job", amount=Decimal("10.00"), item=Ref(id=str(item.id)))
        created = backend.create_invoice(
            invoice.model_copy(update={"customer": Ref(id=str(customer.id)), "lines": [line]})
        )
        assert created.total == Decimal("10.00")
    ns = FakeNetSuite(account_id="1234567_SB1")
    with ns:
        backend = ns.backend(limiter=RedisLimiter.netsuite(redis_url, f"{tenant}-ns"))
        customer = next(iter(backend.iter_customers()))
        assert customer.id is not None
        assert backend.get_customer(customer.id).id == customer.id


# -- first come, first served ------------------------------------------------------------------


class _Admissions(logging.Handler):
    """Collects the limiter's admission records (its own clock: Redis TIME)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "admitted_at"):
            self.records.append(record)


@pytest.fixture
def admissions() -> Iterator[_Admissions]:
    handler = _Admissions()
    logger = logging.getLogger("erpsync.limits.redis")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_waiters_are_admitted_in_arrival_order(
    redis_url: str, tenant: str, admissions: _Admissions
) -> None:
    # 32 waiters of 8 "workers" (limiters of their own) against 4 per 0.25 s. Arrival order
    # is the ticket order; a free-for-all admits whichever polls first when a place frees.
    rate, waiters = RateLimit(4, 0.25), 32
    workers = [RedisLimiter(redis_url, key=tenant, rates=[rate]) for _ in range(8)]

    def wait_in_line(limiter: RedisLimiter) -> None:
        with limiter.slot():
            pass

    threads = [
        threading.Thread(target=wait_in_line, args=(workers[n % 8],)) for n in range(waiters)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    records = [r for r in admissions.records if r.limiter == tenant]
    assert len(records) == waiters
    # A waiter goes in when the places free now cover it and every older waiter, so it
    # is overtaken by no more than the places that free up at once (the window's 4), or
    # a few more while it is late to ask again (a descheduled thread on a loaded
    # machine); a free-for-all lets a late arrival overtake dozens (22 measured).
    overtaken = {
        r.ticket: sum(1 for q in records if q.ticket > r.ticket and q.admitted_at < r.admitted_at)
        for r in records
    }
    assert max(overtaken.values()) < 2 * rate.count, overtaken
    # No one starves: the last in line waits about its position / rate (7 * 0.25 s) and
    # the spread is that, not a lottery (generous: a loaded machine delays each head).
    ideal = (waiters - 1) // rate.count * rate.per
    assert max(r.waited for r in records) <= 2 * ideal + 1.0


def test_a_timed_out_waiter_is_a_rate_limit_error_and_leaves_the_queue(
    redis_url: str, tenant: str
) -> None:
    holder = RedisLimiter(redis_url, key=tenant, concurrency=1)
    impatient = RedisLimiter(redis_url, key=tenant, concurrency=1, timeout=0.3)
    with holder.slot():
        start = time.monotonic()
        with pytest.raises(RateLimitError) as caught, impatient.slot():
            pass
        assert 0.25 <= time.monotonic() - start <= 2.0
        assert holder.waiting == 0, "the ticket of a waiter that gave up still holds the queue"
        with pytest.raises(RateLimitError), holder.slot(timeout=0.05):
            pass
    assert tenant in str(caught.value) and "concurrency gate of 1" in str(caught.value)
    start = time.monotonic()
    with impatient.slot():
        assert time.monotonic() - start < 0.25


_WAITER = """
import sys
from erpsync.limits import RedisLimiter
limiter = RedisLimiter(sys.argv[1], key=sys.argv[2], concurrency=1, ticket_lease=0.5)
with limiter.slot():
    print("admitted", flush=True)
"""


def test_a_killed_waiters_ticket_holds_the_queue_only_for_its_lease(
    redis_url: str, tenant: str
) -> None:
    holder = RedisLimiter(redis_url, key=tenant, concurrency=1)
    later = RedisLimiter(redis_url, key=tenant, concurrency=1)
    with holder.slot():
        worker = _python(_WAITER, redis_url, tenant)
        try:
            deadline = time.monotonic() + 20
            while holder.waiting == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert holder.waiting == 1, "the worker never queued"
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(5)
    start = time.monotonic()
    with later.slot():
        waited = time.monotonic() - start
    assert waited <= 0.5 + 0.7, f"a dead waiter held the queue for {waited:.2f}s"
