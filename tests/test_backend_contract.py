"""The backend contract (erpsync.testing.contracts.BackendContract) over both emulators,
both QuickBooks external-id layouts and both NetSuite authentications, on fake clocks."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from erpsync.backend import AccountingBackend
from erpsync.testing import FakeClock, FakeNetSuite, FakeQuickBooks
from erpsync.testing.contracts import BackendContract


@pytest.mark.parametrize("layout", ["PrivateNote", "DocNumber"])
class TestFakeQuickBooks(BackendContract):
    @pytest.fixture
    def backend(self, layout: str) -> Iterator[AccountingBackend]:
        with FakeQuickBooks(clock=FakeClock()) as fake:
            yield fake.backend(external_id_field=layout)


@pytest.mark.parametrize("auth", ["tba", "m2m"])
class TestFakeNetSuite(BackendContract):
    @pytest.fixture
    def backend(self, auth: str) -> Iterator[AccountingBackend]:
        # TBA checks oauth_timestamp against the emulator clock: start near real time.
        with FakeNetSuite("1234567_SB1", clock=FakeClock(time.time())) as fake:
            yield fake.backend(auth=auth)  # type: ignore[arg-type]
