"""QuickBooks Online wire client: the v3 data API (CRUD, query, batch, CDC, PDF) over one Transport.

:class:`QuickBooksClient` speaks the wire protocol and nothing more: it knows paths,
``minorversion``, ``requestid``, the query language, batch and change data capture,
and it returns wire records (dicts). Turning them into models is :mod:`.records`' job,
deciding what to write is the backend's.

Rules it keeps on every call, because forgetting one of them once is a production bug:

* ``minorversion=75`` on every request (older or absent versions are served as 75 since
  August 2025, with subtly different fields).
* Every write carries a ``requestid`` made ONCE per logical write, before the first
  attempt, and re-sent unchanged on every retry: QuickBooks then answers a repeat with
  the original response instead of writing twice. That is why writes go to the
  transport with ``idempotent=True``. (QuickBooks' guarantee is reported to fail now
  and then, so the backend also looks records up by external id; see backend.py.)
* Money is read as :class:`~decimal.Decimal` (``parse_float``) and written as exact JSON
  numbers, never through ``float``.
* A ``Fault`` inside an HTTP 200 (batch items, some queries) is an error like any other.
* ``intuit_tid`` is captured into every error, for Intuit support.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote as url_quote

import requests
from requests.auth import AuthBase

from erpsync.errors import ConfigurationError, ErpSyncError, ServiceError
from erpsync.limits import Limiter, LocalLimiter, RateLimit, limiter_for
from erpsync.quickbooks.errors import (
    BACKEND,
    decode_error,
    error_from_fault,
    fault_in,
    parse_json,
    request_id_of,
)
from erpsync.quickbooks.query import MAX_PAGE_SIZE, Query, check_query_text
from erpsync.quickbooks.wire import (
    BATCH_LIMIT,
    BATCH_REQUEST_ID_MAX,
    CDC_LOOKBACK,
    DATA_PREFIX,
    MINOR_VERSION,
    PRODUCTION_URL,
    REQUEST_ID_HEADERS,
    REQUEST_TIMEOUT_SECONDS,
    SANDBOX_URL,
)
from erpsync.transport import (
    RetryPolicy,
    Timeout,
    Transport,
    TransportOptions,
    new_idempotency_key,
)
from erpsync.transport.bodies import body_text, pdf_bytes
from erpsync.transport.json_text import exact_json, exact_json_bytes

__all__ = [
    "BATCH_LIMIT",
    "CDC_LOOKBACK",
    "MINOR_VERSION",
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "BatchItem",
    "BatchResult",
    "QuickBooksClient",
    "dumps",
    "quickbooks_limiter",
]

_log = logging.getLogger("erpsync.quickbooks")

#: Longer query texts go in a POST body instead of the URL.
_MAX_GET_QUERY = 1500
_BATCH_REQUEST_ID_MAX = BATCH_REQUEST_ID_MAX
#: Intuit times requests out after 120 s; waiting longer for an answer is pointless.
DEFAULT_TIMEOUT = Timeout(connect=10.0, read=REQUEST_TIMEOUT_SECONDS)

Environment = Literal["production", "sandbox"]
Operation = Literal["create", "update", "delete", "void", "query"]


def quickbooks_limiter(realm_id: str) -> Limiter:
    """The process-wide limiter of one company: Intuit's published limits.

    10 requests in flight, 500 a minute, 10 a second and 40 batch requests a minute,
    shared by every client of the realm in this process.
    """
    return limiter_for(
        f"quickbooks:{realm_id}",
        lambda: LocalLimiter(
            concurrency=10,
            rates=[RateLimit(500, 60), RateLimit(10, 1), RateLimit(40, 60, scope="batch")],
            name=f"quickbooks:{realm_id}",
        ),
    )


# -- JSON out: exact numbers --------------------------------------------------------------


def dumps(body: Any, *, record: str | None = None) -> str:
    """JSON text of ``body`` with every :class:`Decimal` written as an exact number.

    Floats, NaN and infinities are refused (:func:`erpsync.transport.json_text.exact_json`).
    """
    return exact_json(body, backend=BACKEND, record=record)


# -- batch ---------------------------------------------------------------------------------


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


# -- the client ----------------------------------------------------------------------------


class QuickBooksClient:
    """One company's data API.

    ``auth`` is a ``requests`` auth for the realm (``QuickBooksAuth.for_realm(...)``) or a
    ``QuickBooksAuth`` itself, from which the realm's auth is taken with this client's
    session. ``limiter`` defaults to the realm's process-wide :func:`quickbooks_limiter`.
    ``clock``/``sleep``/``rng`` drive the transport's retries and ``now`` (an aware
    datetime) the local CDC lookback check; tests inject fakes for all of them.
    """

    def __init__(
        self,
        realm_id: str,
        auth: Any,
        *,
        environment: Environment = "production",
        base_url: str | None = None,
        minor_version: int = MINOR_VERSION,
        options: TransportOptions | None = None,
        timeout: Timeout | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        limiter: Limiter | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        opts = TransportOptions.of(
            options,
            timeout=timeout,
            retry=retry,
            session=session,
            limiter=limiter,
            clock=clock,
            sleep=sleep,
            rng=rng,
            now=now,
        )
        if not isinstance(realm_id, str) or not realm_id.strip().isdigit():
            raise ConfigurationError(
                f"a QuickBooks realm id is a string of digits, not {realm_id!r}"
            )
        if environment not in ("production", "sandbox"):
            raise ConfigurationError(
                f"environment must be 'production' or 'sandbox', not {environment!r}"
            )
        if isinstance(minor_version, bool) or not isinstance(minor_version, int):
            raise ConfigurationError("minor_version must be an integer")
        if minor_version < MINOR_VERSION:
            raise ConfigurationError(
                f"minor_version {minor_version} is retired; QuickBooks serves at least "
                f"{MINOR_VERSION}"
            )
        self.realm_id = realm_id.strip()
        self.environment: Environment = environment
        self.minor_version = minor_version
        host = base_url or (SANDBOX_URL if environment == "sandbox" else PRODUCTION_URL)
        self._owns_session = opts.session is None
        self._session = opts.session if opts.session is not None else requests.Session()
        realm_auth: AuthBase | None
        if hasattr(auth, "for_realm"):
            realm_auth = auth.for_realm(self.realm_id, session=self._session)
        elif auth is None or isinstance(auth, AuthBase):
            realm_auth = auth
        else:
            raise ConfigurationError(
                "auth must be a QuickBooksAuth or a requests auth object for the realm"
            )
        self.auth = realm_auth
        self._now = opts.now or (lambda: datetime.now(UTC))
        self.options = opts.merged(
            session=self._session,
            timeout=opts.timeout if opts.timeout is not None else DEFAULT_TIMEOUT,
            limiter=opts.limiter if opts.limiter is not None else quickbooks_limiter(self.realm_id),
        )
        self.transport = Transport(
            backend=BACKEND,
            base_url=f"{host.rstrip('/')}{DATA_PREFIX}{self.realm_id}",
            decode_error=decode_error,
            auth=realm_auth,
            options=self.options,
            request_id_headers=REQUEST_ID_HEADERS,
        )

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session if this client made it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"QuickBooksClient(realm_id={self.realm_id!r}, "
            f"base_url={self.transport.base_url!r}, minor_version={self.minor_version})"
        )

    # -- plumbing -------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        text: str | None = None,
        write: bool = False,
        request_id: str | None = None,
        record: str | None = None,
        scope: str | None = None,
        accept: str = "application/json",
        retry_unknown: bool = True,
    ) -> requests.Response:
        """Send one request with ``minorversion`` (and ``requestid`` for a write).

        ``request_id`` lets a caller that tracks its own writes choose the key; otherwise
        a write gets a fresh one here, once, before the transport's retry loop.
        ``retry_unknown=False`` makes the transport raise, instead of re-sending, when a
        write's outcome is unknown (lost answer, 5xx): for callers that can look the
        record up first and re-send only when it is absent, rather than trusting the
        ``requestid`` replay alone (WIRE.md: it has been reported to fail). Refusals the
        service made unprocessed (429) and requests that never left are retried anyway.
        """
        query: dict[str, str] = dict(params or {})
        query["minorversion"] = str(self.minor_version)
        if write:
            query["requestid"] = request_id or new_idempotency_key()
        headers = {"Accept": accept}
        data: str | bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = exact_json_bytes(body, backend=BACKEND, record=record)
        elif text is not None:
            headers["Content-Type"] = "application/text"
            data = text.encode("utf-8")
        return self.transport.request(
            method,
            path,
            params=query,
            data=data,
            headers=headers,
            # A requestid makes the write safe to repeat; reads are safe anyway.
            idempotent=retry_unknown,
            record=record,
            scope=scope,
        )

    def call_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """:meth:`call`, decoded, with a ``Fault`` inside a 2xx raised as an error."""
        record = kwargs.get("record")
        response = self.call(method, path, **kwargs)
        body = _decoded(response, record)
        if not isinstance(body, dict):
            raise _malformed(response, "the answer is not a JSON object", record)
        return body

    # -- CRUD -----------------------------------------------------------------------------

    def create(
        self,
        entity: str,
        body: Mapping[str, Any],
        *,
        request_id: str | None = None,
        include: str | None = None,
        record: str | None = None,
        retry_unknown: bool = True,
    ) -> dict[str, Any]:
        """Create a record; returns it as QuickBooks stored it (``retry_unknown``: see
        :meth:`call`)."""
        params = {"include": include} if include else None
        answer = self.call_json(
            "POST",
            _path(entity),
            params=params,
            body=dict(body),
            write=True,
            request_id=request_id,
            record=record or f"new {entity}",
            retry_unknown=retry_unknown,
        )
        return _entity_of(answer, entity, record)

    def read(self, entity: str, record_id: str) -> dict[str, Any]:
        """Read one record by Id (610 -> :class:`NotFoundError`)."""
        if not isinstance(record_id, str) or not record_id.strip():
            raise ConfigurationError(f"a {entity} id must be a non-empty string")
        answer = self.call_json(
            "GET",
            f"{_path(entity)}/{url_quote(record_id, safe='')}",
            record=f"{entity} {record_id}",
        )
        return _entity_of(answer, entity, f"{entity} {record_id}")

    def update(
        self,
        entity: str,
        body: Mapping[str, Any],
        *,
        sparse: bool = True,
        request_id: str | None = None,
        include: str | None = None,
    ) -> dict[str, Any]:
        """Update a record; ``body`` needs ``Id`` and the current ``SyncToken``.

        Sparse by default: a full update nulls every writable field it omits.
        """
        record_id, sync_token = _identity(entity, body)
        payload = {**body, "Id": record_id, "SyncToken": sync_token, "sparse": bool(sparse)}
        params = {"include": include} if include else None
        answer = self.call_json(
            "POST",
            _path(entity),
            params=params,
            body=payload,
            write=True,
            request_id=request_id,
            record=f"{entity} {record_id}",
        )
        return _entity_of(answer, entity, f"{entity} {record_id}")

    def delete(self, entity: str, record_id: str, sync_token: str) -> dict[str, Any]:
        """Delete a transaction (names are made inactive instead, with an update)."""
        return self._operation(entity, record_id, sync_token, {"operation": "delete"})

    def void(self, entity: str, record_id: str, sync_token: str) -> dict[str, Any]:
        """Void a transaction (payments use Intuit's ``operation=update&include=void``)."""
        if entity == "Payment":
            params = {"operation": "update", "include": "void"}
        else:
            params = {"operation": "void"}
        return self._operation(entity, record_id, sync_token, params)

    def _operation(
        self, entity: str, record_id: str, sync_token: str, params: Mapping[str, str]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"Id": record_id, "SyncToken": sync_token}
        if params.get("operation") == "update":
            body["sparse"] = True
        _identity(entity, body)
        answer = self.call_json(
            "POST",
            _path(entity),
            params=params,
            body=body,
            write=True,
            record=f"{entity} {record_id}",
        )
        return _entity_of(answer, entity, f"{entity} {record_id}")

    # -- queries --------------------------------------------------------------------------

    def query(self, query: Query | str) -> dict[str, Any]:
        """Run one query text as is; returns the ``QueryResponse`` object."""
        text = check_query_text(str(query))
        record = "query"
        if len(text) <= _MAX_GET_QUERY:
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
        return _rows(response, query.entity)

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

    # -- batch ----------------------------------------------------------------------------

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
        if request_id is not None and len(request_id) > _BATCH_REQUEST_ID_MAX:
            raise ConfigurationError(
                f"a batch requestid is at most {_BATCH_REQUEST_ID_MAX} characters"
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
        body = _decoded(response, record)
        answers = body.get("BatchItemResponse") if isinstance(body, dict) else None
        if not isinstance(answers, list):
            raise _malformed(response, "BatchItemResponse is missing", record)
        by_id = {str(a.get("bId")): a for a in answers if isinstance(a, dict)}
        tid = request_id_of(response)
        return [_batch_result(item, by_id.get(str(i + 1)), tid) for i, item in enumerate(items)]

    # -- change data capture ----------------------------------------------------------------

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
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in entities}
        wanted = {name.lower(): name for name in entities}
        for block in _list(answer.get("CDCResponse")):
            for response in _list(block.get("QueryResponse") if isinstance(block, dict) else None):
                if not isinstance(response, dict):
                    continue
                for key, value in response.items():
                    target = wanted.get(key.lower())
                    if target is not None and isinstance(value, list):
                        out[target].extend(v for v in value if isinstance(v, dict))
        return out

    # -- documents and settings -------------------------------------------------------------

    def invoice_pdf(self, invoice_id: str) -> bytes:
        """The invoice as QuickBooks renders it (bytes starting with ``%PDF``)."""
        record = f"invoice {invoice_id}"
        response = self.call(
            "GET",
            f"invoice/{url_quote(invoice_id, safe='')}/pdf",
            accept="application/pdf",
            record=record,
        )
        # QuickBooks answers PDF errors in JSON: a Fault raises as the error it is.
        return pdf_bytes(
            response,
            backend=BACKEND,
            record=record,
            request_id=request_id_of(response),
            on_json=lambda body: _raise_fault(response, body, record),
        )

    def preferences(self) -> dict[str, Any]:
        """The company's Preferences (custom transaction numbers, currencies...)."""
        return _entity_of(
            self.call_json("GET", "preferences", record="preferences"), "Preferences", None
        )

    def company_info(self) -> dict[str, Any]:
        """The company's CompanyInfo (name, country, addresses)."""
        return _entity_of(
            self.call_json("GET", f"companyinfo/{self.realm_id}", record="company info"),
            "CompanyInfo",
            None,
        )


# -- helpers -------------------------------------------------------------------------------


def _path(entity: str) -> str:
    Query(entity)  # validates the name
    return entity.lower()


def _identity(entity: str, body: Mapping[str, Any]) -> tuple[str, str]:
    record_id = body.get("Id")
    sync_token = body.get("SyncToken")
    if record_id in (None, ""):
        raise ConfigurationError(f"updating a {entity} needs its Id")
    if sync_token in (None, ""):
        raise ConfigurationError(
            f"updating {entity} {record_id} needs its current SyncToken "
            "(read the record first); QuickBooks refuses updates without it"
        )
    return str(record_id), str(sync_token)


def _entity_of(answer: Mapping[str, Any], entity: str, record: str | None) -> dict[str, Any]:
    value = answer.get(entity)
    if value is None:
        value = next((v for k, v in answer.items() if k.lower() == entity.lower()), None)
    if not isinstance(value, dict):
        raise ServiceError(
            f"the answer holds no {entity} object",
            backend=BACKEND,
            record=record,
            raw=json.dumps(answer, default=str)[:2000],
            retryable=False,
        )
    return value


def _rows(response: Mapping[str, Any], entity: str) -> list[dict[str, Any]]:
    for key, value in response.items():
        if key.lower() == entity.lower():
            if not isinstance(value, list):
                raise ServiceError(
                    f"QueryResponse.{key} is not a list",
                    backend=BACKEND,
                    record="query",
                    retryable=False,
                )
            return [row for row in value if isinstance(row, dict)]
    return []


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return []


def _batch_result(item: BatchItem, answer: dict[str, Any] | None, tid: str | None) -> BatchResult:
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


def _malformed(response: requests.Response, why: str, record: str | None) -> ServiceError:
    return ServiceError(
        why,
        backend=BACKEND,
        record=record,
        http_status=response.status_code,
        request_id=request_id_of(response),
        raw=body_text(response),
        retryable=False,
    )


def _decoded(response: requests.Response, record: str | None) -> Any:
    """The JSON body of a 2xx answer; a ``Fault`` inside it raised as the error it is
    (QuickBooks answers some failures, batch items and queries among them, with 200)."""
    body = parse_json(response, record=record)
    _raise_fault(response, body, record)
    return body


def _raise_fault(response: requests.Response, body: Any, record: str | None) -> None:
    """Raise the error a ``Fault`` in ``body`` carries, if there is one."""
    fault = fault_in(body)
    if fault is not None:
        raise error_from_fault(
            fault,
            http_status=response.status_code,
            request_id=request_id_of(response),
            record=record,
            raw=body_text(response),
        )
