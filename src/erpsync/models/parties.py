"""The parties documents are addressed to: customers and vendors."""

from __future__ import annotations

from erpsync.models.base import _Id, _Model, _Name, _Timestamp
from erpsync.models.external_ids import ExternalId
from erpsync.models.money import Currency

__all__ = ["Customer", "Vendor"]


class _Party(_Model):
    """The fields customers and vendors share (one definition, so they cannot drift)."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    name: _Name
    email: str | None = None
    currency: Currency = "USD"
    updated_at: _Timestamp | None = None


class Customer(_Party):
    """A customer; ``name`` is the display name (unique in QuickBooks across customers,
    vendors and employees)."""


class Vendor(_Party):
    """A vendor (supplier); the same shape as a customer."""
