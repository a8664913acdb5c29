"""QuickBooks Online query building: query text that the values in it cannot break.

The QuickBooks query language (``SELECT * FROM Invoice WHERE DocNumber = 'x'``) has no
bind parameters: values are spliced into the text. A customer called ``Adam's Candy
Shop`` therefore breaks naive string formatting, and one called ``x' AND Active =
false AND DisplayName = 'y`` changes the query's meaning. :func:`quote` is the one place
that writes a literal: it escapes the backslash first and then the quote with a
backslash, which is how QuickBooks reads them (``'Adam\\'s Candy Shop'``).

:class:`Query` is an immutable builder that only offers what the language has: ``AND``
of conditions, ``IN``, ``LIKE`` (``%`` only), ``ORDERBY``, ``STARTPOSITION`` and
``MAXRESULTS``. There is no ``OR`` (QuickBooks has none; run two queries) and a raw
query text passed to the client is checked for one so that the mistake is reported
before a round trip rather than as a parser error afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from erpsync.errors import ConfigurationError
from erpsync.quickbooks.wire import MAX_PAGE_SIZE

__all__ = ["MAX_PAGE_SIZE", "Query", "check_query_text", "quote"]

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
#: The comparison operators Intuit documents. ``!=`` is not among them: the service
#: accepts it (undocumented; python-quickbooks' own suite and production apps use it,
#: and FakeQuickBooks accepts it too), but the SDK never sends it.
_OPERATORS = frozenset({"=", "<", ">", "<=", ">="})

Literal = str | int | Decimal | bool | date | datetime


def quote(value: Literal) -> str:
    """``value`` as a QuickBooks query literal.

    Strings are single-quoted with ``\\`` and ``'`` escaped by a backslash; dates and
    date-times are ISO-8601 strings (a date-time must be timezone-aware, because a naive
    one would be read in the company's time zone); numbers are bare; booleans are
    ``true``/``false``. Floats are refused: they are not exact.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ConfigurationError(
                "a date-time in a QuickBooks query must be timezone-aware; "
                "QuickBooks would read a naive one in the company's time zone"
            )
        return quote(value.isoformat(timespec="seconds"))
    if isinstance(value, date):
        return quote(value.isoformat())
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ConfigurationError("NaN and infinities cannot be queried")
        return format(value, "f")
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    raise ConfigurationError(
        f"a QuickBooks query value must be a str, int, Decimal, bool, date or datetime, "
        f"not {type(value).__name__}"
    )


def check_query_text(text: str) -> str:
    """Refuse a raw query with ``OR`` (outside string literals) or an unclosed literal.

    QuickBooks has no ``OR``; sending one costs a round trip to learn that from a
    parser error that names a column, not the cause.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError("a QuickBooks query must be a non-empty string")
    words: list[str] = []
    current: list[str] = []
    in_string = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == "'":
                in_string = False
        elif ch == "'":
            in_string = True
            words.append("".join(current))
            current = []
        elif ch.isalnum() or ch == "_":
            current.append(ch)
        else:
            words.append("".join(current))
            current = []
        i += 1
    words.append("".join(current))
    if in_string:
        raise ConfigurationError("the QuickBooks query has an unclosed string literal")
    if any(word.lower() == "or" for word in words):
        raise ConfigurationError(
            "QuickBooks queries have no OR; run one query per alternative "
            "(or use IN for alternatives of one field)"
        )
    return text


@dataclass(frozen=True)
class _Condition:
    field: str
    operator: str
    value: str  # already quoted


@dataclass(frozen=True)
class Query:
    """An immutable QuickBooks query: each method returns a new one.

    ``Query("Customer").where("DisplayName", "=", "Adam's").order_by("Id")`` renders as
    ``SELECT * FROM Customer WHERE DisplayName = 'Adam\\'s' ORDERBY Id``.
    """

    entity: str
    conditions: tuple[_Condition, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()
    counting: bool = False
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.entity, str) or not _IDENT.fullmatch(self.entity):
            raise ConfigurationError(f"{self.entity!r} is not a QuickBooks entity name")

    def where(self, field: str, operator: str, value: Literal) -> Query:
        """Add ``field <operator> value`` (joined to the others by AND)."""
        if operator not in _OPERATORS:
            raise ConfigurationError(
                f"operator {operator!r} is not one of {', '.join(sorted(_OPERATORS))}"
            )
        return self._add(field, operator, quote(value))

    def where_in(self, field: str, values: Iterable[Literal]) -> Query:
        """Add ``field IN (v1, v2, ...)``; an empty list is refused (it matches nothing)."""
        quoted = [quote(v) for v in values]
        if not quoted:
            raise ConfigurationError(f"IN needs at least one value for {field}")
        return self._add(field, "IN", "(" + ", ".join(quoted) + ")")

    def like(self, field: str, pattern: str) -> Query:
        """Add ``field LIKE 'pattern'``; ``%`` is the only wildcard QuickBooks knows."""
        if not isinstance(pattern, str):
            raise ConfigurationError("a LIKE pattern must be a string")
        return self._add(field, "LIKE", quote(pattern))

    def order_by(self, field: str, descending: bool = False) -> Query:
        """Sort by ``field`` (after any earlier sort keys)."""
        _check_field(field)
        return replace(self, order=(*self.order, (field, descending)))

    def select(self, *fields: str) -> Query:
        """Only these top-level fields (``SELECT Id, PrivateNote FROM ...``): a lookup
        that reads many rows to find a few then moves a fraction of the bytes."""
        for name in fields:
            _check_field(name)
        return replace(self, fields=tuple(dict.fromkeys(fields)))

    def count(self) -> Query:
        """The same query as ``SELECT count(*)``."""
        return replace(self, counting=True)

    def text(self, *, start_position: int | None = None, max_results: int | None = None) -> str:
        """The query text, optionally for one page."""
        # Not SQL and not injectable: every value went through quote(), names were checked.
        what = "count(*)" if self.counting else ", ".join(self.fields) or "*"
        parts = [f"SELECT {what} FROM {self.entity}"]  # noqa: S608
        if self.conditions:
            parts.append(
                "WHERE "
                + " AND ".join(f"{c.field} {c.operator} {c.value}" for c in self.conditions)
            )
        if self.order and not self.counting:
            parts.append(
                "ORDERBY " + ", ".join(f"{f} DESC" if desc else f for f, desc in self.order)
            )
        if start_position is not None:
            if isinstance(start_position, bool) or start_position < 1:
                raise ConfigurationError("STARTPOSITION is 1-based: it must be at least 1")
            parts.append(f"STARTPOSITION {int(start_position)}")
        if max_results is not None:
            if isinstance(max_results, bool) or not 1 <= max_results <= MAX_PAGE_SIZE:
                raise ConfigurationError(f"MAXRESULTS must be between 1 and {MAX_PAGE_SIZE}")
            parts.append(f"MAXRESULTS {int(max_results)}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.text()

    def _add(self, field: str, operator: str, value: str) -> Query:
        _check_field(field)
        return replace(self, conditions=(*self.conditions, _Condition(field, operator, value)))


def _check_field(field: str) -> None:
    if not isinstance(field, str) or not _FIELD.fullmatch(field):
        raise ConfigurationError(f"{field!r} is not a QuickBooks field name")
