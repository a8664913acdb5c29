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

Over ~400 lines with its docstrings (about 370 of code): the one client class;
batch, paging and answer reading already live in their own modules.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote as url_quote

import requests
from requests.auth import AuthBase

from erpsync.errors import ConfigurationError
from erpsync.limits import Limiter, LocalLimiter, RateLimit, limiter_for
from erpsync.quickbooks.answers import decoded, entity_of, malformed, raise_fault
from erpsync.quickbooks.batch import BatchCalls, BatchItem, BatchResult
from erpsync.quickbooks.errors import BACKEND, decode_error, request_id_of
from erpsync.quickbooks.paging import QueryCalls
from erpsync.quickbooks.query import Query
from erpsync.quickbooks.wire import (
    BATCH_LIMIT,
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
from erpsync.transport.bodies import pdf_bytes
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

#: Intuit times requests out after 120 s; waiting longer for an answer is pointless.
DEFAULT_TIMEOUT = Timeout(connect=10.0, read=REQUEST_TIMEOUT_SECONDS)

Environment = Literal["production", "sandbox"]


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


# -- the client ----------------------------------------------------------------------------


class QuickBooksClient(QueryCalls, BatchCalls):
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
        _check_settings(realm_id, environment, minor_version)
        self.realm_id = realm_id.strip()
        self.environment: Environment = environment
        self.minor_version = minor_version
        host = base_url or (SANDBOX_URL if environment == "sandbox" else PRODUCTION_URL)
        self._owns_session = opts.session is None
        self._session = opts.session if opts.session is not None else requests.Session()
        realm_auth = _realm_auth(auth, self.realm_id, self._session)
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
        body = decoded(response, record)
        if not isinstance(body, dict):
            raise malformed(response, "the answer is not a JSON object", record)
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
        return entity_of(answer, entity, record)

    def read(self, entity: str, record_id: str) -> dict[str, Any]:
        """Read one record by Id (610 -> :class:`NotFoundError`)."""
        if not isinstance(record_id, str) or not record_id.strip():
            raise ConfigurationError(f"a {entity} id must be a non-empty string")
        answer = self.call_json(
            "GET",
            f"{_path(entity)}/{url_quote(record_id, safe='')}",
            record=f"{entity} {record_id}",
        )
        return entity_of(answer, entity, f"{entity} {record_id}")

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
        return entity_of(answer, entity, f"{entity} {record_id}")

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
        return entity_of(answer, entity, f"{entity} {record_id}")

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
            on_json=lambda body: raise_fault(response, body, record),
        )

    def preferences(self) -> dict[str, Any]:
        """The company's Preferences (custom transaction numbers, currencies...)."""
        return entity_of(
            self.call_json("GET", "preferences", record="preferences"), "Preferences", None
        )

    def company_info(self) -> dict[str, Any]:
        """The company's CompanyInfo (name, country, addresses)."""
        return entity_of(
            self.call_json("GET", f"companyinfo/{self.realm_id}", record="company info"),
            "CompanyInfo",
            None,
        )


# -- helpers -------------------------------------------------------------------------------


def _check_settings(realm_id: object, environment: object, minor_version: object) -> None:
    """Refuse a malformed realm id, environment or minor version before any request."""
    if not isinstance(realm_id, str) or not realm_id.strip().isdigit():
        raise ConfigurationError(f"a QuickBooks realm id is a string of digits, not {realm_id!r}")
    if environment not in ("production", "sandbox"):
        raise ConfigurationError(
            f"environment must be 'production' or 'sandbox', not {environment!r}"
        )
    if isinstance(minor_version, bool) or not isinstance(minor_version, int):
        raise ConfigurationError("minor_version must be an integer")
    if minor_version < MINOR_VERSION:
        raise ConfigurationError(
            f"minor_version {minor_version} is retired; QuickBooks serves at least {MINOR_VERSION}"
        )


def _realm_auth(auth: Any, realm_id: str, session: requests.Session) -> AuthBase | None:
    """The realm's ``requests`` auth: from a QuickBooksAuth (with the client's session, so
    its token requests share the client's adapters), or the auth object given."""
    if hasattr(auth, "for_realm"):
        realm_auth: AuthBase = auth.for_realm(realm_id, session=session)
        return realm_auth
    if auth is None or isinstance(auth, AuthBase):
        return auth
    raise ConfigurationError(
        "auth must be a QuickBooksAuth or a requests auth object for the realm"
    )


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
