"""Where a QuickBooks invoice keeps its external id: the two layouts, as strategy objects.

QuickBooks has no external-id field, and its query language can filter on ``DocNumber``
but not on ``PrivateNote`` or custom fields (WIRE.md). In both layouts the full external
id is written as a marker line at the end of ``PrivateNote``
(``[erpsync external_id=job-1042]``), which is how a record is recognised as ours and
how ``Invoice.external_id`` is read back. What differs is how an invoice is FOUND:

:class:`PrivateNoteMarker` (``"PrivateNote"``, the default)
    ``DocNumber`` stays a human number. The only narrowing QuickBooks allows is the
    party and the date (``CustomerRef = c AND TxnDate = d``, or ``IN`` and a date range
    for a chunk), every page read so a busy day cannot hide a match. Its cost grows with
    the invoices that customer has on that date; a bulk run pays it once per customer
    and day (:meth:`PrivateNoteMarker.for_run`), single writes once per write.
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
import threading
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, Literal, Protocol

from erpsync.errors import ConfigurationError
from erpsync.models import Invoice
from erpsync.quickbooks import records as rec
from erpsync.quickbooks.client import BATCH_LIMIT, QuickBooksClient
from erpsync.quickbooks.query import Query

__all__ = [
    "DocNumberKey",
    "ExternalIdField",
    "InvoiceKeys",
    "MarkerLookup",
    "PrivateNoteMarker",
    "doc_number_key",
    "layout",
]

ExternalIdField = Literal["DocNumber", "PrivateNote"]
#: (party id, transaction date, external id): what a marker lookup searches for.
Wanted = tuple[str, date, str]
#: (party id, transaction date): the narrowest filter QuickBooks' query allows.
_Pair = tuple[str, date]
#: Dates further apart than this are looked up in separate queries, so that one old and
#: one new date in a chunk do not fetch every transaction in between.
_LOOKUP_SPAN = timedelta(days=31)


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


class MarkerLookup:
    """Finds records by the ``PrivateNote`` marker (invoices, payments, purchase orders).

    A lookup reads the (party, date) pairs it is asked about in a projection (``SELECT
    Id, PrivateNote, <party>, TxnDate``: a fraction of the bytes of whole records), and
    then the whole records of only the wanted matches (``Id IN (...)``).

    ``memo=True`` keeps what each (party, date) held when first asked, for one bulk
    run: a run's chunks of one busy customer's day then page through it once, not once
    per chunk, and chunks asking about the same pair at the same moment wait for one
    read instead of each making their own. Invoices the run itself writes are not
    needed there: a repeated external id within a run is settled by the bulk engine,
    and a lookup after an unknown outcome (``fresh``) always asks QuickBooks.
    """

    def __init__(self, entity: str, *, memo: bool = False) -> None:
        self.entity = entity
        self.party_field = "VendorRef" if entity == "PurchaseOrder" else "CustomerRef"
        self._memo: dict[_Pair, dict[str, str]] | None = {} if memo else None
        self._lock = threading.Lock()
        self._pair_locks: dict[_Pair, threading.Lock] = {}

    def find(
        self, client: QuickBooksClient, wants: Sequence[Wanted], *, fresh: bool = False
    ) -> dict[str, dict[str, Any]]:
        """The records whose marker holds one of these external ids, by external id."""
        pairs = {(party, day) for party, day, _ in wants}
        rows = self._rows(client, pairs) if fresh else self._remembered(client, pairs)
        ids = {
            key: rows[(party, day)][key]
            for party, day, key in wants
            if key in rows.get((party, day), {})
        }
        return self._records(client, ids)

    def _remembered(
        self, client: QuickBooksClient, pairs: set[_Pair]
    ) -> dict[_Pair, dict[str, str]]:
        """The markers of these pairs, each pair read at most once per memo (one reader
        at a time per pair; the others wait for its answer)."""
        if self._memo is None:
            return self._rows(client, pairs)
        memo = self._memo
        with self._lock:
            locks = [self._pair_locks.setdefault(p, threading.Lock()) for p in sorted(pairs)]
        for lock in locks:  # in sorted order: two chunks never wait for each other
            lock.acquire()
        try:
            with self._lock:
                missing = {p for p in pairs if p not in memo}
            fetched = self._rows(client, missing) if missing else {}
            with self._lock:
                memo.update(fetched)
                return {p: memo[p] for p in pairs}
        finally:
            for lock in locks:
                lock.release()

    def _rows(self, client: QuickBooksClient, pairs: set[_Pair]) -> dict[_Pair, dict[str, str]]:
        """The Id of every marked record of these (party, date) pairs, by pair and marker.

        ``CustomerRef IN (...)`` (``=`` for one) and ``TxnDate`` equal to the one date
        or within the range of a few close ones (far-apart dates get their own query);
        every page is read (``MAXRESULTS 1000``). Of two records with one marker (an
        old duplicate), the older (lower Id) is the one reported."""
        found: dict[_Pair, dict[str, str]] = {pair: {} for pair in pairs}
        for parties, low, high in _lookup_groups(pairs):
            query = Query(self.entity).select("Id", "PrivateNote", self.party_field, "TxnDate")
            if self.party_field == "VendorRef":
                pass  # PurchaseOrder VendorRef is not filterable (QBO 4001): matched below
            elif len(parties) == 1:
                query = query.where(self.party_field, "=", parties[0])
            else:
                query = query.where_in(self.party_field, parties)
            if low == high:
                query = query.where("TxnDate", "=", low)
            else:
                query = query.where("TxnDate", ">=", low).where("TxnDate", "<=", high)
            for row in client.iter_query(query):
                marker = rec.external_id_in(row.get("PrivateNote"))
                party = _ref_id(row.get(self.party_field))
                day = _day_of(row.get("TxnDate"))
                held = found.get((party, day)) if party and day else None
                if marker is not None and held is not None and row.get("Id") is not None:
                    held.setdefault(marker, str(row["Id"]))
        return found

    def _records(self, client: QuickBooksClient, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
        """The whole records of these ``{external id: Id}`` matches (30 per query)."""
        by_id = {record_id: key for key, record_id in ids.items()}
        wanted = list(by_id)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), BATCH_LIMIT):
            query = Query(self.entity).where_in("Id", wanted[start : start + BATCH_LIMIT])
            for row in client.query_page(query):
                key = by_id.get(str(row.get("Id")))
                if key is not None and rec.external_id_in(row.get("PrivateNote")) == key:
                    found[key] = row
        return found

    def scan(self, client: QuickBooksClient, external_id: str) -> dict[str, Any] | None:
        """Newest first through every record: fine for recent ones, slow on large books."""
        query = Query(self.entity).order_by("MetaData.CreateTime", descending=True)
        for row in client.iter_query(query):
            if rec.external_id_in(row.get("PrivateNote")) == external_id:
                return row
        return None


class PrivateNoteMarker:
    """The default layout: the key only in the marker, DocNumber a human number."""

    field: ExternalIdField = "PrivateNote"
    server_guard = False

    def __init__(self, *, memo: bool = False) -> None:
        self._lookup = MarkerLookup("Invoice", memo=memo)

    def for_run(self) -> PrivateNoteMarker:
        """A copy for one bulk run, remembering each customer's day once fetched."""
        return PrivateNoteMarker(memo=True)

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


def _ref_id(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("value") is not None:
        return str(value["value"])
    return None


def _day_of(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _lookup_groups(pairs: Iterable[_Pair]) -> list[tuple[list[str], date, date]]:
    """(parties, first date, last date) per lookup query for these pairs.

    Dates are grouped while they stay within :data:`_LOOKUP_SPAN` of a group's first
    date; each group's parties go into ``IN`` lists of at most :data:`BATCH_LIMIT`.
    Usually a chunk is one customer set and one day: one query."""
    by_day: dict[date, set[str]] = {}
    for party, day in pairs:
        by_day.setdefault(day, set()).add(party)
    groups: list[tuple[list[str], date, date]] = []
    days = sorted(by_day)
    start = 0
    while start < len(days):
        end = start
        while end + 1 < len(days) and days[end + 1] - days[start] <= _LOOKUP_SPAN:
            end += 1
        parties = sorted(set().union(*(by_day[d] for d in days[start : end + 1])))
        for first in range(0, len(parties), BATCH_LIMIT):
            groups.append((parties[first : first + BATCH_LIMIT], days[start], days[end]))
        start = end + 1
    return groups
