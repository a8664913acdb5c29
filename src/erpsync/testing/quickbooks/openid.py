"""OpenID Connect for the emulated Intuit: the signing key, its JWKS and ``id_token``.

With the ``openid`` scope, Intuit's token answer carries an ``id_token``: an RS256 JWT
whose ``kid`` names a key published at the discovery document's ``jwks_uri``. Clients
(intuit-oauth is one) fetch the JWKS and verify the signature, the issuer, the audience
and the expiry, so the emulator signs with a real RSA key and publishes it.

The key is made once per process, on first use (RSA generation costs tens of
milliseconds; most tests never ask for OpenID). The token's ``iat`` and ``exp`` are wall
time, not the emulator's clock: clients check them against their own wall clock, as they
do against Intuit's.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from erpsync.quickbooks import wire

__all__ = ["KEY_ID", "discovery", "id_token", "jwks", "userinfo"]

#: Paths of the OAuth endpoints on the emulator (the same as on Intuit's hosts).
AUTHORIZE_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
USERINFO_PATH = "/v1/openid_connect/userinfo"
JWKS_PATH = "/op/v1/jwks"

KEY_ID = "erpsync-fake-qbo-1"
_ID_TOKEN_SECONDS = 3600

_lock = threading.Lock()
_key: rsa.RSAPrivateKey | None = None


def _signing_key() -> rsa.RSAPrivateKey:
    global _key
    with _lock:
        if _key is None:
            _key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _key


def jwks() -> dict[str, Any]:
    """The JSON Web Key Set the discovery document's ``jwks_uri`` answers."""
    public = json.loads(RSAAlgorithm.to_jwk(_signing_key().public_key()))
    return {"keys": [{**public, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}


def id_token(client_id: str, realm_id: str, subject: str) -> str:
    """An ``id_token`` for one consent, signed with the published key."""
    now = int(time.time())
    claims = {
        "iss": wire.OPENID_ISSUER,
        "aud": [client_id],
        "sub": subject,
        "realmid": realm_id,
        "auth_time": now,
        "iat": now,
        "exp": now + _ID_TOKEN_SECONDS,
    }
    return jwt.encode(claims, _signing_key(), algorithm="RS256", headers={"kid": KEY_ID})


def discovery(base: str, sandbox: bool, served: bool) -> dict[str, Any]:
    """The discovery document: Intuit's endpoints, or the served emulator's (``base``)."""
    if served:
        endpoints = {
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "userinfo_endpoint": base + USERINFO_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "jwks_uri": base + JWKS_PATH,
        }
    else:
        endpoints = {
            "authorization_endpoint": wire.AUTHORIZE_URL,
            "token_endpoint": wire.TOKEN_URL,
            "userinfo_endpoint": wire.USERINFO_URLS["sandbox" if sandbox else "production"],
            "revocation_endpoint": wire.REVOKE_URL,
            "jwks_uri": wire.JWKS_URL,
        }
    return {
        "issuer": wire.OPENID_ISSUER,
        **endpoints,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


def userinfo(realm_id: str) -> dict[str, Any]:
    """The claims ``userinfo`` answers for the user who connected ``realm_id``."""
    return {
        "sub": "fake-user-" + realm_id,
        "email": "sandbox.user@example.com",
        "emailVerified": True,
        "givenName": "Sandbox",
        "familyName": "User",
    }
