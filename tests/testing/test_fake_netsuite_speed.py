"""FakeNetSuite answers from indexes: the work of a request does not grow with the account.

Flatness is counted, not timed: SQLite's progress handler counts the virtual-machine
steps both of the account's connections run during a request, in an account of 300
invoices and in one of 3,000. A lookup that scans grows tenfold; one that seeks grows
by a B-tree level at most. ``seed_records``, the fast seeding the benchmark uses, is
checked against the record rules it runs.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from ns_support import tba_session

from erpsync.errors import ConfigurationError
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite

CUSTOMER = "101"  # the seeded Acme Robotics
ITEM = "202"  # the seeded MACHINING service
SUITEQL = "/services/rest/query/v1/suiteql"
RECORD = "/services/rest/record/v1"


def _invoice(n: int, external_id: str | None = None) -> dict[str, Any]:
    return {
        "externalId": external_id or f"inv-{n:06d}",
        "entity": {"id": CUSTOMER},
        "tranDate": f"2026-{1 + n // 280 % 12:02d}-{1 + n // 10 % 28:02d}",
        "item": {"items": [{"item": {"id": ITEM}, "quantity": 1, "rate": 100 + n % 50}]},
    }


def _account(invoices: int) -> FakeNetSuite:
    fake = FakeNetSuite(clock=FakeClock(time.time()), governance=None)
    fake.seed_records("invoice", (_invoice(n) for n in range(invoices)))
    _connections(fake)
    return fake


@pytest.fixture(scope="module")
def accounts() -> dict[int, FakeNetSuite]:
    return {size: _account(size) for size in (300, 3_000)}


_CONNECTIONS: dict[int, tuple[sqlite3.Connection, ...]] = {}


def _connections(fake: FakeNetSuite) -> tuple[sqlite3.Connection, ...]:
    """The account's record and query connections (the record one is what a write
    block works on; taken once, as a block moves the data's version)."""
    if id(fake) not in _CONNECTIONS:
        with fake.account.db.write() as records:
            pass
        _CONNECTIONS[id(fake)] = (records, fake.account.db.query_connection)
    return _CONNECTIONS[id(fake)]


@contextmanager
def _steps(fake: FakeNetSuite) -> Iterator[list[int]]:
    """Counts SQLite VM steps (in tens) on both of the account's connections."""
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    connections = _connections(fake)
    for connection in connections:
        connection.set_progress_handler(tick, 10)
    try:
        yield count
    finally:
        for connection in connections:
            connection.set_progress_handler(None, 10)


def _suiteql(query: str, limit: int = 1000) -> Callable[[Any, FakeNetSuite], Any]:
    def send(session: Any, fake: FakeNetSuite) -> Any:
        return session.post(
            f"{fake.base_url}{SUITEQL}?limit={limit}",
            json={"q": query},
            headers={"Prefer": "transient"},
        )

    return send


_NEW = iter(range(10**6))


def _post(session: Any, fake: FakeNetSuite) -> Any:
    body = _invoice(7, f"new-{next(_NEW)}")
    return session.post(f"{fake.base_url}{RECORD}/invoice", json=body)


def _get(path: str) -> Callable[[Any, FakeNetSuite], Any]:
    def send(session: Any, fake: FakeNetSuite) -> Any:
        return session.get(f"{fake.base_url}{RECORD}/{path}?expandSubResources=true")

    return send


REQUESTS: dict[str, Callable[[Any, FakeNetSuite], Any]] = {
    "POST invoice": _post,
    "GET by id": _get("invoice/1100"),
    "GET by eid": _get("invoice/eid:inv-000150"),
    "GET customer by eid": _get("customer/eid:cust-acme"),
    "externalid =": _suiteql("SELECT t.id FROM transaction t WHERE t.externalid = 'inv-000150'"),
    "tranid =": _suiteql("SELECT t.id, t.tranid FROM transaction t WHERE t.tranid = 'INV1100'"),
    "id IN": _suiteql(
        "SELECT t.id, t.tranid FROM transaction t WHERE t.id IN (1010, 1011, 1012, 1013)"
    ),
    "entity & trandate": _suiteql(
        "SELECT t.id FROM transaction t WHERE t.entity = 101 AND t.trandate = '1/3/2026'"
    ),
    "lines of ids": _suiteql(
        "SELECT t.id, tl.item, tl.foreignamount FROM transaction t JOIN transactionline tl "
        "ON tl.transaction = t.id WHERE t.id IN (1010, 1011) AND tl.mainline = 'F' "
        "ORDER BY t.id, tl.linesequencenumber"
    ),
    "BUILTIN.DF of a page": _suiteql(
        "SELECT t.id, BUILTIN.DF(t.entity) AS customer, BUILTIN.DF(t.status) AS status "
        "FROM transaction t WHERE t.id IN (1010, 1011, 1012)"
    ),
    "a date range": _suiteql(
        "SELECT t.id FROM transaction t WHERE t.type = 'CustInvc' "
        "AND t.trandate >= '1/28/2026' AND t.trandate < '2/1/2026' ORDER BY t.id"
    ),
}


def _work(fake: FakeNetSuite, send: Callable[[Any, FakeNetSuite], Any]) -> tuple[int, Any]:
    session = tba_session(fake)
    with fake:
        send(session, fake)  # warm: statement caches, custom columns
        with _steps(fake) as count:
            response = send(session, fake)
    assert response.status_code in (200, 204), response.text
    body = response.json() if response.status_code == 200 else None
    return count[0], body


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_a_request_does_the_same_work_in_a_tenfold_account(
    accounts: dict[int, FakeNetSuite], kind: str
) -> None:
    small, small_body = _work(accounts[300], REQUESTS[kind])
    large, large_body = _work(accounts[3_000], REQUESTS[kind])
    assert large <= small * 1.2 + 20, (kind, small, large)
    if kind != "POST invoice":
        assert _comparable(small_body) == _comparable(large_body)


def _comparable(body: Any) -> Any:
    """A body without what differs between two accounts by construction (timestamps)."""
    if isinstance(body, dict):
        return {
            k: _comparable(v)
            for k, v in body.items()
            if k not in ("lastModifiedDate", "createdDate", "dateCreated", "links")
        }
    if isinstance(body, list):
        return [_comparable(v) for v in body]
    return body


def test_a_keyset_page_near_the_end_does_the_work_of_what_remains(
    accounts: dict[int, FakeNetSuite],
) -> None:
    """``iter_invoices``' paging (``id > last``): the page is read from the primary key
    and ``totalResults`` counts the rows past ``last``, as NetSuite's does, so the last
    page of a large account costs what the last page of a small one does."""
    work, pages = [], []
    for fake in accounts.values():
        (top,) = fake.query("SELECT MAX(id) AS m FROM transaction")
        last = int(top["m"]) - 5
        query = (
            "SELECT * FROM (SELECT t.id FROM transaction t WHERE t.type = 'CustInvc') "
            f"WHERE id > {last} ORDER BY id"
        )
        steps, body = _work(fake, _suiteql(query))
        work.append(steps)
        pages.append((body["totalResults"], [int(r["id"]) - last for r in body["items"]]))
    assert work[1] <= work[0] * 1.2 + 20, work
    assert pages[0] == pages[1] == (5, [1, 2, 3, 4, 5])


def test_seed_records_runs_the_record_rules() -> None:
    clock = FakeClock(time.time())
    seeded, created = (FakeNetSuite(clock=clock, governance=None) for _ in range(2))
    ids = seeded.seed_records("invoice", [_invoice(1), _invoice(2)])
    one = [created.create_record("invoice", _invoice(n)) for n in (1, 2)]
    assert ids == one
    assert seeded.records("invoice") == created.records("invoice")
    (first, _) = seeded.records("invoice")
    assert first["tranId"] == "INV1001" and first["total"] == 101.0
    assert first["status"]["refName"] == "Open"
    rows = seeded.query(f"SELECT foreignamount FROM transactionline WHERE transaction = {ids[0]}")
    assert {r["foreignamount"] for r in rows} == {"101", "-101"}  # postings, as a POST makes


def test_seed_records_is_all_or_nothing_and_names_the_record() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()), governance=None)
    bad = {**_invoice(2), "entity": {"id": "99999"}}
    with pytest.raises(ConfigurationError, match=r"invoice #1 \(field entity\)"):
        fake.seed_records("invoice", [_invoice(1), bad])
    assert fake.records("invoice") == []
    with pytest.raises(ConfigurationError, match="already exists"):
        fake.seed_records("invoice", [_invoice(1), _invoice(1)])
    assert fake.records("invoice") == []
    with pytest.raises(ConfigurationError, match="JSON object"):
        fake.seed_records("invoice", ["not a body"])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="Unknown record type"):
        fake.seed_records("invoyce", [])


def test_builtin_df_shows_a_name_as_it_is_now() -> None:
    fake = FakeNetSuite(clock=FakeClock(time.time()), governance=None)
    (rid,) = fake.seed_records("invoice", [_invoice(1)])
    query = f"SELECT BUILTIN.DF(t.entity) AS customer FROM transaction t WHERE t.id = {rid}"
    assert fake.query(query) == [{"customer": "Acme Robotics"}]
    fake.update_record("customer", CUSTOMER, {"companyName": "Acme Robotics II"})
    assert fake.query(query) == [{"customer": "Acme Robotics II"}]
    unknown = "SELECT BUILTIN.DF(t.entity) AS e FROM (SELECT 424242 AS entity) t"
    assert fake.query(unknown) == [{"e": "424242"}]


# -- totalResults, learnt once per state of the data ---------------------------------------

KEYSET_INNER = "SELECT t.id FROM transaction t WHERE t.type = 'CustInvc'"


def _page(fake: FakeNetSuite, query: str, limit: int = 1000, offset: int = 0) -> dict[str, Any]:
    return fake.suiteql.run(query, str(limit), str(offset), fake.base_url)


def _counted(fake: FakeNetSuite, query: str) -> int:
    """The number of rows ``query`` has, by a COUNT in the query itself."""
    (row,) = fake.query(f"SELECT COUNT(*) AS n FROM ({query})")
    return int(row["n"])


def _keyset(last: int | None, inner: str = KEYSET_INNER, key: str = "id") -> str:
    where = f" WHERE {key} > {last}" if last is not None else ""
    return f"SELECT * FROM ({inner}){where} ORDER BY {key}"


def test_keyset_totals_equal_the_count_page_after_page_and_after_writes() -> None:
    fake = _account(60)
    last: int | None = None
    seen = []
    while True:
        page = _page(fake, _keyset(last), limit=7)
        assert page["totalResults"] == _counted(fake, _keyset(last))
        if not page["items"]:
            break
        seen += [int(r["id"]) for r in page["items"]]
        last = seen[-1]
        if len(seen) == 28:  # a write between pages: the totals follow it
            fake.create_record("invoice", _invoice(999, "late-one"))
            fake.delete_record("invoice", str(seen[-3]))
    assert len(seen) == 61 and seen == sorted(seen)
    # the same query again, now that it is known, and from other places
    for at in (None, seen[0] - 1, seen[10], seen[-1], seen[-1] + 100, -5):
        assert _page(fake, _keyset(at), limit=5)["totalResults"] == _counted(fake, _keyset(at))


def test_keyset_totals_of_null_text_and_mixed_keys_are_counted() -> None:
    fake = _account(5)
    nullable = "SELECT t.id, t.memo FROM transaction t"
    fake.update_record("invoice", "1006", {"memo": "x"})
    shapes = [
        _keyset(None, "SELECT NULLIF(t.id, 1007) AS k FROM transaction t", "k"),
        _keyset(1006, "SELECT NULLIF(t.id, 1007) AS k FROM transaction t", "k"),
        _keyset(None, "SELECT t.tranid AS k FROM transaction t", "k"),
        _keyset(3, "SELECT t.tranid AS k FROM transaction t", "k"),
        _keyset(1000, "SELECT t.foreigntotal * 1.5 AS k FROM transaction t", "k"),
        _keyset(0, nullable, "memo"),
        "SELECT * FROM (SELECT t.id FROM transaction t) a JOIN (SELECT 1 AS one) b "
        "WHERE id > 1006 ORDER BY id",
    ]
    for query in shapes:
        for _ in range(3):  # first count, then learnt keys (where they are integers)
            assert _page(fake, query)["totalResults"] == _counted(fake, query), query


def test_totals_that_read_the_clock_follow_it() -> None:
    clock = FakeClock(time.time())
    fake = FakeNetSuite(clock=clock, governance=None)
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(clock.now() + 86_400))
    fake.seed_records("invoice", [{**_invoice(1), "tranDate": tomorrow}])
    query = _keyset(0, "SELECT t.id FROM transaction t WHERE t.trandate > CURRENT_DATE")
    assert [_page(fake, query)["totalResults"] for _ in range(3)] == [1, 1, 1]
    clock.advance(3 * 86_400)
    assert [_page(fake, query)["totalResults"] for _ in range(3)] == [0, 0, 0]


def test_later_keyset_pages_do_the_same_work_in_a_tenfold_account(
    accounts: dict[int, FakeNetSuite],
) -> None:
    """The first pages count (and learn the keys); from then on a page costs its rows."""
    work = []
    for fake in accounts.values():
        session = tba_session(fake)
        with fake:
            for last in (None, 1006):
                _suiteql(_keyset(last), limit=50)(session, fake)
            with _steps(fake) as count:
                response = _suiteql(_keyset(1100), limit=50)(session, fake)
        assert response.json()["totalResults"] == _counted(fake, _keyset(1100))
        work.append(count[0])
    assert work[1] <= work[0] * 1.2 + 20, work


def test_an_offset_page_of_a_known_query_does_not_count_again(
    accounts: dict[int, FakeNetSuite],
) -> None:
    fake = accounts[3_000]
    query = "SELECT t.id FROM transaction t WHERE t.type = 'CustInvc' ORDER BY t.id"
    with _steps(fake) as first:
        _page(fake, query, limit=10)
    with _steps(fake) as second:
        page = _page(fake, query, limit=10, offset=10)
    assert page["totalResults"] == _counted(fake, query)
    assert second[0] * 5 < first[0], (first, second)
