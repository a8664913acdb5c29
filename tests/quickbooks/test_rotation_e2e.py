"""Refresh-token rotation end to end against FakeQuickBooks, whose refresh tokens are
single use (``refresh_grace_seconds=0``): the wire protocol, not a mock, refuses a
spent token, so any lost rotation shows up as ``invalid_grant``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from erpsync.errors import AuthenticationError
from erpsync.quickbooks.backend import QuickBooksBackend
from erpsync.quickbooks.tokens import FileTokenStore
from erpsync.testing.quickbooks import FakeQuickBooks


def _count_refreshes(fake: FakeQuickBooks, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every refresh grant the emulator answers (the token spent)."""
    spent: list[str] = []
    original = fake.oauth._rotate

    def rotate(app: Any, value: str) -> Any:
        spent.append(value)
        return original(app, value)

    monkeypatch.setattr(fake.oauth, "_rotate", rotate)
    return spent


def test_two_backends_on_one_token_file_rotate_once_under_concurrency(
    fake: FakeQuickBooks, connect: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "qbo.json"
    spent = _count_refreshes(fake, monkeypatch)
    # Two backends, each with its own QuickBooksAuth and its own FileTokenStore object
    # over the same file: only the flock on the file can keep them single-flight.
    backends: list[QuickBooksBackend] = [
        connect(fake, token_store=FileTokenStore(path)) for _ in range(2)
    ]
    for hour in range(3):
        clock.advance(3700)  # every access token is now expired
        barrier = threading.Barrier(16)
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                barrier.wait(5)
                backends[i % 2].get_customer("1")
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert not errors, errors[:1]
        assert len(spent) == hour + 1, "exactly one refresh per expiry, across both backends"
    assert len(set(spent)) == len(spent), "no refresh token was spent twice"
    stored = FileTokenStore(path).load(fake.realm_id)
    assert stored is not None
    # The file holds the newest refresh token: the one the emulator would accept next.
    assert (
        stored.refresh_token == fake.oauth._refresh[stored.refresh_token].connection.current_refresh
    )
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_spent_refresh_token_means_reconnect_with_a_hint(
    fake: FakeQuickBooks, connect: Any, clock: Any, tmp_path: Path
) -> None:
    path = tmp_path / "qbo.json"
    first = connect(fake, token_store=FileTokenStore(path))
    stale = FileTokenStore(path).load(fake.realm_id)
    clock.advance(3700)
    first.get_customer("1")  # rotates: the seeded refresh token is now spent
    # A copy of the old file restored from a backup: its refresh token is dead.
    assert stale is not None
    other = tmp_path / "restored.json"
    FileTokenStore(other).save(fake.realm_id, stale)
    restored = connect(fake, token_store=FileTokenStore(other))
    with pytest.raises(AuthenticationError) as caught:
        restored.get_customer("1")
    error = caught.value
    assert error.reconnect_required
    assert error.code == "invalid_grant"
    assert error.hint and "Reconnect the QuickBooks company" in error.hint
    assert stale.refresh_token not in str(error) and stale.refresh_token not in repr(error)
    # The company itself is still connected for the backend holding the newest token.
    clock.advance(3700)
    assert first.get_customer("1").id == "1"
