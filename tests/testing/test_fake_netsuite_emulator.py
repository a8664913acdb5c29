"""FakeNetSuite as an emulator: governance, faults, interception, reset, seed data."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from ns_support import tba_session
from requests_oauthlib import OAuth1Session

from erpsync.errors import ConfigurationError
from erpsync.testing.core.emulator import FakeClock, Governance
from erpsync.testing.netsuite import NETSUITE_GOVERNANCE, FakeNetSuite, netsuite_host

RECORD = "/services/rest/record/v1/customer/101"


def session_for(fake: FakeNetSuite) -> OAuth1Session:
    return tba_session(fake)


def test_host_and_defaults() -> None:
    fake = FakeNetSuite()
    assert fake.intercept_prefixes == (
        "https://1234567-sb1.suitetalk.api.netsuite.com",
        "https://1234567-sb1.restlets.api.netsuite.com",
    )
    assert fake.base_url == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert netsuite_host("TSTDRV_9") == "tstdrv-9.suitetalk.api.netsuite.com"
    assert fake.governance == NETSUITE_GOVERNANCE == Governance(concurrency=5)
    assert FakeNetSuite("7654321_sb2").account_id == "7654321_SB2"
    with pytest.raises(ConfigurationError):
        FakeNetSuite("not an account")


def test_in_process_interception_answers_with_the_real_host() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    with fake:
        session = session_for(fake)
        assert session.get(f"{fake.base_url}{RECORD}").json()["companyName"] == "Acme Robotics"
        created = session.post(
            f"{fake.base_url}/services/rest/record/v1/customer",
            json={"companyName": "Intercepted", "subsidiary": {"id": "1"}},
        )
        assert created.headers["Location"].startswith(f"{fake.base_url}/services/rest/")
    assert not fake.active


class ParkingClock:
    """Real time, except that the first latency sleep waits until released: a request
    held in flight, without any lock held."""

    def __init__(self) -> None:
        self.inside, self.release = threading.Event(), threading.Event()

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if not self.inside.is_set():
            self.inside.set()
            self.release.wait(5)


def test_concurrency_limit_answers_netsuite_429_and_token_endpoint_is_not_governed() -> None:
    clock = ParkingClock()
    fake = FakeNetSuite(clock=clock, latency=0.001, governance=Governance(concurrency=1))
    url = fake.serve()
    session = session_for(fake)
    results: list[int] = []
    first = threading.Thread(
        target=lambda: results.append(session.get(f"{url}{RECORD}").status_code)
    )
    first.start()
    try:
        assert clock.inside.wait(5)
        blocked = session_for(fake).get(f"{url}{RECORD}")
        assert blocked.status_code == 429
        assert blocked.json() == {
            "type": "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
            "title": "Too Many Requests",
            "status": 429,
            "o:errorDetails": [
                {
                    "detail": "Concurrent request limit exceeded. Request blocked.",
                    "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED",
                }
            ],
        }
        token = requests.post(
            f"{url}/services/rest/auth/oauth2/v1/token",
            data={"grant_type": "client_credentials"},
            timeout=10,
        )
        assert token.status_code == 400  # answered (an OAuth error), not throttled
    finally:
        clock.release.set()
        first.join(5)
        fake.shutdown()
    assert results == [200]
    assert fake.stats.throttled == 1


@pytest.mark.parametrize(
    ("status", "code"), [(503, "SERVICE_UNAVAILABLE"), (500, "UNEXPECTED_ERROR")]
)
def test_injected_server_errors_use_netsuite_bodies(status: int, code: str) -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    fake.inject("server_error", status=status)
    with fake:
        response = session_for(fake).get(f"{fake.base_url}{RECORD}")
    assert response.status_code == status
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["o:errorDetails"][0]["o:errorCode"] == code


def test_injected_throttle_and_lost_response_after_commit() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    url = fake.serve()
    try:
        fake.inject("throttle")
        throttled = session_for(fake).get(f"{url}{RECORD}")
        assert throttled.json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
        fake.inject("lose_response")
        with pytest.raises(requests.ConnectionError):
            session_for(fake).put(
                f"{url}/services/rest/record/v1/customer/eid:lost",
                json={"companyName": "Lost", "subsidiary": {"id": "1"}},
            )
        retried = session_for(fake).put(
            f"{url}/services/rest/record/v1/customer/eid:lost",
            json={"companyName": "Lost", "subsidiary": {"id": "1"}},
        )
        assert retried.status_code == 204
        assert [c["companyName"] for c in fake.records("customer")].count("Lost") == 1
    finally:
        fake.shutdown()


def test_unknown_paths_are_404() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    with fake:
        assert session_for(fake).get(f"{fake.base_url}/services/rest/nothing").status_code == 404
        assert requests.get(f"{fake.base_url}/app/center", timeout=10).status_code == 404


def test_reset_and_seed_data() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    with fake:
        session_for(fake).post(
            f"{fake.base_url}/services/rest/record/v1/customer",
            json={"companyName": "Temp", "subsidiary": {"id": "1"}},
        )
    assert len(fake.records("customer")) == 5
    assert fake.stats.requests == 1
    fake.reset()
    assert len(fake.records("customer")) == 4
    assert fake.stats.requests == 0
    assert len(fake.records("vendor")) == 2
    kinds = {
        item["itemType"]["id"]
        for rt in (
            "inventoryItem",
            "serviceSaleItem",
            "nonInventoryPurchaseItem",
            "nonInventoryResaleItem",
        )
        for item in fake.records(rt)
    }
    assert kinds == {"InvtPart", "Service", "NonInvtPart"}

    empty = FakeNetSuite(seed_data=False)
    assert empty.records("customer") == []
    assert empty.query("SELECT symbol FROM currency WHERE id = 1") == [{"symbol": "USD"}]
    assert empty.records("subsidiary")[0]["name"] == "Honeycomb Mfg."
    with pytest.raises(ConfigurationError):
        empty.records("widget")


def test_same_seed_same_credentials_different_seed_different() -> None:
    assert FakeNetSuite(seed=1).credentials == FakeNetSuite(seed=1).credentials
    assert (
        FakeNetSuite(seed=1).credentials.token_secret
        != FakeNetSuite(seed=2).credentials.token_secret
    )


def test_read_only_lists_refuse_writes() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    with fake:
        response = session_for(fake).post(
            f"{fake.base_url}/services/rest/record/v1/currency", json={"name": "Gold"}
        )
    assert response.status_code == 403
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INSUFFICIENT_PERMISSION"


def test_suiteql_row_cap_must_be_positive() -> None:
    fake = FakeNetSuite()
    with pytest.raises(ConfigurationError):
        fake.suiteql_row_cap = 0


# -- TBA: the concurrency limit reported as INVALID_LOGIN ------------------------------------

RESTLET = (
    "/app/site/hosting/restlet.nl?script=customscript_erpsync_invoice_pdf"
    "&deploy=customdeploy_erpsync_invoice_pdf&id=1"
)


def test_tba_over_the_limit_can_answer_invalid_login_and_bearer_keeps_the_429() -> None:
    clock = ParkingClock()
    fake = FakeNetSuite(
        clock=clock,
        latency=0.001,
        governance=Governance(concurrency=1),
        tba_concurrency_error="invalid_login",
    )
    url = fake.serve()
    held = threading.Thread(target=lambda: session_for(fake).get(f"{url}{RECORD}"))
    held.start()
    try:
        assert clock.inside.wait(5)
        tba = session_for(fake).get(f"{url}{RECORD}")
        assert tba.status_code == 401
        detail = tba.json()["o:errorDetails"][0]
        assert detail["o:errorCode"] == "INVALID_LOGIN"
        # The same body as wrong credentials: nothing on the wire tells them apart.
        wrong = FakeNetSuite(clock=FakeClock(time.time()))
        with wrong:
            refused = requests.get(
                f"{wrong.base_url}{RECORD}", headers={"Authorization": 'OAuth realm="X"'}
            )
        assert refused.status_code == 401 and refused.json() == tba.json()
        bearer = requests.get(f"{url}{RECORD}", headers={"Authorization": "Bearer abc"})
        assert bearer.status_code == 429
        assert bearer.json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
        restlet = session_for(fake).get(f"{url.rstrip('/')}{RESTLET}")
        assert restlet.status_code == 401
        assert restlet.json()["error"]["code"] == "INVALID_LOGIN_ATTEMPT"
    finally:
        clock.release.set()
        held.join(5)
        fake.shutdown()
    assert fake.stats.throttled == 3


def test_tba_concurrency_error_defaults_to_429_and_is_validated() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    assert fake.tba_concurrency_error == "429"
    with fake:
        fake.inject("throttle")
        assert session_for(fake).get(f"{fake.base_url}{RECORD}").status_code == 429
    as_login = FakeNetSuite(clock=FakeClock(time.time()), tba_concurrency_error="invalid_login")
    with as_login:
        as_login.inject("throttle")  # an injected throttle stands for the account at its limit
        assert session_for(as_login).get(f"{as_login.base_url}{RECORD}").status_code == 401
        assert session_for(as_login).get(f"{as_login.base_url}{RECORD}").status_code == 200
    with pytest.raises(ConfigurationError, match="tba_concurrency_error"):
        FakeNetSuite(tba_concurrency_error="401")  # type: ignore[arg-type]


class Hold:
    """Wraps a callable so that its first call waits inside until released."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.entered, self.release = inner, threading.Event(), threading.Event()

    def __call__(self, *args: Any) -> Any:
        self.entered.set()
        self.release.wait(5)
        return self.inner(*args)


def test_independent_requests_run_side_by_side_under_the_limit() -> None:
    """No lock around dispatch: while one request is inside the service (a SuiteQL query
    held here), others are answered; the concurrency limit is what bounds them."""
    fake = FakeNetSuite(clock=FakeClock(time.time()), governance=Governance(concurrency=3))
    hold = Hold(fake.suiteql.run)
    entered, release = hold.entered, hold.release
    fake.suiteql.run = hold  # type: ignore[method-assign]
    with fake:
        slow: list[requests.Response] = []
        worker = threading.Thread(
            target=lambda: slow.append(
                session_for(fake).post(
                    f"{fake.base_url}/services/rest/query/v1/suiteql",
                    json={"q": "SELECT id FROM customer"},
                    headers={"Prefer": "transient"},
                )
            )
        )
        worker.start()
        try:
            assert entered.wait(5)
            read = session_for(fake).get(f"{fake.base_url}{RECORD}", timeout=5)
            written = session_for(fake).patch(
                f"{fake.base_url}{RECORD}", json={"email": "side@acme.example"}, timeout=5
            )
            assert not slow, "the held query should still be running"
        finally:
            release.set()
            worker.join(5)
    assert read.status_code == 200 and written.status_code == 204
    assert slow[0].status_code == 200
    assert fake.stats.max_concurrent == 2
