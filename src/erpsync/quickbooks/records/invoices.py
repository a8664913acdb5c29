"""QuickBooks invoices <-> models: sales, discount and description lines; status from
``Balance`` / ``TotalAmt``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from erpsync.errors import InvalidRequestError
from erpsync.models import Invoice, InvoiceLine, InvoiceStatus, round_money
from erpsync.quickbooks.errors import BACKEND
from erpsync.quickbooks.records.notes import external_id_in, without_marker
from erpsync.quickbooks.values import (
    EXACT,
    WireReader,
    is_mapping,
    line_locator,
    money_places,
    put,
    read_ref_values,
    ref_to_wire,
)
from erpsync.quickbooks.wire import DOC_NUMBER_MAX, PRIVATE_NOTE_MAX

# -- invoices ------------------------------------------------------------------------------


def invoice_from_wire(wire: Any, *, home_currency: str = "USD") -> Invoice:
    """The invoice; ``external_id`` comes from the ``PrivateNote`` marker only (a
    ``DocNumber`` may be a digest of it, or a number a person typed).

    The wire is read into plain values first and the invoice validated in one pass
    (:meth:`~erpsync._wire_reader.WireReader.build_once`); only a document that fails
    it is built again line by line, to name the faulty line's wire field."""
    r = WireReader(wire, "Invoice")
    currency = r.currency(home_currency)
    lines = _invoice_lines(r, currency)
    line_sum = functools.reduce(EXACT.add, (line.values["amount"] for line in lines), _ZERO)
    total = r.money("TotalAmt")
    if total is None:
        total = line_sum
    tax = EXACT.subtract(total, line_sum)
    if tax < 0:
        r.fail("TotalAmt", f"({total}) is less than the sum of the lines ({line_sum})")
    balance = r.money("Balance")
    note = wire.get("PrivateNote")
    voided = total == 0 and isinstance(note, str) and note.strip().lower().startswith("voided")
    status, remote = _invoice_status(total, balance, voided)
    number = r.text("DocNumber")
    values: dict[str, Any] = {
        "id": r.text("Id", required=True),
        "external_id": external_id_in(note),
        "number": number,
        "customer": read_ref_values(r, r.data.get("CustomerRef"), "CustomerRef", True),
        "date": r.day("TxnDate", required=True),
        "due_date": r.day("DueDate"),
        "currency": currency,
        "lines": [line.values for line in lines],
        "memo": without_marker(note),
        "status": status,
        "remote_status": remote,
        "tax": money_places(tax, currency),
        "balance": money_places(balance, currency) if balance is not None else None,
        "updated_at": r.updated_at(),
    }

    def by_lines() -> Invoice:
        models = [line.build(r) for line in lines]
        locate = line_locator([line.paths for line in lines])
        return r.build_located(locate, Invoice, **{**values, "lines": models})

    return r.build_once(Invoice, values, by_lines)


_ZERO = Decimal(0)


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


class _Line:
    """One wire line read into an :class:`InvoiceLine`'s values, with what the
    line-by-line build needs to name its wire fields (:attr:`paths`, made only then)."""

    __slots__ = ("field", "kind", "values")

    def __init__(self, field: str, kind: object, values: dict[str, Any]) -> None:
        self.field = field
        self.kind = kind
        self.values = values

    @property
    def paths(self) -> dict[str, str]:
        """Model field -> where it came from on the wire (``""``: the line itself)."""
        field = self.field
        paths = {"": field, "amount": f"{field}.Amount", "description": f"{field}.Description"}
        if self.kind == _SALES:
            sales = f"{field}.{_SALES}"
            paths.update(
                item=f"{sales}.ItemRef",
                tax_code=f"{sales}.TaxCodeRef",
                quantity=f"{sales}.Qty",
                unit_price=f"{sales}.UnitPrice",
            )
        return paths

    def build(self, r: WireReader) -> InvoiceLine:
        """The line on its own, a failure naming its wire field. A sales line whose
        quantity and price agreed with its amount keeps them unless the line then
        fails (QuickBooks kept a rounded price: the amount is what counts)."""
        if self.kind != _SALES:
            return r.build_at(self.paths, InvoiceLine, **self.values)
        if "quantity" in self.values:
            try:
                return InvoiceLine(**self.values)
            except ValidationError:
                pass
        amount_only = {k: v for k, v in self.values.items() if k not in ("quantity", "unit_price")}
        return r.build_located(lambda loc: f"{self.field}.Amount", InvoiceLine, **amount_only)


_SALES = "SalesItemLineDetail"


def _invoice_lines(r: WireReader, currency: str) -> list[_Line]:
    """The lines as values (the subtotal line left out), each with its wire paths.

    Wire paths (``Line[2].Amount``) are spelt only for values that are there to be read
    or that fail: the reader costs a few string joins less per line."""
    raw = r.data.get("Line")
    if not isinstance(raw, list):
        r.fail("Line", "is missing")
    lines: list[_Line] = []
    for index, line in enumerate(raw):
        field = f"Line[{index}]"
        if not is_mapping(line):
            r.fail(field, "is not an object")
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue
        amount = r.decimal_of(line.get("Amount"), f"{field}.Amount")
        description = line.get("Description")
        description = str(description) if description not in (None, "") else None
        if kind == _SALES or kind == "DiscountLineDetail":
            if amount is None:
                r.fail(f"{field}.Amount", "is missing")
            shaped = money_places(amount, currency)
            if kind == _SALES:
                detail = line.get(_SALES)
                values = _sales_values(
                    r, f"{field}.{_SALES}", detail if is_mapping(detail) else {}, currency
                )
                values.update(description=description, amount=shaped)
                if "quantity" in values and values.pop("product") != amount:
                    # The amount is what counts: a quantity and price that do not make it
                    # (QuickBooks kept a rounded price) are left out.
                    del values["quantity"], values["unit_price"]
            else:
                values = {"description": description or "Discount", "amount": EXACT.minus(shaped)}
        else:
            # DescriptionOnly and any line type the model has no special place for: keep
            # the text and the money, so totals still add up.
            values = {
                "description": description or (str(kind) if kind else None),
                "amount": money_places(amount or _ZERO, currency),
            }
        lines.append(_Line(field, kind, values))
    if not lines:
        r.fail("Line", "has no lines besides the subtotal")
    return lines


def _sales_values(
    r: WireReader, sales: str, detail: Mapping[str, Any], currency: str
) -> dict[str, Any]:
    """A sales line's detail values (``sales`` its wire path); with a quantity and a
    price, also their ``product`` rounded for the currency, for the caller to keep
    them only when they make the amount."""
    item = detail.get("ItemRef")
    tax_code = detail.get("TaxCodeRef")
    values: dict[str, Any] = {
        "item": None if item is None else read_ref_values(r, item, f"{sales}.ItemRef", False),
        "tax_code": None
        if tax_code is None
        else read_ref_values(r, tax_code, f"{sales}.TaxCodeRef", False),
    }
    quantity, price = detail.get("Qty"), detail.get("UnitPrice")
    if quantity is None and price is None:
        return values
    quantity = r.decimal_of(quantity, f"{sales}.Qty")
    price = r.decimal_of(price, f"{sales}.UnitPrice")
    if quantity and price:
        try:
            # Absurd exponents (1E-999999) overflow the product: then they cannot agree.
            product = round_money(EXACT.multiply(quantity, price), currency)
        except ArithmeticError:
            return values
        values.update(quantity=quantity, unit_price=price, product=product)
    return values


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
