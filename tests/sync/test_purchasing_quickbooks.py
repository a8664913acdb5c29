"""PurchaseOrderSync on QuickBooks Online (FakeQuickBooks through QuickBooksBackend):
purchase orders and deletions work, item receipts are refused clearly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from erpsync.errors import UnsupportedOperationError
from erpsync.mapping.status import QUICKBOOKS_PO_TO_ION
from erpsync.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, Ref
from erpsync.quickbooks.backend import QuickBooksBackend
from erpsync.store import SQLiteSyncStore
from erpsync.sync.purchasing import PurchaseOrderSync
from erpsync.sync.sinks import MemoryPurchasingSink
from erpsync.testing.core.emulator import FakeClock, clock_datetime
from erpsync.testing.quickbooks import FakeQuickBooks


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def backend(clock: FakeClock) -> Iterator[QuickBooksBackend]:
    fake = FakeQuickBooks(clock=clock)
    with fake:
        yield fake.backend()


@pytest.fixture
def order(backend: QuickBooksBackend) -> PurchaseOrder:
    vendor = next(iter(backend.iter_vendors()))
    item = backend.find_item("Rock Fountain")
    assert vendor.id is not None and item is not None and item.id is not None
    return backend.create_purchase_order(
        PurchaseOrder(
            vendor=Ref(id=vendor.id),
            date=date(2026, 11, 2),
            status=PurchaseOrderStatus.OPEN,
            lines=[PurchaseOrderLine(item=Ref(id=item.id), quantity=Decimal(3), rate=Decimal(125))],
        )
    )


def test_quickbooks_orders_are_mirrored_and_receipts_refused(
    backend: QuickBooksBackend, order: PurchaseOrder, tmp_path: Path, clock: FakeClock
) -> None:
    sink = MemoryPurchasingSink(parts={"Rock Fountain"})
    with SQLiteSyncStore(tmp_path / "sync.db", clock=lambda: clock_datetime(clock)) as store:
        sync = PurchaseOrderSync(
            backend,
            sink,
            QUICKBOOKS_PO_TO_ION,
            store=store,
            clock=lambda: clock_datetime(clock),
        )

        report = sync.run()

        assert report.ok and report.notes == ()
        assert order.id is not None
        local = sink.orders[order.id]
        assert local.status == "Ordered" and local.remote_status == "Open"
        assert local.lines[0].part.name == "Rock Fountain" and local.lines[0].part_known
        assert dict(local.attributes)["Netsuite RecordID"] == order.id
        assert sink.created_suppliers == [local.vendor.name]  # no supplier was known

        with pytest.raises(UnsupportedOperationError) as caught:
            sync.receive(order.id, {"1": 1})
        assert "QuickBooks has no item receipts" in str(caught.value)
        assert "Bill" in str(caught.value)

        # Deletions arrive through change data capture.
        clock.advance(60)
        wire = backend.client.read("PurchaseOrder", order.id)
        backend.client.delete("PurchaseOrder", order.id, str(wire["SyncToken"]))
        clock.advance(60)
        deleted = sync.run()

        assert [o.purchase_order_id for o in deleted.by_action("deleted")] == [order.id]
        assert sink.deletions == [order.id] and sink.orders == {}
