"""Per-entity indexes that let FakeQuickBooks answer a query without scanning its books.

A company with 100,000 invoices must answer ``WHERE DocNumber = '1042'`` or a feed's
``WHERE MetaData.LastUpdatedTime >= '...'`` as fast as an empty one, or every benchmark
of a client measures the emulator instead. The indexes here only ever *narrow* the
candidate records: :func:`~erpsync.testing.quickbooks.query.run_query` still applies
every condition to each candidate exactly as a full scan would, so an index may return a
superset (never a subset) of the matches and the answers stay the scan's answers.

Kept per entity: the insertion order of the ids (the default ``ORDER BY Id`` when ids
grow with it), and per indexed field an equality map from normalised keys to ids, the
string values sorted case-folded (ranges, ``LIKE 'prefix%'``) and the instants sorted by
time. Values that are not strings are kept aside and are candidates for every lookup.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, overload

from erpsync.testing.quickbooks.clock import parse_instant

__all__ = ["INDEXED_FIELDS", "EntityIndex", "IndexedRecords", "lookup"]

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
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SLACK = 1e-3  # seconds: float timestamps widen instant ranges, never narrow them
_LAST = float("inf")


def lookup(record: Mapping[str, Any], path: str) -> Any:
    """A dotted, case-insensitive field; a reference (``CustomerRef``) compares by value."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
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


def _keys(text: str, *, stored: bool) -> set[Hashable]:
    """Every key under which ``text`` can compare equal (see ``query._comparable``): the
    case-folded text, the number it spells, the instant it names (the types never collide)."""
    folded = text.lower()
    keys: set[Hashable] = {text if folded == text else folded}  # share the stored string
    if _NUMBER.fullmatch(text):
        keys.add(Decimal(text))
    if not stored or ("T" in text and _DATE.match(text)):
        moment = parse_instant(text)
        if moment is not None:
            keys.add(moment)
    return keys


class _FieldIndex:
    """One field's lookups; all answers are supersets of the true matches."""

    def __init__(self) -> None:
        #: key -> the one id holding it, or a set when several do (most keys are unique:
        #: a set per key would double the memory of a stored invoice).
        self.equal: dict[Hashable, str | set[str]] = {}
        self.texts: list[tuple[str, int, str]] = []
        self.instants: list[tuple[float, int, str]] = []
        self.numbers: set[str] = set()
        self.odd: set[str] = set()  # non-string values: candidates for everything

    def change(self, record_id: str, seq: int, value: Any, adding: bool) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            (self.odd.add if adding else self.odd.discard)(record_id)
            return
        for key in _keys(value, stored=True):
            self._hold(key, record_id, adding)
        _sorted_change(self.texts, (value.lower(), seq, record_id), adding)
        if "T" in value and _DATE.match(value) and (moment := _instant(value)) is not None:
            _sorted_change(self.instants, (moment, seq, record_id), adding)
        if _NUMBER.fullmatch(value):
            (self.numbers.add if adding else self.numbers.discard)(record_id)

    def _hold(self, key: Hashable, record_id: str, adding: bool) -> None:
        held = self.equal.get(key)
        ids = {held} if isinstance(held, str) else set(held or ())
        ids.add(record_id) if adding else ids.discard(record_id)
        if not ids:
            self.equal.pop(key, None)
        elif len(ids) == 1:
            self.equal[key] = next(iter(ids))
        elif isinstance(held, set):
            held.clear()
            held.update(ids)
        else:
            self.equal[key] = ids

    def equals(self, literals: Iterable[Any]) -> set[str] | None:
        found = set(self.odd)
        for literal in literals:
            if isinstance(literal, bool):
                return None
            for key in _keys(str(literal), stored=False):
                held = self.equal.get(key)
                if isinstance(held, str):
                    found.add(held)
                elif held is not None:
                    found |= held
        return found

    def prefix(self, pattern: str) -> set[str] | None:
        start = pattern.lower().split("%", 1)[0]
        if not start:
            return None
        found = set(self.odd)
        for text, _, record_id in self.texts[bisect_left(self.texts, (start,)) :]:
            if not text.startswith(start):
                break
            found.add(record_id)
        return found

    def span(self, operator: str, literal: Any) -> set[str] | None:
        if isinstance(literal, bool):
            return None
        text = str(literal)
        found = self.odd | _slice(self.texts, operator, text.lower(), "")
        if (moment := _instant(text)) is not None:
            found |= _slice(self.instants, operator, moment - _SLACK, moment + _SLACK)
        if _NUMBER.fullmatch(text):
            found |= self.numbers
        return found


def _sorted_change(items: list[Any], item: tuple[Any, int, str], adding: bool) -> None:
    if adding:
        insort(items, item)
        return
    at = bisect_left(items, item)
    if at < len(items) and items[at] == item:
        del items[at]


def _slice(items: Sequence[tuple[Any, int, str]], operator: str, low: Any, high: Any) -> set[str]:
    """Ids whose key may satisfy ``key <operator> bound``; ``low``/``high`` widen the bound."""
    if operator in (">", ">="):
        return {record_id for _, _, record_id in items[bisect_left(items, (low,)) :]}
    bound = high if high != "" else low
    return {record_id for _, _, record_id in items[: bisect_right(items, (bound, _LAST))]}


class EntityIndex:
    """The indexes of one entity's records, kept in step by ``Company`` on every write.

    ``examined`` counts the records a query evaluated its conditions on: a debug counter
    for tests that prove a filtered query's work stays flat as the books grow.
    """

    def __init__(self) -> None:
        self.seq: dict[str, int] = {}
        self.fields = {name: _FieldIndex() for name in INDEXED_FIELDS}
        self.id_ordered = True  # insertion order is ascending Id order
        self.examined = 0
        self._next = 0
        self._last_id: tuple[int, Any] | None = None

    def change(
        self, record_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        """Reflect one write: ``old`` is the version replaced (``None`` on insert),
        ``new`` the version stored (``None`` on delete)."""
        if old is None and new is not None:
            self._append(record_id)
        seq = self.seq[record_id]
        for name, index in self.fields.items():
            before = None if old is None else lookup(old, name)
            after = None if new is None else lookup(new, name)
            if old is not None and new is not None and before == after:
                continue
            if old is not None:
                index.change(record_id, seq, before, adding=False)
            if new is not None:
                index.change(record_id, seq, after, adding=True)
        if new is None:
            del self.seq[record_id]

    def _append(self, record_id: str) -> None:
        self.seq[record_id] = self._next
        self._next += 1
        key = (0, Decimal(record_id)) if _NUMBER.fullmatch(record_id) else (1, record_id)
        if self._last_id is not None and not key > self._last_id:
            self.id_ordered = False
        self._last_id = key

    def candidates(self, field_name: str, operator: str, literal: Any) -> set[str] | None:
        """Ids that may satisfy one condition, or ``None`` when no index applies."""
        index = next((i for n, i in self.fields.items() if n.lower() == field_name.lower()), None)
        if index is None or operator == "!=":
            return None  # "!=" keeps nearly every record: a scan is as good
        if operator == "=":
            return index.equals([literal])
        if operator == "in":
            return index.equals(literal)
        if operator == "like":
            return index.prefix(str(literal))
        return index.span(operator, literal)


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

    def ordered(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The records of ``ids``, in insertion order (as a scan would meet them)."""
        return [self.records[i] for i in sorted(ids, key=self.entity_index.seq.__getitem__)]
