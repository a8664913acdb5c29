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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import requests

from erpsync.errors import ConfigurationError, NotFoundError
from erpsync.limits import Limiter, LocalLimiter, limiter_for
from erpsync.netsuite.answers import INTERNAL_ID, id_from_location, json_object_of
from erpsync.netsuite.auth import NetSuiteAuth, canonical_account_id, default_base_url
from erpsync.netsuite.contended_login import ContendedLoginAuth
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.paging import SuiteQLCalls
from erpsync.netsuite.query import suiteql_literal
from erpsync.netsuite.wire import (
    MAX_PAGE_SIZE,
    RECORD_ROOT,
    REQUEST_ID_HEADERS,
    RESTLET_HOST_TEMPLATE,
    RESTLET_PATH,
    SUITEQL_PATH,
    host_label,
)
from erpsync.transport import (
    AllOf,
    AnyOf,
    MaxAttempts,
    RetryChecker,
    RetryPolicy,
    Timeout,
    Transport,
    TransportOptions,
    pooled_session,
    standard_retry_checker,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "RECORD_ROOT",
    "SUITEQL_PATH",
    "NetSuiteClient",
    "default_restlet_url",
    "netsuite_limiter",
    "suiteql_literal",
]


_RECORD_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_log = logging.getLogger(__name__)
_REQUEST_ID_HEADERS = REQUEST_ID_HEADERS


def default_restlet_url(account_id: str) -> str:
    """The account's RESTlet host: ``https://1234567-sb1.restlets.api.netsuite.com``."""
    return RESTLET_HOST_TEMPLATE.format(host=host_label(canonical_account_id(account_id)))


def netsuite_limiter(account_id: str, concurrency: int = 5) -> Limiter:
    """The process-wide limiter of one account: ``concurrency`` requests in flight, for
    every client of the account in this process, halved on a 429 and grown back on
    success (NetSuite's limit is one number for the whole account)."""
    account = canonical_account_id(account_id)
    limiter = limiter_for(
        f"netsuite:{account}",
        lambda: LocalLimiter(concurrency=concurrency, adaptive=True, name=f"netsuite:{account}"),
    )
    if limiter.max_concurrency is not None and limiter.max_concurrency != concurrency:
        _warn_concurrency(account, concurrency, limiter.max_concurrency)
    return limiter


def _check_settings(auth: object, concurrency: object) -> None:
    """Refuse an auth or a concurrency that cannot work, before any request."""
    if not isinstance(auth, NetSuiteAuth):
        raise ConfigurationError(
            "auth must be a TokenBasedAuth or a ClientCredentialsAuth", backend=BACKEND
        )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(
            f"concurrency must be a positive integer, not {concurrency!r}", backend=BACKEND
        )


def _warn_concurrency(account_id: str, requested: int, admitted: int) -> None:
    # limiter_for keeps the first configuration of an account for the process.
    _log.warning(
        "NetSuite account %s: concurrency=%d requested, but the account's shared "
        "limiter admits %d at once (set by the first client of this account)",
        account_id,
        requested,
        admitted,
    )


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
    if not INTERNAL_ID.match(text):
        raise ConfigurationError(
            f"{record_id!r} is not a NetSuite internal id (a number) or an 'eid:<external id>'",
            backend=BACKEND,
        )
    return text


def _eid(external_id: str) -> str:
    if not isinstance(external_id, str) or not external_id:
        raise ConfigurationError("an external id must be a non-empty string", backend=BACKEND)
    return "eid:" + quote(external_id, safe="")


class NetSuiteClient(SuiteQLCalls):
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
        _check_settings(auth, concurrency)
        self.account_id = canonical_account_id(account_id)
        self.base_url = (base_url or default_base_url(self.account_id)).rstrip("/")
        self.restlet_url = (
            restlet_url or (self.base_url if base_url else default_restlet_url(self.account_id))
        ).rstrip("/")
        self.concurrency = concurrency
        self._owns_session = session is None
        # create_invoices runs two threads per slot on this session: a pool that keeps a
        # connection for each of them (requests' default of 10 is less from 6 slots on).
        self._session = session if session is not None else pooled_session(2 * concurrency)
        if limiter is None:
            limiter = netsuite_limiter(self.account_id, concurrency)
        elif limiter.max_concurrency is not None and limiter.max_concurrency != concurrency:
            _warn_concurrency(self.account_id, concurrency, limiter.max_concurrency)
        self.limiter = limiter
        self._rng = opts.rng if opts.rng is not None else random.Random()
        self._auth = ContendedLoginAuth(
            auth.for_account(self.account_id, self.base_url, session=self._session),
            limiter=limiter,
            pause=self._pause_after_contended_login,
        )
        self.options = opts.merged(
            session=self._session,
            limiter=limiter,
            rng=self._rng,
            retry=_with_contended_logins(opts.retry, self._auth),
        )
        self.transport = Transport(
            backend=BACKEND,
            base_url=self.base_url,
            decode_error=self._auth.decode_error,
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
        return json_object_of(response, what)

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
        return id_from_location(response, what)

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
        return id_from_location(response, what)

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
        return id_from_location(response, what)

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


def _with_contended_logins(policy: RetryPolicy | None, contended: RetryChecker) -> RetryPolicy:
    """The retry policy, also repeating a login refusal the auth judged contended
    (:class:`ContendedLoginAuth`), within the same attempts."""
    policy = policy if policy is not None else RetryPolicy()
    base = policy.checker or standard_retry_checker(policy.max_attempts)
    either = AnyOf(base, AllOf(MaxAttempts(policy.max_attempts), contended))
    return replace(policy, checker=either)
