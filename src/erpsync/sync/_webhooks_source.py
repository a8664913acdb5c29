"""Source invoices of a billing platform, read into typed values (:class:`SourceInvoice`)
and turned into ERP invoices (:func:`invoice_from_source`).

Shared by the webhook path (:mod:`erpsync.sync.webhooks`) and the CSV export path
(:mod:`erpsync.sync.export`); kept apart from the webhook handler so that each module
holds one concern. Every public name is importable from :mod:`erpsync.sync.webhooks`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from erpsync.errors import InvalidRequestError, MappingError
from erpsync.mapping.fields import FieldMapping
from erpsync.models import Invoice, InvoiceLine, currency_exponent, encode_external_id

__all__ = ["SourceInvoice", "SourceLine", "event_body", "invoice_from_source", "text_of"]

_CENTS = re.compile(r"^\s*([A-Za-z]{3})\s*\(cents\)\s*$")
_DATE_KEYS = ("date", "issued_at", "invoice_date", "end_timestamp", "finalized_at")


# -- source documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLine:
    """One line of a source invoice; ``product`` is the product record (with its custom
    fields) or None when the line has none."""

    description: str | None
    amount: Decimal
    quantity: Decimal | None
    unit_price: Decimal | None
    product: Mapping[str, Any] | None
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class SourceInvoice:
    """A billing platform's invoice, read once into typed values.

    ``customer`` is the customer record :class:`FieldMapping` reads the ERP customer id
    from; ``total`` is the invoice's stated total (the sum of the lines when absent).
    """

    id: str
    customer: Mapping[str, Any]
    date: date
    currency: str
    lines: tuple[SourceLine, ...]
    total: Decimal
    memo: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        products: Mapping[str, Mapping[str, Any]] | None = None,
        customers: Mapping[str, Mapping[str, Any]] | None = None,
        minor_units: bool = False,
    ) -> SourceInvoice:
        """Read an invoice mapping (platform JSON, or an export row joined with lines).

        Keys read: ``id``; the customer as ``customer`` (a record) or ``customer_id``
        (looked up in ``customers``, else the invoice's own fields, where an export
        query puts the extracted custom fields); the date from the first of ``date``,
        ``issued_at``, ``invoice_date``, ``end_timestamp``, ``finalized_at``;
        ``currency`` or ``credit_type.name`` (``"USD (cents)"`` means amounts in cents);
        ``total``; ``memo``; lines from ``line_items`` (or ``lines``), each with
        ``description`` or ``name``, ``amount`` or ``total``, ``quantity``,
        ``unit_price``, and ``product`` (a record) or ``product_id`` (looked up in
        ``products``). ``minor_units`` says amounts are in the currency's minor unit.
        Anything missing or malformed raises :class:`MappingError` naming the invoice.
        """
        if not isinstance(data, Mapping):
            raise MappingError(f"a source invoice must be a mapping, not {type(data).__name__}")
        invoice_id = text_of(data.get("id"))
        if invoice_id is None:
            raise MappingError("the source invoice has no id")
        where = f"source invoice {invoice_id!r}"
        currency, cents = _currency(data, where)
        scale = Decimal(10) ** currency_exponent(currency) if (minor_units or cents) else None
        raw_lines = data.get("line_items", data.get("lines"))
        if not isinstance(raw_lines, list | tuple):
            raise MappingError("the source invoice has no line_items list", record=where)
        lines = tuple(
            _line(line, index, products or {}, scale, where) for index, line in enumerate(raw_lines)
        )
        stated = data.get("total")
        total = (
            _decimal(stated, "total", where, scale)
            if stated is not None
            else sum((line.amount for line in lines), Decimal(0))
        )
        return cls(
            id=invoice_id,
            customer=_customer(data, customers or {}, where),
            date=_date(data, where),
            currency=currency,
            lines=lines,
            total=total,
            memo=text_of(data.get("memo")),
            raw=data,
        )


def invoice_from_source(
    source: SourceInvoice,
    mapping: FieldMapping,
    *,
    external_id_prefix: str = "",
) -> Invoice | None:
    """The ERP invoice for a source invoice, or None when nothing is billable (a zero
    total, or only zero lines).

    Zero-amount lines are dropped (the seed's "non-zero line items"); each remaining
    line's item comes from its product's custom field, the customer from the customer's.
    The external id is ``encode_external_id(external_id_prefix + source.id)``.
    """
    where = f"source invoice {source.id!r}"
    if source.total == 0:
        return None
    customer = mapping.customer_ref(source.customer)
    lines: list[InvoiceLine] = []
    for index, line in enumerate(source.lines):
        if line.amount == 0:
            continue
        if line.product is None:
            raise MappingError(
                f"line {index} has no product, so no ERP item", record=where, field="line_items"
            )
        item = mapping.item_ref(line.product, line.raw)
        try:
            lines.append(
                InvoiceLine(
                    description=line.description,
                    amount=line.amount,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    item=item,
                )
            )
        except ValidationError as exc:
            raise MappingError(
                f"line {index} is not a valid invoice line: {exc}", record=where
            ) from None
    if not lines:
        return None
    try:
        return Invoice(
            external_id=encode_external_id(external_id_prefix + source.id),
            customer=customer,
            date=source.date,
            currency=source.currency,
            lines=lines,
            memo=source.memo,
        )
    except ValidationError as exc:
        raise MappingError(f"not a valid invoice: {exc}", record=where) from None


# -- reading helpers (also used by the webhook handler) -------------------------------


def event_body(event: Mapping[str, Any] | bytes | str) -> Mapping[str, Any]:
    if isinstance(event, bytes | str):
        try:
            data = json.loads(event)
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequestError(
                "the webhook body is not JSON", raw=event[:500] if isinstance(event, str) else None
            ) from None
    else:
        data = event
    if not isinstance(data, Mapping):
        raise InvalidRequestError("the webhook body is not a JSON object")
    return data


def text_of(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _decimal(value: object, name: str, where: str, scale: Decimal | None) -> Decimal:
    number: Decimal | None = None
    if isinstance(value, float):
        number = Decimal(repr(value))  # JSON numbers: the shortest repr is what was sent
    elif isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        raise MappingError(f"{name} is not a number: {value!r}", record=where, field=name)
    return number / scale if scale is not None else number


def _currency(data: Mapping[str, Any], where: str) -> tuple[str, bool]:
    given = text_of(data.get("currency"))
    if given is not None:
        return given.upper(), False
    credit = data.get("credit_type")
    name = text_of(credit.get("name")) if isinstance(credit, Mapping) else None
    if name is not None:
        cents = _CENTS.match(name)
        if cents:
            return cents.group(1).upper(), True
        if re.fullmatch(r"[A-Za-z]{3}", name):
            return name.upper(), False
        raise MappingError(
            f"credit type {name!r} is not a currency", record=where, field="credit_type"
        )
    return "USD", False


def _date(data: Mapping[str, Any], where: str) -> date:
    for key in _DATE_KEYS:
        value = data.get(key)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str) and value.strip():
            text = value.strip().replace("Z", "+00:00")
            try:
                return (
                    datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)
                )
            except ValueError:
                raise MappingError(
                    f"{key} is not an ISO date: {value!r}", record=where, field=key
                ) from None
    raise MappingError(f"the invoice has no date (one of {', '.join(_DATE_KEYS)})", record=where)


def _customer(
    data: Mapping[str, Any], customers: Mapping[str, Mapping[str, Any]], where: str
) -> Mapping[str, Any]:
    record = data.get("customer")
    if isinstance(record, Mapping):
        return record
    customer_id = text_of(data.get("customer_id"))
    if customer_id is not None and customer_id in customers:
        return customers[customer_id]
    if customer_id is None:
        raise MappingError("the invoice has no customer or customer_id", record=where)
    # An export row: the query extracted the customer's custom fields onto the invoice.
    flat = {k: v for k, v in data.items() if k not in ("line_items", "lines", "customer")}
    return {**flat, "id": customer_id, "name": data.get("customer_name")}


def _line(
    line: object,
    index: int,
    products: Mapping[str, Mapping[str, Any]],
    scale: Decimal | None,
    where: str,
) -> SourceLine:
    at = f"{where} line {index}"
    if not isinstance(line, Mapping):
        raise MappingError(f"line {index} is not an object", record=where)
    amount_raw = line.get("amount", line.get("total"))
    if amount_raw is None:
        raise MappingError("the line has no amount or total", record=at)
    amount = _decimal(amount_raw, "amount", at, scale)
    quantity = (
        _decimal(line["quantity"], "quantity", at, None)
        if line.get("quantity") is not None
        else None
    )
    price = line.get("unit_price")
    unit_price = _decimal(price, "unit_price", at, scale) if price is not None else None
    product = line.get("product")
    if not isinstance(product, Mapping):
        product_id = text_of(line.get("product_id"))
        product = products.get(product_id) if product_id is not None else None
        if product is None and product_id is not None:
            raise MappingError(f"product {product_id!r} is not among the products given", record=at)
    description = text_of(line.get("description")) or text_of(line.get("name"))
    return SourceLine(description, amount, quantity, unit_price, product, line)
