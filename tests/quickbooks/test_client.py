"""QuickBooksClient against FakeQuickBooks: the wire rules every call keeps."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from types import MappingProxyType

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync.errors import (
    ConfigurationError,
    ConflictError,
    DuplicateError,
    NotFoundError,
    ServiceError,
)
from erpsync.limits import LocalLimiter
from erpsync.quickbooks.client import BatchItem, QuickBooksClient, dumps
from erpsync.quickbooks.query import Query
from erpsync.testing.core.emulator import clock_datetime
from erpsync.testing.quickbooks import FakeQuickBooks


@pytest.fixture
def client(fake, connect) -> QuickBooksClient:
    return connect(fake).client


def line(amount: str) -> dict[str, object]:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": Decimal(amount),
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }


def writes(fake: FakeQuickBooks) -> list:
    return [r for r in fake.requests if r.method == "POST" and not r.path.endswith("/query")]


def test_every_call_sends_minorversion_and_every_write_a_requestid(client, fake):
    client.read("Customer", "1")
    client.query(Query("Customer"))
    created = client.create("Customer", {"DisplayName": "Minor Co"})
    client.update(
        "Customer", {"Id": created["Id"], "SyncToken": created["SyncToken"], "CompanyName": "M"}
    )
    client.preferences()
    client.company_info()
    assert fake.requests
    assert all(r.requested_minor_version == "75" for r in fake.requests)
    posted = writes(fake)
    assert len(posted) == 2
    assert all(r.request_id and len(r.request_id) <= 50 for r in posted)
    assert posted[0].request_id != posted[1].request_id
    assert all(r.request_id is None for r in fake.requests if r.method == "GET")


def test_sandbox_and_base_url_choose_the_host():
    sandbox = QuickBooksClient("123", None, environment="sandbox")
    assert sandbox.transport.base_url == "https://sandbox-quickbooks.api.intuit.com/v3/company/123"
    local = QuickBooksClient("123", None, base_url="http://127.0.0.1:9999")
    assert local.transport.base_url == "http://127.0.0.1:9999/v3/company/123"
    with pytest.raises(ConfigurationError):
        QuickBooksClient("abc", None)
    with pytest.raises(ConfigurationError):
        QuickBooksClient("123", None, minor_version=70)
    with pytest.raises(ConfigurationError):
        QuickBooksClient("123", None, environment="staging")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["lose_response", "drop", "server_error", "throttle"])
def test_a_retried_write_reuses_its_requestid_and_writes_once(client, fake, kind):
    before = len(fake.records("Invoice"))
    fake.inject(kind, match=lambda r: r.method == "POST")
    created = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [line("42.00")]})
    assert created["TotalAmt"] == Decimal("42.00")
    assert len(fake.records("Invoice")) == before + 1
    ids = {r.request_id for r in writes(fake)}
    assert len(ids) == 1


def test_intuit_tid_is_captured_into_errors(client, fake):
    with pytest.raises(NotFoundError) as caught:
        client.read("Customer", "9999")
    assert caught.value.request_id == fake.requests[-1].intuit_tid
    assert caught.value.code == "610"


def test_update_needs_id_and_synctoken_and_is_sparse(client, fake):
    created = client.create(
        "Customer", {"DisplayName": "Sparse Ltd", "PrimaryEmailAddr": {"Address": "a@b.test"}}
    )
    with pytest.raises(ConfigurationError, match="SyncToken"):
        client.update("Customer", {"Id": created["Id"], "CompanyName": "X"})
    with pytest.raises(ConfigurationError, match="Id"):
        client.update("Customer", {"SyncToken": "0"})
    assert fake.requests[-1].method == "POST"  # nothing sent for the refused ones
    updated = client.update(
        "Customer", {"Id": created["Id"], "SyncToken": created["SyncToken"], "CompanyName": "X"}
    )
    assert updated["PrimaryEmailAddr"] == {"Address": "a@b.test"}  # sparse kept it
    with pytest.raises(ConflictError):
        client.update("Customer", {"Id": created["Id"], "SyncToken": "0", "CompanyName": "Y"})


def test_delete_and_void(client, fake):
    first = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [line("10")]})
    voided = client.void("Invoice", first["Id"], first["SyncToken"])
    assert voided["TotalAmt"] == 0
    deleted = client.delete("Invoice", voided["Id"], voided["SyncToken"])
    assert deleted["status"] == "Deleted"
    invoice = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [line("10")]})
    paid = client.create(
        "Payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": Decimal("10"),
            "Line": [
                {
                    "Amount": Decimal("10"),
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    assert client.void("Payment", paid["Id"], paid["SyncToken"])["TotalAmt"] == 0
    assert fake.requests[-1].params["include"] == ["void"]


def test_long_queries_are_posted_as_application_text(client, fake):
    names = [f"Nobody {i:04d} with a long enough name" for i in range(60)]
    rows = client.query_page(Query("Customer").where_in("DisplayName", names))
    assert rows == []
    assert fake.requests[-1].method == "POST"
    assert fake.requests[-1].path.endswith("/query")
    client.query_page(Query("Customer"))
    assert fake.requests[-1].method == "GET"


def test_queries_with_or_are_refused_before_sending(client, fake):
    sent = len(fake.requests)
    with pytest.raises(ConfigurationError):
        client.query("SELECT * FROM Customer WHERE Id = '1' OR Id = '2'")
    assert len(fake.requests) == sent


def test_paging_past_a_thousand_rows_is_lazy(client, fake):
    items = [BatchItem.create("Customer", {"DisplayName": f"Paged {i:05d}"}) for i in range(2100)]
    results = client.batch(items)
    assert all(r.ok for r in results)
    total = len(fake.records("Customer"))
    assert client.count(Query("Customer")) == total
    sent = len(fake.requests)
    rows = client.iter_query(Query("Customer"))
    assert len(fake.requests) == sent  # nothing fetched until iterated
    first = next(rows)
    assert len(fake.requests) == sent + 1
    rest = list(rows)
    ids = [first["Id"], *[r["Id"] for r in rest]]
    assert len(ids) == total == len(set(ids))
    pages = [r for r in fake.requests[sent:] if r.path.endswith("/query")]
    assert len(pages) == 3
    assert [int(x) for x in ids] == sorted(int(x) for x in ids)


def test_an_exact_multiple_of_the_page_size_ends_on_an_empty_page(client):
    rows = list(client.iter_query(Query("Customer"), page_size=2))
    assert len(rows) == 4  # the seed's four customers: pages of 2, 2, then none


def test_batch_reports_each_item_and_keeps_ids_short(client, fake):
    items = [
        BatchItem.create("Customer", {"DisplayName": "Batch One"}),
        BatchItem.create("Customer", {"DisplayName": "Cool Cars"}),  # taken by the seed
        BatchItem.select("SELECT * FROM Customer WHERE DisplayName = 'Batch One'"),
        BatchItem.create("Invoice", {"CustomerRef": {"value": "404"}, "Line": [line("1")]}),
    ]
    results = client.batch(items)
    assert [r.ok for r in results] == [True, False, True, False]
    assert results[0].record is not None and results[0].record["DisplayName"] == "Batch One"
    assert isinstance(results[1].error, DuplicateError)
    assert isinstance(results[3].error, NotFoundError)
    assert results[2].query_response is not None
    batch_request = fake.requests[-1]
    assert batch_request.path.endswith("/batch")
    assert batch_request.request_id is not None and len(batch_request.request_id) <= 36


def test_batches_are_chunked_by_thirty(client, fake):
    items = [BatchItem.create("Customer", {"DisplayName": f"Chunk {i}"}) for i in range(65)]
    results = client.batch(items)
    assert len(results) == 65 and all(r.ok for r in results)
    assert [r.record["DisplayName"] for r in results if r.record] == [
        f"Chunk {i}" for i in range(65)
    ]
    batches = [r for r in fake.requests if r.path.endswith("/batch")]
    assert len(batches) == 3
    with pytest.raises(ConfigurationError):
        client.send_batch(items[:31])


def test_a_lost_batch_answer_is_replayed_not_rewritten(client, fake):
    fake.inject("lose_response", match=lambda r: r.path.endswith("/batch"))
    items = [BatchItem.create("Customer", {"DisplayName": f"Lost {i}"}) for i in range(5)]
    results = client.send_batch(items)
    assert all(r.ok for r in results)
    assert len([c for c in fake.records("Customer") if c["DisplayName"].startswith("Lost")]) == 5
    batches = [r for r in fake.requests if r.path.endswith("/batch")]
    assert len({r.request_id for r in batches}) == 1


def test_cdc_reports_changes_and_deletions(client, fake, clock):
    clock.advance(10)
    since = clock_datetime(clock)
    clock.advance(10)
    doomed = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [line("5")]})
    client.delete("Invoice", doomed["Id"], doomed["SyncToken"])
    kept = client.create("Customer", {"DisplayName": "CDC Co"})
    changes = client.cdc(["Invoice", "Customer"], since)
    changed_customers = {r["Id"] for r in changes["Customer"]}
    assert kept["Id"] in changed_customers
    assert not {"2", "3", "4"} & changed_customers  # untouched since
    assert [(r["Id"], r.get("status")) for r in changes["Invoice"]] == [(doomed["Id"], "Deleted")]


def test_cdc_older_than_thirty_days_fails_before_any_request(client, fake, clock):
    sent = len(fake.requests)
    with pytest.raises(ConfigurationError, match="30 days"):
        client.cdc(["Invoice"], clock_datetime(clock) - timedelta(days=31))
    with pytest.raises(ConfigurationError):
        client.cdc("Invoice", clock_datetime(clock))  # type: ignore[arg-type]
    assert len(fake.requests) == sent


def test_invoice_pdf_is_pdf_bytes_and_errors_are_decoded(client, fake):
    invoice = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [line("5")]})
    pdf = client.invoice_pdf(invoice["Id"])
    assert pdf.startswith(b"%PDF")
    with pytest.raises(NotFoundError):
        client.invoice_pdf("9999")


def test_preferences_and_company_info(client, fake):
    assert client.preferences()["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"
    assert client.company_info()["CompanyName"] == "Sandbox Company_US_1"


def test_dumps_writes_exact_numbers_and_refuses_floats():
    text = dumps(
        {"Amount": Decimal("0.10"), "Big": Decimal("123456789012345678.99"), "Name": 'a"b'}
    )
    assert text == '{"Amount":0.10,"Big":123456789012345678.99,"Name":"a\\"b"}'
    assert json.loads(text)["Name"] == 'a"b'
    with pytest.raises(ConfigurationError):
        dumps({"Amount": 0.1})


def _marker_dumps(body: object) -> str:
    """The earlier writer (a random marker per Decimal, then a regex), kept as the oracle:
    the faster writer must put the same bytes on the wire for the same body."""
    marker = uuid.uuid4().hex

    def encode(value: object) -> object:
        if isinstance(value, Decimal):
            return f"{marker}{format(value, 'f')}"
        if isinstance(value, Mapping):
            return {str(k): encode(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [encode(v) for v in value]
        return value

    text = json.dumps(encode(body), ensure_ascii=False, separators=(",", ":"))
    return re.sub(f'"{marker}(-?[0-9.]+)"', r"\1", text)


@pytest.mark.parametrize(
    "amount, wire",
    [
        ("10.50", "10.50"),
        ("0.1", "0.1"),
        ("1E+2", "100"),
        ("1E-7", "0.0000001"),
        ("-0", "-0"),
        ("-0.00", "-0.00"),
        ("-12.5", "-12.5"),
        ("123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"),
    ],
)
def test_dumps_writes_decimals_in_positional_notation(amount, wire):
    body = {"Amount": Decimal(amount), "Lines": [Decimal(amount), (Decimal(amount),)]}
    assert dumps(body) == f'{{"Amount":{wire},"Lines":[{wire},[{wire}]]}}'
    assert dumps(body) == _marker_dumps(body)
    assert json.loads(dumps(body), parse_float=Decimal)["Amount"] == Decimal(amount)


class _Kind(StrEnum):
    SALES = "SalesItemLineDetail"


class _Level(IntEnum):
    TWO = 2


_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from([_Kind.SALES, _Level.TWO])
)
_json_bodies = st.recursive(
    _json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    ),
    max_leaves=25,
)


@given(_json_bodies)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_dumps_puts_the_same_bytes_on_the_wire_as_the_marker_writer(body):
    assert dumps(body) == _marker_dumps(body)


def test_dumps_mappings_other_than_dict_are_objects():
    body = {"Ref": MappingProxyType({"value": "1", 2: True})}
    assert dumps(body) == '{"Ref":{"value":"1","2":true}}' == _marker_dumps(body)


@pytest.mark.parametrize(
    "value, words",
    [
        (Decimal("NaN"), "NaN and infinities"),
        (Decimal("sNaN"), "NaN and infinities"),
        (Decimal("-Infinity"), "NaN and infinities"),
        (0.5, "floats are not exact"),
        (date(2026, 1, 2), "a date value cannot be written"),
        ({1, 2}, "a set value cannot be written"),
    ],
)
def test_dumps_refuses_what_json_cannot_carry_exactly_naming_the_field(value, words):
    body = {"Line": [{"Amount": Decimal(1)}, {"Amount": value}]}
    with pytest.raises(ConfigurationError) as caught:
        dumps(body, record="invoice job-1")
    assert words in str(caught.value)
    assert caught.value.field == "Line.1.Amount"
    assert caught.value.record == "invoice job-1"
    assert caught.value.backend == "QuickBooks"


def test_dumps_refuses_bodies_that_contain_themselves_or_nest_too_deep():
    looped: dict[str, object] = {"a": 1}
    looped["self"] = looped
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    for body in (looped, deep):
        with pytest.raises(ConfigurationError, match="nested too deep or contains itself"):
            dumps(body)


def test_a_body_with_unencodable_text_is_refused_before_any_request(client, fake):
    before = len(fake.requests)
    with pytest.raises(ConfigurationError, match="not valid Unicode") as caught:
        client.create("Customer", {"DisplayName": "bad \ud800 text"})
    assert caught.value.record is not None
    assert len(fake.requests) == before


def test_unknown_batch_answers_are_unknown_not_success():
    # A server that answers a batch without one item's entry: that item's outcome is unknown.
    answer = {"BatchItemResponse": [{"bId": "1", "Customer": {"Id": "7"}}, {"bId": "x"}]}
    with responses.RequestsMock() as rsps:
        rsps.post(re.compile(r"https://sandbox-quickbooks\.api\.intuit\.com/.*/batch"), json=answer)
        client = QuickBooksClient(
            "4620816365", None, environment="sandbox", limiter=LocalLimiter(concurrency=1)
        )
        results = client.send_batch(
            [BatchItem.create("Customer", {"DisplayName": f"Half {i}"}) for i in range(2)]
        )
    assert results[0].ok and results[0].record == {"Id": "7"}
    assert isinstance(results[1].error, ServiceError)
    assert "unknown" in str(results[1].error)


def test_a_lost_response_is_answered_by_replaying_the_same_requestid(client, fake):
    before = len(fake.records("Invoice"))
    fake.inject("lose_response", match=lambda r: r.method == "POST")
    created = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [line("7.00")]})
    posted = writes(fake)
    # The emulator committed the first attempt and saw the retry carry the SAME requestid,
    # so it replayed the original answer instead of writing a second invoice.
    assert len(posted) == 2
    assert posted[0].request_id == posted[1].request_id
    assert len(fake.records("Invoice")) == before + 1
    assert created["Id"] == fake.records("Invoice")[-1]["Id"]


@pytest.mark.parametrize("total", [Decimal("1.5"), True, "3", -1, None, Decimal("NaN")])
def test_count_refuses_a_total_that_is_not_a_whole_number(client, monkeypatch, total):
    monkeypatch.setattr(client, "query", lambda text: {"totalCount": total})
    with pytest.raises(ServiceError, match="totalCount") as caught:
        client.count(Query("Customer"))
    assert caught.value.retryable is False


@pytest.mark.parametrize(("total", "expected"), [(7, 7), (Decimal("12"), 12), (Decimal("3.0"), 3)])
def test_count_reads_whole_numbers_however_json_spelled_them(client, monkeypatch, total, expected):
    monkeypatch.setattr(client, "query", lambda text: {"totalCount": total})
    assert client.count(Query("Customer")) == expected


def test_count_of_an_empty_answer_is_zero(client, monkeypatch):
    monkeypatch.setattr(client, "query", lambda text: {})
    assert client.count(Query("Customer")) == 0
