"""How FakeQuickBooks keeps a record small and hands out copies of it fast.

A company may hold 100,000 invoices (issue 13: under 3 KB each, indexes included), and
most of an invoice repeats what others hold: field names, the customer and item
references, the currency, the tax detail, the dates. :class:`Compactor` stores each
record with those shared: names interned, reference and detail objects (small dicts of
plain values, not list items, not ``MetaData``) kept once per distinct content, equal
values within one record kept once, dates interned.

Sharing is safe because a stored record is never changed in place: a write stores a
new version, and whatever leaves the books is a :func:`clone`. Code that needs a
changed copy of a stored record must :func:`clone` it first.

:func:`clone` is the copy for JSON-shaped values (dicts, lists, scalars): several times
faster than ``copy.deepcopy``, which memoises every object it meets.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TypeVar

__all__ = ["Compactor", "clone"]

#: Distinct shared objects kept at most (then new contents are stored unshared).
SHARED_LIMIT = 50_000

T = TypeVar("T")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNSHARED_PARENTS = frozenset({"MetaData"})


def clone(value: T) -> T:
    """A deep copy of a JSON-shaped value (dicts, lists and tuples copied, the rest
    immutable and shared)."""
    return _clone(value)  # type: ignore[no-any-return]


def _clone(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _clone(v) for k, v in value.items()}
    if kind is list:
        return [_clone(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clone(v) for v in value)
    return value


class Compactor:
    """Stores records with their repeated parts shared (one per company)."""

    def __init__(self, limit: int = SHARED_LIMIT) -> None:
        self.limit = limit
        self._shared: dict[tuple[Any, ...], dict[str, Any]] = {}

    def compact(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` as it is stored: the same content, its repeats shared."""
        memo: dict[tuple[type, Any], Any] = {}
        return {
            sys.intern(k) if type(k) is str else k: self._value(v, k, memo, False)[0]
            for k, v in record.items()
        }

    def _value(
        self, value: Any, key: Any, memo: dict[tuple[type, Any], Any], in_list: bool
    ) -> tuple[Any, Any]:
        """The stored form of ``value`` and its share token (None: not shareable)."""
        kind = type(value)
        if kind is dict:
            return self._dict(value, key, memo, in_list)
        if kind is list:
            return [self._value(v, key, memo, True)[0] for v in value], None
        if kind is str:
            if len(value) == 10 and _DATE.fullmatch(value):
                value = sys.intern(value)
            value = memo.setdefault((kind, value), value)
            return value, (kind, value) if len(value) <= 64 else None
        if kind in (int, float, bool) or value is None:
            value = memo.setdefault((kind, value), value)
            return value, (kind, value) if kind is not float else None
        return value, None  # anything else is kept as given, unshared

    def _dict(
        self, value: dict[Any, Any], key: Any, memo: dict[tuple[type, Any], Any], in_list: bool
    ) -> tuple[Any, Any]:
        out: dict[Any, Any] = {}
        tokens: list[Any] = []
        for k, v in value.items():
            name = sys.intern(k) if type(k) is str else k
            stored, token = self._value(v, k, memo, False)
            out[name] = stored
            tokens.append((name, token))
        if in_list or key in _UNSHARED_PARENTS or any(t is None for _, t in tokens):
            return out, None
        signature = tuple(tokens)
        shared = self._shared.get(signature)
        if shared is None:
            if len(self._shared) >= self.limit:
                return out, None
            shared = self._shared[signature] = out
        return shared, ("shared", id(shared))
