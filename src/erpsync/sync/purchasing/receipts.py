"""Item receipts: goods received locally, sent to the ERP exactly once.

A receipt's external id is derived from the purchase order id and the caller's
``receipt_key`` (ION's receipt id, say), or, without a key, from the order, the lines
and the date; the ledger remembers which receipts were written, and the backend looks
the external id up before it writes. Receiving more than is still open is refused
locally, naming every offending line, before anything is sent. After an attempt whose
outcome is unknown (a lost response) that local check is skipped, because the earlier
receipt may already be counted in the order's received quantities: the backend's
external-id lookup decides, and the ERP still refuses a genuine over-receipt.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from erpsync.errors import (
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    UnsupportedOperationError,
)
from erpsync.models import ItemReceipt, ItemReceiptLine, PurchaseOrder
from erpsync.store import content_hash
from erpsync.sync.ledger import Ledger
from erpsync.sync.purchasing.attributes import AttributeMapping, truthy
from erpsync.sync.purchasing.context import RECEIPT, Context
from erpsync.sync.purchasing.reports import LocalReceiptLine, ReceiptResult, SkippedLine

__all__ = ["ReceiptLines", "receive"]

_log = logging.getLogger(__name__)

ReceiptLines = Mapping[str, Decimal | int | str] | Iterable[ItemReceiptLine | LocalReceiptLine]
#: (line id, quantity, flagged non-receivable locally)
_Requested = list[tuple[str, Decimal, bool]]


def receive(
    ctx: Context,
    purchase_order_id: str,
    lines: ReceiptLines,
    receipt_key: str | None,
    day: date | None,
) -> ReceiptResult:
    """:meth:`PurchaseOrderSync.receive` (its docstring says what it promises)."""
    _check_call(ctx, purchase_order_id, receipt_key)
    requested = requested_lines(lines, ctx.attributes)
    day = day if day is not None else ctx.now().date()
    order = ctx.backend.get_purchase_order(purchase_order_id)
    label = f"purchase order {order.number or purchase_order_id}"
    accepted, skipped = _select_lines(ctx, order, label, requested)
    if not accepted:
        _log.warning("%s: nothing to receive (every line skipped as non-receivable)", label)
        return ReceiptResult(None, tuple(skipped))
    external_id = receipt_external_id(purchase_order_id, accepted, receipt_key, day)
    lines_hash = content_hash(
        [[line_id, str(quantity.normalize())] for line_id, quantity in sorted(accepted.items())]
    )
    receipt = _receipt(purchase_order_id, day, accepted, external_id)
    ledger = Ledger(
        ctx.store,
        ctx.scope,
        tenant=ctx.tenant,
        owner=ctx.owner,
        lease_seconds=ctx.lease_seconds,
        identify=lambda written: (written.id or external_id, None),
    )
    outcome = ledger.write(
        RECEIPT,
        external_id,
        # The backend looks the external id up itself before every transform.
        find=lambda: None,
        create=lambda: ctx.backend.receive_purchase_order(receipt),
        content_hash=lines_hash,
        # Only while no earlier attempt can have reached the ERP: once one may have,
        # its receipt may already be counted in the received quantities.
        precheck=lambda: _check_open(order, label, accepted),
    )
    if outcome.record is None:
        return _repeat(ctx, receipt, lines_hash, skipped, receipt_key)
    _log.info("%s: item receipt %s created (%s)", label, outcome.remote_id, external_id)
    return ReceiptResult(outcome.record, tuple(skipped), external_id=external_id)


def _check_call(ctx: Context, purchase_order_id: str, receipt_key: str | None) -> None:
    if not ctx.backend.capabilities.item_receipts:
        raise UnsupportedOperationError(
            f"{ctx.backend.name} has no item receipts, so goods received cannot be sent back to it",
            backend=ctx.backend.name,
            record=f"purchase order {purchase_order_id}",
            code="item_receipts",
            hint="QuickBooks Online records receiving through a Bill against the purchase "
            "order; check backend.capabilities.item_receipts before calling receive",
        )
    if not isinstance(purchase_order_id, str) or not purchase_order_id.strip():
        raise ConfigurationError("purchase_order_id must be the ERP's purchase order id")
    if receipt_key is not None and (not isinstance(receipt_key, str) or not receipt_key):
        raise ConfigurationError("receipt_key must be a non-empty string when given")


def requested_lines(lines: ReceiptLines, attributes: AttributeMapping) -> _Requested:
    """(line id, quantity, flagged non-receivable locally) for every requested line."""
    out: _Requested = []
    if isinstance(lines, Mapping):
        for raw_id, quantity in lines.items():
            line_id = str(raw_id).strip()
            out.append((line_id, quantity_of(quantity, f"lines[{line_id}]"), False))
    elif isinstance(lines, Iterable) and not isinstance(lines, str | bytes):
        out.extend(_one_line(index, line, attributes) for index, line in enumerate(lines))
    else:
        raise ConfigurationError(
            f"lines must be a mapping or an iterable of lines, not {type(lines).__name__}"
        )
    if not out:
        raise InvalidRequestError("a receipt needs at least one line", field="lines")
    seen: set[str] = set()
    for line_id, _, _ in out:
        if line_id in seen:
            raise InvalidRequestError(f"line {line_id} is listed twice", field="lines")
        seen.add(line_id)
    return out


def _one_line(index: int, line: object, attributes: AttributeMapping) -> tuple[str, Decimal, bool]:
    if isinstance(line, ItemReceiptLine):
        return line.line_id, line.quantity, False
    if not isinstance(line, LocalReceiptLine):
        raise ConfigurationError(
            "receipt lines are a {line id: quantity} mapping, ItemReceiptLine or "
            f"LocalReceiptLine values, not {type(line).__name__}"
        )
    raw_id = line.attributes.get(attributes.line_id)
    if raw_id is None or isinstance(raw_id, bool) or not str(raw_id).strip():
        raise InvalidRequestError(
            f"receipt line {index + 1} has no {attributes.line_id!r} "
            "attribute, so it cannot be matched to an ERP line",
            field=f"lines[{index}].attributes.{attributes.line_id}",
        )
    line_id = str(raw_id).strip()
    flagged = truthy(line.attributes.get(attributes.non_receivable))
    return line_id, quantity_of(line.quantity, f"lines[{line_id}]"), flagged


def quantity_of(value: object, where: str) -> Decimal:
    """A received quantity, exact and positive, or InvalidRequestError naming ``where``."""
    if isinstance(value, bool | float):
        raise InvalidRequestError(
            f"{where}: quantity {value!r} is not exact; pass a Decimal, an int or a str",
            field=where,
        )
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidRequestError(f"{where}: {value!r} is not a quantity", field=where) from None
    if not isinstance(value, int | str | Decimal) or not number.is_finite() or number <= 0:
        raise InvalidRequestError(
            f"{where}: a received quantity must be a positive number, not {value!r}", field=where
        )
    return number


def _select_lines(
    ctx: Context, order: PurchaseOrder, label: str, requested: _Requested
) -> tuple[dict[str, Decimal], list[SkippedLine]]:
    by_id = {line.line_id: line for line in order.lines if line.line_id is not None}
    unknown = [line_id for line_id, _, _ in requested if line_id not in by_id]
    if unknown:
        raise InvalidRequestError(
            f"{label} has no line {', '.join(unknown)}",
            record=label,
            field="lines",
            detail=f"its lines are {', '.join(by_id) or 'none'}",
        )
    accepted: dict[str, Decimal] = {}
    skipped: list[SkippedLine] = []
    for line_id, quantity, flagged in requested:
        if flagged:
            reason = f"the local line is marked {ctx.attributes.non_receivable!r}"
        elif not by_id[line_id].receivable:
            reason = f"{ctx.backend.name} does not receive this line (closed or not receivable)"
        else:
            accepted[line_id] = quantity
            continue
        skipped.append(SkippedLine(line_id, quantity, reason))
        _log.warning("%s line %s skipped: %s", label, line_id, reason)
    return accepted, skipped


def _check_open(order: PurchaseOrder, label: str, accepted: Mapping[str, Decimal]) -> None:
    problems = []
    for line in order.lines:
        if line.line_id is None or line.line_id not in accepted:
            continue
        wanted = accepted[line.line_id]
        open_quantity = max(line.quantity - line.quantity_received, Decimal(0))
        if wanted > open_quantity:
            problems.append(
                f"line {line.line_id}: {wanted} requested but only {open_quantity} open "
                f"(ordered {line.quantity}, received {line.quantity_received})"
            )
    if problems:
        raise InvalidRequestError(
            f"cannot receive more than is open on {label}",
            record=label,
            field="lines",
            detail="; ".join(problems),
            hint="nothing was sent to the ERP",
        )


def _receipt(
    order_id: str, day: date, accepted: Mapping[str, Decimal], external_id: str
) -> ItemReceipt:
    try:
        return ItemReceipt(
            purchase_order_id=order_id,
            date=day,
            lines=[ItemReceiptLine(line_id=k, quantity=v) for k, v in accepted.items()],
            external_id=external_id,
        )
    except ValidationError as exc:
        raise InvalidRequestError(
            f"the receipt is not valid: {exc.errors()[0].get('msg', exc)}", field="lines"
        ) from None


def _repeat(
    ctx: Context,
    receipt: ItemReceipt,
    lines_hash: str,
    skipped: list[SkippedLine],
    receipt_key: str | None,
) -> ReceiptResult:
    """The answer for a receipt an earlier call wrote (or is writing right now)."""
    external_id = receipt.external_id or ""
    entry = ctx.store.get(ctx.scope, RECEIPT, external_id, tenant=ctx.tenant)
    if entry is None or entry.state != "written" or entry.remote_id is None:
        raise ConflictError(
            "this receipt is being written by another process right now",
            record=f"item receipt {external_id}",
            hint="call receive again in a moment; it will not make a second receipt",
        )
    if entry.content_hash is not None and entry.content_hash != lines_hash:
        raise ConflictError(
            f"receipt_key {receipt_key!r} was already used for a receipt with other lines",
            record=f"item receipt {external_id}",
            hint="use a new receipt_key for a new receipt",
        )
    if receipt_key is None:
        _log.warning(
            "purchase order %s: an identical receipt was already recorded today (%s); "
            "pass receipt_key if this is a second delivery",
            receipt.purchase_order_id,
            entry.remote_id,
        )
    return ReceiptResult(
        receipt.model_copy(update={"id": entry.remote_id}),
        tuple(skipped),
        repeated=True,
        external_id=external_id,
    )


def receipt_external_id(
    order_id: str, accepted: Mapping[str, Decimal], receipt_key: str | None, day: date
) -> str:
    """A stable external id (NetSuite ``eid:``-safe) for one logical receipt."""
    material: list[Any]
    if receipt_key is not None:
        material = ["key", order_id, receipt_key]
    else:
        material = [
            "lines",
            order_id,
            day.isoformat(),
            [[k, str(v.normalize())] for k, v in sorted(accepted.items())],
        ]
    digest = hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()
    return f"erpsync-rcpt-{digest[:40]}"
