"""Customer payments and their applications to invoices."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator
from pydantic_core import InitErrorDetails

from erpsync.models.base import Ref, _error, _Id, _Model, _raise, _Timestamp
from erpsync.models.external_ids import ExternalId
from erpsync.models.money import Currency, Money, _settle_money, _sum

__all__ = ["Payment", "PaymentApplication"]


class PaymentApplication(_Model):
    """The part of a payment applied to one invoice (by the invoice's ERP id)."""

    invoice_id: _Id
    amount: Money = Field(ge=0)


class Payment(_Model):
    """A customer payment, possibly applied to invoices; what is not applied stays as an
    unapplied credit in the ERP."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    customer: Ref
    date: _dt.date
    amount: Money = Field(gt=0)
    currency: Currency = "USD"
    applications: list[PaymentApplication] = Field(default_factory=list)
    memo: str | None = None
    updated_at: _Timestamp | None = None

    @model_validator(mode="after")
    def _fit_currency(self) -> Self:
        errors: list[InitErrorDetails] = []
        amount = _settle_money(self.amount, self.currency, ("amount",), errors)
        applications = [
            _settled(
                app, _settle_money(app.amount, self.currency, ("applications", i, "amount"), errors)
            )
            for i, app in enumerate(self.applications)
        ]
        _raise(type(self).__name__, errors)
        applied = _sum([app.amount for app in applications])
        if applied > amount:
            errors.append(
                _error(
                    ("applications",),
                    f"the applications add up to {applied}, more than the payment ({amount})",
                    str(applied),
                )
            )
        _raise(type(self).__name__, errors)
        self.__dict__.update(amount=amount, applications=applications)
        return self


def _settled(application: PaymentApplication, amount: Decimal) -> PaymentApplication:
    """The application with its settled amount (itself when the amount did not change)."""
    return application if amount is application.amount else application._replace(amount=amount)
