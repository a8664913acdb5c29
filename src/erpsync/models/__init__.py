"""The documents erpsync moves, as immutable, self-checking values.

A model either holds a document an ERP would accept (amounts that fit their currency,
lines that add up, ids in the alphabet the ERP understands) or it was never built: every
constructor raises :class:`pydantic.ValidationError` and nothing else. Catching bad data
here, with the field named (``lines.0.amount``), is cheaper than catching it as a remote
error after a round trip, and it is the same for NetSuite and QuickBooks.

Money
    Money is :class:`~decimal.Decimal`. Floats are refused (``0.1`` is not a tenth), so are
    NaN and infinities; ``str`` and ``int`` are accepted so that JSON round-trips. An
    amount with more decimals than its currency has (2 for USD, 0 for JPY, 3 for KWD) is
    an error, never a silent rounding. Inside a document, amounts are re-expressed at the
    currency's exponent (``Decimal("1250")`` becomes ``Decimal("1250.00")``): the value
    never changes, only its spelling, so that dumps are canonical.

Line amounts and currency
    A line does not know its currency, the document that holds it does. So a line works
    in two steps:

    * alone, an omitted ``amount`` is derived as ``quantity * unit_price`` rounded
      HALF-UP to 2 places, and an explicit one is only checked to be consistent with
      ``quantity * unit_price`` rounded for *some* currency exponent (0, 2, 3 or 4);
    * the document then re-derives every derived amount at its own currency's exponent
      (a JPY invoice turns 100.50 into 101) and checks every explicit one exactly
      against its currency.

    Whether an amount was derived is remembered privately on the line (it survives
    ``model_copy``); a dumped line carries the derived amount explicitly, which then
    agrees with its quantity and price by construction. Equality ignores that flag.

External ids
    ``external_id`` accepts exactly what NetSuite's ``eid:`` accepts: ASCII letters,
    digits, ``_`` and ``-``, 1 to 255 characters. Keys with other characters go through
    :func:`encode_external_id` first (reversible by :func:`decode_external_id`).

Statuses
    Status enums are open: a value the enum does not know becomes ``UNKNOWN`` and the raw
    value is kept in ``remote_status``. Known values are matched case- and
    punctuation-insensitively (``"Pending Receipt"`` is ``PENDING_RECEIPT``); translating
    ERP codes such as NetSuite's ``"B"`` is :mod:`erpsync.mapping`'s job.

Timestamps
    ``updated_at`` and ``deleted_at`` are stored in UTC. A naive datetime is taken to be
    UTC already (ERP timestamps are compared with each other, and mixing naive and aware
    values would raise at comparison time, far from the cause).

Copies
    Models are frozen. ``model.model_copy(update={...})`` re-validates the result, so a
    copy is held to the same rules as the original (a plain pydantic copy would not be).

The package holds one module per concern: :mod:`~erpsync.models.money` (money and
currency rules), :mod:`~erpsync.models.external_ids` (the external-id codec),
:mod:`~erpsync.models.base` (the shared base class and :class:`Ref`) and one module per
document family (``parties``, ``items``, ``invoices``, ``payments``, ``purchasing``).
Import the names from here.
"""

from __future__ import annotations

from erpsync.models.base import Ref
from erpsync.models.external_ids import ExternalId, decode_external_id, encode_external_id
from erpsync.models.invoices import Invoice, InvoiceLine, InvoiceStatus
from erpsync.models.items import DeletedRecord, Item
from erpsync.models.money import Currency, Money, Quantity, currency_exponent, round_money
from erpsync.models.parties import Customer, Vendor
from erpsync.models.payments import Payment, PaymentApplication
from erpsync.models.purchasing import (
    ItemReceipt,
    ItemReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)

__all__ = [
    "Currency",
    "Customer",
    "DeletedRecord",
    "ExternalId",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Item",
    "ItemReceipt",
    "ItemReceiptLine",
    "Money",
    "Payment",
    "PaymentApplication",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "Quantity",
    "Ref",
    "Vendor",
    "currency_exponent",
    "decode_external_id",
    "encode_external_id",
    "round_money",
]
