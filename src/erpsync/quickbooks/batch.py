"""QuickBooks batch: up to 30 operations in one request, each succeeding or failing alone.

:class:`BatchItem` is one operation (create, update, delete, void or a query),
:class:`BatchResult` what QuickBooks answered for it, and :class:`BatchCalls` the
client's ``batch``/``send_batch`` (a base of :class:`~erpsync.quickbooks.client.QuickBooksClient`).
A batch request carries one ``requestid`` for all its items, made once and re-sent on
every retry like any write's; its items are numbered ``bId`` ``"1"``..``"30"`` so the
answer can be aligned with the request whatever order QuickBooks answers in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import requests

from erpsync.errors import ConfigurationError, ErpSyncError, ServiceError
from erpsync.quickbooks.answers import decoded, malformed
from erpsync.quickbooks.errors import BACKEND, error_from_fault, request_id_of
from erpsync.quickbooks.query import Query, check_query_text
from erpsync.quickbooks.wire import BATCH_LIMIT, BATCH_REQUEST_ID_MAX

__all__ = ["BATCH_LIMIT", "BatchCalls", "BatchItem", "BatchResult", "Operation"]

Operation = Literal["create", "update", "delete", "void", "query"]


@dataclass(frozen=True)
class BatchItem:
    """One operation of a batch: a write on ``entity`` with ``body``, or a ``query``."""

    operation: Operation
    entity: str | None = None
    body: Mapping[str, Any] | None = None
    query: str | None = None

    def __post_init__(self) -> None:
        if self.operation == "query":
            if not self.query:
                raise ConfigurationError("a batch query item needs the query text")
            check_query_text(self.query)
        elif self.operation in ("create", "update", "delete", "void"):
            if not self.entity or self.body is None:
                raise ConfigurationError(f"a batch {self.operation} item needs entity and body")
        else:
            raise ConfigurationError(f"unknown batch operation {self.operation!r}")

    @classmethod
    def create(cls, entity: str, body: Mapping[str, Any]) -> BatchItem:
        return cls("create", entity, body)

    @classmethod
    def update(cls, entity: str, body: Mapping[str, Any]) -> BatchItem:
        return cls("update", entity, body)

    @classmethod
    def delete(cls, entity: str, body: Mapping[str, Any]) -> BatchItem:
        return cls("delete", entity, body)

    @classmethod
    def select(cls, query: Query | str) -> BatchItem:
        return cls("query", query=str(query))

    def wire(self, b_id: str) -> dict[str, Any]:
        if self.operation == "query":
            return {"bId": b_id, "Query": self.query}
        assert self.entity is not None
        assert self.body is not None
        item: dict[str, Any] = {"bId": b_id, self.entity: dict(self.body)}
        if self.operation == "void":
            item["operation"] = "update"
            item["optionsData"] = "void"
        else:
            item["operation"] = self.operation
        return item


@dataclass(frozen=True)
class BatchResult:
    """What QuickBooks answered for one :class:`BatchItem`: a record, a query answer or
    an error (items succeed and fail independently)."""

    item: BatchItem
    record: dict[str, Any] | None = None
    query_response: dict[str, Any] | None = None
    error: ErpSyncError | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None


class BatchCalls:
    """The client's batch calls; the client provides :meth:`call`."""

    #: Send one request (:meth:`erpsync.quickbooks.client.QuickBooksClient.call`).
    call: Callable[..., requests.Response]

    def batch(self, items: Sequence[BatchItem]) -> list[BatchResult]:
        """Run any number of items, :data:`BATCH_LIMIT` per request, one request at a time.

        The answer is aligned with ``items``. A failed item carries its error; a whole
        request that fails raises (for writes, its outcome is then unknown: look the
        records up before repeating them).
        """
        results: list[BatchResult] = []
        for start in range(0, len(items), BATCH_LIMIT):
            results.extend(self.send_batch(items[start : start + BATCH_LIMIT]))
        return results

    def send_batch(
        self,
        items: Sequence[BatchItem],
        *,
        request_id: str | None = None,
        retry_unknown: bool = True,
    ) -> list[BatchResult]:
        """One batch request of at most :data:`BATCH_LIMIT` items.

        bIds are the positions ``"1"``..``"30"`` (QuickBooks allows 10 characters with a
        requestid); the request's ``requestid`` (at most 36 characters in a batch) is made
        once and re-sent on every retry. Counted against the 40-a-minute batch window.
        ``retry_unknown=False``: an unanswered batch is raised, not re-sent (see :meth:`call`).
        """
        if not items:
            return []
        if len(items) > BATCH_LIMIT:
            raise ConfigurationError(f"a batch holds at most {BATCH_LIMIT} items, not {len(items)}")
        if request_id is not None and len(request_id) > BATCH_REQUEST_ID_MAX:
            raise ConfigurationError(
                f"a batch requestid is at most {BATCH_REQUEST_ID_MAX} characters"
            )
        for item in items:
            if not isinstance(item, BatchItem):
                raise ConfigurationError(f"batch items are BatchItem objects, not {item!r}")
        wire = [item.wire(str(i + 1)) for i, item in enumerate(items)]
        record = f"batch of {len(items)}"
        response = self.call(
            "POST",
            "batch",
            body={"BatchItemRequest": wire},
            write=True,
            request_id=request_id,
            record=record,
            scope="batch",
            retry_unknown=retry_unknown,
        )
        body = decoded(response, record)
        answers = body.get("BatchItemResponse") if isinstance(body, dict) else None
        if not isinstance(answers, list):
            raise malformed(response, "BatchItemResponse is missing", record)
        by_id = {str(a.get("bId")): a for a in answers if isinstance(a, dict)}
        tid = request_id_of(response)
        return [_result_of(item, by_id.get(str(i + 1)), tid) for i, item in enumerate(items)]


def _result_of(item: BatchItem, answer: dict[str, Any] | None, tid: str | None) -> BatchResult:
    record = f"batch item {item.entity or 'query'}"
    if answer is None:
        return BatchResult(
            item,
            error=ServiceError(
                "the batch answer has no entry for this item; its outcome is unknown",
                backend=BACKEND,
                record=record,
                request_id=tid,
                retryable=False,
            ),
        )
    fault = answer.get("Fault")
    if isinstance(fault, dict):
        return BatchResult(
            item, error=error_from_fault(fault, http_status=200, request_id=tid, record=record)
        )
    if item.operation == "query":
        response = answer.get("QueryResponse")
        return BatchResult(item, query_response=response if isinstance(response, dict) else {})
    assert item.entity is not None
    value = answer.get(item.entity)
    if not isinstance(value, dict):
        return BatchResult(
            item,
            error=ServiceError(
                f"the batch answer for this item holds no {item.entity}",
                backend=BACKEND,
                record=record,
                request_id=tid,
                retryable=False,
            ),
        )
    return BatchResult(item, record=value)
