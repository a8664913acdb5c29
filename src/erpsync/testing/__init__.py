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
package needs the ``responses`` package (``pip install "erpsync[testing]"``).
"""

from __future__ import annotations

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
)
from erpsync.testing.netsuite import NETSUITE_GOVERNANCE, FakeNetSuite, NetSuiteCredentials
from erpsync.testing.quickbooks import (
    QBO_GOVERNANCE,
    AuthorizationGrant,
    FakeQuickBooks,
    QuickBooksCredentials,
)

__all__ = [
    "NETSUITE_GOVERNANCE",
    "QBO_GOVERNANCE",
    "AuthorizationGrant",
    "Clock",
    "Drop",
    "Emulator",
    "EmulatorStats",
    "FakeClock",
    "FakeNetSuite",
    "FakeQuickBooks",
    "Fault",
    "FaultPlan",
    "Governance",
    "Latency",
    "NetSuiteCredentials",
    "QuickBooksCredentials",
    "SystemClock",
    "Window",
]
