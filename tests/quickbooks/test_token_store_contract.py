"""The token store contract over every store erpsync ships (PostgreSQL in
test_postgres_tokens.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpsync.quickbooks import FileTokenStore, MemoryTokenStore
from erpsync.testing.contracts import TokenStoreContract


class TestMemoryTokenStore(TokenStoreContract):
    @pytest.fixture
    def token_store(self) -> MemoryTokenStore:
        return MemoryTokenStore()


class TestFileTokenStore(TokenStoreContract):
    @pytest.fixture
    def token_store(self, tmp_path: Path) -> FileTokenStore:
        return FileTokenStore(tmp_path / "tokens.json")


class _NoLockStore:
    """A store without lock(): the lock tests are skipped, the rest still apply."""

    def __init__(self) -> None:
        self.inner = MemoryTokenStore()

    def load(self, realm_id: str):  # type: ignore[no-untyped-def]
        return self.inner.load(realm_id)

    def save(self, realm_id: str, token) -> None:  # type: ignore[no-untyped-def]
        self.inner.save(realm_id, token)


class TestAStoreWithoutALock(TokenStoreContract):
    @pytest.fixture
    def token_store(self) -> _NoLockStore:
        return _NoLockStore()


class _LeakyStore(MemoryTokenStore):
    """Shares one slot between realms: the contract must catch it."""

    def load(self, realm_id: str):  # type: ignore[no-untyped-def]
        return super().load("shared")

    def save(self, realm_id: str, token) -> None:  # type: ignore[no-untyped-def]
        super().save("shared", token)


def test_the_contract_catches_a_store_that_mixes_realms() -> None:
    contract = TokenStoreContract()
    with pytest.raises(AssertionError):
        contract.test_realms_are_isolated(_LeakyStore())
