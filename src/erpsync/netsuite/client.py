"""NetSuite wire client: REST records, SuiteQL and RESTlets over one Transport.

It knows URLs, verbs and envelopes and nothing about models (that is
:mod:`erpsync.netsuite.records`) or workflows (:mod:`erpsync.netsuite.backend`).

Why the pieces look the way they do:

* One :class:`~erpsync.http.Transport` per client, behind the account's shared
  :class:`~erpsync.limits.Limiter`. NetSuite's concurrency limit is one number for the
  whole account (SOAP, REST and RESTlets together), so every client object for an
  account draws from one gate (``limiter_for("netsuite:<ACCOUNT>")``), which halves on a
  429 ``CONCURRENCY_LIMIT_EXCEEDED`` and grows back on success.
* Writes answer 204 with the new record in ``Location``; the id is read from there, and
  an answer without a readable ``Location`` is a :class:`ServiceError` (the write
  probably happened, so it says so), never an ``IndexError``.
* ``PUT /{type}/eid:<key>`` is an upsert and therefore safe to repeat: it is sent with
  ``idempotent=True`` so the transport retries it after a lost response. A plain
  ``POST`` create and a ``!transform`` are not; the backend wraps them.
* SuiteQL is a read sent as a POST, so it is marked idempotent. It pages lazily (one
  page in memory at a time). A query cannot page past 100,000 rows, so
  :meth:`NetSuiteClient.suiteql_keyset` pages by ``key > last ORDER BY key`` instead,
  which has no cap and no offset cost.
* SuiteQL text is built in :mod:`erpsync.netsuite.query`: every value put into it goes
  through :func:`~erpsync.netsuite.query.suiteql_literal` (re-exported here), and the
  keyset pages are written by :func:`~erpsync.netsuite.query.keyset_page_query`.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.auth import AuthBase

from erpsync.errors import AuthenticationError, ConfigurationError, NotFoundError, ServiceError
from erpsync.limits import Limiter, LocalLimiter, limiter_for
from erpsync.netsuite.auth import NetSuiteAuth, canonical_account_id, default_base_url
from erpsync.netsuite.errors import BACKEND, decode_error
from erpsync.netsuite.query import keyset_column, keyset_page_query, suiteql_literal
from erpsync.netsuite.wire import (
    MAX_PAGE_SIZE,
    RECORD_ROOT,
    REQUEST_ID_HEADERS,
    RESTLET_HOST_TEMPLATE,
    RESTLET_PATH,
    SUITEQL_PATH,
    host_label,
)
from erpsync.transport import RetryPolicy, Timeout, Transport, TransportOptions
from erpsync.transport.bodies import json_object

__all__ = [
    "MAX_PAGE_SIZE",
    "RECORD_ROOT",
    "SUITEQL_PATH",
    "NetSuiteClient",
    "default_restlet_url",
    "suiteql_literal",
]


_RECORD_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_INTERNAL_ID = re.compile(r"^\d+$")
_log = logging.getLogger(__name__)
_REQUEST_ID_HEADERS = REQUEST_ID_HEADERS


def default_restlet_url(account_id: str) -> str:
    """The account's RESTlet host: ``https://1234567-sb1.restlets.api.netsuite.com``."""
    return RESTLET_HOST_TEMPLATE.format(host=host_label(canonical_account_id(account_id)))


def _record_type(record_type: str) -> str:
    if not isinstance(record_type, str) or not _RECORD_TYPE.match(record_type):
        raise ConfigurationError(f"{record_type!r} is not a NetSuite record type", backend=BACKEND)
    return record_type


def _key(record_id: str | int) -> str:
    """A URL segment for an internal id (digits) or ``eid:<external id>``, quoted."""
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        record_id = str(record_id)
    if not isinstance(record_id, str):
        raise ConfigurationError(f"{record_id!r} is not a record id", backend=BACKEND)
    text = record_id.strip()
    if text.lower().startswith("eid:") and len(text) > 4:
        return "eid:" + quote(text[4:], safe="")
    if not _INTERNAL_ID.match(text):
        raise ConfigurationError(
            f"{record_id!r} is not a NetSuite internal id (a number) or an 'eid:<external id>'",
            backend=BACKEND,
        )
    return text


def _eid(external_id: str) -> str:
    if not isinstance(external_id, str) or not external_id:
        raise ConfigurationError("an external id must be a non-empty string", backend=BACKEND)
    return "eid:" + quote(external_id, safe="")


def _id_from_location(response: requests.Response, what: str) -> str:
    """The internal id in a 204's ``Location`` header (its last path segment)."""
    location = response.headers.get("Location")
    segment = ""
    if location:
        try:
            path = urlsplit(location).path
        except ValueError:
            path = ""
        segment = path.rstrip("/").rsplit("/", 1)[-1] if path else ""
    if not _INTERNAL_ID.match(segment):
        raise ServiceError(
            f"answered the write of {what} without a readable Location header "
            f"({location!r}); the record was probably written",
            backend=BACKEND,
            record=what,
            http_status=response.status_code,
            retryable=False,
            hint="Look the record up (by its external id) before writing it again",
        )
    return segment


def _json_object(response: requests.Response, what: str) -> dict[str, Any]:
    return json_object(response, backend=BACKEND, record=what, exact=False)


class NetSuiteClient:
    """REST record and SuiteQL calls for one NetSuite account.

    ``base_url`` defaults to the account's REST host (lower case, ``_`` becomes ``-``);
    pass it to reach an emulator or a looked-up domain. ``restlet_url`` defaults to the
    account's RESTlet host, or to ``base_url`` when that was given (an emulator serves
    both). ``limiter`` defaults to the account's process-wide limiter; pass one to
    isolate tests. ``clock``, ``sleep`` and ``rng`` go to the transport.
    """

    def __init__(
        self,
        account_id: str,
        auth: NetSuiteAuth,
        *,
        base_url: str | None = None,
        restlet_url: str | None = None,
        concurrency: int = 5,
        options: TransportOptions | None = None,
        timeout: Timeout | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        limiter: Limiter | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
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
        )
        session, limiter = opts.session, opts.limiter
        if not isinstance(auth, NetSuiteAuth):
            raise ConfigurationError(
                "auth must be a TokenBasedAuth or a ClientCredentialsAuth", backend=BACKEND
            )
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(
                f"concurrency must be a positive integer, not {concurrency!r}", backend=BACKEND
            )
        self.account_id = canonical_account_id(account_id)
        self.base_url = (base_url or default_base_url(self.account_id)).rstrip("/")
        self.restlet_url = (
            restlet_url or (self.base_url if base_url else default_restlet_url(self.account_id))
        ).rstrip("/")
        self.concurrency = concurrency
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        if limiter is None:
            limiter = limiter_for(
                f"netsuite:{self.account_id}",
                lambda: LocalLimiter(
                    concurrency=concurrency, adaptive=True, name=f"netsuite:{self.account_id}"
                ),
            )
        if limiter.max_concurrency is not None and limiter.max_concurrency != concurrency:
            # limiter_for keeps the first configuration of an account for the process.
            _log.warning(
                "NetSuite account %s: concurrency=%d requested, but the account's shared "
                "limiter admits %d at once (set by the first client of this account)",
                self.account_id,
                concurrency,
                limiter.max_concurrency,
            )
        self.limiter = limiter
        self._rng = opts.rng if opts.rng is not None else random.Random()
        self.options = opts.merged(session=self._session, limiter=limiter, rng=self._rng)
        self._auth = _ContendedLoginAuth(
            auth.for_account(self.account_id, self.base_url, session=self._session),
            limiter=limiter,
            pause=self._pause_after_contended_login,
        )
        self.transport = Transport(
            backend=BACKEND,
            base_url=self.base_url,
            decode_error=decode_error,
            auth=self._auth,
            options=self.options,
            request_id_headers=_REQUEST_ID_HEADERS,
        )
        self._sleep = self.options.sleep

    def _pause_after_contended_login(self) -> None:
        """The wait before resending a request refused with a contended INVALID_LOGIN."""
        self._sleep(self.transport.retry.backoff(0, self._rng))

    def close(self) -> None:
        """Close the HTTP session if this client made it."""
        if self._owns_session:
            self._session.close()

    def __repr__(self) -> str:
        return f"NetSuiteClient(account_id={self.account_id!r}, base_url={self.base_url!r})"

    # -- records --------------------------------------------------------------------------

    def _path(self, record_type: str, record_id: str | int | None = None) -> str:
        path = f"{RECORD_ROOT}/{_record_type(record_type)}"
        return path if record_id is None else f"{path}/{_key(record_id)}"

    def get(
        self,
        record_type: str,
        record_id: str | int,
        *,
        expand: bool = False,
        fields: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """One record as NetSuite renders it (sublists expanded with ``expand``)."""
        params: dict[str, str] = {}
        if expand:
            params["expandSubResources"] = "true"
        if fields:
            params["fields"] = ",".join(fields)
        what = f"{record_type} {record_id}"
        response = self.transport.request(
            "GET", self._path(record_type, record_id), params=params or None, record=what
        )
        return _json_object(response, what)

    def create(
        self, record_type: str, body: Mapping[str, Any], *, record: str | None = None
    ) -> str:
        """``POST /{type}``: the new record's internal id.

        Not retried after the request may have reached NetSuite: use :meth:`upsert`
        for a write that must survive a lost response.
        """
        what = record or f"new {record_type}"
        response = self.transport.request(
            "POST", self._path(record_type), json=dict(body), idempotent=False, record=what
        )
        return _id_from_location(response, what)

    def update(
        self,
        record_type: str,
        record_id: str | int,
        body: Mapping[str, Any],
        *,
        replace: Sequence[str] = (),
        idempotent: bool = False,
    ) -> None:
        """``PATCH /{type}/{id}``; ``replace`` names sublists to replace instead of merge.

        Pass ``idempotent=True`` only when repeating the PATCH gives the same record (every
        sublist it sends is replaced, no merge can add lines twice)."""
        params = {"replace": ",".join(replace)} if replace else None
        self.transport.request(
            "PATCH",
            self._path(record_type, record_id),
            params=params,
            json=dict(body),
            idempotent=idempotent,
            record=f"{record_type} {record_id}",
        )

    def delete(self, record_type: str, record_id: str | int) -> None:
        """``DELETE /{type}/{id}``.

        A delete repeated after a lost response finds nothing to delete: a 404 on a
        retry means the first attempt succeeded, so it is not raised.
        """
        try:
            self.transport.request(
                "DELETE", self._path(record_type, record_id), record=f"{record_type} {record_id}"
            )
        except NotFoundError as exc:
            if exc.attempts is not None and exc.attempts > 1:
                return
            raise

    def upsert(self, record_type: str, external_id: str, body: Mapping[str, Any]) -> str:
        """``PUT /{type}/eid:<external id>``: create or replace; the record's internal id.

        Safe to retry: however many times it reaches NetSuite there is one record.
        """
        what = f"{record_type} {external_id}"
        response = self.transport.request(
            "PUT",
            f"{RECORD_ROOT}/{_record_type(record_type)}/{_eid(external_id)}",
            json=dict(body),
            idempotent=True,
            record=what,
        )
        return _id_from_location(response, what)

    def transform(
        self,
        from_type: str,
        record_id: str | int,
        to_type: str,
        body: Mapping[str, Any],
        *,
        record: str | None = None,
    ) -> str:
        """``POST /{from}/{id}/!transform/{to}``: the new record's internal id.

        Not idempotent by itself (each call makes a record); see
        :meth:`erpsync.netsuite.backend.NetSuiteBackend.receive_purchase_order`.
        """
        what = record or f"{to_type} from {from_type} {record_id}"
        response = self.transport.request(
            "POST",
            f"{self._path(from_type, record_id)}/!transform/{_record_type(to_type)}",
            json=dict(body),
            idempotent=False,
            record=what,
        )
        return _id_from_location(response, what)

    # -- SuiteQL --------------------------------------------------------------------------

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
        page = _json_object(response, "SuiteQL query")
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
                yield _row(item)
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
                row = _row(item)
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

    # -- RESTlets -------------------------------------------------------------------------

    def restlet(
        self,
        script_id: str | int,
        deploy_id: str | int,
        *,
        method: str = "GET",
        params: Mapping[str, str] | None = None,
        body: Any = None,
        record: str | None = None,
    ) -> requests.Response:
        """Call a deployed RESTlet; the raw response (RESTlets answer what they like).

        Only reads are retried: a RESTlet POST may write, and NetSuite cannot say.
        """
        query = {"script": str(script_id), "deploy": str(deploy_id), **(params or {})}
        upper = method.upper()
        return self.transport.request(
            upper,
            f"{self.restlet_url}{RESTLET_PATH}",
            params=query,
            json=body,
            headers={"Accept": "application/json"},
            idempotent=upper == "GET",
            record=record or f"RESTlet {script_id}/{deploy_id}",
        )


class _ContendedLoginAuth(AuthBase):
    """The account's auth, plus NetSuite's "concurrency limit as INVALID_LOGIN" quirk.

    Under token-based authentication NetSuite can report its account-wide concurrency
    limit not as a 429 but as a 401 ``INVALID_LOGIN``, indistinguishable on the wire from
    revoked or wrong credentials. TBA has nothing to renew, so the transport would raise
    :class:`~erpsync.errors.AuthenticationError` at once and a bulk run at the limit would
    lose documents to a spurious login failure. So a 401 ``INVALID_LOGIN`` is treated as
    possible throttling: the limiter is told it was throttled and the request is sent
    once more after a short backoff, with a fresh signature. That is safe for every
    method, writes included: a 401 means NetSuite refused the request before doing
    anything. It is bounded: the transport renews at most once per request, so wrong
    credentials still fail, after one extra request.

    Why not only when the account looks busy: whether this process had other requests in
    flight can only be judged after the 401 has arrived, and by then they may all have
    finished (a loaded machine deschedules the thread in between), so such a check
    refuses the resend exactly when the refusal was caused by contention. It also could
    not see contention from other processes or integrations on the same account, which
    the unconditional resend covers.
    """

    def __init__(self, inner: AuthBase, *, limiter: Limiter, pause: Callable[[], None]) -> None:
        self._inner = inner
        self._limiter = limiter
        self._pause = pause

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        signed: requests.PreparedRequest = self._inner(r)
        return signed

    def __repr__(self) -> str:
        return repr(self._inner)

    def renew(self, response: requests.Response) -> bool:
        inner_renew = getattr(self._inner, "renew", None)
        if inner_renew is not None and inner_renew(response):
            return True
        if not _is_invalid_login(response):
            return False
        _log.info(
            "NetSuite answered INVALID_LOGIN, which under token-based authentication may be "
            "its account concurrency limit; treating it as throttling and sending the "
            "request once more"
        )
        self._limiter.on_throttle()
        self._pause()
        return True


def _is_invalid_login(response: requests.Response) -> bool:
    error = decode_error(response)
    return isinstance(error, AuthenticationError) and (error.code or "").upper() in (
        "INVALID_LOGIN",
        "INVALID_LOGIN_ATTEMPT",
    )


def _row(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ServiceError(
            "a SuiteQL row is not a JSON object",
            backend=BACKEND,
            record="SuiteQL query",
            raw=repr(item)[:500],
            retryable=False,
        )
    return {k: v for k, v in item.items() if k != "links"}
