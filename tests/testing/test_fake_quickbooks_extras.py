"""FakeQuickBooks' invoice PDFs, webhooks, limits, injected faults and loopback serving."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import io
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from erpsync.errors import ConfigurationError
from erpsync.testing.core.emulator import FakeClock, SystemClock
from erpsync.testing.core.pdf import TextRun, build_pdf, escape_text
from erpsync.testing.quickbooks import QBO_DEFAULT_GOVERNANCE, QBO_GOVERNANCE, FakeQuickBooks, sign


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock):
    emulator = FakeQuickBooks(clock=clock, governance=None)
    with emulator:
        yield emulator


def base_of(fake: FakeQuickBooks) -> str:
    return f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}"


def auth(fake: FakeQuickBooks) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {fake.credentials.access_token}",
        "Accept": "application/json",
    }


def create(
    fake: FakeQuickBooks, entity: str, body: dict[str, Any], **params: str
) -> requests.Response:
    return requests.post(
        f"{base_of(fake)}/{entity.lower()}", json=body, params=params, headers=auth(fake)
    )


def invoice_body(*lines: tuple[str, float], customer: str = "2", **fields: Any) -> dict[str, Any]:
    return {
        "CustomerRef": {"value": customer},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "Description": text,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount},
            }
            for text, amount in lines
        ],
        **fields,
    }


# -- invoice PDF ------------------------------------------------------------------------------


def test_invoice_pdf_is_a_real_document_listing_the_invoice(fake):
    created = create(
        fake,
        "Invoice",
        invoice_body(
            ("Anodised bracket (x4)", 1250.0),
            ("Shipping", 35.5),
            DocNumber="JOB-1042",
            TxnDate="2026-11-03",
        ),
    ).json()["Invoice"]
    response = requests.get(
        f"{base_of(fake)}/invoice/{created['Id']}/pdf",
        headers={**auth(fake), "Accept": "application/pdf"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-1.4")
    reader = PdfReader(io.BytesIO(response.content), strict=True)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        "JOB-1042",
        "2026-11-03",
        "Bill's Windsurf Shop",
        "Anodised bracket (x4)",
        "Shipping",
        "1,285.50",
        "Sandbox Company_US_1",
    ):
        assert expected in text, expected


def test_long_invoices_paginate(fake):
    lines = [(f"Part number {n}", 10.0) for n in range(70)]
    created = create(fake, "Invoice", invoice_body(*lines)).json()["Invoice"]
    pdf = requests.get(f"{base_of(fake)}/invoice/{created['Id']}/pdf", headers=auth(fake)).content
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert len(reader.pages) >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Part number 0" in text and "Part number 69" in text
    assert "700.00" in text


def test_pdf_errors_come_back_as_json(fake):
    response = requests.get(
        f"{base_of(fake)}/invoice/999/pdf", headers={**auth(fake), "Accept": "application/pdf"}
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["Fault"]["Error"][0]["code"] == "610"


def test_pdf_writer_offsets_and_escapes():
    pdf = build_pdf(
        [[TextRun(72, 700, "Total (USD) \\ 5", 12)], [TextRun(72, 700, "page two", bold=True)]],
        title="T",
    )
    xref_at = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    assert pdf[xref_at:].startswith(b"xref\n")
    entries = re.findall(rb"(\d{10}) 00000 n ", pdf[xref_at:])
    for number, offset in enumerate(entries, start=1):
        assert pdf[int(offset) :].startswith(f"{number} 0 obj".encode())
    assert escape_text("a(b)c\\") == b"a\\(b\\)c\\\\"
    assert escape_text("line\nbreak €") == b"line break \x80"
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert len(reader.pages) == 2
    assert "Total (USD) \\ 5" in reader.pages[0].extract_text()


# -- webhooks ---------------------------------------------------------------------------------


def test_signature_matches_the_published_vector():
    assert sign("verify_me", b'{"stuff":"5"}') == "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="


def verify(fake: FakeQuickBooks, body: bytes, headers: dict[str, str]) -> bool:
    digest = hmac.new(fake.credentials.verifier_token.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), headers["intuit-signature"])


def test_cloudevents_are_queued_then_delivered_signed(fake):
    received: list[tuple[bytes, dict[str, str]]] = []
    fake.webhooks.subscribe(lambda body, headers: received.append((body, headers)))
    customer = create(fake, "Customer", {"DisplayName": "Hooked Inc"}).json()["Customer"]
    create(
        fake,
        "Customer",
        {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "H"},
    )
    assert received == []
    assert fake.webhooks.pending == 2
    deliveries = fake.webhooks.flush()
    assert [d.ok for d in deliveries] == [True]
    assert fake.webhooks.pending == 0
    body, headers = received[0]
    assert verify(fake, body, headers)
    events = json.loads(body)
    assert [e["type"] for e in events] == ["qbo.customer.created.v1", "qbo.customer.updated.v1"]
    assert {e["intuitentityid"] for e in events} == {customer["Id"]}
    assert {e["intuitaccountid"] for e in events} == {fake.realm_id}
    assert all(e["specversion"] == "1.0" and e["data"] == {} for e in events)
    assert len({e["id"] for e in events}) == 2


def test_legacy_payload_shape(fake):
    received: list[bytes] = []
    fake.webhooks.subscribe(lambda body, headers: received.append(body), shape="legacy")
    inv = create(fake, "Invoice", invoice_body(("x", 10))).json()["Invoice"]
    requests.post(
        f"{base_of(fake)}/invoice",
        json={"Id": inv["Id"], "SyncToken": "0"},
        params={"operation": "void"},
        headers=auth(fake),
    )
    fake.webhooks.flush()
    payload = json.loads(received[0])
    notification = payload["eventNotifications"][0]
    assert notification["realmId"] == fake.realm_id
    entities = notification["dataChangeEvent"]["entities"]
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("Invoice", inv["Id"], "Create"),
        ("Invoice", inv["Id"], "Void"),
    ]
    assert entities[0]["lastUpdated"].endswith("Z")


def test_payments_notify_the_invoices_they_change(fake):
    received: list[bytes] = []
    fake.webhooks.subscribe(lambda body, headers: received.append(body))
    inv = create(fake, "Invoice", invoice_body(("x", 10))).json()["Invoice"]
    create(
        fake,
        "Payment",
        {
            "CustomerRef": {"value": "2"},
            "TotalAmt": 10,
            "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
        },
    )
    fake.webhooks.flush()
    types = [e["type"] for e in json.loads(received[0])]
    assert types == ["qbo.invoice.created.v1", "qbo.payment.created.v1", "qbo.invoice.updated.v1"]


def test_failed_deliveries_are_retried_with_the_same_event_ids(fake):
    attempts: list[list[str]] = []

    def flaky(body: bytes, headers: dict[str, str]) -> int:
        attempts.append([e["id"] for e in json.loads(body)])
        return 500 if len(attempts) == 1 else 200

    fake.webhooks.subscribe(flaky, max_attempts=2)
    create(fake, "Customer", {"DisplayName": "Retry Co"})
    first = fake.webhooks.flush()
    assert [(d.ok, d.status, d.attempt) for d in first] == [(False, 500, 1)]
    assert fake.webhooks.pending == 1
    second = fake.webhooks.flush()
    assert [(d.ok, d.attempt) for d in second] == [(True, 2)]
    assert attempts[0] == attempts[1]
    assert [d.ok for d in fake.webhooks.deliveries] == [False, True]


def test_deliveries_give_up_after_max_attempts(fake):
    def broken(body: bytes, headers: dict[str, str]) -> None:
        raise RuntimeError("receiver down")

    fake.webhooks.subscribe(broken, max_attempts=2)
    create(fake, "Customer", {"DisplayName": "Dead Letter Co"})
    assert fake.webhooks.flush()[0].error == "RuntimeError: receiver down"
    fake.webhooks.flush()
    assert fake.webhooks.pending == 0
    assert len(fake.webhooks.dead_letters) == 1
    assert fake.webhooks.flush() == []


def test_url_subscriptions_receive_signed_posts(fake):
    received: list[tuple[bytes, dict[str, str]]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        fake.webhooks.subscribe(f"http://127.0.0.1:{server.server_address[1]}/hooks")
        create(fake, "Vendor", {"DisplayName": "Webhook Vendor"})
        deliveries = fake.webhooks.flush()
        assert [(d.ok, d.status) for d in deliveries] == [(True, 200)]
        body, headers = received[0]
        assert verify(fake, body, headers)
        assert json.loads(body)[0]["type"] == "qbo.vendor.created.v1"
    finally:
        server.shutdown()
        server.server_close()


def test_at_most_100_events_a_delivery(fake):
    sizes: list[int] = []
    fake.webhooks.subscribe(lambda body, headers: sizes.append(len(json.loads(body))))
    for chunk in range(5):
        items = [
            {"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"Many {chunk}-{i}"}}
            for i in range(30)
        ]
        requests.post(
            f"{base_of(fake)}/batch", json={"BatchItemRequest": items}, headers=auth(fake)
        )
    fake.webhooks.flush()
    assert sizes == [100, 50]


def test_subscribe_validates_its_arguments(fake):
    with pytest.raises(ConfigurationError):
        fake.webhooks.subscribe(lambda b, h: None, shape="xml")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        fake.webhooks.subscribe(42)  # type: ignore[arg-type]
    subscription = fake.webhooks.subscribe(lambda b, h: None)
    fake.webhooks.unsubscribe(subscription)
    create(fake, "Customer", {"DisplayName": "Nobody Listens"})
    assert fake.webhooks.pending == 0


# -- limits and injected faults ---------------------------------------------------------------


def test_qbo_governance_is_the_real_limits_and_answers_the_xml_429(clock):
    assert QBO_GOVERNANCE.concurrency == 10
    fake = FakeQuickBooks(clock=clock, governance=QBO_GOVERNANCE)
    with fake:
        url = f"{base_of(fake)}/customer/1"
        codes = [requests.get(url, headers=auth(fake)).status_code for _ in range(11)]
        assert codes == [200] * 10 + [429]
        throttled = requests.get(url, headers=auth(fake))
        assert throttled.headers["Content-Type"] == "application/xml"
        assert "intuit_tid" in throttled.headers
        # Byte for byte the body of WIRE.md.
        assert throttled.text == (
            '<IntuitResponse><Fault type="SERVICE"><Error code="3001">'
            "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
            "<Detail>The request limit was reached.  Try again later</Detail>"
            "</Error></Fault></IntuitResponse>"
        )
        clock.advance(1)
        assert requests.get(url, headers=auth(fake)).status_code == 200


def test_by_default_a_sequential_client_is_never_throttled(clock):
    # Live, a sequential client waits a round trip per request and never reaches 10 a
    # second; the default enforces only the 10 in flight, which it cannot reach either.
    assert QBO_DEFAULT_GOVERNANCE.concurrency == QBO_GOVERNANCE.concurrency == 10
    assert QBO_DEFAULT_GOVERNANCE.windows == ()
    fake = FakeQuickBooks(clock=clock)
    with fake:
        url = f"{base_of(fake)}/customer/1"
        codes = {requests.get(url, headers=auth(fake)).status_code for _ in range(600)}
    assert codes == {200}


def test_by_default_the_eleventh_request_in_flight_is_throttled():
    fake = FakeQuickBooks(clock=SystemClock(), latency=0.3)
    with fake:
        url = f"{base_of(fake)}/customer/1"
        headers = auth(fake)
        with ThreadPoolExecutor(max_workers=14) as pool:
            codes = list(
                pool.map(lambda _: requests.get(url, headers=headers).status_code, range(14))
            )
    assert codes.count(200) >= 1
    assert codes.count(429) >= 1
    assert fake.stats.max_concurrent <= 10


def test_five_hundred_a_minute(clock):
    fake = FakeQuickBooks(clock=clock, governance=QBO_GOVERNANCE)
    with fake:
        url = f"{base_of(fake)}/customer/1"
        for _ in range(500):
            assert requests.get(url, headers=auth(fake)).status_code == 200
            clock.advance(0.11)
        assert requests.get(url, headers=auth(fake)).status_code == 429


def test_injected_server_error_is_a_system_fault(fake):
    fake.inject("server_error", status=503)
    response = requests.get(f"{base_of(fake)}/customer/1", headers=auth(fake))
    assert response.status_code == 503
    error = response.json()["Fault"]["Error"][0]
    assert error["code"] == "10000"
    assert response.json()["Fault"]["type"] == "SystemFault"
    assert "intuit_tid" in response.headers


def test_a_lost_response_is_recovered_by_requestid(fake):
    fake.inject("lose_response")
    body = invoice_body(("x", 10))
    with pytest.raises(requests.ConnectionError):
        create(fake, "Invoice", body, requestid="lost-1")
    assert len(fake.records("Invoice")) == 1  # committed before the connection died
    retry = create(fake, "Invoice", body, requestid="lost-1")
    assert retry.status_code == 200
    assert retry.json()["Invoice"]["Id"] == fake.records("Invoice")[0]["Id"]
    assert len(fake.records("Invoice")) == 1


# -- loopback serving ---------------------------------------------------------------------------


def test_the_whole_flow_over_loopback_http(clock):
    fake = FakeQuickBooks(clock=clock, governance=None)
    base = fake.serve()
    try:
        grant = fake.authorize()
        basic = base64.b64encode(
            f"{fake.credentials.client_id}:{fake.credentials.client_secret}".encode()
        )
        tokens = requests.post(
            base + "/oauth2/v1/tokens/bearer",
            data={
                "grant_type": "authorization_code",
                "code": grant.code,
                "redirect_uri": fake.credentials.redirect_uri,
            },
            headers={"Authorization": "Basic " + basic.decode()},
        ).json()
        headers = {
            "Authorization": f"Bearer {tokens['access_token']}",
            "Accept": "application/json",
        }
        api = f"{base}/v3/company/{grant.realm_id}"
        created = requests.post(
            api + "/customer", json={"DisplayName": "Served Co"}, headers=headers
        )
        assert created.status_code == 200
        assert created.headers["intuit_tid"]
        found = requests.get(
            api + "/query",
            params={"query": "select * from Customer where DisplayName = 'Served Co'"},
            headers=headers,
        )
        assert (
            found.json()["QueryResponse"]["Customer"][0]["Id"] == created.json()["Customer"]["Id"]
        )
    finally:
        fake.shutdown()


def test_constructor_validates(clock):
    with pytest.raises(ConfigurationError):
        FakeQuickBooks(realm_id="not-digits")
    with pytest.raises(ConfigurationError):
        FakeQuickBooks(refresh_grace_seconds=-1)
    assert "9130350000000000" in repr(FakeQuickBooks(clock=clock))
