"""The demo's webhook-upsert and CSV-export step (seed 003)."""

from __future__ import annotations

import importlib.util
from typing import Any

from erpsync._cli.demo.context import DemoContext, ids, require_module
from erpsync.errors import ConfigurationError
from erpsync.models import Ref


def step_billing(ctx: DemoContext) -> str:
    require_module("erpsync.sync.webhooks")
    from erpsync.mapping.fields import FieldMapping
    from erpsync.sync.webhooks import InvoiceUpsertHandler

    customers, items = ids(ctx)
    prefix = ctx.slug
    mapping = FieldMapping(
        item_field=f"{prefix}_internal_item_id", customer_field=f"{prefix}_internal_customer_id"
    )
    products, billing_customers, source = _seed_003(customers, items, mapping)
    handler = InvoiceUpsertHandler(
        ctx.backend,
        ctx.store,
        lambda invoice_id: source[invoice_id],
        mapping=mapping,
        products=products,
        customers=billing_customers,
        external_id_prefix="metronome-",
    )
    rows = _deliver(handler)
    ctx.out.table(
        f"{ctx.erp}: invoice.finalized webhooks upserted",
        ["event", "source invoice", "action", "external id", "total", "note"],
        rows,
    )
    summary = f"webhooks: {', '.join(str(r[2]) for r in rows)}"
    if ctx.erp == "NetSuite" and importlib.util.find_spec("erpsync.sync.export") is not None:
        summary += _csv_export(ctx, source, mapping, products, billing_customers)
    return summary


def _seed_003(
    customers: list[Ref], items: list[Ref], mapping: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Seed 003's billing system: products and a customer carrying the ERP ids in custom
    fields, an October usage invoice (with a zero line) and a $0 invoice."""
    products = {
        "prod-api": {
            "id": "prod-api",
            "name": "API calls",
            "custom_fields": {mapping.item_field: items[0].id},
        },
        "prod-seat": {
            "id": "prod-seat",
            "name": "Seats",
            "custom_fields": {mapping.item_field: items[-1].id},
        },
    }
    billing_customers = {
        "cust-e0ac": {
            "id": "cust-e0ac",
            "name": customers[2].name,
            "custom_fields": {mapping.customer_field: customers[2].id},
        },
    }
    source = {
        "inv-d234": {
            "id": "inv-d234",
            "customer_id": "cust-e0ac",
            "date": "2026-10-31",
            "currency": "USD",
            "memo": "October usage",
            "line_items": [
                {
                    "description": "API calls (120k)",
                    "amount": "240.00",
                    "quantity": "120000",
                    "unit_price": "0.002",
                    "product_id": "prod-api",
                },
                {"description": "Seats", "amount": "0", "product_id": "prod-seat"},
                {"description": "Seats (5)", "amount": "150.00", "product_id": "prod-seat"},
            ],
        },
        "inv-zero": {
            "id": "inv-zero",
            "customer_id": "cust-e0ac",
            "date": "2026-10-31",
            "currency": "USD",
            "total": "0",
            "line_items": [{"description": "API calls", "amount": "0", "product_id": "prod-api"}],
        },
    }
    return products, billing_customers, source


def _deliver(handler: Any) -> list[list[object]]:
    """Three invoice.finalized events, one a retry; a row per event for the table."""
    events = [
        ("evt-1", "inv-d234"),
        ("evt-1", "inv-d234"),  # the sender retried
        ("evt-2", "inv-zero"),
    ]
    rows: list[list[object]] = []
    for event_id, invoice_id in events:
        result = handler.handle(
            {
                "id": event_id,
                "type": "invoice.finalized",
                "properties": {"invoice_id": invoice_id, "customer_id": "cust-e0ac"},
            }
        )
        if not result.ok:
            raise result.error or ConfigurationError(f"event {event_id} failed")
        invoice = result.invoice
        rows.append(
            [
                event_id,
                invoice_id,
                result.action,
                result.external_id or "",
                invoice.total if invoice is not None else "",
                result.reason or "",
            ]
        )
    return rows


def _csv_export(
    ctx: DemoContext,
    source: dict[str, Any],
    mapping: Any,
    products: dict[str, Any],
    billing_customers: dict[str, Any],
) -> str:
    """NetSuite's CSV import path for the same invoices; the summary's tail."""
    from erpsync.sync.export import write_netsuite_invoice_csv

    csv_path = ctx.out_dir / "netsuite-invoice-import.csv"
    report = write_netsuite_invoice_csv(
        list(source.values()),
        csv_path,
        mapping,
        products=products,
        customers=billing_customers,
        external_id_prefix="metronome-",
    )
    ctx.files.append(csv_path)
    ctx.out.line(
        f"CSV import file for NetSuite: {csv_path} ({report.rows} rows; "
        f"{report.zero_lines_dropped} zero lines and {len(report.dropped)} zero invoice(s) "
        "left out)"
    )
    return f"; CSV export {report.rows} rows"
