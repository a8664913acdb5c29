"""Wire records <-> models, without any HTTP."""

from __future__ import annotations

import copy
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
    Payment,
    PaymentApplication,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Ref,
)
from erpsync.quickbooks import records as rec

INVOICE: dict[str, Any] = {
    "Id": "130",
    "SyncToken": "2",
    "DocNumber": "1037",
    "TxnDate": "2026-11-03",
    "DueDate": "2026-12-03",
    "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
    "CustomerRef": {"value": "58", "name": "Acme"},
    "PrivateNote": "Shipped by truck\n[erpsync external_id=job-1042]",
    "Line": [
        {
            "Id": "1",
            "LineNum": 1,
            "Amount": Decimal("100.00"),
            "Description": "Widgets",
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "1", "name": "Services"},
                "Qty": Decimal("4"),
                "UnitPrice": Decimal("25"),
                "TaxCodeRef": {"value": "TAX"},
            },
        },
        {"Amount": Decimal("100.00"), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
    ],
    "TotalAmt": Decimal("108.50"),
    "Balance": Decimal("108.50"),
    "MetaData": {
        "CreateTime": "2026-11-03T09:15:02-08:00",
        "LastUpdatedTime": "2026-11-03T10:00:00-08:00",
    },
}


def invoice_wire(**changes: Any) -> dict[str, Any]:
    wire = copy.deepcopy(INVOICE)
    wire.update(changes)
    return wire


def test_invoice_from_wire_reads_everything_and_ignores_the_subtotal():
    invoice = rec.invoice_from_wire(invoice_wire())
    assert invoice.id == "130"
    assert invoice.number == "1037"
    assert invoice.external_id == "job-1042"
    assert invoice.memo == "Shipped by truck"
    assert invoice.customer == Ref(id="58", name="Acme")
    assert (invoice.date, invoice.due_date) == (date(2026, 11, 3), date(2026, 12, 3))
    assert len(invoice.lines) == 1
    line = invoice.lines[0]
    assert (line.amount, line.quantity, line.unit_price) == (Decimal("100.00"), 4, 25)
    assert line.item == Ref(id="1", name="Services")
    assert line.tax_code == Ref(id="TAX")
    assert invoice.tax == Decimal("8.50")
    assert invoice.total == Decimal("108.50")
    assert invoice.balance == Decimal("108.50")
    assert invoice.status is InvoiceStatus.OPEN
    assert invoice.updated_at == datetime(2026, 11, 3, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("total", "balance", "note", "status"),
    [
        ("108.50", "108.50", None, InvoiceStatus.OPEN),
        ("108.50", "50.00", None, InvoiceStatus.PARTIALLY_PAID),
        ("108.50", "0", None, InvoiceStatus.PAID),
        ("0", "0", "Voided", InvoiceStatus.VOIDED),
        ("0", "0", "Voided - was job-7\n[erpsync external_id=job-7]", InvoiceStatus.VOIDED),
    ],
)
def test_invoice_status_comes_from_balance_total_and_void(total, balance, note, status):
    lines = (
        INVOICE["Line"]
        if total != "0"
        else [{"Amount": 0, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {}}]
    )
    invoice = rec.invoice_from_wire(
        invoice_wire(
            TotalAmt=Decimal(total), Balance=Decimal(balance), PrivateNote=note, Line=lines
        )
    )
    assert invoice.status is status


def test_discount_and_description_lines_keep_the_money_adding_up():
    lines = [
        *INVOICE["Line"][:1],
        {"Amount": Decimal("10"), "DetailType": "DiscountLineDetail", "DiscountLineDetail": {}},
        {"DetailType": "DescriptionOnly", "Description": "Thanks!", "DescriptionOnly": {}},
    ]
    invoice = rec.invoice_from_wire(
        invoice_wire(Line=lines, TotalAmt=Decimal("90"), Balance=Decimal("90"))
    )
    assert [line.amount for line in invoice.lines] == [
        Decimal("100.00"),
        Decimal("-10.00"),
        Decimal("0.00"),
    ]
    assert invoice.lines[2].description == "Thanks!"
    assert invoice.total == Decimal("90.00")
    assert invoice.tax == 0


def test_rounded_unit_prices_drop_quantity_and_price_not_the_invoice():
    line = copy.deepcopy(INVOICE["Line"][0])
    line["Amount"] = Decimal("100.00")
    line["SalesItemLineDetail"]["Qty"] = Decimal("3")
    line["SalesItemLineDetail"]["UnitPrice"] = Decimal("33.33")
    invoice = rec.invoice_from_wire(
        invoice_wire(Line=[line], TotalAmt=Decimal("100"), Balance=Decimal("100"))
    )
    assert invoice.lines[0].amount == Decimal("100.00")
    assert invoice.lines[0].quantity is None


def test_home_currency_applies_when_currency_ref_is_absent():
    wire = invoice_wire()
    del wire["CurrencyRef"]
    assert rec.invoice_from_wire(wire, home_currency="CAD").currency == "CAD"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"CustomerRef": None}, "CustomerRef"),
        ({"TxnDate": "03/11/2026"}, "TxnDate"),
        ({"TxnDate": None}, "TxnDate"),
        ({"Id": None}, "Id"),
        ({"Line": "nope"}, "Line"),
        ({"TotalAmt": "lots"}, "TotalAmt"),
        ({"TotalAmt": Decimal("50")}, "TotalAmt"),
        ({"MetaData": {"LastUpdatedTime": "yesterday"}}, "MetaData.LastUpdatedTime"),
    ],
)
def test_malformed_invoice_is_a_service_error_naming_record_and_field(change, field):
    with pytest.raises(ServiceError) as caught:
        rec.invoice_from_wire(invoice_wire(**change))
    assert caught.value.field == field
    assert caught.value.record is not None and caught.value.record.startswith("Invoice")
    assert caught.value.retryable is False


def test_a_record_that_is_not_an_object_is_a_service_error():
    with pytest.raises(ServiceError):
        rec.invoice_from_wire(["not", "a", "record"])


def test_invoice_to_wire_builds_sales_lines():
    invoice = Invoice(
        external_id="job-1042",
        customer=Ref(id="58"),
        date=date(2026, 11, 3),
        due_date=date(2026, 12, 3),
        currency="USD",
        memo="Rush",
        lines=[
            InvoiceLine(
                description="Job",
                quantity=Decimal(2),
                unit_price=Decimal("12.5"),
                item=Ref(id="1"),
                tax_code=Ref(id="NON"),
            ),
        ],
    )
    body = rec.invoice_to_wire(invoice, doc_number="job-1042", private_note="Rush\n[m]")
    assert body == {
        "CustomerRef": {"value": "58"},
        "TxnDate": "2026-11-03",
        "DueDate": "2026-12-03",
        "CurrencyRef": {"value": "USD"},
        "DocNumber": "job-1042",
        "PrivateNote": "Rush\n[m]",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("25.00"),
                "Description": "Job",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1"},
                    "Qty": Decimal(2),
                    "UnitPrice": Decimal("12.5"),
                    "TaxCodeRef": {"value": "NON"},
                },
            }
        ],
    }


def _simple_invoice(**changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "customer": Ref(id="1"),
        "date": date(2026, 11, 3),
        "lines": [InvoiceLine(amount=Decimal("5.00"))],
    }
    fields.update(changes)
    return Invoice(**fields)


@pytest.mark.parametrize(
    ("kwargs", "changes", "field"),
    [
        ({"doc_number": "X" * 22, "private_note": None}, {}, "DocNumber"),
        ({"doc_number": None, "private_note": "n" * 4001}, {}, "PrivateNote"),
        ({"doc_number": None, "private_note": None}, {"tax": Decimal("1.00")}, "tax"),
    ],
)
def test_invoice_to_wire_enforces_quickbooks_limits_before_sending(kwargs, changes, field):
    with pytest.raises(InvalidRequestError) as caught:
        rec.invoice_to_wire(_simple_invoice(**changes), **kwargs)
    assert caught.value.field == field
    assert rec.invoice_to_wire(_simple_invoice(), doc_number="X" * 21, private_note="n" * 4000)


def test_markers_round_trip_and_replace_each_other():
    note = rec.with_external_id("Hello", "job-1")
    assert note == "Hello\n[erpsync external_id=job-1]"
    assert rec.external_id_in(note) == "job-1"
    assert rec.without_marker(note) == "Hello"
    again = rec.with_external_id(note, "job-2")
    assert again == "Hello\n[erpsync external_id=job-2]"
    assert rec.with_external_id(None, "k") == "[erpsync external_id=k]"
    assert rec.without_marker("[erpsync external_id=k]") is None
    assert rec.with_external_id("Hello", None) == "Hello"
    assert rec.external_id_in("mentions [erpsync external_id=x] mid-text") is None
    assert rec.external_id_in(None) is None


def test_customer_round_trip_keeps_the_external_id_in_notes():
    body = rec.customer_to_wire(Customer(name="Acme", email="ap@acme.test", external_id="c-1"))
    assert body == {
        "DisplayName": "Acme",
        "PrimaryEmailAddr": {"Address": "ap@acme.test"},
        "CurrencyRef": {"value": "USD"},
        "Notes": "[erpsync external_id=c-1]",
    }
    back = rec.customer_from_wire(
        {"Id": "7", **body, "MetaData": {"LastUpdatedTime": "2026-11-01T00:00:00Z"}}
    )
    assert (back.id, back.name, back.email, back.external_id) == (
        "7",
        "Acme",
        "ap@acme.test",
        "c-1",
    )


def test_items_map_their_types_and_refuse_inventory_creation():
    assert rec.item_from_wire({"Id": "3", "Name": "Rock", "Type": "Inventory"}).kind == "inventory"
    assert rec.item_from_wire({"Id": "4", "Name": "Kit", "Type": "Group"}).kind == "group"
    body = rec.item_to_wire(
        Item(name="Consulting", kind="service"), income_account="2", expense_account=None
    )
    assert body == {"Name": "Consulting", "Type": "Service", "IncomeAccountRef": {"value": "2"}}
    with pytest.raises(InvalidRequestError):
        rec.item_to_wire(
            Item(name="Rock", kind="inventory"), income_account="1", expense_account="3"
        )


def test_payment_round_trip_with_linked_invoices():
    payment = Payment(
        external_id="pay-9",
        customer=Ref(id="58"),
        date=date(2026, 11, 5),
        amount=Decimal("300.00"),
        applications=[
            PaymentApplication(invoice_id="130", amount=Decimal("200.00")),
            PaymentApplication(invoice_id="131", amount=Decimal("50.00")),
        ],
    )
    body = rec.payment_to_wire(payment, private_note=rec.with_external_id(None, "pay-9"))
    assert body["Line"] == [
        {"Amount": Decimal("200.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
        {"Amount": Decimal("50.00"), "LinkedTxn": [{"TxnId": "131", "TxnType": "Invoice"}]},
    ]
    wire = {**body, "Id": "9", "UnappliedAmt": Decimal("50")}
    wire["Line"] = [
        *body["Line"],
        {"Amount": 5, "LinkedTxn": [{"TxnId": "1", "TxnType": "CreditMemo"}]},
    ]
    back = rec.payment_from_wire(wire)
    assert back.external_id == "pay-9"
    assert back.amount == Decimal("300.00")
    assert [(a.invoice_id, a.amount) for a in back.applications] == [
        ("130", Decimal("200.00")),
        ("131", Decimal("50.00")),
    ]


def test_payment_without_total_is_malformed():
    with pytest.raises(ServiceError) as caught:
        rec.payment_from_wire({"Id": "1", "CustomerRef": {"value": "1"}, "TxnDate": "2026-11-01"})
    assert caught.value.field == "TotalAmt"


PO = {
    "Id": "55",
    "DocNumber": "1001",
    "VendorRef": {"value": "1", "name": "Books by Bessie"},
    "TxnDate": "2026-11-02",
    "POStatus": "Open",
    "Line": [
        {
            "Id": "1",
            "Amount": Decimal("40"),
            "DetailType": "ItemBasedExpenseLineDetail",
            "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "3"}, "Qty": 4, "UnitPrice": 10},
        },
        {
            "Id": "2",
            "Amount": Decimal("12"),
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "8"}},
        },
    ],
}


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Open", PurchaseOrderStatus.OPEN),
        ("Closed", PurchaseOrderStatus.CLOSED),
        ("Archived", PurchaseOrderStatus.UNKNOWN),
    ],
)
def test_purchase_order_status_and_item_lines(raw, status):
    order = rec.purchase_order_from_wire({**PO, "POStatus": raw})
    assert order.status is status
    assert order.remote_status == raw
    assert [(line.line_id, line.item.id, line.quantity, line.rate) for line in order.lines] == [
        ("1", "3", 4, 10)
    ]


def test_purchase_order_to_wire():
    order = PurchaseOrder(
        vendor=Ref(id="1"),
        date=date(2026, 11, 2),
        status=PurchaseOrderStatus.OPEN,
        lines=[PurchaseOrderLine(item=Ref(id="3"), quantity=Decimal(4), rate=Decimal(10))],
    )
    body = rec.purchase_order_to_wire(order, private_note=None)
    assert body["POStatus"] == "Open"
    assert body["Line"][0]["Amount"] == Decimal("40.00")
    assert body["Line"][0]["ItemBasedExpenseLineDetail"] == {
        "ItemRef": {"value": "3"},
        "Qty": Decimal(4),
        "UnitPrice": Decimal(10),
    }


def test_parse_timestamp():
    assert rec.parse_timestamp("2026-11-03T09:15:02-08:00") == datetime(
        2026, 11, 3, 17, 15, 2, tzinfo=UTC
    )
    assert rec.parse_timestamp("2026-11-03T09:15:02Z") == datetime(
        2026, 11, 3, 9, 15, 2, tzinfo=UTC
    )
    assert rec.parse_timestamp("2026-11-03T09:15:02") is None
    assert rec.parse_timestamp(None) is None


def _po_with_third_line(**line_changes: Any) -> dict[str, Any]:
    """PO with an account line first, so model line 1 is wire line 2."""
    order = copy.deepcopy(PO)
    extra = copy.deepcopy(PO["Line"][0])
    extra["Id"] = "9"
    extra.update(line_changes.pop("line", {}))
    extra["ItemBasedExpenseLineDetail"].update(line_changes)
    order["Line"] = [order["Line"][1], order["Line"][0], extra]
    return order


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (_po_with_third_line(Qty=-2), "Line[2].ItemBasedExpenseLineDetail.Qty"),
        (_po_with_third_line(line={"Amount": Decimal("40.123")}), "Line[2].Amount"),
        (_po_with_third_line(line={"Id": "1"}), "Line[2].Id"),  # a repeated line id
        (_po_with_third_line(ItemRef={"name": "x"}), "Line[2].ItemBasedExpenseLineDetail.ItemRef"),
    ],
)
def test_purchase_order_line_errors_name_the_wire_line(order, field):
    with pytest.raises(ServiceError) as caught:
        rec.purchase_order_from_wire(order)
    assert caught.value.field == field
    assert caught.value.record == "PurchaseOrder 55"


def test_invoice_and_payment_line_errors_name_the_wire_line():
    invoice = copy.deepcopy(INVOICE)
    invoice["Line"].append({"DetailType": "DiscountLineDetail", "Amount": Decimal("1.234")})
    with pytest.raises(ServiceError) as caught:
        rec.invoice_from_wire(invoice)
    assert caught.value.field == f"Line[{len(invoice['Line']) - 1}].Amount"
    payment = {
        "Id": "7",
        "CustomerRef": {"value": "1"},
        "TxnDate": "2026-11-01",
        "TotalAmt": Decimal("5"),
        "Line": [
            {"Amount": Decimal("5"), "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]},
            {"Amount": Decimal("-5"), "LinkedTxn": [{"TxnId": "2", "TxnType": "Invoice"}]},
        ],
    }
    with pytest.raises(ServiceError) as caught:
        rec.payment_from_wire(payment)
    assert caught.value.field == "Line[1].Amount"


# -- one validation pass per read, line by line only on failure -----------------------------


def _three_lines(**third: Any) -> list[dict[str, Any]]:
    """Three sales lines (the first two priced), then the subtotal; ``third`` changes the
    third line's detail (``Amount`` its amount)."""
    lines = []
    for index, (amount, qty, price) in enumerate(
        [("1237.50", "3", "412.5"), ("85.50", "12", "7.125"), ("150.00", None, None)]
    ):
        detail: dict[str, Any] = {"ItemRef": {"value": "1", "name": "Services"}}
        if qty is not None:
            detail.update(Qty=Decimal(qty), UnitPrice=Decimal(price or "0"))
        line = {
            "Id": str(index + 1),
            "Amount": Decimal(amount),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": detail,
        }
        lines.append(line)
    amount = third.pop("Amount", None)
    if amount is not None:
        lines[2]["Amount"] = amount
    lines[2]["SalesItemLineDetail"].update(third)
    return [*lines, {"Amount": Decimal("1473"), "DetailType": "SubTotalLineDetail"}]


def _three_line_invoice(currency: str = "USD", **third: Any) -> dict[str, Any]:
    lines = _three_lines(**third)
    total = sum((line["Amount"] for line in lines[:3]), Decimal(0))
    return invoice_wire(Line=lines, TotalAmt=total, Balance=total, CurrencyRef={"value": currency})


@pytest.mark.parametrize(
    ("currency", "third", "field"),
    [
        # the model refuses it (found in the one pass), the line-by-line build names it
        ("JPY", {"Amount": Decimal("150.5")}, "Line[2].Amount"),
        ("USD", {"Amount": Decimal("150.12345")}, "Line[2].Amount"),
        # the reader refuses it before any model
        ("USD", {"ItemRef": {"value": " "}}, "Line[2].SalesItemLineDetail.ItemRef"),
        ("USD", {"Qty": "many"}, "Line[2].SalesItemLineDetail.Qty"),
    ],
)
def test_a_fault_in_the_third_line_names_its_wire_field(currency, third, field):
    wire = _three_line_invoice(currency, **third)
    if currency == "JPY":  # whole amounts on the other lines, so only the third is wrong
        for line, amount in zip(wire["Line"][:2], ("1238", "86"), strict=True):
            line["Amount"] = Decimal(amount)
            del line["SalesItemLineDetail"]["Qty"]
        wire["TotalAmt"] = wire["Balance"] = Decimal("1474.5")
    with pytest.raises(ServiceError) as caught:
        rec.invoice_from_wire(wire)
    assert caught.value.field == field
    assert caught.value.record == "Invoice 130"


def test_a_line_the_one_pass_refuses_is_read_again_without_its_rounded_price():
    # QuickBooks kept a price finer than the models hold (13 places) that still rounds to
    # the amount: the whole-invoice pass fails on it, and the line-by-line build keeps the
    # amount and drops the price, as reading line by line always did.
    fine = Decimal("0.1234567890123")
    invoice = rec.invoice_from_wire(
        _three_line_invoice(Amount=Decimal("123.46"), Qty=Decimal("1000"), UnitPrice=fine)
    )
    assert [line.amount for line in invoice.lines] == [
        Decimal("1237.50"),
        Decimal("85.50"),
        Decimal("123.46"),
    ]
    assert invoice.lines[2].quantity is None and invoice.lines[2].unit_price is None
    assert invoice.lines[0].quantity == Decimal("3")  # the other lines keep theirs
    assert invoice.lines[2].item == Ref(id="1", name="Services")


def test_money_places_does_not_depend_on_the_callers_decimal_context():
    import decimal

    from erpsync.quickbooks.values import money_places

    with decimal.localcontext(decimal.Context(prec=3)):
        shaped = money_places(Decimal("1237.5"), "USD")
    assert str(shaped) == "1237.50"
    with decimal.localcontext(decimal.Context(traps=[decimal.Inexact, decimal.Rounded])):
        assert str(money_places(Decimal("7"), "KWD")) == "7.000"
    assert money_places(Decimal("1.005"), "USD") == Decimal("1.005")  # left for the model


def test_an_invoice_reads_the_same_in_any_decimal_context():
    import decimal

    wire = _three_line_invoice()
    wire["Line"].insert(3, {"DetailType": "DiscountLineDetail", "Amount": Decimal("10.5")})
    wire["TotalAmt"] = wire["Balance"] = Decimal("1473") - Decimal("10.5")
    expected = rec.invoice_from_wire(wire)
    with decimal.localcontext(decimal.Context(prec=3)):
        assert rec.invoice_from_wire(wire) == expected
    assert expected.lines[3].amount == Decimal("-10.50")
    assert expected.total == Decimal("1462.50")
