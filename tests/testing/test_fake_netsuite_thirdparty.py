"""Acceptance: unmodified third-party clients talk to the served FakeNetSuite.

requests-oauthlib's OAuth1Session and the `netsuite` package (httpx + authlib) sign
exactly as they would for the real NetSuite (HMAC-SHA256, upper-case realm); nothing
here knows about erpsync's own client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from netsuite.exceptions import NetsuiteAPIRequestError
from netsuite.rest_api import NetSuiteRestApi
from requests_oauthlib import OAuth1Session

from erpsync.testing.netsuite import FakeNetSuite
from netsuite import Config, TokenAuth


def test_oauth1session_reads_a_record_and_runs_suiteql() -> None:
    fake = FakeNetSuite()  # real time: the client stamps requests with time.time()
    url = fake.serve()
    try:
        creds = fake.credentials
        session = OAuth1Session(
            creds.consumer_key,
            client_secret=creds.consumer_secret,
            resource_owner_key=creds.token_id,
            resource_owner_secret=creds.token_secret,
            signature_method="HMAC-SHA256",
            realm="1234567_SB1",
        )
        record = session.get(
            f"{url}/services/rest/record/v1/customer/eid:cust-acme",
            params={"expandSubResources": "true"},
        )
        assert record.status_code == 200, record.text
        assert record.json()["companyName"] == "Acme Robotics"

        query = session.post(
            f"{url}/services/rest/query/v1/suiteql",
            params={"limit": 10, "offset": 0},
            json={
                "q": "SELECT id, tranid, status FROM transaction WHERE type = 'PurchOrd' "
                "ORDER BY id"
            },
            headers={"Prefer": "transient"},
        )
        assert query.status_code == 200, query.text
        body = query.json()
        assert body["totalResults"] == 3
        assert [row["status"] for row in body["items"]] == ["B", "D", "F"]
        assert all(
            isinstance(value, str)
            for row in body["items"]
            for key, value in row.items()
            if key != "links"
        )
        assert [attempt.success for attempt in fake.login_audit_trail] == [True, True]
    finally:
        fake.shutdown()


# -- the `netsuite` package (jacobsvante/netsuite), unmodified, over the served emulator ------


class _Served(NetSuiteRestApi):  # type: ignore[misc]
    """The package builds ``https://<account>.suitetalk.api.netsuite.com``; the only change
    is the host, which is configuration in any client."""

    served: str = ""

    def _make_url(self, subpath: str) -> str:
        return f"{self.served}/services/rest{subpath}"


@pytest.fixture
def rest_api() -> Iterator[_Served]:
    fake = FakeNetSuite()
    url = fake.serve()
    creds = fake.credentials
    config = Config(
        account=creds.account_id,
        auth=TokenAuth(
            consumer_key=creds.consumer_key,
            consumer_secret=creds.consumer_secret,
            token_id=creds.token_id,
            token_secret=creds.token_secret,
        ),
    )
    api = _Served(config)
    api.served = url
    try:
        yield api
    finally:
        fake.shutdown()


def test_netsuite_package_record_crud(rest_api: _Served) -> None:
    async def crud() -> None:
        await rest_api.post(
            "/record/v1/customer",
            json={"companyName": "Package Co", "subsidiary": {"id": "1"}, "externalId": "pkg-1"},
        )
        record = await rest_api.get("/record/v1/customer/eid:pkg-1")
        assert record["companyName"] == "Package Co"
        await rest_api.patch(f"/record/v1/customer/{record['id']}", json={"email": "a@pkg.example"})
        assert (await rest_api.get(f"/record/v1/customer/{record['id']}"))[
            "email"
        ] == "a@pkg.example"
        await rest_api.delete(f"/record/v1/customer/{record['id']}")
        with pytest.raises(NetsuiteAPIRequestError):
            await rest_api.get(f"/record/v1/customer/{record['id']}")

    asyncio.run(crud())


def test_netsuite_package_suiteql_pages(rest_api: _Served) -> None:
    async def pages() -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            page = await rest_api.suiteql(
                "SELECT id FROM transaction ORDER BY id", limit=2, offset=offset
            )
            ids.extend(row["id"] for row in page["items"])
            if not page["hasMore"]:
                return ids
            offset += 2

    ids = asyncio.run(pages())
    assert len(ids) == len(set(ids)) >= 5 and ids == sorted(ids, key=int)


def test_netsuite_package_openapi_and_jsonschema(rest_api: _Served) -> None:
    openapi = asyncio.run(rest_api.openapi(["purchaseOrder", "invoice"]))
    assert openapi["openapi"].startswith("3.")
    assert set(openapi["components"]["schemas"]) == {"purchaseOrder", "invoice"}
    assert "/purchaseOrder/{id}" in openapi["paths"]
    order = openapi["components"]["schemas"]["purchaseOrder"]["properties"]
    assert {"orderStatus", "status", "entity", "item"} <= set(order)
    assert order["orderStatus"]["readOnly"] is True
    everything = asyncio.run(rest_api.openapi())
    assert {"customer", "salesTaxItem", "inventoryItem"} <= set(everything["components"]["schemas"])

    schema = asyncio.run(rest_api.jsonschema("invoice"))
    assert schema["title"] == "Invoice"
    line = schema["properties"]["item"]["properties"]["items"]["items"]["properties"]
    assert line["amount"]["type"] == "number" and line["taxCode"]["type"] == "object"
    assert schema["properties"]["tranDate"] == {
        "type": "string",
        "format": "date",
        "title": "tranDate",
    }
    with pytest.raises(NetsuiteAPIRequestError):
        asyncio.run(rest_api.jsonschema("notARecordType"))


def test_netsuite_package_reads_catalog_and_governance_limits(rest_api: _Served) -> None:
    catalog = asyncio.run(rest_api.get("/record/v1/metadata-catalog"))
    names = {item["name"] for item in catalog["items"]}
    assert {"customer", "invoice", "purchaseOrder", "salesTaxItem"} <= names
    limits = asyncio.run(rest_api.get("/system/v1/governanceLimits"))
    assert limits == {
        "accountConcurrencyLimit": 5,
        "accountUnallocatedConcurrencyLimit": 5,
        "integrationLimitType": "accountLimit",
    }
