"""One attempt of a :class:`~erpsync.transport.Transport` request, and how it fails.

Internal to the transport: the state a request carries across its attempts
(:class:`Call`), the carrier of one failed attempt through tenacity
(:class:`AttemptFailed`, which becomes the :class:`~erpsync.transport.AttemptContext`
the retry checkers read), and the three ways an attempt fails: no answer
(:func:`network_failure`), an error answer (:func:`decode_failure`) and a redirect,
which is never followed (:func:`redirected`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult

import requests
import requests.auth
from requests.cookies import extract_cookies_to_jar
from requests.hooks import dispatch_hook

from erpsync._redact import redact, truncate
from erpsync.errors import ConfigurationError, ErpSyncError, RateLimitError, ServiceError
from erpsync.transport.bodies import body_text
from erpsync.transport.failures import classify
from erpsync.transport.options import Timeout
from erpsync.transport.retry import AttemptContext

__all__ = [
    "AttemptFailed",
    "Call",
    "EnvironmentSettings",
    "ErrorDecoder",
    "decode_failure",
    "final_error",
    "network_failure",
    "prepare",
    "redirected",
    "send_once",
]

ErrorDecoder = Callable[[requests.Response], ErpSyncError]
"""Turns a non-2xx response into the error tree; each backend knows its own bodies."""


class AttemptFailed(Exception):
    """Carries one failed attempt's error through tenacity, with what retrying needs.

    ``final`` failures are never retried (a malformed request, a failed renewal); the
    others are put to the policy's checkers as an :class:`AttemptContext`.
    """

    def __init__(
        self,
        error: ErpSyncError,
        *,
        final: bool = False,
        http_status: int | None = None,
        sent: bool = True,
        transient: bool = True,
        timeout: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.final = final
        self.http_status = http_status
        self.sent = sent
        self.transient = transient
        self.timeout = timeout
        self.retry_after = retry_after

    def context(self, attempt_number: int, idempotent: bool) -> AttemptContext:
        return AttemptContext(
            attempt_number=attempt_number,
            idempotent=idempotent,
            error=self.error,
            http_status=self.http_status,
            sent=self.sent,
            transient=self.transient,
            timeout=self.timeout,
            retry_after=self.retry_after,
        )


@dataclass
class Call:
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


def network_failure(call: Call, exc: requests.RequestException) -> AttemptFailed:
    """A ``requests`` exception as a failed attempt: a ServiceError saying whether the
    write may have happened, and what the retry checkers need to know."""
    failure = classify(exc, call.host, call.timeout.connect, call.timeout.read)
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
    return AttemptFailed(
        error, sent=not failure.unsent, transient=failure.transient, timeout=failure.timeout
    )


def decode_failure(decode_error: ErrorDecoder, response: requests.Response) -> ErpSyncError:
    """The ERP's decoder applied to a failed answer; whatever it does, an ErpSyncError."""
    status = response.status_code
    try:
        error = decode_error(response)
    except ErpSyncError as exc:
        error = exc
    except Exception as exc:
        error = ServiceError(
            f"answered HTTP {status} with a body that could not be read ({type(exc).__name__})",
            http_status=status,
            raw=body_text(response),
            retryable=status >= 500 or status == 429,
        )
    if not isinstance(error, ErpSyncError):
        error = ServiceError(
            f"answered HTTP {status} with an error that could not be interpreted",
            http_status=status,
            raw=body_text(response),
            retryable=status >= 500 or status == 429,
        )
    return error


def redirected(response: requests.Response) -> ErpSyncError:
    """A 3xx, which erpsync never follows: the error names the status and the Location.

    The Location is shown as text, never parsed, so that a malformed one cannot raise.
    """
    status = response.status_code
    location = response.headers.get("Location")
    shown = truncate(redact(str(location)), 300) if location else "no Location header"
    return ServiceError(
        f"answered HTTP {status} redirecting to {shown!r}; erpsync does not follow redirects",
        http_status=status,
        detail=f"Location: {shown}",
        raw=body_text(response, 1000),
        retryable=False,
        hint="Point base_url (or token_url) at the address the service redirects to; a "
        "redirect of an API call usually means a wrong host or a proxy in the way",
    )


def send_once(
    session: requests.Session, prepared: requests.PreparedRequest, **kwargs: Any
) -> requests.Response:
    """``Session.send`` without any redirect handling: one request, one answer.

    ``Session.send(allow_redirects=False)`` still parses the ``Location`` of a 3xx (to
    offer ``response.next``), and a malformed one raises ``ValueError``,
    ``UnicodeDecodeError`` or ``IndexError`` from inside requests. This sends through
    the session's adapter (so mounted adapters, ``responses`` and the emulators apply),
    runs the response hooks, keeps the cookies and reads the body, as ``send`` would,
    and leaves the 3xx to :func:`redirected`.
    """
    adapter = session.get_adapter(url=prepared.url or "")
    response = adapter.send(prepared, **kwargs)
    hooked: requests.Response = dispatch_hook(  # type: ignore[no-untyped-call]
        "response", prepared.hooks, response, **kwargs
    )
    extract_cookies_to_jar(session.cookies, prepared, hooked.raw)  # type: ignore[no-untyped-call]
    if not kwargs.get("stream"):
        _ = hooked.content
    return hooked


def prepare(session: requests.Session, call: Call) -> requests.PreparedRequest:
    """The request of one attempt, prepared (and signed by its auth) outside any slot.

    An error tree exception the auth raises while preparing (a token endpoint that
    failed) means nothing reached the ERP, so what that error calls transient is retried
    for any method; anything else is a configuration problem, not retried.
    """
    try:
        return session.prepare_request(
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
        transient = isinstance(exc, RateLimitError) or (
            isinstance(exc, ServiceError) and exc.retryable
        )
        retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
        raise AttemptFailed(exc, sent=False, transient=transient, retry_after=retry_after) from exc
    except Exception as exc:
        message = f"could not prepare the request ({type(exc).__name__}: {exc})"
        raise AttemptFailed(ConfigurationError(message), final=True) from None


def final_error(failed: AttemptFailed, backend: str, call: Call) -> ErpSyncError:
    """The error a request raises after its last failed attempt, with its context.

    The real cause (if any) stays chained; the internal carrier is hidden.
    """
    error = failed.error.with_context(backend=backend, record=call.record, attempts=call.sends)
    if call.budget_exhausted:
        error.with_context(hint="Retries stopped early: the retry budget for this tenant is spent")
    cause = failed.__cause__
    if cause is not None and cause is not error:
        error.__cause__ = cause
    error.__suppress_context__ = True
    return error


class EnvironmentSettings:
    """Proxies and CA bundle from the environment, per ``scheme://host``, as
    ``Session.request`` would apply them. requests reads the environment on every call
    (~0.5 ms); a transport lives for one backend object, so it reads it once per host."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        self._cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def for_url(self, url: str, parts: SplitResult) -> dict[str, Any]:
        key = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = dict(self._session.merge_environment_settings(url, {}, None, None, None))
            with self._lock:
                self._cache[key] = cached
        return cached
