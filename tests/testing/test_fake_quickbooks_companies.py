"""Several companies (realm ids) in one FakeQuickBooks, over raw HTTP and the controls.

Each company has its own books, preferences, token pair (refused on every other
company, as Intuit answers 403) and limits (Intuit counts per company and app).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from erpsync import Customer
from erpsync.errors import ConfigurationError
from erpsync.testing import FakeClock, FakeQuickBooks, Governance, Window, connect_quickbooks
from erpsync.testing.quickbooks import Realm

_JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _api(url: str, token: str, realm: str, path: str, **kwargs: Any) -> requests.Response:
    method = "POST" if "json" in kwargs else "GET"
    return requests.request(
        method,
        f"{url}/v3/company/{realm}/{path}",
        headers={**_JSON, "Authorization": f"Bearer {token}"},
        timeout=10,
        **kwargs,
    )


@pytest.fixture
def served():
    fake = FakeQuickBooks(clock=FakeClock(), governance=None)
    second = fake.add_company(name="Second Co")
    url = fake.serve()
    yield fake, url, second
    fake.shutdown()


def test_each_company_has_its_own_books_and_tokens(served):
    fake, url, second = served
    first = fake.credentials
    assert second.realm_id != first.realm_id
    assert second.client_id == first.client_id  # one app, connected to two companies
    made = _api(url, second.access_token, second.realm_id, "customer", json={"DisplayName": "B"})
    assert made.status_code == 200
    assert [c["DisplayName"] for c in fake.records("Customer", second.realm_id)][-1] == "B"
    assert "B" not in [c["DisplayName"] for c in fake.records("Customer")]
    # the same name is free in the other company: names are unique per company
    again = _api(url, first.access_token, first.realm_id, "customer", json={"DisplayName": "B"})
    assert again.status_code == 200
    info = _api(url, second.access_token, second.realm_id, f"companyinfo/{second.realm_id}")
    assert info.json()["CompanyInfo"]["CompanyName"] == "Second Co"


def test_a_token_of_one_company_is_refused_on_another(served):
    fake, url, second = served
    wrong = _api(url, second.access_token, fake.realm_id, "customer/1")
    assert wrong.status_code == 403
    assert wrong.json()["fault"]["error"][0]["code"] == "3100"
    unknown = _api(url, second.access_token, "1234", "customer/1")
    assert unknown.status_code == 403


def test_preferences_are_per_company(served):
    fake, url, second = served
    fake.set_preferences({"SalesFormsPrefs": {"CustomTxnNumbers": True}}, second.realm_id)
    prefs = _api(url, second.access_token, second.realm_id, "preferences").json()
    assert prefs["Preferences"]["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    assert fake.preferences()["SalesFormsPrefs"]["CustomTxnNumbers"] is False


def test_refreshing_one_company_leaves_the_other_connected(served):
    fake, url, second = served
    answer = requests.post(
        f"{url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": second.refresh_token},
        auth=(second.client_id, second.client_secret),
        timeout=10,
    ).json()
    fresh = answer["access_token"]
    assert _api(url, fresh, second.realm_id, "customer/1").status_code == 200
    assert _api(url, fresh, fake.realm_id, "customer/1").status_code == 403
    assert _api(url, fake.credentials.access_token, fake.realm_id, "customer/1").ok


def test_limits_are_counted_per_company():
    limits = Governance(windows=(Window(2, 60),))
    fake = FakeQuickBooks(clock=FakeClock(), governance=limits)
    second = fake.add_company()
    url = fake.serve()
    try:
        first = fake.credentials
        codes = [
            _api(url, first.access_token, first.realm_id, "customer/1").status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        # the other company still has its whole allowance
        other = _api(url, second.access_token, second.realm_id, "customer/1")
        assert other.status_code == 200
    finally:
        fake.shutdown()


def test_control_endpoints_add_list_and_drive_one_company(served):
    fake, url, _ = served
    made = requests.post(
        f"{url}/_erpsync/companies", json={"realm_id": "4620816365000000", "seed_data": False}
    )
    assert made.status_code == 201
    third = made.json()
    assert third["realm_id"] == "4620816365000000"
    listed = requests.get(f"{url}/_erpsync/companies").json()["companies"]
    assert [c["realm_id"] for c in listed] == [*fake.realm_ids]
    base = f"{url}/_erpsync/companies/{third['realm_id']}"
    assert requests.get(f"{base}/records/Customer").json() == {"Customer": []}
    seeded = requests.post(f"{base}/seed", json={"Customer": [{"DisplayName": "Seeded"}]})
    assert seeded.json()["Customer"][0]["DisplayName"] == "Seeded"
    prefs = requests.post(f"{base}/preferences", json={"SalesFormsPrefs": {"AllowDeposit": True}})
    assert prefs.json()["SalesFormsPrefs"]["AllowDeposit"] is True
    creds = requests.get(f"{base}/credentials").json()
    customers = _api(
        url,
        creds["access_token"],
        third["realm_id"],
        "query",
        params={"query": "select * from Customer"},
    ).json()
    assert [c["DisplayName"] for c in customers["QueryResponse"]["Customer"]] == ["Seeded"]
    assert requests.post(f"{base}/reset").status_code == 204
    assert requests.get(f"{base}/records/Customer").json() == {"Customer": []}
    assert requests.get(f"{url}/_erpsync/companies/999/records/Customer").status_code == 404


def test_a_seed_the_rules_refuse_names_the_record_and_field(served):
    _, url, second = served
    base = f"{url}/_erpsync/companies/{second.realm_id}"
    refused = requests.post(f"{base}/seed", json={"Invoice": [{"Line": []}]})
    assert refused.status_code == 400
    assert "Invoice #1" in refused.json()["error"]


def test_faults_can_target_one_company(served):
    fake, url, second = served
    hit = requests.post(
        f"{url}/_erpsync/companies/{second.realm_id}/faults",
        data=json.dumps({"kind": "server_error", "status": 503}),
    )
    assert hit.status_code == 204
    assert _api(url, fake.credentials.access_token, fake.realm_id, "customer/1").ok
    assert _api(url, second.access_token, second.realm_id, "customer/1").status_code == 503
    assert _api(url, second.access_token, second.realm_id, "customer/1").ok


def test_reset_keeps_the_companies_and_reissues_their_tokens():
    fake = FakeQuickBooks(clock=FakeClock())
    second = fake.add_company()
    fake.seed_records({"Customer": [{"DisplayName": "Gone after reset"}]}, second.realm_id)
    fake.reset()
    assert fake.realm_ids == (fake.realm_id, second.realm_id)
    assert fake.credentials_for(second.realm_id) == second
    names = [c["DisplayName"] for c in fake.records("Customer", second.realm_id)]
    assert "Gone after reset" not in names


def test_backends_per_company_in_process():
    fake = FakeQuickBooks(clock=FakeClock())
    second = fake.add_company()
    with fake:
        fake.backend(realm_id=second.realm_id).create_customer(Customer(name="Only in second"))
        assert fake.backend().find_customer("Only in second") is None
    url = fake.serve()
    try:
        found = connect_quickbooks(url, second).find_customer("Only in second")
        assert found is not None
    finally:
        fake.shutdown()


def test_webhooks_name_the_company_of_each_change():
    fake = FakeQuickBooks(clock=FakeClock())
    second = fake.add_company()
    bodies: list[bytes] = []
    fake.webhooks.subscribe(lambda body, headers: bodies.append(body) or 200, shape="legacy")
    fake.seed_records({"Customer": [{"DisplayName": "W"}]}, second.realm_id)
    fake.webhooks.flush()
    notes = json.loads(bodies[0])["eventNotifications"]
    assert [n["realmId"] for n in notes] == [second.realm_id]


def test_bad_company_arguments_are_configuration_errors():
    fake = FakeQuickBooks()
    with pytest.raises(ConfigurationError, match="digits"):
        fake.add_company("abc")
    with pytest.raises(ConfigurationError, match="already exists"):
        fake.add_company(fake.realm_id)
    with pytest.raises(ConfigurationError, match="no company"):
        fake.records("Customer", "42")


def test_consent_for_another_company_gives_its_tokens(served):
    fake, url, second = served
    grant = fake.authorize(realm_id=second.realm_id)
    assert grant.realm_id == second.realm_id
    answer = requests.post(
        f"{url}/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": grant.code,
            "redirect_uri": second.redirect_uri,
        },
        auth=(second.client_id, second.client_secret),
        timeout=10,
    ).json()
    assert _api(url, answer["access_token"], second.realm_id, "customer/1").ok
    assert _api(url, answer["access_token"], fake.realm_id, "customer/1").status_code == 403


def test_realm_gives_a_companys_books_and_credentials():
    fake = FakeQuickBooks()
    second = fake.add_company(seed_data=False)
    realm = fake.realm(second.realm_id)
    assert isinstance(realm, Realm)
    assert realm.credentials == second
    assert realm.company.all("Customer") == []
    assert fake.realm().company is fake.company
    assert repr(fake).startswith(f"FakeQuickBooks(realm_id={fake.realm_id!r}, 1 more")
