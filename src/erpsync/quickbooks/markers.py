"""Finding QuickBooks records by their ``PrivateNote`` marker, at a cost that stays flat.

QuickBooks cannot filter on ``PrivateNote`` (WIRE.md), so the only proof that no record
of a (party, date) holds an external id is to read every record of that pair. Done
naively per write, that costs one page per 1,000 records of the pair on every create:
the cost grows with the books. :class:`MarkerLookup` keeps it flat:

* it reads a projection (``SELECT Id, PrivateNote, <party>, TxnDate, MetaData``), a
  fraction of the bytes of whole records, and whole records only for the matches
  (``Id IN (...)``);
* it keeps, for the life of the backend, an index of each pair it has read (marker ->
  Id) and a **watermark**: the latest ``MetaData.LastUpdatedTime`` QuickBooks showed for
  the pair. The next lookup of the pair asks only for what changed since
  (``MetaData.LastUpdatedTime >= watermark - margin``): the records written or edited
  since, by anyone, usually a handful. The margin covers a write committed with an
  earlier timestamp than one already seen but made visible after it. The watermark
  only ever comes from QuickBooks' answers, never from our own clock or writes;
* a match is confirmed by reading the record (its marker must still hold the key), so
  a record deleted or re-marked since it was indexed is not reported;
* after a write whose outcome is unknown, ``fresh`` reads the whole pair again: only
  QuickBooks knows what it wrote;
* one bulk run (:meth:`MarkerLookup.for_run`) refreshes each pair once, however many
  chunks ask, and chunks asking at the same moment wait for one read.

The index holds about 150 bytes per record of the pairs touched, at most
:data:`MAX_PAIRS` pairs (the least recently used is forgotten and read whole again).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from erpsync.quickbooks import records as rec
from erpsync.quickbooks.client import BATCH_LIMIT, QuickBooksClient
from erpsync.quickbooks.query import Query
from erpsync.quickbooks.values import parse_timestamp

__all__ = ["CHANGE_MARGIN", "MAX_PAIRS", "MarkerLookup", "Wanted"]

#: (party id, transaction date, external id): what a marker lookup searches for.
Wanted = tuple[str, date, str]
#: (party id, transaction date): the narrowest filter QuickBooks' query allows.
_Pair = tuple[str, date]
#: Dates further apart than this are looked up in separate queries, so that one old and
#: one new date in a chunk do not fetch every transaction in between.
_LOOKUP_SPAN = timedelta(days=31)
#: How far before the watermark a refresh looks (see the module docstring).
CHANGE_MARGIN = timedelta(seconds=10)
#: Pairs indexed at most, per entity and backend.
MAX_PAIRS = 64


@dataclass
class _Indexed:
    """What QuickBooks showed of one (party, date): marker -> Id, and the watermark."""

    ids: dict[str, str] = field(default_factory=dict)
    watermark: datetime | None = None


class MarkerLookup:
    """Finds records by the ``PrivateNote`` marker (invoices, payments, purchase orders);
    see the module docstring."""

    def __init__(self, entity: str, *, index: _Index | None = None) -> None:
        self.entity = entity
        self.party_field = "VendorRef" if entity == "PurchaseOrder" else "CustomerRef"
        self._index = index if index is not None else _Index()
        #: Set in a run's view: the pairs this run has refreshed already.
        self._refreshed: set[_Pair] | None = None

    def for_run(self) -> MarkerLookup:
        """A view for one bulk run: each pair refreshed at most once, however many chunks
        ask (the run's own writes are settled by the bulk engine, not by lookups)."""
        view = MarkerLookup(self.entity, index=self._index)
        view._refreshed = set()
        return view

    def find(
        self, client: QuickBooksClient, wants: Sequence[Wanted], *, fresh: bool = False
    ) -> dict[str, dict[str, Any]]:
        """The records whose marker holds one of these external ids, by external id."""
        pairs = {(party, day) for party, day, _ in wants}
        with self._index.holding(pairs):
            known = {pair: self._index.get(pair) for pair in pairs}
            whole = {p for p, k in known.items() if fresh or k is None or k.watermark is None}
            changed = {
                p for p in pairs - whole if self._refreshed is None or p not in self._refreshed
            }
            if whole:
                self._read(client, whole, {})
            if changed:
                self._read(client, changed, {p: known[p] for p in changed})  # type: ignore[misc]
            if self._refreshed is not None:
                self._refreshed.update(pairs)
            indexed = {pair: self._index.get(pair) or _Indexed() for pair in pairs}
        ids = {
            key: indexed[(party, day)].ids[key]
            for party, day, key in wants
            if key in indexed[(party, day)].ids
        }
        return self._records(client, ids)

    def _read(
        self, client: QuickBooksClient, pairs: set[_Pair], known: dict[_Pair, _Indexed]
    ) -> None:
        """Index these pairs: read whole (not in ``known``) or only what changed since
        the earliest of their watermarks. ``CustomerRef IN (...)`` (``=`` for one) and
        ``TxnDate`` equal to the one date or within the range of a few close ones
        (far-apart dates get their own query); every page is read (``MAXRESULTS
        1000``). Of two records with one marker (an old duplicate) the older (lower Id)
        is the one reported."""
        found = {pair: known.get(pair) or _Indexed() for pair in pairs}
        marks = [k.watermark for k in known.values() if k.watermark is not None]
        since = min(marks) - CHANGE_MARGIN if marks and len(marks) == len(pairs) else None
        for parties, low, high in _lookup_groups(pairs):
            query = Query(self.entity).select(
                "Id", "PrivateNote", self.party_field, "TxnDate", "MetaData"
            )
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
            if since is not None:
                query = query.where("MetaData.LastUpdatedTime", ">=", since)
            for row in client.iter_query(query):
                party, day = _ref_id(row.get(self.party_field)), _day_of(row.get("TxnDate"))
                held = found.get((party, day)) if party and day else None
                if held is not None:
                    _index_row(held, row)
        for pair, indexed in found.items():
            self._index.put(pair, indexed)

    def _records(self, client: QuickBooksClient, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
        """The whole records of these ``{external id: Id}`` matches (30 per query), each
        still holding its marker."""
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


class _Index:
    """The pairs a backend has read, least recently used first, and one lock per pair
    so that two threads asking about one pair make one read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pairs: OrderedDict[_Pair, _Indexed] = OrderedDict()
        self._locks: dict[_Pair, threading.Lock] = {}

    def get(self, pair: _Pair) -> _Indexed | None:
        with self._lock:
            known = self._pairs.get(pair)
            if known is not None:
                self._pairs.move_to_end(pair)
            return known

    def put(self, pair: _Pair, known: _Indexed) -> None:
        with self._lock:
            self._pairs[pair] = known
            self._pairs.move_to_end(pair)
            while len(self._pairs) > MAX_PAIRS:
                self._pairs.popitem(last=False)

    def holding(self, pairs: Iterable[_Pair]) -> _Held:
        with self._lock:
            locks = [self._locks.setdefault(p, threading.Lock()) for p in sorted(pairs)]
        return _Held(locks)


class _Held:
    """The locks of some pairs, taken in sorted order (two lookups never wait for each
    other) and released together."""

    def __init__(self, locks: list[threading.Lock]) -> None:
        self._locks = locks

    def __enter__(self) -> None:
        for lock in self._locks:
            lock.acquire()

    def __exit__(self, *exc: object) -> None:
        for lock in reversed(self._locks):
            lock.release()


def _index_row(held: _Indexed, row: dict[str, Any]) -> None:
    """Add one projected row to a pair's index and move its watermark."""
    marker = rec.external_id_in(row.get("PrivateNote"))
    if marker is not None and row.get("Id") is not None:
        current = held.ids.get(marker)
        if current is None or _id_order(str(row["Id"])) < _id_order(current):
            held.ids[marker] = str(row["Id"])
    stamp = _updated(row)
    if stamp is not None and (held.watermark is None or stamp > held.watermark):
        held.watermark = stamp


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


def _updated(row: dict[str, Any]) -> datetime | None:
    meta = row.get("MetaData")
    return parse_timestamp(meta.get("LastUpdatedTime")) if isinstance(meta, dict) else None


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 62, value)


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
