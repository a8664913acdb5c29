"""Fixtures for the QuickBooks client/backend tests: a FakeQuickBooks on a FakeClock and
a connected QuickBooksBackend built from its credentials (until ``fake.backend()``
exists, the ``connect`` fixture is how a test gets one: ``connect(fake, **options)``)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from erpsync.http import RetryPolicy
from erpsync.limits import Limiter, RateLimit
from erpsync.quickbooks.auth import QuickBooksAuth
from erpsync.quickbooks.backend import QuickBooksBackend
from erpsync.quickbooks.tokens import MemoryTokenStore, QuickBooksToken
from erpsync.testing._core import FakeClock, clock_datetime
from erpsync.testing.quickbooks import FakeQuickBooks


def fake_limiter(clock: FakeClock) -> Limiter:
    """Intuit's limits on the fake clock, so waiting for a window costs no real time."""
    return Limiter(
        concurrency=10,
        rates=[RateLimit(500, 60), RateLimit(10, 1), RateLimit(40, 60, scope="batch")],
        clock=clock.now,
        sleep=clock.sleep,
    )


def _connect(fake: FakeQuickBooks, **options: Any) -> QuickBooksBackend:
    """A QuickBooksBackend connected to ``fake`` with its initial token pair, on its clock."""
    clock = fake.clock
    assert isinstance(clock, FakeClock)
    now = clock_datetime(clock)
    creds = fake.credentials
    store = MemoryTokenStore()
    store.save(
        creds.realm_id,
        QuickBooksToken(
            access_token=creds.access_token,
            refresh_token=creds.refresh_token,
            access_expires_at=now + timedelta(seconds=3600),
            refresh_expires_at=now + timedelta(days=100),
            realm_id=creds.realm_id,
            obtained_at=now,
        ),
    )
    auth = QuickBooksAuth(
        creds.client_id,
        creds.client_secret,
        token_store=store,
        clock=lambda: clock_datetime(clock),
        sleep=clock.sleep,
    )
    options.setdefault("limiter", fake_limiter(clock))
    options.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.5))
    return QuickBooksBackend(
        creds.realm_id,
        auth,
        clock=clock.now,
        sleep=clock.sleep,
        rng=random.Random(7),
        now=lambda: clock_datetime(clock),
        **options,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeQuickBooks]:
    emulator = FakeQuickBooks(clock=clock)
    with emulator:
        yield emulator


@pytest.fixture
def connect() -> Callable[..., QuickBooksBackend]:
    """``connect(fake, **backend_options)``: a backend connected to ``fake``."""
    return _connect


@pytest.fixture
def backend(fake: FakeQuickBooks) -> Iterator[QuickBooksBackend]:
    qb = _connect(fake)
    yield qb
    qb.close()
