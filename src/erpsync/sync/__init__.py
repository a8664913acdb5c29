"""The workflows of the source documents, built on any :class:`erpsync.AccountingBackend`.

- :mod:`erpsync.sync.xometry`: marketplace jobs invoiced on acceptance or shipment,
  payouts paid against all their invoices, in-house invoices with their PDF, backfill,
  drift reports (seeds 000 and 001).
- :mod:`erpsync.sync.accounts`: the incremental two-way accounting sync with its run log
  (seed 002).
- :mod:`erpsync.sync.webhooks`, :mod:`erpsync.sync.export`: webhook-driven upserts by
  external id and the NetSuite CSV import file (seed 003).
- :mod:`erpsync.sync.reconcile`: what differs between your documents and the ERP's.
- :mod:`erpsync.sync.purchasing`, :mod:`erpsync.sync.sinks`: purchase orders mirrored
  from NetSuite into a local system, item receipts sent back (seed 004).

Every workflow keeps its exactly-once promises in an :class:`erpsync.store.SyncStore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpsync._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BackfillEntry": "erpsync.sync.xometry",
    "BackfillReport": "erpsync.sync.xometry",
    "Drift": "erpsync.sync.xometry",
    "InhouseInvoiceResult": "erpsync.sync.xometry",
    "JobInvoiceResult": "erpsync.sync.xometry",
    "LineSpec": "erpsync.sync.xometry",
    "PayoutPaymentResult": "erpsync.sync.xometry",
    "XometryInvoicing": "erpsync.sync.xometry",
    "AccountingSync": "erpsync.sync.accounts",
    "CustomerMatchReport": "erpsync.sync.accounts",
    "Failure": "erpsync.sync.accounts",
    "ImportBatch": "erpsync.sync.accounts",
    "PaymentReport": "erpsync.sync.accounts",
    "PushReport": "erpsync.sync.accounts",
    "SyncBusyError": "erpsync.sync.runs",
    "SyncInput": "erpsync.sync.accounts",
    "SyncResult": "erpsync.sync.accounts",
    "HandleResult": "erpsync.sync.webhooks",
    "InvoiceUpsertHandler": "erpsync.sync.webhooks",
    "SourceInvoice": "erpsync.sync.webhooks",
    "SourceLine": "erpsync.sync.webhooks",
    "handle_quickbooks": "erpsync.sync.webhooks",
    "invoice_from_source": "erpsync.sync.webhooks",
    "NETSUITE_INVOICE_COLUMNS": "erpsync.sync.export",
    "DroppedInvoice": "erpsync.sync.export",
    "ExportReport": "erpsync.sync.export",
    "write_netsuite_invoice_csv": "erpsync.sync.export",
    "Discrepancy": "erpsync.sync.reconcile",
    "DiscrepancyKind": "erpsync.sync.reconcile",
    "ReconciliationReport": "erpsync.sync.reconcile",
    "reconcile": "erpsync.sync.reconcile",
    "PUSH_SIGNATURE_HEADER": "erpsync.sync.purchasing",
    "USER_EVENT_SCRIPT": "erpsync.sync.purchasing",
    "AttributeMapping": "erpsync.sync.purchasing",
    "LocalReceiptLine": "erpsync.sync.purchasing",
    "OrderAction": "erpsync.sync.purchasing",
    "OrderOutcome": "erpsync.sync.purchasing",
    "PurchaseOrderSync": "erpsync.sync.purchasing",
    "PurchasingRunReport": "erpsync.sync.purchasing",
    "PushResult": "erpsync.sync.purchasing",
    "ReceiptResult": "erpsync.sync.purchasing",
    "SkippedLine": "erpsync.sync.purchasing",
    "sign_push": "erpsync.sync.purchasing",
    "verify_push_signature": "erpsync.sync.purchasing",
    "LocalSupplier": "erpsync.sync.sinks",
    "MemoryPurchasingSink": "erpsync.sync.sinks",
    "PurchasingSink": "erpsync.sync.sinks",
    "SinkLine": "erpsync.sync.sinks",
    "SinkPurchaseOrder": "erpsync.sync.sinks",
    "UpsertResult": "erpsync.sync.sinks",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from erpsync.sync.accounts import (
        AccountingSync,
        CustomerMatchReport,
        Failure,
        ImportBatch,
        PaymentReport,
        PushReport,
        SyncInput,
        SyncResult,
    )
    from erpsync.sync.export import (
        NETSUITE_INVOICE_COLUMNS,
        DroppedInvoice,
        ExportReport,
        write_netsuite_invoice_csv,
    )
    from erpsync.sync.purchasing import (
        PUSH_SIGNATURE_HEADER,
        USER_EVENT_SCRIPT,
        AttributeMapping,
        LocalReceiptLine,
        OrderAction,
        OrderOutcome,
        PurchaseOrderSync,
        PurchasingRunReport,
        PushResult,
        ReceiptResult,
        SkippedLine,
        sign_push,
        verify_push_signature,
    )
    from erpsync.sync.reconcile import (
        Discrepancy,
        DiscrepancyKind,
        ReconciliationReport,
        reconcile,
    )
    from erpsync.sync.runs import SyncBusyError
    from erpsync.sync.sinks import (
        LocalSupplier,
        MemoryPurchasingSink,
        PurchasingSink,
        SinkLine,
        SinkPurchaseOrder,
        UpsertResult,
    )
    from erpsync.sync.webhooks import (
        HandleResult,
        InvoiceUpsertHandler,
        SourceInvoice,
        SourceLine,
        handle_quickbooks,
        invoice_from_source,
    )
    from erpsync.sync.xometry import (
        BackfillEntry,
        BackfillReport,
        Drift,
        InhouseInvoiceResult,
        JobInvoiceResult,
        LineSpec,
        PayoutPaymentResult,
        XometryInvoicing,
    )

__getattr__, __dir__ = lazy_exports("erpsync.sync", _EXPORTS, globals())
