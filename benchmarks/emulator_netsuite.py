"""Does FakeNetSuite answer in the same time with 100,000 invoices as with none? (issues 13, 15)

    python benchmarks/emulator_netsuite.py [--quick] [--sizes 0,10000,100000] [--requests 100]

For each N in ``--sizes`` a fresh FakeNetSuite (limits off, no latency) is seeded with N
one-line invoices through :meth:`FakeNetSuite.seed_records` (the record rules, one
transaction), spread over 20 customers and 100 a day. Then each kind of request
erpsync's NetSuite client sends is made ``--requests`` times, TBA-signed as erpsync
signs (:class:`erpsync.netsuite.signing.TbaSigner`), straight into the emulator's
``handle`` (no HTTP: the emulator's own work is what is measured). Printed per kind:
the emulator's CPU per request (``time.process_time`` around ``handle`` only, the
signing outside it) at each N and the ratio of the largest N to the smallest (target:
within 1.20); and the emulator's memory per stored invoice, as the Python heap's growth
over the seeding (``tracemalloc``) and as the process's resident-set growth (which
also holds SQLite's pages, invisible to tracemalloc); target 3 KB.

The SuiteQL kinds are the queries erpsync sends (src/erpsync/netsuite/reads.py,
writes.py, bulk.py): the new invoices' document numbers (``t.id IN (...)``, 100 ids),
headers and lines of a page of invoices (the ``iter_invoices`` join), the currencies,
a customer by name, a keyset page of invoice ids (``iter_invoices``' paging, from the
middle of the account), and lookups on the indexed columns (``externalid``, ``tranid``,
``entity`` with ``trandate``). ``--quick`` (the smoke test): N = 0, 1,000 and 5,000 and
20 requests per kind.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

from erpsync.netsuite.query import keyset_page_query, suiteql_literal
from erpsync.netsuite.reads import suiteql_id_list
from erpsync.netsuite.signing import TbaSigner, new_nonce
from erpsync.testing.core.wire import WireRequest
from erpsync.testing.netsuite import FakeNetSuite

# The spawned child imports this module by name: make its folder importable there too
# (the smoke test loads it from its file path).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _served import resident_bytes  # noqa: E402 - after the path is set

TARGET_RATIO = 1.20
TARGET_BYTES = 3 * 1024
CUSTOMERS = 20
PER_DAY = 100
#: Invoices every account holds besides the N measured (N = 0 included), so that a query
#: answering a page of invoices has a full page at every N: they are the first 1,000,
#: so a count past them (a keyset page's ``totalResults``) still counts all N.
WORKING = 1_000
FIRST_DAY = date(2026, 1, 1)
_RECORD = "/services/rest/record/v1"
_SUITEQL = "/services/rest/query/v1/suiteql"
_TRAN_COLUMNS = (  # reads.py's _TRAN_COLUMNS, as erpsync sends them
    "t.id, t.tranid, t.externalid, t.entity, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, "
    "TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, t.currency, t.status, t.foreigntotal, "
    "t.foreignamountremaining, t.memo, TO_CHAR(t.lastmodifieddate, "
    "'YYYY-MM-DD HH24:MI:SS') AS lastmodified"
)
_LINE_COLUMNS = (
    "tl.id AS line, tl.item, tl.quantity, tl.rate, tl.foreignamount, tl.memo AS linememo"
)
_PARTY_COLUMNS = (
    "e.id, e.entityid, e.companyname, e.altname, e.firstname, e.lastname, e.email, "
    "e.currency, e.externalid, TO_CHAR(e.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified"
)


@dataclass
class Account:
    """A seeded emulator and what the requests address in it."""

    fake: FakeNetSuite
    signer: TbaSigner
    customers: list[str]
    item: str
    ids: list[str]
    heap_bytes: int
    rss_bytes: int
    seconds: float
    size: int = 0

    @property
    def held(self) -> int:
        """Invoices the account holds: the seeded ones, then those POSTed (``inv-<n>``)."""
        return len(self.ids)

    def invoice_body(self, number: int, external_id: str) -> dict[str, Any]:
        day = FIRST_DAY + timedelta(days=number // PER_DAY)
        return {
            "externalId": external_id,
            "entity": {"id": self.customers[number % len(self.customers)]},
            "tranDate": day.isoformat(),
            "item": {"items": [{"item": {"id": self.item}, "quantity": 1, "rate": 125.0}]},
        }

    def request(self, method: str, path: str, body: Any = None, **params: str) -> WireRequest:
        """A request signed as erpsync signs it (outside the timed part)."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if path == _SUITEQL:
            headers["Prefer"] = "transient"
        data = json.dumps(body) if body is not None else None
        prepared = requests.Request(
            method, f"{self.fake.base_url}{path}", headers=headers, params=params, data=data
        ).prepare()
        self.signer.sign(prepared, nonce=new_nonce(), timestamp=str(int(time.time())))
        raw = prepared.body or b""
        return WireRequest.build(
            method,
            prepared.url or "",
            dict(prepared.headers),
            raw.encode() if isinstance(raw, str) else raw,
        )


def _seed(account: Account, first: int, count: int) -> None:
    step = 5_000
    for start in range(first, first + count, step):
        chunk = range(start, min(start + step, first + count))
        account.ids.extend(
            account.fake.seed_records(
                "invoice", (account.invoice_body(n, f"inv-{n:07d}") for n in chunk)
            )
        )


def seeded(size: int) -> Account:
    """A fresh account holding the working set and ``size`` more invoices (and the
    memory those took)."""
    fake = FakeNetSuite("1234567_SB1", governance=None)
    creds = fake.credentials
    signer = TbaSigner(
        consumer=(creds.consumer_key, creds.consumer_secret),
        token=(creds.token_id, creds.token_secret),
        realm=creds.account_id,
    )
    customers = [
        fake.create_record(
            "customer",
            {"companyName": f"Bench {c}", "externalId": f"bench-{c}", "subsidiary": {"id": "1"}},
        )
        for c in range(CUSTOMERS)
    ]
    item = fake.query("SELECT id FROM item WHERE itemid = 'MACHINING'")[0]["id"]
    account = Account(fake, signer, customers, item, [], 0, 0, 0.0)
    _seed(account, 0, WORKING)
    gc.collect()
    tracemalloc.start()
    heap, rss = tracemalloc.get_traced_memory()[0], resident_bytes()
    started = time.process_time()
    _seed(account, WORKING, size)
    account.seconds = time.process_time() - started
    account.size = size
    gc.collect()
    account.heap_bytes = tracemalloc.get_traced_memory()[0] - heap
    account.rss_bytes = resident_bytes() - rss
    tracemalloc.stop()
    return account


Maker = Callable[[Account, random.Random], WireRequest]


def _post(account: Account, rng: random.Random) -> WireRequest:
    n = account.held
    account.ids.append("")  # its id, once the answer's Location says it
    return account.request("POST", f"{_RECORD}/invoice", account.invoice_body(n, f"inv-{n:07d}"))


def _some_id(account: Account, rng: random.Random) -> str:
    return account.ids[_some_number(account, rng)]


def _get_by_id(account: Account, rng: random.Random) -> WireRequest:
    return account.request(
        "GET", f"{_RECORD}/invoice/{_some_id(account, rng)}", expandSubResources="true"
    )


def _some_number(account: Account, rng: random.Random) -> int:
    return rng.randrange(account.held)


def _get_by_eid(account: Account, rng: random.Random) -> WireRequest:
    ext = f"inv-{_some_number(account, rng):07d}"
    return account.request("GET", f"{_RECORD}/invoice/eid:{ext}", expandSubResources="true")


def _suiteql(account: Account, query: str, limit: int = 1000) -> WireRequest:
    return account.request("POST", _SUITEQL, {"q": query}, limit=str(limit), offset="0")


def _id_window(account: Account, rng: random.Random, count: int) -> list[str]:
    start = rng.randrange(WORKING - count + 1)
    return account.ids[start : start + count]


def _numbers(account: Account, rng: random.Random) -> WireRequest:
    ids = suiteql_id_list(_id_window(account, rng, 100))
    return _suiteql(account, f"SELECT t.id, t.tranid FROM transaction t WHERE t.id IN ({ids})")


def _lines(account: Account, rng: random.Random) -> WireRequest:
    ids = suiteql_id_list(_id_window(account, rng, 100))
    return _suiteql(
        account,
        f"SELECT {_TRAN_COLUMNS}, {_LINE_COLUMNS} FROM transaction t "
        "JOIN transactionline tl ON tl.transaction = t.id "
        f"WHERE t.id IN ({ids}) AND tl.mainline = 'F' AND tl.taxline = 'F' "
        "AND tl.iscogs = 'F' ORDER BY t.id, tl.linesequencenumber",
    )


def _currencies(account: Account, rng: random.Random) -> WireRequest:
    return _suiteql(account, "SELECT c.id, c.symbol FROM currency c ORDER BY c.id")


def _customer_by_name(account: Account, rng: random.Random) -> WireRequest:
    name = suiteql_literal(f"BENCH {rng.randrange(CUSTOMERS)}")
    return _suiteql(
        account,
        f"SELECT {_PARTY_COLUMNS} FROM customer e WHERE UPPER(e.companyname) = {name} "
        "ORDER BY e.id",
    )


def _keyset_page(account: Account, rng: random.Random) -> WireRequest:
    """A page of ``iter_invoices``' keyset paging, 1,000 ids from a random point
    (``totalResults`` counts what remains past it)."""
    last = _id_window(account, rng, 1000)[0]
    query = "SELECT t.id FROM transaction t WHERE t.type = 'CustInvc'"
    return _suiteql(account, keyset_page_query(query, "id", last))


def _by_external_id(account: Account, rng: random.Random) -> WireRequest:
    ext = suiteql_literal(f"inv-{_some_number(account, rng):07d}")
    return _suiteql(account, f"SELECT t.id, t.tranid FROM transaction t WHERE t.externalid = {ext}")


def _by_tranid(account: Account, rng: random.Random) -> WireRequest:
    number = suiteql_literal(f"INV{1001 + _some_number(account, rng)}")
    return _suiteql(account, f"SELECT t.id FROM transaction t WHERE t.tranid = {number}")


def _by_entity_and_date(account: Account, rng: random.Random) -> WireRequest:
    n = _some_number(account, rng)
    customer = account.customers[n % CUSTOMERS]
    day = suiteql_literal(FIRST_DAY + timedelta(days=n // PER_DAY))
    return _suiteql(
        account,
        f"SELECT t.id, t.tranid FROM transaction t WHERE t.entity = {customer} "
        f"AND t.trandate = {day}",
    )


KINDS: dict[str, Maker] = {
    "POST invoice (externalId)": _post,
    "GET invoice/{id}": _get_by_id,
    "GET invoice/eid:{x}": _get_by_eid,
    "SuiteQL numbers (id IN 100)": _numbers,
    "SuiteQL lines (join, 100 ids)": _lines,
    "SuiteQL currencies": _currencies,
    "SuiteQL customer by name": _customer_by_name,
    "SuiteQL keyset page (1,000)": _keyset_page,
    "SuiteQL externalid =": _by_external_id,
    "SuiteQL tranid =": _by_tranid,
    "SuiteQL entity & trandate": _by_entity_and_date,
}


def cpu_per_request(account: Account, make: Maker, count: int, seed: int = 0) -> float:
    """Microseconds of CPU the emulator spends per request of this kind."""
    rng = random.Random(seed)
    spent = 0.0
    for _ in range(count):
        request = make(account, rng)
        started = time.process_time()
        response = account.fake.handle(request)
        spent += time.process_time() - started
        status = getattr(response, "status", None)
        if status not in (200, 204):
            raise RuntimeError(f"{request.method} {request.path}: {status} {response!r}")
        if request.method == "POST" and status == 204:  # a new invoice: note its id
            location = getattr(response, "headers", {}).get("Location", "")
            account.ids[-1] = location.rsplit("/", 1)[-1]
    return spent / count * 1e6


@dataclass
class Figures:
    """What one N measured: CPU per request of each kind (one figure a round) and the
    memory the seeding took (in its own process, so this N's alone)."""

    size: int
    heap_bytes: int
    rss_bytes: int
    seed_seconds: float
    rounds: dict[str, list[float]]

    def us_per_request(self, kind: str) -> float:
        return statistics.median(self.rounds[kind])


def _worker(conn: Connection, size: int) -> None:
    """One account in a process of its own: seed it, then time what the parent asks."""
    account = seeded(size)
    conn.send((account.heap_bytes, account.rss_bytes, account.seconds))
    for make in KINDS.values():
        cpu_per_request(account, make, 3, seed=99)  # warm-up: statement caches
    while True:
        command = conn.recv()
        if command is None:
            break
        kind, count, seed = command
        conn.send(cpu_per_request(account, KINDS[kind], count, seed))


class Worker:
    """A spawned process holding one seeded account (a fresh interpreter, so its
    resident set holds only what that account took)."""

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_worker, args=(child, size), daemon=True)
        self._process.start()
        child.close()
        self.size = size
        self._seeding: Any = None

    def seeded(self) -> tuple[int, int, float]:
        if self._seeding is None:
            self._seeding = self._conn.recv()
        heap, rss, seconds = self._seeding
        return int(heap), int(rss), float(seconds)

    def time(self, kind: str, count: int, seed: int) -> float:
        self._conn.send((kind, count, seed))
        return float(self._conn.recv())

    def close(self) -> None:
        self._conn.send(None)
        self._process.join(30)
        self._conn.close()


def measure(sizes: list[int], count: int, rounds: int) -> list[Figures]:
    """Every kind timed in every account, round after round, the accounts taking turns:
    a machine whose load changes meanwhile changes every N's figures alike. The figure
    of a kind is its median round."""
    workers = []
    for size in sizes:  # seeded one after another: the seeding CPU is then its own
        worker = Worker(size)
        worker.seeded()
        workers.append(worker)
    figures = [Figures(w.size, *w.seeded(), {kind: [] for kind in KINDS}) for w in workers]
    try:
        for round_number in range(rounds):
            for kind in KINDS:
                for worker, figure in zip(workers, figures, strict=True):
                    figure.rounds[kind].append(worker.time(kind, count, round_number))
    finally:
        for worker in workers:
            worker.close()
    return figures


def report(figures: list[Figures], count: int, rounds: int) -> float:
    """Print the table; the worst ratio."""
    header = " / ".join(f"N={f.size:,}" for f in figures)
    print(f"FakeNetSuite CPU per request (us, median of {rounds} rounds of {count}), {header}")
    worst = 0.0
    for kind in KINDS:
        values = [f.us_per_request(kind) for f in figures]
        ratio = values[-1] / values[0] if values[0] else float("inf")
        worst = max(worst, ratio)
        shown = " / ".join(f"{v:,.0f}" for v in values)
        print(f"  {kind:<30} {shown} us  ratio {ratio:.2f}")
    print(f"worst ratio largest/smallest N: {worst:.2f} (target <= {TARGET_RATIO:.2f})")
    for f in figures:
        if f.size:
            print(
                f"memory per stored invoice N={f.size:,}: heap {f.heap_bytes / f.size:,.0f} B, "
                f"resident {f.rss_bytes / f.size:,.0f} B (target <= {TARGET_BYTES:,} B); "
                f"seeding {f.seed_seconds / f.size * 1e6:,.0f} us CPU each"
            )
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (the smoke test)")
    parser.add_argument("--sizes", default="0,10000,100000", help="comma-separated N values")
    parser.add_argument("--requests", type=int, default=20, help="requests per kind and round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (the median is shown)")
    args = parser.parse_args(argv)
    sizes = [0, 1_000, 5_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    count, rounds = (6, 3) if args.quick else (args.requests, args.rounds)
    report(measure(sizes, count, rounds), count, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
