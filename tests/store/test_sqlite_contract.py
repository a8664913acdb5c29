"""The store contract over SQLiteSyncStore, with a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from erpsync.store import SQLiteSyncStore, SyncStore
from erpsync.testing.contracts import SyncStoreContract


class TestSQLiteSyncStore(SyncStoreContract):
    now = [datetime(2026, 11, 3, tzinfo=UTC)]

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteSyncStore]:
        self.now = [datetime(2026, 11, 3, tzinfo=UTC)]
        with SQLiteSyncStore(tmp_path / "s.db", clock=lambda: self.now[0]) as opened:
            yield opened

    def let_time_pass(self, store: SyncStore, seconds: float) -> None:
        self.now[0] += timedelta(seconds=seconds)
