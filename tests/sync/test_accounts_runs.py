"""AccountingSync passes: the run log, "Sync Now", run_every, and the import cursor."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError, ServiceError
from erpsync.models import Customer, Invoice, InvoiceLine, Payment, PaymentApplication, Ref
from erpsync.store import SQLiteSyncStore
from erpsync.sync.accounts import AccountingSync, SyncBusyError, SyncInput
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite
from erpsync.testing.quickbooks import FakeQuickBooks

SEEDED = {"netsuite": ("Acme Robotics", "201"), "quickbooks": ("Cool Cars", "1")}


@pytest.fixture(params=["netsuite", "quickbooks"])
def setup(request: pytest.FixtureRequest) -> Iterator[tuple[AccountingBackend, str, str]]:
    clock = FakeClock()
    fake: Any = (
        FakeNetSuite(clock=clock) if request.param == "netsuite" else FakeQuickBooks(clock=clock)
    )
    with fake:
        backend = fake.backend(rng=random.Random(7))  # governance and timing: the emulator's
        yield backend, *SEEDED[request.param]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(tmp_path / "sync.db") as opened:
        yield opened


def invoice(customer: str, item: str, n: int, item_id: str | None = None) -> Invoice:
    return Invoice(
        external_id=f"INV-{n}",
        customer=Ref(id="local", name=customer),
        date=date(2026, 10, 1),
        lines=[
            InvoiceLine(description="work", amount=Decimal("25.00"), item=Ref(id=item_id or item))
        ],
    )


def test_a_pass_is_recorded_in_the_run_log(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, customer, item = setup
    sync = AccountingSync(backend, store)
    ok = sync.run([invoice(customer, item, 1)])
    assert ok.run.status == "ok"
    assert ok.run.counts["invoices_created"] == 1
    assert ok.run.finished_at is not None and ok.run.errors == ()

    partial = sync.run([invoice(customer, item, 1), invoice(customer, item, 2, item_id="99999")])
    assert partial.run.status == "partial"
    assert partial.run.counts["invoices_unchanged"] == 1
    assert partial.run.counts["invoices_failed"] == 1
    (error,) = partial.run.errors
    assert error.record == "invoice INV-2"
    assert backend.name in error.message

    assert [r.id for r in sync.runs()] == [partial.run.id, ok.run.id]


def test_run_hands_pulled_payments_to_the_caller_then_commits(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, customer, item = setup
    sync = AccountingSync(backend, store)
    sync.run([invoice(customer, item, 1)], pull=False)
    written = backend.find_invoice("INV-1")
    assert written is not None and written.id is not None
    recorded = backend.create_payment(
        Payment(
            external_id="ERP-PAY-1",
            customer=written.customer,
            date=date(2026, 10, 2),
            amount=Decimal("5.00"),
            applications=[PaymentApplication(invoice_id=written.id, amount=Decimal("5.00"))],
        )
    )
    received: list[list[Payment]] = []

    result = sync.run(on_payments=received.append)

    assert [[p.id for p in batch] for batch in received] == [[recorded.id]]
    assert result.pulled is not None and result.pulled.committed
    assert result.run.counts["payments_pulled"] == 1
    sync.run(on_payments=received.append)
    assert received[-1] == []

    uncommitted = sync.run()
    assert uncommitted.pulled is not None and not uncommitted.pulled.committed


def test_sync_now_refuses_to_overlap_a_running_pass(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, _, _ = setup
    sync = AccountingSync(backend, store)
    inner: list[BaseException] = []

    def apply(payments: list[Payment]) -> None:
        try:
            sync.run()
        except SyncBusyError as exc:
            inner.append(exc)

    sync.run(on_payments=apply)
    assert len(inner) == 1

    other = AccountingSync(backend, store, owner="another-process")
    assert store.lock(other.lock_name, "another-process", 60)
    with pytest.raises(SyncBusyError):
        sync.run()
    store.unlock(other.lock_name, "another-process")
    assert sync.run().run.status == "ok"


def test_run_every_survives_a_failing_pass_and_stops_cleanly(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, customer, item = setup
    sync = AccountingSync(backend, store)
    stop = threading.Event()
    calls = [0]

    def source() -> SyncInput:
        calls[0] += 1
        if calls[0] == 1:
            raise ServiceError("the local database is down")
        if calls[0] == 3:
            stop.set()  # asked to stop during the pass: it finishes, then returns
        return SyncInput(invoices=[invoice(customer, item, calls[0])])

    passes = sync.run_every(timedelta(0), source=source, stop_event=stop)

    assert passes == 3
    statuses = [r.status for r in reversed(sync.runs())]
    assert statuses == ["failed", "ok", "ok"]
    assert "local database is down" in sync.runs()[-1].errors[0].message
    assert backend.find_invoice("INV-3") is not None


def test_run_every_skips_while_another_process_holds_the_lock(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, _, _ = setup
    sync = AccountingSync(backend, store)
    assert store.lock(sync.lock_name, "elsewhere", 600)
    stop = threading.Event()
    calls = [0]

    def source() -> SyncInput:
        calls[0] += 1
        if calls[0] == 2:
            stop.set()
        return SyncInput()

    assert sync.run_every(0, source=source, stop_event=stop) == 0
    assert sync.runs() == []


def test_run_every_passes_run_in_another_thread_and_stop_from_outside(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, _, _ = setup
    sync = AccountingSync(backend, store)
    stop = threading.Event()
    first_pass = threading.Event()

    def source() -> SyncInput:
        first_pass.set()
        return SyncInput()

    worker = threading.Thread(
        target=sync.run_every, args=(3600,), kwargs={"source": source, "stop_event": stop}
    )
    worker.start()
    assert first_pass.wait(5)
    stop.set()  # interrupts the wait between passes
    worker.join(5)
    assert not worker.is_alive()
    assert len(sync.runs()) == 1


# -- the cursor ---------------------------------------------------------------------------

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def customer(id: str, at: datetime) -> Customer:
    return Customer(id=id, name=f"Customer {id}", updated_at=at)


@pytest.fixture
def scripted(
    setup: tuple[AccountingBackend, str, str],
    store: SQLiteSyncStore,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[AccountingSync, list[Customer], list[datetime | None]]:
    """A sync whose ERP customer feed is a list the test edits; records each since."""
    backend, _, _ = setup
    rows: list[Customer] = []
    asked: list[datetime | None] = []

    def iter_customers(modified_since: datetime | None = None) -> Iterator[Customer]:
        asked.append(modified_since)
        return iter(
            [c for c in rows if modified_since is None or (c.updated_at or T0) >= modified_since]
        )

    monkeypatch.setattr(backend, "iter_customers", iter_customers)
    return AccountingSync(backend, store, overlap=timedelta(minutes=5)), rows, asked


def test_the_cursor_overlaps_and_dedupes_by_version(
    scripted: tuple[AccountingSync, list[Customer], list[datetime | None]],
) -> None:
    sync, rows, asked = scripted
    rows += [customer("1", T0), customer("2", T0), customer("3", T0 + timedelta(seconds=1))]
    with sync.import_customers() as batch:
        assert [c.id for c in batch] == ["1", "2", "3"]
    cursor = sync.store.get_cursor(
        f"accounting-sync:{sync.backend.name}:customers", tenant=sync.tenant
    )
    assert cursor == f"{(T0 + timedelta(seconds=1)).isoformat(timespec='microseconds')}|3"

    # A record stamped before the cursor but committed late, one at the cursor's second
    # with a lower id, and an edit of a record already delivered.
    rows += [customer("0", T0 - timedelta(minutes=2)), customer("4", T0 + timedelta(seconds=1))]
    rows[0] = customer("1", T0 + timedelta(seconds=30))
    batch = sync.import_customers()
    assert asked[-1] == T0 + timedelta(seconds=1) - timedelta(minutes=5)
    assert sorted(c.id for c in batch) == ["0", "1", "4"]
    batch.commit()
    assert len(sync.import_customers()) == 0


def test_a_cursor_without_its_seen_set_falls_back_to_timestamp_and_id(
    scripted: tuple[AccountingSync, list[Customer], list[datetime | None]],
) -> None:
    sync, rows, _ = scripted
    name = f"accounting-sync:{sync.backend.name}:customers"
    sync.store.set_cursor(name, f"{T0.isoformat()}|20", tenant=sync.tenant)
    rows += [
        customer("19", T0),
        customer("20", T0),
        customer("21", T0),
        customer("5", T0 + timedelta(seconds=1)),
    ]
    assert [c.id for c in sync.import_customers()] == ["21", "5"]


def test_a_damaged_cursor_is_a_configuration_error(
    scripted: tuple[AccountingSync, list[Customer], list[datetime | None]],
) -> None:
    sync, _, _ = scripted
    sync.store.set_cursor(
        f"accounting-sync:{sync.backend.name}:customers", "yesterday", tenant=sync.tenant
    )
    with pytest.raises(ConfigurationError, match="ISO timestamp"):
        sync.import_customers()


def test_an_older_batch_committed_late_does_not_move_the_cursor_back(
    scripted: tuple[AccountingSync, list[Customer], list[datetime | None]],
) -> None:
    sync, rows, _ = scripted
    rows.append(customer("1", T0))
    old = sync.import_customers()
    rows.append(customer("2", T0 + timedelta(hours=1)))
    sync.import_customers().commit()
    old.commit()
    assert sync.store.get_cursor(
        f"accounting-sync:{sync.backend.name}:customers", tenant=sync.tenant
    ).endswith("|2")
    assert len(sync.import_customers()) == 0


def test_bad_configuration_is_refused(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, _, _ = setup
    with pytest.raises(ConfigurationError):
        AccountingSync(backend, store, changed_invoice_policy="overwrite")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AccountingSync(backend, store, overlap=timedelta(minutes=-1))


# -- run_every: overlap, failures, stopping ----------------------------------------------


class _OverlapProbe:
    """An ``on_payments`` callback (it runs inside the pass lock) that records the
    greatest number of passes seen inside the lock at once, and stops after ``limit``."""

    def __init__(self, stop: threading.Event, limit: int) -> None:
        self.stop, self.limit = stop, limit
        self.active = self.most = self.passes = 0
        self._mutex = threading.Lock()

    def __call__(self, payments: list[Payment]) -> None:
        with self._mutex:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.003)  # widen the window a second pass would have to slip into
        with self._mutex:
            self.active -= 1
            self.passes += 1
            if self.passes >= self.limit:
                self.stop.set()


def _run_in_threads(targets: list[Any]) -> None:
    workers = [threading.Thread(target=t) for t in targets]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)
    assert not any(w.is_alive() for w in workers)


def test_run_every_never_overlaps_itself_from_two_threads(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, _, _ = setup
    sync = AccountingSync(backend, store)
    stop = threading.Event()
    probe = _OverlapProbe(stop, limit=6)
    returned: list[int] = []

    def loop() -> None:
        returned.append(sync.run_every(0, source=SyncInput, stop_event=stop, on_payments=probe))

    _run_in_threads([loop, loop])

    assert probe.most == 1
    assert sum(returned) == probe.passes == len(sync.runs()) >= 6
    assert {r.status for r in sync.runs()} == {"ok"}


def test_run_every_never_overlaps_across_two_syncs_on_one_sqlite_file(
    setup: tuple[AccountingBackend, str, str], tmp_path: Path
) -> None:
    backend, _, _ = setup
    stop = threading.Event()
    probe = _OverlapProbe(stop, limit=6)
    with (
        SQLiteSyncStore(tmp_path / "shared.db") as first,
        SQLiteSyncStore(tmp_path / "shared.db") as second,
    ):
        syncs = [AccountingSync(backend, first), AccountingSync(backend, second)]
        assert syncs[0].owner != syncs[1].owner

        def loop(sync: AccountingSync) -> None:
            sync.run_every(0, source=SyncInput, stop_event=stop, on_payments=probe)

        _run_in_threads([lambda: loop(syncs[0]), lambda: loop(syncs[1])])

        assert probe.most == 1
        assert len(first.runs()) == probe.passes >= 6
        assert first.lock(syncs[0].lock_name, "after", 60)  # both released the lock


def test_run_every_records_a_pass_that_breaks_and_keeps_going(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, _, _ = setup
    sync = AccountingSync(backend, store)
    stop = threading.Event()
    calls = [0]

    def on_payments(payments: list[Payment]) -> None:
        calls[0] += 1
        if calls[0] == 1:
            raise ServiceError("the local ledger refused the payments")
        if calls[0] == 2:
            raise KeyError("a bug in the caller's code")
        stop.set()

    assert sync.run_every(0, source=SyncInput, stop_event=stop, on_payments=on_payments) == 3
    runs = list(reversed(sync.runs()))
    assert [r.status for r in runs] == ["failed", "failed", "ok"]
    assert "refused the payments" in runs[0].errors[0].message
    assert store.lock(sync.lock_name, "after", 60)  # the failed passes released the lock


def test_run_every_stops_promptly_while_waiting_for_the_next_pass(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, _, _ = setup
    sync = AccountingSync(backend, store)
    stop = threading.Event()
    waiting = threading.Event()
    returned: list[int] = []

    def source() -> SyncInput:
        waiting.set()
        return SyncInput()

    worker = threading.Thread(
        target=lambda: returned.append(
            sync.run_every(timedelta(hours=1), source=source, stop_event=stop)
        )
    )
    worker.start()
    assert waiting.wait(5)
    time.sleep(0.02)  # now inside the hour-long wait
    asked = time.monotonic()
    stop.set()
    worker.join(5)
    assert not worker.is_alive()
    assert time.monotonic() - asked < 1.0
    assert returned == [1]
    assert store.lock(sync.lock_name, "after", 60)


def test_run_every_with_the_stop_event_already_set_runs_nothing(
    setup: tuple[AccountingBackend, str, str], store: SQLiteSyncStore
) -> None:
    backend, _, _ = setup
    sync = AccountingSync(backend, store)
    stop = threading.Event()
    stop.set()
    assert sync.run_every(0, source=SyncInput, stop_event=stop) == 0
    assert sync.runs() == []


def test_a_pass_that_lost_its_expired_lock_stops_instead_of_overlapping(
    setup: tuple[AccountingBackend, str, str], tmp_path: Path
) -> None:
    backend, customer, item = setup
    now = [T0]
    with SQLiteSyncStore(tmp_path / "sync.db", clock=lambda: now[0]) as store:
        sync = AccountingSync(backend, store, clock=lambda: now[0], lock_ttl=30)

        def invoices() -> Iterator[Invoice]:
            yield invoice(customer, item, 1)
            now[0] += timedelta(seconds=60)  # a long stall: the lock expired...
            assert store.lock(sync.lock_name, "another-process", 30)  # ...and was taken
            yield invoice(customer, item, 2)

        with pytest.raises(SyncBusyError, match="lost its lock"):
            sync.run(invoices())
        assert backend.find_invoice("INV-2") is None
        assert sync.runs()[0].status == "failed"
        assert not store.lock(sync.lock_name, sync.owner, 30)  # the new holder keeps it
