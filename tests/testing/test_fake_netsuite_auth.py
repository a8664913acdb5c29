"""FakeNetSuite authentication: TBA signatures and OAuth 2.0 client credentials."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from oauthlib.oauth1 import Client as OAuth1Client
from requests_oauthlib import OAuth1Session

from erpsync.errors import ConfigurationError
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite

RECORD = "/services/rest/record/v1/customer/101"
TOKEN = "/services/rest/auth/oauth2/v1/token"
INVALID_LOGIN = {
    "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
    "title": "Unauthorized",
    "status": 401,
    "o:errorDetails": [
        {
            "detail": "Invalid login attempt. For more details, see the Login Audit Trail in "
            "the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit "
            "Trail.",
            "o:errorCode": "INVALID_LOGIN",
        }
    ],
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeNetSuite]:
    emulator = FakeNetSuite(clock=clock)
    emulator.serve()
    yield emulator
    emulator.shutdown()


# -- token-based authentication --------------------------------------------------------------


def signed_get(fake: FakeNetSuite, path: str = RECORD, **client_kw: Any) -> requests.Response:
    """Sign with oauthlib's client directly, to control nonce, timestamp and realm."""
    creds = fake.credentials
    options: dict[str, Any] = {
        "client_secret": creds.consumer_secret,
        "resource_owner_key": creds.token_id,
        "resource_owner_secret": creds.token_secret,
        "signature_method": "HMAC-SHA256",
        "realm": creds.account_id,
        **client_kw,
    }
    client = OAuth1Client(
        client_kw.pop("client_key", creds.consumer_key),
        **{k: v for k, v in options.items() if k != "client_key"},
    )
    url = f"{fake.served_url}{path}"
    _, headers, _ = client.sign(url, "GET")
    return requests.get(url, headers=headers, timeout=10)


def reason(fake: FakeNetSuite) -> str:
    attempt = fake.login_audit_trail[-1]
    assert not attempt.success
    return attempt.detail


def test_a_correct_signature_is_accepted(fake: FakeNetSuite) -> None:
    response = signed_get(fake)
    assert response.status_code == 200, response.text
    assert fake.login_audit_trail[-1].success


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"realm": "1234567_sb1"}, "realm"),
        ({"realm": None}, "realm"),
        ({"signature_method": "HMAC-SHA1"}, "signature method"),
        ({"nonce": "abc12"}, "nonce"),
        ({"timestamp": str(int(time.time()) - 301)}, "timestamp"),
        ({"client_key": "0" * 64}, "consumer key"),
        ({"resource_owner_key": "0" * 64}, "token"),
        ({"resource_owner_secret": "wrong"}, "signature"),
    ],
)
def test_tba_failures_answer_invalid_login(
    fake: FakeNetSuite, change: dict[str, Any], why: str
) -> None:
    response = signed_get(fake, **change)
    assert response.status_code == 401
    assert response.json() == INVALID_LOGIN
    assert why in reason(fake)


def test_the_timestamp_is_checked_against_the_emulator_clock(
    fake: FakeNetSuite, clock: FakeClock
) -> None:
    clock.advance(400)
    assert signed_get(fake).status_code == 401
    assert "timestamp" in reason(fake)
    assert signed_get(fake, timestamp=str(int(clock.now()))).status_code == 200


def test_a_nonce_and_timestamp_cannot_be_replayed(fake: FakeNetSuite) -> None:
    fixed = {"nonce": "abcdefghij0123456789", "timestamp": str(int(time.time()))}
    assert signed_get(fake, **fixed).status_code == 200
    assert signed_get(fake, **fixed).status_code == 401
    assert "already used" in reason(fake)


def test_query_parameters_are_signed(fake: FakeNetSuite) -> None:
    creds = fake.credentials
    client = OAuth1Client(
        creds.consumer_key,
        client_secret=creds.consumer_secret,
        resource_owner_key=creds.token_id,
        resource_owner_secret=creds.token_secret,
        signature_method="HMAC-SHA256",
        realm=creds.account_id,
    )
    url = f"{fake.served_url}{RECORD}?fields=email"
    _, headers, _ = client.sign(url, "GET")
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    _, headers, _ = client.sign(url, "GET")
    tampered = requests.get(url.replace("email", "phone"), headers=headers, timeout=10)
    assert tampered.status_code == 401


def test_revoked_tokens_and_extra_tokens(fake: FakeNetSuite) -> None:
    fake.register_token(
        consumer_key="ck-2" * 8, consumer_secret="cs", token_id="tk-2" * 8, token_secret="ts"
    )
    other = OAuth1Session(
        "ck-2" * 8,
        client_secret="cs",
        resource_owner_key="tk-2" * 8,
        resource_owner_secret="ts",
        signature_method="HMAC-SHA256",
        realm=fake.account_id,
    )
    assert other.get(f"{fake.served_url}{RECORD}").status_code == 200
    fake.revoke_token("tk-2" * 8)
    assert other.get(f"{fake.served_url}{RECORD}").status_code == 401


def test_no_credentials_at_all(fake: FakeNetSuite) -> None:
    response = requests.get(f"{fake.served_url}{RECORD}", timeout=10)
    assert response.status_code == 401
    assert response.json() == INVALID_LOGIN


# -- OAuth 2.0 client credentials --------------------------------------------------------------


def assertion(
    fake: FakeNetSuite,
    *,
    key: Any = None,
    alg: str = "PS256",
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    creds = fake.credentials
    now = int(fake.clock.now())
    payload = {
        "iss": creds.client_id,
        "scope": ["restlets", "rest_webservices"],
        "aud": f"{fake.served_url}{TOKEN}",
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    header = {"kid": creds.certificate_id, "typ": "JWT", **(headers or {})}
    return jwt.encode(payload, key or creds.private_key_pem, algorithm=alg, headers=header)


def token_request(fake: FakeNetSuite, client_assertion: str, **form: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion,
        **form,
    }
    return requests.post(f"{fake.served_url}{TOKEN}", data=data, timeout=10)


def test_client_credentials_issue_a_60_minute_bearer_token(
    fake: FakeNetSuite, clock: FakeClock
) -> None:
    response = token_request(fake, assertion(fake))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert (body["expires_in"], body["token_type"]) == ("3600", "Bearer")
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(f"{fake.served_url}{RECORD}", headers=bearer, timeout=10).status_code == 200
    clock.advance(3600)
    expired = requests.get(f"{fake.served_url}{RECORD}", headers=bearer, timeout=10)
    assert expired.status_code == 401
    assert expired.json() == INVALID_LOGIN
    assert "expired" in reason(fake)


def test_the_real_host_url_is_an_accepted_audience(fake: FakeNetSuite) -> None:
    response = token_request(fake, assertion(fake, aud=fake.token_url))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("kw", "status", "code"),
    [
        ({"alg": "RS256"}, 400, "invalid_request"),
        ({"headers": {"typ": "JWS"}}, 400, "invalid_request"),
        ({"headers": {"kid": "unknown-certificate"}}, 401, "invalid_client"),
        ({"iss": "someone-else"}, 401, "invalid_client"),
        ({"aud": "https://example.com/token"}, 400, "invalid_grant"),
        ({"exp": int(time.time()) + 3601 + 60, "iat": int(time.time()) + 60}, 400, "invalid_grant"),
        ({"exp": int(time.time()) - 10, "iat": int(time.time()) - 100}, 400, "invalid_grant"),
        ({"scope": ["rest_webservices", "everything"]}, 400, "invalid_scope"),
        ({"scope": None}, 400, "invalid_request"),
    ],
)
def test_bad_assertions_get_oauth_errors(
    fake: FakeNetSuite, kw: dict[str, Any], status: int, code: str
) -> None:
    response = token_request(fake, assertion(fake, **kw))
    assert response.status_code == status
    assert response.json() == {"error": code}
    assert not fake.login_audit_trail[-1].success


def test_a_signature_by_another_key_is_refused(fake: FakeNetSuite) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    response = token_request(fake, assertion(fake, key=other, alg="ES256"))
    assert response.json() == {"error": "invalid_grant"}


def test_form_errors(fake: FakeNetSuite) -> None:
    good = assertion(fake)
    assert token_request(fake, good, grant_type="password").json() == {
        "error": "unsupported_grant_type"
    }
    assert token_request(fake, good, client_assertion_type="x").json() == {
        "error": "invalid_request"
    }
    assert token_request(fake, "not.a.jwt").json() == {"error": "invalid_request"}
    as_json = requests.post(f"{fake.served_url}{TOKEN}", json={"grant_type": "x"}, timeout=10)
    assert as_json.status_code == 400


def test_comma_scope_and_scope_enforcement(fake: FakeNetSuite) -> None:
    comma = token_request(fake, assertion(fake, scope="rest_webservices,restlets"))
    assert comma.status_code == 200
    restlets_only = token_request(fake, assertion(fake, scope=["restlets"])).json()
    bearer = {"Authorization": f"Bearer {restlets_only['access_token']}"}
    assert requests.get(f"{fake.served_url}{RECORD}", headers=bearer, timeout=10).status_code == 401


def certificate(key: Any, days: int = 365) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    start = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_registered_ec_certificates_and_rotation(fake: FakeNetSuite) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    fake.register_certificate("cert-ec", certificate(key), fake.credentials.client_id)
    signed = assertion(fake, key=key, alg="ES384", headers={"kid": "cert-ec"})
    assert token_request(fake, signed).status_code == 200
    assert token_request(fake, assertion(fake)).status_code == 200  # the first one too
    fake.revoke_certificate("cert-ec")
    assert (
        token_request(
            fake, assertion(fake, key=key, alg="ES384", headers={"kid": "cert-ec"})
        ).status_code
        == 401
    )


def test_register_certificate_refuses_what_netsuite_refuses(fake: FakeNetSuite) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ConfigurationError):
        fake.register_certificate("c1", certificate(small), fake.credentials.client_id)
    long_lived = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ConfigurationError):
        fake.register_certificate(
            "c2", certificate(long_lived, days=800), fake.credentials.client_id
        )
    with pytest.raises(ConfigurationError):
        fake.register_certificate("c3", "not a certificate", fake.credentials.client_id)
    with pytest.raises(ConfigurationError):
        fake.register_certificate("c4", certificate(long_lived), "unknown-client")


def test_credentials_do_not_show_secrets(fake: FakeNetSuite) -> None:
    creds = fake.credentials
    text = repr(creds) + str(creds)
    for secret in (creds.consumer_secret, creds.token_secret, creds.token_id, creds.consumer_key):
        assert secret not in text
    assert "PRIVATE KEY" in creds.private_key_pem
    assert "PRIVATE KEY" not in text
    assert creds.client_id == creds.consumer_key
    assert json.dumps(fake.login_audit_trail and "x")  # the trail itself holds no secrets
    assert all(creds.token_secret not in repr(a) for a in fake.login_audit_trail)
