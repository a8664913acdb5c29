"""The OAuth 2.0 client-credentials token endpoint (machine to machine).

The client proves who it is with a JWT signed by the private key whose certificate
was uploaded to the account; the header's ``kid`` names that certificate. The checks
follow Oracle's rules: PS256/384/512 or ES256/384/512 only (RS256 has been refused
since 2025), ``typ`` JWT, ``iss`` the integration's client id, ``aud`` the token
endpoint URL, a lifetime of at most 60 minutes, and a scope of ``rest_webservices``
and/or ``restlets`` given as a JSON list or a comma-separated string.

Signatures and the audience are verified by pyjwt against the registered public key;
time claims are checked here against the emulator's clock (pyjwt would use the
machine's). Errors are OAuth JSON bodies with the RFC 6749 codes; NetSuite gives no
description, so the reason is written to the Login Audit Trail only.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

import jwt

from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.netsuite.auth import Authenticator

#: The scopes an integration record can grant (SuiteAnalytics Connect besides the two
#: web-services scopes erpsync asks for).
KNOWN_SCOPES = frozenset({*wire.M2M_SCOPES, "suite_analytics"})


class _TokenError(Exception):
    def __init__(self, error: str, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.error = error
        self.status = status


def issue_token(
    auth: Authenticator, request: WireRequest, audiences: Iterable[str]
) -> WireResponse:
    """Answer one token request: an access token, or an OAuth error body."""
    try:
        client_id, scopes = _check(auth, request, list(audiences))
    except _TokenError as failure:
        auth.record("OAuth 2.0 token request", False, str(failure), None)
        return WireResponse.json(failure.status, {"error": failure.error})
    now = auth.now().timestamp()
    token = jwt.encode(
        {
            "sub": client_id,
            "aud": [client_id],
            "scope": sorted(scopes),
            "iss": "https://system.netsuite.com",
            "iat": int(now),
            "exp": int(now) + wire.ACCESS_TOKEN_SECONDS,
            "jti": secrets.token_hex(16),
        },
        _TOKEN_SIGNING_KEY,
        algorithm="HS256",
        headers={"kid": "s.SYSTEM.erpsync_1"},
    )
    auth.add_bearer(token, client_id, scopes)
    auth.record("OAuth 2.0 token request", True, "", client_id)
    return WireResponse.json(
        200,
        {
            "access_token": token,
            "expires_in": str(wire.ACCESS_TOKEN_SECONDS),
            "token_type": "Bearer",
        },
        {"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


#: Signs the issued access tokens; their validity is looked up, never verified from it.
_TOKEN_SIGNING_KEY = secrets.token_bytes(32)


def _check(
    auth: Authenticator, request: WireRequest, audiences: list[str]
) -> tuple[str, frozenset[str]]:
    if request.method != "POST":
        raise _TokenError("invalid_request", f"method {request.method}")
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise _TokenError("invalid_request", f"content type {content_type or 'missing'}")
    form = request.form()
    if form.get("grant_type") != "client_credentials":
        raise _TokenError("unsupported_grant_type", f"grant_type {form.get('grant_type')!r}")
    if form.get("client_assertion_type") != wire.CLIENT_ASSERTION_TYPE:
        raise _TokenError("invalid_request", "wrong or missing client_assertion_type")
    assertion = form.get("client_assertion", "")
    if not assertion:
        raise _TokenError("invalid_request", "missing client_assertion")
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise _TokenError("invalid_request", "client_assertion is not a JWT") from None
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if alg not in wire.M2M_ALGORITHMS:
        raise _TokenError("invalid_request", f"algorithm {alg!r} is not accepted")
    if typ != "JWT":
        raise _TokenError("invalid_request", f"typ {typ!r} is not JWT")
    if not isinstance(kid, str) or not kid:
        raise _TokenError("invalid_request", "no kid (certificate id) in the JWT header")
    certificate = auth.certificate(kid)
    if certificate is None:
        raise _TokenError("invalid_client", f"unknown certificate id {kid}", 401)
    claims = _verified_claims(assertion, certificate.public_key, alg, audiences)
    if claims.get("iss") != certificate.client_id:
        raise _TokenError("invalid_client", "iss is not the certificate's client id", 401)
    if not auth.has_integration(certificate.client_id):
        raise _TokenError("invalid_client", "the client id has no integration record", 401)
    _check_times(claims, auth.now().timestamp())
    return certificate.client_id, _scopes(claims.get("scope"))


def _verified_claims(assertion: str, key: Any, alg: str, audiences: list[str]) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key=key,
            algorithms=[alg],
            audience=audiences,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "aud", "iat", "exp", "scope"],
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise _TokenError("invalid_request", str(exc)) from None
    except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
        raise _TokenError("invalid_grant", "aud is not the token endpoint URL") from None
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        # pyjwt raises TypeError when the algorithm does not fit the certificate's key.
        raise _TokenError("invalid_grant", f"signature not verified: {exc}") from None
    return claims


def _check_times(claims: dict[str, Any], now: float) -> None:
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise _TokenError("invalid_request", "iat and exp must be numbers")
    if exp - iat > wire.MAX_ASSERTION_SECONDS:
        raise _TokenError("invalid_grant", "exp is more than 60 minutes after iat")
    if exp <= now:
        raise _TokenError("invalid_grant", "the assertion has expired")
    if iat > now + wire.TBA_TIMESTAMP_WINDOW_SECONDS:
        raise _TokenError("invalid_grant", "iat is in the future")


def _scopes(raw: object) -> frozenset[str]:
    if isinstance(raw, str):
        stripped = raw.strip()
        if stripped.startswith("["):
            try:
                raw = json.loads(stripped)
            except ValueError:
                raise _TokenError("invalid_scope", "scope is not a list") from None
        else:
            raw = [part.strip() for part in stripped.split(",")]
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise _TokenError("invalid_scope", "scope must be a list or a comma-separated string")
    scopes = frozenset(s for s in raw if s)
    if not scopes or not scopes <= KNOWN_SCOPES:
        raise _TokenError("invalid_scope", f"unknown scope in {sorted(scopes)}")
    if not scopes & {"rest_webservices", "restlets"}:
        raise _TokenError("invalid_scope", "scope needs rest_webservices or restlets")
    return scopes
