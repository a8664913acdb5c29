"""Acceptance: unmodified python-quickbooks + intuit-oauth against FakeQuickBooks.

Nothing here is erpsync's client: Intuit's own OAuth library fetches the discovery
document, builds the consent URL and exchanges the code, and python-quickbooks creates
and reads records, all against the real Intuit hosts, which the emulator intercepts.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.quickbooks import FakeQuickBooks
from quickbooks import QuickBooks


@pytest.fixture
def fake():
    emulator = FakeQuickBooks(clock=FakeClock(), governance=None)
    with emulator:
        yield emulator


def connect(fake: FakeQuickBooks) -> tuple[AuthClient, QuickBooks]:
    """The consent flow exactly as an app runs it, with a 'browser' following the URL."""
    creds = fake.credentials
    auth_client = AuthClient(creds.client_id, creds.client_secret, creds.redirect_uri, "sandbox")
    url = auth_client.get_authorization_url([Scopes.ACCOUNTING])
    redirect = requests.get(url, allow_redirects=False)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert query["state"] == [auth_client.state_token]
    auth_client.get_bearer_token(query["code"][0], realm_id=query["realmId"][0])
    client = QuickBooks(
        auth_client=auth_client,
        refresh_token=auth_client.refresh_token,
        company_id=auth_client.realm_id,
        minorversion=75,
    )
    return auth_client, client


def test_python_quickbooks_creates_a_customer_and_an_invoice(fake):
    _, client = connect(fake)
    customer = Customer()
    customer.DisplayName = "Third Party Co"
    customer.save(qb=client)
    assert customer.Id

    line = SalesItemLine()
    line.Amount = 1250
    line.Description = "Job 1042"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = Item.get(1, qb=client).to_ref()
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line.append(line)
    invoice.save(qb=client)

    assert invoice.Id
    stored = [i for i in fake.records("Invoice") if i["Id"] == invoice.Id]
    assert stored[0]["CustomerRef"] == {"value": customer.Id, "name": "Third Party Co"}
    assert any(c["DisplayName"] == "Third Party Co" for c in fake.records("Customer"))
    assert all(r.minor_version == 75 for r in fake.requests)

    fetched = Invoice.get(invoice.Id, qb=client)
    assert fetched.DocNumber == "1001"
    assert float(fetched.TotalAmt) == float(fetched.Balance) == 1250.0
    found = Customer.filter(DisplayName="Third Party Co", qb=client)
    assert [c.Id for c in found] == [customer.Id]
    assert client.download_pdf("Invoice", invoice.Id).startswith(b"%PDF")


def test_python_quickbooks_sees_real_faults(fake):
    _, client = connect(fake)
    duplicate = Customer()
    duplicate.DisplayName = "Cool Cars"
    with pytest.raises(QuickbooksException) as raised:
        duplicate.save(qb=client)
    assert raised.value.error_code == 6240
    assert "Another customer is already using this name" in raised.value.detail


def test_python_quickbooks_updates_and_change_data_capture(fake):
    _, client = connect(fake)
    customer = Customer.get(3, qb=client)
    customer.CompanyName = "Cool Cars Inc"
    customer.save(qb=client)
    assert Customer.get(3, qb=client).SyncToken == "1"
    since = datetime(2026, 10, 31, tzinfo=UTC) - timedelta(days=1)
    changes = change_data_capture([Customer], since, qb=client)
    assert any(c.Id == "3" for c in changes.Customer)


def test_intuit_oauth_refresh_rotation_and_revoke(fake):
    auth_client, _ = connect(fake)
    first_refresh = auth_client.refresh_token
    auth_client.refresh()
    assert auth_client.refresh_token != first_refresh
    with pytest.raises(AuthClientError) as raised:
        auth_client.refresh(refresh_token=first_refresh)
    assert raised.value.status_code == 400
    assert auth_client.revoke() is True
    with pytest.raises(AuthClientError):
        auth_client.refresh()


def test_python_quickbooks_without_minorversion_is_served_as_75(fake):
    auth_client, _ = connect(fake)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = QuickBooks(
            auth_client=auth_client,
            refresh_token=auth_client.refresh_token,
            company_id=auth_client.realm_id,
            minorversion=40,
        )
    Customer.get(1, qb=client)
    assert (fake.requests[-1].requested_minor_version, fake.requests[-1].minor_version) == (
        "40",
        75,
    )
