"""NetSuite authentication: token-based authentication and OAuth 2.0 client credentials.

A :class:`NetSuiteAuth` is the user's configuration (keys, secrets, a certificate); the
backend calls :meth:`NetSuiteAuth.for_account` once to get the ``requests`` auth object
its transport attaches to every request for one account. Splitting the two keeps
secrets out of the backend and lets one configuration serve several accounts.

Every per-account object also has ``renew(response) -> bool``, the transport's
``RenewableAuth`` protocol: on a 401 the transport asks the auth to renew, and retries
once when it answers True.

* :class:`TokenBasedAuth` (TBA, OAuth 1.0a, HMAC-SHA256) signs each request afresh, so
  a retry carries a new nonce and timestamp. There is nothing to renew.
* :class:`ClientCredentialsAuth` (OAuth 2.0 machine-to-machine) signs a short JWT
  assertion with the private key of a certificate uploaded to NetSuite, trades it for
  a 60-minute access token, and caches that token until shortly before it expires.
  Token requests are single-flight per account: twenty threads needing a token at
  once cause one token request.
* :func:`generate_certificate` (from :mod:`erpsync.netsuite.credentials`, re-exported
  here) makes the key pair and self-signed certificate that NetSuite's OAuth 2.0 client
  credentials setup page asks for.

Secrets (consumer and token secrets, private keys, assertions, access tokens) never
appear in a repr, a log line or an exception.
"""

from __future__ import annotations

import abc
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Final, Literal
from urllib.parse import urlsplit

import jwt
import requests
from requests.auth import AuthBase

from erpsync._redact import REDACTED
from erpsync.errors import (
    ConfigurationError,
)
from erpsync.netsuite.credentials import (
    GeneratedCertificate,
    algorithm_for_key,
    check_key,
    generate_certificate,
    load_private_key,
)
from erpsync.netsuite.signing import TbaSigner, new_nonce
from erpsync.netsuite.token_cache import ClientCredentialsAccountAuth
from erpsync.netsuite.wire import (
    ACCESS_TOKEN_SECONDS,
    M2M_SCOPES,
    MAX_ASSERTION_SECONDS,
    REST_HOST_TEMPLATE,
    TOKEN_PATH,
    host_label,
)
from erpsync.transport.urls import check_url

__all__ = [
    "ClientCredentialsAuth",
    "GeneratedCertificate",
    "NetSuiteAuth",
    "TokenBasedAuth",
    "canonical_account_id",
    "default_base_url",
    "generate_certificate",
]

_log = logging.getLogger(__name__)

_BACKEND: Final = "NetSuite"

#: Production ``1234567``, sandbox ``1234567_SB1``, release preview ``1234567_RP``, and
#: the ``TSTDRV1234567`` test-drive / SDN development accounts. The host form with
#: ``-`` (``1234567-sb1``, as seen in URLs) is accepted and normalised.
_ACCOUNT_ID = re.compile(r"^(?:TSTDRV)?\d+(?:[_-](?:SB\d+|RP\d*))?$", re.IGNORECASE)

_MAX_ASSERTION_LIFETIME: Final = float(MAX_ASSERTION_SECONDS)


Clock = Callable[[], float]


# -- account ids and hosts ---------------------------------------------------------------


def canonical_account_id(account_id: str) -> str:
    """NetSuite's own spelling of an account id: upper case with ``_`` (``1234567_SB1``).

    This is the TBA realm, which NetSuite compares literally (``1234567_sb1`` fails), so
    every user spelling is normalised here rather than trusted.
    """
    if not isinstance(account_id, str) or not _ACCOUNT_ID.match(account_id.strip()):
        raise ConfigurationError(
            f"{account_id!r} is not a NetSuite account id",
            backend=_BACKEND,
            hint="Use the id shown at Setup > Company > Company Information, for example "
            "1234567 (production), 1234567_SB1 (sandbox) or TSTDRV1234567",
        )
    return account_id.strip().upper().replace("-", "_")


def default_base_url(account_id: str) -> str:
    """The account-specific REST host: lower case, ``_`` becomes ``-``."""
    return REST_HOST_TEMPLATE.format(host=host_label(canonical_account_id(account_id)))


def _check_base_url(base_url: str) -> str:
    """Credentials only travel over https; plain http is allowed for loopback emulators."""
    return check_url(base_url, "base_url", backend=_BACKEND)


def _require_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty string", backend=_BACKEND)
    return value.strip()


def _mask(value: str) -> str:
    """Enough of an identifier to tell two configurations apart, never the whole of it."""
    return f"{value[:6]}..." if len(value) >= 12 else REDACTED


# -- the common interface ----------------------------------------------------------------


class NetSuiteAuth(abc.ABC):
    """User-side credentials that produce one ``requests`` auth object per account."""

    def for_account(
        self, account_id: str, base_url: str, *, session: requests.Session | None = None
    ) -> AuthBase:
        """The auth object the backend's transport attaches to every request.

        ``session`` is the transport's session, used for any token requests so that they
        share its connection pool, proxies and certificates. The result also has
        ``renew(response) -> bool`` for the transport's 401 handling.
        """
        return self._for_account(
            canonical_account_id(account_id), _check_base_url(base_url), session
        )

    @abc.abstractmethod
    def _for_account(
        self, account_id: str, base_url: str, session: requests.Session | None
    ) -> AuthBase:
        """Build the per-account object; ``account_id`` is already canonical."""


# -- token-based authentication (OAuth 1.0a) ---------------------------------------------


class TokenBasedAuth(NetSuiteAuth):
    """NetSuite token-based authentication: OAuth 1.0a signed with HMAC-SHA256.

    ``nonce_factory`` and ``clock`` exist for tests and known-answer vectors; the
    defaults draw the nonce from :mod:`secrets` and the timestamp from ``time.time``.
    """

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        token_id: str,
        token_secret: str,
        *,
        nonce_factory: Callable[[], str] = new_nonce,
        clock: Clock = time.time,
    ) -> None:
        self._consumer_key = _require_text("consumer_key", consumer_key)
        self._consumer_secret = _require_text("consumer_secret", consumer_secret)
        self._token_id = _require_text("token_id", token_id)
        self._token_secret = _require_text("token_secret", token_secret)
        self._nonce_factory = nonce_factory
        self._clock = clock

    @property
    def consumer_key(self) -> str:
        return self._consumer_key

    def __repr__(self) -> str:
        return (
            f"TokenBasedAuth(consumer_key={_mask(self._consumer_key)!r}, "
            f"token_id={_mask(self._token_id)!r})"
        )

    def _for_account(
        self, account_id: str, base_url: str, session: requests.Session | None
    ) -> AuthBase:
        return _TokenBasedAccountAuth(self, realm=account_id)

    def _nonce(self) -> str:
        """A fresh nonce from the factory, checked (NetSuite wants 6 to 64 characters)."""
        nonce = self._nonce_factory()
        if not isinstance(nonce, str) or not 6 <= len(nonce) <= 64:
            raise ConfigurationError("the TBA nonce must be 6 to 64 characters", backend=_BACKEND)
        return nonce


class _TokenBasedAccountAuth(AuthBase):
    """Signs every request for one account; the realm is the canonical account id."""

    def __init__(self, owner: TokenBasedAuth, *, realm: str) -> None:
        self._owner = owner
        self.realm = realm
        self._signer = TbaSigner(
            consumer=(owner._consumer_key, owner._consumer_secret),
            token=(owner._token_id, owner._token_secret),
            realm=realm,
        )

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        # NetSuite signs only query parameters and form bodies (see erpsync.netsuite.signing);
        # each request gets a fresh nonce and timestamp, so a retry is signed anew.
        owner = self._owner
        try:
            self._signer.sign(r, nonce=owner._nonce(), timestamp=str(int(owner._clock())))
        except ValueError as exc:  # a form body that contradicts its Content-Type
            raise ConfigurationError(f"cannot sign this request: {exc}", backend=_BACKEND) from None
        return r

    def renew(self, response: requests.Response) -> bool:
        """TBA tokens do not expire; a 401 means the token was revoked or is wrong."""
        return False

    def __repr__(self) -> str:
        return f"<TokenBasedAuth for account {self.realm} ({self._owner!r})>"


# -- OAuth 2.0 client credentials (machine to machine) -----------------------------------


class ClientCredentialsAuth(NetSuiteAuth):
    """OAuth 2.0 client credentials (M2M) with a certificate-signed JWT assertion.

    ``private_key`` is PEM text, PEM/DER bytes, or a path to a PEM file; it is loaded and
    checked here so that a wrong key fails at start-up, not at the first sync.
    ``assertion_lifetime`` is the JWT's ``exp - iat`` (NetSuite allows at most an hour);
    the access token is renewed ``leeway`` seconds before it expires; ``default_expires_in``
    applies when the token endpoint does not say. ``token_url`` overrides the endpoint
    otherwise derived from the account's base URL.

    ``algorithm`` defaults to the one the key signs with: PS256 for an RSA key,
    ES256/ES384/ES512 for an EC key on P-256/384/521. ``scope`` goes in the assertion as
    the comma-separated string Oracle documents (``"restlets,rest_webservices"``);
    ``scope_format="list"`` sends a JSON array instead, as some clients do.
    """

    def __init__(
        self,
        client_id: str,
        certificate_id: str,
        private_key: str | bytes | os.PathLike[str],
        *,
        algorithm: str | None = None,
        scopes: Iterable[str] = M2M_SCOPES,
        scope_format: Literal["string", "list"] = "string",
        private_key_password: str | bytes | None = None,
        assertion_lifetime: float = 300.0,
        leeway: float = 60.0,
        default_expires_in: float = float(ACCESS_TOKEN_SECONDS),
        token_url: str | None = None,
        timeout: float = 30.0,
        clock: Clock = time.time,
        id_factory: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._client_id = _require_text("client_id", client_id)
        self._certificate_id = _require_text("certificate_id", certificate_id)
        if algorithm is not None and not isinstance(algorithm, str):
            raise ConfigurationError("algorithm must be a string", backend=_BACKEND)
        if scope_format not in ("string", "list"):
            raise ConfigurationError(
                f"scope_format must be 'string' or 'list', not {scope_format!r}", backend=_BACKEND
            )
        self._key = load_private_key(private_key, private_key_password)
        self._algorithm = (
            algorithm.strip().upper() if algorithm is not None else algorithm_for_key(self._key)
        )
        check_key(self._key, self._algorithm)
        self._scopes = self._check_scopes(scopes)
        self._scope_format = scope_format
        # Whole seconds (the claims are integers): below 1, exp would equal iat.
        if not 1 <= assertion_lifetime <= _MAX_ASSERTION_LIFETIME:
            raise ConfigurationError(
                "assertion_lifetime must be 1 to 3600 seconds",
                backend=_BACKEND,
            )
        if leeway < 0 or default_expires_in <= 0 or timeout <= 0:
            raise ConfigurationError(
                "leeway must be >= 0; default_expires_in and timeout must be > 0",
                backend=_BACKEND,
            )
        self._assertion_lifetime = assertion_lifetime
        self._leeway = leeway
        self._default_expires_in = default_expires_in
        self._token_url = _check_base_url(token_url) if token_url is not None else None
        self._timeout = timeout
        self._clock = clock
        self._id_factory = id_factory

    @staticmethod
    def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
        if isinstance(scopes, str):
            scopes = re.split(r"[,\s]+", scopes)
        result = tuple(s.strip() for s in scopes if isinstance(s, str) and s.strip())
        if not result or any(re.search(r"[\s,]", s) for s in result):
            raise ConfigurationError(
                "scopes must name at least one scope, e.g. ('restlets', 'rest_webservices')",
                backend=_BACKEND,
            )
        return result

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def certificate_id(self) -> str:
        return self._certificate_id

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @property
    def scopes(self) -> tuple[str, ...]:
        return self._scopes

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsAuth(client_id={_mask(self._client_id)!r}, "
            f"certificate_id={self._certificate_id!r}, algorithm={self._algorithm!r}, "
            f"scopes={self._scopes!r})"
        )

    def token_url_for(self, base_url: str) -> str:
        """The token endpoint: ``token_url`` if given, else on the base URL's host."""
        if self._token_url is not None:
            return self._token_url
        parts = urlsplit(_check_base_url(base_url))
        return f"{parts.scheme}://{parts.netloc}{TOKEN_PATH}"

    def _for_account(
        self, account_id: str, base_url: str, session: requests.Session | None
    ) -> AuthBase:
        return ClientCredentialsAccountAuth(
            self, account_id=account_id, token_url=self.token_url_for(base_url), session=session
        )

    def _assertion(self, token_url: str, now: float) -> str:
        """The signed client assertion; short-lived and never stored."""
        issued = int(now)
        claims = {
            "iss": self._client_id,
            # Oracle documents a comma-separated string; some clients send an array.
            "scope": ",".join(self._scopes)
            if self._scope_format == "string"
            else list(self._scopes),
            "aud": token_url,
            "iat": issued,
            "exp": issued + int(self._assertion_lifetime),
            "jti": self._id_factory(),
        }
        headers = {"typ": "JWT", "kid": self._certificate_id}
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=headers)
