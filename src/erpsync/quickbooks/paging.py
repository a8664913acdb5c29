"""QuickBooks reads of many records: queries paged by ``STARTPOSITION``, counts, and change
data capture (a base of :class:`~erpsync.quickbooks.client.QuickBooksClient`).

Query texts longer than a URL comfortably carries go in a POST body. Pages are fetched
lazily, in ``Id`` order unless the query orders itself, so that a record updated during
the walk does not move between pages. Change data capture looks back 30 days at most;
an older ``changed_since`` is refused before any request, with what to do instead.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from erpsync.errors import ConfigurationError, ServiceError
from erpsync.quickbooks.answers import as_list, rows_of
from erpsync.quickbooks.errors import BACKEND
from erpsync.quickbooks.query import MAX_PAGE_SIZE, Query, check_query_text
from erpsync.quickbooks.wire import CDC_LOOKBACK

__all__ = ["MAX_GET_QUERY", "QueryCalls"]

#: Longer query texts go in a POST body instead of the URL.
MAX_GET_QUERY = 1500


class QueryCalls(abc.ABC):
    """Queries, counts and change data capture; the client provides :meth:`call_json`."""

    #: The current time (an aware datetime), for the CDC lookback check.
    _now: Callable[[], datetime]

    @abc.abstractmethod
    def call_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One decoded call (:meth:`erpsync.quickbooks.client.QuickBooksClient.call_json`)."""

    def query(self, query: Query | str) -> dict[str, Any]:
        """Run one query text as is; returns the ``QueryResponse`` object."""
        text = check_query_text(str(query))
        record = "query"
        if len(text) <= MAX_GET_QUERY:
            answer = self.call_json("GET", "query", params={"query": text}, record=record)
        else:
            answer = self.call_json("POST", "query", text=text, record=record)
        response = answer.get("QueryResponse")
        if response is None:
            return {}
        if not isinstance(response, dict):
            raise ServiceError(
                "QueryResponse is not an object", backend=BACKEND, record=record, retryable=False
            )
        return response

    def query_page(
        self, query: Query, *, start_position: int = 1, max_results: int = MAX_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """One page of rows (an absent entity key means no rows)."""
        response = self.query(query.text(start_position=start_position, max_results=max_results))
        return rows_of(response, query.entity)

    def iter_query(
        self, query: Query, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every row, fetched lazily page by page (STARTPOSITION is 1-based).

        Stops at the first short page. Without an explicit order the rows are sorted by
        ``Id``, so that records updated during the walk do not move between pages.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if query.counting:
            raise ConfigurationError("iterate a SELECT *, not a count(*) query")
        ordered = query if query.order else query.order_by("Id")
        start = 1
        while True:
            rows = self.query_page(ordered, start_position=start, max_results=page_size)
            yield from rows
            if len(rows) < page_size:
                return
            start += page_size

    def count(self, query: Query) -> int:
        """``SELECT count(*)`` for the query's conditions."""
        response = self.query(query.count().text())
        total = response.get("totalCount", 0)
        # JSON numbers arrive as int or (with a fraction or exponent) Decimal; a count is
        # a whole number >= 0, and anything else (1.5, true, "3") is a broken answer.
        if isinstance(total, Decimal) and total.is_finite() and total == total.to_integral():
            total = int(total)
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ServiceError(
                f"totalCount {total!r} is not a whole number",
                backend=BACKEND,
                record="query",
                retryable=False,
            )
        return total

    def cdc(
        self, entities: Sequence[str], changed_since: datetime
    ) -> dict[str, list[dict[str, Any]]]:
        """Records of ``entities`` changed since ``changed_since`` (deleted ones carry
        ``"status": "Deleted"``), by entity name.

        QuickBooks looks back 30 days at most; an older ``changed_since`` is refused
        here, before the request, with what to do instead.
        """
        if isinstance(entities, str) or not entities:
            raise ConfigurationError("cdc needs a non-empty list of entity names")
        for name in entities:
            Query(name)  # validates the name
        if not isinstance(changed_since, datetime) or changed_since.utcoffset() is None:
            raise ConfigurationError("changed_since must be a timezone-aware datetime")
        now = self._now()
        if changed_since < now - CDC_LOOKBACK:
            raise ConfigurationError(
                f"change data capture looks back at most 30 days; {changed_since.isoformat()} "
                f"is older than {(now - CDC_LOOKBACK).isoformat()}",
                backend=BACKEND,
                hint="Use a query on MetaData.LastUpdatedTime for older changes "
                "(deletions older than 30 days cannot be listed)",
            )
        answer = self.call_json(
            "GET",
            "cdc",
            params={
                "entities": ",".join(entities),
                "changedSince": changed_since.isoformat(timespec="seconds"),
            },
            record="change data capture",
        )
        return _changes_by_entity(answer, entities)


def _changes_by_entity(
    answer: dict[str, Any], entities: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The records of a ``CDCResponse``, by the entity names the caller asked for."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in entities}
    wanted = {name.lower(): name for name in entities}
    for block in as_list(answer.get("CDCResponse")):
        responses = as_list(block.get("QueryResponse") if isinstance(block, dict) else None)
        for response in responses:
            if not isinstance(response, dict):
                continue
            for key, value in response.items():
                target = wanted.get(key.lower())
                if target is not None and isinstance(value, list):
                    out[target].extend(v for v in value if isinstance(v, dict))
    return out
