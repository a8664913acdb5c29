"""Wire <-> model conversions for NetSuite records (pure functions, no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from erpsync.errors import InvalidRequestError, ServiceError
from erpsync.models import (
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    ItemReceipt,
    ItemReceiptLine,
    Payment,
    PaymentApplication,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Ref,
)
from erpsync.netsuite import records as rec

CURRENCIES = {"1": "USD", "4": "EUR"}
CURRENCY_IDS = {"USD": "1", "EUR": "4"}


def _invoice_wire(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "links": [],
        "id": "1006",
        "tranId": "INV1001",
        "externalId": "job-1",
        "entity": {"links": [], "id": "101", "refName": "Acme Robotics"},
        "tranDate": "2026-11-03",
        "dueDate": "2026-12-03",
        "currency": {"id": "1", "refName": "USA"},
        "memo": "Job 1",
        "status": {"id": "A", "refName": "Open"},
        "total": 1300.0,
        "amountRemaining": 1300.0,
        "lastModifiedDate": "2026-11-03T10:15:00Z",
        "item": {
            "items": [
                {
                    "line": 1,
                    "item": {"id": "202", "refName": "MACHINING"},
                    "quantity": 2.0,
                    "rate": 600.0,
                    "amount": 1200.0,
                    "description": "Machining",
                },
                {
                    "line": 2,
                    "item": {"id": "201"},
                    "quantity": 1.0,
                    "rate": 33.3333,
                    "amount": 100.0,
                },
            ]
        },
    }
    data.update(changes)
    return data


def test_invoice_to_wire() -> None:
    invoice = Invoice(
        external_id="job-1",
        customer=Ref(id="101"),
        date=date(2026, 11, 3),
        due_date=date(2026, 12, 3),
        memo="m",
        currency="EUR",
        lines=[
            InvoiceLine(
                description="Job",
                quantity=Decimal(2),
                unit_price=Decimal("0.10"),
                item=Ref(id="202"),
            ),
            InvoiceLine(amount=Decimal("5"), item=Ref(id="201")),
        ],
    )
    body = rec.invoice_to_wire(invoice, external_id="job-1", currency_ids=CURRENCY_IDS)
    assert body == {
        "entity": {"id": "101"},
        "tranDate": "2026-11-03",
        "externalId": "job-1",
        "dueDate": "2026-12-03",
        "memo": "m",
        "currency": {"id": "4"},
        "item": {
            "items": [
                {
                    "item": {"id": "202"},
                    "quantity": 2,
                    "rate": 0.1,
                    "amount": 0.2,
                    "description": "Job",
                },
                {"item": {"id": "201"}, "amount": 5},
            ]
        },
    }


def test_invoice_lines_need_an_item_or_a_default() -> None:
    invoice = Invoice(
        customer=Ref(id="1"), date=date(2026, 1, 1), lines=[InvoiceLine(amount=Decimal(1))]
    )
    with pytest.raises(InvalidRequestError) as caught:
        rec.invoice_to_wire(invoice, external_id="x")
    assert caught.value.field == "lines.0.item"
    body = rec.invoice_to_wire(invoice, external_id="x", default_item_id="9")
    assert body["item"]["items"][0]["item"] == {"id": "9"}


def test_a_currency_the_account_lacks_is_refused() -> None:
    invoice = Invoice(
        customer=Ref(id="1"),
        date=date(2026, 1, 1),
        currency="JPY",
        lines=[InvoiceLine(amount=Decimal(1), item=Ref(id="2"))],
    )
    with pytest.raises(InvalidRequestError) as caught:
        rec.invoice_to_wire(invoice, external_id="x", currency_ids=CURRENCY_IDS)
    assert caught.value.field == "currency"


def test_invoice_from_wire() -> None:
    invoice = rec.invoice_from_wire(_invoice_wire(), CURRENCIES)
    assert invoice.id == "1006" and invoice.number == "INV1001"
    assert invoice.customer == Ref(id="101", name="Acme Robotics")
    assert invoice.currency == "USD"
    assert invoice.status is InvoiceStatus.OPEN and invoice.remote_status == "Open"
    assert invoice.total == Decimal("1300.00") and invoice.balance == Decimal("1300.00")
    assert invoice.updated_at == datetime(2026, 11, 3, 10, 15, tzinfo=UTC)
    first, second = invoice.lines
    assert (first.quantity, first.unit_price, first.amount) == (2, 600, Decimal("1200.00"))
    # An amount typed over quantity * rate: the amount wins, the rate is dropped.
    assert second.amount == Decimal("100.00") and second.unit_price is None


@pytest.mark.parametrize(
    ("status", "remaining", "expected", "remote"),
    [
        ({"id": "A", "refName": "Open"}, 500.0, InvoiceStatus.PARTIALLY_PAID, "Open"),
        ({"id": "B", "refName": "Paid In Full"}, 0.0, InvoiceStatus.PAID, "Paid In Full"),
        ({"id": "paidInFull"}, 0.0, InvoiceStatus.PAID, "paidInFull"),
        ({"id": "B"}, 0.0, InvoiceStatus.PAID, "Paid In Full"),
        ({"id": "V"}, 0.0, InvoiceStatus.VOIDED, "Voided"),
        ({"id": "CustInvc:D"}, 1300.0, InvoiceStatus.DRAFT, "Pending Approval"),
        (
            {"id": "X", "refName": "Sent to the moon"},
            1300.0,
            InvoiceStatus.UNKNOWN,
            "Sent to the moon",
        ),
    ],
)
def test_invoice_statuses(
    status: dict[str, str], remaining: float, expected: InvoiceStatus, remote: str
) -> None:
    invoice = rec.invoice_from_wire(
        _invoice_wire(status=status, amountRemaining=remaining), CURRENCIES
    )
    assert invoice.status is expected
    assert invoice.remote_status == remote


def test_tax_is_what_the_total_adds_to_the_lines() -> None:
    invoice = rec.invoice_from_wire(_invoice_wire(total=1404.0, amountRemaining=1404.0), CURRENCIES)
    assert invoice.tax == Decimal("104.00") and invoice.total == Decimal("1404.00")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"entity": None}, "entity"),
        ({"tranDate": "yesterday"}, "tranDate"),
        ({"item": {"items": []}}, "item"),
        ({"currency": {"id": "99"}}, "currency"),
        ({"total": "lots"}, "total"),
        ({"item": "nope"}, "item"),
        ({"currency": {"id": "  "}}, "currency"),
        ({"currency": {"id": True}}, "currency"),
        ({"currency": {"refName": "USD"}}, "currency"),
        ({"entity": {"id": " ", "refName": "Acme"}}, "entity"),
        ({"total": float("nan")}, "total"),
        ({"total": 1e19}, "total"),
    ],
)
def test_malformed_invoices_are_service_errors_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        rec.invoice_from_wire(_invoice_wire(**changes), CURRENCIES)
    assert caught.value.field == field
    assert "invoice 1006" in str(caught.value)


def test_a_line_whose_item_id_is_blank_is_a_service_error_naming_the_line() -> None:
    wire = _invoice_wire()
    wire["item"]["items"][0]["item"] = {"id": "   ", "refName": "WIDGET"}
    with pytest.raises(ServiceError) as caught:
        rec.invoice_from_wire(wire, CURRENCIES)
    assert caught.value.field == "item"
    assert "invoice 1006 line 1" in str(caught.value)


def test_float_amounts_read_as_the_decimal_the_json_spelt() -> None:
    wire = _invoice_wire()
    line = wire["item"]["items"][0]
    line.update(quantity=3.0, rate=0.1, amount=0.3)
    wire.update(total=100.3, amountRemaining=100.3)
    invoice = rec.invoice_from_wire(wire, CURRENCIES)
    first = invoice.lines[0]
    assert (str(first.quantity), str(first.unit_price), str(first.amount)) == ("3", "0.1", "0.30")


def test_a_record_that_is_not_an_object_is_a_service_error() -> None:
    with pytest.raises(ServiceError):
        rec.invoice_from_wire(["not", "a", "record"], CURRENCIES)


def test_invoice_from_suiteql_rows() -> None:
    row = {
        "id": "7",
        "tranid": "INV7",
        "externalid": "has space",
        "entity": "101",
        "trandate": "2026-11-03",
        "currency": "4",
        "status": "B",
        "foreigntotal": "10",
        "foreignamountremaining": "0",
        "lastmodified": "2026-11-03 10:15:00",
    }
    lines = [
        {
            "transaction": "7",
            "line": "1",
            "item": "202",
            "quantity": "-1",  # an invoice's item lines are credits in transactionline
            "rate": "10",
            "foreignamount": "-10",
            "memo": "x",
        }
    ]
    invoice = rec.invoice_from_row(row, lines, CURRENCIES)
    assert invoice.currency == "EUR" and invoice.status is InvoiceStatus.PAID
    assert (invoice.lines[0].amount, invoice.lines[0].quantity) == (Decimal(10), Decimal(1))
    assert invoice.external_id is None  # not a valid eid: read as absent, not a failure
    assert invoice.lines[0].description == "x"
    assert invoice.updated_at == datetime(2026, 11, 3, 10, 15, tzinfo=UTC)
    us = rec.invoice_from_row({**row, "trandate": "11/3/2026"}, lines, CURRENCIES)
    assert us.date == date(2026, 11, 3)


def test_customers() -> None:
    customer = Customer(name="Acme", email="a@x", external_id="c1", currency="EUR")
    assert rec.customer_to_wire(customer, subsidiary_id="1", currency_ids=CURRENCY_IDS) == {
        "companyName": "Acme",
        "email": "a@x",
        "externalId": "c1",
        "subsidiary": {"id": "1"},
        "currency": {"id": "4"},
    }
    wire = {
        "id": "101",
        "entityId": "CUST-1",
        "companyName": "Acme",
        "email": "a@x",
        "currency": {"id": "4", "refName": "Euro"},
        "externalId": "c1",
        "lastModifiedDate": "2026-11-01T00:00:00Z",
    }
    read = rec.customer_from_wire(wire, CURRENCIES)
    assert (read.id, read.name, read.currency, read.external_id) == ("101", "Acme", "EUR", "c1")
    person = rec.customer_from_row(
        {"id": "5", "firstname": "Ada", "lastname": "Lovelace"}, CURRENCIES
    )
    assert person.name == "Ada Lovelace"
    vendor = rec.vendor_from_row({"id": "6", "companyname": "Parts", "currency": "1"}, CURRENCIES)
    assert vendor.name == "Parts" and vendor.currency == "USD"
    with pytest.raises(ServiceError):
        rec.customer_from_wire({"id": "9"}, CURRENCIES)


def test_items() -> None:
    assert rec.item_record_type("service") == "serviceSaleItem"
    assert rec.item_record_type(None) == "serviceSaleItem"
    with pytest.raises(InvalidRequestError):
        rec.item_record_type("spaceship")
    assert rec.item_to_wire(Item(name="X-1", external_id="i1")) == {
        "itemId": "X-1",
        "displayName": "X-1",
        "externalId": "i1",
    }
    item = rec.item_from_row({"id": "201", "itemid": "W", "itemtype": "InvtPart"})
    assert item.kind == "inventory"
    wire = rec.item_from_wire({"id": "2", "itemId": "S", "itemType": {"id": "Service"}})
    assert wire.kind == "service"


def test_payments() -> None:
    payment = Payment(
        external_id="p1",
        customer=Ref(id="101"),
        date=date(2026, 11, 5),
        amount=Decimal("250"),
        memo="wire",
        applications=[PaymentApplication(invoice_id="104", amount=Decimal(200))],
    )
    assert rec.payment_to_wire(payment, external_id="p1", currency_ids=CURRENCY_IDS) == {
        "customer": {"id": "101"},
        "payment": 250,
        "tranDate": "2026-11-05",
        "externalId": "p1",
        "memo": "wire",
        "currency": {"id": "1"},
        "apply": {"items": [{"doc": {"id": "104"}, "apply": True, "amount": 200}]},
    }
    wire = {
        "id": "9",
        "customer": {"id": "101"},
        "payment": 250.0,
        "tranDate": "2026-11-05",
        "currency": {"id": "1"},
        "externalId": "p1",
        "apply": {
            "items": [
                {"doc": {"id": "104"}, "apply": True, "amount": 200.0},
                {"doc": {"id": "105"}, "apply": False, "amount": 0},
            ]
        },
    }
    read = rec.payment_from_wire(wire, CURRENCIES)
    assert read.applications == [PaymentApplication(invoice_id="104", amount=Decimal("200"))]
    row = rec.payment_from_row(
        {
            "id": "9",
            "entity": "101",
            "foreigntotal": "250",
            "trandate": "2026-11-05",
            "currency": "1",
        },
        [{"nextdoc": "9", "previousdoc": "104", "foreignamount": "200"}],
        CURRENCIES,
    )
    assert row.amount == Decimal("250.00") and row.applications == read.applications


def _po_wire(status: dict[str, str]) -> dict[str, Any]:
    return {
        "id": "1001",
        "tranId": "PO1001",
        "externalId": "po-1",
        "entity": {"id": "105"},
        "tranDate": "2026-11-01",
        "currency": {"id": "1"},
        "status": status,
        "item": {
            "items": [
                {
                    "line": 1,
                    "item": {"id": "201"},
                    "quantity": 10.0,
                    "quantityReceived": 4.0,
                    "rate": 4.5,
                    "amount": 45.0,
                    "isClosed": False,
                },
                {
                    "line": 2,
                    "item": {"id": "203"},
                    "quantity": 2.0,
                    "quantityReceived": 0,
                    "rate": 25.0,
                    "amount": 50.0,
                    "isClosed": True,
                },
            ]
        },
    }


@pytest.mark.parametrize(
    ("status", "expected", "remote"),
    [
        (
            {"id": "B", "refName": "Pending Receipt"},
            PurchaseOrderStatus.PENDING_RECEIPT,
            "Pending Receipt",
        ),
        (
            {"id": "E"},
            PurchaseOrderStatus.PENDING_BILLING_PARTIALLY_RECEIVED,
            "Pending Billing/Partially Received",
        ),
        ({"id": "purchOrd:H"}, PurchaseOrderStatus.CLOSED, "Closed"),
        (
            {"id": "pendingBill", "refName": "Pending Bill"},
            PurchaseOrderStatus.PENDING_BILL,
            "Pending Bill",
        ),
        ({"id": "Z", "refName": "Lost at sea"}, PurchaseOrderStatus.UNKNOWN, "Lost at sea"),
    ],
)
def test_purchase_orders(
    status: dict[str, str], expected: PurchaseOrderStatus, remote: str
) -> None:
    order = rec.purchase_order_from_wire(_po_wire(status), CURRENCIES)
    assert order.status is expected and order.remote_status == remote
    first, second = order.lines
    assert (first.line_id, first.quantity, first.quantity_received) == ("1", 10, 4)
    assert first.receivable and not second.receivable


def test_purchase_order_rows_and_body() -> None:
    order = rec.purchase_order_from_row(
        {"id": "1", "entity": "105", "trandate": "2026-11-01", "status": "D", "currency": "1"},
        [
            {
                "transaction": "1",
                "line": "1",
                "item": "201",
                "quantity": "5",
                "quantityshiprecv": "2",
                "rate": "4.5",
                "foreignamount": "22.5",
                "isclosed": "F",
            }
        ],
        CURRENCIES,
    )
    assert order.status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert order.lines[0].quantity_received == 2
    body = rec.purchase_order_to_wire(
        PurchaseOrder(
            vendor=Ref(id="105"),
            date=date(2026, 11, 1),
            status=PurchaseOrderStatus.PENDING_RECEIPT,
            external_id="po-9",
            lines=[PurchaseOrderLine(item=Ref(id="201"), quantity=Decimal(3), rate=Decimal("4.5"))],
        )
    )
    assert body["item"]["items"] == [{"item": {"id": "201"}, "quantity": 3, "rate": 4.5}]
    assert body["externalId"] == "po-9"


def test_receipts() -> None:
    receipt = ItemReceipt(
        purchase_order_id="1001",
        date=date(2026, 11, 4),
        lines=[ItemReceiptLine(line_id="1", quantity=Decimal(4))],
    )
    body = rec.receipt_to_wire(receipt, external_id="r1", other_lines=["1", "2"])
    assert body == {
        "externalId": "r1",
        "tranDate": "2026-11-04",
        "item": {
            "items": [
                {"orderLine": 1, "quantity": 4, "itemReceive": True},
                {"orderLine": 2, "itemReceive": False},
            ]
        },
    }
    read = rec.receipt_from_wire(
        {
            "id": "31",
            "createdFrom": {"id": "1001"},
            "tranDate": "2026-11-04",
            "externalId": "r1",
            "item": {"items": [{"line": 1, "orderLine": 1, "quantity": 4.0, "itemReceive": True}]},
        }
    )
    assert read == ItemReceipt(
        id="31",
        purchase_order_id="1001",
        date=date(2026, 11, 4),
        external_id="r1",
        lines=[ItemReceiptLine(line_id="1", quantity=Decimal(4))],
    )


def test_deleted_rows() -> None:
    deleted = rec.deleted_from_row(
        {"recordid": "5", "recordtypeid": "invoice", "deleted": "2026-11-02 08:00:00"}
    )
    assert deleted.id == "5" and deleted.deleted_at == datetime(2026, 11, 2, 8, tzinfo=UTC)
    with pytest.raises(ServiceError):
        rec.deleted_from_row({"recordid": "5", "recordtypeid": "invoice"})


def test_numbers_that_json_cannot_carry_are_refused() -> None:
    invoice = Invoice(
        customer=Ref(id="1"),
        date=date(2026, 1, 1),
        lines=[
            InvoiceLine(
                quantity=Decimal("1.123456789012"),
                unit_price=Decimal("1234567.123456789012"),
                item=Ref(id="2"),
            )
        ],
    )
    with pytest.raises(InvalidRequestError):
        rec.invoice_to_wire(invoice, external_id="x")


@pytest.mark.parametrize(
    ("subtype", "for_sale"), [("Purchase", False), ("Sale", True), ("Resale", True), (None, None)]
)
def test_an_items_subtype_says_whether_it_can_be_invoiced(
    subtype: str | None, for_sale: bool | None
) -> None:
    row = {"id": "203", "itemid": "SHOP-SUPPLIES", "itemtype": "NonInvtPart", "subtype": subtype}
    assert rec.item_from_row(row).for_sale is for_sale


# -- one validation pass per read, line by line only on failure -----------------------------


def _third_line(**line: Any) -> dict[str, Any]:
    wire = _invoice_wire(total=1350.0, amountRemaining=1350.0)
    wire["item"]["items"].append({"line": 3, "item": {"id": "203"}, "amount": 50.0, **line})
    return wire


def test_a_good_invoice_reads_all_its_lines() -> None:
    invoice = rec.invoice_from_wire(_third_line(quantity=2.0, rate=25.0), CURRENCIES)
    assert [line.amount for line in invoice.lines] == [
        Decimal("1200.00"),
        Decimal("100.00"),
        Decimal("50.00"),
    ]
    assert invoice.lines[2].quantity == Decimal(2) and invoice.lines[2].item == Ref(id="203")
    assert invoice.lines[1].unit_price is None  # 33.3333 x 1 is not the amount: dropped


@pytest.mark.parametrize(
    ("line", "record", "field"),
    [
        # the model refuses a quantity finer than 12 places (found in the one pass); the
        # line-by-line build names the line and its field
        ({"quantity": 1e-13, "rate": 1.0, "amount": 0.0}, "invoice 1006 line 3", "quantity"),
        # the reader refuses it before any model
        ({"quantity": "lots", "rate": 1.0}, "invoice 1006 line 3", "quantity"),
        ({"item": {"id": ""}}, "invoice 1006 line 3", "item"),
    ],
)
def test_a_fault_in_the_third_line_names_the_line(
    line: dict[str, Any], record: str, field: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        rec.invoice_from_wire(_third_line(**line), CURRENCIES)
    assert (caught.value.record, caught.value.field) == (record, field)


def test_a_fault_of_the_whole_invoice_names_the_invoice_field() -> None:
    wire = _invoice_wire(amountRemaining=-5.0)  # a balance cannot be negative
    with pytest.raises(ServiceError) as caught:
        rec.invoice_from_wire(wire, CURRENCIES)
    assert (caught.value.record, caught.value.field) == ("invoice 1006", "balance")


def test_an_invoice_reads_the_same_in_any_decimal_context() -> None:
    import decimal

    wire = _third_line(quantity=3.0, rate=16.6666666667)
    expected = rec.invoice_from_wire(wire, CURRENCIES)
    rows = rec.invoice_from_row(
        {
            "id": "7",
            "entity": "101",
            "trandate": "2026-11-03",
            "currency": "1",
            "foreigntotal": "1237.5",
        },
        [{"transaction": "7", "quantity": "-3", "rate": "412.5", "foreignamount": "-1237.5"}],
        CURRENCIES,
    )
    with decimal.localcontext(decimal.Context(prec=3)):
        assert rec.invoice_from_wire(wire, CURRENCIES) == expected
        assert (
            rec.invoice_from_row(
                {
                    "id": "7",
                    "entity": "101",
                    "trandate": "2026-11-03",
                    "currency": "1",
                    "foreigntotal": "1237.5",
                },
                [
                    {
                        "transaction": "7",
                        "quantity": "-3",
                        "rate": "412.5",
                        "foreignamount": "-1237.5",
                    }
                ],
                CURRENCIES,
            )
            == rows
        )
    assert expected.lines[2].quantity == Decimal(3)  # 3 x 16.6666666667 rounds to 50.00
    assert rows.lines[0].unit_price == Decimal("412.5")


def test_a_purchase_order_reads_the_same_in_any_decimal_context() -> None:
    import decimal

    wire = _po_wire({"id": "B", "refName": "Pending Receipt"})
    wire["item"]["items"][0].update(quantity=7.0, rate=123.45, amount=864.15)
    expected = rec.purchase_order_from_wire(wire, CURRENCIES)
    assert expected.lines[0].rate == Decimal("123.45")
    with decimal.localcontext(decimal.Context(prec=3)):  # 7 x 123.45 would round to 864
        assert rec.purchase_order_from_wire(wire, CURRENCIES) == expected
