"""The one HTTP layer under both ERP clients: a :class:`Transport` per backend object.

It exists so that the hard parts of talking to an ERP are solved once: timeouts that are
always set, retries that never duplicate a write, governance that keeps a tenant under
the service's limits, errors that always come out of :mod:`erpsync.errors`, and log lines
that never carry a secret.

Retry safety
------------
A request that may have reached the server is retried only when repeating it cannot
make a second record. ``idempotent`` defaults to true for GET, HEAD, OPTIONS, PUT and
DELETE and false for POST and PATCH. A client passes ``idempotent=True`` for a write
that carries an idempotency mechanism (QuickBooks ``requestid``, a NetSuite
``PUT .../eid:<key>`` upsert). It must build ``params``/``headers`` with its idempotency
key ONCE, before calling :meth:`Transport.request`: the transport re-sends exactly those
on every attempt, so the server sees one key however many times the request goes out
(the stripe-python rule; :func:`new_idempotency_key` makes such keys).

For a non-idempotent request only what provably never reached the server is retried:
HTTP 429 (the service refused it unprocessed) and connection failures before anything
was sent (connect timeout, connection refused, name resolution). A read timeout, a reset
connection or a 5xx on such a write is raised at once as a :class:`ServiceError` saying
the write may or may not have happened, because only the caller (with its ledger) can
find out.

Retries are bounded three ways: ``max_attempts`` per request, a full-jitter exponential
backoff (or the ``Retry-After`` the service sent, capped), and a
:class:`RetryBudget` shared by all requests of a tenant, so that a dead service is not
hammered by every thread at once (botocore's retry quota).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import EllipsisType, TracebackType
from typing import Any, NoReturn, Self
from urllib.parse import urlsplit

import requests
import requests.auth
from tenacity import RetryCallState, Retrying

from erpsync._logging import install_third_party_redaction
from erpsync._redact import redact
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    ErpSyncError,
    RateLimitError,
    ServiceError,
)
from erpsync.limits import Limiter
from erpsync.transport.attempt import (
    AttemptFailed,
    Call,
    EnvironmentSettings,
    ErrorDecoder,
    decode_failure,
    final_error,
    network_failure,
    prepare,
    redirected,
    send_once,
)
from erpsync.transport.auth import RenewableAuth
from erpsync.transport.failures import LOCAL_REQUEST_ERRORS
from erpsync.transport.logs import default_user_agent, level_for, log_exchange
from erpsync.transport.options import Timeout, TransportOptions
from erpsync.transport.retry import (
    RetryPolicy,
    default_budget,
    parse_retry_after,
)
from erpsync.transport.urls import check_url, is_absolute

__all__ = ["ErrorDecoder", "Transport"]

# oauthlib, requests-oauthlib and urllib3 print credentials at DEBUG level; every request
# erpsync makes goes through them, so their log lines are redacted (see erpsync._logging).
install_third_party_redaction()

#: Methods that HTTP defines as idempotent (RFC 9110 9.2.2), hence retried by default.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class Transport:
    """One backend object's connection to its ERP.

    ``decode_error`` is the backend's knowledge of its error bodies. ``limiter`` is the
    tenant's :class:`~erpsync.limits.Limiter` (share it through
    :func:`~erpsync.limits.limiter_for`). A ``retry`` policy without a ``budget`` gets
    the tenant's default :class:`RetryBudget`, one per limiter (so shared by every
    transport of the tenant), or one of its own when there is no limiter; pass
    ``RetryPolicy(budget=RetryBudget(...))`` to size it. ``clock``, ``sleep`` and ``rng``
    are injectable so tests are instant and deterministic.
    """

    def __init__(
        self,
        *,
        backend: str,
        base_url: str,
        decode_error: ErrorDecoder,
        auth: requests.auth.AuthBase | None = None,
        options: TransportOptions | None = None,
        limiter: Limiter | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        request_id_headers: Sequence[str] = ("intuit_tid", "Intuit-Tid", "X-Request-Id"),
        user_agent: str | None = None,
    ) -> None:
        opts = TransportOptions.of(
            options,
            limiter=limiter,
            retry=retry,
            timeout=timeout,
            session=session,
            clock=clock,
            sleep=sleep,
            rng=rng,
            user_agent=user_agent,
        )
        self.options = opts
        limiter = opts.limiter
        retry = opts.retry
        timeout = opts.timeout if opts.timeout is not None else Timeout()
        session = opts.session
        clock, sleep, rng, user_agent = opts.clock, opts.sleep, opts.rng, opts.user_agent
        if not isinstance(timeout, Timeout):
            raise ConfigurationError("Transport timeout must be an erpsync.http.Timeout")
        self.backend = backend
        self.base_url = check_url(base_url, "base_url").rstrip("/")
        self._decode_error = decode_error
        self._auth = auth
        self._limiter = limiter
        # No policy goes without a budget (default_budget: one per tenant's limiter).
        policy = retry if retry is not None else RetryPolicy()
        if policy.budget is None:
            policy = replace(policy, budget=default_budget(limiter))
        self._retry = policy
        self._timeout = timeout
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._environment = EnvironmentSettings(self._session)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._rng_lock = threading.Lock()
        self._request_id_headers = tuple(request_id_headers)
        self._user_agent = user_agent if user_agent is not None else default_user_agent()
        # Libraries imported after erpsync.http (an auth module's) get the filter too.
        install_third_party_redaction()

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the session if this transport made it (a passed-in session is the caller's)."""
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
        return f"Transport(backend={self.backend!r}, base_url={self.base_url!r})"

    @property
    def limiter(self) -> Limiter | None:
        """The tenant limiter every attempt passes through, if any."""
        return self._limiter

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._retry

    # -- the one public operation ---------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        record: str | None = None,
        scope: str | None = None,
        timeout: Timeout | None = None,
        auth: requests.auth.AuthBase | EllipsisType | None = ...,
    ) -> requests.Response:
        """Send a request and return its 2xx response, or raise from the error tree.

        ``path`` is appended to ``base_url`` unless it is an absolute URL (a NetSuite
        ``Location``, a token endpoint). ``record`` names what is being read or written,
        for error messages. ``scope`` selects extra rate windows (``"batch"``). ``auth``
        ``None`` sends the request unauthenticated; left out, the transport's auth is used.
        Build ``params``/``headers`` (with any idempotency key) once: they are re-sent
        unchanged on every attempt.
        """
        method = method.upper()
        if is_absolute(path):
            url = check_url(path, "URL")
        else:
            url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        parts = urlsplit(url)
        merged_headers = {"User-Agent": self._user_agent}
        merged_headers.update(headers or {})
        call = Call(
            method=method,
            url=url,
            log_path=parts.path,
            host=parts.hostname or "?",
            idempotent=(method in _IDEMPOTENT_METHODS) if idempotent is None else idempotent,
            record=record,
            scope=scope,
            timeout=timeout if timeout is not None else self._timeout,
            auth=self._auth if isinstance(auth, EllipsisType) else auth,
            params=params,
            json=json,
            data=data,
            headers=merged_headers,
        )
        retrying = Retrying(
            retry=lambda state: self._should_retry(call, state),
            stop=lambda state: state.attempt_number >= self._retry.max_attempts,
            wait=lambda state: self._wait(state),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response: requests.Response = retrying(self._attempt, call)
        except AttemptFailed as failed:
            raise final_error(failed, self.backend, call)  # noqa: B904 - cause set there
        return response

    # -- one attempt ----------------------------------------------------------------------

    def _attempt(self, call: Call) -> requests.Response:
        response = self._send(call)
        if (
            response.status_code == 401
            and not call.renewed
            and isinstance(call.auth, RenewableAuth)
        ):
            call.renewed = True
            if self._renew(call, call.auth, response):
                response = self._send(call)
        if 200 <= response.status_code < 300:
            self._healthy()
            return response
        if 300 <= response.status_code < 400:
            raise AttemptFailed(redirected(response), final=True)
        self._fail_on_status(call, response)

    def _renew(self, call: Call, auth: RenewableAuth, response: requests.Response) -> bool:
        try:
            return bool(auth.renew(response))
        except ErpSyncError as exc:
            raise AttemptFailed(
                exc.with_context(request_id=self._request_id(response), http_status=401),
                final=True,
            ) from exc
        except Exception as exc:
            error = AuthenticationError(
                f"could not renew the credentials ({type(exc).__name__}: {exc})",
                http_status=401,
                request_id=self._request_id(response),
            )
            raise AttemptFailed(error, final=True) from exc

    def _send(self, call: Call) -> requests.Response:
        """Send once inside a limiter slot; log it; network failures become AttemptFailed."""
        prepared = prepare(self._session, call)
        call.sends += 1
        sent = urlsplit(prepared.url or call.url)
        call.log_path = redact(sent.path + (f"?{sent.query}" if sent.query else ""))
        # Everything that costs CPU happens before the slot: a slot is a share of the
        # service's concurrency and should be held only while the request is out.
        settings = self._environment.for_url(prepared.url or call.url, sent)
        if self._limiter is None:
            return self._transmit(call, prepared, settings)
        with self._limiter.slot(call.scope):
            return self._transmit(call, prepared, settings)

    def _transmit(
        self, call: Call, prepared: requests.PreparedRequest, settings: dict[str, Any]
    ) -> requests.Response:
        started = self._clock()
        try:
            response = send_once(
                self._session,
                prepared,
                timeout=(call.timeout.connect, call.timeout.read),
                proxies=settings["proxies"],
                stream=settings["stream"],
                verify=settings["verify"],
                cert=settings["cert"],
            )
        except LOCAL_REQUEST_ERRORS as exc:
            self._log(call, type(exc).__name__, started, None, logging.WARNING)
            error = ConfigurationError(f"the request to {call.host} is malformed: {exc}")
            raise AttemptFailed(error, final=True) from None
        except requests.RequestException as exc:
            self._log(call, type(exc).__name__, started, None, logging.WARNING)
            raise network_failure(call, exc) from exc
        status = response.status_code
        self._log(call, str(status), started, self._request_id(response), level_for(status))
        return response

    def _fail_on_status(self, call: Call, response: requests.Response) -> NoReturn:
        status = response.status_code
        error = decode_failure(self._decode_error, response)
        error.with_context(http_status=status, request_id=self._request_id(response))
        header_wait = parse_retry_after(
            response.headers.get("Retry-After"), response.headers.get("Date")
        )
        if isinstance(error, RateLimitError) or status == 429:
            retry_after = error.retry_after if isinstance(error, RateLimitError) else None
            if retry_after is None:
                retry_after = header_wait
                error.with_context(retry_after=retry_after)
            if self._limiter is not None:
                # Capped like the retry delay: one absurd Retry-After must not pause the
                # whole tenant for hours.
                pause = (
                    None if retry_after is None else min(retry_after, self._retry.max_retry_after)
                )
                self._limiter.on_throttle(pause)
            raise AttemptFailed(error, http_status=status, retry_after=retry_after)
        server_side = status >= 500 or (isinstance(error, ServiceError) and error.retryable)
        if not server_side:
            self._healthy()
        elif not call.idempotent:
            error.with_context(
                hint="The write may or may not have happened: check the ERP before repeating it"
            )
        raise AttemptFailed(error, http_status=status, retry_after=header_wait)

    def _healthy(self) -> None:
        """The service answered without distress: let the limiter and budget recover."""
        if self._limiter is not None:
            self._limiter.on_success()
        if self._retry.budget is not None:
            self._retry.budget.release()

    # -- retry decisions (tenacity callables) ---------------------------------------------

    def _should_retry(self, call: Call, state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        failed = outcome.exception()
        if not isinstance(failed, AttemptFailed) or failed.final:
            return False
        context = failed.context(state.attempt_number, call.idempotent)
        if not self._retry.should_retry(context):
            return False
        budget = self._retry.budget
        if budget is not None and not budget.acquire(timeout=failed.timeout):
            call.budget_exhausted = True
            return False
        return True

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        failed = outcome.exception() if outcome is not None and outcome.failed else None
        retry_after = failed.retry_after if isinstance(failed, AttemptFailed) else None
        with self._rng_lock:
            return self._retry.delay(state.attempt_number - 1, self._rng, retry_after)

    # -- helpers --------------------------------------------------------------------------

    def _request_id(self, response: requests.Response) -> str | None:
        for name in self._request_id_headers:
            value = response.headers.get(name)
            if value:
                return value
        return None

    def _log(
        self, call: Call, outcome: str, started: float, request_id: str | None, level: int
    ) -> None:
        duration_ms = (self._clock() - started) * 1000.0
        log_exchange(self.backend, call, outcome, duration_ms, request_id, level)
