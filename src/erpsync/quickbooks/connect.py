"""Connecting a QuickBooks company: the OAuth 2.0 authorization-code flow's URL and redirect.

:class:`~erpsync.quickbooks.auth.QuickBooksAuth` sends the user to
:func:`authorization_url`, gets Intuit's redirect back, reads it with
:func:`parse_redirect` and trades the code for tokens. The ``state`` each URL carries is
remembered by :class:`AuthorizationStates` for an hour (at most 1,024 at once), and a
redirect whose state this app did not issue is refused: it may be forged (CSRF), so its
code is never exchanged.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from erpsync.errors import AuthenticationError

__all__ = [
    "STATE_CAPACITY",
    "STATE_TTL",
    "AuthorizationStates",
    "authorization_url",
    "parse_redirect",
]

_log = logging.getLogger("erpsync.quickbooks.auth")

_BACKEND = "QuickBooks"
#: How long a state handed out stays acceptable, and how many are kept at once.
STATE_TTL = timedelta(hours=1)
STATE_CAPACITY = 1024


def authorization_url(
    authorize_url: str, *, client_id: str, scopes: Sequence[str], redirect_uri: str, state: str
) -> str:
    """Intuit's authorization URL for this app, asking for ``scopes``, carrying ``state``."""
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "scope": " ".join(scopes),
            "redirect_uri": redirect_uri,
            "state": state,
        },
        quote_via=quote,
    )
    separator = "&" if urlsplit(authorize_url).query else "?"
    return f"{authorize_url}{separator}{query}"


def parse_redirect(url: str) -> tuple[str, str, str]:
    """``(code, realm_id, state)`` from the URL Intuit redirected the user to."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}
    error = params.get("error")
    if error:
        message = (
            "the user declined to connect the QuickBooks company"
            if error == "access_denied"
            else "QuickBooks authorization failed"
        )
        raise AuthenticationError(
            message,
            backend=_BACKEND,
            code=error,
            detail=params.get("error_description"),
            hint="Start the authorization flow again",
        )
    missing = [name for name in ("code", "realmId", "state") if not params.get(name)]
    if missing:
        raise AuthenticationError(
            f"the authorization redirect lacks {', '.join(missing)}",
            backend=_BACKEND,
            hint="Pass the full URL Intuit redirected to, query string included",
        )
    return params["code"], params["realmId"], params["state"]


class AuthorizationStates:
    """The states this process handed out, each accepted once within :data:`STATE_TTL`."""

    def __init__(self) -> None:
        self._states: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def issue(self, state: str | None, now: datetime) -> str:
        """Remember ``state`` (a fresh random one when None) and return it."""
        state = state or secrets.token_urlsafe(32)
        with self._lock:
            self._prune(now)
            self._states[state] = now
        return state

    def check(self, state: str | None, expected_state: str | None, now: datetime) -> None:
        """Accept a redirect's ``state`` (once), or raise: it equals ``expected_state``
        when the caller kept it (a web app with several processes), else one issued here."""
        if expected_state is not None:
            ok = bool(state) and hmac.compare_digest(
                (state or "").encode(), expected_state.encode()
            )
        else:
            with self._lock:
                self._prune(now)
                ok = bool(state) and self._states.pop(state or "", None) is not None
        if not ok:
            _log.warning(
                "QuickBooks authorization redirect with an unknown or mismatched state: "
                "possible CSRF attempt, the code was not exchanged"
            )
            raise AuthenticationError(
                "the OAuth state of the redirect does not match one this app issued "
                "(possible cross-site request forgery, or the flow expired)",
                backend=_BACKEND,
                hint="Start the authorization flow again",
            )

    def _prune(self, now: datetime) -> None:
        for key in [k for k, t in self._states.items() if now - t > STATE_TTL]:
            del self._states[key]
        while len(self._states) >= STATE_CAPACITY:
            del self._states[next(iter(self._states))]
