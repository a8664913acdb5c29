"""The parts of the purchasing sync that need no ERP: configuration, push signatures,
input checks made before any request, the memory sink."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.errors import (
    ConfigurationError,
    InvalidRequestError,
    WebhookSignatureError,
)
from erpsync.models import ItemReceiptLine, Ref
from erpsync.netsuite.auth import TokenBasedAuth
from erpsync.netsuite.backend import NetSuiteBackend
from erpsync.store import SQLiteSyncStore
from erpsync.sync.purchasing import (
    PUSH_SIGNATURE_HEADER,
    USER_EVENT_SCRIPT,
    AttributeMapping,
    LocalReceiptLine,
    OrderOutcome,
    PurchaseOrderSync,
    PurchasingRunReport,
    sign_push,
    verify_push_signature,
)
from erpsync.sync.sinks import (
    LocalSupplier,
    MemoryPurchasingSink,
    PurchasingSink,
    SinkLine,
    SinkPurchaseOrder,
)

SECRET = "s3cret"


@pytest.fixture
def offline_backend() -> Iterator[NetSuiteBackend]:
    """A backend that is never connected: these tests must fail before any request."""
    backend = NetSuiteBackend(
        account_id="1234567_SB1",
        auth=TokenBasedAuth("ck", "cs", "tid", "ts"),
        base_url="https://127.0.0.1:9",  # nothing listens there
    )
    yield backend
    backend.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(tmp_path / "sync.db") as store:
        yield store


@pytest.fixture
def sync(offline_backend: NetSuiteBackend, store: SQLiteSyncStore) -> PurchaseOrderSync:
    return PurchaseOrderSync(offline_backend, MemoryPurchasingSink(), store=store)


# -- configuration ------------------------------------------------------------------------


def test_attribute_mapping_defaults_are_seed_004s() -> None:
    mapping = AttributeMapping()
    assert (mapping.po_number, mapping.record_id, mapping.non_receivable, mapping.line_id) == (
        "Netsuite PO Number",
        "Netsuite RecordID",
        "Non-receivable",
        "ns_line_id",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"po_number": ""},
        {"line_id": "  "},
        {"record_id": "Netsuite PO Number"},
        {"line_id": "Non-receivable"},
    ],
)
def test_attribute_mapping_refuses_blank_or_clashing_names(kwargs: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        AttributeMapping(**kwargs)


def test_the_constructor_checks_its_collaborators(
    offline_backend: NetSuiteBackend, store: SQLiteSyncStore
) -> None:
    sink = MemoryPurchasingSink()
    with pytest.raises(ConfigurationError, match="does not implement PurchasingSink"):
        PurchaseOrderSync(offline_backend, object(), store=store)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="SyncStore"):
        PurchaseOrderSync(offline_backend, sink, store={})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="overlap"):
        PurchaseOrderSync(offline_backend, sink, store=store, overlap=timedelta(minutes=-1))
    with pytest.raises(ConfigurationError, match="collection"):
        PurchaseOrderSync(offline_backend, sink, store=store, cancel_statuses="Canceled")
    with pytest.raises(ConfigurationError, match="lease_seconds"):
        PurchaseOrderSync(offline_backend, sink, store=store, lease_seconds=0)
    sync = PurchaseOrderSync(offline_backend, sink, store=store, scope="ns-prod")
    assert sync.cursor_name == "purchasing:ns-prod" and "ns-prod" in repr(sync)


@pytest.mark.parametrize("stored", ["not json", '{"v": 7}', '{"v": 1, "orders": {"at": 5}}'])
def test_a_corrupt_cursor_stops_the_run_before_any_request(
    sync: PurchaseOrderSync, store: SQLiteSyncStore, stored: str
) -> None:
    store.set_cursor(sync.cursor_name, stored, tenant=sync.tenant)

    with pytest.raises(ConfigurationError, match=sync.cursor_name):
        sync.run()

    (logged,) = store.runs()
    assert logged.status == "failed"
    again = PurchaseOrderSync(sync.backend, sync.sink, store=store)
    with pytest.raises(ConfigurationError):  # not ConflictError: the lock was freed
        again.run()
    assert store.get_cursor(sync.cursor_name, tenant=sync.tenant) == stored  # left as it was


# -- push signatures ----------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_the_raw_body_in_hex() -> None:
    body = b'{"id":"1001"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    assert sign_push(body, SECRET) == f"sha256={expected}"
    verify_push_signature(body, {PUSH_SIGNATURE_HEADER: f"sha256={expected}"}, SECRET)
    # Header names are case-insensitive; NetSuite's HEX digest may come in upper case.
    verify_push_signature(body, {"x-erpsync-signature": f"SHA256={expected.upper()}"}, SECRET)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {PUSH_SIGNATURE_HEADER: ""},
        {PUSH_SIGNATURE_HEADER: "sha256=00"},
        {PUSH_SIGNATURE_HEADER: hmac.new(b"s3cret", b'{"id":"1001"}', "sha256").hexdigest()},
        {PUSH_SIGNATURE_HEADER: "sha256=é"},
        {"X-Other": sign_push(b'{"id":"1001"}', SECRET)},
    ],
)
def test_bad_signatures_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookSignatureError):
        verify_push_signature(b'{"id":"1001"}', headers, SECRET)


def test_signing_needs_bytes_and_a_secret() -> None:
    with pytest.raises(ConfigurationError):
        sign_push(b"{}", "")
    with pytest.raises(ConfigurationError):
        sign_push("{}", SECRET)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        verify_push_signature("{}", {}, SECRET)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"not json", "not JSON"),
        (b"[1001]", "must be an object"),
        (b'{"id": ""}', "no usable purchase order id"),
        (b'{"id": true}', "no usable purchase order id"),
        (b'{"recordType": "invoice", "id": "5"}', "takes purchase orders"),
        (b'{"id": "1"}' + b" " * 70000, "at most"),
    ],
)
def test_a_verified_but_malformed_push_is_refused_before_any_request(
    sync: PurchaseOrderSync, payload: bytes, match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        sync.handle_push(payload, {PUSH_SIGNATURE_HEADER: sign_push(payload, SECRET)}, SECRET)


def test_the_user_event_script_signs_what_the_endpoint_verifies() -> None:
    assert "@NScriptType UserEventScript" in USER_EVENT_SCRIPT
    assert "@NApiVersion 2.1" in USER_EVENT_SCRIPT
    assert "afterSubmit" in USER_EVENT_SCRIPT and "https.post" in USER_EVENT_SCRIPT
    assert "crypto.HashAlg.SHA256" in USER_EVENT_SCRIPT
    assert f"'{PUSH_SIGNATURE_HEADER}': 'sha256=' +" in USER_EVENT_SCRIPT
    assert "recordType: 'purchaseorder'" in USER_EVENT_SCRIPT


# -- receipt input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        ({"1": 1.5}, "not exact"),
        ({"1": 0}, "positive"),
        ({"1": "-2"}, "positive"),
        ({"1": "lots"}, "not a quantity"),
        ({"1": Decimal("NaN")}, "positive"),
        ({}, "at least one line"),
        ({"1": 1, 1: 2}, "listed twice"),
        ([LocalReceiptLine(1, {"Non-receivable": False})], "no 'ns_line_id'"),
    ],
)
def test_bad_receipt_lines_are_refused_before_any_request(
    sync: PurchaseOrderSync, lines: Any, match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        sync.receive("1001", lines)


def test_receipt_arguments_are_checked(sync: PurchaseOrderSync) -> None:
    with pytest.raises(ConfigurationError):
        sync.receive("", {"1": 1})
    with pytest.raises(ConfigurationError):
        sync.receive("1001", {"1": 1}, receipt_key="")
    with pytest.raises(ConfigurationError):
        sync.receive("1001", "1:1")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        sync.receive("1001", [("1", 1)])  # type: ignore[list-item]


def test_receipt_lines_may_be_item_receipt_lines(sync: PurchaseOrderSync) -> None:
    lines = [
        ItemReceiptLine(line_id="1", quantity=Decimal(1)),
        ItemReceiptLine(line_id="1", quantity=Decimal(2)),
    ]
    with pytest.raises(InvalidRequestError, match="listed twice"):
        sync.receive("1001", lines)


# -- reports ------------------------------------------------------------------------------


def test_a_report_counts_what_happened() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    report = PurchasingRunReport(
        run_id=1,
        status="partial",
        started_at=now,
        finished_at=now,
        outcomes=(
            OrderOutcome("1", "created", warnings=("a", "b"), supplier_created=True),
            OrderOutcome("2", "updated", lines_canceled=3),
            OrderOutcome("3", "failed", number="PO3", error="boom"),
        ),
    )
    assert report.counts == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "deleted": 0,
        "failed": 1,
        "busy": 0,
        "warnings": 2,
        "suppliers_created": 1,
        "lines_canceled": 3,
    }
    assert report.warnings == [("1", "a"), ("1", "b")] and not report.ok
    assert report.failed[0].label == "purchase order PO3 (id 3)"


# -- the memory sink ----------------------------------------------------------------------


def _order(key: str = "7", *, status: str = "Ordered") -> SinkPurchaseOrder:
    return SinkPurchaseOrder(
        key=key,
        number="PO7",
        vendor=Ref(id="5", name="Acme"),
        supplier_id="S-1",
        status=status,
        remote_status="Pending Receipt",
        date=date(2026, 1, 2),
        currency="USD",
        lines=(
            SinkLine("1", Ref(id="9", name="P-1"), True, Decimal(10), Decimal(10)),
            SinkLine("2", Ref(id="8", name="P-2"), True, Decimal(5), Decimal(2)),
        ),
        attributes={"Netsuite PO Number": "PO7"},
    )


def test_the_memory_sink_is_a_purchasing_sink() -> None:
    assert isinstance(MemoryPurchasingSink(), PurchasingSink)
    assert not isinstance(object(), PurchasingSink)


def test_the_memory_sink_upserts_cancels_and_deletes_idempotently() -> None:
    sink = MemoryPurchasingSink()
    assert sink.upsert_purchase_order(_order()) == "created"
    assert sink.upsert_purchase_order(_order()) == "updated"

    assert sink.cancel_open_lines("7") == 1  # line 1 is fully received
    assert sink.cancel_open_lines("7") == 0
    assert sink.canceled_lines["7"] == {"2"} and sink.orders["7"].status == "Canceled"
    assert sink.upsert_purchase_order(_order()) == "updated"
    assert sink.orders["7"].status == "Canceled"  # a cancellation is not undone
    assert sink.cancel_open_lines("unknown") == 0

    assert sink.delete_purchase_order("7") and not sink.delete_purchase_order("7")
    assert sink.events == [
        ("created", "7"),
        ("updated", "7"),
        ("canceled", "7"),
        ("updated", "7"),
        ("deleted", "7"),
    ]


def test_the_memory_sink_matches_suppliers_by_name_and_parts_by_name_or_id() -> None:
    sink = MemoryPurchasingSink(parts=["P-1", "88"], suppliers={"Acme Tools": "S-9"})

    assert sink.find_or_create_supplier(Ref(id="1", name="ACME TOOLS")) == LocalSupplier("S-9")
    made = sink.find_or_create_supplier(Ref(id="2", name="Bolt Co"))
    assert made.created and sink.suppliers[made.id] == "Bolt Co"
    assert sink.find_or_create_supplier(Ref(id="2", name="Bolt Co")) == LocalSupplier(made.id)
    assert sink.find_or_create_supplier(Ref(id="3")).created  # named by its id
    assert sink.created_suppliers == ["Bolt Co", "3"]

    assert sink.part_exists(Ref(id="1", name="P-1")) and sink.part_exists(Ref(id="88"))
    assert not sink.part_exists(Ref(id="2", name="P-2"))
    with pytest.raises(ConfigurationError):
        MemoryPurchasingSink(parts="P-1")


def test_sink_values_are_frozen_and_serialisable() -> None:
    order = _order()
    with pytest.raises(TypeError):
        order.attributes["x"] = 1  # type: ignore[index]
    data = order.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["lines"][1]["quantity_received"] == "2" and order.lines[1].open_quantity == 3
    assert order.line("2") is order.lines[1] and order.line("3") is None
