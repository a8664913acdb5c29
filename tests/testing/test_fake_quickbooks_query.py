"""FakeQuickBooks' query language, batch and change data capture, over raw HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from erpsync.testing.core.emulator import FakeClock, Governance, Window
from erpsync.testing.quickbooks import QBO_GOVERNANCE, FakeQuickBooks
from erpsync.testing.quickbooks.errors import QboFault
from erpsync.testing.quickbooks.query import parse_query


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock):
    emulator = FakeQuickBooks(clock=clock, governance=None)
    with emulator:
        yield emulator


@pytest.fixture
def base(fake: FakeQuickBooks) -> str:
    return f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}"


@pytest.fixture
def headers(fake: FakeQuickBooks) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {fake.credentials.access_token}",
        "Accept": "application/json",
    }


def query(base: str, headers: dict[str, str], text: str) -> requests.Response:
    return requests.get(
        base + "/query", params={"query": text, "minorversion": "75"}, headers=headers
    )


def rows(response: requests.Response, entity: str) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["QueryResponse"].get(entity, [])


def create(base: str, headers: dict[str, str], entity: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{base}/{entity.lower()}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()[entity]


def invoice_body(amount: float, customer: str = "1", **fields: Any) -> dict[str, Any]:
    return {
        "CustomerRef": {"value": customer},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
        **fields,
    }


def query_fault(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    return response.json()["Fault"]["Error"][0]


# -- the query language ----------------------------------------------------------------------


def test_select_all_answers_the_documented_envelope(base, headers):
    body = query(base, headers, "SELECT * FROM Customer").json()
    assert set(body) == {"QueryResponse", "time"}
    answer = body["QueryResponse"]
    assert answer["startPosition"] == 1
    assert answer["maxResults"] == 4
    assert [c["Id"] for c in answer["Customer"]] == ["1", "2", "3", "4"]


def test_an_empty_result_has_no_entity_key(base, headers):
    body = query(base, headers, "select * from Invoice where DocNumber = 'nope'").json()
    assert "Invoice" not in body["QueryResponse"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("DisplayName = 'Cool Cars'", ["3"]),
        ("DisplayName = 'cool cars'", ["3"]),
        ("DisplayName LIKE 'B%'", ["2"]),
        ("DisplayName LIKE '%r%'", ["1", "2", "3", "4"]),
        ("DisplayName LIKE '%shop'", ["2"]),
        ("Id IN ('1', '3')", ["1", "3"]),
        ("Id > '2'", ["3", "4"]),
        ("Id >= '2' AND Id <= '3'", ["2", "3"]),
        ("Id < '2'", ["1"]),
        ("GivenName = 'Diego' AND FamilyName = 'Rodriguez'", ["4"]),
        ("PrimaryEmailAddr.Address = 'Surf@Intuit.com'", ["2"]),
    ],
)
def test_where_operators(base, headers, where, expected):
    found = rows(query(base, headers, f"select * from Customer where {where}"), "Customer")
    assert [c["Id"] for c in found] == expected


def test_dotted_metadata_and_reference_fields(base, headers, clock):
    create(base, headers, "Invoice", invoice_body(10, customer="1"))
    clock.advance(600)
    later = create(base, headers, "Invoice", invoice_body(20, customer="2"))
    cutoff = (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=300)).isoformat()
    found = rows(
        query(base, headers, f"select * from Invoice where MetaData.LastUpdatedTime > '{cutoff}'"),
        "Invoice",
    )
    assert [i["Id"] for i in found] == [later["Id"]]
    by_customer = rows(
        query(base, headers, "select * from Invoice where CustomerRef = '2'"), "Invoice"
    )
    assert [i["Id"] for i in by_customer] == [later["Id"]]
    numeric = rows(query(base, headers, "select * from Invoice where TotalAmt > '15.5'"), "Invoice")
    assert [i["Id"] for i in numeric] == [later["Id"]]


def test_orderby_startposition_and_maxresults_page_through(base, headers):
    first = query(
        base,
        headers,
        "select * from Customer orderby DisplayName desc startposition 1 maxresults 3",
    )
    second = query(
        base,
        headers,
        "select * from Customer ORDER BY DisplayName DESC STARTPOSITION 4 MAXRESULTS 3",
    )
    names = [c["DisplayName"] for c in rows(first, "Customer") + rows(second, "Customer")]
    assert names == ["Diego Rodriguez", "Cool Cars", "Bill's Windsurf Shop", "Amy's Bird Sanctuary"]
    assert second.json()["QueryResponse"]["startPosition"] == 4
    assert second.json()["QueryResponse"]["maxResults"] == 1


def test_count_answers_total_count_only(base, headers):
    answer = query(base, headers, "SELECT COUNT(*) FROM Vendor").json()["QueryResponse"]
    assert answer == {"totalCount": 2}


def test_projection_answers_sparse_records(base, headers):
    found = rows(
        query(base, headers, "select DisplayName from Customer where Id = '1'"), "Customer"
    )
    assert found == [
        {"Id": "1", "DisplayName": "Amy's Bird Sanctuary", "domain": "QBO", "sparse": True}
    ]


def test_backslash_escapes_a_quote_in_a_value(base, headers):
    create(base, headers, "Customer", {"DisplayName": "Adam's Candy Shop"})
    found = rows(
        query(base, headers, r"select * from Customer where DisplayName = 'Adam\'s Candy Shop'"),
        "Customer",
    )
    assert [c["DisplayName"] for c in found] == ["Adam's Candy Shop"]
    unescaped = query_fault(
        query(base, headers, "select * from Customer where DisplayName = 'Adam's Candy'")
    )
    assert unescaped["code"] == "4000"


def test_inactive_names_are_hidden_unless_asked_for(base, headers):
    create(
        base, headers, "Customer", {"Id": "4", "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert len(rows(query(base, headers, "select * from Customer"), "Customer")) == 3
    hidden = rows(query(base, headers, "select * from Customer where Active = false"), "Customer")
    assert [c["DisplayName"] for c in hidden] == ["Diego Rodriguez (deleted)"]
    both = rows(
        query(base, headers, "select * from Customer where Active IN (true, false)"), "Customer"
    )
    assert len(both) == 4


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("select * from Customer where Id = '1' OR Id = '2'", "<OR>"),
        ("select * from Invoice join Customer", "<JOIN>"),
        ("select * from Customer where", "<EOF>"),
        ("select from Customer", "Was expecting"),
        ("select * from Customer where Id ~ '1'", "Lexical error"),
    ],
)
def test_unsupported_syntax_is_a_query_parser_error(base, headers, text, detail):
    error = query_fault(query(base, headers, text))
    assert error["code"] == "4000"
    assert error["Message"] == "Error parsing query"
    assert error["Detail"].startswith("QueryParserError: ")
    assert detail in error["Detail"]


def test_or_is_reported_at_its_column(base, headers):
    text = "select * from Customer where Id = '1' OR Id = '2'"
    error = query_fault(query(base, headers, text))
    assert f"column {text.index('OR') + 1}" in error["Detail"]


def test_maxresults_is_capped_at_1000(base, headers):
    assert (
        query_fault(query(base, headers, "select * from Customer maxresults 1001"))["code"]
        == "4001"
    )
    assert query(base, headers, "select * from Customer maxresults 1000").status_code == 200


@pytest.mark.parametrize(
    ("clause", "detail"),
    [
        ("maxresults 1001", "value 1001 is too large. Max allowed value is 1000"),
        ("maxresults 0", "MaxResults should be between 1 and 1000, supplied: 0"),
        ("maxresults -5", "supplied: -5"),
        ("startposition 0", "StartPosition should be at least 1, supplied: 0"),
        ("startposition -1", "supplied: -1"),
    ],
)
def test_paging_values_out_of_range_are_query_validation_errors(base, headers, clause, detail):
    error = query_fault(query(base, headers, f"select * from Customer {clause}"))
    assert (error["code"], error["Message"]) == ("4001", "Invalid query")
    assert error["Detail"] == f"QueryValidationError: {detail}" or detail in error["Detail"]


def test_paging_edges_that_are_allowed(base, headers):
    one = query(base, headers, "select * from Customer startposition 4 maxresults 1")
    assert [c["Id"] for c in rows(one, "Customer")] == ["4"]
    past_the_end = query(base, headers, "select * from Customer startposition 5")
    assert past_the_end.json()["QueryResponse"] == {}
    # count(*) ignores paging and honours WHERE
    counted = query(
        base, headers, "select count(*) from Customer where DisplayName LIKE '%s%' maxresults 1"
    )
    assert counted.json()["QueryResponse"] == {"totalCount": 3}
    none = query(base, headers, "select count(*) from Customer where Id IN ('98', '99')")
    assert none.json()["QueryResponse"] == {"totalCount": 0}


def test_orderby_a_dotted_field(base, headers, clock):
    found = rows(
        query(base, headers, "select * from Customer orderby PrimaryEmailAddr.Address desc"),
        "Customer",
    )
    emails = [c["PrimaryEmailAddr"]["Address"].lower() for c in found]
    assert emails == sorted(emails, reverse=True) and len(emails) == 4
    clock.advance(60)
    create(base, headers, "Customer", {"Id": "2", "SyncToken": "0", "sparse": True})
    newest = rows(
        query(base, headers, "select * from Customer orderby MetaData.LastUpdatedTime desc"),
        "Customer",
    )
    assert newest[0]["Id"] == "2"


def test_like_takes_percent_only_and_backslash_escapes_itself(base, headers):
    name = "Back\\slash_Co"  # one backslash, one underscore
    create(base, headers, "Customer", {"DisplayName": name})
    like = "select * from Customer where DisplayName LIKE "
    everyone = rows(query(base, headers, like + "'%'"), "Customer")
    assert [c["Id"] for c in everyone] == ["1", "2", "3", "4", "5"]
    assert rows(query(base, headers, like + "'Back_slash%'"), "Customer") == []  # no `_`
    # In the query text a backslash is written doubled: 'Back\\slash%'
    escaped = rows(query(base, headers, like + "'back\\\\slash%'"), "Customer")
    assert [c["DisplayName"] for c in escaped] == [name]
    exact = rows(
        query(base, headers, "select * from Customer where DisplayName = 'Back\\\\slash_Co'"),
        "Customer",
    )
    assert [c["Id"] for c in exact] == ["5"]


def test_lower_case_or_is_a_query_parser_error(base, headers):
    error = query_fault(query(base, headers, "select * from Item where Id = '1' or Id = '2'"))
    assert error["code"] == "4000" and "<OR>" in error["Detail"]


def test_unknown_entities_and_line_filters_are_refused(base, headers):
    assert query_fault(query(base, headers, "select * from Spaceship"))["code"] == "4001"
    assert (
        query_fault(query(base, headers, "select * from Invoice where Line.Amount > '1'"))["code"]
        == "4001"
    )


def test_query_by_post_with_application_text(base, headers):
    response = requests.post(
        base + "/query",
        data="select * from Item where Type = 'Inventory'",
        headers={**headers, "Content-Type": "application/text"},
    )
    assert [i["Name"] for i in rows(response, "Item")] == ["Rock Fountain"]


def test_parse_query_normalises_the_entity_and_defaults():
    parsed = parse_query("select * from invoice", ["Invoice", "Customer"])
    assert (parsed.entity, parsed.start_position, parsed.max_results) == ("Invoice", 1, 100)
    with pytest.raises(QboFault) as raised:
        parse_query("   ", ["Invoice"])
    assert raised.value.code == "4000"


# -- batch ----------------------------------------------------------------------------------


def batch(
    base: str, headers: dict[str, str], items: list[dict[str, Any]], **params: str
) -> requests.Response:
    return requests.post(
        base + "/batch", json={"BatchItemRequest": items}, params=params, headers=headers
    )


def test_batch_items_succeed_or_fail_independently(base, headers, fake):
    existing = create(base, headers, "Invoice", invoice_body(5))
    response = batch(
        base,
        headers,
        [
            {"bId": "1", "operation": "create", "Invoice": invoice_body(100)},
            {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Cool Cars"}},
            {
                "bId": "3",
                "operation": "update",
                "Invoice": {
                    "Id": existing["Id"],
                    "SyncToken": "0",
                    "sparse": True,
                    "PrivateNote": "batch",
                },
            },
            {"bId": "4", "Query": "select * from Customer where Id = '1'"},
            {
                "bId": "5",
                "operation": "delete",
                "Invoice": {"Id": existing["Id"], "SyncToken": "0"},
            },
        ],
    )
    assert response.status_code == 200
    answers = {a["bId"]: a for a in response.json()["BatchItemResponse"]}
    assert answers["1"]["Invoice"]["TotalAmt"] == 100
    assert answers["2"]["Fault"]["Error"][0]["code"] == "6240"
    assert answers["2"]["Fault"]["type"] == "ValidationFault"
    assert answers["3"]["Invoice"]["PrivateNote"] == "batch"
    assert answers["4"]["QueryResponse"]["Customer"][0]["Id"] == "1"
    assert answers["5"]["Fault"]["Error"][0]["code"] == "5010"  # item 3 made SyncToken 1
    assert "time" in response.json()
    assert len(fake.records("Invoice")) == 2


def test_batch_holds_at_most_30_items(base, headers, fake):
    items = [
        {"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"Batch {i}"}}
        for i in range(31)
    ]
    response = batch(base, headers, items)
    assert response.status_code == 400
    assert response.json()["Fault"]["type"] == "ValidationFault"
    assert len(fake.records("Customer")) == 4
    assert batch(base, headers, items[:30]).status_code == 200
    assert len(fake.records("Customer")) == 34


def test_batch_requestid_replays_the_whole_batch(base, headers, fake):
    items = [{"bId": "a", "operation": "create", "Invoice": invoice_body(10)}]
    first = batch(base, headers, items, requestid="batch-1")
    second = batch(base, headers, items, requestid="batch-1")
    assert first.json() == second.json()
    assert len(fake.records("Invoice")) == 1
    long_bid = batch(
        base,
        headers,
        [{"bId": "b" * 11, "operation": "create", "Invoice": invoice_body(1)}],
        requestid="batch-2",
    )
    assert long_bid.json()["BatchItemResponse"][0]["Fault"]["Error"][0]["element"] == "bId"
    assert batch(base, headers, items, requestid="r" * 37).status_code == 400


def test_batch_has_its_own_rate_window(clock):
    fake = FakeQuickBooks(clock=clock, governance=QBO_GOVERNANCE)  # the real limits
    with fake:
        base = f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}"
        headers = {"Authorization": f"Bearer {fake.credentials.access_token}"}
        item = [{"bId": "1", "Query": "select * from Customer"}]
        for _ in range(40):
            assert batch(base, headers, item).status_code == 200
            clock.advance(0.5)
        throttled = batch(base, headers, item)
        assert throttled.status_code == 429
        assert throttled.headers["Content-Type"].startswith("application/xml")
        assert requests.get(base + "/customer/1", headers=headers).status_code == 200
        clock.advance(41)
        assert batch(base, headers, item).status_code == 200


# -- change data capture ----------------------------------------------------------------------


def cdc(base: str, headers: dict[str, str], entities: str, since: str) -> requests.Response:
    return requests.get(
        base + "/cdc", params={"entities": entities, "changedSince": since}, headers=headers
    )


def test_cdc_reports_changes_and_deletions_since_a_time(base, headers, clock):
    old = create(base, headers, "Invoice", invoice_body(10))
    clock.advance(600)
    since = datetime.fromtimestamp(clock.now(), UTC).isoformat()
    new = create(base, headers, "Invoice", invoice_body(20))
    create(base, headers, "Customer", {"DisplayName": "CDC Customer"})
    requests.post(
        base + "/invoice",
        json={"Id": old["Id"], "SyncToken": "0"},
        params={"operation": "delete"},
        headers=headers,
    )
    response = cdc(base, headers, "Invoice,Payment,Customer", since)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"CDCResponse", "time"}
    invoices, payments, customers = body["CDCResponse"][0]["QueryResponse"]
    assert [i["Id"] for i in invoices["Invoice"]] == [new["Id"], old["Id"]]
    assert invoices["Invoice"][0]["TotalAmt"] == 20
    assert invoices["Invoice"][1]["status"] == "Deleted"
    assert "Payment" not in payments
    assert [c["DisplayName"] for c in customers["Customer"]] == ["CDC Customer"]


def test_cdc_shows_invoices_changed_by_a_payment(base, headers, clock):
    inv = create(base, headers, "Invoice", invoice_body(100))
    clock.advance(60)
    since = datetime.fromtimestamp(clock.now(), UTC).isoformat()
    create(
        base,
        headers,
        "Payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": 40,
            "Line": [{"Amount": 40, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
        },
    )
    answer = cdc(base, headers, "Invoice", since).json()["CDCResponse"][0]["QueryResponse"][0]
    assert [(i["Id"], i["Balance"]) for i in answer["Invoice"]] == [(inv["Id"], 60)]


def test_cdc_looks_back_at_most_30_days(base, headers, clock):
    now = datetime.fromtimestamp(clock.now(), UTC)
    assert cdc(base, headers, "Invoice", (now - timedelta(days=29)).isoformat()).status_code == 200
    too_old = cdc(base, headers, "Invoice", (now - timedelta(days=31)).isoformat())
    assert too_old.status_code == 400
    assert too_old.json()["Fault"]["Error"][0]["element"] == "changedSince"


def test_cdc_needs_entities_and_a_valid_time(base, headers):
    assert cdc(base, headers, "", "2026-10-30T00:00:00Z").status_code == 400
    assert cdc(base, headers, "Spaceship", "2026-10-30T00:00:00Z").status_code == 400
    assert cdc(base, headers, "Invoice", "yesterday").status_code == 400


def test_cdc_answers_at_most_1000_objects_per_entity(base, headers, clock):
    since = datetime.fromtimestamp(clock.now(), UTC).isoformat()
    for chunk in range(34):
        items = [
            {"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"Bulk {chunk}-{i}"}}
            for i in range(30)
        ]
        assert batch(base, headers, items).status_code == 200
    answer = cdc(base, headers, "Customer", since).json()["CDCResponse"][0]["QueryResponse"][0]
    assert len(answer["Customer"]) == 1000
    assert answer["maxResults"] == 1000


def test_governance_can_be_configured(clock):
    fake = FakeQuickBooks(clock=clock, governance=Governance(windows=(Window(2, 1),)))
    with fake:
        base = f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}"
        headers = {"Authorization": f"Bearer {fake.credentials.access_token}"}
        codes = [query(base, headers, "select * from Item").status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_batch_items_without_a_bid_or_a_valid_query_fail_alone(base, headers, fake):
    response = batch(
        base,
        headers,
        [
            {"operation": "create", "Customer": {"DisplayName": "No bId"}},
            {"bId": "q1", "Query": "select * from Customer where Id = '1' or Id = '2'"},
            {"bId": "q2", "Query": "select count(*) from Customer where Id IN ('1', '2')"},
            {"bId": "q3", "Query": "select * from Customer where Id = '99'"},
            {"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Batch Ok"}},
            {"bId": "c2", "operation": "frob", "Customer": {}},
        ],
    )
    assert response.status_code == 200
    answers = response.json()["BatchItemResponse"]
    assert [a["bId"] for a in answers] == ["", "q1", "q2", "q3", "c1", "c2"]
    assert answers[0]["Fault"]["Error"][0]["element"] == "bId"
    assert answers[1]["Fault"]["Error"][0]["code"] == "4000"
    assert answers[2]["QueryResponse"] == {"totalCount": 2}
    assert answers[3]["QueryResponse"] == {}
    assert answers[4]["Customer"]["DisplayName"] == "Batch Ok"
    assert "Fault" in answers[5]
    assert [c["DisplayName"] for c in fake.records("Customer")].count("No bId") == 0


def test_cdc_since_a_future_time_answers_empty_blocks(base, headers, clock):
    future = datetime.fromtimestamp(clock.now(), UTC) + timedelta(days=1)
    body = cdc(base, headers, "Invoice,Customer", future.isoformat()).json()
    assert body["CDCResponse"] == [{"QueryResponse": [{}, {}]}]


def test_cdc_refuses_an_old_changed_since_in_quickbooks_words(base, headers, clock):
    since = (datetime.fromtimestamp(clock.now(), UTC) - timedelta(days=30, seconds=1)).isoformat()
    error = cdc(base, headers, "Invoice", since).json()["Fault"]["Error"][0]
    assert error["Detail"] == (
        f"Operation cdc with changedSince date {since} which is older than fixed days is not "
        "supported."
    )


def test_cdc_cut_keeps_the_earliest_changes_deletions_included(base, headers, clock, fake):
    """Deletions older than the 1000th change must not be cut off behind newer live
    records: a client resumes from the newest LastUpdatedTime it saw."""
    since = datetime.fromtimestamp(clock.now(), UTC).isoformat()
    doomed = create(base, headers, "Invoice", invoice_body(1))
    clock.advance(1)
    requests.post(
        base + "/invoice",
        json={"Id": doomed["Id"], "SyncToken": "0"},
        params={"operation": "delete"},
        headers=headers,
    )
    clock.advance(1)
    for chunk in range(34):
        items = [
            {"bId": str(i), "operation": "create", "Invoice": invoice_body(2)} for i in range(30)
        ]
        assert batch(base, headers, items).status_code == 200
        clock.advance(1)
    block = cdc(base, headers, "Invoice", since).json()["CDCResponse"][0]["QueryResponse"][0]
    assert len(block["Invoice"]) == 1000
    assert block["Invoice"][-1] == {
        "status": "Deleted",
        "domain": "QBO",
        "Id": doomed["Id"],
        "MetaData": block["Invoice"][-1]["MetaData"],
    }


def test_a_batch_answers_each_query_as_the_books_were_then(
    base: str, headers: dict[str, str]
) -> None:
    """A query answer shares the stored values but not the stored rows: the invoice a
    later item of the same batch creates moves the customer's Balance, and the earlier
    item's answer still shows the Balance it was read with."""
    items = [
        {"bId": "q", "Query": "SELECT * FROM Customer WHERE Id = '1'"},
        {"bId": "c", "operation": "create", "Invoice": invoice_body(40.0)},
        {"bId": "r", "Query": "SELECT * FROM Customer WHERE Id = '1'"},
    ]
    response = requests.post(f"{base}/batch", json={"BatchItemRequest": items}, headers=headers)
    assert response.status_code == 200, response.text
    answers = {a["bId"]: a for a in response.json()["BatchItemResponse"]}
    before = answers["q"]["QueryResponse"]["Customer"][0]["Balance"]
    after = answers["r"]["QueryResponse"]["Customer"][0]["Balance"]
    assert after == before + 40.0
