"""Offline emulators of NetSuite and QuickBooks Online, for your tests and ours.

They are stateful and speak the real wire protocols, awkward parts included: OAuth 1.0a
signatures, JWT client assertions, refresh-token rotation, SyncTokens, the three
QuickBooks fault shapes, SuiteQL over real SQL, governance limits. Use them in-process
(``with FakeQuickBooks() as fake:`` intercepts the real hosts for ``requests``) or on a
loopback server (``fake.serve()``) for clients that do not use ``requests``.

::

    from erpsync.testing import FakeClock, FakeQuickBooks
    fake = FakeQuickBooks(clock=FakeClock())     # FakeNetSuite("1234567_SB1") likewise
    with fake:                                   # intercepts the real hosts for requests
        fake.backend().create_customer(Customer(name="Acme"))  # or your own client
    assert fake.records("Customer")[-1]["DisplayName"] == "Acme"

Latency, throttling and faults (5xx, 429, dropped connections, a response lost after the
write was committed) can be switched on, seeded so that a run repeats exactly. This
package needs the ``responses`` package (``pip install "erpsync[testing]"``); without
it, using a name from here raises :class:`MissingExtraError` saying so. Names are
resolved lazily, so the pytest plugin (``erpsync.testing.plugin``) costs nothing to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports

_CORE = "erpsync.testing.core.emulator"
_QBO = "erpsync.testing.quickbooks"
_NS = "erpsync.testing.netsuite"
_EXPORTS: dict[str, str] = {
    **{
        name: _CORE
        for name in (
            "Clock",
            "Drop",
            "Emulator",
            "EmulatorStats",
            "FakeClock",
            "Fault",
            "FaultPlan",
            "Governance",
            "Latency",
            "SystemClock",
            "Window",
            "intercepting",
        )
    },
    "MissingExtraError": "erpsync.testing.core",
    "NETSUITE_GOVERNANCE": _NS,
    "FakeNetSuite": _NS,
    "NetSuiteCredentials": _NS,
    "QBO_DEFAULT_GOVERNANCE": _QBO,
    "QBO_GOVERNANCE": _QBO,
    "AuthorizationGrant": _QBO,
    "FakeQuickBooks": _QBO,
    "QuickBooksCredentials": _QBO,
    "connect_quickbooks": "erpsync.testing.connect",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from erpsync.testing.connect import connect_quickbooks
    from erpsync.testing.core import MissingExtraError
    from erpsync.testing.core.emulator import (
        Clock,
        Drop,
        Emulator,
        EmulatorStats,
        FakeClock,
        Fault,
        FaultPlan,
        Governance,
        Latency,
        SystemClock,
        Window,
        intercepting,
    )
    from erpsync.testing.netsuite import NETSUITE_GOVERNANCE, FakeNetSuite, NetSuiteCredentials
    from erpsync.testing.quickbooks import (
        QBO_DEFAULT_GOVERNANCE,
        QBO_GOVERNANCE,
        AuthorizationGrant,
        FakeQuickBooks,
        QuickBooksCredentials,
    )

__getattr__, __dir__ = lazy_exports("erpsync.testing", _EXPORTS, globals())
