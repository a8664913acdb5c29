"""RedisLimiter against a real Redis: the ERPs' limits, state shared between limiters and
processes, leases that outlive a killed worker only until they expire, and the backends
that accept it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
import redis

from erpsync import ConfigurationError, Invoice, InvoiceLine, Ref, ServiceError
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


# -- many processes, one company -------------------------------------------------------------

_WORKER = """
import sys, threading, time, redis
from erpsync.limits import RedisLimiter
url, realm, log, index = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
limiter = RedisLimiter.quickbooks(url, realm)
events = redis.Redis.from_url(url)

def run(thread):
    for n in range(3):
        with limiter.slot("batch" if n == 1 else None):
            events.rpush(log, f"in {time.time()!r}")
            time.sleep(1.0 if (index + thread + n) % 2 else 0.05)
            events.rpush(log, f"out {time.time()!r}")

threads = [threading.Thread(target=run, args=(t,)) for t in range(2)]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_eight_processes_share_one_companys_limits(redis_url: str) -> None:
    realm, log = f"realm-{os.getpid()}-{time.monotonic_ns()}", f"log-{time.monotonic_ns()}"
    workers = [_python(_WORKER, redis_url, realm, log, str(i)) for i in range(8)]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    events = [line.decode().split() for line in redis.Redis.from_url(redis_url).lrange(log, 0, -1)]
    admitted = sorted(float(t) for kind, t in events if kind == "in")
    assert len(admitted) == 48
    # Never more than 10 admissions in any second (150 ms of slack: the time is taken by
    # the worker after the admission, and a loaded machine delays some threads that long;
    # eight limiters of their own would admit 16 at once at the start).
    worst = max(
        sum(1 for t in admitted[i:] if t - start < 1.0 - 0.15) for i, start in enumerate(admitted)
    )
    assert worst <= qbo_wire.REQUESTS_PER_SECOND
    # Never more than 10 in flight; and several processes held slots at once (the test can
    # fail). The lower bound is loose because on a loaded machine the eight interpreters
    # start seconds apart.
    level = peak = 0
    for kind, _ in sorted(events, key=lambda e: (float(e[1]), e[0] == "in")):
        level += 1 if kind == "in" else -1
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
