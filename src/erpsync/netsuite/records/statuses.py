"""NetSuite status letters and labels -> the models' status enums (open: unknown values
keep their raw text).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from erpsync.models import (
    InvoiceStatus,
    PurchaseOrderStatus,
)
from erpsync.netsuite import wire
from erpsync.netsuite.values import label_key

#: Purchase order ``status`` letters and their labels: one home, :mod:`erpsync.netsuite.wire`.
PO_STATUS_LABELS: Final[Mapping[str, str]] = wire.PO_STATUS_LABELS
_PO_STATUS: Final[Mapping[str, PurchaseOrderStatus]] = {
    "A": PurchaseOrderStatus.PENDING_APPROVAL,
    "B": PurchaseOrderStatus.PENDING_RECEIPT,
    "C": PurchaseOrderStatus.REJECTED,
    "D": PurchaseOrderStatus.PARTIALLY_RECEIVED,
    "E": PurchaseOrderStatus.PENDING_BILLING_PARTIALLY_RECEIVED,
    "F": PurchaseOrderStatus.PENDING_BILL,
    "G": PurchaseOrderStatus.FULLY_BILLED,
    "H": PurchaseOrderStatus.CLOSED,
}

#: Invoice ``status`` letters as SuiteQL gives them (``CustInvc:A``...), from the wire facts.
INVOICE_STATUS_CODES: Final[Mapping[str, str]] = wire.INVOICE_STATUS_LABELS
_INVOICE_LABELS: Final[Mapping[str, InvoiceStatus]] = {
    "open": InvoiceStatus.OPEN,
    "paidinfull": InvoiceStatus.PAID,
    "pendingapproval": InvoiceStatus.DRAFT,
    "voided": InvoiceStatus.VOIDED,
    "void": InvoiceStatus.VOIDED,
}


def invoice_status(
    code: str | None, label: str | None, balance: Decimal | None, total: Decimal | None
) -> tuple[InvoiceStatus, str | None]:
    """(status, remote status) of an invoice; open with a partial balance is
    ``PARTIALLY_PAID``. Unknown values give ``UNKNOWN`` and keep the raw text."""
    if code is not None and code.split(":")[-1].upper() in INVOICE_STATUS_CODES:
        label = label or INVOICE_STATUS_CODES[code.split(":")[-1].upper()]
    raw = label or code
    if raw is None:
        if balance is not None and total is not None:
            derived = InvoiceStatus.PAID if balance == 0 else InvoiceStatus.OPEN
            return _partial(derived, balance, total), None
        return InvoiceStatus.UNKNOWN, None
    known = _INVOICE_LABELS.get(label_key(raw))
    if known is None:
        return InvoiceStatus.UNKNOWN, raw
    return _partial(known, balance, total), raw


def _partial(
    status: InvoiceStatus, balance: Decimal | None, total: Decimal | None
) -> InvoiceStatus:
    if (
        status is InvoiceStatus.OPEN
        and balance is not None
        and total is not None
        and 0 < balance < total
    ):
        return InvoiceStatus.PARTIALLY_PAID
    return status


def po_status(code: str | None, label: str | None) -> tuple[PurchaseOrderStatus, str | None]:
    """(status, remote status label) of a purchase order from its letter and/or label."""
    letter = code.split(":")[-1].upper() if code else ""
    if letter in _PO_STATUS:
        return _PO_STATUS[letter], PO_STATUS_LABELS[letter]
    if label:
        for known, text in PO_STATUS_LABELS.items():
            if label_key(text) == label_key(label):
                return _PO_STATUS[known], text
    return PurchaseOrderStatus.UNKNOWN, label or code
