"""A served FakeQuickBooks for other processes and languages; the first-hour controls."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from erpsync.errors import ConfigurationError
from erpsync.testing import QBO_GOVERNANCE, FakeClock, FakeQuickBooks

_WORKER = """
import pickle, sys
from erpsync.testing import connect_quickbooks
url, credentials = pickle.loads(sys.stdin.buffer.read())
print(connect_quickbooks(url, credentials).get_customer("1").name)
"""


_SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def served():
    fake = FakeQuickBooks(governance=None)
    url = fake.serve()
    yield fake, url
    fake.shutdown()


def test_a_worker_process_builds_its_backend_from_url_and_credentials(served):
    fake, url = served
    payload = pickle.dumps((url, fake.credentials))
    env = {**os.environ, "PYTHONPATH": _SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    worker = subprocess.run(
        [sys.executable, "-c", _WORKER], input=payload, capture_output=True, env=env, timeout=60
    )
    assert worker.returncode == 0, worker.stderr.decode()
    assert worker.stdout.decode().strip() == "Amy's Bird Sanctuary"


def test_control_endpoints_drive_the_emulator_over_http(served):
    fake, url = served
    creds = requests.get(f"{url}/_erpsync/credentials").json()
    assert creds["realm_id"] == fake.realm_id
    changed = requests.post(
        f"{url}/_erpsync/preferences", json={"SalesFormsPrefs": {"CustomTxnNumbers": True}}
    )
    assert changed.json()["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    names = [
        c["DisplayName"]
        for c in requests.get(f"{url}/_erpsync/records/Customer").json()["Customer"]
    ]
    assert "Cool Cars" in names
    assert requests.post(f"{url}/_erpsync/faults", json={"kind": "server_error"}).status_code == 204
    data = f"{url}/v3/company/{fake.realm_id}/customer/1"
    headers = {"Authorization": f"Bearer {creds['access_token']}"}
    assert requests.get(data, headers=headers).status_code == 503
    assert requests.get(data, headers=headers).status_code == 200
    assert requests.post(f"{url}/_erpsync/reset").status_code == 204
    assert fake.preferences()["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    bad = requests.post(f"{url}/_erpsync/faults", json={"kind": "nonsense"})
    assert bad.status_code == 400
    assert requests.get(f"{url}/_erpsync/nothing").status_code == 404


def test_control_endpoints_are_not_on_the_intuit_hosts():
    with FakeQuickBooks(clock=FakeClock()):
        answer = requests.get("https://quickbooks.api.intuit.com/_erpsync/credentials")
    assert answer.status_code == 404


def test_set_preferences_custom_numbers_and_home_currency():
    fake = FakeQuickBooks(clock=FakeClock(), governance=None)
    fake.set_preferences({"SalesFormsPrefs": {"CustomTxnNumbers": True}})
    fake.set_preferences(
        {"CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "CAD"}}}
    )
    prefs = fake.preferences()
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    assert prefs["CurrencyPrefs"]["HomeCurrency"] == {"value": "CAD"}
    with pytest.raises(ConfigurationError) as raised:
        fake.set_preferences({"CurrencyPrefs": {"MultiCurrencyEnabled": False}})
    assert "Multicurrency" in str(raised.value)
    with fake:
        invoice = fake.backend().client.create(
            "Invoice",
            {
                "CustomerRef": {"value": "1"},
                "CurrencyRef": {"value": "USD"},
                "Line": [
                    {"DetailType": "SalesItemLineDetail", "Amount": 5, "SalesItemLineDetail": {}}
                ],
            },
        )
    assert "DocNumber" not in invoice


def test_authorize_accepts_an_authorization_url():
    fake = FakeQuickBooks(clock=FakeClock())
    creds = fake.credentials
    url = (
        "https://appcenter.intuit.com/connect/oauth2?client_id="
        f"{creds.client_id}&response_type=code&scope=com.intuit.quickbooks.accounting"
        f"&redirect_uri={creds.redirect_uri}&state=abc123"
    )
    grant = fake.authorize(url)
    assert (grant.state, grant.realm_id) == ("abc123", fake.realm_id)
    with pytest.raises(ConfigurationError):
        fake.authorize(url.replace(creds.client_id, "someone-else"))


def test_the_first_429_explains_the_emulated_limit_once(caplog):
    fake = FakeQuickBooks(clock=FakeClock(), governance=QBO_GOVERNANCE)
    caplog.set_level(logging.WARNING, logger="erpsync.testing")
    with fake:
        headers = {"Authorization": f"Bearer {fake.credentials.access_token}"}
        base = f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}/customer/1"
        statuses = [requests.get(base, headers=headers).status_code for _ in range(14)]
    assert statuses.count(429) >= 2
    explained = [r for r in caplog.records if "10 requests a second" in r.getMessage()]
    assert len(explained) == 1
    assert "governance=None" in explained[0].getMessage()


def test_a_served_upload_is_downloaded_from_its_temporary_url(served):
    fake, url = served
    base = f"{url}/v3/company/{fake.realm_id}"
    headers = {"Authorization": f"Bearer {fake.credentials.access_token}"}
    data = bytes(range(256)) * 400  # binary, sent raw by requests' files=
    answer = requests.post(
        base + "/upload",
        headers=headers,
        files={"file_content_0": ("scan.bin", data, "application/octet-stream")},
    )
    assert answer.status_code == 200, answer.text
    made = answer.json()["AttachableResponse"][0]["Attachable"]
    assert made["Size"] == len(data) and made["TempDownloadUri"].startswith(url)
    assert requests.get(made["TempDownloadUri"]).content == data
