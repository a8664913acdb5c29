"""FakeQuickBooks answers queries from indexes: same answers as a scan, flat work.

The oracle is the plain scan (``run_query`` over a list); the indexed path must give the
very same answer on random books and random queries. Flatness is counted, not timed:
``EntityIndex.examined`` counts the records a query evaluated its conditions on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync.testing.quickbooks.company import Company
from erpsync.testing.quickbooks.query import Condition, Query, parse_query, run_query
from erpsync.testing.quickbooks.query_index import EntityIndex, IndexedRecords

T0 = datetime(2026, 1, 1, tzinfo=UTC)

DOCS: list[Any] = ["1001", "1001.0", "A-1", "a-1", "b", "2026-01-01T00:00:00Z", 7, None]
DATES: list[Any] = ["2026-01-01", "2026-01-02", "2026-02-01", "2025-12-31", "x", None]
STAMPS: list[Any] = [
    "2026-01-01T00:00:00-08:00",
    "2026-01-01T08:00:00Z",
    "2026-01-01T09:00:00+00:00",
    "2026-01-02T00:00:00-08:00",
    "not a time",
]
PARTYS: list[Any] = ["1", "2", "10", "01"]
NAMES: list[Any] = ["Acme", "acme rockets", "Beta", "ACME", "", None]

_DOC, _DATE, _STAMP = st.sampled_from(DOCS), st.sampled_from(DATES), st.sampled_from(STAMPS)
_PARTY, _NAME = st.sampled_from(PARTYS), st.sampled_from(NAMES)

_RECORD = st.fixed_dictionaries(
    {
        "DocNumber": _DOC,
        "TxnDate": _DATE,
        "MetaData": st.fixed_dictionaries({"LastUpdatedTime": _STAMP}),
        "CustomerRef": st.fixed_dictionaries({"value": _PARTY}),
        "DisplayName": _NAME,
        "Active": st.booleans(),
    }
)
_LITERAL = st.one_of(
    _DOC.filter(lambda v: v is not None),
    _DATE.filter(lambda v: v is not None),
    _STAMP,
    _PARTY,
    _NAME.filter(lambda v: v is not None),
    st.sampled_from(["2026-01-01", "3", "1", "7", True, "2026-01-01T00:00:00"]),
)
_FIELD = st.sampled_from(
    [
        "Id",
        "DocNumber",
        "TxnDate",
        "MetaData.LastUpdatedTime",
        "CustomerRef",
        "DisplayName",
        "docnumber",
        "Active",
    ]
)


@st.composite
def _condition(draw: st.DrawFn) -> Condition:
    operator = draw(st.sampled_from(["=", "<", ">", "<=", ">=", "like", "in"]))
    if operator == "in":
        value: Any = tuple(draw(st.lists(_LITERAL, min_size=1, max_size=3)))
    elif operator == "like":
        value = draw(st.sampled_from(["acme%", "A%", "%a", "Acme", "1%", "%", "2026-01%"]))
    else:
        value = draw(_LITERAL)
    return Condition(draw(_FIELD), operator, value)


@st.composite
def _query(draw: st.DrawFn) -> Query:
    order = draw(st.sampled_from([(), (("TxnDate", True),), (("DocNumber", False),)]))
    return Query(
        entity=draw(st.sampled_from(["Invoice", "Customer"])),
        count=draw(st.booleans()),
        fields=None,
        conditions=tuple(draw(st.lists(_condition(), max_size=3))),
        order=order,
        start_position=draw(st.integers(1, 6)),
        max_results=draw(st.integers(1, 5)),
    )


def _books(rows: list[dict[str, Any]], edits: list[tuple[int, dict[str, Any] | None]]) -> Any:
    records: dict[str, dict[str, Any]] = {}
    index = EntityIndex()
    for number, row in enumerate(rows, start=1):
        records[str(number)] = {"Id": str(number), **row}
        index.change(str(number), None, records[str(number)])
    for at, row in edits:
        record_id = str(at % len(rows) + 1) if rows else None
        if record_id is None or record_id not in records:
            continue
        old = records[record_id]
        if row is None:
            del records[record_id]
            index.change(record_id, old, None)
        else:
            records[record_id] = {"Id": record_id, **row}
            index.change(record_id, old, records[record_id])
    return records, index


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_RECORD, max_size=12),
    edits=st.lists(st.tuples(st.integers(0, 20), st.one_of(st.none(), _RECORD)), max_size=4),
    query=_query(),
)
def test_indexed_answers_equal_the_scan(
    rows: list[dict[str, Any]], edits: list[tuple[int, dict[str, Any] | None]], query: Query
) -> None:
    records, index = _books(rows, edits)
    scanned = run_query(query, list(records.values()))
    assert run_query(query, IndexedRecords(records, index)) == scanned


def _company(invoices: int) -> Company:
    clock = iter(T0 + timedelta(seconds=i) for i in range(10**7))
    company = Company(realm_id="1", now=lambda: next(clock))
    for number in range(invoices):
        company.insert(
            "Invoice",
            {
                "DocNumber": f"D{number}",
                "TxnDate": (T0 + timedelta(days=number % 400)).date().isoformat(),
                "CustomerRef": {"value": str(number % 50)},
            },
            notify=False,
        )
    return company


def _examined(company: Company, text: str) -> tuple[int, dict[str, Any]]:
    index = company.indexes["Invoice"]
    before = index.examined
    answer = run_query(parse_query(text, ["Invoice"]), company.stored("Invoice"))
    return index.examined - before, answer


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("SELECT * FROM Invoice WHERE DocNumber = 'D42'", 1),
        ("SELECT * FROM Invoice WHERE Id IN ('3', '7')", 2),
        ("SELECT * FROM Invoice WHERE Id = '5' AND TxnDate > '2020-01-01'", 1),
        ("SELECT * FROM Invoice STARTPOSITION 11 MAXRESULTS 10", 20),
        ("SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '2026-01-02T00:00:00Z'", 0),
    ],
)
def test_query_work_stays_flat_as_the_books_grow(text: str, bound: int) -> None:
    answers = []
    for size in (100, 10_000):
        company = _company(size)
        examined, answer = _examined(company, text)
        assert examined <= bound, (size, examined)
        answers.append(answer)
    assert answers[0] == answers[1]


def test_a_feed_window_examines_only_the_window() -> None:
    company = _company(5_000)
    late = (T0 + timedelta(seconds=4_990)).isoformat()
    examined, answer = _examined(
        company, f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '{late}'"
    )
    assert examined <= 12
    assert [r["DocNumber"] for r in answer["Invoice"]] == [f"D{n}" for n in range(4_990, 5_000)]


def test_indexes_follow_updates_and_deletes() -> None:
    company = _company(20)
    stored = company.read("Invoice", "3")
    company.replace("Invoice", "3", {**stored, "DocNumber": "NEW"})
    assert _examined(company, "SELECT * FROM Invoice WHERE DocNumber = 'D2'")[1] == {}
    examined, found = _examined(company, "SELECT * FROM Invoice WHERE DocNumber = 'new'")
    assert examined == 1 and [r["Id"] for r in found["Invoice"]] == ["3"]
    company.delete("Invoice", {"Id": "3", "SyncToken": "1"})
    assert _examined(company, "SELECT * FROM Invoice WHERE DocNumber = 'NEW'") == (0, {})
    count = run_query(
        parse_query("SELECT COUNT(*) FROM Invoice", ["Invoice"]), company.stored("Invoice")
    )
    assert count == {"totalCount": 19}


def test_every_edge_value_and_operator_answers_as_the_scan() -> None:
    """Exhaustive over the awkward values: numbers as text (``1001`` = ``1001.0``),
    instants in other zones, non-string values, case-folded names."""
    docs, dates, stamps, parties, names = DOCS, DATES, STAMPS, PARTYS, NAMES
    rows = [
        {
            "DocNumber": docs[i % len(docs)],
            "TxnDate": dates[i % len(dates)],
            "MetaData": {"LastUpdatedTime": stamps[i % len(stamps)]},
            "CustomerRef": {"value": parties[i % len(parties)]},
            "DisplayName": names[i % len(names)],
        }
        for i in range(40)
    ]
    records, index = _books(rows, [])
    literals = {v for v in docs + dates + stamps + parties + names if v is not None}
    literals |= {"3", "1", "7", True, "2026-01-01T00:00:00", "2026-01-01T08:00:00Z"}
    for field_name in ("Id", "DocNumber", "TxnDate", "MetaData.LastUpdatedTime", "CustomerRef"):
        for operator in ("=", "<", ">", "<=", ">=", "in", "like"):
            for literal in sorted(literals, key=str):
                value = (literal,) if operator == "in" else literal
                if operator == "like":
                    value = f"{str(literal)[:3]}%"
                condition = Condition(field_name, operator, value)
                query = Query("Invoice", False, None, (condition,), (), 1, 1000)
                scanned = run_query(query, list(records.values()))
                indexed = run_query(query, IndexedRecords(records, index))
                assert indexed == scanned, condition


def test_ids_out_of_insertion_order_are_still_answered_in_id_order() -> None:
    """Seeded ids (the US tax codes ``TAX`` and ``NON``) break the insertion-is-Id-order
    shortcut; the page must then be sorted as the scan sorts it."""
    records: dict[str, dict[str, Any]] = {}
    index = EntityIndex()
    for record_id in ("10", "TAX", "2", "NON"):
        records[record_id] = {"Id": record_id}
        index.change(record_id, None, records[record_id])
    query = Query("TaxCode", False, None, (), (), 1, 2)
    answer = run_query(query, IndexedRecords(records, index))
    assert [r["Id"] for r in answer["TaxCode"]] == ["2", "10"]
    assert answer == run_query(query, list(records.values()))


_STAMP_CHOICES = [f"2026-01-01T00:00:0{s}Z" for s in range(6)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_RECORD, max_size=12),
    created=st.lists(st.sampled_from(_STAMP_CHOICES), min_size=12, max_size=12),
    deletes=st.lists(st.integers(0, 11), max_size=3),
    conditions=st.lists(_condition(), max_size=2),
    descending=st.booleans(),
    count=st.booleans(),
    start=st.integers(1, 6),
    size=st.integers(1, 5),
)
def test_quickbooks_walks_in_creation_order_answer_as_the_scan(
    rows: list[dict[str, Any]],
    created: list[str],
    deletes: list[int],
    conditions: list[Condition],
    descending: bool,
    count: bool,
    start: int,
    size: int,
) -> None:
    """``ORDER BY MetaData.CreateTime [DESC]`` is walked in insertion order (ties of
    one CreateTime in Id order), and pages are cut by position: the scan's answers."""
    records: dict[str, dict[str, Any]] = {}
    index = EntityIndex()
    for number, (row, stamp) in enumerate(zip(rows, sorted(created), strict=False), start=1):
        meta = {**row["MetaData"], "CreateTime": stamp}
        records[str(number)] = {"Id": str(number), **row, "MetaData": meta}
        index.change(str(number), None, records[str(number)])
    for at in deletes:
        if str(at + 1) in records:
            index.change(str(at + 1), records.pop(str(at + 1)), None)
    for order in ((("MetaData.CreateTime", descending),), (), (("Id", False),)):
        query = Query("Invoice", count, None, tuple(conditions), order, start, size)
        expected = run_query(query, list(records.values()))
        assert run_query(query, IndexedRecords(records, index)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Invoice ORDERBY MetaData.CreateTime DESC MAXRESULTS 10",
        "SELECT * FROM Invoice ORDERBY Id STARTPOSITION 4000 MAXRESULTS 10",
        "SELECT * FROM Invoice WHERE CustomerRef = '7' ORDERBY Id MAXRESULTS 10",
        "SELECT * FROM Invoice WHERE CustomerRef IN ('7', '8') ORDERBY Id MAXRESULTS 10",
        "SELECT count(*) FROM Invoice",
    ],
)
def test_quickbooks_pages_and_walks_examine_only_the_page(text: str) -> None:
    """A page in the middle of the books, the newest page, a page of a customer holding
    a fiftieth of the invoices: the work is the page's, not the books'."""
    answers = []
    for size in (5_000, 10_000):
        company = _company(size)
        examined, answer = _examined(company, text)
        assert examined <= 1_000, (size, examined)  # a page of 10 from 1 in 50 invoices
        answers.append(answer)
    if "DESC" not in text and "count" not in text:
        assert answers[0] == answers[1]


def test_quickbooks_change_data_capture_reads_only_what_changed() -> None:
    """``changed_since`` answers from the LastUpdatedTime index: the records changed
    since, oldest first, live before deleted, as a scan answers."""
    company = _company(3_000)
    company.delete("Invoice", {"Id": "2990", "SyncToken": "0"})
    stored = company.read("Invoice", "10")
    company.replace("Invoice", "10", {**stored, "DocNumber": "LATE"})
    since = T0 + timedelta(seconds=2_995)
    changed = company.changed_since("Invoice", since)
    assert [r["Id"] for r in changed] == ["2996", "2997", "2998", "2999", "3000", "10", "2990"]
    assert changed[-1]["status"] == "Deleted"
    assert [r["Id"] for r in company.changed_since("Invoice", since, limit=2)] == [
        "2996",
        "2997",
    ]


def test_quickbooks_stored_records_share_their_repeats_and_answers_are_copies() -> None:
    """Two invoices of one customer keep one copy of the reference; an answer changed
    by its caller changes neither the books nor the other invoice."""
    from erpsync.testing import FakeClock, FakeQuickBooks

    fake = FakeQuickBooks(clock=FakeClock(), governance=None)
    line = {"DetailType": "SalesItemLineDetail", "Amount": 5, "SalesItemLineDetail": {}}
    rows = [{"CustomerRef": {"value": "1"}, "Line": [dict(line)]} for _ in range(2)]
    first, second = fake.seed_records({"Invoice": rows})["Invoice"]
    stored = fake.company.records["Invoice"]
    assert stored[first["Id"]]["CustomerRef"] is stored[second["Id"]]["CustomerRef"]
    first["CustomerRef"]["name"] = "changed by a caller"
    first["Line"][0]["Amount"] = 999
    again = fake.records("Invoice")
    assert {r["CustomerRef"]["name"] for r in again} == {"Amy's Bird Sanctuary"}
    assert [r["Line"][0]["Amount"] for r in again] == [5.0, 5.0]


def test_the_quickbooks_emulator_benchmark_quick_mode_runs_and_reports(capsys: Any) -> None:
    """benchmarks/emulator_quickbooks.py --quick: every request kind at every N, the
    ratio, and the memory per stored invoice within its target."""
    import importlib.util
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "emulator_quickbooks.py"
    spec = importlib.util.spec_from_file_location("emulator_quickbooks", script)
    assert spec is not None and spec.loader is not None
    module = sys.modules["emulator_quickbooks"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for kind in (
        "create",
        "batch of 30",
        "read by Id",
        "sparse update",
        "marker: customer-day",
        "DocNumber IN (30)",
        "page: ORDERBY Id, middle",
        "count(*) all",
        "cdc",
    ):
        assert kind in out
    assert "N=5000" in out
    per_invoice = float(out.split("memory per stored invoice")[1].split(": ")[1].split()[0])
    assert 200 < per_invoice <= module.MEMORY_TARGET


def test_quickbooks_page_after_the_last_examines_nothing() -> None:
    """A client paging a customer's invoices asks once more after the last full page:
    fewer candidates than rows to skip answer empty without reading any."""
    company = _company(10_000)  # 200 invoices of each of 50 customers
    text = (
        "SELECT * FROM Invoice WHERE CustomerRef = '7' ORDERBY Id STARTPOSITION {} MAXRESULTS 100"
    )
    examined, answer = _examined(company, text.format(101))
    assert len(answer["Invoice"]) == 100 and examined == 200
    assert _examined(company, text.format(201)) == (0, {})


def test_quickbooks_paging_a_filtered_query_reads_each_match_once() -> None:
    """Page after page of one query goes on where the last page stopped (a client
    reading 10,000 matches 1,000 at a time must not make the emulator read 55,000), and
    a write between two pages starts the walk again over the books as they are."""
    company = _company(6_000)  # 120 invoices of each of 50 customers
    text = "SELECT * FROM Invoice WHERE CustomerRef = '7' ORDERBY Id STARTPOSITION {} MAXRESULTS 10"
    seen, examined = [], 0
    for start in range(1, 121, 10):
        work, answer = _examined(company, text.format(start))
        seen += [r["Id"] for r in answer["Invoice"]]
        examined += work
    assert examined == 120
    scan = run_query(
        parse_query(text.format(1).replace("10", "1000"), ["Invoice"]),
        [*company.records["Invoice"].values()],
    )
    assert seen == [r["Id"] for r in scan["Invoice"]]
    _examined(company, text.format(1))
    stored = company.read("Invoice", seen[3])
    company.replace("Invoice", seen[3], {**stored, "CustomerRef": {"value": "8"}})
    work, answer = _examined(company, text.format(11))
    assert [r["Id"] for r in answer["Invoice"]] == seen[11:21]
    assert work == 20  # walked afresh (the 10 skipped again): the write moved a match


def test_quickbooks_paging_customers_by_balance_sees_balances_moved_in_between() -> None:
    """A customer's Balance moves in place when an invoice is written: the next page of
    a query filtering on Balance is walked afresh, as QuickBooks would answer it."""
    from erpsync.testing import FakeClock, FakeQuickBooks

    fake = FakeQuickBooks(clock=FakeClock(), governance=None)
    company = fake.company
    line = {"DetailType": "SalesItemLineDetail", "Amount": 5, "SalesItemLineDetail": {}}
    for customer in ("1", "2", "3"):
        fake.seed_records({"Invoice": [{"CustomerRef": {"value": customer}, "Line": [line]}]})
    text = "SELECT * FROM Customer WHERE Balance > '0' ORDERBY Id STARTPOSITION {} MAXRESULTS 1"
    records = company.stored("Customer")
    first = run_query(parse_query(text.format(1), ["Customer"]), records)
    assert [r["Id"] for r in first["Customer"]] == ["1"]
    fake.seed_records({"Invoice": [{"CustomerRef": {"value": "4"}, "Line": [line]}]})
    company.update(
        "Invoice",
        {**company.read("Invoice", "1"), "sparse": True, "Line": [{**line, "Amount": 0}]},
    )
    second = run_query(parse_query(text.format(2), ["Customer"]), records)
    scan = run_query(parse_query(text.format(2), ["Customer"]), list(records))
    assert second == scan and [r["Id"] for r in second["Customer"]] == ["3"]
