"""The pytest plugin erpsync installs (entry point ``pytest11``): emulator fixtures.

Registered by the package's entry point, so a project that installs
``erpsync[testing]`` gets these fixtures without a conftest::

    def test_push(fake_quickbooks):              # a FakeQuickBooks, intercepting
        backend = fake_quickbooks.backend()
        ...

    def test_expiry(fake_quickbooks, fake_clock):
        fake_clock.advance(3600)                 # the emulator's clock: tokens expire

* ``fake_clock``: a :class:`~erpsync.testing.FakeClock` shared by the other two, so
  waiting (latency, backoff, token lifetimes, rate windows) costs no real time.
* ``fake_quickbooks``: a seeded :class:`~erpsync.testing.FakeQuickBooks` intercepting the
  Intuit hosts for ``requests`` for the test's duration.
* ``fake_netsuite``: a :class:`~erpsync.testing.FakeNetSuite` (account ``1234567_SB1``)
  intercepting the NetSuite hosts likewise.

Options come from markers: ``@pytest.mark.fake_quickbooks(governance=None,
seed_data=False)`` and ``@pytest.mark.fake_netsuite(account_id="7654321")`` pass their
keyword arguments to the constructors.

Importing this module must stay cheap (pytest loads it in every run of every project
that installs erpsync): nothing from the emulators is imported until a fixture runs, so
a missing ``responses`` is reported only by a test that asks for an emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from erpsync.testing.core.clock import FakeClock
    from erpsync.testing.netsuite import FakeNetSuite
    from erpsync.testing.quickbooks import FakeQuickBooks

__all__ = ["fake_clock", "fake_netsuite", "fake_quickbooks"]

_MARKERS = (
    "fake_quickbooks(**options): FakeQuickBooks arguments for the fake_quickbooks fixture",
    "fake_netsuite(**options): FakeNetSuite arguments for the fake_netsuite fixture",
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers, so ``--strict-markers`` accepts them."""
    for line in _MARKERS:
        config.addinivalue_line("markers", line)


def _options(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(name)
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture
def fake_clock() -> FakeClock:
    """A FakeClock starting at a fixed instant; the emulator fixtures run on it."""
    from erpsync.testing.core.clock import FakeClock

    return FakeClock()


@pytest.fixture
def fake_quickbooks(
    request: pytest.FixtureRequest, fake_clock: FakeClock
) -> Iterator[FakeQuickBooks]:
    """A FakeQuickBooks on ``fake_clock``, intercepting for the test (stopped after)."""
    from erpsync.testing.quickbooks import FakeQuickBooks

    options = {"clock": fake_clock, **_options(request, "fake_quickbooks")}
    fake = FakeQuickBooks(**options)
    with fake:
        yield fake
    fake.shutdown()


@pytest.fixture
def fake_netsuite(request: pytest.FixtureRequest, fake_clock: FakeClock) -> Iterator[FakeNetSuite]:
    """A FakeNetSuite on ``fake_clock``, intercepting for the test (stopped after)."""
    from erpsync.testing.netsuite import FakeNetSuite

    options = {"clock": fake_clock, **_options(request, "fake_netsuite")}
    fake = FakeNetSuite(**options)
    with fake:
        yield fake
    fake.shutdown()
