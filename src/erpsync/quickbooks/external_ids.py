"""Where a QuickBooks invoice keeps its external id: the two layouts, as strategy objects.

QuickBooks has no external-id field, and its query language can filter on ``DocNumber``
but not on ``PrivateNote`` or custom fields (WIRE.md). In both layouts the full external
id is written as a marker line at the end of ``PrivateNote``
(``[erpsync external_id=job-1042]``), which is how a record is recognised as ours and
how ``Invoice.external_id`` is read back. What differs is how an invoice is FOUND:

:class:`PrivateNoteMarker` (``"PrivateNote"``, the default)
    ``DocNumber`` stays a human number. The only narrowing QuickBooks allows is the
    party and the date (``CustomerRef = c AND TxnDate = d``, or ``IN`` and a date range
    for a chunk), every page read so a busy day cannot hide a match. The lookup
    (:mod:`erpsync.quickbooks.markers`) reads a customer's day whole once per backend,
    then only what changed since, so its cost stays flat as the books grow.
    Payments and purchase orders always use this layout (payments have no DocNumber).
:class:`DocNumberKey` (``"DocNumber"``)
    The invoice's ``DocNumber`` IS its key: the external id when it fits 21 characters,
    else ``~`` plus a 20-character digest (:func:`doc_number_key`). A lookup is one
    query (``DocNumber IN (...)``), and QuickBooks' duplicate-number check (6140) is a
    server-side guard, which only works while the company's "warn if duplicate number"
    preference is on: bulk runs rely on it (``server_guard``) instead of looking first.

The backend picks one with :func:`layout` at construction; nothing else switches on the
layout's name.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from erpsync.errors import ConfigurationError
from erpsync.models import Invoice
from erpsync.quickbooks import records as rec
from erpsync.quickbooks.client import BATCH_LIMIT, QuickBooksClient
from erpsync.quickbooks.markers import MarkerLookup
from erpsync.quickbooks.query import Query

__all__ = [
    "DocNumberKey",
    "ExternalIdField",
    "InvoiceKeys",
    "PrivateNoteMarker",
    "doc_number_key",
    "layout",
]

ExternalIdField = Literal["DocNumber", "PrivateNote"]


def doc_number_key(external_id: str) -> str:
    """The ``DocNumber`` that stands for ``external_id`` in the ``"DocNumber"`` layout."""
    if len(external_id) <= rec.DOC_NUMBER_MAX:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8")).digest()
    return "~" + base64.b32encode(digest).decode("ascii")[:20]


class InvoiceKeys(Protocol):
    """An external-id layout for invoices (the strategy the backend holds)."""

    #: The layout's name, as ``QuickBooksBackend(external_id_field=...)`` spells it.
    field: ExternalIdField
    #: QuickBooks itself refuses a second invoice with the key (6140), so a bulk run may
    #: write first and look up only the refused ones.
    server_guard: bool

    def doc_number(self, invoice: Invoice) -> str | None:
        """The DocNumber to write (None: let the numbering rule or QuickBooks decide)."""
        ...

    def is_ours(self, row: dict[str, Any], external_id: str) -> bool:
        """Whether the invoice row ``row`` is the one holding ``external_id``."""
        ...

    def find(
        self, client: QuickBooksClient, invoices: Sequence[Invoice], *, fresh: bool = False
    ) -> dict[str, dict[str, Any]]:
        """The rows already holding these invoices' external ids, by external id.
        ``fresh``: ask QuickBooks even where a run's memo knows (after an unknown
        outcome only QuickBooks knows what it wrote)."""
        ...

    def scan(self, client: QuickBooksClient, external_id: str) -> dict[str, Any] | None:
        """The row holding ``external_id`` with nothing else known (``find_invoice``)."""
        ...


class PrivateNoteMarker:
    """The default layout: the key only in the marker, DocNumber a human number."""

    field: ExternalIdField = "PrivateNote"
    server_guard = False

    def __init__(self, lookup: MarkerLookup | None = None) -> None:
        self._lookup = lookup if lookup is not None else MarkerLookup("Invoice")

    def for_run(self) -> PrivateNoteMarker:
        """A view for one bulk run: each customer's day refreshed once per run (the
        lookup's index is the backend's, see :mod:`erpsync.quickbooks.markers`)."""
        return PrivateNoteMarker(self._lookup.for_run())

    def doc_number(self, invoice: Invoice) -> str | None:
        return invoice.number

    def is_ours(self, row: dict[str, Any], external_id: str) -> bool:
        return rec.external_id_in(row.get("PrivateNote")) == external_id

    def find(
        self, client: QuickBooksClient, invoices: Sequence[Invoice], *, fresh: bool = False
    ) -> dict[str, dict[str, Any]]:
        wants = [(i.customer.id, i.date, i.external_id) for i in invoices if i.external_id]
        return self._lookup.find(client, wants, fresh=fresh) if wants else {}

    def scan(self, client: QuickBooksClient, external_id: str) -> dict[str, Any] | None:
        return self._lookup.scan(client, external_id)


class DocNumberKey:
    """The ``DocNumber`` layout: the number is the key (see :func:`doc_number_key`)."""

    field: ExternalIdField = "DocNumber"
    server_guard = True

    def for_run(self) -> DocNumberKey:
        return self

    def doc_number(self, invoice: Invoice) -> str | None:
        key = invoice.external_id
        if key is None:
            return invoice.number
        wanted = doc_number_key(key)
        if invoice.number is not None and invoice.number != wanted:
            raise ConfigurationError(
                f"invoice {key} has number {invoice.number!r}, but with external_id_field="
                f"'DocNumber' the DocNumber holds the external id ({wanted!r})",
                backend="QuickBooks",
                hint="leave Invoice.number empty, or use external_id_field='PrivateNote'",
            )
        return wanted

    def is_ours(self, row: dict[str, Any], external_id: str) -> bool:
        marker = rec.external_id_in(row.get("PrivateNote"))
        if marker is not None:
            return marker == external_id
        # Written before erpsync (or by hand): in this layout the number is the key.
        return row.get("DocNumber") == external_id

    def find(
        self, client: QuickBooksClient, invoices: Sequence[Invoice], *, fresh: bool = False
    ) -> dict[str, dict[str, Any]]:
        by_number = {
            doc_number_key(i.external_id): i.external_id for i in invoices if i.external_id
        }
        numbers = list(by_number)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(numbers), BATCH_LIMIT):
            query = Query("Invoice").where_in("DocNumber", numbers[start : start + BATCH_LIMIT])
            for row in client.iter_query(query):
                key = by_number.get(str(row.get("DocNumber")))
                if key and key not in found and self.is_ours(row, key):
                    found[key] = row
        return found

    def scan(self, client: QuickBooksClient, external_id: str) -> dict[str, Any] | None:
        query = Query("Invoice").where("DocNumber", "=", doc_number_key(external_id))
        for row in client.query_page(query):
            if self.is_ours(row, external_id):
                return row
        return None


def layout(field: object) -> PrivateNoteMarker | DocNumberKey:
    """The strategy for ``QuickBooksBackend(external_id_field=field)``."""
    if field == "PrivateNote":
        return PrivateNoteMarker()
    if field == "DocNumber":
        return DocNumberKey()
    raise ConfigurationError(
        f"external_id_field must be 'DocNumber' or 'PrivateNote', not {field!r}"
    )
