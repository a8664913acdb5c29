"""A store written before the purchasing run moved onto the shared feed keeps working.

Until then the run stored both watermarks as one JSON value under its cursor name.
These tests write that value exactly as the old version did and check that the next
run reads the ERP from the same points the old version would have (no order
re-processed, none skipped), then keeps going in the new form.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from erpsync.netsuite.backend import NetSuiteBackend
from erpsync.store import SQLiteSyncStore
from erpsync.sync.feed import FeedPosition
from erpsync.sync.purchasing import PurchaseOrderSync
from erpsync.sync.sinks import MemoryPurchasingSink
from erpsync.testing import FakeClock, FakeNetSuite

PENDING, PARTIAL, RECEIVED = "1001", "1002", "1004"  # the seeded orders, all stamped alike
OVERLAP = timedelta(minutes=10)


def _now(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock.now(), tz=UTC)


@pytest.fixture
def backend(fake_netsuite: FakeNetSuite) -> Iterator[NetSuiteBackend]:
    backend = fake_netsuite.backend()
    yield backend
    backend.close()


@pytest.fixture
def store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(tmp_path / "old.db", clock=lambda: _now(fake_clock)) as opened:
        yield opened


@pytest.fixture
def sink() -> MemoryPurchasingSink:
    return MemoryPurchasingSink(
        parts={"WIDGET-100", "SHOP-SUPPLIES", "BRACKET-KIT"},
        suppliers={"Precision Parts Co.": "S-1", "Metal Supply Inc.": "S-2"},
    )


@pytest.fixture
def sync(
    backend: NetSuiteBackend,
    sink: MemoryPurchasingSink,
    store: SQLiteSyncStore,
    fake_clock: FakeClock,
) -> PurchaseOrderSync:
    return PurchaseOrderSync(
        backend, sink, store=store, clock=lambda: _now(fake_clock), overlap=OVERLAP
    )


def _store_old_cursor(
    sync: PurchaseOrderSync,
    orders_at: datetime | None,
    orders_id: str | None,
    deleted: datetime | None,
) -> None:
    """Store the value the old version stored (its format, byte for byte)."""

    def stamp(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(UTC).isoformat()

    value = json.dumps(
        {"v": 1, "orders": {"at": stamp(orders_at), "id": orders_id}, "deleted": stamp(deleted)},
        sort_keys=True,
    )
    sync.store.set_cursor(sync.cursor_name, value, tenant=sync.tenant)


def _stamp_of(backend: NetSuiteBackend, order_id: str) -> datetime:
    stamp = backend.get_purchase_order(order_id).updated_at
    assert stamp is not None
    return stamp


class Reads:
    """Where each run asked the ERP to start its two feeds."""

    def __init__(self) -> None:
        self.orders: list[datetime | None] = []
        self.deleted: list[datetime] = []


@pytest.fixture
def reads(backend: NetSuiteBackend, monkeypatch: pytest.MonkeyPatch) -> Reads:
    seen = Reads()
    list_orders, list_deleted = backend.iter_purchase_orders, backend.iter_deleted

    def orders(modified_since: datetime | None = None) -> Any:
        seen.orders.append(modified_since)
        return list_orders(modified_since=modified_since)

    def deleted(record_type: str, since: datetime) -> Any:
        seen.deleted.append(since)
        return list_deleted(record_type, since)

    monkeypatch.setattr(backend, "iter_purchase_orders", orders)
    monkeypatch.setattr(backend, "iter_deleted", deleted)
    return seen


def test_an_old_cursor_is_read_from_the_same_points_and_rewritten(
    sync: PurchaseOrderSync, backend: NetSuiteBackend, sink: MemoryPurchasingSink,
    fake_clock: FakeClock, reads: Reads,
) -> None:  # fmt: skip
    clock = fake_clock
    clock.advance(3600)
    backend.client.update("purchaseOrder", PARTIAL, {"memo": "seen by the old version"})
    seen_at = _stamp_of(backend, PARTIAL)
    deleted_mark = seen_at + timedelta(seconds=5)
    clock.advance(3600)
    backend.client.update("purchaseOrder", PENDING, {"memo": "after the upgrade"})
    _store_old_cursor(sync, seen_at, PARTIAL, deleted_mark)

    report = sync.run()

    # The old version would have started both reads one overlap before its marks.
    assert reads.orders == [seen_at - OVERLAP]
    assert reads.deleted == [deleted_mark - OVERLAP]
    # RECEIVED (older than the mark) is not re-processed; PENDING (newer) is not skipped.
    assert set(sink.orders) == {PENDING, PARTIAL} and report.ok
    assert sink.orders[PENDING].memo == "after the upgrade"
    stored = sync.store.get_cursor(sync.cursor_name, tenant=sync.tenant)
    assert stored is not None
    assert FeedPosition.parse(stored) == FeedPosition.of(_stamp_of(backend, PENDING), PENDING)

    # From now on the new form is read: nothing changed, so nothing is written again.
    again = sync.run()
    assert reads.orders[-1] == _stamp_of(backend, PENDING) - OVERLAP
    assert reads.deleted[-1] >= deleted_mark - OVERLAP
    assert again.ok and again.counts["created"] == again.counts["updated"] == 0


def test_an_old_cursor_held_before_a_busy_order_reads_that_order_again(
    sync: PurchaseOrderSync, backend: NetSuiteBackend, sink: MemoryPurchasingSink, reads: Reads
) -> None:
    held_at = _stamp_of(backend, PARTIAL)
    _store_old_cursor(sync, held_at, None, None)

    report = sync.run()

    assert reads.orders == [held_at - OVERLAP]
    assert set(sink.orders) == {PENDING, PARTIAL, RECEIVED} and report.counts["created"] == 3


def test_an_old_cursor_that_never_saw_an_order_starts_from_the_beginning(
    sync: PurchaseOrderSync, sink: MemoryPurchasingSink, fake_clock: FakeClock, reads: Reads
) -> None:
    deleted_mark = _now(fake_clock) - timedelta(days=2)
    _store_old_cursor(sync, None, None, deleted_mark)

    assert sync.run().counts["created"] == 3

    assert reads.orders == [None] and reads.deleted == [deleted_mark - OVERLAP]
    assert set(sink.orders) == {PENDING, PARTIAL, RECEIVED}
