"""Purchase orders from the ERP into your system, item receipts from your system back.

Seed 004 (a manufacturing ERP, "ION", on NetSuite) in one class,
:class:`PurchaseOrderSync`:

* :meth:`~PurchaseOrderSync.run` mirrors purchase orders changed since the last run
  into a :class:`~erpsync.sync.sinks.PurchasingSink`: created when missing (carrying the
  ERP's document number and record id as attributes), headers and lines brought up to
  date, the status translated through a :class:`~erpsync.mapping.StatusTable`, missing
  suppliers created, lines whose part the local system lacks *warned about* (logged,
  shown through the sink, reported) without failing the order. An order whose status
  maps to a cancelling status (``"Canceled"``: NetSuite's Closed) has its open lines
  cancelled; an order deleted in the ERP is deleted locally.
* :meth:`~PurchaseOrderSync.receive` creates an item receipt in the ERP for goods
  received locally, exactly once however often it is retried.
* :meth:`~PurchaseOrderSync.handle_push` syncs one order the moment a NetSuite
  user-event script (:data:`USER_EVENT_SCRIPT`) reports a change; the periodic run
  stays as the safety net.

Why the design is what it is
----------------------------
*One order is one unit.* The sink applies an order in one transaction; anything that
fails (the ERP, a sink exception, a status the table does not know) fails that order
only. Failed orders are kept in the store's ledger (state ``failed``) and fetched again
by id at the start of the next run, so a permanently broken order never holds back the
cursor for the others. The only thing that holds the cursor is an order another
process is writing at that moment (a push racing the run): the cursor stops just
before it, so the next run lists it again.

*The cursor is the ERP's own clock*, re-read with an ``overlap`` behind it; an
unchanged order (same content hash in the ledger) is not sent to the sink again.

*Receipts are idempotent by construction*: their external id is derived from the order
and the caller's ``receipt_key`` (or the lines and the date), and over-receipts are
refused locally before anything is sent.

QuickBooks Online has purchase orders (``Open``/``Closed``, use
:data:`~erpsync.mapping.QUICKBOOKS_PO_TO_ION`) but no item receipts: :meth:`receive`
raises UnsupportedOperationError, and deletions come from change data capture when the
backend offers it (otherwise the run report carries a note that deletions are not
mirrored).

The run is a composition of the three shared mechanisms of ``erpsync.sync``: one
exclusive run with its run log (:mod:`erpsync.sync.runs`), two feeds, changed and
deleted orders (:mod:`erpsync.sync.feed`), and the ledger writer for receipts
(:mod:`erpsync.sync.ledger`). Layout, one job per module: ``reports`` (what comes
back), ``attributes`` (the custom attributes), ``build`` (an ERP order in local terms),
``orders`` (one order applied as one unit), ``run`` (the periodic run), ``upgrade``
(cursors stored by earlier versions), ``receipts``, ``push`` (signature, body and the
push itself), ``script`` (the user-event script text) and ``workflow``
(:class:`PurchaseOrderSync`). Every public name is importable from here.
"""

from __future__ import annotations

from erpsync.sync.purchasing.attributes import AttributeMapping
from erpsync.sync.purchasing.push import PUSH_SIGNATURE_HEADER, sign_push, verify_push_signature
from erpsync.sync.purchasing.reports import (
    LocalReceiptLine,
    OrderAction,
    OrderOutcome,
    PurchasingRunReport,
    PushResult,
    ReceiptResult,
    SkippedLine,
)
from erpsync.sync.purchasing.script import USER_EVENT_SCRIPT
from erpsync.sync.purchasing.workflow import PurchaseOrderSync

__all__ = [
    "PUSH_SIGNATURE_HEADER",
    "USER_EVENT_SCRIPT",
    "AttributeMapping",
    "LocalReceiptLine",
    "OrderAction",
    "OrderOutcome",
    "PurchaseOrderSync",
    "PurchasingRunReport",
    "PushResult",
    "ReceiptResult",
    "SkippedLine",
    "sign_push",
    "verify_push_signature",
]
