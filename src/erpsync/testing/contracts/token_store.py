"""The behaviour every QuickBooks token store must show: :class:`TokenStoreContract`.

A token store holds the one credential that cannot be re-created without a person (a
rotated refresh token), so a user's own store (a database, a secrets manager) is held
to the same rules as erpsync's. Subclass it with a ``token_store`` fixture::

    from erpsync.testing.contracts import TokenStoreContract

    class TestMyStore(TokenStoreContract):
        @pytest.fixture
        def token_store(self):
            return MyStore(...)

Covered: a realm never saved loads as None; what is saved loads back equal; realms do
not see each other's tokens; a save replaces the previous token. When the store offers
``lock(realm_id)``, refreshes are single-flight: one holder at a time, ``save`` works inside
``lock`` (the holder does not deadlock on itself), and a token saved inside the lock is what the
next holder loads. A store whose lock spans processes should add its own
multi-process test; this suite runs in one process, with threads.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from erpsync.quickbooks.tokens import QuickBooksToken

__all__ = ["TokenStoreContract"]

_T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def _token(n: int, realm: str = "9130") -> QuickBooksToken:
    return QuickBooksToken.from_response(
        {
            "access_token": f"access-{realm}-{n:04d}-" + "a" * 16,
            "refresh_token": f"refresh-{realm}-{n:04d}-" + "r" * 16,
            "token_type": "bearer",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8_640_000,
        },
        now=_T0 + timedelta(minutes=n),
        realm_id=realm,
    )


class TokenStoreContract:
    """Subclass with a ``token_store`` fixture returning a fresh, empty store."""

    @pytest.fixture
    def token_store(self) -> Any:  # pragma: no cover - the subclass provides it
        raise NotImplementedError("subclass TokenStoreContract with a token_store fixture")

    def _lock(self, store: Any) -> Any:
        lock = getattr(store, "lock", None)
        if not callable(lock):
            pytest.skip(f"{type(store).__name__} offers no lock(realm_id)")
        return lock

    # -- load / save ----------------------------------------------------------------------

    def test_a_realm_never_saved_loads_as_none(self, token_store: Any) -> None:
        assert token_store.load("4620816365000000001") is None

    def test_what_is_saved_loads_back_equal(self, token_store: Any) -> None:
        token = _token(1)
        token_store.save("9130", token)
        loaded = token_store.load("9130")
        assert loaded == token
        assert loaded.refresh_token == token.refresh_token
        assert loaded.access_expires_at == token.access_expires_at

    def test_realms_are_isolated(self, token_store: Any) -> None:
        token_store.save("111", _token(1, "111"))
        token_store.save("222", _token(2, "222"))
        first, second = token_store.load("111"), token_store.load("222")
        assert first.refresh_token == _token(1, "111").refresh_token
        assert second.refresh_token == _token(2, "222").refresh_token
        assert token_store.load("333") is None

    def test_a_save_replaces_the_previous_token(self, token_store: Any) -> None:
        token_store.save("9130", _token(1))
        token_store.save("9130", _token(2))
        assert token_store.load("9130") == _token(2)

    # -- single flight ------------------------------------------------------------------

    def test_the_lock_admits_one_holder_at_a_time(self, token_store: Any) -> None:
        lock = self._lock(token_store)
        inside = 0
        most = 0
        guard = threading.Lock()

        def hold() -> None:
            nonlocal inside, most
            with lock("9130"):
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.02)
                with guard:
                    inside -= 1

        threads = [threading.Thread(target=hold) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads), "a lock holder hung"
        assert most == 1

    def test_save_inside_the_lock_is_seen_by_the_next_holder(self, token_store: Any) -> None:
        lock = self._lock(token_store)
        token_store.save("9130", _token(0))
        seen: list[str] = []

        def refresh() -> None:
            # A refresh: read inside the lock, spend it, save the next one.
            with lock("9130"):
                current = token_store.load("9130")
                n = int(current.refresh_token.split("-")[2])
                seen.append(current.refresh_token)
                token_store.save("9130", _token(n + 1))

        threads = [threading.Thread(target=refresh) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(set(seen)) == 5, "two refreshes spent the same refresh token"
        assert token_store.load("9130") == _token(5)
