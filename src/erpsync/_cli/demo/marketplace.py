"""The demo's marketplace-invoicing step (seeds 000 / 001)."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

from erpsync._cli.demo.context import DemoContext, ids, require_module
from erpsync.errors import ConfigurationError
from erpsync.models import Ref


def step_marketplace(ctx: DemoContext) -> str:
    require_module("erpsync.sync.xometry")
    from erpsync.mapping.xometry import InvoicePolicy, XometryPayout
    from erpsync.sync.xometry import XometryInvoicing

    customers, items = ids(ctx)
    # Each ERP shows one of the two triggers the marketplace offers.
    trigger = "accepted" if ctx.erp == "QuickBooks" else "completed"
    policy = InvoicePolicy(trigger=trigger, customer=customers[0], item=items[0])
    flow = XometryInvoicing(ctx.backend, policy, ctx.store, wait_seconds=0)

    shipped = _dt.date(2026, 11, 13)
    events = [
        ("accepted", _job("J-1001", "1250.00", None)),
        ("accepted", _job("J-1002", "740.50", None)),
        ("accepted", _job("J-1003", "310.00", None)),
        ("completed", _job("J-1002", "740.50", shipped)),
        ("completed", _job("J-1003", "310.00", shipped)),
        ("completed", _job("J-1003", "310.00", shipped)),  # a repeated delivery
    ]
    rows: list[list[object]] = []
    for event, which in events:
        handler = flow.on_job_accepted if event == "accepted" else flow.on_job_completed
        result = handler(which)
        invoice = result.invoice
        rows.append(
            [
                which.job_id,
                event,
                result.status,
                result.invoice_id or "",
                result.number or "",
                invoice.date if invoice is not None else "",
                invoice.total if invoice is not None else "",
            ]
        )
    ctx.out.table(
        f"{ctx.erp}: job events (invoice trigger: job {trigger}; customer "
        f"{policy.customer.name}, item {policy.item.name if policy.item else '-'})",
        ["job", "event", "result", "invoice id", "number", "invoice date", "total"],
        rows,
    )

    older = [
        _job("J-0990", "95.00", _dt.date(2026, 10, 20)),
        _job("J-0991", "480.00", _dt.date(2026, 10, 24)),
    ]
    preview = flow.backfill(older, dry_run=True)
    done = flow.backfill(older)
    ctx.out.line(
        f"Backfill of jobs from before the integration: dry run {preview.counts}, "
        f"then {done.counts}"
    )

    payout = XometryPayout(
        payout_id="P-5001",
        date=_dt.date(2026, 11, 30),
        amount=Decimal("1050.50"),
        job_ids=("J-1002", "J-1003"),
    )
    paid = flow.on_payout(payout)
    ctx.out.line(
        f"Payout {payout.payout_id} ({payout.amount} USD): payment {paid.payment_id} "
        f"{paid.status}, linked to invoices {', '.join(paid.invoice_ids)}"
    )

    inhouse, pdf_text = _inhouse(ctx, flow, customers[1])
    ctx.out.line(
        f"In-house invoice for {customers[1].name}: number {inhouse.number or '(none)'}, "
        f"id {inhouse.invoice.id}; {pdf_text}"
    )
    created = sum(1 for r in rows if r[2] == "created") + len(done.created)
    return (
        f"{created} job invoices, payment {paid.payment_id} for 2 invoices, in-house invoice "
        f"{inhouse.number or inhouse.invoice.id}"
        + (" with its PDF" if inhouse.pdf else " (PDF unavailable)")
    )


def _job(job_id: str, price: str, shipped: _dt.date | None) -> Any:
    from erpsync.mapping.xometry import XometryJob

    return XometryJob(
        job_id=job_id,
        price=Decimal(price),
        accepted_date=_dt.date(2026, 11, 2),
        expected_ship_date=_dt.date(2026, 11, 16),
        ship_date=shipped,
        status="completed" if shipped else "accepted",
        description=f"Xometry Job {job_id}: machined aluminium housings",
    )


def _inhouse(ctx: DemoContext, flow: Any, customer: Ref) -> tuple[Any, str]:
    """An in-house invoice with its number and PDF (written to the output folder)."""
    inhouse = flow.create_inhouse_invoice(
        customer.name or customer,
        [("In-house job 7001: anodized brackets (qty 40)", "860.00")],
        external_id="inhouse-7001",
        date=_dt.date(2026, 11, 20),
    )
    if inhouse.pdf is not None:
        if not inhouse.pdf.startswith(b"%PDF"):
            raise ConfigurationError(f"{ctx.erp} returned a PDF that does not start with %PDF")
        pdf_path = ctx.out_dir / f"{ctx.slug}-invoice-{inhouse.number or inhouse.invoice.id}.pdf"
        pdf_path.write_bytes(inhouse.pdf)
        ctx.files.append(pdf_path)
        pdf_text = f"PDF written to {pdf_path} ({len(inhouse.pdf)} bytes)"
        restlet = getattr(ctx.backend, "pdf_restlet", None)
        if restlet is not None:
            pdf_text += f", rendered by the RESTlet {restlet[0]} / {restlet[1]}"
    else:
        pdf_text = f"no PDF: {inhouse.pdf_note}"
    return inhouse, pdf_text
