"""The QuickBooks query language, as much of it as integrations use, with its limits.

The text is read by :mod:`.query_parser`; this module checks what it means and answers
it. The awkward parts are kept because clients must cope with them: a filter or sort on
a field the entity does not allow is the real 4001 QueryValidationError naming the
property; ``STARTPOSITION`` is 1-based; ``MAXRESULTS`` defaults to 100 and may not
exceed 1000; string comparisons ignore case; name lists (customers, vendors, items,
accounts) answer only active records unless the query says something about ``Active``;
and an empty result has no entity key at all.

How it answers a company with 100,000 invoices as fast as an empty one (issue 13): the
indexes of :mod:`.query_index` give each indexed condition's candidates without copying
them, the fewest are read in Id order (or newest first for ``ORDER BY
MetaData.CreateTime DESC``) and filtered by every condition until the page is full, a
page without conditions is cut by position, and ``count(*)`` without conditions is the
number of records. Only an ``ORDER BY`` on another field sorts the matching records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from erpsync.quickbooks import wire
from erpsync.testing.quickbooks.catalogue import ENTITIES
from erpsync.testing.quickbooks.clock import parse_instant
from erpsync.testing.quickbooks.errors import query_parser_error, query_validation_error
from erpsync.testing.quickbooks.query_index import Candidates, IndexedRecords, lookup
from erpsync.testing.quickbooks.query_parser import Condition, parse_text

__all__ = ["Condition", "Query", "parse_query", "run_query"]

MAX_RESULTS_LIMIT = wire.MAX_PAGE_SIZE
DEFAULT_MAX_RESULTS = wire.DEFAULT_PAGE_SIZE

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")

#: Entities whose queries hide inactive records unless ``Active`` is constrained.
NAME_LISTS = frozenset({"Customer", "Vendor", "Item", "Account"})


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool
    fields: tuple[str, ...] | None  # None means "*"
    conditions: tuple[Condition, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    start_position: int
    max_results: int


def _allowed(field_name: str, fields: frozenset[str]) -> bool:
    """Whether ``field_name`` (``PrimaryEmailAddr.Address`` counts as its first part)
    is one of ``fields``, compared as QuickBooks does, ignoring case."""
    wanted = {f.lower() for f in fields}
    name = field_name.lower()
    return name in wanted or name.split(".", 1)[0] in wanted


def parse_query(text: str, known_entities: Iterable[str]) -> Query:
    """Parse ``text``; the entity name is matched case-insensitively to ``known_entities``."""
    if not text or not text.strip():
        raise query_parser_error("The query provided was empty")
    parsed = parse_text(text)
    entity, count, fields = parsed.entity, parsed.count, parsed.fields
    conditions, order = parsed.conditions, parsed.order
    start, maximum = parsed.start, parsed.maximum
    canonical = {name.lower(): name for name in known_entities}.get(entity.lower())
    if canonical is None:
        raise query_validation_error(f"{entity} is not a valid entity")
    spec = ENTITIES.get(canonical)
    for condition in conditions:
        if condition.field.split(".")[0].lower() == "line" or (
            spec is not None and not _allowed(condition.field, spec.filterable)
        ):
            raise query_validation_error(f"property '{condition.field}' is not queryable")
    for field_name, _ in order:
        if spec is not None and not _allowed(field_name, spec.sort_fields):
            raise query_validation_error(f"property '{field_name}' is not sortable")
    if not order and spec is not None and spec.default_order:
        order = list(spec.default_order)
    if maximum is not None and maximum > MAX_RESULTS_LIMIT:
        # The wording users report from QuickBooks.
        raise query_validation_error(
            f"value {maximum} is too large. Max allowed value is {MAX_RESULTS_LIMIT}"
        )
    if maximum is not None and maximum < 1:
        raise query_validation_error(
            f"MaxResults should be between 1 and {MAX_RESULTS_LIMIT}, supplied: {maximum}"
        )
    if start is not None and start < 1:
        raise query_validation_error(f"StartPosition should be at least 1, supplied: {start}")
    return Query(
        entity=canonical,
        count=count,
        fields=fields,
        conditions=tuple(conditions),
        order=tuple(order),
        start_position=start or 1,
        max_results=maximum or DEFAULT_MAX_RESULTS,
    )


# -- evaluation ------------------------------------------------------------------------------


def _comparable(value: Any, literal: Any) -> tuple[Any, Any] | None:
    """Both sides coerced to one comparable type, or ``None`` when they cannot be."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(literal, bool):
        as_bool = {"true": True, "false": False}
        left = value if isinstance(value, bool) else as_bool.get(str(value).lower())
        right = literal if isinstance(literal, bool) else as_bool.get(str(literal).lower())
        return None if left is None or right is None else (left, right)
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(str(value)), Decimal(str(literal))
        except (InvalidOperation, ValueError):
            return None
    text, other = str(value), str(literal)
    if "T" in text and _DATE.match(text):
        left_instant, right_instant = parse_instant(text), parse_instant(other)
        if left_instant is not None and right_instant is not None:
            return left_instant, right_instant
    if _NUMBER.fullmatch(text) and _NUMBER.fullmatch(other):
        return Decimal(text), Decimal(other)  # Ids are strings that compare as numbers
    return text.lower(), other.lower()


def _like(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    regex = ".*".join(re.escape(part) for part in pattern.lower().split("%"))
    return re.fullmatch(regex, str(value).lower(), re.DOTALL) is not None


def _matches(record: dict[str, Any], condition: Condition) -> bool:
    value = lookup(record, condition.field)
    if condition.operator == "like":
        return _like(value, condition.value)
    if condition.operator == "in":
        return any(
            (pair := _comparable(value, option)) is not None and pair[0] == pair[1]
            for option in condition.value
        )
    pair = _comparable(value, condition.value)
    if pair is None:
        return False
    left, right = pair
    try:
        if condition.operator == "=":
            return bool(left == right)
        if condition.operator == "!=":
            return bool(left != right)
        if condition.operator == "<":
            return bool(left < right)
        if condition.operator == ">":
            return bool(left > right)
        if condition.operator == "<=":
            return bool(left <= right)
        return bool(left >= right)
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float | Decimal):
        return (2, Decimal(str(value)))
    text = str(value)
    if _NUMBER.fullmatch(text):
        return (2, Decimal(text))
    instant = parse_instant(text) if "T" in text else None
    if isinstance(instant, datetime):
        return (3, instant.timestamp())
    return (4, text.lower())


def _field_key(path: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(record: dict[str, Any]) -> tuple[int, Any]:
        return _sort_key(lookup(record, path))

    return key


def _projector(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The projection of a row on ``fields`` (names compared ignoring case, ``Id``
    always), each stored name's verdict worked out once per query, not once per row."""
    wanted = {f.lower() for f in fields}
    verdicts: dict[str, bool] = {}

    def project(record: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in record.items():
            keep = verdicts.get(k)
            if keep is None:
                keep = verdicts[k] = k.lower() in wanted or k == "Id"
            if keep:
                out[k] = v
        out["domain"] = record.get("domain", "QBO")
        out["sparse"] = True
        return out

    return project


def _smallest(query: Query, records: IndexedRecords) -> Candidates | None:
    """The fewest candidates any indexed condition allows (nothing is copied to find
    out), or ``None`` when no condition has an index."""
    best: Candidates | None = None
    for condition in query.conditions:
        found = records.entity_index.candidates(
            condition.field, condition.operator, condition.value
        )
        if found is not None and (best is None or found.size < best.size):
            best = found
    return best


def _keep(query: Query) -> Callable[[dict[str, Any]], bool]:
    """The filter a scan applies: every condition, and name lists hide inactive records
    unless the query says something about ``Active``."""
    hide_inactive = _hides_inactive(query)

    def keep(record: dict[str, Any]) -> bool:
        if not all(_matches(record, c) for c in query.conditions):
            return False
        return not hide_inactive or record.get("Active", True) is not False

    return keep


def _hides_inactive(query: Query) -> bool:
    return query.entity in NAME_LISTS and not any(
        c.field.lower() == "active" for c in query.conditions
    )


def _order_kind(query: Query) -> str | None:
    """Which order the index can walk: ``id`` (none or ``ORDER BY Id``), ``created``
    / ``created desc`` (``MetaData.CreateTime``, which never changes), else None."""
    order = [(f.lower(), d) for f, d in query.order]
    if not order or order == [("id", False)]:
        return "id"
    if order in ([("metadata.createtime", False)], [("metadata.createtime", False), ("id", False)]):
        return "created"
    if order in ([("metadata.createtime", True)], [("metadata.createtime", True), ("id", False)]):
        return "created desc"
    return None


def _newest_first(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows met newest first (reverse insertion order) as ``ORDER BY MetaData.CreateTime
    DESC`` sorts them: ties of one CreateTime keep ascending Id order."""
    group: list[dict[str, Any]] = []
    stamp: Any = None
    for row in rows:
        key = _sort_key(lookup(row, "MetaData.CreateTime"))
        if group and key != stamp:
            yield from reversed(group)
            group = []
        group.append(row)
        stamp = key
    yield from reversed(group)


def _walk(query: Query, records: IndexedRecords) -> Iterator[dict[str, Any]] | None:
    """The matching records in the query's order, read lazily from the indexes, or
    ``None`` when the order is one the indexes do not keep (the caller sorts)."""
    index = records.entity_index
    kind = _order_kind(query) if not query.count else "id"
    if kind is None or not index.id_ordered or (kind != "id" and not index.create_ordered):
        return None
    best = _smallest(query, records)
    reverse = kind == "created desc"
    if best is not None and best.size < query.start_position and not query.count:
        return iter(())  # fewer candidates than the rows to skip: the page is empty
    if best is not None:
        rows = records.existing(best.ordered(index.seq, reverse=reverse))
    elif reverse:
        rows = records.reversed_order()
    else:
        rows = iter(records)
    inner = _keep(query)

    def keep(record: dict[str, Any]) -> bool:
        index.examined += 1
        return inner(record)

    matching = filter(keep, rows)
    return _newest_first(matching) if reverse else matching


def _page(query: Query, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | int:
    """The rows of the requested page, or the count for ``count(*)``."""
    start, stop = query.start_position - 1, query.start_position - 1 + query.max_results
    if isinstance(records, IndexedRecords):
        if not query.conditions and not _hides_inactive(query):
            if query.count:
                return len(records)
            if _order_kind(query) == "id" and records.entity_index.id_ordered:
                return records.window(start, stop)  # every record matches: by position
        if query.count:
            walked = _walk(query, records)
            if walked is not None:
                return sum(1 for _ in walked)
        else:
            cursors = records.entity_index.cursors
            key = (query.conditions, query.order)
            walked = cursors.resume(key, start)  # the next page of a walk: go on from there
            skip = 0 if walked is not None else start
            walked = walked if walked is not None else _walk(query, records)
            if walked is not None:
                page = list(islice(walked, skip, skip + query.max_results))
                if len(page) == query.max_results:
                    cursors.keep(key, stop, walked)
                return page
    rows = list(filter(_keep(query), records))
    if query.count:
        return len(rows)
    rows.sort(key=lambda r: _sort_key(r.get("Id")))
    for field_name, descending in reversed(query.order):
        rows.sort(key=_field_key(field_name), reverse=descending)
    return rows[start:stop]


def run_query(query: Query, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ``QueryResponse`` object for ``query`` over ``records``.

    ``records`` are not modified. Each row of the answer is a dict of its own, its
    values shared with ``records`` (stored records are never changed below their top
    level: :mod:`.storage`), so the answer can be encoded as it is, or cloned by a
    caller that will change it.
    When ``records`` is an :class:`IndexedRecords` (what ``Company.stored`` gives), its
    indexes narrow the candidates and order the walk (module docstring); the answer is
    the one a full scan gives.
    """
    page = _page(query, records)
    if isinstance(page, int):
        return {"totalCount": page}
    if not page:
        return {}
    if query.fields is not None:
        page = list(map(_projector(query.fields), page))
    else:
        page = [dict(r) for r in page]  # a row of its own: a later write cannot change it
    return {
        query.entity: page,
        "startPosition": query.start_position,
        "maxResults": len(page),
        "totalCount": len(page),
    }
