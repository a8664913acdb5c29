"""QuickBooks Online records: wire records <-> erpsync models, as pure functions (no I/O, no clock).

Reading is strict about what a model cannot do without (an Id, a CustomerRef, a date,
amounts) and tolerant about everything else: a wire record missing a required field
or carrying nonsense raises :class:`ServiceError` naming the record and the field,
because QuickBooks broke its promise, not the caller. Where QuickBooks' data is richer
than the model the choices are:

* Invoice lines: ``SalesItemLineDetail`` lines become lines; the ``SubTotalLineDetail``
  line the server appends is ignored; ``DiscountLineDetail`` becomes a negative line;
  ``DescriptionOnly`` lines keep their text (amount 0 unless given). A line whose
  ``Qty * UnitPrice`` does not give its ``Amount`` (QuickBooks rounds prices it shows)
  keeps the amount and drops the quantity and price rather than failing the invoice.
* Invoice ``tax`` is ``TotalAmt`` minus the line sum (what QuickBooks added); the
  status comes from ``Balance``/``TotalAmt`` (QuickBooks has no status field): voided
  (total 0 and a ``PrivateNote`` starting "Voided", as QuickBooks marks voids), paid
  (balance 0), partially paid, open.
* Purchase order ``POStatus`` Open/Closed maps to OPEN/CLOSED; lines without an item
  (``AccountBasedExpenseLineDetail``) are not purchase order lines in the model's
  sense (nothing to receive) and are left out.

External ids live in a marker line at the end of ``PrivateNote`` (transactions) or
``Notes`` (customers): ``[erpsync external_id=job-1042]``. See backend.py for why and
how they are found again.

This package keeps the per-record-type mappings only, one module per document family
(the same module names in netsuite/ and quickbooks/); turning wire values into Python
values and back, with errors naming record and field, is :mod:`erpsync.quickbooks.values`.
"""

from __future__ import annotations

from erpsync.quickbooks.records.invoices import invoice_from_wire, invoice_to_wire
from erpsync.quickbooks.records.items import item_from_wire, item_to_wire
from erpsync.quickbooks.records.notes import external_id_in, with_external_id, without_marker
from erpsync.quickbooks.records.parties import (
    customer_from_wire,
    customer_to_wire,
    vendor_from_wire,
    vendor_to_wire,
)
from erpsync.quickbooks.records.payments import payment_from_wire, payment_to_wire
from erpsync.quickbooks.records.purchase_orders import (
    purchase_order_from_wire,
    purchase_order_to_wire,
)
from erpsync.quickbooks.values import parse_timestamp
from erpsync.quickbooks.wire import DOC_NUMBER_MAX, PRIVATE_NOTE_MAX

__all__ = [
    "DOC_NUMBER_MAX",
    "PRIVATE_NOTE_MAX",
    "customer_from_wire",
    "customer_to_wire",
    "external_id_in",
    "invoice_from_wire",
    "invoice_to_wire",
    "item_from_wire",
    "item_to_wire",
    "parse_timestamp",
    "payment_from_wire",
    "payment_to_wire",
    "purchase_order_from_wire",
    "purchase_order_to_wire",
    "vendor_from_wire",
    "vendor_to_wire",
    "with_external_id",
    "without_marker",
]
