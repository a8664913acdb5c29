"""The demo's purchase-order (seed 004) and reconciliation (seed 003) steps.

The rules are
the same: every number comes from an emulator, a missing workflow module is a skip
with its name, a limitation of an ERP is said as such.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
from decimal import Decimal
from typing import TYPE_CHECKING

from erpsync.errors import UnsupportedOperationError
from erpsync.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Ref,
)

if TYPE_CHECKING:
    from erpsync._cli.demo.context import DemoContext

__all__ = ["step_purchasing", "step_reconcile"]


def _skip_unless(module: str) -> None:
    from erpsync._cli.demo.context import Skip

    if importlib.util.find_spec(module) is None:
        raise Skip(f"{module} is not part of this build")


def _quickbooks_order(ctx: DemoContext) -> None:
    """QuickBooks' sample company has no purchase orders: make one to mirror."""
    vendor = next(v for v in ctx.backend.iter_vendors() if v.id is not None)
    item = next(i for i in ctx.backend.iter_items() if i.id is not None)
    assert vendor.id is not None
    assert item.id is not None
    ctx.backend.create_purchase_order(
        PurchaseOrder(
            external_id="demo-po-1",
            vendor=Ref(id=vendor.id, name=vendor.name),
            date=_dt.date(2026, 11, 3),
            status=PurchaseOrderStatus.OPEN,
            lines=[
                PurchaseOrderLine(
                    item=Ref(id=item.id, name=item.name),
                    description="Bar stock, 6061 aluminium",
                    quantity=Decimal(10),
                    rate=Decimal("12.50"),
                )
            ],
        )
    )


def step_purchasing(ctx: DemoContext) -> str:
    _skip_unless("erpsync.sync.purchasing")
    _skip_unless("erpsync.sync.sinks")
    from erpsync.mapping.status import NETSUITE_PO_TO_ION, QUICKBOOKS_PO_TO_ION
    from erpsync.sync.purchasing import PurchaseOrderSync
    from erpsync.sync.sinks import MemoryPurchasingSink

    if ctx.erp == "QuickBooks":
        _quickbooks_order(ctx)
    items = [i.id for i in ctx.backend.iter_items() if i.id is not None]
    # The local system knows all parts but the last, to show the "part missing" warning.
    sink = MemoryPurchasingSink(parts=items[:-1])
    table = QUICKBOOKS_PO_TO_ION if ctx.erp == "QuickBooks" else NETSUITE_PO_TO_ION
    flow = PurchaseOrderSync(ctx.backend, sink, table, store=ctx.store)
    report = flow.run()
    ctx.out.table(
        f"{ctx.erp}: purchase orders mirrored into the local system (run {report.run_id})",
        ["order", "action", "local status", "supplier created", "warnings"],
        [
            [
                o.number or o.purchase_order_id,
                o.action,
                o.status or "",
                o.supplier_created,
                "; ".join(o.warnings),
            ]
            for o in report.outcomes
        ],
    )
    for note in report.notes:
        ctx.out.line(f"Note: {note}")
    receivable = [
        (order, line)
        for order in sink.orders.values()
        for line in order.lines
        if line.receivable and line.quantity > line.quantity_received
    ]
    if not receivable:
        return f"{len(report.outcomes)} orders mirrored; no open line to receive"
    order, line = receivable[0]
    record_id = str(order.attributes.get(flow.attributes.record_id) or order.key)
    line_id = str(line.attributes.get(flow.attributes.line_id) or line.key)
    try:
        receipt = flow.receive(record_id, {line_id: Decimal(1)}, receipt_key="ion-receipt-1")
        again = flow.receive(record_id, {line_id: Decimal(1)}, receipt_key="ion-receipt-1")
    except UnsupportedOperationError as exc:
        ctx.out.line(f"Receiving: {exc}")
        return (
            f"{len(report.outcomes)} orders mirrored; receiving not possible "
            f"({ctx.erp} Online has no item receipts)"
        )
    received = receipt.receipt.id if receipt.receipt is not None else None
    ctx.out.line(
        f"Received 1 unit of line {line_id} of order {order.number or record_id}: item receipt "
        f"{received} created; the same receipt saved again -> repeated={again.repeated}"
    )
    return f"{len(report.outcomes)} orders mirrored, item receipt {received} created"


def step_reconcile(ctx: DemoContext) -> str:
    _skip_unless("erpsync.sync.reconcile")
    from erpsync._cli.demo.context import Skip
    from erpsync.sync.reconcile import reconcile

    local: list[Invoice | Payment] = list(ctx.local_documents)
    if not local:
        raise Skip("needs the local documents of the accounting sync step, which did not run")
    report = reconcile(local, ctx.backend, ours=lambda key: key.startswith("AR"))
    path = ctx.out_dir / f"{ctx.slug}-reconciliation.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        report.to_csv(handle)
    ctx.files.append(path)
    ctx.out.line(report.to_text().rstrip())
    return (
        f"{report.matched} matched, {len(report.discrepancies)} discrepancies "
        f"({', '.join(f'{k} {v}' for k, v in report.counts().items()) or 'none'})"
    )


def paid_copy(invoice: Invoice) -> Invoice:
    """The local system's view of an invoice after it recorded the payment."""
    return invoice.model_copy(update={"status": InvoiceStatus.PAID, "balance": Decimal(0)})
