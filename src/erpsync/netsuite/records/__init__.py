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

This package keeps the per-record-type mappings only, one module per document family
(the same module names in netsuite/ and quickbooks/); turning wire values into Python
values and back, with errors naming record and field, is :mod:`erpsync.netsuite.values`.
"""

from __future__ import annotations

from erpsync.netsuite.records.deleted import deleted_from_row
from erpsync.netsuite.records.invoices import (
    invoice_from_row,
    invoice_from_wire,
    invoice_to_wire,
    line_from_row,
)
from erpsync.netsuite.records.items import (
    ITEM_KINDS,
    ITEM_RECORD_TYPES,
    item_from_row,
    item_from_wire,
    item_record_type,
    item_to_wire,
)
from erpsync.netsuite.records.parties import (
    customer_from_row,
    customer_from_wire,
    customer_to_wire,
    vendor_from_row,
    vendor_from_wire,
    vendor_to_wire,
)
from erpsync.netsuite.records.payments import payment_from_row, payment_from_wire, payment_to_wire
from erpsync.netsuite.records.purchase_orders import (
    purchase_order_from_row,
    purchase_order_from_wire,
    purchase_order_to_wire,
    receipt_from_wire,
    receipt_to_wire,
)
from erpsync.netsuite.records.statuses import (
    INVOICE_STATUS_CODES,
    PO_STATUS_LABELS,
    invoice_status,
    po_status,
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
