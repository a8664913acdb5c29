"""FakeNetSuite's public record controls: update, close and delete a purchase order
(and any record) from a test, seen by a client the way NetSuite would show them."""

from __future__ import annotations

import time

import pytest

from erpsync import PurchaseOrderStatus
from erpsync.errors import ConfigurationError
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite


@pytest.fixture
def fake() -> FakeNetSuite:
    return FakeNetSuite(clock=FakeClock(time.time()))


def _po_id(fake: FakeNetSuite, external_id: str) -> str:
    (po,) = [p for p in fake.records("purchaseOrder") if p["externalId"] == external_id]
    return str(po["id"])


def test_update_record_changes_what_clients_read(fake: FakeNetSuite) -> None:
    pending = _po_id(fake, "po-pending")
    record = fake.update_record("purchaseOrder", pending, {"memo": "moved on"})
    assert record["memo"] == "moved on"
    with fake:
        order = fake.backend().get_purchase_order(pending)
    assert order.memo == "moved on"
    by_eid = fake.update_record(
        "purchaseOrder", "eid:po-pending", {"item": {"items": [{"line": 1, "quantity": 12}]}}
    )
    assert by_eid["item"]["items"][0]["quantity"] == 12.0


def test_close_purchase_order_closes_every_line(fake: FakeNetSuite) -> None:
    partial = _po_id(fake, "po-partial")
    record = fake.close_purchase_order(partial)
    assert record["orderStatus"] == {"id": "H", "refName": "Closed"}
    assert all(line["isClosed"] for line in record["item"]["items"])
    with fake:
        order = fake.backend().get_purchase_order(partial)
    assert order.status is PurchaseOrderStatus.CLOSED


def test_delete_record_lists_it_in_deletedrecord(fake: FakeNetSuite) -> None:
    pending = _po_id(fake, "po-pending")
    fake.delete_record("purchaseOrder", pending)
    assert pending not in {p["id"] for p in fake.records("purchaseOrder")}
    rows = fake.query(f"SELECT recordtypeid FROM deletedrecord WHERE recordid = '{pending}'")
    assert rows == [{"recordtypeid": "purchaseorder"}]


def test_refused_changes_name_the_record_and_field(fake: FakeNetSuite) -> None:
    received = _po_id(fake, "po-partial")
    with pytest.raises(ConfigurationError, match="dependent records"):
        fake.delete_record("purchaseOrder", received)  # it has an item receipt
    with pytest.raises(ConfigurationError, match=r"purchaseOrder .*field memo"):
        fake.update_record("purchaseOrder", received, {"memo": "x" * 1000})
    with pytest.raises(ConfigurationError, match="NONEXISTENT_ID"):
        fake.close_purchase_order("999999")
    with pytest.raises(ConfigurationError, match="Unknown record type"):
        fake.update_record("nope", "1", {})
    created = fake.create_record(
        "customer", {"companyName": "Made in a test", "subsidiary": {"id": "1"}}
    )
    assert created in {c["id"] for c in fake.records("customer")}
