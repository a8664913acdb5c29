"""AccountingSync.run_every: on_pass, max_passes, stop(), and the lease kept by slow writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError, ServiceError
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.store import SQLiteSyncStore
from erpsync.sync.accounts import AccountingSync, PassOutcome, SyncInput
from erpsync.testing import FakeClock, FakeQuickBooks


@pytest.fixture
def backend(fake_quickbooks: FakeQuickBooks) -> AccountingBackend:
    return fake_quickbooks.backend()


@pytest.fixture
def store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[SQLiteSyncStore]:
    def now() -> datetime:
        return datetime.fromtimestamp(fake_clock.now(), tz=UTC)

    with SQLiteSyncStore(tmp_path / "sync.db", clock=now) as opened:
        yield opened


def invoice(n: int) -> Invoice:
    return Invoice(
        external_id=f"SCH-{n}",
        customer=Ref(id="local", name="Cool Cars"),
        date=date(2026, 10, 1),
        lines=[InvoiceLine(description="work", amount=Decimal("25.00"), item=Ref(id="1"))],
    )


def test_on_pass_sees_every_pass_and_max_passes_ends_the_schedule(
    backend: AccountingBackend, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(backend, store)
    seen: list[PassOutcome] = []
    calls = [0]

    def source() -> SyncInput:
        calls[0] += 1
        if calls[0] == 2:
            raise ServiceError("the local database is down")
        return SyncInput(invoices=[invoice(calls[0])])

    assert sync.run_every(0, source=source, on_pass=seen.append, max_passes=3) == 3
    assert [(o.number, o.status) for o in seen] == [(1, "ok"), (2, "failed"), (3, "ok")]
    assert seen[0].result is not None and seen[0].result.invoices.created == ["SCH-1"]
    assert isinstance(seen[1].error, ServiceError) and seen[1].result is None
    assert all(o.ran and o.seconds >= 0 for o in seen)
    assert [r.status for r in sync.runs()] == ["ok", "failed", "ok"]


def test_skipped_passes_are_reported_but_not_counted(
    backend: AccountingBackend, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(backend, store)
    assert store.lock(sync.lock_name, "elsewhere", 600)
    seen: list[PassOutcome] = []

    def on_pass(outcome: PassOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 2:
            store.unlock(sync.lock_name, "elsewhere")

    assert sync.run_every(0, source=SyncInput, on_pass=on_pass, max_passes=1) == 1
    assert [o.status for o in seen] == ["skipped", "skipped", "ok"]
    assert not seen[0].ran and seen[0].error is not None


def test_stop_ends_the_schedule_after_the_pass_in_flight(
    backend: AccountingBackend, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(backend, store)
    in_pass = threading.Event()

    def source() -> SyncInput:
        in_pass.set()
        sync.stop()  # asked to stop during the pass: it still finishes
        return SyncInput(invoices=[invoice(1)])

    worker = threading.Thread(target=sync.run_every, args=(3600,), kwargs={"source": source})
    worker.start()
    assert in_pass.wait(5)
    worker.join(5)
    assert not worker.is_alive() and sync.stopping
    assert [r.status for r in sync.runs()] == ["ok"]
    assert backend.find_invoice("SCH-1") is not None


def test_stop_interrupts_the_wait_between_passes(
    backend: AccountingBackend, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(backend, store)
    passes: list[int] = []
    first = threading.Event()

    def on_pass(outcome: PassOutcome) -> None:
        first.set()

    worker = threading.Thread(
        target=lambda: passes.append(
            sync.run_every(timedelta(hours=1), source=SyncInput, on_pass=on_pass)
        )
    )
    worker.start()
    assert first.wait(5)
    sync.stop()
    worker.join(5)
    assert not worker.is_alive() and passes == [1]


def test_bad_schedules_are_configuration_errors(
    backend: AccountingBackend, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(backend, store)
    with pytest.raises(ConfigurationError, match="max_passes"):
        sync.run_every(0, source=SyncInput, max_passes=0)
    with pytest.raises(ConfigurationError, match="interval"):
        sync.run_every(-1, source=SyncInput)


def test_a_pass_whose_writes_outlast_the_lock_ttl_keeps_its_lock(
    backend: AccountingBackend, store: SQLiteSyncStore, fake_clock: FakeClock
) -> None:
    """Five invoices, each taking 20 s to write, under a 30 s pass lock: the lock is
    renewed between records, so another process cannot take it mid-pass."""
    sync = AccountingSync(
        backend,
        store,
        lock_ttl=30,
        clock=lambda: datetime.fromtimestamp(fake_clock.now(), tz=UTC),
    )
    refused: list[Any] = []

    def slow(n: int) -> Iterator[Invoice]:
        for i in range(1, n + 1):
            yield invoice(i)
            fake_clock.advance(20)  # the write of invoice i took 20 s
            refused.append(store.lock(sync.lock_name, "another-process", 30))

    result = sync.run(slow(5))
    assert result.run.status == "ok" and len(result.invoices.created) == 5
    assert refused == [None] * 5  # the lock was never free for the other process
