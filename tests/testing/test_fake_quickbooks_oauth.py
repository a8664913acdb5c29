"""FakeQuickBooks' OAuth 2.0 server, exercised over raw HTTP with ``requests``."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from erpsync.errors import ConfigurationError
from erpsync.testing.core.emulator import FakeClock, Governance, Window
from erpsync.testing.quickbooks import FakeQuickBooks

TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
SCOPE = "com.intuit.quickbooks.accounting"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock):
    emulator = FakeQuickBooks(clock=clock, governance=None)
    with emulator:
        yield emulator


def basic(fake: FakeQuickBooks, secret: str | None = None) -> dict[str, str]:
    creds = fake.credentials
    raw = f"{creds.client_id}:{secret if secret is not None else creds.client_secret}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def token_call(fake: FakeQuickBooks, form: dict[str, str], **headers: str) -> requests.Response:
    return requests.post(TOKEN_URL, data=form, headers={**basic(fake), **headers})


def refresh(fake: FakeQuickBooks, token: str) -> requests.Response:
    return token_call(fake, {"grant_type": "refresh_token", "refresh_token": token})


def company_info(
    fake: FakeQuickBooks, access_token: str, realm: str | None = None
) -> requests.Response:
    realm = realm or fake.realm_id
    return requests.get(
        f"https://quickbooks.api.intuit.com/v3/company/{realm}/companyinfo/{realm}",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )


# -- discovery ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "userinfo_host"),
    [
        ("openid_configuration/", "accounts.platform.intuit.com"),
        ("openid_sandbox_configuration/", "sandbox-accounts.platform.intuit.com"),
    ],
)
def test_discovery_documents_name_the_real_endpoints_in_process(fake, path, userinfo_host):
    response = requests.get(f"https://developer.intuit.com/.well-known/{path}")
    assert response.status_code == 200
    doc = response.json()
    assert doc["authorization_endpoint"] == AUTHORIZE_URL
    assert doc["token_endpoint"] == TOKEN_URL
    assert doc["revocation_endpoint"] == REVOKE_URL
    assert urlsplit(doc["userinfo_endpoint"]).hostname == userinfo_host
    assert "intuit_tid" in response.headers


def test_discovery_document_points_at_the_served_emulator(clock):
    fake = FakeQuickBooks(clock=clock, governance=None)
    base = fake.serve()
    try:
        doc = requests.get(base + "/.well-known/openid_sandbox_configuration/").json()
        for key in (
            "authorization_endpoint",
            "token_endpoint",
            "revocation_endpoint",
            "userinfo_endpoint",
        ):
            assert doc[key].startswith(base + "/"), key
        # ... and those endpoints work there.
        answer = requests.post(
            doc["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": fake.credentials.refresh_token},
            headers=basic(fake),
        )
        assert answer.status_code == 200
        assert answer.json()["token_type"] == "bearer"
    finally:
        fake.shutdown()


# -- consent --------------------------------------------------------------------------------


def authorize(fake: FakeQuickBooks, **overrides: str) -> requests.Response:
    params = {
        "client_id": fake.credentials.client_id,
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": fake.credentials.redirect_uri,
        "state": "xyz-state",
        **overrides,
    }
    return requests.get(AUTHORIZE_URL, params=params, allow_redirects=False)


def test_authorize_endpoint_redirects_with_code_state_and_realm(fake):
    response = authorize(fake)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == fake.credentials.redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-state"]
    assert query["realmId"] == [fake.realm_id]
    exchanged = token_call(
        fake,
        {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": fake.credentials.redirect_uri,
        },
    )
    assert exchanged.status_code == 200
    assert company_info(fake, exchanged.json()["access_token"]).status_code == 200


def test_authorize_refuses_unknown_client_and_unregistered_redirect(fake):
    assert authorize(fake, client_id="nobody").status_code == 400
    response = authorize(fake, redirect_uri="https://evil.example/cb")
    assert response.status_code == 400
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "bogus"}, "invalid_scope"),
    ],
)
def test_authorize_reports_bad_requests_through_the_redirect(fake, override, error):
    response = authorize(fake, **override)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == [error]
    assert query["state"] == ["xyz-state"]
    assert "code" not in query


def test_programmatic_consent_returns_a_grant_that_exchanges_once(fake):
    grant = fake.authorize(state="s1")
    assert grant.realm_id == fake.realm_id
    assert grant.state == "s1"
    assert grant.code not in repr(grant)
    form = {
        "grant_type": "authorization_code",
        "code": grant.code,
        "redirect_uri": fake.credentials.redirect_uri,
    }
    first = token_call(fake, form)
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 100 * 24 * 3600
    assert "x_refresh_token_hard_expires_in" not in body
    again = token_call(fake, form)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant"}


def test_programmatic_consent_validates_like_the_endpoint(fake):
    with pytest.raises(ConfigurationError):
        fake.authorize(client_id="unknown")
    with pytest.raises(ConfigurationError):
        fake.authorize(redirect_uri="https://elsewhere.example/cb")
    with pytest.raises(ConfigurationError):
        fake.authorize(scope="not.a.scope")
    fake.register_redirect_uri("https://app.example/cb")
    assert fake.authorize(redirect_uri="https://app.example/cb").code


def test_codes_expire_after_ten_minutes(fake, clock):
    grant = fake.authorize()
    clock.advance(601)
    response = token_call(
        fake,
        {
            "grant_type": "authorization_code",
            "code": grant.code,
            "redirect_uri": fake.credentials.redirect_uri,
        },
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant"}


def test_code_exchange_needs_the_same_redirect_uri(fake):
    grant = fake.authorize()
    response = token_call(
        fake,
        {"grant_type": "authorization_code", "code": grant.code, "redirect_uri": "http://other/"},
    )
    assert response.json() == {"error": "invalid_grant"}


# -- token endpoint -------------------------------------------------------------------------


def test_hard_expiry_is_reported_only_when_asked(fake):
    plain = refresh(fake, fake.credentials.refresh_token).json()
    assert "x_refresh_token_hard_expires_in" not in plain
    asked = token_call(
        fake,
        {"grant_type": "refresh_token", "refresh_token": plain["refresh_token"]},
        **{"x-include-refresh-token-hard-expires-in": "true"},
    ).json()
    assert 0 < asked["x_refresh_token_hard_expires_in"] <= 5 * 365 * 24 * 3600
    assert asked["x_refresh_token_hard_expires_in"] > asked["x_refresh_token_expires_in"]


def test_client_authentication_is_http_basic_with_the_right_secret(fake):
    form = {"grant_type": "refresh_token", "refresh_token": fake.credentials.refresh_token}
    wrong = requests.post(TOKEN_URL, data=form, headers=basic(fake, secret="wrong"))
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_client"}
    in_form = requests.post(
        TOKEN_URL,
        data={
            **form,
            "client_id": fake.credentials.client_id,
            "client_secret": fake.credentials.client_secret,
        },
    )
    assert in_form.status_code == 401
    # The refused calls did not consume the refresh token.
    assert refresh(fake, fake.credentials.refresh_token).status_code == 200


def test_unknown_grant_type_is_refused(fake):
    response = token_call(fake, {"grant_type": "password"})
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}


def test_refresh_tokens_roll_as_documented_by_default(fake, clock):
    stored = fake.credentials.refresh_token
    for _ in range(3):  # younger than a day: the same refresh token comes back, every time
        answer = refresh(fake, stored)
        assert answer.status_code == 200
        assert answer.json()["refresh_token"] == stored
    clock.advance(25 * 3600)
    rotated = refresh(fake, stored).json()["refresh_token"]
    assert rotated != stored
    # The older token is still accepted for a grace period (a day), leading to the newest.
    assert refresh(fake, stored).json()["refresh_token"] == rotated
    clock.advance(25 * 3600)
    assert refresh(fake, stored).json()["error"] == "invalid_grant"
    assert refresh(fake, rotated).status_code == 200


def test_refresh_tokens_can_be_strictly_single_use(clock):
    fake = FakeQuickBooks(clock=clock, governance=None, refresh_tokens="single_use")
    with fake:
        first = refresh(fake, fake.credentials.refresh_token)
        assert first.status_code == 200
        rotated = first.json()["refresh_token"]
        assert rotated != fake.credentials.refresh_token
        reused = refresh(fake, fake.credentials.refresh_token)
        assert reused.status_code == 400
        assert reused.json() == {
            "error": "invalid_grant",
            "error_description": "Incorrect or invalid refresh token",
        }
        assert refresh(fake, rotated).status_code == 200


def test_refresh_token_mode_is_checked():
    with pytest.raises(ConfigurationError):
        FakeQuickBooks(refresh_tokens="sometimes")  # type: ignore[arg-type]


def test_grace_period_keeps_the_previous_refresh_token_alive(clock):
    fake = FakeQuickBooks(
        clock=clock, governance=None, refresh_tokens="single_use", refresh_grace_seconds=120
    )
    with fake:
        old = fake.credentials.refresh_token
        newest = refresh(fake, old).json()["refresh_token"]
        clock.advance(60)
        within = refresh(fake, old)
        assert within.status_code == 200
        assert within.json()["refresh_token"] == newest
        clock.advance(61)
        assert (
            refresh(fake, old).json()["error_description"] == "Incorrect or invalid refresh token"
        )
        assert refresh(fake, newest).status_code == 200


def test_refresh_tokens_expire_on_a_rolling_hundred_days(fake, clock):
    token = fake.credentials.refresh_token
    clock.advance(100 * 24 * 3600)
    response = refresh(fake, token)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_refreshing_daily_keeps_a_connection_alive_past_a_hundred_days(fake, clock):
    token = fake.credentials.refresh_token
    for _ in range(4):
        clock.advance(40 * 24 * 3600)
        response = refresh(fake, token)
        assert response.status_code == 200
        token = response.json()["refresh_token"]
    assert company_info(fake, response.json()["access_token"]).status_code == 200


# -- bearer tokens on the data API ----------------------------------------------------------


def test_access_tokens_expire_after_an_hour(fake, clock):
    token = fake.credentials.access_token
    assert company_info(fake, token).status_code == 200
    clock.advance(3599)
    assert company_info(fake, token).status_code == 200
    clock.advance(1)
    response = company_info(fake, token)
    assert response.status_code == 401
    body = response.json()
    error = body["fault"]["error"][0]
    assert error["code"] == "3200"
    assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert error["detail"].startswith("Token expired")
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert isinstance(body["time"], int)
    assert body["time"] == int(clock.now() * 1000)
    assert "intuit_tid" in response.headers


def test_access_token_expiry_is_reported_by_the_emulator_clock(fake, clock):
    expiry = fake.access_token_expires_at(fake.credentials.access_token)
    assert expiry is not None
    assert expiry.timestamp() == clock.now() + 3600
    assert fake.access_token_expires_at("never-issued") is None


def test_a_refreshed_pair_works_and_the_previous_access_token_lives_out_its_hour(fake, clock):
    old_access = fake.credentials.access_token
    new = refresh(fake, fake.credentials.refresh_token).json()
    assert company_info(fake, new["access_token"]).status_code == 200
    assert company_info(fake, old_access).status_code == 200
    clock.advance(3600)
    assert company_info(fake, old_access).status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_missing_or_unknown_tokens_get_the_lower_case_401(fake, header):
    headers = {"Authorization": header} if header else {}
    response = requests.get(
        f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}/preferences", headers=headers
    )
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["code"] == "3200"


def test_revoking_ends_the_connection(fake):
    creds = fake.credentials
    response = requests.post(
        REVOKE_URL,
        json={"token": creds.refresh_token},
        headers={**basic(fake), "Accept": "application/json"},
    )
    assert response.status_code == 200
    assert company_info(fake, creds.access_token).status_code == 401
    again = refresh(fake, creds.refresh_token)
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_revoke_needs_client_authentication(fake):
    response = requests.post(REVOKE_URL, json={"token": fake.credentials.refresh_token})
    assert response.status_code == 401
    assert company_info(fake, fake.credentials.access_token).status_code == 200


def test_a_token_for_another_company_is_refused_with_3100(fake):
    response = company_info(fake, fake.credentials.access_token, realm="4620816365000000000")
    assert response.status_code == 403
    error = response.json()["fault"]["error"][0]
    assert error["code"] == "3100"
    assert "ApplicationAuthorizationFailed" in error["message"]


def test_a_token_without_the_accounting_scope_is_refused(fake):
    grant = fake.authorize(scope="openid email")
    tokens = token_call(
        fake,
        {
            "grant_type": "authorization_code",
            "code": grant.code,
            "redirect_uri": fake.credentials.redirect_uri,
        },
    ).json()
    assert company_info(fake, tokens["access_token"]).status_code == 403
    info = requests.get(
        "https://sandbox-accounts.platform.intuit.com/v1/openid_connect/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert info.status_code == 200
    assert info.json()["email"]


# -- secrets and governance -----------------------------------------------------------------


def test_credentials_repr_hides_every_secret(fake):
    creds = fake.credentials
    text = repr(creds) + str(creds)
    for secret in (
        creds.client_secret,
        creds.access_token,
        creds.refresh_token,
        creds.verifier_token,
    ):
        assert secret not in text
    assert creds.client_id in text
    assert creds.realm_id in text


def test_oauth_endpoints_are_not_governed(clock):
    fake = FakeQuickBooks(clock=clock, governance=Governance(windows=(Window(1, 60),)))
    with fake:
        token = fake.credentials.refresh_token
        for _ in range(3):
            response = refresh(fake, token)
            assert response.status_code == 200
            token = response.json()["refresh_token"]
        assert requests.get("https://developer.intuit.com/.well-known/openid_configuration/").ok
        assert company_info(fake, response.json()["access_token"]).status_code == 200
        assert company_info(fake, response.json()["access_token"]).status_code == 429
