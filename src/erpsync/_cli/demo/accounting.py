"""The demo's accounting-sync step (seed 002)."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from erpsync._cli.demo.context import DemoContext, ids, require_module
from erpsync.models import Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentApplication, Ref


def step_accounting(ctx: DemoContext) -> str:
    require_module("erpsync.sync.accounts")
    from erpsync.sync.accounts import AccountingSync

    customers, items = ids(ctx)
    item = items[0]
    name = customers[2].name or ""

    def local_invoice(key: str, amount: str, status: InvoiceStatus) -> Invoice:
        return Invoice(
            external_id=key,
            customer=Ref(id="1", name=name),  # the AR system's own customer id
            date=_dt.date(2026, 11, 5),
            due_date=_dt.date(2026, 12, 5),
            lines=[
                InvoiceLine(description=f"Subscription {key}", amount=Decimal(amount), item=item)
            ],
            status=status,
        )

    invoices = [
        local_invoice("AR-2001", "1200.00", InvoiceStatus.OPEN),
        local_invoice("AR-2002", "75.00", InvoiceStatus.DRAFT),  # drafts are not synced
        local_invoice("AR-2003", "430.00", InvoiceStatus.OPEN),
    ]
    names = {"AR-2001": name, "AR-2002": name, "AR-2003": "Nobody Of That Name Ltd"}
    payments = [
        Payment(
            external_id="ARPAY-1",
            customer=Ref(id="1", name=name),
            date=_dt.date(2026, 11, 25),
            amount=Decimal("1200.00"),
            applications=[PaymentApplication(invoice_id="AR-2001", amount=Decimal("1200.00"))],
        )
    ]
    sync = AccountingSync(ctx.backend, ctx.store)
    pulled: list[Payment] = []
    result = sync.run(invoices, payments, customer_names=names, on_payments=pulled.extend)
    counts = {
        **{f"invoices {k}": v for k, v in result.invoices.counts.items() if v},
        **{f"payments {k}": v for k, v in result.payments.counts.items() if v},
    }
    ctx.out.table(
        f"{ctx.erp}: accounting sync pass {result.run.id} ({result.run.status})",
        ["what", "count"],
        [*sorted(counts.items()), ["ERP payments pulled", len(pulled)]],
    )
    if result.run.errors:
        ctx.out.table(
            "Recent Syncs: per-invoice errors (AR-2003's customer does not exist, on purpose)",
            ["record", "error"],
            [[e.record, e.message] for e in result.run.errors],
        )
    from erpsync._cli.demo.purchasing import paid_copy

    # The local system recorded the payment; AR-2003 never reached the ERP.
    ctx.local_documents = [paid_copy(invoices[0]), invoices[2], *payments]
    with sync.import_customers() as customers_batch:
        imported_customers = len(customers_batch)
    with sync.import_invoices() as invoices_batch:
        imported_invoices = len(invoices_batch)
    ctx.out.line(
        f"Imports: {imported_customers} customers, {imported_invoices} outstanding invoices"
    )
    return (
        f"pass {result.run.status}: {result.invoices.counts['created']} invoice(s), "
        f"{result.payments.counts['created']} payment(s) pushed, "
        f"{len(result.run.errors)} expected error(s); imported {imported_customers} customers"
    )
