"""Tests for erpsync.models: money rules, line arithmetic, open statuses, external ids,
lossless JSON round trips and "ValidationError or a valid model, nothing else"."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from erpsync.errors import ConfigurationError
from erpsync.models import (
    Customer,
    DeletedRecord,
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
    Vendor,
    currency_exponent,
    decode_external_id,
    encode_external_id,
    round_money,
)

TODAY = dt.date(2026, 11, 3)
CUSTOMER = Ref(id="58")


def invoice(*lines: Any, **kw: Any) -> Invoice:
    return Invoice(customer=CUSTOMER, date=TODAY, lines=list(lines), **kw)


def locs(err: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in err.errors()}


# -- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "places"),
    [
        ("USD", 2),
        ("usd", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("ISK", 0),
        ("VND", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("OMR", 3),
        ("JOD", 3),
        ("TND", 3),
        ("LYD", 3),
        ("IQD", 3),
        ("CLF", 4),
        ("EUR", 2),
        ("XYZ", 2),
    ],
)
def test_currency_exponent(currency: str, places: int) -> None:
    assert currency_exponent(currency) == places


def test_money_accepts_decimal_str_int() -> None:
    for value in (D("12.5"), "12.5", " 12.50 "):
        assert InvoiceLine(amount=value).amount == D("12.5")
    assert InvoiceLine(amount=12).amount == 12


@pytest.mark.parametrize(
    "value",
    [
        12.5,
        float("nan"),
        float("inf"),
        D("NaN"),
        D("sNaN"),
        D("-Infinity"),
        "NaN",
        "inf",
        "abc",
        "",
        True,
        [],
        b"1",
        D("1e18"),
        10**30,
    ],
)
def test_money_rejects_floats_non_finite_and_junk(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        invoice({"amount": value})
    assert "lines.0.amount" in locs(info.value)


def test_float_error_says_why() -> None:
    with pytest.raises(ValidationError, match="float cannot hold an exact amount"):
        PaymentApplication(invoice_id="1", amount=0.1)


@pytest.mark.parametrize(
    ("currency", "amount"), [("USD", "1.005"), ("JPY", "1.5"), ("KRW", "0.1"), ("KWD", "0.0001")]
)
def test_too_many_decimals_is_an_error_naming_the_field(currency: str, amount: str) -> None:
    with pytest.raises(ValidationError, match="more decimal places than") as info:
        invoice({"amount": "5"}, {"amount": amount}, currency=currency)
    assert locs(info.value) == {"lines.1.amount"}


def test_amounts_are_written_at_the_currency_exponent_without_changing_value() -> None:
    inv = invoice({"amount": "1250"}, {"amount": "1.50"}, {"amount": "2.000"})
    assert [str(line.amount) for line in inv.lines] == ["1250.00", "1.50", "2.00"]
    assert str(inv.total) == "1253.50"
    kwd = invoice({"amount": "1.5"}, currency="kwd")
    assert kwd.currency == "KWD"
    assert str(kwd.total) == "1.500"


@pytest.mark.parametrize("currency", ["US", "USDD", "U$D", "12A", "usd ", "", None, 840, "ÜSD"])
def test_currency_shape(currency: object) -> None:
    with pytest.raises(ValidationError) as info:
        Customer(name="Acme", currency=currency)
    assert locs(info.value) == {"currency"}


def test_round_money_is_half_up() -> None:
    assert round_money(D("2.675"), "USD") == D("2.68")
    assert round_money(D("0.5"), "JPY") == D("1")
    assert round_money(D("-2.675"), "USD") == D("-2.68")
    assert round_money(D("1.0005"), "BHD") == D("1.001")


# -- invoice lines --------------------------------------------------------------------------


def test_line_amount_derived_half_up_at_two_places() -> None:
    line = InvoiceLine(quantity="3", unit_price="0.335")  # 1.005
    assert line.amount == D("1.01")
    assert str(line.amount) == "1.01"


def test_line_amount_without_quantity_and_price_is_an_error() -> None:
    for kw in ({}, {"quantity": 2}, {"unit_price": 2}):
        with pytest.raises(ValidationError, match="give amount, or both") as info:
            InvoiceLine(**kw)
        assert locs(info.value) == {"amount"}


def test_line_amount_disagreeing_with_quantity_and_price_is_an_error() -> None:
    with pytest.raises(ValidationError, match="does not equal quantity") as info:
        InvoiceLine(amount="10", quantity=3, unit_price="3")
    assert locs(info.value) == {"amount"}
    with pytest.raises(ValidationError) as nested:
        invoice({"amount": "10"}, {"amount": "10", "quantity": 3, "unit_price": 3})
    assert locs(nested.value) == {"lines.1.amount"}


def test_line_unit_price_may_be_finer_than_the_currency() -> None:
    line = InvoiceLine(amount="1.01", quantity=3, unit_price="0.33666")
    assert line.unit_price == D("0.33666")
    assert invoice(line).total == D("1.01")


def test_invoice_rederives_derived_lines_for_its_currency() -> None:
    line = InvoiceLine(quantity=3, unit_price="33.5")  # 100.50 on its own
    assert line.amount == D("100.50")
    jpy = invoice(line, currency="JPY")
    assert jpy.lines[0].amount == D("101")
    assert jpy.total == D("101")
    bhd = invoice({"quantity": 3, "unit_price": "0.3355"}, currency="BHD")
    assert bhd.lines[0].amount == D("1.007")  # 1.0065 half-up at 3 places, not 1.01
    # The flag survives copies: back to USD gives the 2-place amount again.
    assert jpy.model_copy(update={"currency": "USD"}).lines[0].amount == D("100.50")


def test_invoice_checks_explicit_amounts_exactly_against_its_currency() -> None:
    # 101 agrees with 3 * 33.5 for a 0-decimal currency, so the line alone accepts it ...
    line = InvoiceLine(amount="101", quantity=3, unit_price="33.5")
    assert invoice(line, currency="JPY").total == D("101")
    # ... but a USD invoice wants 100.50 and must not silently take 101.
    with pytest.raises(ValidationError, match=r"100\.50 in USD") as info:
        invoice(line)
    assert locs(info.value) == {"lines.0.amount"}
    # and an explicit 100.50 is never rounded into a JPY invoice.
    with pytest.raises(ValidationError, match="more decimal places than JPY"):
        invoice(InvoiceLine(amount="100.50", quantity=3, unit_price="33.5"), currency="JPY")


def test_equality_ignores_whether_an_amount_was_derived() -> None:
    derived = InvoiceLine(quantity=2, unit_price=5)
    explicit = InvoiceLine(amount="10.00", quantity=2, unit_price=5)
    assert derived == explicit
    assert derived != InvoiceLine(amount="10.00", quantity=2, unit_price=5, description="x")
    assert derived != Ref(id="1")


# -- invoices -------------------------------------------------------------------------------


def test_invoice_total_includes_tax_and_needs_a_line() -> None:
    inv = invoice({"amount": "100"}, {"amount": "-20"}, tax="8.25")
    assert inv.total == D("88.25")
    with pytest.raises(ValidationError) as info:
        invoice()
    assert locs(info.value) == {"lines"}


def test_invoice_negative_total_is_rejected() -> None:
    with pytest.raises(ValidationError, match="credit memo") as info:
        invoice({"amount": "10"}, {"amount": "-20"})
    assert locs(info.value) == {"total"}


def test_invoice_negative_tax_or_balance_rejected() -> None:
    with pytest.raises(ValidationError):
        invoice({"amount": "10"}, tax="-1")
    with pytest.raises(ValidationError):
        invoice({"amount": "10"}, balance="-1")
    with pytest.raises(ValidationError) as info:
        invoice({"amount": "10"}, balance="1.5", currency="JPY")
    assert locs(info.value) == {"balance"}


def test_invoice_dump_contains_total_and_validates_back() -> None:
    inv = invoice({"amount": "10"}, {"quantity": 2, "unit_price": "2.5"}, tax="1")
    data = inv.model_dump(mode="json")
    assert data["total"] == "16.00"
    assert Invoice.model_validate(data) == inv
    assert Invoice.model_validate_json(inv.model_dump_json()) == inv
    assert Invoice.model_validate({**data, "total": D("16")}) == inv


@pytest.mark.parametrize("stated", ["16.01", "junk", None, 16.0, "NaN"])
def test_invoice_stated_total_must_match(stated: object) -> None:
    data = invoice({"amount": "16"}).model_dump(mode="json")
    with pytest.raises(ValidationError) as info:
        Invoice.model_validate({**data, "total": stated})
    assert locs(info.value) == {"total"}


def test_invoice_defaults_and_extra_fields() -> None:
    inv = invoice({"amount": "1"})
    assert (inv.currency, inv.status, inv.remote_status, inv.tax) == (
        "USD",
        InvoiceStatus.OPEN,
        None,
        D("0.00"),
    )
    with pytest.raises(ValidationError) as info:
        invoice({"amount": "1"}, colour="red")
    assert locs(info.value) == {"colour"}


# -- statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("open", InvoiceStatus.OPEN),
        ("Paid", InvoiceStatus.PAID),
        ("PARTIALLY_PAID", InvoiceStatus.PARTIALLY_PAID),
        ("Partially Paid", InvoiceStatus.PARTIALLY_PAID),
        (InvoiceStatus.VOIDED, InvoiceStatus.VOIDED),
    ],
)
def test_invoice_status_known_values(raw: object, expected: InvoiceStatus) -> None:
    inv = invoice({"amount": "1"}, status=raw)
    assert inv.status is expected
    assert inv.remote_status is None


def test_invoice_status_is_open() -> None:
    inv = invoice({"amount": "1"}, status="Overdue")
    assert inv.status is InvoiceStatus.UNKNOWN
    assert inv.remote_status == "Overdue"
    given_raw = invoice({"amount": "1"}, status="Overdue", remote_status="OVD-7")
    assert given_raw.remote_status == "OVD-7"
    assert Invoice.model_validate(inv.model_dump(mode="json")) == inv
    with pytest.raises(ValidationError):
        invoice({"amount": "1"}, status=3)


def po(**kw: Any) -> PurchaseOrder:
    base: dict[str, Any] = {"vendor": {"id": 7}, "date": TODAY, "status": "open"}
    return PurchaseOrder(**(base | kw))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pending Receipt", PurchaseOrderStatus.PENDING_RECEIPT),
        (
            "Pending Billing/Partially Received",
            PurchaseOrderStatus.PENDING_BILLING_PARTIALLY_RECEIVED,
        ),
        ("Open", PurchaseOrderStatus.OPEN),
        ("Closed", PurchaseOrderStatus.CLOSED),
        ("fully_billed", PurchaseOrderStatus.FULLY_BILLED),
    ],
)
def test_purchase_order_status_known_values(raw: str, expected: PurchaseOrderStatus) -> None:
    assert po(status=raw).status is expected


def test_purchase_order_status_is_open() -> None:
    order = po(status="B")
    assert order.status is PurchaseOrderStatus.UNKNOWN
    assert order.remote_status == "B"
    with pytest.raises(ValidationError) as info:
        PurchaseOrder(vendor=Ref(id="7"), date=TODAY)  # type: ignore[call-arg]
    assert locs(info.value) == {"status"}


# -- payments -------------------------------------------------------------------------------


def test_payment_applications_cannot_exceed_amount() -> None:
    pay = Payment(
        customer=CUSTOMER,
        date=TODAY,
        amount="100",
        applications=[{"invoice_id": 1, "amount": "60"}, {"invoice_id": "2", "amount": "40"}],
    )
    assert pay.applications[0].invoice_id == "1"
    assert str(pay.applications[1].amount) == "40.00"
    with pytest.raises(ValidationError, match="more than the payment") as info:
        Payment(
            customer=CUSTOMER,
            date=TODAY,
            amount="100",
            applications=[
                {"invoice_id": 1, "amount": "60"},
                {"invoice_id": "2", "amount": "40.01"},
            ],
        )
    assert locs(info.value) == {"applications"}


def test_payment_amount_rules() -> None:
    for amount in ("0", "-1"):
        with pytest.raises(ValidationError):
            Payment(customer=CUSTOMER, date=TODAY, amount=amount)
    with pytest.raises(ValidationError):
        PaymentApplication(invoice_id="1", amount="-0.01")
    with pytest.raises(ValidationError) as info:
        Payment(
            customer=CUSTOMER,
            date=TODAY,
            amount="5",
            currency="JPY",
            applications=[{"invoice_id": "1", "amount": "1.5"}],
        )
    assert locs(info.value) == {"applications.0.amount"}


# -- purchasing -----------------------------------------------------------------------------


def test_purchase_order_line_amount() -> None:
    line = PurchaseOrderLine(item=Ref(id="1"), quantity="4", rate="2.125")
    assert line.amount == D("8.50")
    assert PurchaseOrderLine(item=Ref(id="1"), quantity="4").amount is None
    with pytest.raises(ValidationError) as info:
        PurchaseOrderLine(item=Ref(id="1"), quantity="4", rate="2", amount="9")
    assert locs(info.value) == {"amount"}
    order = po(currency="JPY", lines=[line])
    assert order.lines[0].amount == D("9")
    assert order.lines[0].quantity_received == 0
    assert order.lines[0].receivable is True


def test_purchase_order_line_ids_unique() -> None:
    lines = [{"line_id": 1, "item": {"id": "1"}, "quantity": 1}] * 2
    with pytest.raises(ValidationError) as info:
        po(lines=lines)
    assert locs(info.value) == {"lines.1.line_id"}


def test_item_receipt_rules() -> None:
    receipt = ItemReceipt(purchase_order_id=12, date=TODAY, lines=[{"line_id": 1, "quantity": 4}])
    assert receipt.lines == [ItemReceiptLine(line_id="1", quantity=D(4))]
    for lines in ([], [{"line_id": 1, "quantity": 0}], [{"line_id": 1, "quantity": 1}] * 2):
        with pytest.raises(ValidationError):
            ItemReceipt(purchase_order_id="12", date=TODAY, lines=lines)


# -- ids, names, timestamps, copies ---------------------------------------------------------


def test_ref_coerces_int_ids_and_rejects_others() -> None:
    assert Ref(id=58).id == "58"
    assert {Ref(id=58), Ref(id="58")} == {Ref(id="58")}  # hashable, usable as keys
    assert Ref(id="58") != "58"
    for bad in (True, None, "", "  ", 1.5):
        with pytest.raises(ValidationError):
            Ref(id=bad)


def test_names_cannot_be_blank() -> None:
    for model in (Customer, Vendor, Item):
        with pytest.raises(ValidationError):
            model(name=" ")
    assert Item(name="Widget", kind="inventory").kind == "inventory"


def test_timestamps_are_utc() -> None:
    naive = Customer(name="A", updated_at=dt.datetime(2026, 1, 1, 12))
    assert naive.updated_at == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    offset = dt.timezone(dt.timedelta(hours=-7))
    aware = Customer(name="A", updated_at=dt.datetime(2026, 1, 1, 5, tzinfo=offset))
    assert aware.updated_at is not None and aware.updated_at.tzinfo is dt.UTC
    assert aware.updated_at.hour == 12
    parsed = Customer(name="A", updated_at="2015-07-24T10:33:39-07:00")
    assert parsed.updated_at == dt.datetime(2015, 7, 24, 17, 33, 39, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):  # overflows when moved to UTC
        Customer(
            name="A", updated_at=dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))
        )


def test_frozen_and_copy_revalidates() -> None:
    inv = invoice({"amount": "10"})
    with pytest.raises(ValidationError):
        inv.memo = "x"  # type: ignore[misc]
    assert inv.model_copy(update={"memo": "hi"}).memo == "hi"
    assert inv.model_copy() == inv
    with pytest.raises(ValidationError):
        inv.model_copy(update={"currency": "dollars"})
    with pytest.raises(ValidationError):
        inv.model_copy(update={"lines": []})
    deep = inv.model_copy(update={"number": "7"}, deep=True)
    assert deep.lines == inv.lines and deep.lines is not inv.lines


def test_copying_a_derived_line_derives_its_amount_again() -> None:
    # The derived flag "survives model_copy": changing the quantity of a line whose
    # amount was derived must give the new product, not a contradiction error.
    line = InvoiceLine(quantity=2, unit_price="5")
    assert line.model_copy(update={"quantity": 3}).amount == D("15.00")
    assert line.model_copy(update={"description": "x"}).amount == D("10.00")
    explicit = InvoiceLine(amount="10", quantity=2, unit_price="5")
    with pytest.raises(ValidationError):
        explicit.model_copy(update={"quantity": 3})  # an explicit amount stays the truth
    po_line = PurchaseOrderLine(item=Ref(id="1"), quantity=2, rate="3")
    assert po_line.model_copy(update={"quantity": 4}).amount == D("12.00")


def test_a_line_derived_for_one_currency_is_derived_again_in_another() -> None:
    # A JPY invoice re-spells the derived 100.50 as 101; that line, put into a USD
    # invoice, must become 100.50 again (not keep 101, and not be refused as too coarse).
    jpy_line = invoice(InvoiceLine(quantity=3, unit_price="33.5"), currency="JPY").lines[0]
    assert jpy_line.amount == D("101")
    usd = invoice(jpy_line)
    assert usd.lines[0].amount == D("100.50")
    assert str(usd.total) == "100.50"
    kwd_line = invoice(InvoiceLine(quantity=1, unit_price="1.0055"), currency="KWD").lines[0]
    assert str(kwd_line.amount) == "1.006"  # half-up at 3 places
    assert str(invoice(kwd_line).lines[0].amount) == "1.01"  # 1.0055 at 2 places


def test_every_amount_of_a_document_is_spelt_at_its_currency_exponent() -> None:
    inv = invoice(
        {"amount": "1250"},
        {"amount": D("1.500000000000000000000000000000")},
        {"quantity": 2, "unit_price": "0.25"},
        tax=D("0.1"),
        balance=3,
    )
    assert [str(line.amount) for line in inv.lines] == ["1250.00", "1.50", "0.50"]
    assert (str(inv.tax), str(inv.balance), str(inv.total)) == ("0.10", "3.00", "1252.10")
    payment = Payment(
        customer=CUSTOMER,
        date=TODAY,
        amount=D("7"),
        currency="JPY",
        applications=[PaymentApplication(invoice_id="1", amount=D("5.000"))],
    )
    assert (str(payment.amount), str(payment.applications[0].amount)) == ("7", "5")
    po = PurchaseOrder(
        vendor=Ref(id="1"),
        date=TODAY,
        status="open",
        lines=[PurchaseOrderLine(item=Ref(id="1"), quantity=2, amount="3")],
    )
    assert str(po.lines[0].amount) == "3.00"


@pytest.mark.parametrize(
    "value",
    ["1E-1000000", "-1E-13", "0.00001", "1.000000000000000000000000000000000000001"],
)
def test_amounts_with_too_many_places_are_refused_whatever_their_exponent(value: str) -> None:
    with pytest.raises(ValidationError, match="more than 4 decimal places"):
        InvoiceLine(amount=D(value))


@pytest.mark.parametrize("value", ["0E-1000000", "1.00000000000000000000000000", "5E+3", "-0"])
def test_trailing_zeros_and_exponents_do_not_count_as_places(value: str) -> None:
    line = InvoiceLine(amount=D(value))
    assert line.amount == D(value)
    assert invoice({"amount": "1"}, line).lines[1].amount == D(value)


def test_documents_are_hashable_and_hash_like_they_compare() -> None:
    inv = invoice({"quantity": 2, "unit_price": "5"}, {"amount": "1"})
    back = Invoice.model_validate(inv.model_dump(mode="json"))
    assert back == inv and hash(back) == hash(inv)
    assert len({inv, back}) == 1
    pay = Payment(
        customer=Ref(id="1"), date=dt.date(2026, 1, 1), amount="5",
        applications=[PaymentApplication(invoice_id="1", amount="5")],
    )  # fmt: skip
    assert {pay: 1}[pay.model_copy()] == 1


def test_deleted_record() -> None:
    rec = DeletedRecord(record_type="invoice", id=5, deleted_at="2026-01-01T00:00:00Z")
    assert rec.id == "5"
    assert DeletedRecord.model_validate(rec.model_dump(mode="json")) == rec


# -- external ids ---------------------------------------------------------------------------


def test_external_id_alphabet() -> None:
    assert Customer(name="A", external_id="job-1042_a").external_id == "job-1042_a"
    assert Customer(name="A", external_id=1042).external_id == "1042"
    for bad in ("job 1042", "a/b", "é", "", "x" * 256, "a\n", True):
        with pytest.raises(ValidationError, match="encode_external_id") as info:
            Customer(name="A", external_id=bad)
        assert locs(info.value) == {"external_id"}
    assert Customer(name="A", external_id="x" * 255).external_id == "x" * 255


def test_external_id_encoding_examples() -> None:
    assert encode_external_id("job-1042") == "job-1042"
    assert encode_external_id("a_b") == "a__b"
    assert encode_external_id("a/b c") == "a_2Fb_20c"
    assert encode_external_id("é") == "_C3_A9"
    assert decode_external_id("_C3_A9__x") == "é_x"


@pytest.mark.parametrize(
    "encoded", ["a b", "_", "_2", "_2f", "_ZZ", "_41", "___", "_C3", "_FF", "_5F", "_2D"]
)
def test_decode_rejects_non_canonical_input(encoded: str) -> None:
    with pytest.raises(ConfigurationError):
        decode_external_id(encoded)


def test_encode_refuses_what_cannot_be_a_valid_id() -> None:
    for key in ("", "\ud800", "/" * 100):
        with pytest.raises(ConfigurationError):
            encode_external_id(key)


@given(st.text(min_size=1, max_size=80))
def test_external_id_encoding_round_trips_and_validates(key: str) -> None:
    try:
        encoded = encode_external_id(key)
    except ConfigurationError:
        assert len(key.encode("utf-8", "surrogatepass")) * 3 > 255
        return
    assert decode_external_id(encoded) == key
    assert Customer(name="A", external_id=encoded).external_id == encoded
    assert encode_external_id(decode_external_id(encoded)) == encoded


@given(st.text(alphabet="_-aZ09é/ ", min_size=1, max_size=30))
def test_external_id_encoding_is_injective(key: str) -> None:
    assert decode_external_id(encode_external_id(key)) == key
    assert encode_external_id(key + "_") != encode_external_id(key + "-")


# -- property tests: lossless round trips ---------------------------------------------------

CURRENCIES = st.sampled_from(["USD", "JPY", "KWD", "CLF", "EUR", "XYZ"])
IDS = st.one_of(st.integers(0, 10**12), st.text(min_size=1, max_size=12).filter(str.strip))
OPT_IDS = st.none() | IDS
EXTERNAL_IDS = st.none() | st.from_regex(r"\A[A-Za-z0-9_-]{1,40}\Z")
TEXT = st.none() | st.text(max_size=20)
NAMES = st.text(min_size=1, max_size=20).filter(str.strip)
TIMESTAMPS = st.none() | st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.one_of(st.none(), st.timezones()),
)
DATES = st.dates()
FACTORS = st.decimals(min_value=0, max_value=10**6, places=3)
REFS = st.builds(Ref, id=IDS, name=TEXT)


def money(places: int, min_value: int = 0, max_value: int = 10**9) -> st.SearchStrategy[D]:
    return st.decimals(min_value=min_value, max_value=max_value, places=places)


@st.composite
def invoice_lines(draw: st.DrawFn, places: int) -> InvoiceLine:
    kind = draw(st.sampled_from(["amount", "derived", "all"]))
    kw: dict[str, Any] = {
        "description": draw(TEXT),
        "item": draw(st.none() | REFS),
        "tax_code": draw(st.none() | REFS),
    }
    if kind == "amount":
        kw["amount"] = draw(money(places))
    else:
        kw["quantity"], kw["unit_price"] = draw(FACTORS), draw(FACTORS)
        if kind == "all":
            kw["amount"] = round_money(
                kw["quantity"] * kw["unit_price"],
                "XYZ" if places == 2 else {0: "JPY", 3: "KWD", 4: "CLF"}[places],
            )
    return InvoiceLine(**kw)


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    currency = draw(CURRENCIES)
    places = currency_exponent(currency)
    return Invoice(
        id=draw(OPT_IDS),
        external_id=draw(EXTERNAL_IDS),
        number=draw(TEXT),
        customer=draw(REFS),
        date=draw(DATES),
        due_date=draw(st.none() | DATES),
        currency=draw(st.sampled_from([currency, currency.lower()])),
        lines=draw(st.lists(invoice_lines(places), min_size=1, max_size=4)),
        memo=draw(TEXT),
        status=draw(st.sampled_from([*InvoiceStatus, "Weird", "Paid"])),
        remote_status=draw(TEXT),
        tax=draw(money(places)),
        balance=draw(st.none() | money(places)),
        updated_at=draw(TIMESTAMPS),
    )


@st.composite
def payments(draw: st.DrawFn) -> Payment:
    currency = draw(CURRENCIES)
    places = currency_exponent(currency)
    apps = draw(
        st.lists(st.builds(PaymentApplication, invoice_id=IDS, amount=money(places)), max_size=4)
    )
    extra = draw(money(places, 1))
    return Payment(
        id=draw(OPT_IDS),
        external_id=draw(EXTERNAL_IDS),
        customer=draw(REFS),
        date=draw(DATES),
        amount=sum((a.amount for a in apps), extra),
        currency=currency,
        applications=apps,
        memo=draw(TEXT),
        updated_at=draw(TIMESTAMPS),
    )


@st.composite
def purchase_orders(draw: st.DrawFn) -> PurchaseOrder:
    currency = draw(CURRENCIES)
    places = currency_exponent(currency)
    lines = []
    for index in range(draw(st.integers(0, 4))):
        kw: dict[str, Any] = {
            "line_id": draw(st.sampled_from([None, str(index + 1)])),
            "item": draw(REFS),
            "description": draw(TEXT),
            "quantity": draw(FACTORS),
            "quantity_received": draw(FACTORS),
            "receivable": draw(st.booleans()),
        }
        if draw(st.booleans()):
            kw["rate"] = draw(FACTORS)
        elif draw(st.booleans()):
            kw["amount"] = draw(money(places))
        lines.append(PurchaseOrderLine(**kw))
    return PurchaseOrder(
        id=draw(OPT_IDS),
        external_id=draw(EXTERNAL_IDS),
        number=draw(TEXT),
        vendor=draw(REFS),
        date=draw(DATES),
        status=draw(st.sampled_from([*PurchaseOrderStatus, "B", "Open"])),
        remote_status=draw(TEXT),
        currency=currency,
        lines=lines,
        memo=draw(TEXT),
        updated_at=draw(TIMESTAMPS),
    )


PARTIES = {
    cls: st.builds(
        cls,
        id=OPT_IDS,
        external_id=EXTERNAL_IDS,
        name=NAMES,
        email=TEXT,
        currency=CURRENCIES,
        updated_at=TIMESTAMPS,
    )
    for cls in (Customer, Vendor)
}
EVERY_MODEL: dict[str, st.SearchStrategy[BaseModel]] = {
    "Ref": REFS,
    "Customer": PARTIES[Customer],
    "Vendor": PARTIES[Vendor],
    "Item": st.builds(
        Item, id=OPT_IDS, external_id=EXTERNAL_IDS, name=NAMES, kind=TEXT, updated_at=TIMESTAMPS
    ),
    "InvoiceLine": st.sampled_from([0, 2, 3, 4]).flatmap(invoice_lines),
    "Invoice": invoices(),
    "PaymentApplication": st.builds(PaymentApplication, invoice_id=IDS, amount=money(4)),
    "Payment": payments(),
    "PurchaseOrderLine": st.builds(
        PurchaseOrderLine, line_id=OPT_IDS, item=REFS, quantity=FACTORS, rate=st.none() | FACTORS
    ),
    "PurchaseOrder": purchase_orders(),
    "ItemReceiptLine": st.builds(ItemReceiptLine, line_id=IDS, quantity=FACTORS.filter(bool)),
    "ItemReceipt": st.builds(
        ItemReceipt,
        id=OPT_IDS,
        purchase_order_id=IDS,
        date=DATES,
        lines=st.lists(
            st.builds(ItemReceiptLine, line_id=IDS, quantity=st.just(D(1))),
            min_size=1,
            max_size=3,
            unique_by=lambda line: line.line_id,
        ),
        external_id=EXTERNAL_IDS,
    ),
    "DeletedRecord": st.builds(
        DeletedRecord,
        record_type=NAMES,
        id=IDS,
        external_id=EXTERNAL_IDS,
        deleted_at=TIMESTAMPS.filter(lambda t: t is not None),
    ),
}


def test_every_model_has_a_round_trip_strategy() -> None:
    import erpsync.models as models

    public_models = {
        name
        for name in models.__all__
        if isinstance(getattr(models, name), type) and issubclass(getattr(models, name), BaseModel)
    }
    assert public_models == set(EVERY_MODEL)


@pytest.mark.parametrize("name", sorted(EVERY_MODEL))
def test_json_round_trip_is_lossless(name: str) -> None:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(EVERY_MODEL[name])
    def check(model: BaseModel) -> None:
        data = model.model_dump(mode="json")
        again = type(model).model_validate(data)
        assert again == model
        assert again.model_dump(mode="json") == data
        assert type(model).model_validate_json(json.dumps(data)) == model
        assert type(model).model_validate_json(model.model_dump_json()) == model

    check()


# -- property tests: nothing but ValidationError --------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**4400, max_value=10**4500),
    st.floats(),
    st.decimals(),
    st.text(max_size=30),
    st.binary(max_size=5),
    st.dates(),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.sampled_from(
        [
            "NaN",
            "sNaN",
            "-inf",
            "1e999999999",
            "1E-999999999",
            "0.001",
            "12",
            "-5",
            "USD",
            "jpy",
            "open",
            "Paid",
            "B",
            "",
            " ",
            "a b",
            "é",
            "2026-01-01",
            "2026-01-01T00:00:00+05:30",
            D("sNaN"),
            D("-0"),
            10**18,
            -(10**18),
        ]
    ),
)
WILD = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "amount",
                    "quantity",
                    "unit_price",
                    "rate",
                    "line_id",
                    "invoice_id",
                    "item",
                    "name",
                    "total",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=8,
)

#: For nested fields, also try shapes that get past the first layer of checks.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "customer": st.fixed_dictionaries({"id": WILD}),
    "vendor": st.fixed_dictionaries({"id": WILD}),
    "item": st.fixed_dictionaries({"id": WILD}),
    "lines": st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                k: WILD
                for k in (
                    "amount",
                    "quantity",
                    "unit_price",
                    "rate",
                    "line_id",
                    "quantity_received",
                    "description",
                )
            }
            | {"item": st.fixed_dictionaries({"id": IDS})},
        ),
        max_size=3,
    ),
    "applications": st.lists(
        st.fixed_dictionaries({"invoice_id": WILD, "amount": WILD}), max_size=3
    ),
    "total": WILD,
}
MODEL_CLASSES = [
    Ref,
    Customer,
    Vendor,
    Item,
    InvoiceLine,
    Invoice,
    PaymentApplication,
    Payment,
    PurchaseOrderLine,
    PurchaseOrder,
    ItemReceiptLine,
    ItemReceipt,
    DeletedRecord,
]


def wild_kwargs(cls: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    names = [*cls.model_fields, "total", "bogus"]
    return st.fixed_dictionaries({}, optional={n: WILD | PLAUSIBLE.get(n, WILD) for n in names})


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_constructors_raise_only_validation_error(cls: type[BaseModel]) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(wild_kwargs(cls))
    def check(kwargs: dict[str, Any]) -> None:
        builders: list[Callable[[], BaseModel]] = [
            lambda: cls(**kwargs),
            lambda: cls.model_validate(kwargs),
        ]
        for build in builders:
            try:
                model = build()
            except ValidationError:
                continue
            # A model that was built must survive its own round trip.
            assert type(model).model_validate(model.model_dump(mode="json")) == model

    check()


@st.composite
def mutated_dumps(draw: st.DrawFn, name: str) -> tuple[type[BaseModel], Any]:
    """A valid model's JSON dump with one value somewhere inside replaced by a wild one."""
    model = draw(EVERY_MODEL[name])
    data: Any = model.model_dump(mode="json")
    node = data
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        node[key] = draw(WILD)
        break
    return type(model), data


@pytest.mark.parametrize("name", sorted(EVERY_MODEL))
def test_mutated_dumps_raise_only_validation_error(name: str) -> None:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated_dumps(name))
    def check(case: tuple[type[BaseModel], Any]) -> None:
        cls, data = case
        try:
            model = cls.model_validate(data)
        except ValidationError:
            return
        assert cls.model_validate(model.model_dump(mode="json")) == model

    check()


@given(invoices(), st.dictionaries(st.sampled_from(list(Invoice.model_fields)), WILD, max_size=3))
@settings(max_examples=50, deadline=None)
def test_model_copy_raises_only_validation_error(inv: Invoice, update: dict[str, Any]) -> None:
    try:
        copied = inv.model_copy(update=update)
    except ValidationError:
        return
    assert Invoice.model_validate(copied.model_dump(mode="json")) == copied


def test_import_is_light() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import erpsync.models\n"
        "allowed = set(sys.stdlib_module_names) | {'erpsync', 'pydantic', 'pydantic_core',"
        " 'typing_extensions', 'annotated_types', 'typing_inspection'}\n"
        "new = set(sys.modules) - before\n"
        "roots = {m.split('.')[0] for m in new if not m.startswith('_sysconfigdata')}\n"
        "print(','.join(sorted(roots - allowed)))\n"
        "print(','.join(sorted(m for m in new if m.startswith('erpsync.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    third_party, ours = out.stdout.split("\n")[:2]
    assert third_party == ""
    # The models package and its own modules, plus the error tree; nothing else of ours.
    outside = {m for m in ours.split(",") if m != "erpsync.models"}
    outside -= {m for m in outside if m.startswith("erpsync.models.")}
    assert outside <= {"erpsync.errors", "erpsync._redact", "erpsync._lazy"}


def test_first_use_of_the_models_from_many_threads_at_once() -> None:
    # Models may build their validators on first use (not at import); a service whose
    # first requests arrive together must still get correct validation in every thread.
    code = (
        "import threading\n"
        "from datetime import date\n"
        "from decimal import Decimal\n"
        "from pydantic import ValidationError\n"
        "from erpsync.models import Invoice, InvoiceLine, Payment, PurchaseOrder, Ref\n"
        "barrier = threading.Barrier(12)\n"
        "results = []\n"
        "def work():\n"
        "    barrier.wait()\n"
        "    inv = Invoice(customer=Ref(id='1'), date=date(2026, 11, 3),\n"
        "                  lines=[InvoiceLine(quantity=3, unit_price='0.335')])\n"
        "    refused = 0\n"
        "    for bad in (lambda: InvoiceLine(amount=Decimal('0.00001')),\n"
        "                lambda: PurchaseOrder(vendor=Ref(id='1'), date=date(2026, 11, 3),\n"
        "                                      status='open', bogus=1)):\n"
        "        try:\n"
        "            bad()\n"
        "        except ValidationError:\n"
        "            refused += 1\n"
        "    Payment(customer=Ref(id='1'), date=date(2026, 11, 3), amount='5')\n"
        "    results.append((str(inv.total), refused))\n"
        "threads = [threading.Thread(target=work) for _ in range(12)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(sorted(set(results)), len(results))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[('1.01', 2)] 12"


# -- checks run once, in model_post_init (model_construct runs them too) --------------------


def test_model_construct_runs_the_line_checks() -> None:
    # A line built without validation is still held to its own rules: an amount or a
    # quantity and price, and the three agreeing.
    with pytest.raises(ValidationError) as info:
        InvoiceLine.model_construct(description="no money")
    assert locs(info.value) == {"amount"}
    with pytest.raises(ValidationError) as info:
        InvoiceLine.model_construct(amount=D("7"), quantity=D("2"), unit_price=D("3"))
    assert locs(info.value) == {"amount"}
    with pytest.raises(ValidationError) as info:
        PurchaseOrderLine.model_construct(
            item=Ref(id="1"), quantity=D("2"), quantity_received=D(0), rate=D("3"), amount=D("7")
        )
    assert locs(info.value) == {"amount"}
    derived = InvoiceLine.model_construct(quantity=D("3"), unit_price=D("0.335"))
    assert derived.amount == D("1.01")  # derived, as validation derives it


def test_model_construct_runs_the_invoice_checks() -> None:
    line = InvoiceLine(amount=D("1.5"))
    with pytest.raises(ValidationError) as info:
        Invoice.model_construct(
            customer=Ref(id="1"),
            date=dt.date(2026, 11, 3),
            currency="JPY",
            lines=[InvoiceLine(amount=D("2")), line],
            tax=D(0),
            balance=None,
        )
    assert locs(info.value) == {"lines.1.amount"}
    fitted = Invoice.model_construct(
        customer=Ref(id="1"),
        date=dt.date(2026, 11, 3),
        currency="USD",
        lines=[line],
        tax=D(0),
        balance=None,
    )
    assert str(fitted.lines[0].amount) == "1.50"  # fitted to the currency, as validation does


def test_invoice_checks_run_once_per_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for cls in (Invoice, InvoiceLine):
        original = cls.model_post_init

        def counting(self: Any, context: Any, /, _original: Any = original) -> None:
            calls.append(type(self).__name__)
            _original(self, context)

        monkeypatch.setattr(cls, "model_post_init", counting)
    Invoice(
        customer=Ref(id="1"),
        date=dt.date(2026, 11, 3),
        lines=[{"quantity": "2", "unit_price": "3"}, {"amount": "4"}],
    )
    assert sorted(calls) == ["Invoice", "InvoiceLine", "InvoiceLine"]


def test_purchase_order_reports_every_fault_of_its_lines() -> None:
    # Duplicate line ids and amounts that do not fit the currency are all reported, the
    # duplicates first (both are checked in the one pass of the order's checks).
    with pytest.raises(ValidationError) as info:
        PurchaseOrder(
            vendor=Ref(id="1"),
            date=dt.date(2026, 11, 3),
            status="open",
            currency="JPY",
            lines=[
                {"line_id": "1", "item": {"id": "1"}, "quantity": "1", "amount": "1.5"},
                {"line_id": "1", "item": {"id": "1"}, "quantity": "1", "amount": "2"},
            ],
        )
    assert [".".join(map(str, e["loc"])) for e in info.value.errors()] == [
        "lines.1.line_id",
        "lines.0.amount",
    ]


def test_model_arithmetic_does_not_depend_on_the_callers_decimal_context() -> None:
    import decimal

    def build() -> Invoice:
        return Invoice(
            customer=Ref(id="1"),
            date=dt.date(2026, 11, 3),
            currency="KWD",
            lines=[
                {"quantity": "123456.789", "unit_price": "98765.4321"},
                {"amount": "1237.5"},
            ],
        )

    expected = build()
    with decimal.localcontext(decimal.Context(prec=3, traps=[decimal.Inexact])):
        assert build() == expected
        assert build().total == expected.total
