"""Intuit's OAuth 2.0 server: discovery, consent, token, revoke, userinfo, bearer checks.

It reproduces the parts that break real integrations: authorization codes are single
use and die after 10 minutes; access tokens live 3600 s by the emulator clock; every
refresh rotates the refresh token and the previous one is refused with ``invalid_grant``
unless a grace period was configured (whether Intuit keeps the old one alive for a while
is unconfirmed, so it is a setting and the strict answer is the default); refresh tokens
expire on a rolling 100 days and a hard 5 years; revoking any token of a connection
ends the whole connection. Client authentication is HTTP Basic only, as Intuit's is.
The ``invalid_grant`` bodies are the three WIRE.md records, word for word.

Nothing here knows about companies' data; :meth:`OAuthServer.check_bearer` is what the
data API asks before it answers.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from erpsync.quickbooks import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.quickbooks import openid
from erpsync.testing.quickbooks.errors import (
    BARE_INVALID_GRANT,
    EXPIRED_OR_REVOKED,
    INCORRECT_REFRESH,
    authentication_failed,
    authorization_failed,
)

ACCOUNTING_SCOPE = wire.ACCOUNTING_SCOPE
KNOWN_SCOPES = frozenset({wire.ACCOUNTING_SCOPE, wire.PAYMENT_SCOPE, *wire.OPENID_SCOPES})

ACCESS_TOKEN_SECONDS = int(wire.ACCESS_TOKEN_LIFETIME.total_seconds())
REFRESH_TOKEN_SECONDS = int(wire.REFRESH_TOKEN_LIFETIME.total_seconds())
HARD_EXPIRY_SECONDS = int(wire.REFRESH_TOKEN_HARD_LIFETIME.total_seconds())
CODE_SECONDS = 600
_ROTATION_AGE = wire.REFRESH_TOKEN_ROTATION_AGE.total_seconds()


AUTHORIZE_PATH = openid.AUTHORIZE_PATH
TOKEN_PATH = openid.TOKEN_PATH
REVOKE_PATH = openid.REVOKE_PATH
USERINFO_PATH = openid.USERINFO_PATH
JWKS_PATH = openid.JWKS_PATH
DISCOVERY_PATHS = {
    "/.well-known/openid_configuration": False,
    "/.well-known/openid_sandbox_configuration": True,
}


class OAuthError(Exception):
    """An OAuth endpoint's refusal: the HTTP status and the JSON body to send."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", "oauth_error"))
        self.status = status
        self.body = body


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    realm_id: str
    scope: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass
class _Connection:
    """One consent: what every access and refresh token issued under it shares."""

    client_id: str
    realm_id: str
    scope: tuple[str, ...]
    hard_expires_at: float
    current_refresh: str = ""
    revoked: bool = False


@dataclass
class _RefreshToken:
    connection: _Connection
    expires_at: float
    issued_at: float = 0.0
    superseded_at: float | None = None


@dataclass
class _AccessToken:
    connection: _Connection
    expires_at: float


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str


@dataclass
class BearerCheck:
    """Why a data API call is refused (``None`` from :meth:`check_bearer` means allowed)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _basic_credentials(request: WireRequest) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _json(status: int, body: dict[str, Any]) -> WireResponse:
    return WireResponse.json(
        status, body, {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"}
    )


class OAuthServer:
    """The token authority for one emulator: apps, codes, connections and tokens."""

    def __init__(
        self,
        now: Callable[[], float],
        rng: random.Random,
        *,
        refresh_grace_seconds: float = 0.0,
        rolling: bool = True,
    ) -> None:
        self._now = now
        self._rng = rng
        self.refresh_grace_seconds = refresh_grace_seconds
        #: True: a refresh answers with the same refresh token while it is younger than
        #: a day (Intuit's documented behaviour); False: every refresh rotates it.
        self.rolling = rolling
        self.apps: dict[str, App] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}

    # -- programmatic surface ------------------------------------------------------------

    def register_app(
        self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...]
    ) -> App:
        app = App(client_id, client_secret, redirect_uris)
        self.apps[client_id] = app
        return app

    def grant_code(
        self, client_id: str, redirect_uri: str, scope: tuple[str, ...], realm_id: str
    ) -> str:
        """Record a consent and return the authorization code the redirect would carry."""
        code = "AB1" + self._token_chars(47)
        self._codes[code] = _Code(
            client_id, redirect_uri, realm_id, scope, self._now() + CODE_SECONDS
        )
        return code

    def connect(self, client_id: str, realm_id: str, scope: tuple[str, ...]) -> TokenPair:
        """A fresh connection with its first token pair (as if a code had been exchanged)."""
        connection = _Connection(client_id, realm_id, scope, self._now() + HARD_EXPIRY_SECONDS)
        return TokenPair(self._new_access(connection), self._new_refresh(connection))

    def access_expiry(self, access_token: str) -> float | None:
        """Epoch seconds at which ``access_token`` expires; None if never issued."""
        token = self._access.get(access_token)
        return None if token is None else token.expires_at

    def check_bearer(self, request: WireRequest, realm_id: str) -> BearerCheck | None:
        """``None`` when the request carries a live accounting token for ``realm_id``."""
        now = datetime.fromtimestamp(self._now(), UTC)
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return self._unauthorized("Authorization header missing or not a bearer token.", now)
        token = self._access.get(value.strip())
        if token is None:
            return self._unauthorized("Token invalid: the access token is not recognised.", now)
        if token.connection.revoked:
            return self._unauthorized("Token revoked: the connection has been revoked.", now)
        if self._now() >= token.expires_at:
            return self._unauthorized("Token expired: the access token has expired.", now)
        if token.connection.realm_id != realm_id or ACCOUNTING_SCOPE not in token.connection.scope:
            return BearerCheck(403, authorization_failed(now))
        return None

    def userinfo_subject(self, request: WireRequest) -> _AccessToken | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = self._access.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.connection.revoked or self._now() >= token.expires_at:
            return None
        return token

    # -- HTTP endpoints --------------------------------------------------------------------

    def discovery(self, request: WireRequest, sandbox: bool, served: bool) -> WireResponse:
        """The OpenID discovery document; endpoints point at the emulator when served."""
        return WireResponse.json(200, openid.discovery(request.base, sandbox, served))

    def jwks(self) -> WireResponse:
        return WireResponse.json(200, openid.jwks())

    def authorize(self, request: WireRequest, realm_id: str) -> WireResponse:
        """``GET /connect/oauth2``: validate, then 302 back to the app with a code."""
        client_id = request.param("client_id") or ""
        redirect_uri = request.param("redirect_uri") or ""
        state = request.param("state")
        app = self.apps.get(client_id)
        if app is None:
            return WireResponse.text(400, "Invalid client_id: the application is not registered.")
        if redirect_uri not in app.redirect_uris:
            return WireResponse.text(
                400, "The redirect_uri is not one of the redirect URIs registered for the app."
            )
        if (request.param("response_type") or "") != "code":
            return self._redirect(
                redirect_uri, {"error": "unsupported_response_type", "state": state}
            )
        scope = tuple((request.param("scope") or "").split())
        if not scope or any(s not in KNOWN_SCOPES for s in scope):
            return self._redirect(redirect_uri, {"error": "invalid_scope", "state": state})
        code = self.grant_code(client_id, redirect_uri, scope, realm_id)
        return self._redirect(redirect_uri, {"code": code, "state": state, "realmId": realm_id})

    def token(self, request: WireRequest) -> WireResponse:
        """``POST /oauth2/v1/tokens/bearer``: the code and refresh grants."""
        try:
            app = self._authenticate(request)
            form = request.form()
            grant_type = form.get("grant_type", "")
            if grant_type == "authorization_code":
                connection, pair = self._exchange_code(app, form)
            elif grant_type == "refresh_token":
                connection, pair = self._rotate(app, form.get("refresh_token", ""))
            elif not grant_type:
                raise OAuthError(400, {"error": "invalid_request"})
            else:
                raise OAuthError(400, {"error": "unsupported_grant_type"})
        except OAuthError as error:
            return _json(error.status, error.body)
        now = self._now()
        body: dict[str, Any] = {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "x_refresh_token_expires_in": int(self._refresh[pair.refresh_token].expires_at - now),
        }
        if "openid" in connection.scope and grant_type == "authorization_code":
            subject = "fake-user-" + connection.realm_id
            body["id_token"] = openid.id_token(app.client_id, connection.realm_id, subject)
        if request.headers.get(wire.HARD_EXPIRY_HEADER, "").lower() == "true":
            body["x_refresh_token_hard_expires_in"] = int(connection.hard_expires_at - now)
        return _json(200, body)

    def revoke(self, request: WireRequest) -> WireResponse:
        """``POST /v2/oauth2/tokens/revoke``: ends the whole connection of the token."""
        try:
            app = self._authenticate(request)
            try:
                payload = json.loads(request.body.decode("utf-8") or "{}")
            except (ValueError, UnicodeDecodeError):
                payload = {}
            token = payload.get("token") if isinstance(payload, dict) else None
            if not isinstance(token, str) or not token:
                token = request.form().get("token", "")
            if not token:
                raise OAuthError(400, {"error": "invalid_request"})
        except OAuthError as error:
            return _json(error.status, error.body)
        record = self._refresh.get(token) or self._access.get(token)
        if record is not None and record.connection.client_id == app.client_id:
            record.connection.revoked = True
        return WireResponse.empty(200)

    def userinfo(self, request: WireRequest) -> WireResponse:
        token = self.userinfo_subject(request)
        if token is None:
            return _json(401, {"error": "invalid_token"})
        return WireResponse.json(200, openid.userinfo(token.connection.realm_id))

    # -- internals -------------------------------------------------------------------------

    def _authenticate(self, request: WireRequest) -> App:
        credentials = _basic_credentials(request)
        app = self.apps.get(credentials[0]) if credentials else None
        if (
            credentials is None
            or app is None
            or not secrets.compare_digest(app.client_secret, credentials[1])
        ):
            raise OAuthError(401, {"error": "invalid_client"})
        return app

    def _exchange_code(self, app: App, form: dict[str, str]) -> tuple[_Connection, TokenPair]:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used or self._now() >= code.expires_at:
            raise OAuthError(400, BARE_INVALID_GRANT)
        if code.client_id != app.client_id or code.redirect_uri != form.get("redirect_uri"):
            raise OAuthError(400, BARE_INVALID_GRANT)
        code.used = True
        connection = _Connection(
            app.client_id, code.realm_id, code.scope, self._now() + HARD_EXPIRY_SECONDS
        )
        return connection, TokenPair(self._new_access(connection), self._new_refresh(connection))

    def _rotate(self, app: App, value: str) -> tuple[_Connection, TokenPair]:
        token = self._refresh.get(value)
        if token is None or token.connection.client_id != app.client_id:
            raise OAuthError(400, INCORRECT_REFRESH)
        connection = token.connection
        now = self._now()
        if connection.revoked or now >= token.expires_at or now >= connection.hard_expires_at:
            raise OAuthError(400, EXPIRED_OR_REVOKED)
        if token.superseded_at is not None:
            if now - token.superseded_at >= self.refresh_grace_seconds:
                raise OAuthError(400, INCORRECT_REFRESH)
            # Within the grace period the old token still works and leads to the newest one.
            return connection, TokenPair(self._new_access(connection), connection.current_refresh)
        if self.rolling and now - token.issued_at < _ROTATION_AGE:
            # Younger than a day: the same refresh token comes back, its 100 days restarted.
            token.expires_at = min(now + REFRESH_TOKEN_SECONDS, connection.hard_expires_at)
            return connection, TokenPair(self._new_access(connection), value)
        token.superseded_at = now
        return connection, TokenPair(self._new_access(connection), self._new_refresh(connection))

    def _new_access(self, connection: _Connection) -> str:
        value = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + ".".join(
            self._token_chars(n) for n in (22, 180, 22)
        )
        self._access[value] = _AccessToken(connection, self._now() + ACCESS_TOKEN_SECONDS)
        return value

    def _new_refresh(self, connection: _Connection) -> str:
        value = "RT1-" + self._token_chars(46)
        expires = min(self._now() + REFRESH_TOKEN_SECONDS, connection.hard_expires_at)
        self._refresh[value] = _RefreshToken(connection, expires, issued_at=self._now())
        connection.current_refresh = value
        return value

    def _token_chars(self, length: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    @staticmethod
    def _unauthorized(detail: str, now: datetime) -> BearerCheck:
        return BearerCheck(
            401,
            authentication_failed(detail, now),
            {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
        )

    @staticmethod
    def _redirect(redirect_uri: str, params: dict[str, str | None]) -> WireResponse:
        parts = urlsplit(redirect_uri)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query.update({k: v for k, v in params.items() if v is not None})
        location = urlunsplit(parts._replace(query=urlencode(query)))
        return WireResponse.empty(302, {"Location": location})
