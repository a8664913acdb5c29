"""Purchasing: purchase orders to vendors and the goods received against them."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, model_validator
from pydantic_core import InitErrorDetails

from erpsync.models.base import (
    Ref,
    _error,
    _Id,
    _mark_derived,
    _Model,
    _open_status,
    _raise,
    _Timestamp,
)
from erpsync.models.external_ids import ExternalId
from erpsync.models.money import Currency, Money, Quantity, _check_line_alone, _settle_lines

__all__ = [
    "ItemReceipt",
    "ItemReceiptLine",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
]


class PurchaseOrderStatus(StrEnum):
    """NetSuite's purchase order statuses, plus QuickBooks' ``Open`` (its ``Closed`` is
    ``CLOSED``)."""

    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    PENDING_RECEIPT = "pending_receipt"
    PARTIALLY_RECEIVED = "partially_received"
    PENDING_BILLING_PARTIALLY_RECEIVED = "pending_billing_partially_received"
    PENDING_BILL = "pending_bill"
    FULLY_BILLED = "fully_billed"
    CLOSED = "closed"
    OPEN = "open"
    UNKNOWN = "unknown"


class PurchaseOrderLine(_Model):
    """One line of a purchase order. ``line_id`` is the ERP's line key (NetSuite's
    ``line``), which receipts refer to. ``amount`` is derived from ``quantity * rate``
    when omitted and a rate is given, as for invoice lines."""

    line_id: _Id | None = None
    item: Ref
    description: str | None = None
    quantity: Quantity = Field(ge=0)
    quantity_received: Quantity = Field(default=Decimal(0), ge=0)
    rate: Quantity | None = None
    amount: Money | None = None
    receivable: bool = True

    def model_post_init(self, context: Any, /) -> None:
        """The line's own check, run once when pydantic has built the line (and by
        ``model_construct`` too): an amount given with a rate agrees with
        ``quantity * rate`` for some currency; one left out is derived."""
        amount, rate = self.amount, self.rate
        if rate is None:
            return
        settled, problem = _check_line_alone(amount, self.quantity, rate, "rate")
        if problem:
            _raise(type(self).__name__, [_error(("amount",), problem, str(amount))])
        if amount is None and settled is not None:
            self.__dict__["amount"] = settled
            _mark_derived(self)


class PurchaseOrder(_Model):
    """A purchase order to a vendor. ``lines`` may be empty only when the ERP listed the
    order without its lines."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    number: str | None = None
    vendor: Ref
    date: _dt.date
    status: PurchaseOrderStatus
    remote_status: str | None = None
    currency: Currency = "USD"
    lines: list[PurchaseOrderLine] = Field(default_factory=list)
    memo: str | None = None
    updated_at: _Timestamp | None = None

    @model_validator(mode="before")
    @classmethod
    def _status(cls, data: Any) -> Any:
        return _open_status(data, PurchaseOrderStatus)

    def model_post_init(self, context: Any, /) -> None:
        """The order's cross-field checks, run once when pydantic has built it (and by
        ``model_construct`` too): line ids unique, every line fitted to the currency."""
        errors: list[InitErrorDetails] = []
        seen: set[str] = set()
        for index, line in enumerate(self.lines):
            if line.line_id is not None:
                if line.line_id in seen:
                    errors.append(
                        _error(("lines", index, "line_id"), "duplicate line_id", line.line_id)
                    )
                seen.add(line.line_id)
        lines = _settle_lines(self.lines, self.currency, "rate", errors)
        _raise(type(self).__name__, errors)
        self.__dict__["lines"] = lines


class ItemReceiptLine(_Model):
    """A quantity received against one purchase order line (``line_id``)."""

    line_id: _Id
    quantity: Quantity = Field(gt=0)


class ItemReceipt(_Model):
    """Goods received against a purchase order."""

    id: _Id | None = None
    purchase_order_id: _Id
    date: _dt.date
    lines: list[ItemReceiptLine] = Field(min_length=1)
    external_id: ExternalId | None = None

    @model_validator(mode="after")
    def _unique_lines(self) -> Self:
        seen: set[str] = set()
        errors: list[InitErrorDetails] = []
        for index, line in enumerate(self.lines):
            if line.line_id in seen:
                errors.append(
                    _error(("lines", index, "line_id"), "duplicate line_id", line.line_id)
                )
            seen.add(line.line_id)
        _raise(type(self).__name__, errors)
        return self
