"""Tests for erpsync.http: retries, safety of writes, governance, errors and logging."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import requests.auth
import responses
import urllib3.exceptions

from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    ErpSyncError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServiceError,
)
from erpsync.http import (
    RenewableAuth,
    RetryBudget,
    RetryPolicy,
    Timeout,
    Transport,
    new_idempotency_key,
    parse_retry_after,
)
from erpsync.limits import LocalLimiter, RateLimit
from erpsync.transport import (
    AllOf,
    AnyOf,
    AttemptContext,
    MaxAttempts,
    RetryableStatus,
    Throttled,
    UnknownOutcome,
    is_loopback,
    standard_retry_checker,
)
from erpsync.transport.bodies import (
    decode_body,
    json_body,
    json_object,
    pdf_bytes,
)

BASE = "https://erp.example.com/v3/company/42"
TOKEN = "eyJhbGciOi.sEcReTpAyLoAd.sIgNaTuRe-bearer-value"


# -- fakes ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


class RecordingRandom(random.Random):
    """A seeded Random that remembers every uniform() bound and draw."""

    def __init__(self, seed: int = 7) -> None:
        super().__init__(seed)
        self.bounds: list[tuple[float, float]] = []
        self.draws: list[float] = []

    def uniform(self, a: float, b: float) -> float:
        value = super().uniform(a, b)
        self.bounds.append((a, b))
        self.draws.append(value)
        return value


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


class RenewingBearer(Bearer):
    def __init__(self, token: str, fresh: str, *, result: bool = True) -> None:
        super().__init__(token)
        self.fresh = fresh
        self.result = result
        self.renewals = 0

    def renew(self, response: requests.Response) -> bool:
        assert response.status_code == 401
        self.renewals += 1
        self.token = self.fresh
        return self.result


def decode(response: requests.Response) -> ErpSyncError:
    """A tiny backend error decoder: JSON {"message": ..., "retry_after": ...}."""
    body = response.json()
    message = body.get("message", "")
    status = response.status_code
    if status == 401:
        return AuthenticationError(message, raw=response.text)
    if status == 404:
        return NotFoundError(message, raw=response.text)
    if status == 429:
        return RateLimitError(message, retry_after=body.get("retry_after"), raw=response.text)
    if status >= 500:
        return ServiceError(message, raw=response.text)
    return InvalidRequestError(message, raw=response.text)


def err(status: int, message: str = "nope", **extra: object) -> dict:
    return {"status": status, "json": {"message": message, **extra}}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def rng():
    return RecordingRandom()


def transport(clock: FakeClock, rng: random.Random | None = None, **kw) -> Transport:
    kw.setdefault("backend", "TestERP")
    kw.setdefault("base_url", BASE)
    kw.setdefault("decode_error", decode)
    return Transport(clock=clock, sleep=clock.sleep, rng=rng or RecordingRandom(), **kw)


# -- basics -----------------------------------------------------------------------------


def test_returns_2xx_and_joins_paths(rsps, clock):
    rsps.get(f"{BASE}/invoice/7", json={"Invoice": {"Id": "7"}})
    rsps.post("https://other.example.com/token", status=204)
    with transport(clock) as t:
        assert t.request("GET", "invoice/7").json() == {"Invoice": {"Id": "7"}}
        assert t.request("get", "/invoice/7").status_code == 200
        assert t.request("POST", "https://other.example.com/token").status_code == 204


def test_timeouts_are_always_set(rsps, clock):
    rsps.get(f"{BASE}/a")
    t = transport(clock, timeout=Timeout(connect=3, read=20))
    t.request("GET", "a")
    t.request("GET", "a", timeout=Timeout(connect=1, read=2))
    assert rsps.calls[0].request.req_kwargs["timeout"] == (3, 20)
    assert rsps.calls[1].request.req_kwargs["timeout"] == (1, 2)


def test_default_timeout_values():
    assert Timeout() == Timeout(connect=10.0, read=60.0)
    with pytest.raises(ConfigurationError):
        Timeout(connect=0)
    with pytest.raises(ConfigurationError):
        Timeout(read=float("nan"))


def test_user_agent_and_caller_headers(rsps, clock):
    rsps.get(f"{BASE}/a")
    transport(clock).request("GET", "a", headers={"Accept": "application/pdf"})
    sent = rsps.calls[0].request.headers
    assert sent["User-Agent"].startswith("erpsync/")
    assert sent["Accept"] == "application/pdf"
    rsps.get(f"{BASE}/b")
    transport(clock, user_agent="acme-sync/2").request("GET", "b")
    assert rsps.calls[1].request.headers["User-Agent"] == "acme-sync/2"


def test_one_session_per_transport_and_close_only_what_it_owns(rsps, clock, monkeypatch):
    made: list[requests.Session] = []
    closed: list[requests.Session] = []

    class Recording(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

        def close(self) -> None:
            closed.append(self)
            super().close()

    monkeypatch.setattr(requests, "Session", Recording)
    rsps.get(f"{BASE}/a")
    own = transport(clock)
    own.request("GET", "a")
    own.request("GET", "a")
    assert len(made) == 1  # one session, made once, used for every request
    own.close()
    assert closed == made
    session = Recording()
    with transport(clock, session=session) as shared:
        shared.request("GET", "a")
    assert len(made) == 2  # the caller's session was used, none made
    assert session not in closed  # and it stays the caller's to close


def test_repr_shows_backend_and_base_url_only(clock):
    t = transport(clock, auth=Bearer(TOKEN))
    assert repr(t) == f"Transport(backend='TestERP', base_url='{BASE}')"


def test_new_idempotency_key():
    keys = {new_idempotency_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"[0-9a-f]{32}", key)
        assert len(key) <= 36  # fits QBO requestid, even inside a batch


# -- URL policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://erp.example.com/v3",
        "http://10.0.0.5:8080",
        "ftp://erp.example.com",
        "erp.example.com/v3",
        "https://",
        "https://user:pw@erp.example.com",
    ],
)
def test_non_https_base_url_refused(url, clock):
    with pytest.raises(ConfigurationError):
        transport(clock, base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.3.4.5",
        "http://localhost:9000/services/rest",
        "http://LOCALHOST",
        "http://[::1]:9000",
    ],
)
def test_loopback_http_allowed(url, clock):
    assert transport(clock, base_url=url).base_url == url.rstrip("/")


def test_loopback_http_requests_go_through(rsps, clock):
    rsps.get("http://127.0.0.1:8080/v3/company/1/invoice/1", json={})
    t = transport(clock, base_url="http://127.0.0.1:8080/v3/company/1")
    assert t.request("GET", "invoice/1").status_code == 200


def test_absolute_http_url_refused_before_sending(rsps, clock):
    t = transport(clock)
    with pytest.raises(ConfigurationError, match="https"):
        t.request("GET", "http://erp.example.com/leak")
    assert len(rsps.calls) == 0


# -- backoff ----------------------------------------------------------------------------


def test_full_jitter_backoff_bounds_and_sleeps(rsps, clock, rng):
    for _ in range(4):
        rsps.get(f"{BASE}/a", **err(503))
    rsps.get(f"{BASE}/a", json={})
    t = transport(clock, rng, retry=RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=3.0))
    t.request("GET", "a")
    assert len(rsps.calls) == 5
    assert rng.bounds == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0), (0.0, 3.0)]
    assert clock.sleeps == rng.draws
    for (low, high), slept in zip(rng.bounds, clock.sleeps):
        assert low <= slept <= high


def test_backoff_is_full_jitter_over_many_draws():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    r = random.Random(1)
    for n, ceiling in [(0, 1.0), (2, 4.0), (3, 8.0), (10, 8.0), (500, 8.0)]:
        draws = [policy.backoff(n, r) for _ in range(400)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # Full jitter spreads over the whole range, not just near the ceiling.
        assert min(draws) < 0.1 * ceiling
        assert max(draws) > 0.9 * ceiling


def test_retry_policy_validation():
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(base_delay=-1)
    assert RetryPolicy() == RetryPolicy(5, 0.5, 30.0, 120.0)


def test_attempt_cap(rsps, clock):
    rsps.get(f"{BASE}/a", **err(502, "bad gateway"))
    t = transport(clock, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ServiceError) as info:
        t.request("GET", "a", record="invoice 7")
    assert len(rsps.calls) == 3
    assert len(clock.sleeps) == 2
    error = info.value
    assert error.attempts == 3
    assert error.http_status == 502
    assert error.backend == "TestERP"
    assert error.record == "invoice 7"
    assert "after 3 attempts" in str(error)


def test_single_attempt_policy_never_sleeps(rsps, clock):
    rsps.get(f"{BASE}/a", **err(500))
    with pytest.raises(ServiceError):
        transport(clock, retry=RetryPolicy(max_attempts=1)).request("GET", "a")
    assert len(rsps.calls) == 1
    assert clock.sleeps == []


# -- Retry-After ------------------------------------------------------------------------


def test_retry_after_seconds(rsps, clock, rng):
    rsps.get(f"{BASE}/a", **err(429), headers={"Retry-After": "7"})
    rsps.get(f"{BASE}/a", json={})
    transport(clock, rng).request("GET", "a")
    assert clock.sleeps == [7.0]
    assert rng.draws == []  # the service's wish replaces the backoff


def test_retry_after_http_date_measured_against_the_date_header(rsps, clock):
    server_now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    rsps.get(
        f"{BASE}/a",
        **err(503),
        headers={
            "Date": format_datetime(server_now, usegmt=True),
            "Retry-After": format_datetime(server_now + timedelta(seconds=30), usegmt=True),
        },
    )
    rsps.get(f"{BASE}/a", json={})
    transport(clock).request("GET", "a")
    assert clock.sleeps == [30.0]


def test_retry_after_is_capped(rsps, clock):
    rsps.get(f"{BASE}/a", **err(429), headers={"Retry-After": "3600"})
    rsps.get(f"{BASE}/a", json={})
    transport(clock, retry=RetryPolicy(max_retry_after=45)).request("GET", "a")
    assert clock.sleeps == [45.0]


def test_rate_limit_error_retry_after_from_the_body(rsps, clock):
    rsps.get(f"{BASE}/a", **err(429, "slow down", retry_after=12))
    rsps.get(f"{BASE}/a", json={})
    transport(clock).request("GET", "a")
    assert clock.sleeps == [12]


def test_rate_limit_error_raised_after_retries_carries_retry_after(rsps, clock):
    rsps.get(
        f"{BASE}/a", **err(429, "throttled"), headers={"Retry-After": "2", "intuit_tid": "t-9"}
    )
    with pytest.raises(RateLimitError) as info:
        transport(clock, retry=RetryPolicy(max_attempts=2)).request("GET", "a")
    assert info.value.retry_after == 2.0
    assert info.value.request_id == "t-9"
    assert info.value.attempts == 2


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("5", None, 5.0),
        ("  0 ", None, 0.0),
        ("-3", None, 0.0),
        ("soon", None, None),
        (None, None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:27:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None, 0.0),  # long past by our wall clock
        ("Fri, 01 Jan 2100 00:00:00 GMT", "garbage", None),
    ],
)
def test_parse_retry_after(value, date, expected):
    result = parse_retry_after(value, date)
    if expected is None and value and value.startswith("Fri"):
        assert result is not None and result > 1e9  # far future against the wall clock
    else:
        assert result == expected


# -- retry budget -----------------------------------------------------------------------


def test_budget_exhaustion_raises_at_once(rsps, clock):
    rsps.get(f"{BASE}/a", **err(503))
    budget = RetryBudget(capacity=10, retry_cost=5)
    t = transport(clock, retry=RetryPolicy(max_attempts=10, budget=budget))
    with pytest.raises(ServiceError) as info:
        t.request("GET", "a")
    assert len(rsps.calls) == 3  # two retries paid for, the third refused
    assert budget.available == 0
    assert info.value.attempts == 3
    assert "retry budget" in str(info.value)
    # An empty budget means no retries at all for the next request.
    with pytest.raises(ServiceError):
        t.request("GET", "a")
    assert len(rsps.calls) == 4


def test_every_transport_has_a_budget_by_default_shared_per_tenant_limiter(rsps, clock):
    # Issue 2: "a retry budget so that a dead service does not cause a retry storm" must
    # hold for the default policy, not only for callers who know to build a budget.
    limiter = LocalLimiter(clock=clock, sleep=clock.sleep)
    first = transport(clock, limiter=limiter)
    second = transport(clock, limiter=limiter)
    other_tenant = transport(clock, limiter=LocalLimiter(clock=clock, sleep=clock.sleep))
    alone = transport(clock)
    assert first.retry.budget is not None
    assert first.retry.budget is second.retry.budget
    assert other_tenant.retry.budget is not first.retry.budget
    assert alone.retry.budget is not None and alone.retry.budget is not first.retry.budget
    # A caller's own budget is kept as given.
    mine = RetryBudget(capacity=7)
    assert transport(clock, limiter=limiter, retry=RetryPolicy(budget=mine)).retry.budget is mine


def test_dead_service_stops_being_retried_with_the_default_policy(rsps, clock):
    rsps.get(f"{BASE}/a", **err(503))
    t = transport(clock)
    default = RetryBudget()
    requests_that_retry = default.capacity // default.retry_cost
    for _ in range(requests_that_retry + 10):
        with pytest.raises(ServiceError):
            t.request("GET", "a")
    sent = len(rsps.calls)
    # Every request may go out once; retries stop when the budget is spent.
    assert sent == requests_that_retry + 10 + requests_that_retry
    assert t.retry.budget is not None and t.retry.budget.available < default.retry_cost


def test_budget_is_shared_and_refilled_by_successes(rsps, clock):
    budget = RetryBudget(capacity=20, retry_cost=5, timeout_cost=10, success_refund=2)
    policy = RetryPolicy(budget=budget)
    rsps.get(f"{BASE}/a", body=requests.exceptions.ReadTimeout("slow"))
    rsps.get(f"{BASE}/a", json={})
    first = transport(clock, retry=policy)
    second = transport(clock, retry=policy)
    first.request("GET", "a")  # one timeout retry (10), one success (+2)
    assert budget.available == 12
    rsps.get(f"{BASE}/b", **err(500))
    rsps.get(f"{BASE}/b", json={})
    second.request("GET", "b")  # one retry (5), one success (+2)
    assert budget.available == 9
    for _ in range(10):
        rsps.get(f"{BASE}/c", json={})
        second.request("GET", "c")
    assert budget.available == 20  # capped at capacity


def test_budget_validation_and_thread_safety():
    import threading

    with pytest.raises(ConfigurationError):
        RetryBudget(capacity=-1)
    budget = RetryBudget(capacity=1000, retry_cost=1)
    wins = []

    def spend():
        for _ in range(300):
            if budget.acquire():
                wins.append(1)

    threads = [threading.Thread(target=spend) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(wins) == 1000
    assert budget.available == 0
    assert not budget.acquire()


# -- write safety -----------------------------------------------------------------------


def test_post_not_retried_after_read_timeout(rsps, clock):
    rsps.post(f"{BASE}/invoice", body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.post(f"{BASE}/invoice", json={})
    with pytest.raises(ServiceError) as info:
        transport(clock).request("POST", "invoice", json={"x": 1}, record="invoice job-1")
    assert len(rsps.calls) == 1
    error = info.value
    assert error.retryable is False
    assert "may or may not have happened" in str(error)
    assert "erp.example.com" in str(error)
    assert "read timeout" in str(error)
    assert isinstance(error.__cause__, requests.exceptions.ReadTimeout)


def test_post_not_retried_after_connection_reset(rsps, clock):
    reset = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    )
    rsps.post(f"{BASE}/invoice", body=reset)
    with pytest.raises(ServiceError) as info:
        transport(clock).request("POST", "invoice", json={})
    assert len(rsps.calls) == 1
    assert info.value.retryable is False
    assert "may or may not" in str(info.value)


def test_post_retried_after_connect_timeout(rsps, clock):
    rsps.post(f"{BASE}/invoice", body=requests.exceptions.ConnectTimeout("connect timed out"))
    rsps.post(f"{BASE}/invoice", json={"ok": True})
    assert transport(clock).request("POST", "invoice", json={}).json() == {"ok": True}
    assert len(rsps.calls) == 2


def test_post_retried_after_connection_refused(rsps, clock):
    refused = requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(
            None,  # type: ignore[arg-type]
            "/invoice",
            reason=urllib3.exceptions.NewConnectionError(None, "Connection refused"),  # type: ignore[arg-type]
        )
    )
    rsps.post(f"{BASE}/invoice", body=refused)
    rsps.post(f"{BASE}/invoice", json={})
    transport(clock).request("POST", "invoice", json={})
    assert len(rsps.calls) == 2


def test_post_retried_after_429(rsps, clock):
    rsps.post(f"{BASE}/invoice", **err(429))
    rsps.post(f"{BASE}/invoice", json={})
    transport(clock).request("POST", "invoice", json={})
    assert len(rsps.calls) == 2


def test_post_not_retried_after_5xx(rsps, clock):
    rsps.post(f"{BASE}/invoice", **err(500, "internal"))
    rsps.post(f"{BASE}/invoice", json={})
    with pytest.raises(ServiceError) as info:
        transport(clock).request("POST", "invoice", json={})
    assert len(rsps.calls) == 1
    assert "may or may not have happened" in str(info.value)


def test_idempotent_write_retried_after_5xx_with_the_same_key(rsps, clock):
    rsps.post(f"{BASE}/invoice", **err(503))
    rsps.post(f"{BASE}/invoice", body=requests.exceptions.ReadTimeout("slow"))
    rsps.post(f"{BASE}/invoice", json={"Invoice": {"Id": "9"}})
    key = new_idempotency_key()
    t = transport(clock)
    response = t.request(
        "POST", "invoice", params={"requestid": key}, json={"Line": []}, idempotent=True
    )
    assert response.json() == {"Invoice": {"Id": "9"}}
    assert len(rsps.calls) == 3
    sent = [parse_qs(urlsplit(c.request.url).query)["requestid"] for c in rsps.calls]
    assert sent == [[key]] * 3
    assert [json.loads(c.request.body) for c in rsps.calls] == [{"Line": []}] * 3


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD", "OPTIONS"])
def test_idempotent_methods_retried_after_5xx_and_read_timeout(rsps, clock, method):
    url = f"{BASE}/record/v1/invoice/eid:job-1"
    rsps.add(method, url, **err(503))
    rsps.add(method, url, body=requests.exceptions.ReadTimeout("slow"))
    rsps.add(method, url, status=204)
    assert transport(clock).request(method, url).status_code == 204
    assert len(rsps.calls) == 3


def test_caller_can_declare_a_get_non_idempotent(rsps, clock):
    rsps.get(f"{BASE}/a", **err(503))
    with pytest.raises(ServiceError):
        transport(clock).request("GET", "a", idempotent=False)
    assert len(rsps.calls) == 1


def test_client_errors_are_not_retried(rsps, clock):
    rsps.get(f"{BASE}/invoice/1", **err(404, "Object Not Found"), headers={"intuit_tid": "abc"})
    with pytest.raises(NotFoundError) as info:
        transport(clock).request("GET", "invoice/1", record="invoice 1")
    assert len(rsps.calls) == 1
    assert info.value.request_id == "abc"
    assert info.value.http_status == 404
    assert info.value.attempts == 1


def test_tls_errors_are_not_retried(rsps, clock):
    rsps.get(f"{BASE}/a", body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(ServiceError) as info:
        transport(clock).request("GET", "a")
    assert len(rsps.calls) == 1
    assert info.value.retryable is False
    assert "TLS" in str(info.value)


def test_network_errors_exhausted_on_a_get_stay_retryable(rsps, clock):
    rsps.get(f"{BASE}/a", body=requests.exceptions.ConnectionError("boom"))
    with pytest.raises(ServiceError) as info:
        transport(clock, retry=RetryPolicy(max_attempts=2)).request("GET", "a")
    assert info.value.retryable is True
    assert info.value.attempts == 2
    assert "erp.example.com" in str(info.value)


def test_malformed_request_is_a_configuration_error(rsps, clock):
    with pytest.raises(ConfigurationError):
        transport(clock).request("GET", "a", headers={"X-Bad": "line\nbreak"})
    with pytest.raises(ConfigurationError):
        transport(clock).request("POST", "a", json={"amount": object()})


# -- authentication renewal -------------------------------------------------------------


def test_401_renews_once_and_retries_outside_the_budget(rsps, clock):
    rsps.get(f"{BASE}/a", **err(401, "Token expired"))
    rsps.get(f"{BASE}/a", json={"ok": 1})
    auth = RenewingBearer("old-token-value", "new-token-value")
    assert isinstance(auth, RenewableAuth)
    budget = RetryBudget(capacity=10)
    t = transport(clock, auth=auth, retry=RetryPolicy(budget=budget))
    assert t.request("GET", "a").json() == {"ok": 1}
    assert auth.renewals == 1
    assert [c.request.headers["Authorization"] for c in rsps.calls] == [
        "Bearer old-token-value",
        "Bearer new-token-value",
    ]
    assert budget.available == 10  # nothing spent (and full, so no refund shows)
    assert clock.sleeps == []


def test_401_twice_raises_after_one_renewal(rsps, clock):
    rsps.get(f"{BASE}/a", **err(401, "Token expired"))
    auth = RenewingBearer("old-token-value", "new-token-value")
    with pytest.raises(AuthenticationError) as info:
        transport(clock, auth=auth).request("GET", "a")
    assert auth.renewals == 1
    assert len(rsps.calls) == 2
    assert info.value.attempts == 2


def test_401_renew_false_raises_at_once(rsps, clock):
    rsps.post(f"{BASE}/a", **err(401))
    auth = RenewingBearer("old-token-value", "new-token-value", result=False)
    with pytest.raises(AuthenticationError):
        transport(clock, auth=auth).request("POST", "a")
    assert len(rsps.calls) == 1


def test_401_without_renewable_auth_is_not_retried(rsps, clock):
    rsps.get(f"{BASE}/a", **err(401))
    auth = Bearer("plain-token-value")
    assert not isinstance(auth, RenewableAuth)
    with pytest.raises(AuthenticationError):
        transport(clock, auth=auth).request("GET", "a")
    assert len(rsps.calls) == 1


def test_renew_errors_pass_through_or_are_wrapped(rsps, clock):
    rsps.get(f"{BASE}/a", **err(401))

    class Revoked(RenewingBearer):
        def renew(self, response):
            raise AuthenticationError("refresh token revoked", reconnect_required=True)

    class Broken(RenewingBearer):
        def renew(self, response):
            raise KeyError("access_token")

    with pytest.raises(AuthenticationError) as info:
        transport(clock, auth=Revoked("a-token", "b-token")).request("GET", "a")
    assert info.value.reconnect_required is True
    assert info.value.backend == "TestERP"
    with pytest.raises(AuthenticationError, match="could not renew"):
        transport(clock, auth=Broken("a-token", "b-token")).request("GET", "a")


def test_per_request_auth_override(rsps, clock):
    rsps.get(f"{BASE}/a")
    t = transport(clock, auth=Bearer("transport-token"))
    t.request("GET", "a", auth=None)
    t.request("GET", "a", auth=Bearer("other-token"))
    t.request("GET", "a")
    headers = [c.request.headers.get("Authorization") for c in rsps.calls]
    assert headers == [None, "Bearer other-token", "Bearer transport-token"]


# -- limiter interaction ----------------------------------------------------------------


def test_429_shrinks_the_limiter_and_successes_grow_it_back(rsps, clock):
    limiter = LocalLimiter(
        concurrency=10, rates=[RateLimit(10, 1.0)], clock=clock, sleep=clock.sleep
    )
    rsps.get(f"{BASE}/a", **err(429), headers={"Retry-After": "3"})
    rsps.get(f"{BASE}/a", json={})
    t = transport(clock, limiter=limiter)
    t.request("GET", "a")
    # Throttled once (halved), then one success (+1/5 concurrency, +0.05 rate).
    assert limiter.effective_concurrency == 5
    assert limiter.rate_factor == pytest.approx(0.55)
    assert clock.sleeps[0] == 3.0
    for _ in range(60):
        rsps.get(f"{BASE}/b", json={})
        t.request("GET", "b")
    assert limiter.effective_concurrency == 10
    assert limiter.rate_factor == 1.0
    assert limiter.in_flight == 0


def test_every_attempt_runs_inside_a_slot_with_the_scope(rsps, clock):
    seen = []

    class Recording(LocalLimiter):
        def slot(self, scope=None):
            seen.append(scope)
            return super().slot(scope)

    limiter = Recording(concurrency=2)
    rsps.post(f"{BASE}/batch", **err(503))
    rsps.post(f"{BASE}/batch", json={})
    in_flight_during = []
    rsps.add_callback(
        responses.GET,
        f"{BASE}/peek",
        callback=lambda req: (in_flight_during.append(limiter.in_flight), (200, {}, "{}"))[1],
    )
    t = transport(clock, limiter=limiter)
    t.request("POST", "batch", json={}, idempotent=True, scope="batch")
    t.request("GET", "peek")
    assert seen == ["batch", "batch", None]
    assert in_flight_during == [1]
    assert limiter.in_flight == 0


def test_the_auth_signs_before_the_slot_is_taken(rsps, clock):
    """Signing (TBA's HMAC, a token lookup) is CPU the service's concurrency slot need
    not wait for: the auth runs with no slot held, the request goes out with one."""
    limiter = LocalLimiter(concurrency=1)
    held_while_signing = []

    class Signing(requests.auth.AuthBase):
        def __call__(self, r):
            held_while_signing.append(limiter.in_flight)
            r.headers["Authorization"] = "Signed"
            return r

    held_while_sending = []
    rsps.add_callback(
        responses.POST,
        f"{BASE}/invoice",
        callback=lambda req: (held_while_sending.append(limiter.in_flight), (200, {}, "{}"))[1],
    )
    transport(clock, limiter=limiter, auth=Signing()).request("POST", "invoice", json={})
    assert held_while_signing == [0]
    assert held_while_sending == [1]


def test_batch_scope_rate_window_spaces_requests(rsps, clock):
    limiter = LocalLimiter(
        rates=[RateLimit(500, 60), RateLimit(10, 1), RateLimit(2, 60, scope="batch")],
        clock=clock,
        sleep=clock.sleep,
    )
    rsps.post(f"{BASE}/batch", json={})
    t = transport(clock, limiter=limiter)
    start = clock()
    for _ in range(3):
        t.request("POST", "batch", json={}, scope="batch")
    assert clock() - start == pytest.approx(60.0)


def test_limiter_slot_released_on_network_error(rsps, clock):
    limiter = LocalLimiter(concurrency=1)
    rsps.post(f"{BASE}/a", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(ServiceError):
        transport(clock, limiter=limiter).request("POST", "a")
    assert limiter.in_flight == 0


# -- error decoding ---------------------------------------------------------------------


def test_decoded_error_gets_context(rsps, clock):
    rsps.post(
        f"{BASE}/invoice",
        **err(400, "Required param missing"),
        headers={"Intuit-Tid": "1-2b3c"},
    )
    with pytest.raises(InvalidRequestError) as info:
        transport(clock).request("POST", "invoice", json={}, record="invoice job-1042")
    error = info.value
    assert (error.backend, error.record, error.request_id, error.attempts, error.http_status) == (
        "TestERP",
        "invoice job-1042",
        "1-2b3c",
        1,
        400,
    )
    assert str(error).startswith("TestERP rejected invoice job-1042: Required param missing")
    assert "request id 1-2b3c" in str(error)
    # Errors still pickle with the context filled in.
    assert pickle.loads(pickle.dumps(error)).request_id == "1-2b3c"


def test_decoder_that_raises_is_wrapped_with_the_raw_text(rsps, clock):
    rsps.get(f"{BASE}/a", status=502, body="<html>Bad Gateway</html>", content_type="text/html")
    with pytest.raises(ServiceError) as info:
        transport(clock, retry=RetryPolicy(max_attempts=2)).request("GET", "a")
    error = info.value
    assert error.http_status == 502
    assert "<html>Bad Gateway</html>" in (error.raw or "")
    assert error.attempts == 2  # a 5xx with an unreadable body is still retried
    assert "JSONDecodeError" in str(error)


def test_decoder_raising_erpsync_error_is_used(rsps, clock):
    def raising(response):
        raise NotFoundError("gone")

    rsps.get(f"{BASE}/a", status=404, body="")
    with pytest.raises(NotFoundError, match="gone"):
        transport(clock, decode_error=raising).request("GET", "a")


def test_decoder_returning_garbage_is_wrapped(rsps, clock):
    rsps.get(f"{BASE}/a", status=418, body="teapot")
    with pytest.raises(ServiceError, match="could not be interpreted"):
        transport(clock, decode_error=lambda r: "nope").request("GET", "a")  # type: ignore[arg-type,return-value]


def test_429_decoded_as_something_else_is_still_a_throttle(rsps, clock):
    limiter = LocalLimiter(concurrency=4)
    rsps.get(f"{BASE}/a", status=429, body="<IntuitResponse/>")
    rsps.get(f"{BASE}/a", json={})
    transport(clock, limiter=limiter).request("GET", "a")
    assert len(rsps.calls) == 2
    assert limiter.effective_concurrency == 2


# -- secrets ----------------------------------------------------------------------------


def test_logs_carry_the_facts_but_no_secret(rsps, clock, caplog):
    rsps.get(f"{BASE}/query", **err(503), headers={"intuit_tid": "tid-1"})
    rsps.get(f"{BASE}/query", json={}, headers={"intuit_tid": "tid-2"})
    t = transport(clock, auth=Bearer(TOKEN))
    with caplog.at_level(logging.DEBUG, logger="erpsync.http"):
        t.request(
            "GET", "query", params={"query": "select * from Invoice", "access_token": "qs-secret-1"}
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "erpsync.http"]
    assert len(lines) == 2
    assert "GET /v3/company/42/query?" in lines[0]
    assert "503" in lines[0] and "attempt 1" in lines[0] and "tid-1" in lines[0]
    assert "200" in lines[1] and "attempt 2" in lines[1] and "tid-2" in lines[1]
    assert re.search(r"in \d+ ms", lines[1])
    text = caplog.text + " ".join(lines) + repr([r.__dict__ for r in caplog.records])
    assert TOKEN not in text
    assert "sEcReTpAyLoAd" not in text
    assert "qs-secret-1" not in text
    assert "Authorization" not in text


def test_network_error_text_is_redacted(rsps, clock, caplog):
    rsps.post(
        f"{BASE}/token",
        body=requests.exceptions.ReadTimeout(
            f"HTTPSConnectionPool(host='erp.example.com'): Read timed out. "
            f"(url: /token?refresh_token=rt-secret-2&client_secret=cs-secret-3) Bearer {TOKEN}"
        ),
    )
    with caplog.at_level(logging.DEBUG, logger="erpsync.http"), pytest.raises(ServiceError) as info:
        transport(clock, auth=Bearer(TOKEN)).request("POST", "token", data={"a": "b"})
    rendered = " ".join([str(info.value), repr(info.value), info.value.raw or "", caplog.text])
    for secret in ("rt-secret-2", "cs-secret-3", TOKEN, "sEcReTpAyLoAd"):
        assert secret not in rendered


def test_error_body_secrets_are_redacted(rsps, clock):
    rsps.post(
        f"{BASE}/token",
        status=400,
        json={"message": "bad", "access_token": "at-secret-4", "echo": f"Bearer {TOKEN}"},
    )
    with pytest.raises(InvalidRequestError) as info:
        transport(clock).request("POST", "token")
    rendered = " ".join([str(info.value), repr(info.value), info.value.raw or ""])
    assert "at-secret-4" not in rendered
    assert TOKEN not in rendered


def test_query_secrets_redacted_in_log_path(rsps, clock, caplog):
    rsps.get(f"{BASE}/cb")
    with caplog.at_level(logging.DEBUG, logger="erpsync.http"):
        transport(clock).request("GET", "cb", params={"code": "auth-code-5", "state": "s"})
    assert "auth-code-5" not in caplog.text
    assert "state=s" in caplog.text


# -- real sockets on loopback (checks the classification against real urllib3 chains) ---


def test_real_connection_refused_is_retried_even_for_a_post(clock):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed now: connecting is refused before anything is sent.
    t = transport(clock, base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ServiceError) as info:
        t.request("POST", "invoice", json={})
    assert info.value.attempts == 3
    assert "could not connect to 127.0.0.1" in str(info.value)
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)


def test_real_read_timeout_on_a_post_is_not_retried(clock):
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)  # accepts connections (kernel backlog) but never answers
        port = server.getsockname()[1]
        t = transport(
            clock,
            base_url=f"http://127.0.0.1:{port}",
            timeout=Timeout(connect=1.0, read=0.02),
        )
        with pytest.raises(ServiceError) as info:
            t.request("POST", "invoice", json={})
        assert info.value.attempts == 1
        assert info.value.retryable is False
        assert "did not answer within 0.02 s" in str(info.value)
        t.close()


class FlakyTokenAuth(requests.auth.AuthBase):
    """An auth whose token endpoint fails before anything reaches the ERP."""

    def __init__(self, failures: list[ErpSyncError]) -> None:
        self.failures = failures

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.failures:
            raise self.failures.pop(0)
        r.headers["Authorization"] = "Bearer fresh"
        return r


def test_transient_auth_failure_while_preparing_is_retried_even_for_post(rsps, clock):
    rsps.add(responses.POST, f"{BASE}/things", json={"ok": True})
    auth = FlakyTokenAuth([ServiceError("token endpoint 503", retryable=True)])
    t = transport(clock, auth=auth)
    assert t.request("POST", "things", json={}).json() == {"ok": True}
    assert len(rsps.calls) == 1


def test_permanent_auth_failure_while_preparing_is_not_retried(rsps, clock):
    auth = FlakyTokenAuth(
        [AuthenticationError("invalid_client"), ServiceError("never reached", retryable=True)]
    )
    t = transport(clock, auth=auth)
    with pytest.raises(AuthenticationError):
        t.request("GET", "things")
    assert len(rsps.calls) == 0


def test_an_absurd_retry_after_pauses_the_tenant_no_longer_than_the_cap(rsps, clock):
    rsps.get(f"{BASE}/a", **err(429), headers={"Retry-After": "1000000000"})
    rsps.get(f"{BASE}/a", json={})
    limiter = LocalLimiter(clock=clock, sleep=clock.sleep)
    transport(clock, limiter=limiter, retry=RetryPolicy(max_retry_after=45)).request("GET", "a")
    # The retry waited the capped 45 s; the limiter's pause ended with it, so the request
    # went out without a further wait of a billion seconds.
    assert sum(clock.sleeps) <= 45.0 + 1e-6


# -- retry checkers: composable parts ---------------------------------------------------


def ctx(error: ErpSyncError, **kw: object) -> AttemptContext:
    kw.setdefault("attempt_number", 1)
    kw.setdefault("idempotent", False)
    return AttemptContext(error=error, **kw)  # type: ignore[arg-type]


def test_each_checker_answers_its_own_question():
    throttled = ctx(RateLimitError("slow down"), http_status=429, retry_after=5.0)
    assert Throttled().is_retryable(throttled)
    assert not Throttled(max_retry_after=1.0).is_retryable(throttled)
    assert not Throttled().is_retryable(ctx(ServiceError("x"), http_status=500))
    server = ServiceError("boom", retryable=True)
    assert RetryableStatus().is_retryable(ctx(server, http_status=503, idempotent=True))
    assert not RetryableStatus().is_retryable(ctx(server, http_status=503))  # a POST
    four = InvalidRequestError("no")
    assert RetryableStatus(frozenset({409})).is_retryable(
        ctx(four, http_status=409, idempotent=True)
    )
    lost = ServiceError("reset")
    assert UnknownOutcome().is_retryable(ctx(lost, idempotent=True))
    assert UnknownOutcome().is_retryable(ctx(lost, sent=False))
    assert not UnknownOutcome().is_retryable(ctx(lost))  # a write that may have landed
    assert not UnknownOutcome().is_retryable(ctx(lost, sent=False, transient=False))
    assert MaxAttempts(3).is_retryable(ctx(lost, attempt_number=2))
    assert not MaxAttempts(3).is_retryable(ctx(lost, attempt_number=3))


def test_checkers_compose():
    never_writes = AllOf(MaxAttempts(4), AnyOf(Throttled(), UnknownOutcome()))
    assert never_writes.is_retryable(ctx(RateLimitError("x"), http_status=429))
    assert not never_writes.is_retryable(
        ctx(ServiceError("x", retryable=True), http_status=500, idempotent=True)
    )
    assert not never_writes.is_retryable(
        ctx(RateLimitError("x"), http_status=429, attempt_number=4)
    )
    standard = standard_retry_checker(5)
    assert standard.is_retryable(
        ctx(ServiceError("x", retryable=True), http_status=500, idempotent=True)
    )
    with pytest.raises(ConfigurationError):
        AnyOf(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RetryPolicy(checker=object())  # type: ignore[arg-type]


def test_a_policy_checker_decides_what_the_transport_retries(rsps, clock):
    rsps.get(f"{BASE}/invoice/1", **err(503))
    rsps.get(f"{BASE}/invoice/1", json={"ok": True})
    # Only throttles are retried: the 503 of a GET goes straight to the caller.
    policy = RetryPolicy(checker=AnyOf(Throttled()))
    with pytest.raises(ServiceError) as caught:
        transport(clock, retry=policy).request("GET", "invoice/1")
    assert caught.value.attempts == 1
    # The default policy retries it.
    assert transport(clock).request("GET", "invoice/1").json() == {"ok": True}


def test_max_attempts_caps_any_checker(rsps, clock):
    rsps.get(f"{BASE}/invoice/1", **err(429))

    class Always:
        def is_retryable(self, context: AttemptContext) -> bool:
            return True

    with pytest.raises(RateLimitError) as caught:
        transport(clock, retry=RetryPolicy(max_attempts=3, checker=Always())).request(
            "GET", "invoice/1"
        )
    assert caught.value.attempts == 3


# -- redirects are never followed ---------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_names_status_and_location(rsps, clock, status):
    rsps.get(f"{BASE}/invoice/1", status=status, headers={"Location": "https://evil.example/x"})
    rsps.get("https://evil.example/x", json={"stolen": True})
    with pytest.raises(ServiceError) as caught:
        transport(clock, auth=Bearer(TOKEN)).request("GET", "invoice/1")
    error = caught.value
    assert error.http_status == status and not error.retryable
    assert "https://evil.example/x" in str(error) and f"HTTP {status}" in str(error)
    assert len(rsps.calls) == 1  # the token never went to evil.example
    assert error.attempts == 1


@pytest.mark.parametrize("location", ["http://[::1", "\x80\x81", "https://h:99999/", ""])
def test_a_malformed_location_is_still_an_erpsync_error(rsps, clock, location):
    headers = {"Location": location} if location else {}
    rsps.post(f"{BASE}/invoice", status=302, headers=headers)
    with pytest.raises(ServiceError, match="302"):
        transport(clock).request("POST", "invoice", json={})


# -- URL policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("", False),
        (None, False),
        ("localhost.evil.com", False),
    ],
)
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


# -- the one body decoder -----------------------------------------------------------------


def canned(status: int, body: bytes, content_type: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    if content_type:
        response.headers["Content-Type"] = content_type
    return response


XML_429 = (
    b'<IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>message='
    b"ThrottleExceeded; errorCode=003001</Message><Detail>The request limit was reached."
    b"  Try again &amp; later</Detail></Error></Fault></IntuitResponse>"
)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b'{"a": 1.10}', "json"),
        (b"[1, 2]", "json"),
        (b'{"a": ', "text"),  # truncated
        (b"[" * 100_000 + b"]" * 100_000, "text"),  # nested too deep to parse
        (b"<!DOCTYPE html><html><body>Bad gateway</body></html>", "html"),
        (b"<HTML><body>oops</body></HTML>", "html"),
        (XML_429, "xml"),
        (b"%PDF-1.7\n...", "pdf"),
        (b"\xff\xfe garbage", "text"),
        (b"plain words", "text"),
    ],
)
def test_decode_body_says_what_a_body_is(body, kind):
    decoded = decode_body(canned(500, body))
    assert decoded.kind == kind


def test_decode_body_reads_the_xml_fault_and_keeps_money_exact():
    fault = decode_body(canned(429, XML_429)).value
    assert fault["Error"][0]["code"] == "3001"
    assert fault["Error"][0]["Detail"].endswith("Try again & later")
    assert fault["type"] == "SERVICE"
    assert decode_body(canned(200, b'{"a": 1.10}')).value == {"a": Decimal("1.10")}


def test_decode_body_text_is_redacted_and_bounded():
    body = b'{"access_token": "sEcReT-value-123"}' + b" " * 200_000
    text = decode_body(canned(500, body)).text
    assert "sEcReT" not in text and len(text) < 5000


def test_json_body_raises_service_errors_naming_the_record():
    with pytest.raises(ServiceError, match="invoice 7") as caught:
        json_body(canned(200, b"[" * 100_000), backend="X", record="invoice 7")
    assert not caught.value.retryable and caught.value.record == "invoice 7"
    with pytest.raises(ServiceError) as caught:
        json_body(canned(502, b"<html>bad gateway</html>"), backend="X")
    assert caught.value.retryable
    with pytest.raises(ServiceError, match="not a JSON object"):
        json_object(canned(200, b"[1]"), backend="X", record="page")


def test_pdf_bytes_accepts_raw_and_base64_documents():
    raw = b"%PDF-1.4 body"
    encoded = base64.b64encode(raw)
    assert pdf_bytes(canned(200, raw), backend="X") == raw
    assert pdf_bytes(canned(200, encoded), backend="X") == raw
    assert pdf_bytes(canned(200, b'"' + encoded + b'"'), backend="X") == raw
    assert pdf_bytes(canned(200, b'{"pdf": "' + encoded + b'"}'), backend="X") == raw
    for bad in (b"", b"!!!", base64.b64encode(b"not a pdf"), b'{"x": 1}', b"[" * 50_000):
        with pytest.raises(ServiceError, match="invoice 9"):
            pdf_bytes(canned(200, bad), backend="X", record="invoice 9")


def test_pdf_bytes_lets_the_erp_raise_the_error_a_json_body_carries():
    def on_json(body: object) -> None:
        raise NotFoundError("gone")

    with pytest.raises(NotFoundError):
        pdf_bytes(canned(200, b'{"Fault": {}}'), backend="X", on_json=on_json)
