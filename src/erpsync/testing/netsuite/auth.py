"""Who may call the account: TBA signatures and OAuth 2.0 bearer tokens.

NetSuite checks Token-Based Authentication as RFC 5849 describes, with its own
tightenings: the ``realm`` must be the account id exactly as NetSuite writes it
(``1234567_SB1``, upper case, underscore), only HMAC-SHA256 is accepted, the nonce must
be at least six characters, the timestamp within five minutes, and a nonce+timestamp
pair cannot be used twice. The signature itself is checked with oauthlib's
server-side functions (parameter collection, normalisation, base string, HMAC-SHA256
verification) so the emulator verifies exactly what any RFC 5849 signer produces,
rather than agreeing with a signer that was written alongside it.

Every failure answers the same opaque 401 ``INVALID_LOGIN`` as NetSuite; the real
reason goes to :attr:`Authenticator.audit`, the emulator's Login Audit Trail, just as
an administrator would look it up in the NetSuite UI.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireRequest
from erpsync.testing.netsuite.credentials import PublicKey
from erpsync.testing.netsuite.errors import invalid_login


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One line of the Login Audit Trail: when, how, and (on failure) why.

    Every request adds one (slotted, with shared strings: about 150 bytes), so the
    trail of a 100,000-request run stays in the tens of megabytes."""

    time: datetime
    method: str  # "TBA", "OAuth 2.0" or "OAuth 2.0 token request"
    success: bool
    detail: str
    principal: str | None = None


@dataclass
class _Token:
    consumer_key: str
    secret: str = field(repr=False)


@dataclass
class _Certificate:
    client_id: str
    public_key: PublicKey = field(repr=False)


@dataclass
class _Bearer:
    client_id: str
    scopes: frozenset[str]
    expires_at: float


class _LoginFailed(Exception):
    """Internal: the reason a login failed, for the audit trail only."""


class Authenticator:
    """The account's integrations, tokens, certificates and issued bearer tokens."""

    def __init__(self, account_id: str, now: Callable[[], datetime]) -> None:
        self.account_id = account_id
        self._now = now
        self._lock = threading.RLock()
        self.integrations: dict[str, str] = {}  # consumer key -> consumer secret
        self.tokens: dict[str, _Token] = {}  # token id -> token
        self.certificates: dict[str, _Certificate] = {}  # certificate id -> certificate
        self.bearers: dict[str, _Bearer] = {}  # access token -> grant
        self._nonces: dict[tuple[str, str, str, str], int] = {}
        #: The same nonces by timestamp, oldest first, so that forgetting the expired
        #: ones costs what expires, not a pass over every nonce of the last ten minutes.
        self._nonce_times: list[tuple[int, tuple[str, str, str, str]]] = []
        self._principals: dict[str, str] = {}  # token id -> its audit-trail name
        self.audit: list[LoginAttempt] = []

    # -- registration ---------------------------------------------------------------------

    def add_integration(self, consumer_key: str, consumer_secret: str) -> None:
        with self._lock:
            self.integrations[consumer_key] = consumer_secret

    def add_token(self, consumer_key: str, token_id: str, token_secret: str) -> None:
        with self._lock:
            self.tokens[token_id] = _Token(consumer_key, token_secret)

    def revoke_token(self, token_id: str) -> None:
        with self._lock:
            self.tokens.pop(token_id, None)

    def add_certificate(self, certificate_id: str, client_id: str, key: PublicKey) -> None:
        with self._lock:
            self.certificates[certificate_id] = _Certificate(client_id, key)

    def revoke_certificate(self, certificate_id: str) -> None:
        with self._lock:
            self.certificates.pop(certificate_id, None)

    def add_bearer(self, token: str, client_id: str, scopes: frozenset[str]) -> float:
        expires_at = self._now().timestamp() + wire.ACCESS_TOKEN_SECONDS
        with self._lock:
            self.bearers[token] = _Bearer(client_id, scopes, expires_at)
        return expires_at

    def now(self) -> datetime:
        return self._now()

    def certificate(self, certificate_id: str) -> _Certificate | None:
        with self._lock:
            return self.certificates.get(certificate_id)

    def has_integration(self, consumer_key: str) -> bool:
        with self._lock:
            return consumer_key in self.integrations

    def record(self, method: str, success: bool, detail: str, principal: str | None) -> None:
        with self._lock:
            self.audit.append(LoginAttempt(self._now(), method, success, detail, principal))

    # -- checking a request -----------------------------------------------------------------

    def authenticate(self, request: WireRequest, scope: str = "rest_webservices") -> str:
        """The principal making ``request``; raises the 401 NetSuiteFault otherwise."""
        header = request.headers.get("Authorization", "").strip()
        scheme = header.split(None, 1)[0].lower() if header else ""
        method = "TBA" if scheme == "oauth" else "OAuth 2.0"
        try:
            if scheme == "oauth":
                principal = self._check_tba(request, header)
            elif scheme == "bearer":
                principal = self._check_bearer(header.split(None, 1)[1:], scope)
            else:
                raise _LoginFailed("no OAuth or Bearer Authorization header")
        except _LoginFailed as failure:
            self.record(method, False, str(failure), None)
            raise invalid_login() from None
        self.record(method, True, "", principal)
        return principal

    def _check_bearer(self, rest: list[str], scope: str) -> str:
        token = rest[0].strip() if rest else ""
        with self._lock:
            grant = self.bearers.get(token)
        if grant is None:
            raise _LoginFailed("unknown access token")
        if self._now().timestamp() >= grant.expires_at:
            raise _LoginFailed("access token expired")
        if scope not in grant.scopes:
            raise _LoginFailed(f"access token lacks the {scope} scope")
        return grant.client_id

    def _check_tba(self, request: WireRequest, header: str) -> str:
        try:
            pairs = oauth_utils.parse_authorization_header(header)
        except ValueError:
            raise _LoginFailed("malformed OAuth header") from None
        values = dict(pairs)
        if len(values) != len(pairs):
            raise _LoginFailed("repeated OAuth parameter")
        realm = values.get("realm")
        if realm != self.account_id:
            raise _LoginFailed(f"realm {realm!r} is not the account id {self.account_id}")
        params = {k: oauth_utils.unescape(v) for k, v in values.items() if k != "realm"}
        for name in (
            "oauth_consumer_key",
            "oauth_token",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
        ):
            if not params.get(name):
                raise _LoginFailed(f"missing {name}")
        if params.get("oauth_version", "1.0") != "1.0":
            raise _LoginFailed("oauth_version must be 1.0")
        if params["oauth_signature_method"] != wire.TBA_SIGNATURE_METHOD:
            raise _LoginFailed(f"signature method {params['oauth_signature_method']} refused")
        nonce = params["oauth_nonce"]
        if len(nonce) < wire.TBA_MIN_NONCE_LENGTH:
            raise _LoginFailed("nonce shorter than 6 characters")
        timestamp = params["oauth_timestamp"]
        if not timestamp.isdigit():
            raise _LoginFailed("timestamp is not a number")
        now = int(self._now().timestamp())
        if abs(now - int(timestamp)) > wire.TBA_TIMESTAMP_WINDOW_SECONDS:
            raise _LoginFailed("timestamp more than 5 minutes from the server time")
        consumer_key, token_id = params["oauth_consumer_key"], params["oauth_token"]
        with self._lock:
            consumer_secret = self.integrations.get(consumer_key)
            token = self.tokens.get(token_id)
        if consumer_secret is None:
            raise _LoginFailed("unknown consumer key")
        if token is None or token.consumer_key != consumer_key:
            raise _LoginFailed("unknown or revoked token for this consumer key")
        if not self._signature_valid(request, header, params, consumer_secret, token.secret):
            raise _LoginFailed("invalid signature")
        self._use_nonce((consumer_key, token_id, nonce, timestamp), now)
        with self._lock:
            principal = self._principals.get(token_id)
            if principal is None:
                principal = self._principals[token_id] = f"token {token_id[:8]}..."
        return principal

    @staticmethod
    def _signature_valid(
        request: WireRequest,
        header: str,
        params: dict[str, str],
        consumer_secret: str,
        token_secret: str,
    ) -> bool:
        """RFC 5849 verification by oauthlib; the JSON body is not part of it."""
        try:
            collected = oauth_signature.collect_parameters(
                uri_query=urlsplit(request.url).query,
                headers={"Authorization": header},
                exclude_oauth_signature=True,
                with_realm=False,
            )
        except ValueError:
            return False
        oauth_request: Any = OAuthRequest(request.url, request.method, None, {})
        oauth_request.params = collected
        oauth_request.signature = params["oauth_signature"]
        return bool(
            oauth_signature.verify_hmac_sha256(oauth_request, consumer_secret, token_secret)
        )

    def _use_nonce(self, key: tuple[str, str, str, str], now: int) -> None:
        with self._lock:
            horizon = now - 2 * wire.TBA_TIMESTAMP_WINDOW_SECONDS
            times = self._nonce_times
            while times and times[0][0] < horizon:
                del self._nonces[heapq.heappop(times)[1]]
            if key in self._nonces:
                raise _LoginFailed("nonce and timestamp already used")
            self._nonces[key] = int(key[3])
            heapq.heappush(times, (int(key[3]), key))
