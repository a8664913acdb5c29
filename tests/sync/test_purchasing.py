"""PurchaseOrderSync against FakeNetSuite through the real NetSuiteBackend: seed 004's
scenarios (mirror, update, receive, close, delete, missing suppliers and parts, retries,
pushes)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.errors import (
    ConflictError,
    InvalidRequestError,
    ServiceError,
    WebhookSignatureError,
)
from erpsync.mapping.status import NETSUITE_PO_TO_ION, StatusTable
from erpsync.models import ItemReceipt
from erpsync.netsuite.backend import NetSuiteBackend
from erpsync.store import LockLease, SQLiteSyncStore
from erpsync.sync.feed import FeedPosition
from erpsync.sync.purchasing import (
    PUSH_SIGNATURE_HEADER,
    AttributeMapping,
    LocalReceiptLine,
    PurchaseOrderSync,
    sign_push,
)
from erpsync.sync.sinks import MemoryPurchasingSink, SinkPurchaseOrder, UpsertResult
from erpsync.testing.core.emulator import FakeClock, clock_datetime
from erpsync.testing.netsuite import FakeNetSuite

# The seeded account: three purchase orders, all from the same instant.
PENDING = "1001"  # Precision Parts Co.: WIDGET-100 x10 (line 1), SHOP-SUPPLIES x2 (line 2)
PARTIAL = "1002"  # Metal Supply Inc.: BRACKET-KIT x20, 8 received (line 1), WIDGET-100 x5
RECEIVED = "1004"  # Precision Parts Co.: WIDGET-100 x4, all received
PARTS = {"WIDGET-100", "SHOP-SUPPLIES", "BRACKET-KIT"}
SUPPLIERS = {"Precision Parts Co.": "S-1", "Metal Supply Inc.": "S-2"}
SECRET = "push-secret-for-tests"


class FlakySink(MemoryPurchasingSink):
    """A memory sink that fails the orders named in ``fail`` (as a real database might)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.fail: set[str] = set()

    def upsert_purchase_order(self, order: SinkPurchaseOrder) -> UpsertResult:
        if order.key in self.fail:
            raise RuntimeError(f"database is locked while writing {order.key}")
        return super().upsert_purchase_order(order)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeNetSuite]:
    emulator = FakeNetSuite(clock=clock)
    with emulator:
        yield emulator


@pytest.fixture
def backend(fake: FakeNetSuite) -> Iterator[NetSuiteBackend]:
    backend = fake.backend()
    yield backend
    backend.close()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(tmp_path / "sync.db", clock=lambda: clock_datetime(clock)) as store:
        yield store


@pytest.fixture
def sink() -> FlakySink:
    return FlakySink(parts=PARTS, suppliers=SUPPLIERS)


@pytest.fixture
def sync(
    backend: NetSuiteBackend, sink: FlakySink, store: SQLiteSyncStore, clock: FakeClock
) -> PurchaseOrderSync:
    return PurchaseOrderSync(backend, sink, store=store, clock=lambda: clock_datetime(clock))


def _later(fake: FakeNetSuite, clock: FakeClock, seconds: float = 60) -> None:
    """Let time pass, so that the next change has a later lastModifiedDate."""
    clock.advance(seconds)


def _receipts(fake: FakeNetSuite) -> list[dict[str, Any]]:
    return fake.records("itemReceipt")


# -- mirroring ----------------------------------------------------------------------------


def test_first_run_mirrors_every_order_with_its_attributes_and_status(
    sync: PurchaseOrderSync, sink: FlakySink, store: SQLiteSyncStore
) -> None:
    report = sync.run()

    assert report.ok and report.counts["created"] == 3 and report.counts["failed"] == 0
    assert set(sink.orders) == {PENDING, PARTIAL, RECEIVED}
    pending = sink.orders[PENDING]
    assert dict(pending.attributes) == {
        "Netsuite PO Number": "PO1001",
        "Netsuite RecordID": PENDING,
    }
    assert pending.supplier_id == "S-1" and pending.vendor.name == "Precision Parts Co."
    assert [(line.key, line.part.name, line.quantity) for line in pending.lines] == [
        ("1", "WIDGET-100", Decimal("10")),
        ("2", "SHOP-SUPPLIES", Decimal("2")),
    ]
    assert dict(pending.lines[0].attributes) == {"ns_line_id": 1, "Non-receivable": False}
    # Seed 004's table: Pending Receipt and Partially Received -> Ordered, Pending Bill -> Received.
    assert pending.status == "Ordered"
    assert sink.orders[PARTIAL].status == "Ordered"
    assert sink.orders[PARTIAL].lines[0].quantity_received == Decimal("8")
    assert sink.orders[RECEIVED].status == "Received"
    assert sink.created_suppliers == [] and report.warnings == []

    (logged,) = store.runs(kind="purchasing")
    assert logged.id == report.run_id and logged.status == "ok"
    assert logged.counts["created"] == 3


def test_a_run_without_changes_sends_nothing_to_the_sink(
    sync: PurchaseOrderSync, sink: FlakySink
) -> None:
    sync.run()
    events = list(sink.events)

    again = sync.run()

    assert again.ok and again.counts["unchanged"] == 3
    assert again.counts["created"] == again.counts["updated"] == 0
    assert sink.events == events


def test_header_and_line_changes_are_applied(
    sync: PurchaseOrderSync,
    sink: FlakySink,
    backend: NetSuiteBackend,
    fake: FakeNetSuite,
    clock: FakeClock,
) -> None:
    sync.run()
    _later(fake, clock)
    backend.client.update(
        "purchaseOrder",
        PENDING,
        {"memo": "rush order", "item": {"items": [{"line": 1, "quantity": 12}]}},
    )

    report = sync.run()

    (outcome,) = [o for o in report.outcomes if o.action != "unchanged"]
    assert (outcome.purchase_order_id, outcome.action) == (PENDING, "updated")
    order = sink.orders[PENDING]
    assert order.memo == "rush order"
    assert order.line("1") is not None and order.line("1").quantity == Decimal("12")  # type: ignore[union-attr]


def test_first_run_can_start_from_a_date(
    backend: NetSuiteBackend, sink: FlakySink, store: SQLiteSyncStore, clock: FakeClock
) -> None:
    sync = PurchaseOrderSync(
        backend,
        sink,
        store=store,
        start_from=clock_datetime(clock) + timedelta(days=1),
    )

    report = sync.run()

    assert report.outcomes == () and sink.orders == {}


# -- receiving ----------------------------------------------------------------------------


def test_partial_then_full_receipt_moves_the_local_status(
    sync: PurchaseOrderSync, sink: FlakySink, fake: FakeNetSuite, clock: FakeClock
) -> None:
    sync.run()
    before = len(_receipts(fake))

    _later(fake, clock)
    first = sync.receive(PENDING, {"1": 4}, receipt_key="ion-receipt-1")
    assert first.receipt is not None and first.receipt.id is not None
    assert [(line.line_id, line.quantity) for line in first.receipt.lines] == [("1", Decimal("4"))]
    sync.run()
    order = sink.orders[PENDING]
    assert order.remote_status == "Partially Received" and order.status == "Ordered"
    assert order.line("1").quantity_received == Decimal("4")  # type: ignore[union-attr]

    _later(fake, clock)
    sync.receive(PENDING, {"1": Decimal("6"), "2": Decimal("2")}, receipt_key="ion-receipt-2")
    sync.run()
    order = sink.orders[PENDING]
    assert order.remote_status == "Pending Bill" and order.status == "Received"
    assert len(_receipts(fake)) == before + 2


def test_receiving_more_than_is_open_is_refused_before_netsuite_is_called(
    sync: PurchaseOrderSync,
    backend: NetSuiteBackend,
    fake: FakeNetSuite,
    store: SQLiteSyncStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = len(_receipts(fake))
    sent: list[ItemReceipt] = []
    monkeypatch.setattr(backend, "receive_purchase_order", sent.append)

    with pytest.raises(InvalidRequestError) as caught:
        sync.receive(PARTIAL, {"1": 13, "2": 6}, receipt_key="too-many")

    message = str(caught.value)
    assert "line 1: 13 requested but only 12 open (ordered 20, received 8)" in message
    assert "line 2: 6 requested but only 5 open" in message
    assert "nothing was sent" in message
    assert sent == [] and len(_receipts(fake)) == before
    assert list(store.iter_entries(record_type="item_receipt")) == []
    # Exactly what is open is fine.
    monkeypatch.undo()
    assert sync.receive(PARTIAL, {"1": 12, "2": 5}, receipt_key="just-right").receipt is not None


def test_the_same_receipt_saved_twice_makes_one_item_receipt(
    sync: PurchaseOrderSync, fake: FakeNetSuite
) -> None:
    before = len(_receipts(fake))

    first = sync.receive(PENDING, {"1": 4}, receipt_key="ion-receipt-7")
    second = sync.receive(PENDING, {"1": 4}, receipt_key="ion-receipt-7")

    assert not first.repeated and second.repeated
    assert first.receipt is not None and second.receipt is not None
    assert second.receipt.id == first.receipt.id
    assert second.external_id == first.external_id
    assert len(_receipts(fake)) == before + 1
    with pytest.raises(ConflictError, match="already used"):
        sync.receive(PENDING, {"1": 3}, receipt_key="ion-receipt-7")


def test_without_a_key_an_identical_receipt_the_same_day_is_the_same_receipt(
    sync: PurchaseOrderSync, fake: FakeNetSuite
) -> None:
    before = len(_receipts(fake))

    first = sync.receive(PENDING, {"1": 2})
    second = sync.receive(PENDING, {"1": 2})
    other = sync.receive(PENDING, {"1": 3})

    assert second.repeated and second.external_id == first.external_id
    assert other.external_id != first.external_id and not other.repeated
    assert len(_receipts(fake)) == before + 2


def test_a_receipt_retried_after_a_lost_response_is_made_once(
    sync: PurchaseOrderSync, fake: FakeNetSuite
) -> None:
    before = len(_receipts(fake))
    fake.inject("lose_response", match=lambda request: "!transform" in request.path)

    first = sync.receive(PENDING, {"1": 10}, receipt_key="ion-receipt-lost")
    again = sync.receive(PENDING, {"1": 10}, receipt_key="ion-receipt-lost")

    assert first.receipt is not None and again.receipt is not None
    assert again.receipt.id == first.receipt.id
    receipts = _receipts(fake)
    assert len(receipts) == before + 1
    assert [r.get("externalId") for r in receipts].count(first.external_id) == 1


def test_a_receipt_whose_outcome_is_unknown_is_not_refused_as_an_over_receipt(
    sync: PurchaseOrderSync, backend: NetSuiteBackend, fake: FakeNetSuite, store: SQLiteSyncStore
) -> None:
    # The receipt reaches NetSuite but the caller never learns it (the process dies,
    # the answer is lost past every retry): the whole line is now received, so a local
    # "only 0 open" check would wrongly refuse the retry.
    real = backend.receive_purchase_order
    calls: list[ItemReceipt] = []

    def lost(receipt: ItemReceipt) -> ItemReceipt:
        calls.append(receipt)
        real(receipt)
        raise ServiceError("connection reset by peer", backend="NetSuite")

    backend.receive_purchase_order = lost  # type: ignore[method-assign]
    before = len(_receipts(fake))
    with pytest.raises(ServiceError):
        sync.receive(PENDING, {"1": 10}, receipt_key="ion-receipt-crash")
    (entry,) = store.iter_entries(record_type="item_receipt")
    assert entry.state == "failed"

    backend.receive_purchase_order = real  # type: ignore[method-assign]
    result = sync.receive(PENDING, {"1": 10}, receipt_key="ion-receipt-crash")

    assert result.receipt is not None and result.receipt.external_id == calls[0].external_id
    assert len(_receipts(fake)) == before + 1
    (entry,) = store.iter_entries(record_type="item_receipt")
    assert entry.state == "written" and entry.remote_id == result.receipt.id


def test_non_receivable_lines_are_skipped_and_reported(
    sync: PurchaseOrderSync, backend: NetSuiteBackend, fake: FakeNetSuite
) -> None:
    backend.client.update(
        "purchaseOrder", PENDING, {"item": {"items": [{"line": 2, "isClosed": True}]}}
    )
    before = len(_receipts(fake))

    result = sync.receive(
        PENDING,
        [
            LocalReceiptLine(4, {"ns_line_id": 1, "Non-receivable": False}),
            LocalReceiptLine(1, {"ns_line_id": 2, "Non-receivable": False}),
        ],
        receipt_key="ion-receipt-skip",
    )

    assert result.receipt is not None
    assert [line.line_id for line in result.receipt.lines] == ["1"]
    ((skipped),) = result.skipped
    assert skipped.line_id == "2" and "closed or not receivable" in skipped.reason
    assert len(_receipts(fake)) == before + 1

    flagged = sync.receive(
        PENDING, [LocalReceiptLine(1, {"ns_line_id": 1, "Non-receivable": True})]
    )
    assert flagged.receipt is None and flagged.skipped[0].reason.endswith("'Non-receivable'")
    assert len(_receipts(fake)) == before + 1


def test_an_unknown_line_is_refused(sync: PurchaseOrderSync) -> None:
    with pytest.raises(InvalidRequestError, match="has no line 9"):
        sync.receive(PENDING, {"9": 1})


# -- closing and deleting -----------------------------------------------------------------


def test_closing_an_order_cancels_its_open_lines(
    sync: PurchaseOrderSync,
    sink: FlakySink,
    backend: NetSuiteBackend,
    fake: FakeNetSuite,
    clock: FakeClock,
) -> None:
    sync.receive(PENDING, {"1": 4}, receipt_key="before-close")
    sync.run()
    _later(fake, clock)
    backend.client.update(
        "purchaseOrder",
        PENDING,
        {"item": {"items": [{"line": 1, "isClosed": True}, {"line": 2, "isClosed": True}]}},
    )

    report = sync.run()

    (outcome,) = [o for o in report.outcomes if o.purchase_order_id == PENDING]
    assert outcome.action == "updated" and outcome.status == "Canceled"
    assert outcome.lines_canceled == 2 and report.counts["lines_canceled"] == 2
    assert sink.cancellations == [PENDING] and sink.canceled_lines[PENDING] == {"1", "2"}
    order = sink.orders[PENDING]
    assert order.status == "Canceled" and order.remote_status == "Closed"
    assert [line.attributes["Non-receivable"] for line in order.lines] == [True, True]

    assert sync.run().counts["lines_canceled"] == 0  # nothing is cancelled twice


def test_deleting_an_order_deletes_it_locally(
    sync: PurchaseOrderSync,
    sink: FlakySink,
    backend: NetSuiteBackend,
    fake: FakeNetSuite,
    clock: FakeClock,
) -> None:
    sync.run()
    _later(fake, clock)
    backend.client.delete("purchaseOrder", PENDING)

    report = sync.run()

    assert [(o.purchase_order_id, o.action) for o in report.by_action("deleted")] == [
        (PENDING, "deleted")
    ]
    assert PENDING not in sink.orders and sink.deletions == [PENDING]
    assert sync.run().counts["deleted"] == 0  # the overlap re-reads it; nothing happens


# -- missing suppliers and parts ----------------------------------------------------------


def test_an_unknown_supplier_is_created_with_a_warning(
    sync: PurchaseOrderSync,
    sink: FlakySink,
    backend: NetSuiteBackend,
    fake: FakeNetSuite,
    clock: FakeClock,
) -> None:
    sync.run()
    _later(fake, clock)
    vendor = backend.client.create(
        "vendor", {"companyName": "Anodize Works", "subsidiary": {"id": "1"}}
    )
    order = backend.client.create(
        "purchaseOrder",
        {
            "entity": {"id": vendor},
            "item": {"items": [{"item": {"id": "201"}, "quantity": 3, "rate": 4.5}]},
        },
    )

    report = sync.run()

    (outcome,) = [o for o in report.outcomes if o.purchase_order_id == order]
    assert outcome.action == "created" and outcome.supplier_created
    assert "Anodize Works" in outcome.warnings[0] and "created" in outcome.warnings[0]
    assert sink.created_suppliers == ["Anodize Works"]
    assert sink.suppliers[sink.orders[order].supplier_id] == "Anodize Works"
    assert report.counts["suppliers_created"] == 1


def test_an_unknown_part_is_a_warning_and_the_order_is_still_applied(
    backend: NetSuiteBackend,
    store: SQLiteSyncStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = MemoryPurchasingSink(parts={"WIDGET-100", "BRACKET-KIT"}, suppliers=SUPPLIERS)
    sync = PurchaseOrderSync(backend, sink, store=store)

    with caplog.at_level(logging.WARNING, logger="erpsync.sync.purchasing"):
        report = sync.run()

    assert report.ok and report.counts["created"] == 3
    ((order_id, message),) = report.warnings
    assert order_id == PENDING and "SHOP-SUPPLIES" in message
    line = sink.orders[PENDING].line("2")
    assert line is not None and not line.part_known
    assert sink.warnings == [(PENDING, message)]
    assert any("SHOP-SUPPLIES" in record.getMessage() for record in caplog.records)
    assert store.runs(kind="purchasing")[0].counts["warnings"] == 1


# -- failures -----------------------------------------------------------------------------


def test_a_failed_order_is_reported_and_retried_by_id_on_a_later_run(
    sync: PurchaseOrderSync,
    sink: FlakySink,
    backend: NetSuiteBackend,
    fake: FakeNetSuite,
    clock: FakeClock,
    store: SQLiteSyncStore,
) -> None:
    sink.fail = {PARTIAL}
    first = sync.run()
    assert first.status == "partial" and first.counts["created"] == 2
    (failed,) = first.failed
    assert failed.purchase_order_id == PARTIAL and "database is locked" in (failed.error or "")
    logged = store.get_run(first.run_id)
    assert logged is not None and logged.status == "partial"
    assert [e.record for e in logged.errors] == ["purchase order PO1002 (id 1002)"]

    # Another order changes an hour later and PARTIAL fails again: the cursor moves on.
    _later(fake, clock, 3600)
    backend.client.update("purchaseOrder", PENDING, {"memo": "moved on"})
    assert sync.run().failed[0].purchase_order_id == PARTIAL

    # Far past the overlap, PARTIAL is no longer listed; it is retried from the ledger.
    _later(fake, clock, 3600)
    sink.fail = set()
    third = sync.run()

    assert third.ok
    assert {o.purchase_order_id: o.action for o in third.outcomes} == {
        PENDING: "unchanged",
        PARTIAL: "created",
    }
    assert PARTIAL in sink.orders
    assert list(store.iter_entries(record_type="purchase_order", state="failed")) == []


def test_a_status_missing_from_the_table_fails_only_that_order(
    backend: NetSuiteBackend, store: SQLiteSyncStore
) -> None:
    entries = {k: v for k, v in NETSUITE_PO_TO_ION.entries.items() if k != "D"}
    table = StatusTable(
        "no-partial", entries, aliases={"Pending Receipt": "B", "Pending Bill": "F"}
    )
    sink = MemoryPurchasingSink(parts=PARTS, suppliers=SUPPLIERS)

    report = PurchaseOrderSync(backend, sink, table, store=store).run()

    (failed,) = report.failed
    assert failed.purchase_order_id == PARTIAL and "Partially Received" in (failed.error or "")
    assert set(sink.orders) == {PENDING, RECEIVED}


def test_an_order_another_process_holds_is_busy_and_the_cursor_waits_for_it(
    sync: PurchaseOrderSync,
    sink: FlakySink,
    store: SQLiteSyncStore,
    fake: FakeNetSuite,
    clock: FakeClock,
    backend: NetSuiteBackend,
) -> None:
    held = store.claim(
        sync.scope,
        "purchase_order",
        PARTIAL,
        owner="push-worker",
        lease_seconds=100_000,
        tenant=sync.tenant,
    )
    assert held is not None
    _later(fake, clock)
    backend.client.update("purchaseOrder", PARTIAL, {"memo": "being pushed"})
    _later(fake, clock, 3600)
    backend.client.update("purchaseOrder", PENDING, {"memo": "an hour later"})

    report = sync.run()

    actions = {o.purchase_order_id: o.action for o in report.outcomes}
    assert actions[PARTIAL] == "busy" and actions[PENDING] == "created"
    # The cursor stops at the busy order, not at the newer change after it.
    stored = store.get_cursor(sync.cursor_name, tenant=sync.tenant)
    assert stored is not None
    partial = next(po for po in backend.iter_purchase_orders() if po.id == PARTIAL)
    assert partial.updated_at is not None
    assert FeedPosition.parse(stored) == FeedPosition.before(partial.updated_at)

    store.release(held)
    _later(fake, clock)
    assert {o.purchase_order_id: o.action for o in sync.run().outcomes}[PARTIAL] == "created"
    assert sink.orders[PARTIAL].memo == "being pushed"


def test_runs_of_one_scope_do_not_overlap(
    backend: NetSuiteBackend, store: SQLiteSyncStore, clock: FakeClock
) -> None:
    refused: list[BaseException] = []

    class Reentrant(FlakySink):
        """A sink whose first write starts two more runs: another host's, and this object's."""

        def upsert_purchase_order(self, order: SinkPurchaseOrder) -> UpsertResult:
            if not refused:
                for competitor in (other, first):
                    with pytest.raises(ConflictError, match="in progress") as caught:
                        competitor.run()
                    refused.append(caught.value)
            return super().upsert_purchase_order(order)

    sink = Reentrant(parts=PARTS, suppliers=SUPPLIERS)
    first = PurchaseOrderSync(backend, sink, store=store, clock=lambda: clock_datetime(clock))
    other = PurchaseOrderSync(backend, sink, store=store, clock=lambda: clock_datetime(clock))

    assert first.run().counts["created"] == 3
    assert len(refused) == 2  # another host, and the same object again
    assert other.run().ok  # the lock was released
    assert [run.status for run in store.runs(kind="purchasing")] == ["ok", "ok"]


def test_a_failed_listing_is_logged_as_a_failed_run(
    sync: PurchaseOrderSync, fake: FakeNetSuite, store: SQLiteSyncStore
) -> None:
    fake.inject("server_error", times=50, match=lambda request: "suiteql" in request.path)

    with pytest.raises(ServiceError):
        sync.run()

    (logged,) = store.runs(kind="purchasing")
    assert logged.status == "failed" and logged.errors[-1].record == "purchasing run"
    assert store.get_cursor(sync.cursor_name, tenant=sync.tenant) is None


# -- push ---------------------------------------------------------------------------------


def _push(order_id: str, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"recordType": "purchaseorder", "id": order_id, "event": "edit"}).encode()
    return body, {PUSH_SIGNATURE_HEADER.lower(): sign_push(body, secret)}


def test_a_signed_push_syncs_just_that_order(
    sync: PurchaseOrderSync, sink: FlakySink, store: SQLiteSyncStore
) -> None:
    body, headers = _push(PARTIAL)

    result = sync.handle_push(body, headers, SECRET)

    assert result.ok and result.outcome.action == "created"
    assert set(sink.orders) == {PARTIAL}
    (logged,) = store.runs(kind="purchasing-push")
    assert logged.id == result.run_id and logged.counts["created"] == 1
    # The periodic run then finds it already applied.
    counts = sync.run().counts
    assert (counts["created"], counts["unchanged"]) == (2, 1)


def test_a_push_with_a_bad_signature_processes_nothing(
    sync: PurchaseOrderSync, sink: FlakySink, store: SQLiteSyncStore, fake: FakeNetSuite
) -> None:
    body, headers = _push(PARTIAL, secret="not-the-secret")
    requests_before = fake.stats.requests

    with pytest.raises(WebhookSignatureError) as caught:
        sync.handle_push(body, headers, SECRET)
    with pytest.raises(WebhookSignatureError):
        sync.handle_push(body, {}, SECRET)
    tampered = body.replace(b"1002", b"1001")
    with pytest.raises(WebhookSignatureError):
        sync.handle_push(tampered, _push(PARTIAL)[1], SECRET)

    assert sign_push(body, SECRET) not in str(caught.value)
    assert sink.orders == {} and store.runs() == []
    assert fake.stats.requests == requests_before


def test_a_push_for_a_deleted_order_deletes_it_locally(
    sync: PurchaseOrderSync, sink: FlakySink, backend: NetSuiteBackend
) -> None:
    sync.handle_push(*_push(PENDING), SECRET)
    backend.client.delete("purchaseOrder", PENDING)

    result = sync.handle_push(*_push(PENDING), SECRET)

    assert result.outcome.action == "deleted" and sink.orders == {}


def test_a_failed_push_is_reported_and_left_to_the_run(
    sync: PurchaseOrderSync, sink: FlakySink, store: SQLiteSyncStore
) -> None:
    sink.fail = {PENDING}

    result = sync.handle_push(*_push(PENDING), SECRET)

    assert not result.ok and "database is locked" in (result.outcome.error or "")
    assert store.runs(kind="purchasing-push")[0].status == "failed"
    sink.fail = set()
    assert {o.purchase_order_id: o.action for o in sync.run().outcomes}[PENDING] == "created"


def test_the_sync_clock_dates_receipts(
    backend: NetSuiteBackend, store: SQLiteSyncStore, fake: FakeNetSuite
) -> None:
    sink = MemoryPurchasingSink(parts=PARTS, suppliers=SUPPLIERS)
    sync = PurchaseOrderSync(
        backend, sink, store=store, clock=lambda: datetime(2027, 3, 4, 12, tzinfo=UTC)
    )

    result = sync.receive(PENDING, {"1": 1}, receipt_key="dated")

    assert result.receipt is not None and result.receipt.date.isoformat() == "2027-03-04"
    (made,) = [r for r in _receipts(fake) if r.get("externalId") == result.external_id]
    assert made["tranDate"] == "2027-03-04"


def test_a_listed_copy_older_than_a_concurrent_push_is_not_applied(
    backend: NetSuiteBackend, store: SQLiteSyncStore, clock: FakeClock
) -> None:
    # While the run works through its listing, a push applies a newer version of an
    # order further down the list; the run must not put the listed (older) copy back.
    pusher: list[PurchaseOrderSync] = []

    class PushingSink(FlakySink):
        def upsert_purchase_order(self, order: SinkPurchaseOrder) -> UpsertResult:
            result = super().upsert_purchase_order(order)
            if order.key == PENDING and not pusher:
                clock.advance(5)
                backend.client.update("purchaseOrder", PARTIAL, {"memo": "changed mid-run"})
                pusher.append(PurchaseOrderSync(backend, self, store=store))
                assert pusher[0].handle_push(*_push(PARTIAL), SECRET).outcome.action == "created"
            return result

    sink = PushingSink(parts=PARTS, suppliers=SUPPLIERS)
    report = PurchaseOrderSync(backend, sink, store=store).run()

    assert {o.purchase_order_id: o.action for o in report.outcomes}[PARTIAL] == "unchanged"
    assert sink.orders[PARTIAL].memo == "changed mid-run"


def test_attribute_names_are_configuration(
    backend: NetSuiteBackend, store: SQLiteSyncStore, fake: FakeNetSuite
) -> None:
    names = AttributeMapping(
        po_number="ERP PO", record_id="ERP id", non_receivable="No receipt", line_id="erp_line"
    )
    sink = MemoryPurchasingSink(parts=PARTS, suppliers=SUPPLIERS)
    sync = PurchaseOrderSync(backend, sink, store=store, attributes=names)
    sync.run()
    before = len(_receipts(fake))

    order = sink.orders[PENDING]
    assert dict(order.attributes) == {"ERP PO": "PO1001", "ERP id": PENDING}
    assert dict(order.lines[1].attributes) == {"erp_line": 2, "No receipt": False}
    result = sync.receive(
        PENDING,
        [
            LocalReceiptLine("2", order.lines[1].attributes),
            LocalReceiptLine(1, {"erp_line": 1, "No receipt": "true"}),
        ],
        receipt_key="configured",
    )
    assert result.receipt is not None and [line.line_id for line in result.receipt.lines] == ["2"]
    assert [s.line_id for s in result.skipped] == ["1"]
    assert len(_receipts(fake)) == before + 1


def test_a_failing_deleted_record_feed_is_reported_and_read_again_next_run(
    sync: PurchaseOrderSync,
    sink: FlakySink,
    backend: NetSuiteBackend,
    fake: FakeNetSuite,
    clock: FakeClock,
    store: SQLiteSyncStore,
) -> None:
    sync.run()
    _later(fake, clock)
    backend.client.delete("purchaseOrder", PENDING)
    _later(fake, clock, 3600)  # the next run comes well after the deletion
    fake.inject("server_error", times=50, match=lambda request: b"deletedrecord" in request.body)

    broken = sync.run()

    assert broken.status == "partial" and PENDING in sink.orders
    assert [e.record for e in broken.errors] == ["deleted purchase orders"]
    assert store.get_run(broken.run_id).status == "partial"  # type: ignore[union-attr]

    fake.reset_runtime()  # the fault clears
    _later(fake, clock)
    assert [o.purchase_order_id for o in sync.run().by_action("deleted")] == [PENDING]
    assert PENDING not in sink.orders


def test_a_backend_without_a_deleted_record_feed_says_so(
    sync: PurchaseOrderSync, backend: NetSuiteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_feed = replace(backend.capabilities, deleted_records=False)
    monkeypatch.setattr(type(backend), "capabilities", property(lambda self: no_feed))

    report = sync.run()

    assert report.ok and report.counts["created"] == 3
    assert report.notes == (
        "NetSuite cannot list deleted records: purchase orders deleted there are not "
        "deleted locally",
    )


def test_a_receipt_whose_process_died_before_the_ledger_write_is_made_once(
    sync: PurchaseOrderSync, fake: FakeNetSuite, store: SQLiteSyncStore, clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    class Crash(BaseException):
        """The process dies: nothing more reaches the store."""

    def die(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    before = len(_receipts(fake))
    with monkeypatch.context() as patch:
        patch.setattr(store, "mark_written", die)
        patch.setattr(store, "mark_failed", die)
        with pytest.raises(Crash):
            sync.receive(PENDING, {"1": 10}, receipt_key="ion-receipt-killed")
    assert len(_receipts(fake)) == before + 1
    (entry,) = store.iter_entries(record_type="item_receipt")
    assert entry.state == "claimed"

    with pytest.raises(ConflictError, match="being written by another process"):
        sync.receive(PENDING, {"1": 10}, receipt_key="ion-receipt-killed")
    clock.advance(sync.lease_seconds + 1)
    # The line is fully received now: only the ERP's external-id lookup can say that
    # this is the same receipt, so the local over-receipt check must not refuse it.
    result = sync.receive(PENDING, {"1": 10}, receipt_key="ion-receipt-killed")
    assert result.receipt is not None and result.receipt.id is not None
    assert len(_receipts(fake)) == before + 1
    (entry,) = store.iter_entries(record_type="item_receipt")
    assert entry.state == "written" and entry.remote_id == result.receipt.id


def test_a_run_that_lost_its_lock_stops_instead_of_overlapping(
    backend: NetSuiteBackend,
    sink: FlakySink,
    store: SQLiteSyncStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every reading of the workflow's clock is 400 s later: the lock (900 s) needs
    # renewing after the first order, and by then another run has taken it.
    start = clock_datetime(clock)
    ticks = iter(range(0, 10**6, 400))
    sync = PurchaseOrderSync(
        backend, sink, store=store, clock=lambda: start + timedelta(seconds=next(ticks))
    )
    real_lock = store.lock
    taken: list[str] = []

    def lock(name: str, owner: str, ttl: float, **kwargs: Any) -> LockLease | None:
        taken.append(name)
        return real_lock(name, owner, ttl, **kwargs) if len(taken) == 1 else None

    monkeypatch.setattr(store, "lock", lock)
    with pytest.raises(ConflictError, match="lost its lock"):
        sync.run()
    assert len(taken) == 2  # acquired, then refused on renewal: nothing after that
    (run,) = store.runs(kind="purchasing")
    assert run.status == "failed"
