"""WIRE.md's corrected QuickBooks facts, over raw HTTP: query limits, CDC cap,
Preferences sections, ``include=invoiceLink``, OpenID."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests

from erpsync.quickbooks import wire
from erpsync.testing import FakeClock, FakeQuickBooks


@pytest.fixture
def fake():
    emulator = FakeQuickBooks(clock=FakeClock(), governance=None)
    with emulator:
        yield emulator


def call(fake: FakeQuickBooks, method: str, path: str, **kwargs: Any) -> requests.Response:
    base = f"{wire.PRODUCTION_URL}/v3/company/{fake.realm_id}"
    headers = {"Authorization": f"Bearer {fake.credentials.access_token}"}
    return requests.request(method, base + path, headers=headers, **kwargs)


def query(fake: FakeQuickBooks, text: str) -> requests.Response:
    return call(fake, "GET", "/query", params={"query": text})


@pytest.mark.parametrize(
    ("text", "prop"),
    [
        ("select * from Invoice where PrivateNote = 'x'", "PrivateNote"),
        ("select * from PurchaseOrder where VendorRef = '1'", "VendorRef"),
        ("select * from Invoice orderby PrivateNote", "PrivateNote"),
    ],
)
def test_non_filterable_fields_get_4001_naming_the_property(fake, text, prop):
    answer = query(fake, text)
    assert answer.status_code == 400
    error = answer.json()["Fault"]["Error"][0]
    assert error["code"] == wire.QUERY_VALIDATION_ERROR
    assert prop in error["Detail"]


def test_filterable_fields_still_work(fake):
    for text in (
        "select * from Invoice where CustomerRef = '1' and TxnDate >= '2026-01-01'",
        "select * from PurchaseOrder where TxnDate = '2026-01-01'",
        "select * from Payment where MetaData.LastUpdatedTime > '2026-01-01T00:00:00Z'",
    ):
        assert query(fake, text).status_code == 200, text


def test_not_equal_filters_though_intuit_does_not_list_it(fake):
    # Undocumented, but the service takes it: Microsoft's QuickBooks migration extension
    # and python-quickbooks' integration suite send it to live companies.
    answer = query(fake, "select * from Customer where Id != '1' and Active = true")
    assert answer.status_code == 200, answer.text
    ids = [c["Id"] for c in answer.json()["QueryResponse"]["Customer"]]
    assert ids and "1" not in ids
    every = query(fake, "select count(*) from Customer").json()["QueryResponse"]["totalCount"]
    assert len(ids) == every - 1
    lone = query(fake, "select * from Customer where Id ! '1'")
    assert lone.status_code == 400
    assert lone.json()["Fault"]["Error"][0]["code"] == wire.QUERY_PARSER_ERROR


def test_select_star_and_named_fields(fake):
    answer = query(fake, "SELECT *, Sku FROM Item ORDER BY Name STARTPOSITION 1 MAXRESULTS 2")
    assert answer.status_code == 200, answer.text
    items = answer.json()["QueryResponse"]["Item"]
    assert len(items) == 2 and "Type" in items[0]
    count = query(fake, "select count(*) from Item where Name IN ('Services', 'Nope')")
    assert count.json()["QueryResponse"]["totalCount"] == 1


def test_cdc_caps_the_whole_answer_not_each_entity(fake):
    for kind in ("Customer", "Vendor"):
        for start in range(0, 600, 30):
            batch = [
                {"bId": str(n), "operation": "create", kind: {"DisplayName": f"{kind} {n}"}}
                for n in range(start, start + 30)
            ]
            assert call(fake, "POST", "/batch", json={"BatchItemRequest": batch}).ok
    answer = call(
        fake,
        "GET",
        "/cdc",
        params={"entities": "Customer,Vendor", "changedSince": "2026-10-15T00:00:00Z"},
    )
    responses = answer.json()["CDCResponse"][0]["QueryResponse"]
    sizes = [
        len(r.get(kind, [])) for r, kind in zip(responses, ("Customer", "Vendor"), strict=True)
    ]
    assert sum(sizes) == wire.CDC_LIMIT
    assert sizes == [604, 396]  # the earliest changes (4 seeded customers) are kept


def test_preferences_have_every_section(fake):
    prefs = call(fake, "GET", "/preferences").json()["Preferences"]
    assert set(wire.PREFERENCE_SECTIONS) <= set(prefs)


def test_invoice_link_on_request(fake):
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 5,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }
    made = call(fake, "POST", "/invoice", json={"CustomerRef": {"value": "1"}, "Line": [line]})
    invoice_id = made.json()["Invoice"]["Id"]
    plain = call(fake, "GET", f"/invoice/{invoice_id}").json()["Invoice"]
    assert "InvoiceLink" not in plain
    linked = call(fake, "GET", f"/invoice/{invoice_id}", params={"include": "invoiceLink"})
    assert linked.json()["Invoice"]["InvoiceLink"].startswith("https://")


def test_openid_id_token_is_signed_with_the_published_key(fake):
    creds = fake.credentials
    grant = fake.authorize(scope="com.intuit.quickbooks.accounting openid email")
    answer = requests.post(
        wire.TOKEN_URL,
        data={
            "grant_type": "authorization_code",
            "code": grant.code,
            "redirect_uri": creds.redirect_uri,
        },
        auth=(creds.client_id, creds.client_secret),
    ).json()
    discovery = requests.get(wire.DISCOVERY_URLS["sandbox"]).json()
    keys = jwt.PyJWKSet.from_dict(requests.get(discovery["jwks_uri"]).json())
    kid = jwt.get_unverified_header(answer["id_token"])["kid"]
    claims = jwt.decode(
        answer["id_token"], keys[kid].key, algorithms=["RS256"], audience=creds.client_id
    )
    assert (claims["iss"], claims["realmid"]) == (wire.OPENID_ISSUER, fake.realm_id)
    info = requests.get(
        discovery["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {answer['access_token']}"},
    )
    assert info.json()["sub"] == claims["sub"]
    refreshed = requests.post(
        wire.TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]},
        auth=(creds.client_id, creds.client_secret),
    ).json()
    assert "id_token" not in refreshed
