"""NetSuite records: wire records <-> erpsync models, as pure functions (no I/O, no clock).

Two shapes come off the wire and both are read here:

* REST records (``GET /record/v1/invoice/1?expandSubResources=true``): camelCase fields,
  references as ``{"id": "614", "refName": "Acme"}``, numbers as JSON numbers, dates
  ``2026-11-01``, timestamps ``2026-11-03T10:15:00Z``, sublists as ``{"items": [...]}``;
* SuiteQL rows: lower-case column names, EVERY value a string, NULL columns absent.
  The queries in :mod:`erpsync.netsuite.backend` format dates with ``TO_CHAR`` so that
  they do not depend on the account's display format.

Currencies are ISO codes in the models and internal ids on the wire, so readers take a
``currencies`` map (id -> ISO code, from the account's ``currency`` table) and writers
the reverse map.

A record that does not have the shape NetSuite documents (a missing entity, a date
that is not a date) raises :class:`~erpsync.errors.ServiceError` naming the record and
the field; never a ``KeyError`` or a pydantic ``ValidationError``.

This module keeps the per-record-type mappings only; turning wire values into Python
values and back, with errors naming record and field, is :mod:`erpsync.netsuite.values`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from erpsync.errors import InvalidRequestError
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
    round_money,
)
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.values import (
    WireReader,
    currency_code,
    currency_ref,
    json_number,
    put,
    status_parts,
    usable_external_id,
)

__all__ = [
    "INVOICE_STATUS_CODES",
    "ITEM_KINDS",
    "ITEM_RECORD_TYPES",
    "PO_STATUS_LABELS",
    "customer_from_row",
    "customer_from_wire",
    "customer_to_wire",
    "deleted_from_row",
    "invoice_from_row",
    "invoice_from_wire",
    "invoice_status",
    "invoice_to_wire",
    "item_from_row",
    "item_from_wire",
    "item_record_type",
    "item_to_wire",
    "line_from_row",
    "payment_from_row",
    "payment_from_wire",
    "payment_to_wire",
    "po_status",
    "purchase_order_from_row",
    "purchase_order_from_wire",
    "purchase_order_to_wire",
    "receipt_from_wire",
    "receipt_to_wire",
    "vendor_from_row",
    "vendor_from_wire",
    "vendor_to_wire",
]

#: Purchase order ``status`` letters (REST ``status.id`` and SuiteQL) and their labels.
PO_STATUS_LABELS: Final[Mapping[str, str]] = {
    "A": "Pending Supervisor Approval",
    "B": "Pending Receipt",
    "C": "Rejected by Supervisor",
    "D": "Partially Received",
    "E": "Pending Billing/Partially Received",
    "F": "Pending Bill",
    "G": "Fully Billed",
    "H": "Closed",
}
_PO_STATUS: Final[Mapping[str, PurchaseOrderStatus]] = {
    "A": PurchaseOrderStatus.PENDING_APPROVAL,
    "B": PurchaseOrderStatus.PENDING_RECEIPT,
    "C": PurchaseOrderStatus.REJECTED,
    "D": PurchaseOrderStatus.PARTIALLY_RECEIVED,
    "E": PurchaseOrderStatus.PENDING_BILLING_PARTIALLY_RECEIVED,
    "F": PurchaseOrderStatus.PENDING_BILL,
    "G": PurchaseOrderStatus.FULLY_BILLED,
    "H": PurchaseOrderStatus.CLOSED,
}

#: Invoice ``status`` letters as SuiteQL gives them (``CustInvc:A``...).
INVOICE_STATUS_CODES: Final[Mapping[str, str]] = {
    "A": "Open",
    "B": "Paid In Full",
    "D": "Pending Approval",
    "E": "Rejected",
    "V": "Voided",
}
_INVOICE_LABELS: Final[Mapping[str, InvoiceStatus]] = {
    "open": InvoiceStatus.OPEN,
    "paidinfull": InvoiceStatus.PAID,
    "pendingapproval": InvoiceStatus.DRAFT,
    "voided": InvoiceStatus.VOIDED,
    "void": InvoiceStatus.VOIDED,
}

#: NetSuite ``itemtype`` -> the model's ``kind``.
ITEM_KINDS: Final[Mapping[str, str]] = {
    "InvtPart": "inventory",
    "NonInvtPart": "non_inventory",
    "Service": "service",
    "OthCharge": "other_charge",
    "Kit": "kit",
    "Assembly": "assembly",
    "Discount": "discount",
    "Markup": "markup",
    "Payment": "payment",
    "Subtotal": "subtotal",
    "Description": "description",
    "GiftCert": "gift_certificate",
    "Group": "group",
}
#: The model's ``kind`` -> the REST record type a new item is created as.
ITEM_RECORD_TYPES: Final[Mapping[str, str]] = {
    "inventory": "inventoryItem",
    "non_inventory": "nonInventorySaleItem",
    "service": "serviceSaleItem",
    "other_charge": "otherChargeSaleItem",
}
_ITEM_LABEL_KINDS: Final[Mapping[str, str]] = {
    "inventoryitem": "inventory",
    "noninventoryitem": "non_inventory",
    "service": "service",
    "othercharge": "other_charge",
}

_NON_WORD = re.compile(r"[^a-z0-9]+")


def _norm(label: str) -> str:
    return _NON_WORD.sub("", label.lower())


# -- statuses ----------------------------------------------------------------------------


def invoice_status(
    code: str | None, label: str | None, balance: Decimal | None, total: Decimal | None
) -> tuple[InvoiceStatus, str | None]:
    """(status, remote status) of an invoice; open with a partial balance is
    ``PARTIALLY_PAID``. Unknown values give ``UNKNOWN`` and keep the raw text."""
    if code is not None and code.split(":")[-1].upper() in INVOICE_STATUS_CODES:
        label = label or INVOICE_STATUS_CODES[code.split(":")[-1].upper()]
    raw = label or code
    if raw is None:
        if balance is not None and total is not None:
            derived = InvoiceStatus.PAID if balance == 0 else InvoiceStatus.OPEN
            return _partial(derived, balance, total), None
        return InvoiceStatus.UNKNOWN, None
    known = _INVOICE_LABELS.get(_norm(raw))
    if known is None:
        return InvoiceStatus.UNKNOWN, raw
    return _partial(known, balance, total), raw


def _partial(
    status: InvoiceStatus, balance: Decimal | None, total: Decimal | None
) -> InvoiceStatus:
    if (
        status is InvoiceStatus.OPEN
        and balance is not None
        and total is not None
        and 0 < balance < total
    ):
        return InvoiceStatus.PARTIALLY_PAID
    return status


def po_status(code: str | None, label: str | None) -> tuple[PurchaseOrderStatus, str | None]:
    """(status, remote status label) of a purchase order from its letter and/or label."""
    letter = code.split(":")[-1].upper() if code else ""
    if letter in _PO_STATUS:
        return _PO_STATUS[letter], PO_STATUS_LABELS[letter]
    if label:
        for known, text in PO_STATUS_LABELS.items():
            if _norm(text) == _norm(label):
                return _PO_STATUS[known], text
    return PurchaseOrderStatus.UNKNOWN, label or code


# -- customers and vendors ---------------------------------------------------------------


def _party_to_wire(
    party: Customer | Vendor,
    kind: str,
    *,
    external_id: str | None,
    subsidiary_id: str | None,
    currency_ids: Mapping[str, str] | None,
) -> dict[str, Any]:
    record = f"{kind} {external_id or party.name}"
    body: dict[str, Any] = {"companyName": party.name}
    put(body, "email", party.email)
    put(body, "externalId", external_id)
    if subsidiary_id is not None:
        body["subsidiary"] = {"id": subsidiary_id}
    put(body, "currency", currency_ref(party.currency, currency_ids, record))
    return body


def customer_to_wire(
    customer: Customer,
    *,
    external_id: str | None = None,
    subsidiary_id: str | None = None,
    currency_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``customer`` body (a company: ``companyName`` is the display name)."""
    return _party_to_wire(
        customer,
        "customer",
        external_id=external_id or customer.external_id,
        subsidiary_id=subsidiary_id,
        currency_ids=currency_ids,
    )


def vendor_to_wire(
    vendor: Vendor,
    *,
    external_id: str | None = None,
    subsidiary_id: str | None = None,
    currency_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``vendor`` body."""
    return _party_to_wire(
        vendor,
        "vendor",
        external_id=external_id or vendor.external_id,
        subsidiary_id=subsidiary_id,
        currency_ids=currency_ids,
    )


def _display_name(reader: WireReader) -> str:
    for field in ("companyName", "companyname", "altName", "altname"):
        value = reader.text(field)
        if value:
            return value
    first = reader.text("firstName") or reader.text("firstname")
    last = reader.text("lastName") or reader.text("lastname")
    if first or last:
        return " ".join(p for p in (first, last) if p)
    value = reader.text("entityId") or reader.text("entityid")
    if value:
        return value
    reader.fail("companyName", "is missing (and so are the other name fields)")


def _party_from(
    factory: type[Customer] | type[Vendor],
    kind: str,
    data: Any,
    currencies: Mapping[str, str],
) -> Any:
    reader = WireReader(data, f"{kind} {data.get('id') if isinstance(data, Mapping) else '?'}")
    currency_id = reader.ref_id("currency")
    ref_name = None
    currency_value = reader.data.get("currency")
    if isinstance(currency_value, Mapping):
        name = currency_value.get("refName")
        ref_name = name if isinstance(name, str) else None
    return reader.build(
        factory,
        id=reader.required_text("id"),
        external_id=usable_external_id(reader.text("externalId") or reader.text("externalid")),
        name=_display_name(reader),
        email=reader.text("email"),
        currency=currency_code(currencies, currency_id, reader, "currency", ref_name),
        updated_at=reader.timestamp("lastModifiedDate") or reader.timestamp("lastmodified"),
    )


def customer_from_wire(data: Any, currencies: Mapping[str, str]) -> Customer:
    """A customer from its REST record."""
    customer: Customer = _party_from(Customer, "customer", data, currencies)
    return customer


def vendor_from_wire(data: Any, currencies: Mapping[str, str]) -> Vendor:
    """A vendor from its REST record."""
    vendor: Vendor = _party_from(Vendor, "vendor", data, currencies)
    return vendor


def customer_from_row(row: Any, currencies: Mapping[str, str]) -> Customer:
    """A customer from a SuiteQL row (see ``backend._PARTY_COLUMNS``)."""
    return customer_from_wire(row, currencies)


def vendor_from_row(row: Any, currencies: Mapping[str, str]) -> Vendor:
    """A vendor from a SuiteQL row."""
    return vendor_from_wire(row, currencies)


# -- items -------------------------------------------------------------------------------


def item_record_type(kind: str | None) -> str:
    """The REST record type to create an item of ``kind`` as (service by default)."""
    if kind is None:
        return "serviceSaleItem"
    record_type = ITEM_RECORD_TYPES.get(kind)
    if record_type is None:
        raise InvalidRequestError(
            f"cannot create an item of kind {kind!r} in NetSuite; use one of "
            f"{', '.join(sorted(ITEM_RECORD_TYPES))}",
            backend=BACKEND,
            field="kind",
        )
    return record_type


def item_to_wire(item: Item, *, external_id: str | None = None) -> dict[str, Any]:
    """An item body (``itemId`` is the unique name)."""
    body: dict[str, Any] = {"itemId": item.name, "displayName": item.name}
    put(body, "externalId", external_id or item.external_id)
    return body


def item_from_row(row: Any) -> Item:
    """An item from a SuiteQL ``item`` row (``itemtype`` a code such as ``Service``)."""
    reader = WireReader(row, f"item {row.get('id') if isinstance(row, Mapping) else '?'}")
    itemtype = reader.text("itemtype")
    return reader.build(
        Item,
        id=reader.required_text("id"),
        external_id=usable_external_id(reader.text("externalid")),
        name=reader.text("itemid") or reader.text("displayname") or reader.required_text("itemid"),
        kind=ITEM_KINDS.get(itemtype, itemtype.lower()) if itemtype else None,
        updated_at=reader.timestamp("lastmodified"),
    )


def item_from_wire(data: Any) -> Item:
    """An item from its REST record (``itemType`` is ``{"id": "Service", ...}``)."""
    reader = WireReader(data, f"item {data.get('id') if isinstance(data, Mapping) else '?'}")
    code, label = status_parts(reader, "itemType")
    kind = ITEM_KINDS.get(code or "") or (_ITEM_LABEL_KINDS.get(_norm(label)) if label else None)
    return reader.build(
        Item,
        id=reader.required_text("id"),
        external_id=usable_external_id(reader.text("externalId")),
        name=reader.text("itemId") or reader.required_text("displayName"),
        kind=kind or (code.lower() if code else None),
        updated_at=reader.timestamp("lastModifiedDate"),
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


def _sales_line(reader: WireReader, currency: str, *, rest: bool) -> InvoiceLine:
    quantity = reader.decimal("quantity")
    rate = reader.decimal("rate")
    amount = reader.money("amount" if rest else "foreignamount", currency)
    description = reader.text("description" if rest else "memo")
    item_id = reader.ref_id("item")
    item_name = None
    value = reader.data.get("item")
    if isinstance(value, Mapping) and isinstance(value.get("refName"), str):
        item_name = value["refName"]
    if amount is None:
        if quantity is None or rate is None:
            reader.fail("amount", "is missing (and so is quantity or rate)")
        amount = round_money(quantity * rate, currency)
    if (
        quantity is not None
        and rate is not None
        and round_money(quantity * rate, currency) != amount
    ):
        # An amount typed over the computed one: the amount is the truth, the rate is not.
        rate = None
    if rate is not None and quantity is None:
        rate = None
    return reader.build(
        InvoiceLine,
        description=description,
        amount=amount,
        quantity=quantity if rate is not None else None,
        unit_price=rate,
        item=Ref(id=item_id, name=item_name) if item_id else None,
    )


def invoice_from_wire(data: Any, currencies: Mapping[str, str]) -> Invoice:
    """An invoice from ``GET invoice/{id}?expandSubResources=true``."""
    reader = WireReader(data, f"invoice {data.get('id') if isinstance(data, Mapping) else '?'}")
    currency_value = reader.data.get("currency")
    ref_name = currency_value.get("refName") if isinstance(currency_value, Mapping) else None
    currency = currency_code(
        currencies,
        reader.ref_id("currency"),
        reader,
        "currency",
        ref_name if isinstance(ref_name, str) else None,
    )
    lines = [
        _sales_line(WireReader(raw, f"{reader.record} line {i + 1}"), currency, rest=True)
        for i, raw in enumerate(reader.sublist("item"))
    ]
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
        customer=reader.required_ref("entity"),
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
    if isinstance(row, Mapping):
        row = {**row, **{k: _negated(row[k]) for k in ("quantity", "foreignamount") if k in row}}
    reader = WireReader(
        row, f"invoice {row.get('transaction') if isinstance(row, Mapping) else '?'} line"
    )
    return _sales_line(reader, currency, rest=False)


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
    reader = WireReader(row, f"invoice {row.get('id') if isinstance(row, Mapping) else '?'}")
    currency = currency_code(currencies, reader.text("currency"), reader, "currency")
    lines = [line_from_row(line, currency) for line in line_rows]
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
        customer=Ref(id=entity, name=reader.text("entityname")),
        number=reader.text("tranid"),
        external_id=usable_external_id(reader.text("externalid")),
        tran_date=reader.required_date("trandate"),
        due_date=reader.date("duedate"),
        memo=reader.text("memo"),
        updated_at=reader.timestamp("lastmodified"),
    )


def _invoice(
    reader: WireReader,
    lines: list[InvoiceLine],
    currency: str,
    *,
    total: Decimal | None,
    balance: Decimal | None,
    status: InvoiceStatus,
    remote: str | None,
    customer: Ref,
    number: str | None,
    external_id: str | None,
    tran_date: date,
    due_date: date | None,
    memo: str | None,
    updated_at: datetime | None,
) -> Invoice:
    line_sum = sum((line.amount or Decimal(0) for line in lines), Decimal(0))
    tax = total - line_sum if total is not None and total > line_sum else Decimal(0)
    invoice: Invoice = reader.build(
        Invoice,
        id=reader.text("id"),
        external_id=external_id,
        number=number,
        customer=customer,
        date=tran_date,
        due_date=due_date,
        currency=currency,
        lines=lines,
        memo=memo,
        status=status,
        remote_status=remote,
        tax=tax,
        balance=balance,
        updated_at=updated_at,
    )
    return invoice


# -- payments ----------------------------------------------------------------------------


def payment_to_wire(
    payment: Payment, *, external_id: str, currency_ids: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A ``customerPayment`` body applied to the payment's invoices."""
    record = f"customerPayment {external_id}"
    body: dict[str, Any] = {
        "customer": {"id": payment.customer.id},
        "payment": json_number(payment.amount, "amount", record),
        "tranDate": payment.date.isoformat(),
        "externalId": external_id,
    }
    put(body, "memo", payment.memo)
    put(body, "currency", currency_ref(payment.currency, currency_ids, record))
    body["apply"] = {
        "items": [
            {
                "doc": {"id": app.invoice_id},
                "apply": True,
                "amount": json_number(app.amount, f"applications.{i}.amount", record),
            }
            for i, app in enumerate(payment.applications)
        ]
    }
    return body


def payment_from_wire(data: Any, currencies: Mapping[str, str]) -> Payment:
    """A payment from ``GET customerPayment/{id}?expandSubResources=true``."""
    label = data.get("id") if isinstance(data, Mapping) else "?"
    reader = WireReader(data, f"customerPayment {label}")
    currency = currency_code(currencies, reader.ref_id("currency"), reader, "currency")
    applications = []
    for index, raw in enumerate(reader.sublist("apply")):
        line = WireReader(raw, f"{reader.record} apply line {index + 1}")
        if line.flag("apply") is False:
            continue
        doc = line.ref_id("doc")
        amount = line.money("amount", currency)
        if doc is None or amount is None:
            line.fail("doc" if doc is None else "amount", "is missing")
        applications.append(line.build(PaymentApplication, invoice_id=doc, amount=amount))
    return _payment(
        reader,
        currency,
        applications,
        customer=reader.required_ref("customer"),
        amount=reader.money("payment", currency, required=True),
        tran_date=reader.required_date("tranDate"),
        external_id=usable_external_id(reader.text("externalId")),
        memo=reader.text("memo"),
        updated_at=reader.timestamp("lastModifiedDate"),
    )


def payment_from_row(row: Any, links: Iterable[Any], currencies: Mapping[str, str]) -> Payment:
    """A payment from a SuiteQL ``transaction`` row and its ``previoustransactionlinelink``
    rows (``previousdoc``, ``foreignamount``)."""
    reader = WireReader(
        row, f"customerPayment {row.get('id') if isinstance(row, Mapping) else '?'}"
    )
    currency = currency_code(currencies, reader.text("currency"), reader, "currency")
    applications = []
    for link in links:
        line = WireReader(link, f"{reader.record} application")
        amount = line.money("foreignamount", currency, required=True)
        assert amount is not None
        # The link's sign follows the accounting side it is read from; an application is
        # an amount applied, never negative.
        applications.append(
            line.build(
                PaymentApplication,
                invoice_id=line.required_text("previousdoc"),
                amount=abs(amount),
            )
        )
    return _payment(
        reader,
        currency,
        applications,
        customer=Ref(id=reader.required_text("entity"), name=reader.text("entityname")),
        amount=reader.money("foreigntotal", currency, required=True),
        tran_date=reader.required_date("trandate"),
        external_id=usable_external_id(reader.text("externalid")),
        memo=reader.text("memo"),
        updated_at=reader.timestamp("lastmodified"),
    )


def _payment(
    reader: WireReader,
    currency: str,
    applications: list[PaymentApplication],
    *,
    customer: Ref,
    amount: Decimal | None,
    tran_date: date,
    external_id: str | None,
    memo: str | None,
    updated_at: datetime | None,
) -> Payment:
    payment: Payment = reader.build(
        Payment,
        id=reader.text("id"),
        external_id=external_id,
        customer=customer,
        date=tran_date,
        amount=amount,
        currency=currency,
        applications=applications,
        memo=memo,
        updated_at=updated_at,
    )
    return payment


# -- purchase orders and receipts --------------------------------------------------------


def purchase_order_to_wire(
    order: PurchaseOrder,
    *,
    external_id: str | None = None,
    currency_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``purchaseOrder`` body (for tests and demos; NetSuite owns PO statuses)."""
    ext = external_id or order.external_id
    record = f"purchaseOrder {ext or order.number or 'new'}"
    body: dict[str, Any] = {"entity": {"id": order.vendor.id}, "tranDate": order.date.isoformat()}
    put(body, "externalId", ext)
    put(body, "tranId", order.number)
    put(body, "memo", order.memo)
    put(body, "currency", currency_ref(order.currency, currency_ids, record))
    lines = []
    for index, line in enumerate(order.lines):
        wire: dict[str, Any] = {
            "item": {"id": line.item.id},
            "quantity": json_number(line.quantity, f"lines.{index}.quantity", record),
        }
        if line.rate is not None:
            wire["rate"] = json_number(line.rate, f"lines.{index}.rate", record)
        elif line.amount is not None:
            wire["amount"] = json_number(line.amount, f"lines.{index}.amount", record)
        put(wire, "description", line.description)
        lines.append(wire)
    body["item"] = {"items": lines}
    return body


def purchase_order_from_wire(data: Any, currencies: Mapping[str, str]) -> PurchaseOrder:
    """A purchase order from ``GET purchaseOrder/{id}?expandSubResources=true``: status
    letter and label, lines with their line ids and received quantities."""
    reader = WireReader(
        data, f"purchaseOrder {data.get('id') if isinstance(data, Mapping) else '?'}"
    )
    currency = currency_code(currencies, reader.ref_id("currency"), reader, "currency")
    # REST: the letter is in orderStatus, status carries the label (as its id too).
    code, label = status_parts(reader, "orderStatus" if "orderStatus" in reader.data else "status")
    status, remote = po_status(code, label)
    lines = []
    for index, raw in enumerate(reader.sublist("item")):
        line = WireReader(raw, f"{reader.record} line {index + 1}")
        quantity = line.decimal("quantity", required=True)
        rate = line.decimal("rate")
        amount = line.money("amount", currency)
        if (
            rate is not None
            and amount is not None
            and quantity is not None
            and (round_money(quantity * rate, currency) != amount)
        ):
            rate = None
        closed = line.flag("isClosed")
        receivable = line.flag("itemReceive")
        lines.append(
            line.build(
                PurchaseOrderLine,
                line_id=line.required_text("line"),
                item=line.required_ref("item"),
                description=line.text("description"),
                quantity=quantity,
                quantity_received=line.decimal("quantityReceived") or Decimal(0),
                rate=rate,
                amount=amount,
                receivable=not closed and receivable is not False,
            )
        )
    order: PurchaseOrder = reader.build(
        PurchaseOrder,
        id=reader.required_text("id"),
        external_id=usable_external_id(reader.text("externalId")),
        number=reader.text("tranId"),
        vendor=reader.required_ref("entity"),
        date=reader.required_date("tranDate"),
        status=status,
        remote_status=remote,
        currency=currency,
        lines=lines,
        memo=reader.text("memo"),
        updated_at=reader.timestamp("lastModifiedDate"),
    )
    return order


def purchase_order_from_row(
    row: Any, line_rows: Iterable[Any], currencies: Mapping[str, str]
) -> PurchaseOrder:
    """A purchase order from a SuiteQL ``transaction`` row and its ``transactionline``
    rows (see ``backend._PO_COLUMNS``), through the REST shape so both share one set of
    rules."""
    reader = WireReader(row, f"purchaseOrder {row.get('id') if isinstance(row, Mapping) else '?'}")
    data = reader.data

    def ref(value: Any) -> dict[str, Any] | None:
        return None if value is None else {"id": value}

    lines = []
    for raw in line_rows:
        line = WireReader(raw, f"{reader.record} line")
        lines.append(
            {
                "line": line.data.get("line"),
                "item": ref(line.data.get("item")),
                "description": line.data.get("memo"),
                "quantity": line.data.get("quantity"),
                "rate": line.data.get("rate"),
                "amount": line.data.get("foreignamount"),
                "quantityReceived": line.data.get("quantityshiprecv"),
                "isClosed": line.data.get("isclosed"),
            }
        )
    wire = {
        "id": data.get("id"),
        "externalId": data.get("externalid"),
        "tranId": data.get("tranid"),
        "entity": ref(data.get("entity")),
        "tranDate": data.get("trandate"),
        "status": ref(data.get("status")),
        "currency": ref(data.get("currency")),
        "memo": data.get("memo"),
        "lastModifiedDate": data.get("lastmodified"),
        "item": {"items": lines},
    }
    return purchase_order_from_wire(wire, currencies)


def receipt_to_wire(
    receipt: ItemReceipt, *, external_id: str, other_lines: Iterable[str] = ()
) -> dict[str, Any]:
    """The body of ``POST purchaseOrder/{id}/!transform/itemReceipt``.

    The transform pre-fills every open line as received; ``other_lines`` (the order's
    other open lines) are sent with ``itemReceive: false`` so that only the receipt's
    lines are received whichever way NetSuite fills the rest.
    """
    record = f"itemReceipt {external_id}"
    items: list[dict[str, Any]] = [
        {
            "orderLine": int(line.line_id) if line.line_id.isdigit() else line.line_id,
            "quantity": json_number(line.quantity, f"lines.{i}.quantity", record),
            "itemReceive": True,
        }
        for i, line in enumerate(receipt.lines)
    ]
    mentioned = {line.line_id for line in receipt.lines}
    items.extend(
        {"orderLine": int(other) if other.isdigit() else other, "itemReceive": False}
        for other in other_lines
        if other not in mentioned
    )
    return {
        "externalId": external_id,
        "tranDate": receipt.date.isoformat(),
        "item": {"items": items},
    }


def receipt_from_wire(data: Any, purchase_order_id: str | None = None) -> ItemReceipt:
    """An item receipt from ``GET itemReceipt/{id}?expandSubResources=true``."""
    reader = WireReader(data, f"itemReceipt {data.get('id') if isinstance(data, Mapping) else '?'}")
    created_from = reader.ref_id("createdFrom") or purchase_order_id
    if created_from is None:
        reader.fail("createdFrom", "is missing")
    lines = []
    for index, raw in enumerate(reader.sublist("item")):
        line = WireReader(raw, f"{reader.record} line {index + 1}")
        if line.flag("itemReceive") is False:
            continue
        lines.append(
            line.build(
                ItemReceiptLine,
                line_id=line.required_text("orderLine"),
                quantity=line.decimal("quantity", required=True),
            )
        )
    receipt: ItemReceipt = reader.build(
        ItemReceipt,
        id=reader.required_text("id"),
        purchase_order_id=created_from,
        date=reader.required_date("tranDate"),
        lines=lines,
        external_id=usable_external_id(reader.text("externalId")),
    )
    return receipt


# -- deleted records ---------------------------------------------------------------------


def deleted_from_row(row: Any) -> DeletedRecord:
    """A ``DeletedRecord`` SuiteQL row (``deleted`` formatted with ``TO_CHAR``)."""
    reader = WireReader(row, "deletedrecord row")
    deleted_at = reader.timestamp("deleted")
    if deleted_at is None:
        reader.fail("deleted", "is missing")
    record: DeletedRecord = reader.build(
        DeletedRecord,
        record_type=reader.required_text("recordtypeid"),
        id=reader.required_text("recordid"),
        external_id=usable_external_id(reader.text("externalid")),
        deleted_at=deleted_at,
    )
    return record
