"""SuiteQL's ``totalResults`` without counting the same rows again and again.

Every SuiteQL page says how many rows the whole query has, so NetSuite (and a plain
emulator) counts them all for every page: paging through 100,000 invoices by offset
counts 100,000 rows a hundred times, and by keyset (``id > last``, what erpsync's
``iter_*`` send) counts what remains past each page. :class:`Totals` answers the same
number from what it learnt, for as long as the account's data has not changed
(:attr:`Database.version`, moved by every committed write):

* the total of a query text it has counted is remembered (offset paging: one count);
* for a keyset page, ``SELECT * FROM (<query>) [WHERE <key> > <n>] ORDER BY <key>``
  (:func:`erpsync.netsuite.query.keyset_page_query`'s shape) over integer keys, the
  second page of the same ``<query>`` reads its keys once, sorted, and every later
  page's total is a binary search: the rows past ``n``, exactly what COUNT would say.
  (The first page just counts: with writes between pages, as during a sync, reading
  the keys would cost more than the count it saves.)

What depends on more than the data is never reused across what it depends on: the
account's time zone is part of every key, and a query reading the clock (``SYSDATE``,
``CURRENT_DATE``) also keys on the emulator's time. A query with a non-deterministic
SQLite function (``random()``, ``'now'``) is counted every time. Anything else, keys that
are not all integers included, is counted as before.
"""

from __future__ import annotations

import re
import sqlite3
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from erpsync.testing.netsuite.db import Database

__all__ = ["Totals"]

_KEYSET = re.compile(
    r"\s*SELECT\s+\*\s+FROM\s+\((?P<inner>.+)\)\s*"
    r"(?:WHERE\s+(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*>\s*(?P<last>-?\d+)\s+)?"
    r"ORDER\s+BY\s+(?P<order>[A-Za-z_][A-Za-z0-9_]*)\s*",
    re.S | re.I,
)
_VOLATILE = ("random", "'now'", "changes(", "last_insert_rowid")
_REMEMBERED = 64
_KEY_LISTS = 4


def _balanced(sql: str) -> bool:
    """Whether ``sql`` is one parenthesised whole (never closes more than it opened),
    string literals and quoted names aside: then ``(sql)`` is the subquery the regular
    expression took it for."""
    depth = 0
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


class _Keys:
    """A keyset query's keys, sorted, and how many rows had none (NULL)."""

    __slots__ = ("nulls", "sorted")

    def __init__(self, values: array[int], nulls: int) -> None:
        self.sorted = values
        self.nulls = nulls

    def past(self, last: int | None) -> int:
        """Rows with a key above ``last`` (every row when there is no ``last``)."""
        if last is None:
            return len(self.sorted) + self.nulls
        return len(self.sorted) - bisect_right(self.sorted, last)


class Totals:
    """The remembered totals of one account's SuiteQL queries."""

    def __init__(self, db: Database, context: Callable[[str], Hashable]) -> None:
        self.db = db
        #: What a query's answer depends on besides the data (zone, clock), by its text.
        self._context = context
        self._totals: OrderedDict[Hashable, int] = OrderedDict()
        self._keys: OrderedDict[Hashable, _Keys | None] = OrderedDict()
        self._seen: set[Hashable] = set()
        self._version = -1

    def total(self, conn: sqlite3.Connection, sql: str) -> int:
        """How many rows ``sql`` (translated SuiteQL) answers. Call with the database
        lock held; SQLite errors come out as the plain count would raise them."""
        lowered = sql.lower()
        if any(word in lowered for word in _VOLATILE):
            return _count(conn, sql)
        if self.db.version != self._version:
            self._totals.clear()
            self._keys.clear()
            self._seen.clear()
            self._version = self.db.version
        context = self._context(lowered)
        remembered = self._totals.get((sql, context))
        if remembered is not None:
            self._totals.move_to_end((sql, context))
            return remembered
        total = self._keyset_total(conn, sql, context)
        if total is None:
            total = _count(conn, sql)
        self._totals[(sql, context)] = total
        if len(self._totals) > _REMEMBERED:
            self._totals.popitem(last=False)
        return total

    def _keyset_total(self, conn: sqlite3.Connection, sql: str, context: Hashable) -> int | None:
        match = _KEYSET.fullmatch(sql)
        if match is None or not _balanced(match["inner"]):
            return None
        key, order = match["key"], match["order"]
        if key is not None and key.lower() != order.lower():
            return None
        name = (match["inner"], order.lower(), context)
        if name not in self._keys:
            if name not in self._seen:  # the first page of this query: just count
                self._seen.add(name)
                where = "" if key is None else f" WHERE {key} > {match['last']}"
                # The same rows without the ORDER BY, which a count does not need.
                return _count(conn, f"SELECT * FROM ({match['inner']}){where}")  # noqa: S608
            self._keys[name] = _read_keys(conn, match["inner"], order)
            if len(self._keys) > _KEY_LISTS:
                self._keys.popitem(last=False)
        keys = self._keys[name]
        if keys is None:
            return None
        return keys.past(None if match["last"] is None else int(match["last"]))


def _count(conn: sqlite3.Connection, sql: str) -> int:
    # Running the caller's SELECT is the point; the connection is read-only.
    row: Any = conn.execute(f"SELECT COUNT(*) FROM ({sql})").fetchone()  # noqa: S608
    return int(row[0])


def _read_keys(conn: sqlite3.Connection, inner: str, key: str) -> _Keys | None:
    """The keys of ``inner``'s rows, or None when they are not all integers (or the
    query fails: the count then raises as NetSuite's answer would)."""
    values: array[int] = array("q")
    nulls = 0
    try:
        cursor = conn.execute(f"SELECT {key} FROM ({inner})")  # noqa: S608
        for (value,) in cursor:
            if value is None:
                nulls += 1
            elif type(value) is int:
                values.append(value)
            else:
                return None
    except (sqlite3.Error, OverflowError):
        return None
    return _Keys(array("q", sorted(values)), nulls)
