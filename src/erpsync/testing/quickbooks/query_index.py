"""Per-entity indexes that let FakeQuickBooks answer a query without scanning its books.

A company with 100,000 invoices must answer ``WHERE DocNumber = '1042'`` or a feed's
``WHERE MetaData.LastUpdatedTime >= '...'`` as fast as an empty one, or every benchmark
of a client measures the emulator instead. The indexes here only ever *narrow* the
candidate records: :func:`~erpsync.testing.quickbooks.query.run_query` still applies
every condition to each candidate exactly as a full scan would, so an index may return a
superset (never a subset) of the matches and the answers stay the scan's answers.

Kept per entity: the ids in insertion order (the default ``ORDER BY Id`` when ids grow
with it, and positional pages), and per indexed field one map from a normalised key to
the ids holding it (one id, or an insertion-ordered ``dict`` of ids) with the distinct
keys sorted for ranges: folded text, the number a numeric text spells (a float: a
collision only widens the answer), the instant a date-time names (its timestamp).
Values that are not strings are kept aside and are candidates for every lookup. A
canonical ``Id`` ("1", "42") costs nothing: it is looked up in the records themselves.

Memory matters as much as speed (issue 13: under 3 KB a stored invoice, index
included): no per-record tuples, no ``Decimal`` or ``datetime`` keys, a set only for
keys that several records share.

Over ~400 lines: the index kinds (unique keys, equality, ranges, text prefixes,
creation order) and the walks over them must change together, and every one is
checked against a full scan by the same hypothesis tests; splitting them would only
spread one data structure's invariants over several files.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, overload

from erpsync.testing.quickbooks.clock import parse_instant

__all__ = ["INDEXED_FIELDS", "Candidates", "EntityIndex", "IndexedRecords", "lookup"]

#: The fields clients filter on (lookups, feeds, change data capture, name searches).
INDEXED_FIELDS = (
    "Id",
    "DocNumber",
    "CustomerRef",
    "VendorRef",
    "TxnDate",
    "MetaData.LastUpdatedTime",
    "DisplayName",
)

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_CANONICAL_ID = re.compile(r"0|[1-9][0-9]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SLACK = 1e-3  # seconds: float timestamps widen instant ranges, never narrow them

#: One key's holders: the one id, or the ids in the order they were added.
Held = str | dict[str, None]


def lookup(record: Mapping[str, Any], path: str) -> Any:
    """A dotted, case-insensitive field; a reference (``CustomerRef``) compares by value."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        if part in current:
            current = current[part]
            continue
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return None
        current = current[key]
    if isinstance(current, dict) and "value" in current:
        return current["value"]
    return current


def _instant(text: str) -> float | None:
    moment = parse_instant(text)
    return None if moment is None else moment.timestamp()


def _number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return float(Decimal(text))
    except (InvalidOperation, OverflowError):  # pragma: no cover - _NUMBER guards
        return None


def id_seq(record_id: str) -> int:
    """The insertion rank of a canonical id when ids grow with insertion (its value)."""
    return int(record_id)


class Candidates:
    """Ids that may satisfy one condition, as the index holds them (nothing copied):
    ``size`` is known without reading them, ``ids()`` lists them once."""

    __slots__ = ("parts", "size")

    def __init__(self, parts: list[Held]) -> None:
        self.parts = parts
        self.size = sum(1 if isinstance(p, str) else len(p) for p in parts)

    def ids(self) -> Iterator[str]:
        seen: set[str] = set()
        for part in self.parts:
            for record_id in (part,) if isinstance(part, str) else part:
                if record_id not in seen:
                    seen.add(record_id)
                    yield record_id

    def ordered(self, seq: Any, *, reverse: bool = False) -> Iterator[str]:
        """The ids in ``seq`` order (each part is kept sorted by :class:`_FieldIndex`)."""
        runs = [
            (p,) if isinstance(p, str) else (reversed(p) if reverse else iter(p))
            for p in self.parts
        ]
        merged = runs[0] if len(runs) == 1 else heapq.merge(*runs, key=seq, reverse=reverse)
        last: str | None = None
        for record_id in merged:
            if record_id != last:  # IN ('1', '1') names one record twice
                yield record_id
            last = record_id


class _FieldIndex:
    """One field's lookups; all answers are supersets of the true matches.

    Each id collection is kept in insertion (``seq``) order: a record that moves to a
    key out of order marks the key, and the key is re-sorted when next read in order.
    """

    def __init__(self) -> None:
        self.equal: dict[Hashable, Held] = {}
        self.texts: list[str] = []
        self.numbers: list[float] = []
        self.instants: list[float] = []
        self.odd: dict[str, None] = {}  # non-string values: candidates for everything
        self.numeric = 0  # records holding a numeric text (compared as text by some)
        self.timed = 0  # records holding a date-time text (likewise)
        self.unsorted: set[Hashable] = set()

    @staticmethod
    def _key(value: str) -> tuple[int, Hashable]:
        """Which sorted list the value's key lives in (0 numbers, 1 instants, 2 texts,
        as ``query._comparable`` reads a stored value), and the key."""
        if (number := _number(value)) is not None:
            return 0, number
        if "T" in value and _DATE.match(value) and (moment := _instant(value)) is not None:
            return 1, moment
        folded = value.lower()
        return 2, value if folded == value else folded

    def _sorted(self, kind: int) -> list[Any]:
        return (self.numbers, self.instants, self.texts)[kind]

    def change(self, record_id: str, value: Any, adding: bool, seq: Any) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            if adding:
                self.odd[record_id] = None
                self._order(self.odd, record_id, seq, None)
            else:
                self.odd.pop(record_id, None)
            return
        kind, key = self._key(value)
        step = 1 if adding else -1
        if kind == 0:
            self.numeric += step
        elif kind == 1:
            self.timed += step
        held = self.equal.get(key)
        if adding:
            if held is None:
                self.equal[key] = record_id
                insort(self._sorted(kind), key)
            elif isinstance(held, str):
                if held != record_id:
                    self.equal[key] = ids = {held: None, record_id: None}
                    self._order(ids, record_id, seq, key)
            else:
                held[record_id] = None
                self._order(held, record_id, seq, key)
            return
        if held is None:
            return
        if isinstance(held, str) or (record_id in held and len(held) == 1):
            if isinstance(held, str) and held != record_id:
                return
            del self.equal[key]
            self.unsorted.discard(key)
            keys = self._sorted(kind)
            at = bisect_left(keys, key)
            if at < len(keys) and keys[at] == key:
                del keys[at]
            return
        held.pop(record_id, None)
        if len(held) == 1:
            self.equal[key] = next(iter(held))
            self.unsorted.discard(key)

    def _order(self, ids: dict[str, None], record_id: str, seq: Any, key: Hashable) -> None:
        """Note a key whose ids are no longer in insertion order (``record_id`` was
        added last but is older than the one before it)."""
        if seq is None or len(ids) < 2:
            return
        newest_first = reversed(ids)
        next(newest_first)
        if seq(next(newest_first)) > seq(record_id):
            self.unsorted.add(("odd",) if key is None else key)

    def held(self, key: Hashable, seq: Any) -> Held | None:
        """The ids of ``key``, re-sorted first if a write left them out of order."""
        found = self.equal.get(key)
        if isinstance(found, dict) and key in self.unsorted and seq is not None:
            self.equal[key] = found = dict.fromkeys(sorted(found, key=seq))
            self.unsorted.discard(key)
        return found

    def _odd(self, seq: Any) -> list[Held]:
        if not self.odd:
            return []
        if ("odd",) in self.unsorted and seq is not None:
            self.odd = dict.fromkeys(sorted(self.odd, key=seq))
            self.unsorted.discard(("odd",))
        return [self.odd]

    def equals(self, literals: Iterable[Any], seq: Any) -> Candidates | None:
        parts = self._odd(seq)
        for literal in literals:
            if isinstance(literal, bool):
                return None
            text = str(literal)
            keys: list[Hashable] = [text.lower()]
            if (number := _number(text)) is not None:
                keys.append(number)
            if (moment := _instant(text)) is not None:
                keys.append(moment)
            elif self.timed:
                return None  # a date-time text then compares as text: not indexed so
            for key in keys:
                found = self.held(key, seq)
                if found is not None:
                    parts.append(found)
        return Candidates(parts)

    def prefix(self, pattern: str, seq: Any) -> Candidates | None:
        start = pattern.lower().split("%", 1)[0]
        if not start or self.numeric or self.timed:
            return None  # LIKE reads every value as text
        parts = self._odd(seq)
        for key in self.texts[bisect_left(self.texts, start) :]:
            if not key.startswith(start):
                break
            parts.append(self.held(key, seq) or "")
        return Candidates([p for p in parts if p != ""])

    def span(self, operator: str, literal: Any, seq: Any) -> Candidates | None:
        if isinstance(literal, bool):
            return None
        text = str(literal)
        number, moment = _number(text), _instant(text)
        if (self.numeric and number is None) or (self.timed and moment is None):
            return None  # those values then compare as text, which they are not kept as
        keys = _slice(self.texts, operator, text.lower(), text.lower())
        if number is not None:
            keys += _slice(self.numbers, operator, number, number)
        if moment is not None:
            keys += _slice(self.instants, operator, moment - _SLACK, moment + _SLACK)
        parts = self._odd(seq)
        for key in keys:
            found = self.held(key, seq)
            if found is not None:
                parts.append(found)
        return Candidates(parts)


def _slice(items: Sequence[Any], operator: str, low: Any, high: Any) -> list[Any]:
    """The keys that may satisfy ``key <operator> bound`` (bounds inclusive: wider)."""
    if operator in (">", ">="):
        return list(items[bisect_left(items, low) :])
    return list(items[: bisect_right(items, high)])


class Cursors:
    """Walks paused at the end of a page, so that the next page of the same query goes
    on from there instead of reading and skipping every earlier row again (a client
    reading 10,000 matches in pages of 1,000 would otherwise make the emulator read
    55,000). Any write to the entity forgets them all: a walk is only resumed over the
    very books it started on."""

    LIMIT = 16

    def __init__(self) -> None:
        self._paused: OrderedDict[Hashable, tuple[int, Iterator[Any]]] = OrderedDict()

    def keep(self, key: Hashable, position: int, walk: Iterator[Any]) -> None:
        """``walk`` has yielded the first ``position`` matches of the query ``key``."""
        self._paused[key] = (position, walk)
        self._paused.move_to_end(key)
        while len(self._paused) > self.LIMIT:
            self._paused.popitem(last=False)

    def resume(self, key: Hashable, position: int) -> Iterator[Any] | None:
        """The walk of ``key`` paused after ``position`` matches, if there is one."""
        paused = self._paused.pop(key, None)
        if paused is None or paused[0] != position:
            return None
        return paused[1]

    def forget(self) -> None:
        self._paused.clear()


class EntityIndex:
    """The indexes of one entity's records, kept in step by ``Company`` on every write.

    ``examined`` counts the records a query evaluated its conditions on: a debug counter
    for tests that prove a filtered query's work stays flat as the books grow.
    """

    def __init__(self) -> None:
        self.fields = {name: _FieldIndex() for name in INDEXED_FIELDS if name != "Id"}
        #: Ids that are not canonical numbers ("TAX", "007"), indexed like a field.
        self.other_ids = _FieldIndex()
        #: Every id in insertion order; deleted ones stay until the next positional read.
        self.order: list[str] = []
        self.deleted: set[str] = set()
        self.id_ordered = True  # insertion order is ascending Id order
        self.create_ordered = True  # ... and MetaData.CreateTime never goes back
        self.examined = 0
        #: Paused walks of paged queries (see :class:`Cursors`).
        self.cursors = Cursors()
        self._last_id: tuple[int, Any] | None = None
        self._last_created: float | None = None

    @property
    def seq(self) -> Any:
        """The key that sorts ids in insertion order, or None when ids do not grow."""
        return id_seq if self.id_ordered else None

    def change(
        self, record_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        """Reflect one write: ``old`` is the version replaced (``None`` on insert),
        ``new`` the version stored (``None`` on delete)."""
        self.cursors.forget()
        if old is None and new is not None:
            self._append(record_id, new)
        seq = self.seq
        for name, index in self.fields.items():
            before = None if old is None else lookup(old, name)
            after = None if new is None else lookup(new, name)
            if old is not None and new is not None and before == after:
                continue
            if old is not None:
                index.change(record_id, before, False, seq)
            if new is not None:
                index.change(record_id, after, True, seq)
        if (old is None or new is None) and not _CANONICAL_ID.fullmatch(record_id):
            self.other_ids.change(record_id, record_id, new is not None, seq)
        if new is None:
            self.deleted.add(record_id)

    def _append(self, record_id: str, record: dict[str, Any]) -> None:
        if record_id in self.deleted:
            self.live_order()
        self.order.append(record_id)
        canonical = _CANONICAL_ID.fullmatch(record_id) is not None
        key = (0, int(record_id)) if canonical else (1, record_id)
        if not canonical or (self._last_id is not None and not key > self._last_id):
            self.id_ordered = False
        self._last_id = key
        created = lookup(record, "MetaData.CreateTime")
        moment = _instant(created) if isinstance(created, str) else None
        if moment is None or (self._last_created is not None and moment < self._last_created):
            self.create_ordered = False
        self._last_created = moment

    def live_order(self) -> list[str]:
        """The ids of the stored records in insertion order (drops the deleted first)."""
        if self.deleted:
            gone = self.deleted
            self.order = [i for i in self.order if i not in gone]
            self.deleted = set()
        return self.order

    def candidates(self, field_name: str, operator: str, literal: Any) -> Candidates | None:
        """Ids that may satisfy one condition, or ``None`` when no index applies."""
        seq = self.seq
        if field_name.lower() == "id":
            return self._ids(operator, literal)
        index = next((i for n, i in self.fields.items() if n.lower() == field_name.lower()), None)
        if index is None or operator == "!=":
            return None  # "!=" keeps nearly every record: a scan is as good
        if operator == "=":
            return index.equals([literal], seq)
        if operator == "in":
            return index.equals(literal, seq)
        if operator == "like":
            return index.prefix(str(literal), seq)
        return index.span(operator, literal, seq)

    def _ids(self, operator: str, literal: Any) -> Candidates | None:
        """``Id =`` and ``Id IN``: the canonical form of each number, plus the other ids
        that may compare equal (ranges and LIKE on Id are scanned)."""
        if operator not in ("=", "in"):
            return None
        literals = literal if operator == "in" else (literal,)
        found = self.other_ids.equals(literals, self.seq)
        if found is None:
            return None
        parts = list(found.parts)
        for value in literals:
            text = str(value)
            if _NUMBER.fullmatch(text):
                number = Decimal(text)
                if number == number.to_integral_value() and number >= 0:
                    parts.append(str(int(number)))
        return Candidates(parts)


class IndexedRecords(Sequence[dict[str, Any]]):
    """An entity's stored records in insertion order, with their :class:`EntityIndex`."""

    def __init__(self, records: Mapping[str, dict[str, Any]], index: EntityIndex) -> None:
        self.records = records
        self.entity_index = index

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records.values())

    @overload
    def __getitem__(self, at: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, at: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, at: int | slice) -> dict[str, Any] | Sequence[dict[str, Any]]:
        return list(self.records.values())[at]

    def existing(self, ids: Iterable[str]) -> Iterator[dict[str, Any]]:
        """The stored records of ``ids`` (ids of no record are skipped)."""
        records = self.records
        return (records[i] for i in ids if i in records)

    def reversed_order(self) -> Iterator[dict[str, Any]]:
        return self.existing(reversed(self.entity_index.live_order()))

    def window(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Records ``start:stop`` of the insertion order, without reading the rest."""
        order = self.entity_index.live_order()
        return [self.records[i] for i in order[start:stop]]
