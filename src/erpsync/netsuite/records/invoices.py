"""NetSuite invoices <-> models: REST records (``expandSubResources``) and SuiteQL
``transaction`` / ``transactionline`` rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erpsync.errors import InvalidRequestError
from erpsync.models import Invoice, InvoiceLine, InvoiceStatus, round_money
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.records.statuses import invoice_status
from erpsync.netsuite.values import (
    EXACT,
    WireReader,
    currency_code,
    currency_ref,
    is_mapping,
    json_number,
    put,
    status_parts,
    usable_external_id,
)

# -- invoices ----------------------------------------------------------------------------


def invoice_to_wire(
    invoice: Invoice,
    *,
    external_id: str,
    currency_ids: Mapping[str, str] | None = None,
    default_item_id: str | None = None,
) -> dict[str, Any]:
    """The ``invoice`` body for an upsert by ``external_id``.

    NetSuite needs an item on every line; a line without one uses ``default_item_id``
    or is refused here, before a round trip, naming the line.
    """
    record = f"invoice {external_id}"
    body: dict[str, Any] = {
        "entity": {"id": invoice.customer.id},
        "tranDate": invoice.date.isoformat(),
        "externalId": external_id,
    }
    put(body, "dueDate", invoice.due_date.isoformat() if invoice.due_date else None)
    put(body, "tranId", invoice.number)
    put(body, "memo", invoice.memo)
    put(body, "currency", currency_ref(invoice.currency, currency_ids, record))
    lines = []
    for index, line in enumerate(invoice.lines):
        item_id = line.item.id if line.item is not None else default_item_id
        if item_id is None:
            raise InvalidRequestError(
                "NetSuite needs an item on every invoice line; give the line an item or "
                "configure the backend's default_item_id",
                backend=BACKEND,
                record=record,
                field=f"lines.{index}.item",
            )
        wire: dict[str, Any] = {"item": {"id": item_id}}
        assert line.amount is not None  # InvoiceLine always has one after validation
        if line.quantity is not None:
            wire["quantity"] = json_number(line.quantity, f"lines.{index}.quantity", record)
        if line.unit_price is not None:
            wire["rate"] = json_number(line.unit_price, f"lines.{index}.unit_price", record)
        wire["amount"] = json_number(line.amount, f"lines.{index}.amount", record)
        put(wire, "description", line.description)
        if line.tax_code is not None:
            wire["taxCode"] = {"id": line.tax_code.id}
        lines.append(wire)
    body["item"] = {"items": lines}
    return body


def _sales_line(reader: WireReader, currency: str, *, rest: bool) -> dict[str, Any]:
    """An invoice line's values (the line's model is built with the invoice's, in one
    pass: :func:`_invoice`)."""
    quantity = reader.decimal("quantity")
    rate = reader.decimal("rate")
    amount = reader.money("amount" if rest else "foreignamount", currency)
    description = reader.text("description" if rest else "memo")
    item = reader.any_ref_values("item")
    if amount is None:
        if quantity is None or rate is None:
            reader.fail("amount", "is missing (and so is quantity or rate)")
        amount = round_money(EXACT.multiply(quantity, rate), currency)
    elif (
        quantity is not None
        and rate is not None
        and round_money(EXACT.multiply(quantity, rate), currency) != amount
    ):
        # An amount typed over the computed one: the amount is the truth, the rate is not.
        rate = None
    return {
        "description": description,
        "amount": amount,
        "quantity": quantity if rate is not None and quantity is not None else None,
        "unit_price": rate if quantity is not None else None,
        "item": item,
    }


def invoice_from_wire(data: Any, currencies: Mapping[str, str]) -> Invoice:
    """An invoice from ``GET invoice/{id}?expandSubResources=true``."""
    reader = WireReader(data, f"invoice {data.get('id') if is_mapping(data) else '?'}")
    currency_value = reader.data.get("currency")
    ref_name = currency_value.get("refName") if is_mapping(currency_value) else None
    currency = currency_code(
        currencies,
        reader.ref_id("currency"),
        reader,
        "currency",
        ref_name if isinstance(ref_name, str) else None,
    )
    lines = []
    for i, raw in enumerate(reader.sublist("item")):
        line_reader = WireReader(raw, f"{reader.record} line {i + 1}")
        lines.append((line_reader, _sales_line(line_reader, currency, rest=True)))
    if not lines:
        reader.fail("item", "has no lines (was it read with expandSubResources=true?)")
    total = reader.money("total", currency)
    balance = reader.money("amountRemaining", currency)
    code, label = status_parts(reader, "status")
    status, remote = invoice_status(code, label, balance, total)
    return _invoice(
        reader,
        lines,
        currency,
        total=total,
        balance=balance,
        status=status,
        remote=remote,
        customer=reader.ref_values_of("entity", required=True),
        number=reader.text("tranId"),
        external_id=usable_external_id(reader.text("externalId")),
        tran_date=reader.required_date("tranDate"),
        due_date=reader.date("dueDate"),
        memo=reader.text("memo"),
        updated_at=reader.timestamp("lastModifiedDate"),
    )


def line_from_row(row: Any, currency: str) -> InvoiceLine:
    """An invoice line from a SuiteQL ``transactionline`` row. An invoice's item lines
    are credits there, so ``quantity`` and ``foreignamount`` are negative: negated back."""
    reader, values = _line_of_row(row, currency)
    return reader.build(InvoiceLine, **values)


def _line_of_row(row: Any, currency: str) -> tuple[WireReader, dict[str, Any]]:
    """:func:`line_from_row`'s reader and values (the invoice validates them in one pass)."""
    if is_mapping(row):
        row = {**row, **{k: _negated(row[k]) for k in ("quantity", "foreignamount") if k in row}}
    reader = WireReader(row, f"invoice {row.get('transaction') if is_mapping(row) else '?'} line")
    return reader, _sales_line(reader, currency, rest=False)


def _negated(value: Any) -> Any:
    """A SuiteQL number (a string) with its sign flipped; anything else as it is, for the
    reader to refuse with the record and field named."""
    if not isinstance(value, str) or not value.strip():
        return value
    text = value.strip()
    return text[1:] if text.startswith("-") else f"-{text}"


def invoice_from_row(row: Any, line_rows: Iterable[Any], currencies: Mapping[str, str]) -> Invoice:
    """An invoice from a SuiteQL ``transaction`` row and its ``transactionline`` rows
    (see ``backend._INVOICE_COLUMNS``)."""
    reader = WireReader(row, f"invoice {row.get('id') if is_mapping(row) else '?'}")
    currency = currency_code(currencies, reader.text("currency"), reader, "currency")
    lines = [_line_of_row(line, currency) for line in line_rows]
    if not lines:
        reader.fail("item", "has no lines")
    total = reader.money("foreigntotal", currency)
    balance = reader.money("foreignamountremaining", currency)
    code, label = status_parts(reader, "status", "statuslabel")
    status, remote = invoice_status(code, label, balance, total)
    entity = reader.required_text("entity")
    return _invoice(
        reader,
        lines,
        currency,
        total=total,
        balance=balance,
        status=status,
        remote=remote,
        customer=reader.ref_values(entity, reader.text("entityname"), "entity"),
        number=reader.text("tranid"),
        external_id=usable_external_id(reader.text("externalid")),
        tran_date=reader.required_date("trandate"),
        due_date=reader.date("duedate"),
        memo=reader.text("memo"),
        updated_at=reader.timestamp("lastmodified"),
    )


def _invoice(
    reader: WireReader,
    lines: list[tuple[WireReader, dict[str, Any]]],
    currency: str,
    *,
    total: Decimal | None,
    balance: Decimal | None,
    status: InvoiceStatus,
    remote: str | None,
    customer: dict[str, str | None] | None,
    number: str | None,
    external_id: str | None,
    tran_date: date,
    due_date: date | None,
    memo: str | None,
    updated_at: datetime | None,
) -> Invoice:
    """The invoice from its values and its lines' (each with the reader of its line),
    validated in one pass; line by line only when that fails, to name the line."""
    line_sum = functools.reduce(EXACT.add, (values["amount"] for _, values in lines), _ZERO)
    tax = EXACT.subtract(total, line_sum) if total is not None and total > line_sum else _ZERO
    values: dict[str, Any] = {
        "id": reader.text("id"),
        "external_id": external_id,
        "number": number,
        "customer": customer,
        "date": tran_date,
        "due_date": due_date,
        "currency": currency,
        "lines": [line for _, line in lines],
        "memo": memo,
        "status": status,
        "remote_status": remote,
        "tax": tax,
        "balance": balance,
        "updated_at": updated_at,
    }

    def by_lines() -> Invoice:
        models = [line_reader.build(InvoiceLine, **line) for line_reader, line in lines]
        return reader.build(Invoice, **{**values, "lines": models})

    return reader.build_once(Invoice, values, by_lines)


_ZERO = Decimal(0)
