"""QuickBooks purchase orders <-> models: ``POStatus`` Open/Closed, item-based expense lines."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from erpsync.errors import InvalidRequestError
from erpsync.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from erpsync.quickbooks.errors import BACKEND
from erpsync.quickbooks.records.notes import external_id_in, without_marker
from erpsync.quickbooks.values import (
    WireReader,
    line_locator,
    money_places,
    put,
    read_decimal,
    read_ref,
    ref_to_wire,
)
from erpsync.quickbooks.wire import DOC_NUMBER_MAX

_PO_STATUS = {"open": PurchaseOrderStatus.OPEN, "closed": PurchaseOrderStatus.CLOSED}


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
