"""FakeNetSuite's SuiteQL endpoint, over real HTTP with requests-oauthlib."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from ns_support import tba_session
from requests import Response
from requests_oauthlib import OAuth1Session

from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite

PATH = "/services/rest/query/v1/suiteql"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeNetSuite]:
    emulator = FakeNetSuite(clock=clock)
    emulator.serve()
    yield emulator
    emulator.shutdown()


@pytest.fixture
def session(fake: FakeNetSuite) -> OAuth1Session:
    return tba_session(fake)


def run(
    fake: FakeNetSuite, session: OAuth1Session, q: str, prefer: str = "transient", **params: Any
) -> Response:
    return session.post(
        f"{fake.served_url}{PATH}", params=params or None, json={"q": q}, headers={"Prefer": prefer}
    )


def items(response: Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [{k: v for k, v in row.items() if k != "links"} for row in response.json()["items"]]


def test_envelope_paging_and_string_values(fake: FakeNetSuite, session: OAuth1Session) -> None:
    first = run(
        fake, session, "SELECT id, entityid, email FROM customer ORDER BY id", limit=3, offset=0
    )
    body = first.json()
    assert (body["count"], body["hasMore"], body["offset"], body["totalResults"]) == (3, True, 0, 4)
    assert body["items"][0] == {
        "links": [],
        "id": "101",
        "entityid": "Acme Robotics",
        "email": "ap@acme.example",
    }
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert rels["next"] == f"{fake.served_url}{PATH}?limit=3&offset=3"
    second = session.post(
        rels["next"],
        json={"q": "SELECT id, entityid, email FROM customer ORDER BY id"},
        headers={"Prefer": "transient"},
    ).json()
    assert (second["count"], second["hasMore"], second["offset"]) == (1, False, 3)
    assert second["items"][0]["id"] == "104"


def test_nulls_are_left_out_and_columns_are_lower_case(
    fake: FakeNetSuite, session: OAuth1Session
) -> None:
    rows = items(run(fake, session, "SELECT ID, Phone, CompanyName FROM customer WHERE id = 101"))
    assert rows == [{"id": "101", "companyname": "Acme Robotics"}]


def test_limits_offsets_and_the_row_cap(fake: FakeNetSuite, session: OAuth1Session) -> None:
    q = "SELECT id FROM customer"
    assert run(fake, session, q, limit=1001).status_code == 400
    assert run(fake, session, q, limit=0).status_code == 400
    assert run(fake, session, q, limit=2, offset=1).status_code == 400
    fake.suiteql_row_cap = 4
    assert run(fake, session, q, limit=2, offset=2).status_code == 200
    capped = run(fake, session, q, limit=2, offset=4)
    assert capped.status_code == 400
    assert capped.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


def test_only_select_runs_and_bad_sql_is_a_400(fake: FakeNetSuite, session: OAuth1Session) -> None:
    for q in (
        "DELETE FROM customer",
        "UPDATE customer SET email = 'x'",
        "SELECT id FROM customer; DELETE FROM customer",
        "SELECT nosuchcolumn FROM customer",
        "SELECT name FROM sqlite_master",
        "WITH x AS (SELECT 1) DELETE FROM customer",
    ):
        response = run(fake, session, q)
        assert response.status_code == 400, q
        assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
    assert len(fake.records("customer")) == 4
    missing_q = session.post(f"{fake.served_url}{PATH}", json={}, headers={"Prefer": "transient"})
    assert missing_q.status_code == 400


def test_prefer_transient_is_required(fake: FakeNetSuite, session: OAuth1Session) -> None:
    response = run(fake, session, "SELECT id FROM customer", prefer="")
    assert response.status_code == 400


def test_dates_display_like_netsuite_and_functions_translate(
    fake: FakeNetSuite, session: OAuth1Session, clock: FakeClock
) -> None:
    today = datetime.fromtimestamp(clock.now(), tz=UTC)
    shown = f"{today.month}/{today.day}/{today.year}"
    rows = items(
        run(
            fake,
            session,
            "SELECT tranid, trandate, lastmodifieddate AS modified, "
            "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS exact "
            "FROM transaction WHERE id = 1001",
        )
    )
    assert rows[0]["trandate"] == shown
    assert rows[0]["modified"] == shown
    assert rows[0]["exact"] == today.strftime("%Y-%m-%d %H:%M:%S")
    iso = today.strftime("%Y-%m-%d")
    for condition in (
        f"trandate = TO_DATE('{iso}', 'YYYY-MM-DD')",
        f"trandate >= '{shown}'",
        "lastmodifieddate <= SYSDATE",
        "trandate <= CURRENT_DATE",
    ):
        found = items(
            run(fake, session, f"SELECT id FROM transaction WHERE {condition} AND id = 1001")
        )
        assert found == [{"id": "1001"}], condition
    later = items(
        run(
            fake,
            session,
            "SELECT id FROM transaction WHERE lastmodifieddate > "
            "TO_DATE('2999-01-01', 'YYYY-MM-DD')",
        )
    )
    assert later == []


def test_builtin_df_joins_and_fetch_first(fake: FakeNetSuite, session: OAuth1Session) -> None:
    rows = items(
        run(
            fake,
            session,
            "SELECT t.id, BUILTIN.DF(t.status) AS status, BUILTIN.DF(t.entity) AS "
            "vendor, BUILTIN.DF(tl.item) AS item, NVL(tl.quantityshiprecv, 0) AS got "
            "FROM transaction t JOIN transactionline tl ON tl.transaction = t.id "
            "WHERE t.type = 'PurchOrd' AND tl.mainline = 'F' ORDER BY t.id, tl.id "
            "FETCH FIRST 3 ROWS ONLY",
        )
    )
    assert rows == [
        {
            "id": "1001",
            "status": "Purchase Order : Pending Receipt",
            "vendor": "Precision Parts Co.",
            "item": "WIDGET-100",
            "got": "0",
        },
        {
            "id": "1001",
            "status": "Purchase Order : Pending Receipt",
            "vendor": "Precision Parts Co.",
            "item": "SHOP-SUPPLIES",
            "got": "0",
        },
        {
            "id": "1002",
            "status": "Purchase Order : Partially Received",
            "vendor": "Metal Supply Inc.",
            "item": "BRACKET-KIT",
            "got": "8",
        },
    ]


def test_query_helper_and_tables(fake: FakeNetSuite) -> None:
    assert fake.query("SELECT symbol FROM currency WHERE isbasecurrency = 'T'") == [
        {"symbol": "USD"}
    ]
    assert fake.query("SELECT COUNT(*) AS n FROM vendor") == [{"n": "2"}]
    assert fake.query("SELECT name FROM subsidiary") == [{"name": "Honeycomb Mfg."}]
    assert fake.query("SELECT type FROM entity WHERE id = 105") == [{"type": "Vendor"}]


def _links(response: Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {link["rel"]: link["href"] for link in response.json()["links"]}


def test_paging_links_are_the_ones_netsuite_gives(
    fake: FakeNetSuite, session: OAuth1Session
) -> None:
    """Oracle's example: a first page links next, last and self; a link appears only
    when it leads elsewhere, in the order previous, first, next, last, self."""
    q = "SELECT id FROM customer ORDER BY id"
    url = f"{fake.served_url}{PATH}"
    first = run(fake, session, q, limit=1, offset=0)
    assert [link["rel"] for link in first.json()["links"]] == ["next", "last", "self"]
    assert _links(first) == {
        "next": f"{url}?limit=1&offset=1",
        "last": f"{url}?limit=1&offset=3",
        "self": f"{url}?limit=1&offset=0",
    }
    middle = run(fake, session, q, limit=1, offset=2)
    assert [link["rel"] for link in middle.json()["links"]] == [
        "previous",
        "first",
        "next",
        "last",
        "self",
    ]
    assert _links(middle)["previous"] == f"{url}?limit=1&offset=1"
    last = run(fake, session, q, limit=1, offset=3)
    assert [link["rel"] for link in last.json()["links"]] == ["previous", "first", "self"]
    assert last.json()["hasMore"] is False
    single = run(fake, session, q)
    assert [link["rel"] for link in single.json()["links"]] == ["self"]
    body = single.json()
    assert (body["count"], body["hasMore"], body["offset"], body["totalResults"]) == (
        4,
        False,
        0,
        4,
    )
    empty = run(fake, session, "SELECT id FROM customer WHERE id = 0").json()
    assert (empty["count"], empty["hasMore"], empty["totalResults"], empty["items"]) == (
        0,
        False,
        0,
        [],
    )


def test_a_page_stops_at_the_row_cap_and_the_next_one_is_refused(
    fake: FakeNetSuite, session: OAuth1Session
) -> None:
    fake.suiteql_row_cap = 3
    q = "SELECT id FROM customer ORDER BY id"
    first = run(fake, session, q, limit=1000, offset=0)  # a big page is not refused...
    assert [row["id"] for row in items(first)] == ["101", "102", "103"]  # ...but cut
    body = first.json()
    assert (body["count"], body["hasMore"], body["totalResults"]) == (3, True, 4)
    following = session.post(_links(first)["next"], json={"q": q}, headers={"Prefer": "transient"})
    assert following.status_code == 400
    assert following.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
    assert [r["id"] for r in items(run(fake, session, q, limit=2, offset=2))] == ["103"]


def _taxed_inventory_invoice(session: OAuth1Session, fake: FakeNetSuite) -> str:
    """An invoice of 3 WIDGET-100 (an inventory item, cost 4.50) at 10.00, taxed CA-SF
    (8.625%), and one untaxed machining line of 50.00."""
    response = session.post(
        f"{fake.served_url}/services/rest/record/v1/invoice",
        json={
            "entity": {"id": "101"},
            "externalId": "taxed-1",
            "item": {
                "items": [
                    {
                        "item": {"externalId": "item-widget"},
                        "quantity": 3,
                        "rate": 10,
                        "taxCode": {"id": "150"},
                    },
                    {"item": {"externalId": "item-machining"}, "amount": 50},
                ]
            },
        },
    )
    assert response.status_code == 204, response.text
    return str(response.headers["Location"].rsplit("/", 1)[1])


def test_invoice_lines_in_transactionline_are_postings(
    fake: FakeNetSuite, session: OAuth1Session
) -> None:
    """WIRE.md: item lines negative, a main line, a tax line, two COGS lines per
    inventory line; item lines are mainline = taxline = iscogs = 'F'."""
    invoice = _taxed_inventory_invoice(session, fake)
    rows = items(
        run(
            fake,
            session,
            "SELECT id, mainline, taxline, iscogs, item, quantity, foreignamount "
            f"FROM transactionline WHERE transaction = {invoice} ORDER BY linesequencenumber",
        )
    )
    assert [(r["mainline"], r["taxline"], r["iscogs"], r["foreignamount"]) for r in rows] == [
        ("T", "F", "F", "82.59"),  # the receivable: 30 + 50 + 2.59 tax
        ("F", "F", "F", "-30"),
        ("F", "F", "F", "-50"),
        ("F", "T", "F", "-2.59"),  # 8.625% of 30, rounded once for the code
        ("F", "F", "T", "13.5"),  # cost of goods sold: 3 x 4.50
        ("F", "F", "T", "-13.5"),  # out of the inventory asset
    ]
    assert rows[1]["quantity"] == "-3"
    item_lines = items(
        run(
            fake,
            session,
            f"SELECT id FROM transactionline WHERE transaction = {invoice} "
            "AND mainline = 'F' AND taxline = 'F' AND iscogs = 'F'",
        )
    )
    assert len(item_lines) == 2
    rest = session.get(
        f"{fake.served_url}/services/rest/record/v1/invoice/{invoice}",
        params={"expandSubResources": "true"},
    ).json()
    assert (rest["total"], rest["taxTotal"]) == (82.59, 2.59)
    lines = rest["item"]["items"]
    assert [(line["quantity"], line["amount"]) for line in lines] == [(3.0, 30.0), (1.0, 50.0)]
    assert lines[0]["taxCode"]["refName"] == "CA-SF" and "taxCode" not in lines[1]


def test_the_client_reads_item_lines_only_with_their_signs_negated_back(
    fake: FakeNetSuite, session: OAuth1Session
) -> None:
    _taxed_inventory_invoice(session, fake)
    backend = fake.backend()
    (invoice,) = [i for i in backend.iter_invoices() if i.external_id == "taxed-1"]
    assert [(line.amount, line.quantity) for line in invoice.lines] == [
        (Decimal("30"), Decimal("3")),
        (Decimal("50"), Decimal("1")),
    ]


def test_seeded_tax_codes_accounts_and_inventory_item(fake: FakeNetSuite) -> None:
    codes = fake.query("SELECT id, itemid, rate FROM salestaxitem ORDER BY id")
    assert [(c["itemid"], c["rate"]) for c in codes] == [("CA-SF", "8.625"), ("EXEMPT", "0")]
    (widget,) = fake.records("inventoryItem")
    accounts = {a["id"]: a["acctType"]["id"] for a in fake.records("account")}
    assert accounts[widget["cogsAccount"]["id"]] == "COGS"
    assert accounts[widget["assetAccount"]["id"]] == "OthCurrAsset"
    assert accounts[widget["incomeAccount"]["id"]] == "Income"
