"""Tests for erpsync.netsuite.auth: TBA signing, M2M client credentials, and that the
certificates erpsync.netsuite.certificates generates sign assertions NetSuite verifies.

Signatures are checked with oauthlib's server-side verifier and JWTs with pyjwt and the
public key, never by re-deriving them with the code under test. The token endpoint is
mocked with ``responses``; clocks are injected, so no test waits on real time beyond
the few milliseconds the single-flight test uses to widen its race window.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849.utils import escape as oauthlib_escape
from requests_oauthlib import OAuth1

from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    ServiceError,
)
from erpsync.netsuite.auth import (
    ClientCredentialsAuth,
    GeneratedCertificate,
    NetSuiteAuth,
    TokenBasedAuth,
    canonical_account_id,
    default_base_url,
    generate_certificate,
)
from erpsync.netsuite.signing import escape, new_nonce

# Oracle's published TBA example ("The Signature for Web Services and RESTlets").
ORACLE = {
    "consumer_key": "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
    "consumer_secret": "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5",
    "token_id": "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc",
    "token_secret": "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295",
}
ORACLE_NONCE = "fjaLirsIcCGVZWzBX0pg"
ORACLE_TIMESTAMP = 1508242306
ORACLE_URL = "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40"
ORACLE_SIGNATURE = "B5OIWznZ2YP0OB7VrJrGkYsTh+8H+5T9Hag+o92q0zY="

ACCOUNT = "1234567_SB1"
BASE_URL = "https://1234567-sb1.suitetalk.api.netsuite.com"
TOKEN_URL = BASE_URL + "/services/rest/auth/oauth2/v1/token"
API_URL = BASE_URL + "/services/rest/record/v1/customer/1"
CLIENT_ID = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
CERT_ID = "Xk3-certificate-id"


# -- helpers -----------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


_KEYS: dict[str, Any] = {}


def key(kind: str) -> Any:
    """Keys are generated once per module: RSA 3072 takes a noticeable fraction of a second."""
    if kind not in _KEYS:
        if kind == "rsa3072":
            _KEYS[kind] = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        elif kind == "rsa2048":
            _KEYS[kind] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            curve = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}[kind]
            _KEYS[kind] = ec.generate_private_key(curve)
    return _KEYS[kind]


def pem(private_key: Any, password: bytes | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    data: bytes = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return data.decode()


def tba(**kw: Any) -> TokenBasedAuth:
    return TokenBasedAuth(**{**ORACLE, **kw})


def sign(auth: Any, method: str, url: str, **kw: Any) -> requests.PreparedRequest:
    prepared = requests.Request(method, url, **kw).prepare()
    signed: requests.PreparedRequest = auth(prepared)
    return signed


def oauth_params(prepared: requests.PreparedRequest) -> dict[str, str]:
    return dict(
        oauth_signature.collect_parameters(
            headers={"Authorization": prepared.headers["Authorization"]},
            exclude_oauth_signature=False,
            with_realm=True,
        )
    )


def server_verifies(
    prepared: requests.PreparedRequest,
    consumer_secret: str = ORACLE["consumer_secret"],
    token_secret: str = ORACLE["token_secret"],
) -> bool:
    """What an RFC 5849 server does: collect query (+ form body) + header params, verify."""
    headers = {k: v for k, v in prepared.headers.items() if isinstance(v, str)}
    form = "application/x-www-form-urlencoded" in headers.get("Content-Type", "")
    body = prepared.body if form else ""
    if isinstance(body, bytes):
        body = body.decode()
    request = OAuthRequest(prepared.url, prepared.method, body, headers)
    request.params = oauth_signature.collect_parameters(
        uri_query=urlsplit(prepared.url).query,
        body=body or None,
        headers=headers,
        exclude_oauth_signature=True,
        with_realm=False,
    )
    request.signature = oauth_params(prepared)["oauth_signature"]
    return bool(oauth_signature.verify_hmac_sha256(request, consumer_secret, token_secret))


_PEMS: dict[str, str] = {}


def m2m(private_key: Any = None, **kw: Any) -> ClientCredentialsAuth:
    """An M2M auth; by default with an EC key, because loading (and validating) an RSA
    3072 key costs ~0.1 s each time. Tests about RSA pass ``rsa=True``."""
    kw.setdefault("clock", FakeClock())
    if kw.pop("rsa", False):
        private_key = _PEMS.setdefault("rsa3072", pem(key("rsa3072")))
    elif private_key is None:
        private_key = _PEMS.setdefault("p256", pem(key("p256")))
        kw.setdefault("algorithm", "ES256")
    return ClientCredentialsAuth(CLIENT_ID, CERT_ID, private_key, **kw)


def form_of(request: Any) -> dict[str, str]:
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    return {k: v[0] for k, v in parse_qs(body).items()}


def assertion_of(request: Any) -> str:
    return form_of(request)["client_assertion"]


def decode(assertion: str, public_key: Any, algorithm: str = "PS256") -> dict[str, Any]:
    # The fake clock is in the future of real time: check exp/iat by hand, not by pyjwt.
    return jwt.decode(
        assertion,
        public_key,
        algorithms=[algorithm],
        audience=TOKEN_URL,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )


def token_answer(token: str = "tok-1", expires_in: Any = 3600) -> dict[str, Any]:
    body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return body


def unauthorized(prepared: requests.PreparedRequest) -> requests.Response:
    response = requests.Response()
    response.status_code = 401
    response.request = prepared
    response.url = prepared.url or ""
    return response


def bearer(prepared: requests.PreparedRequest) -> str:
    scheme, _, value = prepared.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    return value


# -- account ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("1234567", "1234567"),
        ("1234567_sb1", "1234567_SB1"),
        ("1234567-SB2", "1234567_SB2"),
        (" 1234567_SB12 ", "1234567_SB12"),
        ("1234567_rp", "1234567_RP"),
        ("1234567_RP2", "1234567_RP2"),
        ("tstdrv1234567", "TSTDRV1234567"),
        ("TSTDRV1234567_SB1", "TSTDRV1234567_SB1"),
    ],
)
def test_account_ids_are_canonicalised(given: str, canonical: str) -> None:
    assert canonical_account_id(given) == canonical


@pytest.mark.parametrize(
    "bad", ["", "abc", "1234567_SB", "1234567_XX1", "12 34", "1234567_SB1_SB2", "TSTDRV", None, 7]
)
def test_bad_account_ids_are_configuration_errors(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="not a NetSuite account id"):
        canonical_account_id(bad)
    with pytest.raises(ConfigurationError):
        tba().for_account(bad, BASE_URL)


def test_default_base_url_is_lower_case_with_dashes() -> None:
    assert default_base_url("1234567_sb1") == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert default_base_url("TSTDRV99") == "https://tstdrv99.suitetalk.api.netsuite.com"


@pytest.mark.parametrize(
    "url", ["ftp://host", "not a url", "http://1234567.suitetalk.api.netsuite.com", "https://"]
)
def test_base_url_must_be_https_or_loopback(url: str) -> None:
    with pytest.raises(ConfigurationError):
        tba().for_account(ACCOUNT, url)
    with pytest.raises(ConfigurationError):
        m2m().for_account(ACCOUNT, url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"])
def test_plain_http_is_allowed_on_loopback(url: str) -> None:
    assert tba().for_account(ACCOUNT, url) is not None
    auth = m2m().for_account(ACCOUNT, url)
    assert auth.token_url == url + "/services/rest/auth/oauth2/v1/token"  # type: ignore[attr-defined]


def test_both_auths_are_netsuite_auths() -> None:
    assert isinstance(tba(), NetSuiteAuth)
    assert isinstance(m2m(), NetSuiteAuth)


# -- token-based authentication -------------------------------------------------------------


def oracle_auth() -> Any:
    auth = tba(nonce_factory=lambda: ORACLE_NONCE, clock=lambda: ORACLE_TIMESTAMP)
    return auth.for_account("123456", "https://123456.suitetalk.api.netsuite.com")


def test_tba_reproduces_oracles_published_signature() -> None:
    prepared = sign(oracle_auth(), "GET", ORACLE_URL)
    params = oauth_params(prepared)
    assert params["oauth_signature"] == ORACLE_SIGNATURE
    assert params["realm"] == "123456"
    assert params["oauth_signature_method"] == "HMAC-SHA256"
    assert params["oauth_nonce"] == ORACLE_NONCE
    assert params["oauth_timestamp"] == str(ORACLE_TIMESTAMP)
    assert params["oauth_consumer_key"] == ORACLE["consumer_key"]
    assert params["oauth_token"] == ORACLE["token_id"]
    assert params["oauth_version"] == "1.0"
    assert server_verifies(prepared)


def test_tba_header_is_text_starting_with_the_realm() -> None:
    header = sign(oracle_auth(), "GET", ORACLE_URL).headers["Authorization"]
    assert isinstance(header, str)
    assert header.startswith('OAuth realm="123456"')


@pytest.mark.parametrize(
    ("account", "realm"),
    [("1234567_sb1", "1234567_SB1"), ("1234567-sb1", "1234567_SB1"), ("tstdrv42", "TSTDRV42")],
)
def test_tba_realm_is_upper_case_with_underscore(account: str, realm: str) -> None:
    prepared = sign(tba().for_account(account, BASE_URL), "GET", API_URL)
    assert oauth_params(prepared)["realm"] == realm
    assert f'realm="{realm}"' in prepared.headers["Authorization"]
    assert server_verifies(prepared)


def test_tba_signs_query_parameters() -> None:
    auth = tba().for_account(ACCOUNT, BASE_URL)
    url = BASE_URL + "/services/rest/query/v1/suiteql"
    prepared = sign(auth, "POST", url, params={"limit": "1000", "offset": "0"}, json={"q": "x"})
    assert server_verifies(prepared)
    # The same signature over a different query must fail: the query was signed.
    tampered = prepared.copy()
    tampered.url = prepared.url.replace("offset=0", "offset=1000")  # type: ignore[union-attr]
    assert not server_verifies(tampered)
    # Changing the method or the path also breaks it.
    tampered = prepared.copy()
    tampered.method = "GET"
    assert not server_verifies(tampered)


def test_tba_does_not_sign_or_touch_json_bodies() -> None:
    auth = tba().for_account(ACCOUNT, BASE_URL)
    body = {"q": "SELECT id FROM transaction WHERE memo = 'a=b&c=d'"}
    prepared = sign(auth, "POST", API_URL, json=body)
    assert prepared.headers["Content-Type"] == "application/json"
    assert json.loads(prepared.body) == body  # type: ignore[arg-type]
    assert server_verifies(prepared)  # verified with the body excluded


def test_tba_leaves_unlabelled_form_looking_bodies_alone() -> None:
    """requests-oauthlib would relabel ``a=b`` without a Content-Type as a form and sign it."""
    auth = tba().for_account(ACCOUNT, BASE_URL)
    prepared = sign(auth, "PATCH", API_URL, data="memo=x&amount=1")
    assert "Content-Type" not in prepared.headers
    assert prepared.body == "memo=x&amount=1"
    assert server_verifies(prepared)


def test_tba_signs_form_bodies_as_rfc5849_requires() -> None:
    auth = tba().for_account(ACCOUNT, BASE_URL)
    prepared = sign(auth, "POST", API_URL, data={"script": "6", "deploy": "1"})
    assert server_verifies(prepared)
    tampered = prepared.copy()
    tampered.body = "script=7&deploy=1"
    assert not server_verifies(tampered)


def test_tba_resigns_every_request_with_a_fresh_nonce_and_timestamp() -> None:
    clock = FakeClock(1_700_000_000)
    nonces = iter(["nonce-000001", "nonce-000002"])
    auth = tba(nonce_factory=lambda: next(nonces), clock=clock).for_account(ACCOUNT, BASE_URL)
    first = sign(auth, "GET", API_URL)
    clock.now += 7
    second = sign(auth, "GET", API_URL)
    one, two = oauth_params(first), oauth_params(second)
    assert (one["oauth_nonce"], one["oauth_timestamp"]) == ("nonce-000001", "1700000000")
    assert (two["oauth_nonce"], two["oauth_timestamp"]) == ("nonce-000002", "1700000007")
    assert one["oauth_signature"] != two["oauth_signature"]
    assert server_verifies(first) and server_verifies(second)


def test_tba_default_nonces_are_random_alphanumerics() -> None:
    auth = tba().for_account(ACCOUNT, BASE_URL)
    nonces = {oauth_params(sign(auth, "GET", API_URL))["oauth_nonce"] for _ in range(20)}
    assert len(nonces) == 20
    assert all(len(n) == 20 and n.isalnum() for n in nonces)


def test_tba_refuses_a_too_short_nonce() -> None:
    auth = tba(nonce_factory=lambda: "abc").for_account(ACCOUNT, BASE_URL)
    with pytest.raises(ConfigurationError, match="nonce"):
        sign(auth, "GET", API_URL)


def test_tba_renew_returns_false() -> None:
    auth = tba().for_account(ACCOUNT, BASE_URL)
    assert auth.renew(unauthorized(sign(auth, "GET", API_URL))) is False  # type: ignore[attr-defined]


@responses.activate
def test_tba_through_a_real_session() -> None:
    responses.add(responses.GET, API_URL, json={"id": "1"})
    session = requests.Session()
    session.auth = tba().for_account(ACCOUNT, BASE_URL)
    assert session.get(API_URL, params={"expandSubResources": "true"}).json() == {"id": "1"}
    sent = responses.calls[0].request
    assert "expandSubResources=true" in (sent.url or "")
    assert server_verifies(sent)


def _oauth1_reference(prepared: requests.PreparedRequest, realm: str) -> requests.PreparedRequest:
    """requests-oauthlib's OAuth1, as erpsync used it before signing with hmac itself:
    the oracle the faster signer must match byte for byte."""
    signed: requests.PreparedRequest = OAuth1(
        ORACLE["consumer_key"],
        client_secret=ORACLE["consumer_secret"],
        resource_owner_key=ORACLE["token_id"],
        resource_owner_secret=ORACLE["token_secret"],
        signature_method="HMAC-SHA256",
        realm=realm,
        nonce=ORACLE_NONCE,
        timestamp=str(ORACLE_TIMESTAMP),
    )(prepared)
    for name, value in list(signed.headers.items()):
        if isinstance(value, bytes):
            signed.headers[name] = value.decode("utf-8")
    return signed


_query_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_queries = st.lists(
    st.tuples(
        st.sampled_from(["limit", "q", "oauth_x", "a b", "ü", "x~y"]) | _query_text, _query_text
    ),
    max_size=4,
)


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    path=st.sampled_from(["/services/rest/record/v1/invoice", "/a b/ü;p=1", "/", ""]),
    query=_queries,
    form=st.none() | _queries,
    host=st.sampled_from(
        [
            "https://1234567-sb1.suitetalk.api.netsuite.com",
            "http://127.0.0.1:8123",
            "HTTPS://Example.COM:443",
            "http://[::1]:80",
        ]
    ),
    explicit_host=st.none() | st.sampled_from(["Other.Example.com", "10.0.0.1:8443"]),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_tba_header_is_byte_for_byte_what_oauthlib_makes(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    form: list[tuple[str, str]] | None,
    host: str,
    explicit_host: str | None,
) -> None:
    if form is not None and method in ("GET", "DELETE"):
        form = None
    headers = {"Host": explicit_host} if explicit_host else {}
    prepared = requests.Request(
        method,
        host + path,
        params=query,
        data=form or None,
        json=None if form else {"a": 1},
        headers=headers,
    ).prepare()
    if form == []:
        prepared.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    try:
        theirs = _oauth1_reference(prepared.copy(), "123456")
    except ValueError:  # oauthlib refuses it (a form label on a body that is no form)
        with pytest.raises(ConfigurationError, match="cannot sign"):
            oracle_auth()(prepared.copy())
        return
    mine = oracle_auth()(prepared.copy())
    assert mine.headers["Authorization"] == theirs.headers["Authorization"]
    assert mine.headers.get("Content-Type") == theirs.headers.get("Content-Type")
    assert mine.url == theirs.url
    assert mine.body == prepared.body  # the body is never rewritten


@given(st.text())
def test_tba_escaping_is_oauthlibs(text: str) -> None:
    assert escape(text) == oauthlib_escape(text)


def test_tba_default_nonces_differ_and_use_letters_and_digits() -> None:
    nonces = {new_nonce() for _ in range(2000)}
    assert len(nonces) == 2000
    assert all(len(n) == 20 and n.isascii() and n.isalnum() for n in nonces)
    assert len(set("".join(nonces))) == 62


def test_tba_form_bodies_that_do_not_decode_are_configuration_errors() -> None:
    auth = oracle_auth()
    prepared = requests.Request(
        "POST",
        API_URL,
        data="a=%zz\x00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).prepare()
    with pytest.raises(ConfigurationError, match="cannot sign"):
        auth(prepared)


@pytest.mark.parametrize("field", ["consumer_key", "consumer_secret", "token_id", "token_secret"])
@pytest.mark.parametrize("value", ["", "   ", None, 42])
def test_tba_requires_every_credential(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=field):
        tba(**{field: value})


def test_tba_secrets_never_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    auth = tba()
    account_auth = auth.for_account(ACCOUNT, BASE_URL)
    sign(account_auth, "POST", API_URL, json={"a": 1})
    sign(account_auth, "POST", API_URL, data={"a": "1"})
    shown = " ".join([repr(auth), str(auth), repr(account_auth), str(account_auth), caplog.text])
    for secret in (ORACLE["consumer_secret"], ORACLE["token_secret"]):
        assert secret not in shown
    for identifier in (ORACLE["consumer_key"], ORACLE["token_id"]):
        assert identifier not in repr(auth) + repr(account_auth)
    assert "ef40af" in repr(auth)
    assert ACCOUNT in repr(account_auth)


# -- client credentials: construction ----------------------------------------------------


def test_m2m_accepts_pem_text_bytes_and_paths(tmp_path: Path) -> None:
    text = pem(key("p384"))
    path = tmp_path / "key.pem"
    path.write_text(text)
    for source in (text, text.encode(), path, str(path), "~/../" + str(path)):
        assert m2m(source, algorithm="ES384").algorithm == "ES384"


def test_m2m_accepts_der_bytes_and_encrypted_keys() -> None:
    der = key("p256").private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert m2m(der, algorithm="ES256").algorithm == "ES256"
    encrypted = pem(key("p256"), password=b"s3cret")
    assert m2m(encrypted, algorithm="es256", private_key_password="s3cret").algorithm == "ES256"
    with pytest.raises(ConfigurationError, match="encrypted"):
        m2m(encrypted, algorithm="ES256")
    with pytest.raises(ConfigurationError, match="password"):
        m2m(encrypted, algorithm="ES256", private_key_password="wrong")


def test_m2m_refuses_text_that_is_not_a_key() -> None:
    garbage = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ConfigurationError, match="not a readable private key") as info:
        m2m(garbage)
    assert "bm90IGEga2V5" not in str(info.value)


def test_m2m_refuses_unreadable_paths_and_never_echoes_key_material(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(ConfigurationError, match="could not read") as info:
        m2m(str(missing))
    assert "missing.pem" in str(info.value)
    with pytest.raises(ConfigurationError, match="could not read"):
        m2m(tmp_path)  # a directory
    # Key material pasted without its PEM header is taken for a path: do not repeat it.
    body = "".join(pem(key("p256")).splitlines()[1:-1])
    with pytest.raises(ConfigurationError) as info:
        m2m(body, algorithm="ES256")
    assert body not in str(info.value) and body[:20] not in repr(info.value)


def test_m2m_refuses_the_wrong_kind_of_private_key() -> None:
    with pytest.raises(ConfigurationError, match="PEM text, bytes or a path"):
        m2m(12345)
    with pytest.raises(ConfigurationError, match="RSA or EC"):
        from cryptography.hazmat.primitives.asymmetric import ed25519

        m2m(pem(ed25519.Ed25519PrivateKey.generate()))


def test_m2m_refuses_small_rsa_keys() -> None:
    with pytest.raises(ConfigurationError, match=r"2048 bits.*3072"):
        m2m(pem(key("rsa2048")))


def test_m2m_refuses_rs256_and_points_to_ps256() -> None:
    with pytest.raises(ConfigurationError, match="no longer accepts RS256") as info:
        m2m(algorithm="RS256")
    assert "PS256" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "algorithm", "message"),
    [
        ("rsa3072", "ES256", "needs an EC key"),
        ("p256", "PS256", "needs an RSA key"),
        ("p256", "ES384", "secp384r1"),
        ("p384", "ES256", "secp256r1"),
        ("p521", "ES384", "ES512"),
        ("rsa3072", "HS256", "unsupported algorithm"),
    ],
)
def test_m2m_refuses_mismatched_algorithms(kind: str, algorithm: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        m2m(pem(key(kind)), algorithm=algorithm)


@pytest.mark.parametrize(
    ("kind", "algorithm"),
    [
        ("rsa3072", "PS256"),
        ("rsa3072", "PS384"),
        ("rsa3072", "PS512"),
        ("p256", "ES256"),
        ("p384", "ES384"),
        ("p521", "ES512"),
    ],
)
def test_m2m_accepts_every_netsuite_algorithm(kind: str, algorithm: str) -> None:
    assert m2m(pem(key(kind)), algorithm=algorithm).algorithm == algorithm


@pytest.mark.parametrize(
    "kw",
    [
        {"assertion_lifetime": 3601},
        {"assertion_lifetime": 0},
        {"assertion_lifetime": 0.5},
        {"leeway": -1},
        {"default_expires_in": 0},
        {"timeout": 0},
        {"scopes": ()},
        {"scopes": ("rest webservices",)},
        {"client_id": ""},
        {"certificate_id": " "},
        {"token_url": "http://example.com/token"},
    ],
)
def test_m2m_refuses_bad_options(kw: dict[str, Any]) -> None:
    args = {"client_id": CLIENT_ID, "certificate_id": CERT_ID, "private_key": pem(key("p256"))}
    args["algorithm"] = "ES256"
    with pytest.raises(ConfigurationError):
        ClientCredentialsAuth(**{**args, **kw})


def test_m2m_scopes_accept_a_comma_separated_string() -> None:
    assert m2m(scopes="restlets, rest_webservices").scopes == ("restlets", "rest_webservices")


# -- client credentials: the assertion ---------------------------------------------------


@responses.activate
def test_m2m_assertion_header_and_claims() -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer())
    clock = FakeClock(1_800_000_123.7)
    auth = m2m(clock=clock, assertion_lifetime=600, rsa=True).for_account(ACCOUNT, BASE_URL)
    prepared = sign(auth, "GET", API_URL)
    assert bearer(prepared) == "tok-1"

    request = responses.calls[0].request
    assert request.url == TOKEN_URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = form_of(request)
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assertion = form["client_assertion"]
    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": "PS256", "typ": "JWT", "kid": CERT_ID}
    claims = decode(assertion, key("rsa3072").public_key())
    assert claims["iss"] == CLIENT_ID
    assert claims["aud"] == TOKEN_URL
    assert claims["scope"] == "restlets,rest_webservices"  # Oracle's documented form
    assert claims["iat"] == 1_800_000_123
    assert claims["exp"] - claims["iat"] == 600 <= 3600
    assert claims["jti"]


def test_m2m_assertion_does_not_verify_with_another_key() -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, TOKEN_URL, json=token_answer())
        sign(m2m(rsa=True).for_account(ACCOUNT, BASE_URL), "GET", API_URL)
        assertion = assertion_of(mock.calls[0].request)
    other = key("rsa2048")
    with pytest.raises(jwt.InvalidSignatureError):
        decode(assertion, other.public_key())


@pytest.mark.parametrize(("kind", "algorithm"), [("p256", "ES256"), ("p384", "ES384")])
@responses.activate
def test_m2m_ec_assertions_verify(kind: str, algorithm: str) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer())
    auth = m2m(pem(key(kind)), algorithm=algorithm, scopes=["rest_webservices"])
    sign(auth.for_account(ACCOUNT, BASE_URL), "GET", API_URL)
    assertion = assertion_of(responses.calls[0].request)
    assert jwt.get_unverified_header(assertion)["alg"] == algorithm
    claims = decode(assertion, key(kind).public_key(), algorithm)
    assert claims["scope"] == "rest_webservices"


@responses.activate
def test_m2m_sends_the_scope_as_an_array_when_asked() -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer())
    auth = m2m(scope_format="list", rsa=True)
    sign(auth.for_account(ACCOUNT, BASE_URL), "GET", API_URL)
    claims = decode(assertion_of(responses.calls[0].request), key("rsa3072").public_key())
    assert claims["scope"] == ["restlets", "rest_webservices"]
    with pytest.raises(ConfigurationError, match="scope_format"):
        m2m(scope_format="json", rsa=True)


@pytest.mark.parametrize(
    ("kind", "algorithm"), [("p256", "ES256"), ("p384", "ES384"), ("rsa3072", "PS256")]
)
@responses.activate
def test_m2m_infers_the_algorithm_from_the_key(kind: str, algorithm: str) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer())
    auth = ClientCredentialsAuth(CLIENT_ID, CERT_ID, pem(key(kind)))
    assert auth.algorithm == algorithm
    sign(auth.for_account(ACCOUNT, BASE_URL), "GET", API_URL)
    assertion = assertion_of(responses.calls[0].request)
    assert jwt.get_unverified_header(assertion)["alg"] == algorithm
    decode(assertion, key(kind).public_key(), algorithm)


def test_m2m_a_missing_key_file_names_its_path(tmp_path: Path) -> None:
    for missing in (tmp_path / "netsuite_key", tmp_path / "keys" / "ns.pem"):
        with pytest.raises(ConfigurationError) as info:
            ClientCredentialsAuth(CLIENT_ID, CERT_ID, str(missing))
        assert str(missing) in str(info.value)
        assert "***" not in str(info.value)


@responses.activate
def test_m2m_each_assertion_has_its_own_jti() -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer(expires_in=100))
    clock = FakeClock()
    auth = m2m(clock=clock, rsa=True).for_account(ACCOUNT, BASE_URL)
    sign(auth, "GET", API_URL)
    clock.now += 1000
    sign(auth, "GET", API_URL)
    jtis = {
        decode(assertion_of(c.request), key("rsa3072").public_key())["jti"] for c in responses.calls
    }
    assert len(jtis) == 2


def test_m2m_token_url_comes_from_the_base_url_host_or_the_override() -> None:
    auth = m2m()
    assert auth.token_url_for(BASE_URL + "/services/rest") == TOKEN_URL
    assert auth.for_account(ACCOUNT, BASE_URL).token_url == TOKEN_URL  # type: ignore[attr-defined]
    override = m2m(token_url="https://auth.example.com/token")
    assert override.token_url_for(BASE_URL) == "https://auth.example.com/token"


# -- client credentials: caching, single flight, renewal ---------------------------------


@responses.activate
def test_m2m_caches_the_token_until_shortly_before_expiry() -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-1", 3600))
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-2", "3600"))
    clock = FakeClock(1_000_000.0)
    auth = m2m(clock=clock, leeway=60).for_account(ACCOUNT, BASE_URL)
    assert bearer(sign(auth, "GET", API_URL)) == "tok-1"
    clock.now += 3539
    assert bearer(sign(auth, "GET", API_URL)) == "tok-1"
    assert len(responses.calls) == 1
    clock.now += 2  # 3541 s after the request: inside the 60 s leeway
    assert bearer(sign(auth, "GET", API_URL)) == "tok-2"
    assert len(responses.calls) == 2


@responses.activate
def test_m2m_uses_the_default_lifetime_when_expires_in_is_missing() -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-1", None))
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-2", None))
    clock = FakeClock()
    auth = m2m(clock=clock, leeway=10, default_expires_in=100).for_account(ACCOUNT, BASE_URL)
    sign(auth, "GET", API_URL)
    clock.now += 89
    assert bearer(sign(auth, "GET", API_URL)) == "tok-1"
    clock.now += 2
    assert bearer(sign(auth, "GET", API_URL)) == "tok-2"


@responses.activate
def test_m2m_short_tokens_are_renewed_halfway_rather_than_every_request() -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-1", 30))
    clock = FakeClock()
    auth = m2m(clock=clock, leeway=60).for_account(ACCOUNT, BASE_URL)
    sign(auth, "GET", API_URL)
    clock.now += 14
    sign(auth, "GET", API_URL)
    assert len(responses.calls) == 1


@responses.activate
def test_m2m_keeps_a_still_valid_token_when_early_renewal_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-1", 3600))
    responses.add(responses.POST, TOKEN_URL, status=503, body="down")
    responses.add(responses.POST, TOKEN_URL, status=503, body="down")
    clock = FakeClock()
    auth = m2m(clock=clock, leeway=60).for_account(ACCOUNT, BASE_URL)
    sign(auth, "GET", API_URL)
    clock.now += 3570  # renewal due, token still valid for 30 s
    assert bearer(sign(auth, "GET", API_URL)) == "tok-1"
    assert "renewal failed" in caplog.text
    clock.now += 5  # the endpoint is not asked again on every request
    assert bearer(sign(auth, "GET", API_URL)) == "tok-1"
    assert len(responses.calls) == 2
    clock.now += 25  # now expired: the failure surfaces
    with pytest.raises(ServiceError):
        sign(auth, "GET", API_URL)
    assert len(responses.calls) == 3


def test_m2m_single_flight_across_threads() -> None:
    issued = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        issued.append(1)
        time.sleep(0.02)  # keep the first request in flight while the others arrive
        return 200, {}, json.dumps(token_answer(f"tok-{len(issued)}"))

    auth = m2m().for_account(ACCOUNT, BASE_URL)
    barrier = threading.Barrier(20)
    seen: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            seen.append(bearer(sign(auth, "GET", API_URL)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, TOKEN_URL, callback=answer)
        threads = [threading.Thread(target=worker) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert not errors
    assert len(issued) == 1
    assert seen == ["tok-1"] * 20


@responses.activate
def test_m2m_renew_replaces_the_token_that_failed() -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-1"))
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-2"))
    auth: Any = m2m().for_account(ACCOUNT, BASE_URL)
    failed = sign(auth, "GET", API_URL)
    assert bearer(failed) == "tok-1"
    assert auth.renew(unauthorized(failed)) is True
    assert len(responses.calls) == 2
    assert bearer(sign(auth, "GET", API_URL)) == "tok-2"
    # A late 401 for the old token must not throw away the new one.
    assert auth.renew(unauthorized(failed)) is True
    assert len(responses.calls) == 2
    assert bearer(sign(auth, "GET", API_URL)) == "tok-2"


@responses.activate
def test_m2m_a_401_renews_once_and_the_retry_succeeds() -> None:
    """The transport's protocol: on 401 call renew(); when True, retry once."""
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-1"))
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-2"))
    responses.add(responses.GET, API_URL, status=401, json={"title": "Unauthorized"})
    responses.add(responses.GET, API_URL, json={"id": "1"})
    session = requests.Session()
    auth: Any = m2m().for_account(ACCOUNT, BASE_URL, session=session)
    response = session.get(API_URL, auth=auth)
    assert response.status_code == 401
    assert auth.renew(response) is True
    response = session.get(API_URL, auth=auth)
    assert response.json() == {"id": "1"}
    api_calls = [c.request for c in responses.calls if c.request.url == API_URL]
    assert [bearer(r) for r in api_calls] == ["tok-1", "tok-2"]


@responses.activate
def test_m2m_renew_raises_when_the_token_endpoint_refuses() -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer("tok-1"))
    responses.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_client"})
    auth: Any = m2m().for_account(ACCOUNT, BASE_URL)
    failed = sign(auth, "GET", API_URL)
    with pytest.raises(AuthenticationError):
        auth.renew(unauthorized(failed))


def test_m2m_token_requests_use_the_transport_session_without_its_auth() -> None:
    """A session whose ``auth`` is this object must not recurse into itself."""
    session = requests.Session()
    session.headers["X-Erpsync-Test"] = "1"
    auth = m2m().for_account(ACCOUNT, BASE_URL, session=session)
    session.auth = auth
    result: list[Any] = []
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, TOKEN_URL, json=token_answer())
        mock.add(responses.GET, API_URL, json={"id": "1"})
        thread = threading.Thread(
            target=lambda: result.append(session.get(API_URL).json()), daemon=True
        )
        thread.start()
        thread.join(timeout=10)
        assert result == [{"id": "1"}]
        token_request = mock.calls[0].request
        # The session's own headers go along (the token POST uses the transport session).
        assert token_request.headers["X-Erpsync-Test"] == "1"
        assert "Authorization" not in token_request.headers


# -- client credentials: token endpoint errors -------------------------------------------


def fetch_error(**answer: Any) -> Any:
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, TOKEN_URL, **answer)
        with pytest.raises(Exception) as info:
            sign(m2m().for_account(ACCOUNT, BASE_URL), "GET", API_URL)
    return info.value


@pytest.mark.parametrize("code", ["invalid_client", "invalid_grant"])
def test_m2m_credential_errors_are_authentication_errors_with_a_hint(code: str) -> None:
    error = fetch_error(status=400, json={"error": code, "error_description": "bad kid"})
    assert isinstance(error, AuthenticationError)
    assert error.code == code
    assert error.detail == "bad kid"
    assert error.http_status == 400
    assert error.reconnect_required
    assert error.backend == "NetSuite"
    text = str(error)
    assert "certificate id" in text and "client id" in text and "active" in text
    assert ACCOUNT in text


def test_m2m_invalid_scope_names_the_scopes() -> None:
    error = fetch_error(status=400, json={"error": "invalid_scope"})
    assert isinstance(error, AuthenticationError)
    assert "rest_webservices" in str(error)


def test_m2m_netsuite_shaped_errors_are_understood() -> None:
    body = {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
        "title": "Unauthorized",
        "status": 401,
        "o:errorDetails": [{"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}],
    }
    error = fetch_error(status=401, json=body)
    assert isinstance(error, AuthenticationError)
    assert error.code == "INVALID_LOGIN"
    assert error.detail == "Invalid login attempt."


@pytest.mark.parametrize("status", [500, 502, 503])
def test_m2m_server_errors_are_retryable_service_errors(status: int) -> None:
    error = fetch_error(status=status, body="<html>Bad Gateway</html>")
    assert isinstance(error, ServiceError)
    assert error.retryable
    assert error.http_status == status
    assert "Bad Gateway" in (error.raw or "")


def test_m2m_throttling_is_a_rate_limit_error() -> None:
    error = fetch_error(status=429, headers={"Retry-After": "7"}, json={"error": "slow down"})
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("connection refused"), requests.ReadTimeout("slow")]
)
def test_m2m_connection_failures_are_service_errors(failure: Exception) -> None:
    error = fetch_error(body=failure)
    assert isinstance(error, ServiceError)
    assert error.retryable


def test_m2m_non_json_answers_keep_the_redacted_text() -> None:
    error = fetch_error(status=200, body="access_token=leakedvalue123&expires_in=3600")
    assert isinstance(error, ServiceError)
    assert "expires_in=3600" in (error.raw or "")
    assert "leakedvalue123" not in (error.raw or "") + str(error) + repr(error)


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer"},
        {"access_token": "", "expires_in": 3600},
        {"access_token": "abc", "expires_in": "soon"},
        {"access_token": "abc", "expires_in": -5},
        [1, 2],
    ],
)
def test_m2m_malformed_success_answers_are_service_errors(body: Any) -> None:
    error = fetch_error(status=200, json=body)
    assert isinstance(error, ServiceError)


def test_m2m_error_bodies_never_carry_the_token_wherever_it_appears() -> None:
    body = {"access_token": "tok-xyz-123", "expires_in": "soon", "note": "issued tok-xyz-123"}
    error = fetch_error(status=200, json=body)
    assert isinstance(error, ServiceError)
    assert "soon" in (error.raw or "")
    assert "tok-xyz-123" not in (error.raw or "") + str(error) + repr(error)


def test_m2m_unexpected_4xx_without_an_oauth_error_is_a_service_error() -> None:
    error = fetch_error(status=404, body="<html>Not Found</html>")
    assert isinstance(error, ServiceError)
    assert error.http_status == 404
    assert "Not Found" in (error.raw or "")


# -- client credentials: secrecy ---------------------------------------------------------


def test_m2m_secrets_never_in_repr_str_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key_pem = pem(key("rsa3072"))
    key_body = key_pem.splitlines()[5]
    auth = m2m(key_pem)
    account_auth: Any = auth.for_account(ACCOUNT, BASE_URL)
    shown: list[str] = [repr(auth), str(auth), repr(account_auth), str(account_auth)]

    def echo(request: Any) -> tuple[int, dict[str, str], str]:
        # A token endpoint that echoes what it got must not leak it through our error.
        assertion = form_of(request)["client_assertion"]
        return 400, {}, json.dumps({"error": "invalid_grant", "error_description": assertion})

    with responses.RequestsMock() as mock:
        mock.add(responses.POST, TOKEN_URL, json=token_answer("secret-access-token-1"))
        mock.add_callback(responses.POST, TOKEN_URL, callback=echo)
        failed = sign(account_auth, "GET", API_URL)
        with pytest.raises(AuthenticationError) as info:
            account_auth.renew(unauthorized(failed))
        assertions = [assertion_of(c.request) for c in mock.calls]
    error = info.value
    shown += [str(error), repr(error), error.raw or "", error.detail or "", caplog.text]
    shown += [repr(account_auth)]
    text = "\n".join(shown)
    assert "secret-access-token-1" not in text
    assert key_body not in text and "PRIVATE KEY" not in text
    for assertion in assertions:
        assert assertion not in text
        assert assertion.split(".")[2] not in text  # not even the signature part
    assert "invalid_grant" in str(error)
    assert "c0ffee" in repr(auth) and CLIENT_ID not in repr(auth)


# -- generated certificates with M2M ------------------------------------------------------


_CERTS: dict[str, GeneratedCertificate] = {}


def rsa_certificate() -> GeneratedCertificate:
    if "rsa" not in _CERTS:
        _CERTS["rsa"] = generate_certificate(
            "acme-netsuite", now=datetime(2026, 1, 1, 12, 0, 30, 123, tzinfo=UTC)
        )
    return _CERTS["rsa"]


@responses.activate
def test_generated_certificate_verifies_the_client_assertion() -> None:
    generated = rsa_certificate()
    responses.add(responses.POST, TOKEN_URL, json=token_answer())
    auth = m2m(generated.private_key_pem, algorithm=generated.algorithm)
    sign(auth.for_account(ACCOUNT, BASE_URL), "GET", API_URL)
    certificate = x509.load_pem_x509_certificate(generated.certificate_pem.encode())
    claims = decode(assertion_of(responses.calls[0].request), certificate.public_key())
    assert claims["iss"] == CLIENT_ID


@pytest.mark.parametrize(
    ("curve", "algorithm", "name"),
    [
        ("P-256", "ES256", "secp256r1"),
        ("P-384", "ES384", "secp384r1"),
        ("P-521", "ES512", "secp521r1"),
    ],
)
@responses.activate
def test_generated_ec_certificates_work_with_their_algorithm(
    curve: str, algorithm: str, name: str
) -> None:
    generated = generate_certificate(key_type="ec", curve=curve, days=365)
    assert generated.algorithm == algorithm
    certificate = x509.load_pem_x509_certificate(generated.certificate_pem.encode())
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == name
    span = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert span == timedelta(days=365)
    responses.add(responses.POST, TOKEN_URL, json=token_answer())
    auth = m2m(generated.private_key_pem, algorithm=generated.algorithm)
    sign(auth.for_account(ACCOUNT, BASE_URL), "GET", API_URL)
    decode(assertion_of(responses.calls[0].request), public_key, algorithm)
