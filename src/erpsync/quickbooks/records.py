"""QuickBooks Online records: wire records <-> erpsync models, as pure functions (no I/O, no clock).

Reading is strict about what a model cannot do without (an Id, a CustomerRef, a date,
amounts) and tolerant about everything else: a wire record missing a required field
or carrying nonsense raises :class:`ServiceError` naming the record and the field,
because QuickBooks broke its promise, not the caller. Where QuickBooks' data is richer
than the model the choices are:

* Invoice lines: ``SalesItemLineDetail`` lines become lines; the ``SubTotalLineDetail``
  line the server appends is ignored; ``DiscountLineDetail`` becomes a negative line;
  ``DescriptionOnly`` lines keep their text (amount 0 unless given). A line whose
  ``Qty * UnitPrice`` does not give its ``Amount`` (QuickBooks rounds prices it shows)
  keeps the amount and drops the quantity and price rather than failing the invoice.
* Invoice ``tax`` is ``TotalAmt`` minus the line sum (what QuickBooks added); the
  status comes from ``Balance``/``TotalAmt`` (QuickBooks has no status field): voided
  (total 0 and a ``PrivateNote`` starting "Voided", as QuickBooks marks voids), paid
  (balance 0), partially paid, open.
* Purchase order ``POStatus`` Open/Closed maps to OPEN/CLOSED; lines without an item
  (``AccountBasedExpenseLineDetail``) are not purchase order lines in the model's
  sense (nothing to receive) and are left out.

External ids live in a marker line at the end of ``PrivateNote`` (transactions) or
``Notes`` (customers): ``[erpsync external_id=job-1042]``. See backend.py for why and
how they are found again.

This module keeps the per-record-type mappings only; turning wire values into Python
values and back, with errors naming record and field, is :mod:`erpsync.quickbooks.values`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from erpsync.errors import InvalidRequestError
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
    Vendor,
    round_money,
)
from erpsync.quickbooks.errors import BACKEND
from erpsync.quickbooks.values import (
    WireReader,
    line_locator,
    money_places,
    parse_timestamp,
    put,
    read_decimal,
    read_ref,
    ref_to_wire,
)

__all__ = [
    "DOC_NUMBER_MAX",
    "PRIVATE_NOTE_MAX",
    "customer_from_wire",
    "customer_to_wire",
    "external_id_in",
    "invoice_from_wire",
    "invoice_to_wire",
    "item_from_wire",
    "item_to_wire",
    "parse_timestamp",
    "payment_from_wire",
    "payment_to_wire",
    "purchase_order_from_wire",
    "purchase_order_to_wire",
    "vendor_from_wire",
    "vendor_to_wire",
    "with_external_id",
    "without_marker",
]

DOC_NUMBER_MAX = 21
PRIVATE_NOTE_MAX = 4000
NOTES_MAX = 2000

_MARKER = re.compile(r"\n?\[erpsync external_id=([A-Za-z0-9_-]{1,255})\]\s*\Z")
_ITEM_KINDS = {"Service": "service", "NonInventory": "non_inventory", "Inventory": "inventory"}
_ITEM_TYPES = {v: k for k, v in _ITEM_KINDS.items()}
_PO_STATUS = {"open": PurchaseOrderStatus.OPEN, "closed": PurchaseOrderStatus.CLOSED}


# -- external id markers ------------------------------------------------------------------


def with_external_id(note: str | None, external_id: str | None) -> str | None:
    """``note`` with the marker for ``external_id`` as its last line (replacing any)."""
    text = without_marker(note)
    if external_id is None:
        return text
    marker = f"[erpsync external_id={external_id}]"
    return f"{text}\n{marker}" if text else marker


def external_id_in(note: Any) -> str | None:
    """The external id a note's marker holds, if any."""
    if not isinstance(note, str):
        return None
    match = _MARKER.search(note)
    return match.group(1) if match else None


def without_marker(note: Any) -> str | None:
    """The note as the user wrote it (marker removed); None when that is empty."""
    if not isinstance(note, str):
        return None
    text = _MARKER.sub("", note).rstrip()
    return text or None


# -- names ---------------------------------------------------------------------------------


def customer_from_wire(wire: Any, *, home_currency: str = "USD") -> Customer:
    r = WireReader(wire, "Customer")
    email = wire.get("PrimaryEmailAddr")
    return r.build(
        Customer,
        id=r.text("Id", required=True),
        external_id=external_id_in(wire.get("Notes")),
        name=r.text("DisplayName", required=True),
        email=str(email["Address"])
        if isinstance(email, Mapping) and email.get("Address")
        else None,
        currency=r.currency(home_currency),
        updated_at=r.updated_at(),
    )


def customer_to_wire(customer: Customer) -> dict[str, Any]:
    """A create body; the external id goes into ``Notes`` as a marker line."""
    body: dict[str, Any] = {"DisplayName": customer.name}
    if customer.email:
        body["PrimaryEmailAddr"] = {"Address": customer.email}
    body["CurrencyRef"] = {"value": customer.currency}
    notes = with_external_id(None, customer.external_id)
    put(body, "Notes", notes)
    return body


def vendor_from_wire(wire: Any, *, home_currency: str = "USD") -> Vendor:
    r = WireReader(wire, "Vendor")
    email = wire.get("PrimaryEmailAddr")
    return r.build(
        Vendor,
        id=r.text("Id", required=True),
        external_id=None,
        name=r.text("DisplayName", required=True),
        email=str(email["Address"])
        if isinstance(email, Mapping) and email.get("Address")
        else None,
        currency=r.currency(home_currency),
        updated_at=r.updated_at(),
    )


def vendor_to_wire(vendor: Vendor) -> dict[str, Any]:
    body: dict[str, Any] = {"DisplayName": vendor.name, "CurrencyRef": {"value": vendor.currency}}
    if vendor.email:
        body["PrimaryEmailAddr"] = {"Address": vendor.email}
    return body


def item_from_wire(wire: Any) -> Item:
    r = WireReader(wire, "Item")
    kind = r.text("Type")
    return r.build(
        Item,
        id=r.text("Id", required=True),
        external_id=None,
        name=r.text("Name", required=True),
        kind=_ITEM_KINDS.get(kind or "", kind.lower() if kind else None),
        updated_at=r.updated_at(),
    )


def item_to_wire(
    item: Item, *, income_account: str | None, expense_account: str | None
) -> dict[str, Any]:
    """A create body for a service or non-inventory item (inventory items need an asset
    account, a quantity and a start date that the model does not carry)."""
    kind = item.kind or "service"
    item_type = _ITEM_TYPES.get(kind)
    if item_type is None or item_type == "Inventory":
        raise InvalidRequestError(
            f"items of kind {kind!r} cannot be created through erpsync; use 'service' or "
            "'non_inventory' (inventory items need QuickBooks' own setup)",
            backend=BACKEND,
            record=f"item {item.name}",
            field="kind",
        )
    body: dict[str, Any] = {"Name": item.name, "Type": item_type}
    if income_account:
        body["IncomeAccountRef"] = {"value": income_account}
    if expense_account and item_type == "NonInventory":
        body["ExpenseAccountRef"] = {"value": expense_account}
    return body


# -- invoices ------------------------------------------------------------------------------


def invoice_from_wire(wire: Any, *, home_currency: str = "USD") -> Invoice:
    """The invoice; ``external_id`` comes from the ``PrivateNote`` marker only (a
    ``DocNumber`` may be a digest of it, or a number a person typed)."""
    r = WireReader(wire, "Invoice")
    currency = r.currency(home_currency)
    lines, line_paths = _invoice_lines(r, currency)
    line_sum = sum((line.amount or Decimal(0) for line in lines), Decimal(0))
    total = r.money("TotalAmt")
    if total is None:
        total = line_sum
    tax = total - line_sum
    if tax < 0:
        r.fail("TotalAmt", f"({total}) is less than the sum of the lines ({line_sum})")
    balance = r.money("Balance")
    note = wire.get("PrivateNote")
    voided = total == 0 and isinstance(note, str) and note.strip().lower().startswith("voided")
    status, remote = _invoice_status(total, balance, voided)
    number = r.text("DocNumber")
    external_id = external_id_in(note)
    return r.build_located(
        line_locator(line_paths),
        Invoice,
        id=r.text("Id", required=True),
        external_id=external_id,
        number=number,
        customer=r.ref("CustomerRef", required=True),
        date=r.day("TxnDate", required=True),
        due_date=r.day("DueDate"),
        currency=currency,
        lines=lines,
        memo=without_marker(note),
        status=status,
        remote_status=remote,
        tax=money_places(tax, currency),
        balance=money_places(balance, currency) if balance is not None else None,
        updated_at=r.updated_at(),
    )


def _invoice_status(
    total: Decimal, balance: Decimal | None, voided: bool
) -> tuple[InvoiceStatus, str | None]:
    if voided:
        return InvoiceStatus.VOIDED, "Voided"
    if balance is None:
        return InvoiceStatus.OPEN, None
    if balance <= 0:
        return InvoiceStatus.PAID, None
    if balance < total:
        return InvoiceStatus.PARTIALLY_PAID, None
    return InvoiceStatus.OPEN, None


def _invoice_lines(r: WireReader, currency: str) -> tuple[list[InvoiceLine], list[dict[str, str]]]:
    """The model lines and, for each, where its fields came from on the wire."""
    raw = r.data.get("Line")
    if not isinstance(raw, list):
        r.fail("Line", "is missing")
    lines: list[InvoiceLine] = []
    line_paths: list[dict[str, str]] = []
    for index, line in enumerate(raw):
        field = f"Line[{index}]"
        if not isinstance(line, Mapping):
            r.fail(field, "is not an object")
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue
        amount = read_decimal(r, line.get("Amount"), f"{field}.Amount")
        description = line.get("Description")
        description = str(description) if description not in (None, "") else None
        paths = {"": field, "amount": f"{field}.Amount", "description": f"{field}.Description"}
        if kind == "SalesItemLineDetail":
            sales = f"{field}.SalesItemLineDetail"
            paths.update(
                item=f"{sales}.ItemRef",
                tax_code=f"{sales}.TaxCodeRef",
                quantity=f"{sales}.Qty",
                unit_price=f"{sales}.UnitPrice",
            )
        line_paths.append(paths)  # every line from here on becomes one model line
        if kind == "DiscountLineDetail":
            if amount is None:
                r.fail(f"{field}.Amount", "is missing")
            lines.append(
                r.build_at(
                    paths,
                    InvoiceLine,
                    description=description or "Discount",
                    amount=-money_places(amount, currency),
                )
            )
            continue
        if kind == "SalesItemLineDetail":
            if amount is None:
                r.fail(f"{field}.Amount", "is missing")
            detail = line.get("SalesItemLineDetail")
            detail = detail if isinstance(detail, Mapping) else {}
            item = read_ref(r, detail.get("ItemRef"), f"{field}.SalesItemLineDetail.ItemRef", False)
            tax_code = read_ref(
                r, detail.get("TaxCodeRef"), f"{field}.SalesItemLineDetail.TaxCodeRef", False
            )
            quantity = read_decimal(r, detail.get("Qty"), f"{field}.SalesItemLineDetail.Qty")
            price = read_decimal(
                r, detail.get("UnitPrice"), f"{field}.SalesItemLineDetail.UnitPrice"
            )
            lines.append(
                _sales_line(
                    r, field, description, amount, quantity, price, item, tax_code, currency
                )
            )
            continue
        # DescriptionOnly and any line type the model has no special place for: keep the
        # text and the money, so totals still add up.
        lines.append(
            r.build_at(
                paths,
                InvoiceLine,
                description=description or (str(kind) if kind else None),
                amount=money_places(amount or Decimal(0), currency),
            )
        )
    if not lines:
        r.fail("Line", "has no lines besides the subtotal")
    return lines, line_paths


def _sales_line(
    r: WireReader,
    field: str,
    description: str | None,
    amount: Decimal,
    quantity: Decimal | None,
    price: Decimal | None,
    item: Ref | None,
    tax_code: Ref | None,
    currency: str,
) -> InvoiceLine:
    shaped = money_places(amount, currency)
    try:
        # Absurd exponents (1E+999999) overflow the product: then they cannot agree.
        agrees = round_money(quantity * price, currency) == amount if quantity and price else False
    except ArithmeticError:
        agrees = False
    if agrees:
        try:
            return InvoiceLine(
                description=description,
                amount=shaped,
                quantity=quantity,
                unit_price=price,
                item=item,
                tax_code=tax_code,
            )
        except ValidationError:
            pass  # QuickBooks kept a rounded price; the amount is what counts
    return r.build_located(
        lambda loc: f"{field}.Amount",
        InvoiceLine,
        description=description,
        amount=shaped,
        item=item,
        tax_code=tax_code,
    )


def invoice_to_wire(
    invoice: Invoice, *, doc_number: str | None, private_note: str | None
) -> dict[str, Any]:
    """A create body. ``doc_number`` and ``private_note`` are decided by the backend
    (numbering rule, external id marker); their QuickBooks limits are checked here so
    that a too-long value fails before the request, naming the field."""
    label = f"invoice {invoice.external_id or invoice.number or '(new)'}"
    if doc_number is not None and len(doc_number) > DOC_NUMBER_MAX:
        raise InvalidRequestError(
            f"DocNumber {doc_number!r} is longer than QuickBooks' {DOC_NUMBER_MAX} characters",
            backend=BACKEND,
            record=label,
            field="DocNumber",
        )
    if private_note is not None and len(private_note) > PRIVATE_NOTE_MAX:
        raise InvalidRequestError(
            f"the memo is longer than QuickBooks' {PRIVATE_NOTE_MAX} characters "
            "(the external id marker included)",
            backend=BACKEND,
            record=label,
            field="PrivateNote",
        )
    if invoice.tax != 0:
        raise InvalidRequestError(
            "QuickBooks computes sales tax itself: give lines tax codes instead of a tax amount",
            backend=BACKEND,
            record=label,
            field="tax",
        )
    body: dict[str, Any] = {
        "CustomerRef": ref_to_wire(invoice.customer),
        "TxnDate": invoice.date.isoformat(),
        "CurrencyRef": {"value": invoice.currency},
        "Line": [_sales_line_wire(line) for line in invoice.lines],
    }
    put(body, "DueDate", invoice.due_date.isoformat() if invoice.due_date else None)
    put(body, "DocNumber", doc_number)
    put(body, "PrivateNote", private_note)
    return body


def _sales_line_wire(line: InvoiceLine) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if line.item is not None:
        detail["ItemRef"] = ref_to_wire(line.item)
    if line.quantity is not None:
        detail["Qty"] = line.quantity
    if line.unit_price is not None:
        detail["UnitPrice"] = line.unit_price
    if line.tax_code is not None:
        detail["TaxCodeRef"] = ref_to_wire(line.tax_code)
    out: dict[str, Any] = {
        "DetailType": "SalesItemLineDetail",
        "Amount": line.amount,
        "SalesItemLineDetail": detail,
    }
    put(out, "Description", line.description)
    return out


# -- payments ------------------------------------------------------------------------------


def payment_from_wire(wire: Any, *, home_currency: str = "USD") -> Payment:
    r = WireReader(wire, "Payment")
    currency = r.currency(home_currency)
    applications: list[PaymentApplication] = []
    raw_lines = wire.get("Line") or []
    if not isinstance(raw_lines, list):
        r.fail("Line", "is not a list")
    for index, line in enumerate(raw_lines):
        if not isinstance(line, Mapping):
            r.fail(f"Line[{index}]", "is not an object")
        amount = read_decimal(r, line.get("Amount"), f"Line[{index}].Amount") or Decimal(0)
        links = line.get("LinkedTxn") or []
        if not isinstance(links, list):
            r.fail(f"Line[{index}].LinkedTxn", "is not a list")
        for link in links:
            if isinstance(link, Mapping) and link.get("TxnType") == "Invoice" and link.get("TxnId"):
                applications.append(
                    r.build_at(
                        {
                            "": f"Line[{index}]",
                            "amount": f"Line[{index}].Amount",
                            "invoice_id": f"Line[{index}].LinkedTxn.TxnId",
                        },
                        PaymentApplication,
                        invoice_id=str(link["TxnId"]),
                        amount=money_places(amount, currency),
                    )
                )
                break  # one amount per line: it belongs to the line's first invoice
    total = r.money("TotalAmt")
    if total is None:
        r.fail("TotalAmt", "is missing")
    note = wire.get("PrivateNote")
    return r.build(
        Payment,
        id=r.text("Id", required=True),
        external_id=external_id_in(note),
        customer=r.ref("CustomerRef", required=True),
        date=r.day("TxnDate", required=True),
        amount=money_places(total, currency),
        currency=currency,
        applications=applications,
        memo=without_marker(note),
        updated_at=r.updated_at(),
    )


def payment_to_wire(payment: Payment, *, private_note: str | None) -> dict[str, Any]:
    label = f"payment {payment.external_id or '(new)'}"
    if private_note is not None and len(private_note) > PRIVATE_NOTE_MAX:
        raise InvalidRequestError(
            f"the memo is longer than QuickBooks' {PRIVATE_NOTE_MAX} characters",
            backend=BACKEND,
            record=label,
            field="PrivateNote",
        )
    body: dict[str, Any] = {
        "CustomerRef": ref_to_wire(payment.customer),
        "TotalAmt": payment.amount,
        "TxnDate": payment.date.isoformat(),
        "CurrencyRef": {"value": payment.currency},
        "Line": [
            {"Amount": app.amount, "LinkedTxn": [{"TxnId": app.invoice_id, "TxnType": "Invoice"}]}
            for app in payment.applications
        ],
    }
    put(body, "PrivateNote", private_note)
    return body


# -- purchase orders -----------------------------------------------------------------------


def purchase_order_from_wire(wire: Any, *, home_currency: str = "USD") -> PurchaseOrder:
    r = WireReader(wire, "PurchaseOrder")
    currency = r.currency(home_currency)
    lines: list[PurchaseOrderLine] = []
    line_paths: list[dict[str, str]] = []  # per model line: model field -> wire path
    raw_lines = wire.get("Line") or []
    if not isinstance(raw_lines, list):
        r.fail("Line", "is not a list")
    for index, line in enumerate(raw_lines):
        field = f"Line[{index}]"
        if not isinstance(line, Mapping):
            r.fail(field, "is not an object")
        if line.get("DetailType") != "ItemBasedExpenseLineDetail":
            continue
        detail = line.get("ItemBasedExpenseLineDetail")
        if not isinstance(detail, Mapping):
            r.fail(f"{field}.ItemBasedExpenseLineDetail", "is missing")
        item = read_ref(
            r, detail.get("ItemRef"), f"{field}.ItemBasedExpenseLineDetail.ItemRef", True
        )
        assert item is not None
        quantity = read_decimal(r, detail.get("Qty"), f"{field}.ItemBasedExpenseLineDetail.Qty")
        rate = read_decimal(
            r, detail.get("UnitPrice"), f"{field}.ItemBasedExpenseLineDetail.UnitPrice"
        )
        amount = read_decimal(r, line.get("Amount"), f"{field}.Amount")
        description = line.get("Description")
        detail_path = f"{field}.ItemBasedExpenseLineDetail"
        paths = {
            "": field,
            "line_id": f"{field}.Id",
            "item": f"{detail_path}.ItemRef",
            "description": f"{field}.Description",
            "quantity": f"{detail_path}.Qty",
            "rate": f"{detail_path}.UnitPrice",
            "amount": f"{field}.Amount",
        }
        fields: dict[str, Any] = {
            "line_id": str(line["Id"]) if line.get("Id") not in (None, "") else None,
            "item": item,
            "description": str(description) if description else None,
            "quantity": quantity if quantity is not None else Decimal(1),
            "rate": rate,
            "amount": money_places(amount, currency) if amount is not None else None,
        }
        try:
            lines.append(PurchaseOrderLine(**fields))
        except ValidationError:
            # QuickBooks keeps a rounded rate it shows; the amount is what counts.
            lines.append(r.build_at(paths, PurchaseOrderLine, **{**fields, "rate": None}))
        line_paths.append(paths)
    raw_status = r.text("POStatus")
    status = _PO_STATUS.get((raw_status or "open").lower(), PurchaseOrderStatus.UNKNOWN)
    note = wire.get("PrivateNote")

    return r.build_located(
        line_locator(line_paths),
        PurchaseOrder,
        id=r.text("Id", required=True),
        external_id=external_id_in(note),
        number=r.text("DocNumber"),
        vendor=r.ref("VendorRef", required=True),
        date=r.day("TxnDate", required=True),
        status=status,
        remote_status=raw_status,
        currency=currency,
        lines=lines,
        memo=without_marker(note),
        updated_at=r.updated_at(),
    )


def purchase_order_to_wire(order: PurchaseOrder, *, private_note: str | None) -> dict[str, Any]:
    label = f"purchase order {order.external_id or order.number or '(new)'}"
    if order.number is not None and len(order.number) > DOC_NUMBER_MAX:
        raise InvalidRequestError(
            f"DocNumber {order.number!r} is longer than QuickBooks' {DOC_NUMBER_MAX} characters",
            backend=BACKEND,
            record=label,
            field="DocNumber",
        )
    if not order.lines:
        raise InvalidRequestError(
            "a purchase order needs at least one line", backend=BACKEND, record=label, field="lines"
        )
    status = {PurchaseOrderStatus.CLOSED: "Closed"}.get(order.status, "Open")
    lines = []
    for line in order.lines:
        detail: dict[str, Any] = {"ItemRef": ref_to_wire(line.item), "Qty": line.quantity}
        put(detail, "UnitPrice", line.rate)
        amount = line.amount if line.amount is not None else Decimal(0)
        out: dict[str, Any] = {
            "DetailType": "ItemBasedExpenseLineDetail",
            "Amount": amount,
            "ItemBasedExpenseLineDetail": detail,
        }
        put(out, "Description", line.description)
        lines.append(out)
    body: dict[str, Any] = {
        "VendorRef": ref_to_wire(order.vendor),
        "TxnDate": order.date.isoformat(),
        "POStatus": status,
        "CurrencyRef": {"value": order.currency},
        "Line": lines,
    }
    put(body, "DocNumber", order.number)
    put(body, "PrivateNote", private_note)
    return body
