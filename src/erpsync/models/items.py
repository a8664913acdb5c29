"""Products and services, and the records an ERP reports as deleted."""

from __future__ import annotations

from erpsync.models.base import _Id, _Model, _Name, _Timestamp
from erpsync.models.external_ids import ExternalId

__all__ = ["DeletedRecord", "Item"]


class Item(_Model):
    """A product or service; ``kind`` is e.g. ``"service"``, ``"inventory"``,
    ``"non_inventory"``. ``for_sale`` is False for an item the ERP keeps for purchases
    only (NetSuite's "Purchase" subtype), which no invoice may carry; None when the ERP
    does not say, so that a check refuses only what it knows to be refused."""

    id: _Id | None = None
    external_id: ExternalId | None = None
    name: _Name
    kind: str | None = None
    for_sale: bool | None = None
    updated_at: _Timestamp | None = None


# -- change tracking ----------------------------------------------------------------------


class DeletedRecord(_Model):
    """A record the ERP reports as deleted (NetSuite ``DeletedRecord``, QuickBooks CDC
    entries with ``status: Deleted``)."""

    record_type: _Name
    id: _Id
    external_id: ExternalId | None = None
    deleted_at: _Timestamp
