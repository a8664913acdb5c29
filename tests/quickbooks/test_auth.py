"""QuickBooksAuth: the authorization flow, refresh with rotation, single-flight, revoke."""

from __future__ import annotations

import base64
import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
import responses

from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    ErpSyncError,
    RateLimitError,
    ServiceError,
)
from erpsync.quickbooks.auth import (
    AUTHORIZE_URL,
    REVOKE_URL,
    TOKEN_URL,
    QuickBooksAuth,
    QuickBooksRealmAuth,
)
from erpsync.quickbooks.tokens import FileTokenStore, MemoryTokenStore, QuickBooksToken

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
REALM = "9130355377777"
CLIENT_ID = "ABclientid0123"
CLIENT_SECRET = "client-SECRET-value-9876"
REDIRECT = "https://app.example.com/qbo/callback"
API = f"https://quickbooks.api.intuit.com/v3/company/{REALM}/query"


def access(n: int) -> str:
    return f"eyJ-access-token-{n:03d}-SECRET"


def refresh(n: int) -> str:
    return f"AB11-refresh-token-{n:03d}-SECRET"


def token_body(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "token_type": "bearer",
        "access_token": access(n),
        "refresh_token": refresh(n),
        "expires_in": 3600,
        "x_refresh_token_expires_in": 8_726_400,
        "x_refresh_token_hard_expires_in": 157_680_000,
        **extra,
    }


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class TokenEndpoint:
    """The mocked token endpoint: rotates on every refresh and records what it got."""

    def __init__(self, rsps: responses.RequestsMock, delay: float = 0.0) -> None:
        self.requests: list[requests.PreparedRequest] = []
        self.forms: list[dict[str, str]] = []
        self.next = 2
        self.delay = delay
        self.lock = threading.Lock()
        rsps.add_callback(responses.POST, TOKEN_URL, callback=self)

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        with self.lock:
            self.requests.append(request)
            self.forms.append(dict(parse_qsl(raw)))
            n, self.next = self.next, self.next + 1
        if self.delay:
            time.sleep(self.delay)
        return 200, {"intuit_tid": f"tid-{n}"}, json.dumps(token_body(n))

    @property
    def count(self) -> int:
        return len(self.requests)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_auth(
    clock: FakeClock, store: Any = None, sleeps: list[float] | None = None, **kw: Any
) -> QuickBooksAuth:
    record = sleeps if sleeps is not None else []
    return QuickBooksAuth(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT,
        store if store is not None else MemoryTokenStore(),
        clock=clock,
        sleep=record.append,
        **kw,
    )


def seed(store: Any, n: int = 1, at: datetime = T0, **extra: Any) -> QuickBooksToken:
    token = QuickBooksToken.from_response(token_body(n, **extra), now=at, realm_id=REALM)
    store.save(REALM, token)
    return token


def bearer(auth: QuickBooksRealmAuth) -> str:
    prepared = auth(requests.Request("GET", API).prepare())
    header = prepared.headers["Authorization"]
    assert header.startswith("Bearer ")
    return header[len("Bearer ") :]


def unauthorized(token: str | None) -> requests.Response:
    request = requests.Request("GET", API).prepare()
    if token is not None:
        request.headers["Authorization"] = f"Bearer {token}"
    response = requests.Response()
    response.status_code = 401
    response.request = request
    return response


def basic_credentials(request: requests.PreparedRequest) -> str:
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


# -- configuration ----------------------------------------------------------------------


def test_configuration_is_checked_up_front() -> None:
    with pytest.raises(ConfigurationError):
        QuickBooksAuth("", CLIENT_SECRET)
    with pytest.raises(ConfigurationError):
        QuickBooksAuth(CLIENT_ID, "")
    with pytest.raises(ConfigurationError):
        QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, environment="staging")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="https"):
        QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, token_url="http://oauth.example.com/token")
    with pytest.raises(ConfigurationError):
        QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, scopes="com.intuit.quickbooks.accounting")
    with pytest.raises(ConfigurationError):
        QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, refresh_margin=timedelta(hours=2))
    # Loopback emulators may use plain http.
    QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, token_url="http://127.0.0.1:8080/token")
    QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, token_url="http://localhost/token")
    sandbox = QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, environment="sandbox")
    assert "sandbox" in sandbox.discovery_url
    assert isinstance(sandbox.token_store, MemoryTokenStore)


def test_repr_never_shows_the_client_secret(clock: FakeClock) -> None:
    auth = make_auth(clock)
    assert CLIENT_SECRET not in repr(auth)
    assert CLIENT_ID in repr(auth)
    assert CLIENT_SECRET not in repr(auth.for_realm(REALM))


# -- the authorization flow -------------------------------------------------------------


def test_authorization_url_carries_the_oauth_parameters(clock: FakeClock) -> None:
    auth = make_auth(clock)
    url, state = auth.authorization_url()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == AUTHORIZE_URL
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params == {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "redirect_uri": REDIRECT,
        "state": state,
    }
    assert len(state) >= 40  # token_urlsafe(32)
    assert auth.authorization_url()[1] != state
    assert auth.authorization_url("my-state")[1] == "my-state"


def test_authorization_url_joins_several_scopes_with_spaces(clock: FakeClock) -> None:
    auth = make_auth(clock, scopes=("com.intuit.quickbooks.accounting", "openid"))
    url, _ = auth.authorization_url()
    assert "scope=com.intuit.quickbooks.accounting%20openid" in url


def test_authorization_flow_needs_a_redirect_uri(clock: FakeClock) -> None:
    auth = QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, clock=clock)
    with pytest.raises(ConfigurationError, match="redirect_uri"):
        auth.authorization_url()


def test_exchange_code_posts_basic_auth_form_and_saves(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    auth = make_auth(clock, store)
    _, state = auth.authorization_url()
    token = auth.exchange_code("AB11-the-code", REALM, state)
    assert endpoint.count == 1
    request = endpoint.requests[0]
    assert basic_credentials(request) == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["x-include-refresh-token-hard-expires-in"] == "true"
    assert request.headers["Accept"] == "application/json"
    assert endpoint.forms[0] == {
        "grant_type": "authorization_code",
        "code": "AB11-the-code",
        "redirect_uri": REDIRECT,
    }
    assert token.access_token == access(2)
    assert token.realm_id == REALM
    assert token.refresh_hard_expires_at == T0 + timedelta(seconds=157_680_000)
    assert store.load(REALM) == token
    assert bearer(auth.for_realm(REALM)) == access(2)


def test_exchange_code_refuses_an_unknown_state_without_sending(
    clock: FakeClock, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = TokenEndpoint(rsps)
    auth = make_auth(clock)
    auth.authorization_url()
    with caplog.at_level(logging.WARNING), pytest.raises(AuthenticationError, match="state"):
        auth.exchange_code("code", REALM, "forged-state")
    assert "CSRF" in caplog.text
    with pytest.raises(AuthenticationError):
        auth.exchange_code("code", REALM, None)
    assert endpoint.count == 0


def test_a_state_is_single_use_and_expires(clock: FakeClock, rsps: responses.RequestsMock) -> None:
    TokenEndpoint(rsps)
    auth = make_auth(clock)
    _, state = auth.authorization_url()
    auth.exchange_code("code", REALM, state)
    with pytest.raises(AuthenticationError):
        auth.exchange_code("code", REALM, state)
    _, old_state = auth.authorization_url()
    clock.advance(hours=2)
    with pytest.raises(AuthenticationError):
        auth.exchange_code("code", REALM, old_state)


def test_exchange_code_with_an_expected_state_from_the_session(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    endpoint = TokenEndpoint(rsps)
    auth = make_auth(clock)  # another process issued the state
    with pytest.raises(AuthenticationError):
        auth.exchange_code("code", REALM, "abc", expected_state="abd")
    assert endpoint.count == 0
    auth.exchange_code("code", REALM, "abc", expected_state="abc")
    assert endpoint.count == 1


def test_parse_redirect() -> None:
    url = f"{REDIRECT}?code=AB11code&state=st-1&realmId={REALM}"
    assert QuickBooksAuth.parse_redirect(url) == ("AB11code", REALM, "st-1")
    with pytest.raises(AuthenticationError, match="declined") as info:
        QuickBooksAuth.parse_redirect(f"{REDIRECT}?error=access_denied&state=st-1")
    assert info.value.code == "access_denied"
    with pytest.raises(AuthenticationError, match="realmId"):
        QuickBooksAuth.parse_redirect(f"{REDIRECT}?code=AB11code&state=st-1")


def test_exchange_code_invalid_grant_says_to_start_again(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    auth = make_auth(clock)
    _, state = auth.authorization_url()
    with pytest.raises(AuthenticationError) as info:
        auth.exchange_code("AB11-used-code", REALM, state)
    assert info.value.reconnect_required
    assert "authorization flow again" in str(info.value)
    assert "AB11-used-code" not in str(info.value)


# -- using and refreshing ---------------------------------------------------------------


def test_bearer_header_and_refresh_ahead_of_expiry(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store)
    realm_auth = make_auth(clock, store).for_realm(REALM)
    assert bearer(realm_auth) == access(1)
    clock.advance(minutes=54)  # 6 minutes left: more than the 5-minute margin
    assert bearer(realm_auth) == access(1)
    assert endpoint.count == 0
    clock.advance(minutes=1, seconds=1)  # 4:59 left: refresh before it expires
    assert bearer(realm_auth) == access(2)
    assert endpoint.count == 1
    assert endpoint.forms[0] == {"grant_type": "refresh_token", "refresh_token": refresh(1)}
    assert basic_credentials(endpoint.requests[0]) == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert endpoint.requests[0].headers["x-include-refresh-token-hard-expires-in"] == "true"
    assert bearer(realm_auth) == access(2)
    assert endpoint.count == 1


def test_refresh_margin_is_configurable(clock: FakeClock, rsps: responses.RequestsMock) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store)
    realm_auth = make_auth(clock, store, refresh_margin=timedelta(0)).for_realm(REALM)
    clock.advance(minutes=59, seconds=59)
    assert bearer(realm_auth) == access(1)
    clock.advance(seconds=1)
    assert bearer(realm_auth) == access(2)
    assert endpoint.count == 1


def test_rotation_replaces_the_stored_refresh_token_and_spends_the_newest(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store)
    auth = make_auth(clock, store)
    clock.advance(hours=1)
    auth.get_token(REALM)
    stored = store.load(REALM)
    assert stored is not None and stored.refresh_token == refresh(2)
    clock.advance(hours=1)
    auth.get_token(REALM)
    assert [f["refresh_token"] for f in endpoint.forms] == [refresh(1), refresh(2)]
    stored = store.load(REALM)
    assert stored is not None and stored.refresh_token == refresh(3)


def test_refresh_keeps_the_hard_expiry_when_the_answer_omits_it(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    body = token_body(2)
    del body["x_refresh_token_hard_expires_in"]
    rsps.add(responses.POST, TOKEN_URL, json=body)
    store = MemoryTokenStore()
    original = seed(store)
    clock.advance(hours=1)
    token = make_auth(clock, store).get_token(REALM)
    assert token.access_token == access(2)
    assert token.refresh_hard_expires_at == original.refresh_hard_expires_at


def test_uses_a_token_another_process_refreshed_without_posting(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store)
    realm_auth = make_auth(clock, store).for_realm(REALM)
    assert bearer(realm_auth) == access(1)  # cached in this process
    clock.advance(minutes=58)
    seed(store, 7, at=clock.now)  # "another process" refreshed meanwhile
    assert bearer(realm_auth) == access(7)
    assert endpoint.count == 0


class NoLockStore:
    """A user's minimal store: load and save only (no lock, no delete)."""

    def __init__(self) -> None:
        self.tokens: dict[str, QuickBooksToken] = {}

    def load(self, realm_id: str) -> QuickBooksToken | None:
        return self.tokens.get(realm_id)

    def save(self, realm_id: str, token: QuickBooksToken) -> None:
        self.tokens[realm_id] = token


@pytest.mark.parametrize("store_type", [MemoryTokenStore, NoLockStore])
def test_twenty_threads_make_exactly_one_refresh(
    clock: FakeClock, rsps: responses.RequestsMock, store_type: type[Any]
) -> None:
    endpoint = TokenEndpoint(rsps, delay=0.05)
    store = store_type()
    seed(store)
    clock.advance(hours=2)
    # Two auth objects over one store share the single flight too.
    auths = [make_auth(clock, store).for_realm(REALM) for _ in range(2)]
    barrier = threading.Barrier(20)
    seen: list[str] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(5)
            seen.append(bearer(auths[i % 2]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert endpoint.count == 1
    assert seen == [access(2)] * 20


def test_save_happens_before_the_new_access_token_is_used(
    clock: FakeClock, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = TokenEndpoint(rsps)

    class BrokenStore(MemoryTokenStore):
        broken = True
        order: list[str] = []

        def save(self, realm_id: str, token: QuickBooksToken) -> None:
            self.order.append(f"save {token.access_token}")
            if self.broken:
                raise ConfigurationError("database is read-only")
            super().save(realm_id, token)

    store = BrokenStore()
    MemoryTokenStore.save(store, REALM, seed(MemoryTokenStore()))
    realm_auth = make_auth(clock, store).for_realm(REALM)
    clock.advance(hours=1)
    request = requests.Request("GET", API).prepare()
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigurationError, match="read-only"):
        realm_auth(request)
    assert "Authorization" not in request.headers  # the new access token was not used
    assert endpoint.count == 1
    assert "could NOT be saved" in caplog.text
    assert access(2) not in caplog.text and refresh(2) not in caplog.text
    # Once the store works again, the kept token is saved first and then used: no second
    # refresh, which would spend a refresh token that may not be in the store yet.
    store.broken = False
    assert bearer(realm_auth) == access(2)
    assert endpoint.count == 1
    stored = store.load(REALM)
    assert stored is not None and stored.refresh_token == refresh(2)
    assert store.order == [f"save {access(2)}", f"save {access(2)}"]


def test_no_token_stored_means_reconnect(clock: FakeClock) -> None:
    with pytest.raises(AuthenticationError) as info:
        make_auth(clock).get_token(REALM)
    assert info.value.reconnect_required
    assert "erpsync connect quickbooks" in str(info.value)


@pytest.mark.parametrize(
    "answer",
    [
        {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"},
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
        {"error": "invalid_grant"},
    ],
)
def test_invalid_grant_requires_reconnecting(
    clock: FakeClock, rsps: responses.RequestsMock, answer: dict[str, str]
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=400, json=answer, headers={"intuit_tid": "t-9"})
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    with pytest.raises(AuthenticationError) as info:
        make_auth(clock, store).get_token(REALM)
    error = info.value
    assert error.reconnect_required
    assert error.code == "invalid_grant"
    assert error.http_status == 400
    assert error.request_id == "t-9"
    assert error.hint and "Reconnect the QuickBooks company" in error.hint
    assert "erpsync connect quickbooks" in str(error)
    if "error_description" in answer:
        assert answer["error_description"] in str(error)
    assert refresh(1) not in str(error) and refresh(1) not in repr(error)
    stored = store.load(REALM)
    assert stored is not None and stored.refresh_token == refresh(1)  # nothing overwritten


def test_invalid_client_says_to_check_the_credentials(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=401, json={"error": "invalid_client"})
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    with pytest.raises(AuthenticationError) as info:
        make_auth(clock, store).get_token(REALM)
    assert not info.value.reconnect_required
    assert "client id" in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (500, "<html>Internal error</html>", ServiceError),
        (503, '{"error":"temporarily_unavailable"}', ServiceError),
        (429, "slow down", RateLimitError),
        (400, '{"error":"unsupported_grant_type"}', AuthenticationError),
        (200, "<html>not json</html>", ServiceError),
        (200, '{"token_type":"bearer"}', ServiceError),
    ],
)
def test_other_answers_become_library_errors(
    clock: FakeClock,
    rsps: responses.RequestsMock,
    status: int,
    body: str,
    error_type: type[ErpSyncError],
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=status, body=body)
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    with pytest.raises(error_type) as info:
        make_auth(clock, store).get_token(REALM)
    assert type(info.value) is error_type
    assert not getattr(info.value, "reconnect_required", False)


def test_a_failed_early_refresh_falls_back_to_the_still_valid_token(
    clock: FakeClock, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=503, body="down")
    store = MemoryTokenStore()
    seed(store)
    realm_auth = make_auth(clock, store).for_realm(REALM)
    clock.advance(minutes=57)  # inside the margin, not yet expired
    with caplog.at_level(logging.WARNING):
        assert bearer(realm_auth) == access(1)
    assert "using the current access token" in caplog.text
    clock.advance(minutes=3)  # now expired: nothing to fall back to
    with pytest.raises(ServiceError):
        bearer(realm_auth)


# -- connection failures ----------------------------------------------------------------


def test_failures_before_sending_are_retried_twice(
    clock: FakeClock, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.add(responses.POST, TOKEN_URL, body=requests.exceptions.ConnectTimeout("connect"))
    rsps.add(responses.POST, TOKEN_URL, body=requests.exceptions.ConnectTimeout("connect"))
    rsps.add(responses.POST, TOKEN_URL, json=token_body(2))
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    token = make_auth(clock, store, sleeps).get_token(REALM)
    assert token.access_token == access(2)
    assert len(rsps.calls) == 3
    # The shared Transport's full-jitter backoff: uniform(0, 0.5) then uniform(0, 1.0).
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_refused_connections_count_as_not_sent(
    clock: FakeClock, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    refused = requests.exceptions.ConnectionError(ConnectionRefusedError(111, "refused"))
    for _ in range(3):
        rsps.add(responses.POST, TOKEN_URL, body=refused)
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    with pytest.raises(ServiceError) as info:
        make_auth(clock, store, sleeps).get_token(REALM)
    assert info.value.attempts == 3 and info.value.retryable
    assert len(rsps.calls) == 3


def test_a_lost_refresh_answer_is_retried_once_with_the_same_token(
    clock: FakeClock, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.add(responses.POST, TOKEN_URL, body=requests.exceptions.ReadTimeout("read"))
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    token = make_auth(clock, store, sleeps).get_token(REALM)
    assert token.access_token == access(2)
    assert len(rsps.calls) == 2
    assert endpoint.forms == [{"grant_type": "refresh_token", "refresh_token": refresh(1)}]
    first = dict(parse_qsl(str(rsps.calls[0].request.body)))
    assert first["refresh_token"] == refresh(1)
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5


def test_a_lost_answer_then_invalid_grant_explains_itself(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    aborted = requests.exceptions.ConnectionError("Connection aborted.")
    rsps.add(responses.POST, TOKEN_URL, body=aborted)
    rsps.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    with pytest.raises(AuthenticationError) as info:
        make_auth(clock, store).get_token(REALM)
    assert info.value.reconnect_required
    assert "answer from Intuit was lost" in str(info.value)
    assert len(rsps.calls) == 2


def test_lost_answers_are_not_retried_when_disabled_or_for_codes(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, body=requests.exceptions.ReadTimeout("read"))
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    with pytest.raises(ServiceError) as info:
        make_auth(clock, store, retry_lost_refresh=False).get_token(REALM)
    assert info.value.attempts == 1
    assert len(rsps.calls) == 1
    # An authorization code is never sent twice after a possible delivery either.
    auth = make_auth(clock)
    _, state = auth.authorization_url()
    with pytest.raises(ServiceError):
        auth.exchange_code("code", REALM, state)
    assert len(rsps.calls) == 2


# -- hard expiry ------------------------------------------------------------------------


def test_hard_expiry_warning_is_logged_once_per_realm(
    clock: FakeClock, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store, x_refresh_token_hard_expires_in=20 * 86400)  # 20 days left
    realm_auth = make_auth(clock, store).for_realm(REALM)
    with caplog.at_level(logging.WARNING, logger="erpsync.quickbooks.auth"):
        bearer(realm_auth)
        bearer(realm_auth)
        clock.advance(hours=1)
        bearer(realm_auth)  # refreshed: still only one warning
    warnings = [r for r in caplog.records if "must be reconnected by" in r.getMessage()]
    assert len(warnings) == 1
    assert "2026-11-23" in warnings[0].getMessage()
    assert "erpsync connect quickbooks" in warnings[0].getMessage()


def test_no_warning_far_from_the_hard_expiry(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryTokenStore()
    seed(store)  # five years left
    with caplog.at_level(logging.WARNING):
        bearer(make_auth(clock, store).for_realm(REALM))
    assert "must be reconnected" not in caplog.text


def test_past_the_hard_expiry_no_refresh_is_attempted(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store, x_refresh_token_hard_expires_in=1800)
    clock.advance(hours=1)
    with pytest.raises(AuthenticationError) as info:
        make_auth(clock, store).get_token(REALM)
    assert info.value.reconnect_required
    assert "hard expiry" in str(info.value)
    assert endpoint.count == 0


# -- renew on 401 -----------------------------------------------------------------------


def test_renew_refreshes_once_for_the_current_token(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store)
    realm_auth = make_auth(clock, store).for_realm(REALM)
    clock.advance(minutes=10)  # valid by our clock, yet Intuit said 401
    assert realm_auth.renew(unauthorized(access(1))) is True
    assert endpoint.count == 1
    assert bearer(realm_auth) == access(2)
    # Other requests that failed with the old token: someone already renewed.
    assert realm_auth.renew(unauthorized(access(1))) is True
    assert endpoint.count == 1


def test_renew_says_no_when_refreshing_cannot_help(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    realm_auth = make_auth(clock, store).for_realm(REALM)
    assert realm_auth.renew(unauthorized(access(1))) is False  # nothing stored
    seed(store)
    assert realm_auth.renew(unauthorized(None)) is False  # not our request
    # A token minted seconds ago being refused is not an expiry problem.
    assert realm_auth.renew(unauthorized(access(1))) is False
    assert endpoint.count == 0


def test_renew_propagates_invalid_grant(clock: FakeClock, rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    store = MemoryTokenStore()
    seed(store)
    clock.advance(minutes=10)
    with pytest.raises(AuthenticationError) as info:
        make_auth(clock, store).for_realm(REALM).renew(unauthorized(access(1)))
    assert info.value.reconnect_required


def test_explicit_refresh(clock: FakeClock, rsps: responses.RequestsMock) -> None:
    endpoint = TokenEndpoint(rsps)
    store = MemoryTokenStore()
    seed(store)
    assert make_auth(clock, store).refresh(REALM).access_token == access(2)
    assert endpoint.count == 1


# -- revoke -----------------------------------------------------------------------------


def test_revoke_posts_the_refresh_token_and_forgets_it(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.POST, REVOKE_URL, status=200, body="")
    store = MemoryTokenStore()
    seed(store)
    auth = make_auth(clock, store)
    assert auth.revoke(REALM) is True
    request = rsps.calls[0].request
    assert json.loads(request.body) == {"token": refresh(1)}  # type: ignore[arg-type]
    assert request.headers["Content-Type"] == "application/json"
    assert basic_credentials(request) == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert store.load(REALM) is None
    with pytest.raises(AuthenticationError) as info:
        auth.get_token(REALM)
    assert info.value.reconnect_required
    assert auth.revoke(REALM) is False
    assert len(rsps.calls) == 1


def test_revoke_with_a_store_that_cannot_delete(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.POST, REVOKE_URL, status=400, json={"error": "invalid_token"})
    store = NoLockStore()
    seed(store)
    auth = make_auth(clock, store)
    assert auth.revoke(REALM) is True  # already dead at Intuit is fine
    with pytest.raises(AuthenticationError):
        auth.get_token(REALM)
    assert auth.for_realm(REALM).renew(unauthorized(access(1))) is False


def test_revoke_failures_keep_the_token(clock: FakeClock, rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, REVOKE_URL, status=500, body="oops")
    store = MemoryTokenStore()
    seed(store)
    with pytest.raises(ServiceError):
        make_auth(clock, store).revoke(REALM)
    assert store.load(REALM) is not None


def test_reconnecting_after_revoke_works(clock: FakeClock, rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, REVOKE_URL, status=200)
    TokenEndpoint(rsps)
    store = NoLockStore()
    seed(store)
    auth = make_auth(clock, store)
    auth.revoke(REALM)
    _, state = auth.authorization_url()
    auth.exchange_code("code", REALM, state)
    assert auth.get_token(REALM).access_token == access(2)


# -- secrets stay secret ----------------------------------------------------------------


def test_secrets_never_reach_logs_or_errors(
    clock: FakeClock, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    echo = (
        f"upstream said: client_secret {CLIENT_SECRET} with {refresh(1)} and {access(1)} were wrong"
    )
    rsps.add(responses.POST, TOKEN_URL, body=requests.exceptions.ReadTimeout("read"))
    rsps.add(responses.POST, TOKEN_URL, status=502, body=echo)
    store = MemoryTokenStore()
    seed(store)
    auth = make_auth(clock, store)
    with caplog.at_level(logging.DEBUG):
        bearer(auth.for_realm(REALM))
        clock.advance(hours=1)
        with pytest.raises(ServiceError) as info:
            auth.get_token(REALM)
    texts = [str(info.value), repr(info.value), info.value.raw or "", caplog.text, repr(auth)]
    for text in texts:
        for secret in (CLIENT_SECRET, refresh(1), access(1)):
            assert secret not in text
    assert "upstream said" in (info.value.raw or "")


# -- across processes -------------------------------------------------------------------


def _refresh_in_child(
    path: str,
    counter: str,
    results: str,
    barrier: Any,  # multiprocessing.Barrier
) -> None:
    import os

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        with open(counter, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(0.2)  # hold the lock long enough for the others to queue behind it
        body = token_body(2)
        body["access_token"] = f"access-from-{os.getpid()}"
        body["refresh_token"] = f"refresh-from-{os.getpid()}"
        return 200, {}, json.dumps(body)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, TOKEN_URL, callback=answer)
        auth = QuickBooksAuth(CLIENT_ID, CLIENT_SECRET, token_store=FileTokenStore(path))
        barrier.wait(5)
        token = auth.get_token(REALM)
    with open(results, "a") as handle:
        handle.write(f"{token.access_token}\n")


def test_three_processes_share_one_refresh_through_the_file_store(tmp_path: Path) -> None:
    path = tmp_path / "qbo.json"
    counter, results = tmp_path / "refreshes", tmp_path / "results"
    counter.touch()
    results.touch()
    # Expired by the real clock, which the children use.
    seed(FileTokenStore(path), at=datetime.now(UTC) - timedelta(hours=2))
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(3)
    children = [
        context.Process(
            target=_refresh_in_child, args=(str(path), str(counter), str(results), barrier)
        )
        for _ in range(3)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(10)
    assert [child.exitcode for child in children] == [0, 0, 0]
    refreshers = counter.read_text().split()
    assert len(refreshers) == 1, "exactly one process refreshed"
    assert results.read_text().split() == [f"access-from-{refreshers[0]}"] * 3
    stored = FileTokenStore(path).load(REALM)
    assert stored is not None and stored.refresh_token == f"refresh-from-{refreshers[0]}"


def test_after_revoke_a_reconnect_by_another_process_is_picked_up(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.POST, REVOKE_URL, status=200)
    store = MemoryTokenStore()  # stands for a store shared with other processes
    seed(store)
    auth = make_auth(clock, store)
    auth.revoke(REALM)
    seed(store, 5, at=clock.now)  # another process ran the authorization flow
    assert auth.get_token(REALM).access_token == access(5)


def test_token_posts_go_through_the_transport_and_never_follow_redirects(
    clock: FakeClock, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        responses.POST, TOKEN_URL, status=302, headers={"Location": "https://evil.example/t"}
    )
    rsps.add(responses.POST, "https://evil.example/t", json=token_body(2))
    store = MemoryTokenStore()
    seed(store)
    clock.advance(hours=1)
    with pytest.raises(ServiceError) as info:
        make_auth(clock, store).get_token(REALM)
    assert "302" in str(info.value) and "https://evil.example/t" in str(info.value)
    assert len(rsps.calls) == 1  # the client secret never went to evil.example
    assert rsps.calls[0].request.headers["User-Agent"].startswith("erpsync/")
    assert store.load(REALM).refresh_token == refresh(1)
