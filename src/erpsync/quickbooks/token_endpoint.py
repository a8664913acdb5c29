"""Intuit's OAuth 2.0 token and revoke endpoints, through the shared Transport.

:class:`TokenEndpoint` makes the three POSTs :class:`~erpsync.quickbooks.auth.QuickBooksAuth`
needs (exchange a code, refresh, revoke) with the app's client credentials, and turns
every refusal into the error tree: ``invalid_grant`` is an
:class:`~erpsync.errors.AuthenticationError` with ``reconnect_required``, a wrong client
id or secret one with a hint about environments, 429 a
:class:`~erpsync.errors.RateLimitError`, 5xx a retryable
:class:`~erpsync.errors.ServiceError`. Secrets (the client secret, the tokens, the code)
are removed from every message and raw body.

What is retried is decided per POST by :class:`TokenEndpointRetries`: failures before
anything was sent, up to twice; a lost answer once, and only when the caller allows it
(a refresh, whose rules :mod:`erpsync.quickbooks.auth` explains). An answer, even a 5xx
or a 429, is never retried here: it is the data request's transport's to retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from erpsync.errors import AuthenticationError, ErpSyncError, RateLimitError, ServiceError
from erpsync.quickbooks.errors import request_id_of
from erpsync.quickbooks.oauth_token import QuickBooksToken
from erpsync.quickbooks.token_cache import RECONNECT_HINT
from erpsync.quickbooks.wire import HARD_EXPIRY_HEADER, REQUEST_ID_HEADERS
from erpsync.transport import AttemptContext, RetryPolicy, Timeout, Transport, TransportOptions
from erpsync.transport.bodies import json_object

__all__ = ["TokenEndpoint", "TokenEndpointRetries"]

_log = logging.getLogger("erpsync.quickbooks.auth")

_BACKEND = "QuickBooks"
_NOT_SENT_RETRIES = 2
_CLIENT_HINT = (
    "Check the client id and client secret, and that they belong to the same environment "
    "(development keys for sandbox companies, production keys for real ones)"
)

#: ``redact(text, extra_secrets)``: ``text`` without any secret the caller knows of.
Redactor = Callable[[str, Sequence[str]], str]


class TokenEndpoint:
    """The app's client credentials and the endpoints they are sent to."""

    def __init__(
        self,
        *,
        client: tuple[str, str],
        token_url: str,
        session: requests.Session,
        timeout: float,
        redact: Redactor,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``client`` is (client id, client secret)."""
        self._client_id, self._client_secret = client
        self._token_url = token_url
        self._session = session
        self._timeout = timeout
        self._sleep = sleep
        self._redact = redact

    def __repr__(self) -> str:
        return f"TokenEndpoint(client_id={self._client_id!r}, token_url={self._token_url!r})"

    def exchange(
        self,
        session: requests.Session | None,
        code: str,
        redirect_uri: str,
        *,
        realm_id: str,
        now: Callable[[], datetime],
    ) -> QuickBooksToken:
        """The first token of a company, for the authorization ``code`` (never retried
        after it may have been sent: a code is single-use)."""
        body = self.post_token(
            session,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            realm_id=realm_id,
            extra_secrets=(code,),
            retry_lost=False,
            grant_hint="The authorization code expired (they live minutes) or was already "
            "used: start the authorization flow again",
        )
        return QuickBooksToken.from_response(body, now=now(), realm_id=realm_id)

    def refreshed(
        self,
        session: requests.Session | None,
        current: QuickBooksToken,
        *,
        realm_id: str,
        retry_lost: bool,
        now: Callable[[], datetime],
    ) -> QuickBooksToken:
        """The token that replaces ``current`` (spending its refresh token)."""
        body = self.post_token(
            session,
            {"grant_type": "refresh_token", "refresh_token": current.refresh_token},
            realm_id=realm_id,
            extra_secrets=current.secret_values(),
            retry_lost=retry_lost,
            grant_hint=RECONNECT_HINT,
        )
        try:
            fresh = QuickBooksToken.from_response(body, now=now(), realm_id=realm_id)
        except ErpSyncError as exc:
            raise exc.with_context(
                hint="The refresh answer was unusable; the previous refresh token may "
                "already be spent. " + RECONNECT_HINT + " if the next call fails too"
            ) from None
        if fresh.refresh_hard_expires_at is None and current.refresh_hard_expires_at:
            # A refresh does not move the hard limit; keep knowing it.
            fresh = replace(fresh, refresh_hard_expires_at=current.refresh_hard_expires_at)
        return fresh

    def revoke(
        self,
        session: requests.Session | None,
        revoke_url: str,
        token: QuickBooksToken,
        *,
        realm_id: str,
    ) -> None:
        """Revoke ``token`` at Intuit; one Intuit no longer knows counts as revoked.
        Revoking is idempotent, so a lost answer is retried."""
        try:
            self.send(
                session,
                revoke_url,
                realm_id=realm_id,
                json_body={"token": token.refresh_token},
                retry_lost=True,
                extra_secrets=token.secret_values(),
            )
        except ErpSyncError as exc:
            if exc.http_status not in (400, 404):
                raise
            _log.info("QuickBooks company %s: token already invalid at Intuit", realm_id)

    def post_token(
        self,
        session: requests.Session | None,
        form: Mapping[str, str],
        *,
        realm_id: str,
        extra_secrets: Sequence[str],
        retry_lost: bool,
        grant_hint: str,
    ) -> dict[str, Any]:
        response = self.send(
            session,
            self._token_url,
            form=form,
            realm_id=realm_id,
            retry_lost=retry_lost,
            extra_secrets=extra_secrets,
            grant_hint=grant_hint,
        )
        return json_object(
            response,
            backend=_BACKEND,
            record=f"company {realm_id}",
            exact=False,
            request_id=request_id_of(response),
        )

    def send(
        self,
        session: requests.Session | None,
        url: str,
        *,
        realm_id: str,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
        retry_lost: bool,
        extra_secrets: Sequence[str],
        grant_hint: str = "",
    ) -> requests.Response:
        """POST with client authentication through the shared Transport; only the
        retries the module docstring allows (:class:`TokenEndpointRetries`)."""
        retries = TokenEndpointRetries(retry_lost=retry_lost, url=url)

        def decode(response: requests.Response) -> ErpSyncError:
            hint = grant_hint
            if retries.lost:
                hint = (
                    "An earlier answer from Intuit was lost on the way, and the refresh token "
                    "it would have replaced is no longer accepted. " + grant_hint
                )
            return self._error_from(response, realm_id, extra_secrets, hint)

        options = TransportOptions(
            session=session or self._session,
            sleep=self._sleep,
            timeout=Timeout(connect=min(10.0, self._timeout), read=self._timeout),
            retry=RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=2.0, checker=retries),
        )
        transport = Transport(
            backend=_BACKEND,
            base_url=url,
            decode_error=decode,
            auth=HTTPBasicAuth(self._client_id, self._client_secret),
            options=options,
            request_id_headers=REQUEST_ID_HEADERS,
        )
        return transport.request(
            "POST",
            url,
            data=form,
            json=json_body,
            headers={"Accept": "application/json", HARD_EXPIRY_HEADER: "true"},
            idempotent=False,
            record=f"company {realm_id}",
        )

    def _error_from(
        self,
        response: requests.Response,
        realm_id: str,
        extra_secrets: Sequence[str],
        grant_hint: str,
    ) -> ErpSyncError:
        status = response.status_code
        raw = self._redact(response.text, extra_secrets)
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        code = error if isinstance(error, str) else None
        detail = self._redact(description, extra_secrets) if isinstance(description, str) else None
        common: dict[str, Any] = {
            "backend": _BACKEND,
            "record": f"company {realm_id}",
            "http_status": status,
            "code": code,
            "detail": detail,
            "request_id": request_id_of(response),
            "raw": raw,
        }
        if code == "invalid_grant":
            return AuthenticationError(
                "the grant is no longer valid", reconnect_required=True, hint=grant_hint, **common
            )
        if code == "invalid_client" or status == 401:
            return AuthenticationError("the app's client credentials", hint=_CLIENT_HINT, **common)
        if status == 429:
            return RateLimitError("token endpoint throttled the app", **common)
        if status >= 500:
            return ServiceError("token endpoint failed", retryable=True, **common)
        return AuthenticationError("token endpoint refused the request", **common)


class TokenEndpointRetries:
    """What the token endpoint retries (one object per POST, since it counts).

    Failures before anything was sent, up to twice: they cannot have spent a refresh
    token. A lost answer (sent, no reply) once, and only when ``retry_lost``: Intuit may
    have rotated the token, and the same old one is all we hold (module docstring).
    Nothing else: an answer, even a 5xx or a 429, is the caller's to handle.
    """

    def __init__(self, *, retry_lost: bool, url: str) -> None:
        self.retry_lost = retry_lost
        self.url = url
        self.unsent = 0
        self.lost = 0

    def is_retryable(self, context: AttemptContext) -> bool:
        if context.http_status is not None or not context.transient:
            return False
        if not context.sent:
            self.unsent += 1
            return self.unsent <= _NOT_SENT_RETRIES
        if self.retry_lost and not self.lost:
            self.lost += 1
            _log.warning("no answer from %s; trying once more with the same credentials", self.url)
            return True
        return False
