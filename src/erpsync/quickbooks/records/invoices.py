"""QuickBooks invoices <-> models: sales, discount and description lines; status from
``Balance`` / ``TotalAmt``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from erpsync.errors import InvalidRequestError
from erpsync.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Ref,
    round_money,
)
from erpsync.quickbooks.errors import BACKEND
from erpsync.quickbooks.records.notes import external_id_in, without_marker
from erpsync.quickbooks.values import (
    WireReader,
    is_mapping,
    line_locator,
    money_places,
    put,
    read_decimal,
    read_ref,
    ref_to_wire,
)
from erpsync.quickbooks.wire import DOC_NUMBER_MAX, PRIVATE_NOTE_MAX

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
        if not is_mapping(line):
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
            detail = detail if is_mapping(detail) else {}
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
