"""SuiteQL: one page, every row by offset, or every row by key past any cap (a base of
:class:`~erpsync.netsuite.client.NetSuiteClient`).

A SuiteQL query is a read sent as a POST, so it is marked idempotent and retried like a
GET. Rows are fetched a page at a time as they are consumed. Offset paging stops at
NetSuite's 100,000-row cap; :meth:`SuiteQLCalls.suiteql_keyset` pages by ``key > last
ORDER BY key`` instead (the text of each page is built by
:func:`~erpsync.netsuite.query.keyset_page_query`), which has no cap and no offset cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from erpsync.errors import ConfigurationError, ServiceError
from erpsync.netsuite.answers import json_object_of, row_of
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.query import keyset_column, keyset_page_query
from erpsync.netsuite.wire import MAX_PAGE_SIZE, SUITEQL_PATH
from erpsync.transport import Transport

__all__ = ["SuiteQLCalls"]


class SuiteQLCalls:
    """SuiteQL calls through the client's :attr:`transport`."""

    transport: Transport

    def suiteql_page(self, query: str, *, limit: int, offset: int = 0) -> dict[str, Any]:
        """One raw SuiteQL page (the envelope with ``items``, ``hasMore``...)."""
        if not isinstance(query, str) or not query.strip():
            raise ConfigurationError("a SuiteQL query must be a non-empty string", backend=BACKEND)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
            raise ConfigurationError(
                f"the SuiteQL page size must be 1 to {MAX_PAGE_SIZE}, not {limit!r}",
                backend=BACKEND,
            )
        response = self.transport.request(
            "POST",
            SUITEQL_PATH,
            params={"limit": str(limit), "offset": str(offset)},
            json={"q": query},
            headers={"Prefer": "transient"},
            idempotent=True,
            record="SuiteQL query",
        )
        page = json_object_of(response, "SuiteQL query")
        if not isinstance(page.get("items"), list):
            raise ServiceError(
                "answered a SuiteQL query without an items list",
                backend=BACKEND,
                record="SuiteQL query",
                raw=response.text,
                retryable=False,
            )
        return page

    def suiteql(self, query: str, *, page_size: int = MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Rows of a query, fetched a page at a time as they are consumed.

        Paging by offset needs a unique ``ORDER BY`` and stops at NetSuite's 100,000-row
        cap; use :meth:`suiteql_keyset` for more. Values are strings as NetSuite sends
        them (a NULL column is absent from its row).
        """
        offset = 0
        while True:
            page = self.suiteql_page(query, limit=page_size, offset=offset)
            items = page["items"]
            for item in items:
                yield row_of(item)
            if not page.get("hasMore") or not items:
                return
            offset += page_size

    def suiteql_keyset(
        self, query: str, *, key: str = "id", page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Rows of ``query`` (a SELECT without ORDER BY) in ``key`` order, past any cap.

        Each page is ``SELECT * FROM (query) WHERE key > last ORDER BY key``, so the
        query must select ``key`` as a unique column (a numeric internal id, usually).
        """
        column = keyset_column(key)
        last: str | None = None
        while True:
            page = self.suiteql_page(keyset_page_query(query, column, last), limit=page_size)
            items = page["items"]
            for item in items:
                row = row_of(item)
                value = row.get(column)
                if value is None:
                    raise ServiceError(
                        f"a SuiteQL row has no {column!r} column to page by",
                        backend=BACKEND,
                        record="SuiteQL query",
                        retryable=False,
                    )
                last = str(value)
                yield row
            if not page.get("hasMore") or len(items) < page_size:
                return
