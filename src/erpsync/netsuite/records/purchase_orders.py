"""NetSuite purchase orders and item receipts <-> models (NetSuite owns PO statuses; a
receipt is a transform of its order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from erpsync.models import (
    ItemReceipt,
    ItemReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    round_money,
)
from erpsync.netsuite.records.statuses import po_status
from erpsync.netsuite.values import (
    EXACT,
    WireReader,
    currency_code,
    currency_ref,
    json_number,
    put,
    status_parts,
    usable_external_id,
)

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
            and round_money(EXACT.multiply(quantity, rate), currency) != amount
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
