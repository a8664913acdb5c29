"""FakeNetSuite's invoice-PDF RESTlet, over raw HTTP (requests-oauthlib and requests).

Checked independently of erpsync's NetSuite client: TBA-signed calls to the RESTlet host
in-process and to the served URL, bearer tokens with and without the ``restlets`` scope,
the RESTlet error bodies, and a PDF that a reader opens and that names the invoice.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import jwt
import pypdf
import pytest
import requests
from ns_support import tba_session
from requests_oauthlib import OAuth1Session

from erpsync import Invoice, InvoiceLine, Ref
from erpsync.errors import ConfigurationError
from erpsync.testing import FakeNetSuite
from erpsync.testing.core.emulator import FakeClock, Governance
from erpsync.testing.netsuite import (
    DEFAULT_PDF_DEPLOY,
    DEFAULT_PDF_SCRIPT,
    PDF_RESTLET_SOURCE,
)

RESTLET = "/app/site/hosting/restlet.nl"
DEFAULTS = {"script": DEFAULT_PDF_SCRIPT, "deploy": DEFAULT_PDF_DEPLOY}
TOKEN = "/services/rest/auth/oauth2/v1/token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def served(clock: FakeClock) -> Iterator[FakeNetSuite]:
    fake = FakeNetSuite(clock=clock)
    fake.serve()
    yield fake
    fake.shutdown()


def session(fake: FakeNetSuite) -> OAuth1Session:
    return tba_session(fake)


def make_invoice(fake: FakeNetSuite, base: str, http: requests.Session) -> str:
    body = {
        "entity": {"id": "101"},
        "tranDate": "2026-11-03",
        "memo": "Job 1042 (rush)",
        "item": {
            "items": [
                {"item": {"id": "202"}, "quantity": 3, "rate": 125.5, "description": "Milling"},
                {"item": {"id": "202"}, "quantity": 1, "rate": 40, "description": "Setup"},
            ]
        },
    }
    created = http.post(f"{base}/services/rest/record/v1/invoice", json=body, timeout=10)
    assert created.status_code == 204, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def pdf_text(encoded: str) -> str:
    data = base64.b64decode(encoded, validate=True)
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    return "\n".join(page.extract_text() for page in reader.pages)


def test_get_returns_the_invoice_pdf_in_process() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()))
    assert fake.restlet_url == "https://1234567-sb1.restlets.api.netsuite.com"
    assert fake.restlet_url in fake.intercept_prefixes
    with fake:
        http = session(fake)
        rid = make_invoice(fake, fake.base_url, http)
        answer = http.get(f"{fake.restlet_url}{RESTLET}", params={**DEFAULTS, "id": rid})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"id", "fileName", "contentType", "base64"}
    assert (body["id"], body["fileName"], body["contentType"]) == (
        rid,
        "INV1001.pdf",
        "application/pdf",
    )
    text = pdf_text(body["base64"])
    for expected in ("INV1001", "2026-11-03", "Acme Robotics", "Milling", "Setup", "416.50"):
        assert expected in text, expected
    assert "USD" in text


def test_served_post_and_get_agree(served: FakeNetSuite) -> None:
    http = session(served)
    rid = make_invoice(served, served.served_url or "", http)
    url = f"{served.served_url}{RESTLET}"
    got = http.get(url, params={**DEFAULTS, "id": rid, "recordType": "invoice"}, timeout=10)
    posted = http.post(url, params=DEFAULTS, json={"id": int(rid)}, timeout=10)
    assert got.status_code == posted.status_code == 200, (got.text, posted.text)
    assert got.json()["fileName"] == posted.json()["fileName"] == "INV1001.pdf"
    assert "Acme Robotics" in pdf_text(posted.json()["base64"])


def script_error(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    thrown = json.loads(error["message"])
    assert thrown["type"] == "error.SuiteScriptError"
    assert thrown["name"] == error["code"]
    return {"code": error["code"], "message": thrown["message"]}


def test_script_errors(served: FakeNetSuite) -> None:
    http = session(served)
    url = f"{served.served_url}{RESTLET}"
    missing = http.get(url, params={**DEFAULTS, "id": "99999"}, timeout=10)
    assert script_error(missing) == {
        "code": "RCRD_DSNT_EXIST",
        "message": "Invoice 99999 does not exist.",
    }
    # A purchase order is a transaction, but not an invoice.
    assert (
        script_error(http.get(url, params={**DEFAULTS, "id": "1001"}, timeout=10))["code"]
        == "RCRD_DSNT_EXIST"
    )
    for params in ({}, {"id": "abc"}, {"id": "eid:x"}):
        answer = http.get(url, params={**DEFAULTS, **params}, timeout=10)
        assert script_error(answer)["code"] == "INVALID_ID"
    other = http.get(url, params={**DEFAULTS, "id": "1", "recordType": "salesorder"}, timeout=10)
    assert script_error(other)["code"] == "INVALID_RECORD_TYPE"
    as_text = http.post(
        url, params=DEFAULTS, data="1001", timeout=10, headers={"Content-Type": "text/plain"}
    )
    assert script_error(as_text)["code"] == "INVALID_ID"
    broken = http.post(
        url, params=DEFAULTS, data="{nope", timeout=10, headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "SYNTAX_ERROR"
    put = http.put(url, params={**DEFAULTS, "id": "1"}, json={}, timeout=10)
    assert put.status_code == 405
    assert put.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_unknown_script_or_deployment(served: FakeNetSuite) -> None:
    http = session(served)
    url = f"{served.served_url}{RESTLET}"
    expected = {
        "error": {
            "code": "SSS_INVALID_SCRIPTLET_ID",
            "message": "That Suitelet is invalid, disabled, or no longer exists.",
        }
    }
    for params in (
        {"script": "customscript_other", "deploy": DEFAULT_PDF_DEPLOY},
        {"script": DEFAULT_PDF_SCRIPT, "deploy": "customdeploy_other"},
        {"deploy": DEFAULT_PDF_DEPLOY},
        {},
    ):
        answer = http.get(url, params={**params, "id": "1"}, timeout=10)
        assert answer.status_code == 404
        assert answer.json() == expected
    # Ids are matched as NetSuite stores them: case does not matter.
    upper = {"script": DEFAULT_PDF_SCRIPT.upper(), "deploy": DEFAULT_PDF_DEPLOY.upper()}
    assert http.get(url, params={**upper, "id": "x"}, timeout=10).status_code == 400


def test_deployments_are_configuration(clock: FakeClock) -> None:
    fake = FakeNetSuite(clock=clock, pdf_restlet=("customscript_pdf", "customdeploy_1"))
    assert fake.pdf_restlet == ("customscript_pdf", "customdeploy_1")
    fake.serve()
    try:
        http = session(fake)
        url = f"{fake.served_url}{RESTLET}"
        rid = make_invoice(fake, fake.served_url or "", http)
        ours = {"script": "customscript_pdf", "deploy": "customdeploy_1", "id": rid}
        assert http.get(url, params=ours, timeout=10).status_code == 200
        assert http.get(url, params={**DEFAULTS, "id": rid}, timeout=10).status_code == 404
        fake.deploy_pdf_restlet("customscript_pdf", "customdeploy_2")
        assert fake.pdf_restlet == ("customscript_pdf", "customdeploy_2")
        again = {**ours, "deploy": "customdeploy_2"}
        assert http.get(url, params=again, timeout=10).status_code == 200
        fake.undeploy_restlet("customscript_pdf", "customdeploy_1")
        assert http.get(url, params=ours, timeout=10).status_code == 404
        with pytest.raises(ConfigurationError):
            fake.undeploy_restlet("customscript_pdf", "customdeploy_1")
        fake.reset()  # back to the constructor's deployment
        assert fake.pdf_restlet == ("customscript_pdf", "customdeploy_1")
    finally:
        fake.shutdown()
    assert FakeNetSuite(pdf_restlet=None).pdf_restlet is None
    for bad in (("only",), ("a", ""), "customscript_x", (1, 2)):
        with pytest.raises(ConfigurationError):
            FakeNetSuite(pdf_restlet=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        fake.deploy_pdf_restlet("", "x")


INVALID_LOGIN_ATTEMPT = {
    "error": {"code": "INVALID_LOGIN_ATTEMPT", "message": "Invalid login attempt."}
}


def test_authentication_is_the_rest_one_with_restlet_errors(
    served: FakeNetSuite, clock: FakeClock
) -> None:
    url = f"{served.served_url}{RESTLET}"
    anonymous = requests.get(url, params={**DEFAULTS, "id": "1"}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json() == INVALID_LOGIN_ATTEMPT
    creds = served.credentials
    wrong_realm = OAuth1Session(
        creds.consumer_key,
        client_secret=creds.consumer_secret,
        resource_owner_key=creds.token_id,
        resource_owner_secret=creds.token_secret,
        signature_method="HMAC-SHA256",
        realm=creds.account_id.lower(),
    )
    refused = wrong_realm.get(url, params={**DEFAULTS, "id": "1"}, timeout=10)
    assert (refused.status_code, refused.json()) == (401, INVALID_LOGIN_ATTEMPT)
    assert "realm" in served.login_audit_trail[-1].detail
    # The script and deploy parameters are signed like any query parameter.
    signed = session(served).prepare_request(
        requests.Request("GET", url, params={**DEFAULTS, "id": "1"})
    )
    tampered = signed.url.replace("id=1", "id=2")  # type: ignore[union-attr]
    sent = requests.get(tampered, headers=dict(signed.headers), timeout=10)
    assert (sent.status_code, sent.json()) == (401, INVALID_LOGIN_ATTEMPT)
    assert served.login_audit_trail[-1].detail == "invalid signature"


def bearer(fake: FakeNetSuite, scope: list[str]) -> dict[str, str]:
    creds = fake.credentials
    now = int(fake.clock.now())
    token_url = f"{fake.served_url}{TOKEN}"
    assertion = jwt.encode(
        {"iss": creds.client_id, "scope": scope, "aud": token_url, "iat": now, "exp": now + 3600},
        creds.private_key_pem,
        algorithm="PS256",
        headers={"kid": creds.certificate_id, "typ": "JWT"},
    )
    answer = requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_bearer_tokens_need_the_restlets_scope(served: FakeNetSuite, clock: FakeClock) -> None:
    url = f"{served.served_url}{RESTLET}"
    rid = make_invoice(served, served.served_url or "", session(served))
    params = {**DEFAULTS, "id": rid}
    rest_only = bearer(served, ["rest_webservices"])
    refused = requests.get(url, params=params, headers=rest_only, timeout=10)
    assert (refused.status_code, refused.json()) == (401, INVALID_LOGIN_ATTEMPT)
    assert "restlets" in served.login_audit_trail[-1].detail
    both = bearer(served, ["restlets", "rest_webservices"])
    assert requests.get(url, params=params, headers=both, timeout=10).status_code == 200
    clock.advance(3600)
    expired = requests.get(url, params=params, headers=both, timeout=10)
    assert (expired.status_code, expired.json()) == (401, INVALID_LOGIN_ATTEMPT)


def test_restlets_share_the_account_concurrency_limit(clock: FakeClock) -> None:
    fake = FakeNetSuite(clock=clock, governance=Governance(concurrency=1))
    entered, release = threading.Event(), threading.Event()
    original = fake.restlets.run

    def held(*args: Any) -> Any:
        entered.set()
        release.wait(5)
        return original(*args)

    fake.restlets.run = held  # type: ignore[method-assign]
    with fake:
        http = session(fake)
        url = f"{fake.restlet_url}{RESTLET}"
        first: list[requests.Response] = []
        worker = threading.Thread(
            target=lambda: first.append(http.get(url, params={**DEFAULTS, "id": "x"}))
        )
        worker.start()
        assert entered.wait(5)
        blocked = session(fake).get(url, params={**DEFAULTS, "id": "x"})
        release.set()
        worker.join(5)
    assert blocked.status_code == 400
    assert blocked.json() == {
        "error": {
            "code": "SSS_REQUEST_LIMIT_EXCEEDED",
            "message": "Concurrent request limit exceeded. Request blocked.",
        }
    }
    assert first[0].status_code == 400  # the script's INVALID_ID, after the wait


def test_faults_answer_in_the_restlet_shape(served: FakeNetSuite) -> None:
    url = f"{served.served_url}{RESTLET}"
    served.inject("server_error", status=500)
    failed = session(served).get(url, params={**DEFAULTS, "id": "1"}, timeout=10)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "UNEXPECTED_ERROR"
    served.inject("server_error", status=503)
    down = session(served).get(url, params={**DEFAULTS, "id": "1"}, timeout=10)
    assert (down.status_code, down.json()["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    served.inject("throttle")
    throttled = session(served).get(url, params={**DEFAULTS, "id": "1"}, timeout=10)
    assert throttled.json()["error"]["code"] == "SSS_REQUEST_LIMIT_EXCEEDED"


@pytest.mark.parametrize("auth", ["tba", "m2m"])
@pytest.mark.parametrize("mode", ["in-process", "served"])
def test_fake_backend_reads_invoice_pdfs(auth: str, mode: str, clock: FakeClock) -> None:
    fake = FakeNetSuite(clock=clock)
    if mode == "served":
        fake.serve()
    else:
        fake.start()
    try:
        backend = fake.backend(auth=auth)  # type: ignore[arg-type]
        invoice = backend.create_invoice(
            Invoice(
                external_id="job-1042",
                customer=Ref(id="101"),
                date=date(2026, 11, 3),
                lines=[
                    InvoiceLine(
                        description="Job 1042", amount=Decimal("1250.00"), item=Ref(id="202")
                    )
                ],
            )
        )
        assert invoice.id is not None
        data = backend.invoice_pdf(invoice.id)
    finally:
        fake.stop()
        fake.shutdown()
    text = pdf_text(base64.b64encode(data).decode())
    assert invoice.number and invoice.number in text
    assert "1,250.00" in text and "Acme Robotics" in text


def test_the_restlet_source_is_documented() -> None:
    assert "@NApiVersion 2.1" in PDF_RESTLET_SOURCE
    assert "@NScriptType Restlet" in PDF_RESTLET_SOURCE
    assert "render.transaction" in PDF_RESTLET_SOURCE
    assert "getContents()" in PDF_RESTLET_SOURCE
    for key in ("fileName", "contentType", "base64", "RCRD_DSNT_EXIST", "INVALID_ID"):
        assert key in PDF_RESTLET_SOURCE
