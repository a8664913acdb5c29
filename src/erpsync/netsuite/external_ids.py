"""Where NetSuite keeps a record's external id, and how a write is made idempotent by it.

NetSuite has the field: ``externalId``, unique per record type, refused when taken.
Every record erpsync creates carries one, the caller's when the model has one, else a
generated ``erpsync-<32 hex>`` made once per call before the first attempt (visible in
NetSuite as the record's External ID). ``eid:<externalId>`` stands wherever an internal
id may: the lookup after an unknown outcome is ``GET /{type}/eid:X``, and
``PUT /{type}/eid:X`` is an upsert. :class:`ExternalIdUpsert` is that layout as an
object, the NetSuite counterpart of :mod:`erpsync.quickbooks.external_ids`.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from erpsync.errors import DuplicateError, ErpSyncError, InvalidRequestError, NotFoundError
from erpsync.netsuite.client import NetSuiteClient

__all__ = ["INTERNAL_EID_PREFIX", "ExternalIdUpsert"]

#: Prefix of generated external ids (letters, digits and ``-`` only: valid ``eid:``).
INTERNAL_EID_PREFIX: Final = "erpsync-"


class ExternalIdUpsert:
    """NetSuite's ``externalId`` layout: the key, the lookup, the upsert, the refusal."""

    field: Final = "externalId"

    @staticmethod
    def key(external_id: str | None) -> str:
        """The external id a new record is written with: the caller's, or a fresh one."""
        return external_id or INTERNAL_EID_PREFIX + uuid.uuid4().hex

    @staticmethod
    def is_duplicate(error: ErpSyncError) -> bool:
        """The write was refused because its external id is taken."""
        if isinstance(error, DuplicateError):
            return True
        return (
            isinstance(error, InvalidRequestError) and (error.field or "").lower() == "externalid"
        )

    @staticmethod
    def find(
        client: NetSuiteClient, record_type: str, external_id: str, *, expand: bool = True
    ) -> dict[str, Any] | None:
        """The record of ``record_type`` holding ``external_id`` (``GET eid:``), or None."""
        try:
            return client.get(record_type, f"eid:{external_id}", expand=expand)
        except NotFoundError:
            return None

    @staticmethod
    def upsert(
        client: NetSuiteClient, record_type: str, external_id: str, body: dict[str, Any]
    ) -> str:
        """``PUT /{type}/eid:X``: create the record or replace the one holding the key."""
        return client.upsert(record_type, external_id, body)
