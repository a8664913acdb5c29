"""Sales invoices: lines whose amounts agree with quantity and price, a total computed in
the invoice's currency, and an open status."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import (
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    computed_field,
    model_validator,
)
from pydantic_core import InitErrorDetails

from erpsync.models.base import (
    _MISSING,
    Ref,
    _error,
    _Id,
    _mark_derived,
    _Model,
    _open_status,
    _raise,
    _short,
    _Timestamp,
)
from erpsync.models.external_ids import ExternalId
from erpsync.models.money import (
    _LIMIT,
    _QUANTA,
    Currency,
    Money,
    Quantity,
    _check_line_alone,
    _ctx_add,
    _ctx_quantize,
    _exponent,
    _money,
    _settle_lines,
    _settle_money,
)

__all__ = ["Invoice", "InvoiceLine", "InvoiceStatus"]


class InvoiceStatus(StrEnum):
    """Where an invoice stands, in terms common to every ERP."""

    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOIDED = "voided"
    UNKNOWN = "unknown"


class InvoiceLine(_Model):
    """One line of an invoice.

    ``amount`` may be omitted when ``quantity`` and ``unit_price`` are given: it is then
    derived (see the module docstring for how the invoice's currency refines it). When all
    three are given they must agree. Lines may be negative (discounts); the invoice total
    may not.
    """

    description: str | None = None
    amount: Money | None = None
    quantity: Quantity | None = None
    unit_price: Quantity | None = None
    item: Ref | None = None
    tax_code: Ref | None = None

    def model_post_init(self, context: Any, /) -> None:
        """The line's own checks, run once when pydantic has built the line (and by
        ``model_construct`` too): an amount, or a quantity and price to derive it from;
        when all three are given, they agree for some currency."""
        amount, quantity, price = self.amount, self.quantity, self.unit_price
        if quantity is None or price is None:
            if amount is None:
                _raise(
                    type(self).__name__,
                    [_error(("amount",), "give amount, or both quantity and unit_price", None)],
                )
            return
        settled, problem = _check_line_alone(amount, quantity, price, "unit_price")
        if problem:
            _raise(type(self).__name__, [_error(("amount",), problem, str(amount))])
        if amount is None:
            self.__dict__["amount"] = settled
            _mark_derived(self)


class Invoice(_Model):
    """A sales invoice.

    ``total`` is computed (sum of line amounts plus ``tax``, the tax the ERP added) and is
    part of dumps; validating a dump back checks it against the recomputed value.
    ``balance`` is what remains unpaid, as the ERP reports it.
    """

    id: _Id | None = None
    external_id: ExternalId | None = None
    number: str | None = None
    customer: Ref
    date: _dt.date
    due_date: _dt.date | None = None
    currency: Currency = "USD"
    lines: list[InvoiceLine] = Field(min_length=1)
    memo: str | None = None
    status: InvoiceStatus = InvoiceStatus.OPEN
    remote_status: str | None = None
    tax: Money = Field(default=Decimal(0), ge=0)
    balance: Money | None = Field(default=None, ge=0)
    updated_at: _Timestamp | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal:
        """Sum of the line amounts plus tax, in the invoice's currency."""
        total = self.tax
        for line in self.lines:
            if line.amount is not None:
                total = _ctx_add(total, line.amount)
        return _ctx_quantize(total, _QUANTA[_exponent(self.currency)])

    @model_validator(mode="wrap")
    @classmethod
    def _check_stated_total(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # ``total`` is computed, but it is in every dump; accept it back when it agrees.
        stated: object = _MISSING
        if isinstance(data, dict) and "total" in data:
            data = dict(data)
            stated = data.pop("total")
        invoice = handler(_open_status(data, InvoiceStatus))
        if stated is not _MISSING and isinstance(invoice, Invoice):
            try:
                matches = _money(stated) == invoice.total
            except ValueError as exc:
                raise ValidationError.from_exception_data(
                    cls.__name__, [_error(("total",), str(exc), stated)]
                ) from None
            if not matches:
                raise ValidationError.from_exception_data(
                    cls.__name__,
                    [
                        _error(
                            ("total",),
                            f"stated total {_short(stated)} differs from the lines plus tax "
                            f"({invoice.total})",
                            stated,
                        )
                    ],
                )
        return invoice

    def model_post_init(self, context: Any, /) -> None:
        """The invoice's cross-field checks, run once when pydantic has built it (and by
        ``model_construct`` too): every line, the tax and the balance fitted to the
        currency, then the total's bounds."""
        errors: list[InitErrorDetails] = []
        currency = self.currency
        lines = _settle_lines(self.lines, currency, "unit_price", errors)
        tax = _settle_money(self.tax, currency, ("tax",), errors)
        balance = self.balance
        if balance is not None:
            balance = _settle_money(balance, currency, ("balance",), errors)
        _raise(type(self).__name__, errors)
        self.__dict__.update(lines=lines, tax=tax, balance=balance)
        total = self.total
        if total < 0:
            errors.append(
                _error(
                    ("total",),
                    f"the total is negative ({total}); issue a credit memo instead",
                    str(total),
                )
            )
        elif total >= _LIMIT:
            errors.append(_error(("total",), "the total is too large", str(total)))
        _raise(type(self).__name__, errors)
