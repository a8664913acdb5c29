"""Contract suites: the behaviour every backend, store, limiter and token store must show.

Each is a pytest class to subclass with one fixture that builds the thing under test,
so a user's own implementation (a DynamoDB store, a secrets-manager token store, a
backend for another ERP) is held to the same rules as erpsync's:

::

    from erpsync.testing.contracts import SyncStoreContract

    class TestMyStore(SyncStoreContract):
        @pytest.fixture
        def store(self):
            return MyStore(...)

erpsync's CI runs :class:`BackendContract` over both emulators and
:class:`SyncStoreContract` over every store it ships. Needs pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports

# Each suite is added here when its module lands (BackendContract, SyncStoreContract,
# LimiterContract, TokenStoreContract).
_EXPORTS: dict[str, str] = {
    "BackendContract": "erpsync.testing.contracts.backend",
    "LimiterContract": "erpsync.testing.contracts.limiter",
    "SyncStoreContract": "erpsync.testing.contracts.store",
    "TokenStoreContract": "erpsync.testing.contracts.token_store",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from erpsync.testing.contracts.backend import BackendContract
    from erpsync.testing.contracts.limiter import LimiterContract
    from erpsync.testing.contracts.store import SyncStoreContract
    from erpsync.testing.contracts.token_store import TokenStoreContract

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
