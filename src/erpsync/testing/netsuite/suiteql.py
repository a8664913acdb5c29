"""SuiteQL: the user's SELECT, run on the account's tables, in NetSuite's envelope.

NetSuite runs SuiteQL on Oracle; the emulator runs it on SQLite after rewriting the few
Oracle/NetSuite-isms integrations commonly use: ``transaction`` as a bare table name
(a reserved word in SQLite), ``SYSDATE`` / ``CURRENT_DATE`` (the *emulator's* clock),
``TO_DATE`` / ``TO_CHAR`` / ``TO_TIMESTAMP`` / ``TO_NUMBER`` with Oracle format models,
``NVL`` / ``NVL2`` / ``DECODE`` / ``TRUNC``, ``BUILTIN.DF(col)`` (the display value of a
reference or status), ``FETCH FIRST n ROWS ONLY`` and ``M/D/YYYY`` date literals. What
is not translated (``ROWNUM``, ``CONNECT BY``...) fails as a 400, which is also what a
query NetSuite does not understand gets.

As in NetSuite: only SELECT is allowed; every value comes back as a string; a NULL
column is left out of its row; column names are lower case; dates use the account's
``M/D/YYYY`` format (``TO_CHAR`` for more) and date-times are shown and read in the
account's time zone (:mod:`.sqlfunctions`); ``limit`` is at most 1000; and a query
cannot page past its 100,000th row (``row_cap``; narrow the query, e.g. ``id > :last``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from erpsync.netsuite import wire
from erpsync.testing.netsuite.db import Database, Stamp
from erpsync.testing.netsuite.errors import NetSuiteFault
from erpsync.testing.netsuite.paging import page_links
from erpsync.testing.netsuite.sqlfunctions import OracleFunctions, format_value
from erpsync.testing.netsuite.totals import Totals
from erpsync.testing.netsuite.types import BY_TRAN_TYPE

_TOKEN = re.compile(
    r"""(?P<string>'(?:[^']|'')*')
      |(?P<quoted>"(?:[^"]|"")*")
      |(?P<comment>--[^\n]*|/\*.*?\*/)
      |(?P<word>[A-Za-z_][A-Za-z0-9_$#]*)
      |(?P<number>\d+(?:\.\d+)?)
      |(?P<space>\s+)
      |(?P<other>.)""",
    re.S | re.X,
)
_NO_COLUMN = re.compile(r"^no such column: (\S+)$")
_US_DATE = re.compile(r"^'(\d{1,2})/(\d{1,2})/(\d{4})'$")
_REF_TABLES = {
    "entity": ("customer", "vendor"),
    "customer": ("customer",),
    "vendor": ("vendor",),
    "item": ("item",),
    "currency": ("currency",),
    "subsidiary": ("subsidiary",),
}
#: How ``BUILTIN.DF`` finds a record's display name, by id.
_NAME_SQL = {
    "customer": "SELECT altname AS n FROM customer WHERE id = ?",
    "vendor": "SELECT altname AS n FROM vendor WHERE id = ?",
    "item": "SELECT itemid AS n FROM item WHERE id = ?",
    "currency": "SELECT name AS n FROM currency WHERE id = ?",
    "subsidiary": "SELECT name AS n FROM subsidiary WHERE id = ?",
    "transaction": 'SELECT tranid AS n, type FROM "transaction" WHERE id = ?',
}
_TRANSACTION_REFS = frozenset({"transaction", "createdfrom", "previousdoc", "nextdoc"})


def bad_query(detail: str) -> NetSuiteFault:
    return NetSuiteFault(
        400,
        "INVALID_PARAMETER",
        "Invalid search query. Detailed unprocessed description follows. "
        f"Search error occurred: {detail}",
    )


# -- translation ------------------------------------------------------------------------------


def _tokens(sql: str) -> list[tuple[str, str]]:
    out = []
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup or "other"
        if kind != "comment":
            out.append((kind, match.group()))
    return out


def translate(sql: str) -> str:
    """SQLite text for a SuiteQL SELECT; raises the 400 NetSuite sends for anything else."""
    tokens = _tokens(sql.strip().rstrip(";"))
    words = [value.upper() for kind, value in tokens if kind == "word"]
    if not words or words[0] not in ("SELECT", "WITH"):
        raise bad_query("Only SELECT statements can be run as SuiteQL.")
    if any(value == ";" for _, value in tokens):
        raise bad_query("Only one statement can be run at a time.")
    return "".join(_rewrite(tokens))


def _rewrite(tokens: list[tuple[str, str]]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        upper = value.upper()
        if kind == "word" and upper == "BUILTIN":
            j1 = _skip_space(tokens, i + 1)
            j2 = _skip_space(tokens, j1 + 1)
            j3 = _skip_space(tokens, j2 + 1)
            if j3 < len(tokens) and (tokens[j1][1], tokens[j2][1].upper(), tokens[j3][1]) == (
                ".",
                "DF",
                "(",
            ):
                end = _matching_paren(tokens, j3)
                out.append(_df_call(tokens[j3 + 1 : end]))
                i = end + 1
                continue
        if kind == "word" and upper == "FETCH":
            limit = _fetch_first(tokens, i)
            if limit is not None:
                out.append(f"LIMIT {limit[0]}")
                i = limit[1] + 1
                continue
        if kind == "word" and upper == "TRANSACTION":
            out.append('"transaction"')
        elif kind == "word" and upper in ("SYSDATE", "CURRENT_TIMESTAMP"):
            out.append("ns_sysdate()")
        elif kind == "word" and upper == "CURRENT_DATE":
            out.append("ns_current_date()")
        elif kind == "string" and (date := _US_DATE.match(value)):
            month, day, year = (int(part) for part in date.groups())
            out.append(f"'{year:04d}-{month:02d}-{day:02d}'")
        else:
            out.append(value)
        i += 1
    return out


def _skip_space(tokens: list[tuple[str, str]], i: int) -> int:
    while i < len(tokens) and tokens[i][0] == "space":
        i += 1
    return i


def _matching_paren(tokens: list[tuple[str, str]], start: int) -> int:
    depth = 0
    for j in range(start, len(tokens)):
        if tokens[j][1] == "(":
            depth += 1
        elif tokens[j][1] == ")":
            depth -= 1
            if depth == 0:
                return j
    raise bad_query("Unbalanced parentheses in BUILTIN.DF.")


def _df_call(arg: list[tuple[str, str]]) -> str:
    """``BUILTIN.DF(t.status)`` -> ``ns_df('status', t.status, t.type)``."""
    inner = "".join(_rewrite(arg)).strip()
    words = [value for kind, value in arg if kind in ("word", "quoted")]
    column = words[-1].strip('"').lower() if words else ""
    qualifier = inner.rsplit(".", 1)[0] + "." if "." in inner else ""
    type_expr = f"{qualifier}type" if column == "status" else "NULL"
    return f"ns_df('{column}', {inner}, {type_expr})"


def _fetch_first(tokens: list[tuple[str, str]], i: int) -> tuple[str, int] | None:
    """``FETCH FIRST n ROWS ONLY`` -> (n, index of ONLY), else None."""
    parts: list[tuple[str, int]] = []
    j = i
    while len(parts) < 4:
        j = _skip_space(tokens, j + 1)
        if j >= len(tokens):
            return None
        parts.append((tokens[j][1].upper(), j))
    words = [word for word, _ in parts]
    if (
        words[0] in ("FIRST", "NEXT")
        and words[1].isdigit()
        and words[2] in ("ROW", "ROWS")
        and words[3] == "ONLY"
    ):
        return words[1], parts[3][1]
    return None


class SuiteQL:
    """Runs queries on the account's query connection."""

    def __init__(self, db: Database, now: Callable[[], datetime], time_zone: str = "UTC") -> None:
        self.db = db
        self._now = now
        self.row_cap = wire.SUITEQL_ROW_CAP
        #: NetSuite pages by offsets that are multiples of the limit.
        self.offset_multiple_of_limit = True
        self._names: dict[tuple[str, int], str | None] = {}
        #: The SQL functions, in the account's time zone (``functions.zone``).
        self.functions = OracleFunctions(now, time_zone)
        self.functions.register(db.query_connection)
        db.query_connection.create_function("ns_df", 3, self._display)
        #: Totals learnt from the data, reused while it stays the same (:mod:`.totals`).
        self.totals = Totals(db, self._context)

    def _context(self, lowered_sql: str) -> Hashable:
        """What a query's rows depend on besides the data: the account's time zone, and
        the emulator's time if the query reads the clock."""
        reads_clock = "ns_sysdate(" in lowered_sql or "ns_current_date(" in lowered_sql
        return (str(self.functions.zone), self._now() if reads_clock else None)

    def _display(self, column: str, value: Any, tran_type: Any) -> Any:
        if value is None:
            return None
        if column == "status" and tran_type is not None:
            label = BY_TRAN_TYPE[tran_type].label if tran_type in BY_TRAN_TYPE else tran_type
            status = wire.STATUS_LABELS.get(str(tran_type), {}).get(str(value), str(value))
            return f"{label} : {status}"
        if column == "type" and value in BY_TRAN_TYPE:
            return BY_TRAN_TYPE[value].label
        if column in _TRANSACTION_REFS:
            name = self._name("transaction", int(value))
            return str(value) if name is None else name
        if column in _REF_TABLES:
            for table in _REF_TABLES[column]:
                name = self._name(table, _as_int(value))
                if name is not None:
                    return name
        return value

    def _name(self, table: str, rid: int) -> str | None:
        """The display name of one record, read by its id (the primary key) the first
        time a query asks for it: the cost of ``BUILTIN.DF`` is the rows it shows, not
        the size of the account. Remembered for the rest of the query only."""
        key = (table, rid)
        if key not in self._names:
            # On the query connection, whose statement is running: a read on the record
            # connection would wait for that statement's shared-cache lock forever.
            row = self.db.query_connection.execute(_NAME_SQL[table], (rid,)).fetchone()
            text: str | None = None
            if row is not None:
                text = str(row[0])
                if table == "transaction":
                    rt = BY_TRAN_TYPE.get(row[1])
                    text = f"{rt.label if rt else row[1]} #{row[0]}"
            self._names[key] = text
        return self._names[key]

    def run(
        self, query: Any, limit_raw: str | None, offset_raw: str | None, base: str
    ) -> dict[str, Any]:
        if not isinstance(query, str) or not query.strip():
            raise NetSuiteFault(400, "INVALID_CONTENT", "The request body must contain 'q'.", "q")
        limit = _int_param("limit", limit_raw, wire.MAX_PAGE_SIZE)
        offset = _int_param("offset", offset_raw, 0)
        if not 1 <= limit <= wire.MAX_PAGE_SIZE:
            raise NetSuiteFault(
                400,
                "INVALID_PARAMETER",
                f"Invalid value for the limit parameter: {limit}. Use a value from 1 to "
                f"{wire.MAX_PAGE_SIZE}.",
            )
        if offset < 0 or (self.offset_multiple_of_limit and offset % limit):
            raise NetSuiteFault(
                400,
                "INVALID_PARAMETER",
                f"Invalid value for the offset parameter: {offset}. The offset must be a "
                "multiple of the limit.",
            )
        if offset >= self.row_cap:
            raise NetSuiteFault(
                400,
                "INVALID_PARAMETER",
                f"The query cannot return rows beyond {self.row_cap}: offset {offset} is past "
                "them. Narrow the query (for example id > the last id read) instead of "
                "paging further.",
            )
        sql = translate(query)
        conn = self.db.query_connection
        with self.db.lock:
            self._names = {}
            try:
                total = self.totals.total(conn, sql)
                # Running the caller's SELECT is the point; the connection is read-only.
                page = f"SELECT * FROM ({sql}) LIMIT ? OFFSET ?"  # noqa: S608
                # A page ends at the row cap; totalResults and hasMore still count every
                # row, so a client that follows ``next`` past the cap is refused there.
                cursor = conn.execute(page, (min(limit, self.row_cap - offset), offset))
                names = [d[0].lower() for d in cursor.description]
                rows = cursor.fetchall()
            except (sqlite3.Error, ValueError, OverflowError) as exc:
                raise bad_query(_described(exc)) from None
        items = []
        for row in rows:
            item: dict[str, Any] = {"links": []}
            for name, value in zip(names, row):
                if isinstance(value, Stamp):
                    item[name] = self.functions.display_date(value.stored)
                elif value is not None:
                    item[name] = format_value(value)
            items.append(item)
        return _envelope(items, total, limit, offset, base)


def _described(exc: Exception) -> str:
    """SQLite's complaint in NetSuite's words where they differ: an unknown column is
    "Field 'x' was not found" (naming the field, as NetSuite does)."""
    text = str(exc)
    unknown = _NO_COLUMN.match(text)
    if unknown is not None:
        return f"Field '{unknown.group(1).rsplit('.', 1)[-1]}' was not found."
    return text


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _int_param(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise NetSuiteFault(
            400, "INVALID_PARAMETER", f"Invalid value for the {name} parameter: {raw}."
        ) from None


def _envelope(
    items: list[dict[str, Any]], total: int, limit: int, offset: int, base: str
) -> dict[str, Any]:
    has_more = offset + len(items) < total
    return {
        "links": page_links(f"{base}{wire.SUITEQL_PATH}", limit, offset, total, has_more),
        "count": len(items),
        "hasMore": has_more,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }
