"""NetSuite's OAuth 2.0 token endpoint for client credentials, through the shared Transport.

:class:`TokenEndpoint` trades a signed client assertion for an access token and turns
every refusal into the error tree: credential problems (``invalid_client``,
``invalid_grant``, a certificate that is not mapped) are
:class:`~erpsync.errors.AuthenticationError` with ``reconnect_required`` and a hint about
the setup page, ``invalid_scope`` names the scopes to enable, 429 is a
:class:`~erpsync.errors.RateLimitError`, 5xx a retryable
:class:`~erpsync.errors.ServiceError`, an answer without a usable token a non-retryable
one. The assertion and the token are removed from every raw body kept.

The POST is retried only when nothing was sent (:class:`NothingSent`): a repeated
assertion may be refused as a replayed ``jti``, and a throttled or failed token request
is the data request's transport's to retry, with a new assertion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import requests
from requests.auth import AuthBase

from erpsync._redact import redact
from erpsync.errors import AuthenticationError, ErpSyncError, RateLimitError, ServiceError
from erpsync.netsuite.wire import CLIENT_ASSERTION_TYPE, REQUEST_ID_HEADERS
from erpsync.transport import (
    AttemptContext,
    RetryPolicy,
    Timeout,
    Transport,
    TransportOptions,
    parse_retry_after,
)
from erpsync.transport.bodies import decode_body

__all__ = ["NothingSent", "TokenEndpoint"]

_BACKEND: Final = "NetSuite"

#: OAuth errors meaning "these credentials will not work until a person fixes them".
_CREDENTIAL_ERRORS: Final = frozenset(
    {"invalid_client", "invalid_grant", "unauthorized_client", "INVALID_LOGIN"}
)
_M2M_HINT: Final = (
    "Check the certificate id (kid) and client id (consumer key) on the OAuth 2.0 client "
    "credentials setup page, and that the certificate is active, not expired, and mapped "
    "to this integration, role and entity"
)


class _NoAuth(AuthBase):
    """Explicitly no auth: stops a session-level ``auth`` (possibly the account's own) or
    a ``.netrc`` entry from being applied to the token request."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class TokenEndpoint:
    """The token endpoint of one account."""

    def __init__(
        self,
        *,
        account_id: str,
        token_url: str,
        session: requests.Session | None,
        timeout: float,
        default_expires_in: float,
        scopes: Sequence[str],
    ) -> None:
        self.account_id = account_id
        self.token_url = token_url
        self._session = session
        self._timeout = timeout
        self._default_expires_in = default_expires_in
        self._scopes = tuple(scopes)

    def __repr__(self) -> str:
        return f"TokenEndpoint(account_id={self.account_id!r}, token_url={self.token_url!r})"

    def fetch(self, assertion: str) -> tuple[str, float]:
        """A fresh access token for ``assertion``, and its lifetime in seconds."""
        return self._parse(self._post(assertion), assertion)

    def _post(self, assertion: str) -> requests.Response:
        """The token POST, through the shared Transport.

        Retried only when nothing was sent (a refused connection, a failed lookup): a
        repeated assertion may be refused as a replayed ``jti``, and a throttled or
        failed token request is the data request's transport's to retry, with a new
        assertion. ``_NoAuth`` keeps a session-level auth (possibly this object) off it.
        """

        def decode(response: requests.Response) -> ErpSyncError:
            try:
                self._parse(response, assertion)
            except ErpSyncError as exc:
                return exc
            return self._error(
                ServiceError, f"the token endpoint answered HTTP {response.status_code}"
            )

        timeout = self._timeout
        options = TransportOptions(
            session=self._session,
            timeout=Timeout(connect=min(10.0, timeout), read=timeout),
            retry=RetryPolicy(max_attempts=3, checker=NothingSent()),
        )
        with Transport(
            backend=_BACKEND,
            base_url=self.token_url,
            decode_error=decode,
            options=options,
            request_id_headers=REQUEST_ID_HEADERS,
        ) as transport:
            return transport.request(
                "POST",
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": CLIENT_ASSERTION_TYPE,
                    "client_assertion": assertion,
                },
                headers={"Accept": "application/json"},
                idempotent=True,
                record=f"account {self.account_id}",
                auth=_NoAuth(),
            )

    def _error(self, cls: type[ErpSyncError], message: str, **kw: Any) -> ErpSyncError:
        return cls(message, backend=_BACKEND, record=f"account {self.account_id}", **kw)

    def _parse(self, response: requests.Response, assertion: str) -> tuple[str, float]:
        status = response.status_code
        decoded = decode_body(response, exact=False)
        body: Any = decoded.value if decoded.kind == "json" else None
        token = body.get("access_token") if isinstance(body, dict) else None
        raw = redact(decoded.text, assertion, token if isinstance(token, str) else None)

        if 200 <= status < 300 and isinstance(body, dict) and "error" not in body:
            if not isinstance(token, str) or not token:
                raise self._error(
                    ServiceError,
                    "the token endpoint answered without an access_token",
                    http_status=status,
                    raw=raw,
                    retryable=False,
                )
            return token, self._expires_in(body, status, raw)
        if status == 429:
            raise self._error(
                RateLimitError,
                "the token endpoint is throttling",
                http_status=status,
                retry_after=_retry_after(response),
                raw=raw,
            )
        if status >= 500:
            raise self._error(
                ServiceError,
                f"the token endpoint failed (HTTP {status})",
                http_status=status,
                raw=raw,
            )
        code, detail = _oauth_error(body)
        if code is None:
            raise self._error(
                ServiceError,
                f"the token endpoint gave an unexpected answer (HTTP {status})",
                http_status=status,
                raw=raw,
                retryable=False,
            )
        raise self._auth_error(code, detail, status, raw)

    def _expires_in(self, body: dict[str, Any], status: int, raw: str) -> float:
        value = body.get("expires_in")
        if value is None:
            return self._default_expires_in
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = -1.0
        if not seconds > 0 or isinstance(value, bool):
            raise self._error(
                ServiceError,
                "the token endpoint gave an invalid expires_in",
                http_status=status,
                raw=raw,
                retryable=False,
            )
        return seconds

    def _auth_error(
        self, code: str, detail: str | None, status: int, raw: str
    ) -> AuthenticationError:
        if code == "invalid_scope":
            hint = "Enable these scopes on the integration record: " + ", ".join(self._scopes)
        else:
            hint = _M2M_HINT
        return AuthenticationError(
            "NetSuite did not issue an access token",
            backend=_BACKEND,
            record=f"account {self.account_id}",
            http_status=status,
            code=code,
            detail=detail,
            raw=raw,
            hint=hint,
            reconnect_required=code in _CREDENTIAL_ERRORS or code == "invalid_scope",
        )


class NothingSent:
    """Retry a token request only when it provably never left this machine."""

    def is_retryable(self, context: AttemptContext) -> bool:
        return context.http_status is None and context.transient and not context.sent


def _oauth_error(body: Any) -> tuple[str | None, str | None]:
    """The error code and description, from an RFC 6749 body or NetSuite's REST shape."""
    if not isinstance(body, dict):
        return None, None
    code = body.get("error")
    if isinstance(code, str) and code:
        description = body.get("error_description")
        return code, description if isinstance(description, str) else None
    details = body.get("o:errorDetails")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        first = details[0]
        ns_code = first.get("o:errorCode")
        detail = first.get("detail")
        if isinstance(ns_code, str) and ns_code:
            return ns_code, detail if isinstance(detail, str) else None
    return None, None


def _retry_after(response: requests.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"), response.headers.get("Date"))
