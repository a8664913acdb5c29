"""NetSuite's "concurrency limit as INVALID_LOGIN" quirk, handled as throttling.

The auth every NetSuite client's transport attaches: the account's own auth (TBA or M2M),
plus a resend of a request refused with a 401 ``INVALID_LOGIN`` (see
:class:`ContendedLoginAuth`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable

import requests
from requests.auth import AuthBase

from erpsync.errors import AuthenticationError, ErpSyncError
from erpsync.limits import Limiter
from erpsync.netsuite.errors import decode_error
from erpsync.transport.auth import bearer_of
from erpsync.transport.retry import AttemptContext

__all__ = ["ContendedLoginAuth"]

_log = logging.getLogger("erpsync.netsuite.client")


class ContendedLoginAuth(AuthBase):
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

    One resend is not always enough: on a loaded host the other requests may still hold
    the account's slots when it goes out. So once the credentials are proven (this
    client has had a 2xx answer with them), a further ``INVALID_LOGIN`` to a request
    signed with token-based auth (not a bearer token, which gets the 429) is marked as
    possibly contended (:meth:`decode_error`: the limiter is told it was throttled) and
    this object, a :class:`~erpsync.transport.RetryChecker`, lets the transport's one
    retry loop repeat it with its backoff, attempts and budget, like any throttling.
    The error stays an :class:`~erpsync.errors.AuthenticationError`: credentials that
    never worked fail after one resend, and a token revoked in the middle of a run fails
    as what it most likely is once the attempts are spent, its hint naming both causes.
    """

    def __init__(self, inner: AuthBase, *, limiter: Limiter, pause: Callable[[], None]) -> None:
        self._inner = inner
        self._limiter = limiter
        self._pause = pause
        self._proven = False
        # The errors decode_error marked as possibly contended, by identity.
        self._contended: weakref.WeakSet[ErpSyncError] = weakref.WeakSet()

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        signed: requests.PreparedRequest = self._inner(r)
        if not self._proven:
            signed.hooks.setdefault("response", []).append(self._note_answer)
        return signed

    def _note_answer(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        if 200 <= response.status_code < 300:
            self._proven = True

    def decode_error(self, response: requests.Response) -> ErpSyncError:
        """NetSuite's error decoder, marking an ``INVALID_LOGIN`` to proven token-based
        credentials as possibly contended (see the class docstring)."""
        error = decode_error(response)
        # Only token-based auth has the quirk: a bearer token (OAuth 2.0) over the limit
        # gets the 429, and its INVALID_LOGIN means the token or its scope is refused.
        signed_by_tba = bearer_of(response.request) is None
        if not (self._proven and signed_by_tba and _is_login_refusal(error)):
            return error
        _log.info(
            "NetSuite answered INVALID_LOGIN again to credentials that have worked in this "
            "client; treating it as throttling (its account concurrency limit) and "
            "retrying with backoff"
        )
        self._limiter.on_throttle()
        self._contended.add(error)
        error.hint = (
            "NetSuite kept answering INVALID_LOGIN to credentials that worked earlier in "
            "this run: either the token was revoked meanwhile, or other integrations are "
            "using the account's concurrency (Setup > Users/Roles > View Login Audit Trail "
            "says which)"
        )
        return error

    def is_retryable(self, context: AttemptContext) -> bool:
        """The retry checker: a refusal :meth:`decode_error` marked as contended."""
        return context.error in self._contended

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
    return _is_login_refusal(decode_error(response))


def _is_login_refusal(error: ErpSyncError) -> bool:
    return isinstance(error, AuthenticationError) and (error.code or "").upper() in (
        "INVALID_LOGIN",
        "INVALID_LOGIN_ATTEMPT",
    )
