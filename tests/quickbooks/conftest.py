"""Fixtures for the QuickBooks client/backend tests: a FakeQuickBooks on a FakeClock and
a connected QuickBooksBackend built from its credentials (``connect(fake, **options)``
is ``fake.backend()`` with a deterministic retry policy and randomness)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from erpsync.http import RetryPolicy
from erpsync.quickbooks.backend import QuickBooksBackend
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.quickbooks import FakeQuickBooks


def _connect(fake: FakeQuickBooks, **options: Any) -> QuickBooksBackend:
    """A QuickBooksBackend connected to ``fake`` (``fake.backend()``), deterministic."""
    assert isinstance(fake.clock, FakeClock)
    options.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.5))
    options.setdefault("rng", random.Random(7))
    return fake.backend(**options)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeQuickBooks]:
    emulator = FakeQuickBooks(clock=clock, refresh_tokens="single_use")
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
