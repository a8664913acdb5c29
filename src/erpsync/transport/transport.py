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

import email.utils
import ipaddress
import logging
import math
import random
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import EllipsisType, TracebackType
from typing import Any, NoReturn, Protocol, Self, runtime_checkable
from urllib.parse import SplitResult, urlsplit

import requests
import requests.auth
import urllib3.exceptions
from tenacity import RetryCallState, Retrying

from erpsync._logging import RedactingFilter, install_third_party_redaction
from erpsync._redact import redact, truncate
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    ErpSyncError,
    RateLimitError,
    ServiceError,
)
from erpsync.limits import Limiter
from erpsync.transport.options import TransportOptions

__all__ = [
    "ErrorDecoder",
    "RedactingFilter",
    "RenewableAuth",
    "RetryBudget",
    "RetryPolicy",
    "Timeout",
    "Transport",
    "new_idempotency_key",
    "parse_retry_after",
]

logger = logging.getLogger("erpsync.http")

# oauthlib, requests-oauthlib and urllib3 print credentials at DEBUG level; every request
# erpsync makes goes through them, so their log lines are redacted (see erpsync._logging).
install_third_party_redaction()

#: Methods that HTTP defines as idempotent (RFC 9110 9.2.2), hence retried by default.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

ErrorDecoder = Callable[[requests.Response], ErpSyncError]
"""Turns a non-2xx response into the error tree; each backend knows its own bodies."""


def new_idempotency_key() -> str:
    """A fresh key for one logical write: 32 hex characters.

    It fits QuickBooks' ``requestid`` (at most 50 characters, 36 inside a batch) and
    NetSuite's external ids (letters and digits only). Make it once per write, before
    the first attempt, and reuse it on every retry.
    """
    return uuid.uuid4().hex


# -- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait for a connection and then for each read of the answer.

    Both are always set: a request without a timeout can hang a sync forever on a
    half-open connection.
    """

    connect: float = 10.0
    read: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ConfigurationError(f"Timeout {name} must be a positive number, not {value!r}")


class RetryBudget:
    """Tokens that retries spend and successes earn back, shared by a tenant's requests.

    Per-request attempt caps do not stop a retry storm: with a dead service, every
    thread still retries ``max_attempts`` times. A shared budget does: once retries have
    drained it, further failures are raised at once until successes refill it. A
    timeout costs more than another failure because it also held a connection and a
    concurrency place for the whole timeout.
    """

    def __init__(
        self,
        capacity: int = 100,
        retry_cost: int = 5,
        timeout_cost: int = 10,
        success_refund: int = 1,
    ) -> None:
        for name, value in (
            ("capacity", capacity),
            ("retry_cost", retry_cost),
            ("timeout_cost", timeout_cost),
            ("success_refund", success_refund),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"RetryBudget {name} must be a non-negative integer")
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund
        self._available = capacity
        self._lock = threading.Lock()

    @property
    def available(self) -> int:
        """Tokens left."""
        with self._lock:
            return self._available

    def acquire(self, *, timeout: bool = False) -> bool:
        """Spend the cost of one retry; False (and nothing spent) when it cannot be paid."""
        cost = self.timeout_cost if timeout else self.retry_cost
        with self._lock:
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def release(self) -> None:
        """A request succeeded: earn back ``success_refund`` tokens, up to capacity."""
        with self._lock:
            self._available = min(self.capacity, self._available + self.success_refund)

    def __repr__(self) -> str:
        return f"RetryBudget(available={self.available}, capacity={self.capacity})"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry what is safe to retry.

    ``max_attempts`` counts the first attempt. The n-th retry (n from 0) waits
    ``uniform(0, min(max_delay, base_delay * 2**n))`` ("full jitter", which spreads
    competing clients best), unless the service said how long to wait (``Retry-After``,
    :attr:`RateLimitError.retry_after`); that wait is honoured up to ``max_retry_after``.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    budget: RetryBudget | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ConfigurationError("RetryPolicy max_attempts must be an integer")
        if self.max_attempts < 1:
            raise ConfigurationError("RetryPolicy max_attempts must be at least 1")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"RetryPolicy {name} must be a non-negative number")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """The full-jitter wait before retry ``retry_number`` (0 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(retry_number, 64))
        return rng.uniform(0.0, ceiling)

    def delay(self, retry_number: int, rng: random.Random, retry_after: float | None) -> float:
        """The wait before a retry: the service's wish when known (capped), else backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(retry_number, rng)


#: The retry budget of each tenant limiter, made on first use (see :class:`Transport`).
_BUDGETS: weakref.WeakKeyDictionary[Limiter, RetryBudget] = weakref.WeakKeyDictionary()
_BUDGETS_LOCK = threading.Lock()


def _default_budget(limiter: Limiter | None) -> RetryBudget:
    """The budget for a policy that names none: the tenant's (one per limiter), or a
    transport's own when it has no limiter."""
    if limiter is None:
        return RetryBudget()
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(limiter)
        if budget is None:
            budget = _BUDGETS[limiter] = RetryBudget()
        return budget


@runtime_checkable
class RenewableAuth(Protocol):
    """A ``requests`` auth that can get fresh credentials after a 401.

    ``renew`` gets the 401 response and returns True when it obtained new credentials
    (refreshed an OAuth 2 access token, signed a new JWT assertion); the transport then
    sends the request once more, outside the retry budget. It may raise an
    :class:`AuthenticationError` (for example ``reconnect_required``), which is passed on.
    """

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest: ...

    def renew(self, response: requests.Response) -> bool: ...


def parse_retry_after(value: str | None, date_header: str | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    A date is measured against the response's own ``Date`` header when present (the
    server's clock, immune to skew of ours), otherwise against our wall clock. A date
    in the past means "now"; an unreadable value means "not said".
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    now: datetime | None = None
    if date_header:
        try:
            now = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            now = None
    if now is None:
        now = datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


# -- URL policy ---------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str) -> str:
    """Refuse anything but https, except plain http to a loopback emulator."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigurationError(f"{what} {redact(url)!r} is not a valid URL ({exc})") from None
    if not host:
        raise ConfigurationError(f"{what} {redact(url)!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"{what} must not carry credentials in the URL; pass them as auth instead"
        )
    scheme = parts.scheme.lower()
    if scheme == "https":
        return url
    if scheme == "http":
        if _is_loopback(host):
            return url
        raise ConfigurationError(
            f"{what} {redact(url)!r} uses plain http; only https is allowed "
            "(http is accepted for loopback hosts such as 127.0.0.1, for the emulators)"
        )
    raise ConfigurationError(f"{what} {redact(url)!r} must be an https URL")


def _is_absolute(path: str) -> bool:
    parts = urlsplit(path)
    return bool(parts.scheme and parts.netloc)


# -- network failures ---------------------------------------------------------------------


@dataclass(frozen=True)
class _NetworkFailure:
    """What a ``requests`` exception means for retrying."""

    message: str
    #: True when the request provably never left this machine.
    unsent: bool
    #: True for timeouts (which cost more retry budget).
    timeout: bool
    #: False when trying again cannot help (a TLS certificate problem).
    transient: bool = True


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (args, urllib3 ``reason``, cause, context)."""
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        for inner in (
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *current.args,
        ):
            if isinstance(inner, BaseException):
                stack.append(inner)
    return seen


def _classify(exc: requests.RequestException, host: str, timeout: Timeout) -> _NetworkFailure:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _NetworkFailure(
            f"could not connect to {host} within {timeout.connect:g} s (connect timeout)",
            unsent=True,
            timeout=True,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _NetworkFailure(
            f"{host} did not answer within {timeout.read:g} s (read timeout)",
            unsent=False,
            timeout=True,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return _NetworkFailure(
            f"the TLS connection to {host} failed (certificate or protocol problem)",
            unsent=True,
            timeout=False,
            transient=False,
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        return _NetworkFailure(
            f"could not reach {host} through the configured proxy", unsent=True, timeout=False
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        causes = _causes(exc)
        if any(isinstance(c, urllib3.exceptions.NameResolutionError) for c in causes):
            return _NetworkFailure(
                f"could not resolve the host name {host}", unsent=True, timeout=False
            )
        if any(
            isinstance(c, urllib3.exceptions.NewConnectionError | ConnectionRefusedError)
            for c in causes
        ):
            return _NetworkFailure(
                f"could not connect to {host} (connection refused or unreachable)",
                unsent=True,
                timeout=False,
            )
        if any(isinstance(c, TimeoutError | urllib3.exceptions.TimeoutError) for c in causes):
            return _NetworkFailure(
                f"the connection to {host} timed out before an answer arrived",
                unsent=False,
                timeout=True,
            )
        return _NetworkFailure(
            f"the connection to {host} broke before an answer arrived (reset or closed)",
            unsent=False,
            timeout=False,
        )
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return _NetworkFailure(
            f"the answer from {host} was cut off or could not be decoded",
            unsent=False,
            timeout=False,
        )
    return _NetworkFailure(
        f"the request to {host} failed ({type(exc).__name__})", unsent=False, timeout=False
    )


#: ``requests`` errors that mean our own URL, headers or body are wrong.
_LOCAL_REQUEST_ERRORS: tuple[type[Exception], ...] = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidJSONError,
    requests.exceptions.URLRequired,
)


# -- the retry loop -----------------------------------------------------------------------


class _AttemptFailed(Exception):
    """Carries one failed attempt's final error through tenacity, with what retrying needs."""

    def __init__(
        self,
        error: ErpSyncError,
        *,
        retryable: bool,
        timeout: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable
        self.timeout = timeout
        self.retry_after = retry_after


@dataclass
class _Call:
    """The state of one :meth:`Transport.request` across its attempts."""

    method: str
    url: str
    #: The path and query actually sent, redacted (set per send, params included).
    log_path: str
    host: str
    idempotent: bool
    record: str | None
    scope: str | None
    timeout: Timeout
    auth: requests.auth.AuthBase | None
    params: Any
    json: Any
    data: Any
    headers: dict[str, str]
    sends: int = 0
    renewed: bool = False
    budget_exhausted: bool = False
    secrets: tuple[str, ...] = ()


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
        self.base_url = _check_url(base_url, "base_url").rstrip("/")
        self._decode_error = decode_error
        self._auth = auth
        self._limiter = limiter
        policy = retry if retry is not None else RetryPolicy()
        if policy.budget is None:
            # No policy goes without a budget: without one a dead service is retried
            # max_attempts times by every thread at once. The tenant's limiter marks the
            # tenant, so transports sharing a limiter share its budget.
            policy = replace(policy, budget=_default_budget(limiter))
        self._retry = policy
        self._timeout = timeout
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        # Proxy and CA settings from the environment, per scheme://host. requests reads
        # the environment on every call (~0.5 ms); a transport lives for one backend
        # object, so it reads it once per host.
        self._environment: dict[str, dict[str, Any]] = {}
        self._environment_lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._rng_lock = threading.Lock()
        self._request_id_headers = tuple(request_id_headers)
        self._user_agent = user_agent if user_agent is not None else _default_user_agent()
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
        if _is_absolute(path):
            url = _check_url(path, "URL")
        else:
            url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        parts = urlsplit(url)
        merged_headers = {"User-Agent": self._user_agent}
        merged_headers.update(headers or {})
        call = _Call(
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
        except _AttemptFailed as failed:
            error = failed.error.with_context(
                backend=self.backend, record=call.record, attempts=call.sends
            )
            if call.budget_exhausted:
                error.with_context(
                    hint="Retries stopped early: the retry budget for this tenant is spent"
                )
            cause = failed.__cause__
            if cause is not None and cause is not error:
                error.__cause__ = cause
            # Hide the internal carrier; the real cause (if any) stays chained.
            error.__suppress_context__ = True
            raise error  # noqa: B904 - cause set explicitly above
        return response

    # -- one attempt ----------------------------------------------------------------------

    def _attempt(self, call: _Call) -> requests.Response:
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
        self._fail_on_status(call, response)

    def _renew(self, call: _Call, auth: RenewableAuth, response: requests.Response) -> bool:
        try:
            return bool(auth.renew(response))
        except ErpSyncError as exc:
            raise _AttemptFailed(
                exc.with_context(request_id=self._request_id(response), http_status=401),
                retryable=False,
            ) from exc
        except Exception as exc:
            error = AuthenticationError(
                f"could not renew the credentials ({type(exc).__name__}: {exc})",
                http_status=401,
                request_id=self._request_id(response),
            )
            raise _AttemptFailed(error, retryable=False) from exc

    def _send(self, call: _Call) -> requests.Response:
        """Send once inside a limiter slot; log it; network failures become _AttemptFailed."""
        try:
            prepared = self._session.prepare_request(
                requests.Request(
                    call.method,
                    call.url,
                    params=call.params,
                    json=call.json,
                    data=call.data,
                    headers=call.headers,
                    auth=call.auth,
                )
            )
        except ErpSyncError as exc:
            # Raised by the auth while preparing (e.g. a token endpoint that failed):
            # nothing reached the ERP, so what the error itself calls transient is safe
            # to retry for any method.
            transient = isinstance(exc, RateLimitError) or (
                isinstance(exc, ServiceError) and exc.retryable
            )
            retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
            raise _AttemptFailed(exc, retryable=transient, retry_after=retry_after) from exc
        except Exception as exc:
            message = f"could not prepare the request ({type(exc).__name__}: {exc})"
            raise _AttemptFailed(ConfigurationError(message), retryable=False) from None
        call.sends += 1
        sent = urlsplit(prepared.url or call.url)
        call.log_path = redact(sent.path + (f"?{sent.query}" if sent.query else ""))
        # Everything that costs CPU happens before the slot: a slot is a share of the
        # service's concurrency and should be held only while the request is out.
        settings = self._environment_settings(prepared.url or call.url, sent)
        if self._limiter is None:
            return self._transmit(call, prepared, settings)
        with self._limiter.slot(call.scope):
            return self._transmit(call, prepared, settings)

    def _environment_settings(self, url: str, parts: SplitResult) -> dict[str, Any]:
        """Proxies and CA bundle from the environment, as Session.request would apply."""
        key = f"{parts.scheme}://{parts.netloc}"
        with self._environment_lock:
            cached = self._environment.get(key)
        if cached is None:
            cached = dict(self._session.merge_environment_settings(url, {}, None, None, None))
            with self._environment_lock:
                self._environment[key] = cached
        return cached

    def _transmit(
        self, call: _Call, prepared: requests.PreparedRequest, settings: dict[str, Any]
    ) -> requests.Response:
        started = self._clock()
        try:
            response = self._session.send(
                prepared,
                timeout=(call.timeout.connect, call.timeout.read),
                proxies=settings["proxies"],
                stream=settings["stream"],
                verify=settings["verify"],
                cert=settings["cert"],
            )
        except _LOCAL_REQUEST_ERRORS as exc:
            self._log(call, type(exc).__name__, started, None, logging.WARNING)
            error = ConfigurationError(f"the request to {call.host} is malformed: {exc}")
            raise _AttemptFailed(error, retryable=False) from None
        except requests.RequestException as exc:
            self._log(call, type(exc).__name__, started, None, logging.WARNING)
            raise self._network_failure(call, exc) from exc
        status = response.status_code
        if status < 400:
            level = logging.DEBUG
        elif status < 500 and status != 429:
            level = logging.INFO
        else:
            level = logging.WARNING
        self._log(call, str(status), started, self._request_id(response), level)
        return response

    def _network_failure(self, call: _Call, exc: requests.RequestException) -> _AttemptFailed:
        failure = _classify(exc, call.host, call.timeout)
        safe = failure.transient and (call.idempotent or failure.unsent)
        message = failure.message
        hint: str | None = None
        if failure.transient and not safe:
            message += "; the write may or may not have happened"
            hint = (
                "Check the ERP before repeating it, or send it with an idempotency key "
                "so that it can be retried safely"
            )
        error = ServiceError(
            message,
            retryable=safe,
            raw=truncate(redact(str(exc)), 500),
            hint=hint,
        )
        return _AttemptFailed(error, retryable=safe, timeout=failure.timeout)

    def _fail_on_status(self, call: _Call, response: requests.Response) -> NoReturn:
        error = self._decode(response)
        request_id = self._request_id(response)
        error.with_context(http_status=response.status_code, request_id=request_id)
        header_wait = parse_retry_after(
            response.headers.get("Retry-After"), response.headers.get("Date")
        )
        if isinstance(error, RateLimitError) or response.status_code == 429:
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
            # The service refused it unprocessed: safe to repeat whatever it was.
            raise _AttemptFailed(error, retryable=True, retry_after=retry_after)
        server_side = response.status_code >= 500 or (
            isinstance(error, ServiceError) and error.retryable
        )
        if server_side:
            if call.idempotent and isinstance(error, ServiceError) and error.retryable:
                raise _AttemptFailed(error, retryable=True, retry_after=header_wait)
            if not call.idempotent:
                error.with_context(
                    hint="The write may or may not have happened: check the ERP before repeating it"
                )
            raise _AttemptFailed(error, retryable=False)
        self._healthy()
        raise _AttemptFailed(error, retryable=False)

    def _decode(self, response: requests.Response) -> ErpSyncError:
        status = response.status_code
        try:
            error = self._decode_error(response)
        except ErpSyncError as exc:
            error = exc
        except Exception as exc:
            error = ServiceError(
                f"answered HTTP {status} with a body that could not be read ({type(exc).__name__})",
                http_status=status,
                raw=_body_text(response),
                retryable=status >= 500 or status == 429,
            )
        if not isinstance(error, ErpSyncError):
            error = ServiceError(
                f"answered HTTP {status} with an error that could not be interpreted",
                http_status=status,
                raw=_body_text(response),
                retryable=status >= 500 or status == 429,
            )
        return error

    def _healthy(self) -> None:
        """The service answered without distress: let the limiter and budget recover."""
        if self._limiter is not None:
            self._limiter.on_success()
        if self._retry.budget is not None:
            self._retry.budget.release()

    # -- retry decisions (tenacity callables) ---------------------------------------------

    def _should_retry(self, call: _Call, state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        failed = outcome.exception()
        if not isinstance(failed, _AttemptFailed) or not failed.retryable:
            return False
        if state.attempt_number >= self._retry.max_attempts:
            return False
        budget = self._retry.budget
        if budget is not None and not budget.acquire(timeout=failed.timeout):
            call.budget_exhausted = True
            return False
        return True

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        failed = outcome.exception() if outcome is not None and outcome.failed else None
        retry_after = failed.retry_after if isinstance(failed, _AttemptFailed) else None
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
        self, call: _Call, outcome: str, started: float, request_id: str | None, level: int
    ) -> None:
        duration_ms = (self._clock() - started) * 1000.0
        logger.log(
            level,
            "%s %s %s -> %s in %.0f ms (attempt %d, request id %s)",
            self.backend,
            call.method,
            call.log_path,
            outcome,
            duration_ms,
            call.sends,
            request_id or "-",
            extra={
                "erpsync_backend": self.backend,
                "erpsync_method": call.method,
                "erpsync_path": call.log_path,
                "erpsync_status": outcome,
                "erpsync_duration_ms": duration_ms,
                "erpsync_attempt": call.sends,
                "erpsync_request_id": request_id,
            },
        )


def _body_text(response: requests.Response) -> str:
    try:
        return response.text
    except Exception:  # a body in an unknown encoding still must not escape as an error
        return repr(response.content[:2000])


def _default_user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("erpsync")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        own = "0"
    return f"erpsync/{own} {requests.utils.default_user_agent()}"
