"""Does FakeQuickBooks answer as fast with 100,000 invoices as with none? (issues 13, 15)

    python benchmarks/emulator_quickbooks.py [--quick] [--sizes 0,10000,100000] [--rounds 15]

For each N a FakeQuickBooks (fake clock, limits off, no latency) is seeded through its
public ``seed_records`` with N invoices of customer 1, spread over the 400 days before
the benchmark's day, then every kind of request erpsync's QuickBooks client makes is
sent straight to ``fake.handle`` (the emulator's whole request path: authentication,
routing, rules, storage, JSON) and timed in CPU (``time.process_time``), ``--rounds``
times each; the cheapest round (the one the machine's other load disturbed least) is
printed in microseconds per request for every N, with the ratio of the largest N's to
the smallest N's (target: within 1.20, flat). The garbage collector is paused during each
timed request: a collection walks the whole heap, whatever request it lands in.

The requests (src/erpsync/quickbooks/*.py): a create, a batch of 30 creates, a GET by
Id, a sparse update, the PrivateNote layout's lookups (:mod:`erpsync.quickbooks.markers`:
a customer's day as a projection, the same since a watermark, whole records by
``Id IN``), the DocNumber layout's ``DocNumber IN (...)`` (:mod:`erpsync.quickbooks.
external_ids`), a page in the middle of the books (``ORDERBY Id STARTPOSITION``), the
newest page (``ORDERBY MetaData.CreateTime DESC``, what ``find_invoice`` reads), two
``count(*)`` and a change data capture call. Every answer has the same size at every N:
the writes go to a day and customer of their own, and the pages are 100 rows.

Memory: the growth of the traced heap (``tracemalloc``) per invoice while
``--memory`` invoices (default 10,000; 2,000 with ``--quick``) are created over the wire
in batches of 30, as a client writes them (target: at most 3 KB an invoice).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from erpsync.quickbooks import wire
from erpsync.testing import FakeClock, FakeQuickBooks
from erpsync.testing.core.wire import WireRequest

DAY = date(2026, 11, 3)
TARGET = 1.20
MEMORY_TARGET = 3 * 1024
SEED_CHUNK = 1000
PAGE = 100


def _line(n: int) -> dict[str, Any]:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": 100 + n % 900,
        "Description": f"Job {n}",
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }


def _invoice(n: int, day: date, tag: str) -> dict[str, Any]:
    return {
        "CustomerRef": {"value": "1"},
        "TxnDate": day.isoformat(),
        "PrivateNote": f"[erpsync external_id={tag}-{n:06d}]",
        "Line": [_line(n)],
    }


def seed(fake: FakeQuickBooks, count: int) -> float:
    """``count`` invoices of customer 1 on the 400 days before ``DAY``; CPU seconds."""
    started = time.process_time()
    for first in range(0, count, SEED_CHUNK):
        rows = [
            _invoice(n, DAY - timedelta(days=1 + n % 400), "old")
            for n in range(first, min(first + SEED_CHUNK, count))
        ]
        fake.seed_records({"Invoice": rows})
    return time.process_time() - started


class Wire:
    """Requests to one FakeQuickBooks as erpsync's client sends them (no HTTP)."""

    def __init__(self, fake: FakeQuickBooks, clock: FakeClock) -> None:
        self.fake, self.clock = fake, clock
        credentials = fake.credentials
        self.base = f"{wire.PRODUCTION_URL}{wire.DATA_PREFIX}{credentials.realm_id}/"
        self.headers = {
            "Authorization": f"Bearer {credentials.access_token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.sent = 0

    def send(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        self.sent += 1
        query = {"minorversion": "75", **params}
        if method == "POST":
            query["requestid"] = f"bench-{self.sent}"
        data = b"" if body is None else json.dumps(body).encode()
        request = WireRequest.build(
            method, f"{self.base}{path}?{urlencode(query)}", self.headers, data
        )
        response = self.fake.handle(request)
        status = getattr(response, "status", None)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {response!r}")
        answer: dict[str, Any] = json.loads(response.body)
        return answer

    def query(self, text: str) -> dict[str, Any]:
        return dict(self.send("GET", "query", query=text)["QueryResponse"])


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class Books:
    """One seeded FakeQuickBooks, the requests sent to it and their CPU times."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.clock = FakeClock()
        self.fake = FakeQuickBooks(clock=self.clock, governance=None, latency=0.0)
        self.seeding = seed(self.fake, size) / max(size, 1) * 1e6  # us per invoice
        self.client = Wire(self.fake, self.clock)
        self.made: list[dict[str, Any]] = []
        self.timings: dict[str, list[float]] = {}
        self._counter = iter(range(10**9))

    def timed(self, kind: str, call: Callable[[], Any]) -> Any:
        gc.disable()  # a collection of the whole heap is the runtime's, not this request's
        try:
            started = time.process_time()
            answer = call()
            self.timings.setdefault(kind, []).append(time.process_time() - started)
        finally:
            gc.enable()
        self.clock.advance(1.0)  # stamps one second apart: a watermark window holds a few
        return answer

    def writes(self) -> None:
        """One create and one batch of 30 creates (customer 1, the benchmark's day)."""
        send = self.client.send
        body = _invoice(next(self._counter), DAY, "new")
        self.made.append(self.timed("create", lambda: send("POST", "invoice", body))["Invoice"])
        items = [
            {"bId": str(b), "operation": "create", "Invoice": _invoice(n, DAY, "new")}
            for b, n in zip(range(wire.BATCH_LIMIT), self._counter, strict=False)
        ]
        batch = {"BatchItemRequest": items}
        answers = self.timed("batch of 30", lambda: send("POST", "batch", batch))
        self.made.extend(item["Invoice"] for item in answers["BatchItemResponse"])

    def edits(self, n: int) -> None:
        """A GET by Id and a sparse update of one of the invoices written."""
        at = n * 7 % len(self.made)
        record, send = self.made[at], self.client.send
        path = f"invoice/{record['Id']}"
        self.timed("read by Id", lambda: send("GET", path))
        body = {
            "Id": record["Id"],
            "SyncToken": record["SyncToken"],
            "sparse": True,
            "PrivateNote": f"{record['PrivateNote']} (edited {n})",
        }
        self.made[at] = self.timed("sparse update", lambda: send("POST", "invoice", body))[
            "Invoice"
        ]

    def queries(self) -> None:
        """The lookups, pages, counts and CDC call, each answer the same size at every N."""
        since = _stamp(self.fake.now() - timedelta(seconds=10))
        chunk = ", ".join(f"'{m['Id']}'" for m in self.made[-wire.BATCH_LIMIT :])
        docs = ", ".join(f"'{m['DocNumber']}'" for m in self.made[: wire.BATCH_LIMIT])
        middle = max((self.size + len(self.made)) // 2 - PAGE, 1)  # a full page at every N
        projection = "SELECT Id, PrivateNote, CustomerRef, TxnDate, MetaData FROM Invoice"
        day_where = f"WHERE CustomerRef = '1' AND TxnDate = '{DAY.isoformat()}'"
        texts = {
            "marker: customer-day": f"{projection} {day_where} ORDERBY Id "
            "STARTPOSITION 1 MAXRESULTS 1000",
            "marker: since watermark": f"{projection} {day_where} AND "
            f"MetaData.LastUpdatedTime >= '{since}' ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
            "marker: Id IN (30)": f"SELECT * FROM Invoice WHERE Id IN ({chunk}) "
            "STARTPOSITION 1 MAXRESULTS 1000",
            "DocNumber IN (30)": f"SELECT * FROM Invoice WHERE DocNumber IN ({docs}) "
            "ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
            "page: ORDERBY Id, middle": f"SELECT * FROM Invoice ORDERBY Id "
            f"STARTPOSITION {middle} MAXRESULTS {PAGE}",
            "page: newest first": "SELECT * FROM Invoice ORDERBY MetaData.CreateTime DESC "
            f"STARTPOSITION 1 MAXRESULTS {PAGE}",
            "count(*) customer-day": f"SELECT count(*) FROM Invoice {day_where}",
            "count(*) all": "SELECT count(*) FROM Invoice",
        }
        for kind, text in texts.items():
            self.timed(kind, lambda text=text: self.client.query(text))
        cdc = {"entities": "Invoice,Customer", "changedSince": since}
        self.timed("cdc Invoice,Customer", lambda: self.client.send("GET", "cdc", **cdc))

    def cheapest(self) -> dict[str, float]:
        """Microseconds of the cheapest round of each kind: CPU time is the request's
        cost plus what the machine's other load (caches, frequency) added to it."""
        return {kind: min(values) * 1e6 for kind, values in self.timings.items()}


def measure(sizes: list[int], rounds: int) -> list[Books]:
    """Every N's books, the rounds of each phase interleaved across them (one request
    of a kind at every N, then the next round), so a change in the machine's load
    falls on all N alike rather than on the N measured last."""
    books = [Books(size) for size in sizes]
    for _ in range(rounds):
        for one in books:
            one.writes()
    for n in range(rounds):
        for one in books:
            one.edits(n)
    for _ in range(rounds):
        for one in books:
            one.queries()
    return books


def memory_per_invoice(count: int) -> float:
    """Traced heap growth per invoice created over the wire, 30 a batch."""
    clock = FakeClock()
    fake = FakeQuickBooks(clock=clock, governance=None, latency=0.0)
    fake.requestid_memory = 0  # the replay memory is the client's choice, not storage
    client = Wire(fake, clock)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for first in range(0, count, wire.BATCH_LIMIT):
        items = [
            {"bId": str(n), "operation": "create", "Invoice": _invoice(n, DAY, "mem")}
            for n in range(first, min(first + wire.BATCH_LIMIT, count))
        ]
        client.send("POST", "batch", {"BatchItemRequest": items})
        clock.advance(1.0)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    fake.requests.clear()  # the request log is bounded; keep it out of the next run
    return grown / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (the smoke test)")
    parser.add_argument("--sizes", default="0,10000,100000", help="comma-separated N values")
    parser.add_argument("--rounds", type=int, default=15, help="requests of each kind per N")
    parser.add_argument("--memory", type=int, default=10_000, help="invoices traced for memory")
    args = parser.parse_args(argv)
    sizes = [0, 1000, 5000] if args.quick else [int(n) for n in args.sizes.split(",")]
    rounds = 7 if args.quick else args.rounds
    memory = 2000 if args.quick else args.memory
    books = measure(sizes, rounds)
    results = [one.cheapest() for one in books]
    for one in books:
        print(f"N={one.size:<7} seeded at {one.seeding:6.0f} us/invoice (CPU, seed_records)")
    del books
    ratio_name = f"N={sizes[-1]}/N={sizes[0]}"
    print(f"{'request':28}" + "".join(f"{'N=' + str(n):>11}" for n in sizes) + f"  {ratio_name}")
    flat = True
    for kind in results[0]:
        values = [r[kind] for r in results]
        ratio = values[-1] / max(values[0], 1e-9)
        flat = flat and ratio <= TARGET
        cells = "".join(f"{v:9.0f}us" for v in values)
        verdict = "flat" if ratio <= TARGET else "GROWS"
        print(f"{kind:28}{cells}  {ratio:5.2f} {verdict}")
    per_invoice = memory_per_invoice(memory)
    print(
        f"memory per stored invoice ({memory} created in batches of 30): "
        f"{per_invoice:.0f} bytes ({per_invoice / MEMORY_TARGET:.2f} of the 3 KB target)"
    )
    print(f"cost ratio {ratio_name}: {'all flat' if flat else 'some grow'} (target {TARGET})")
    ok = flat and per_invoice <= MEMORY_TARGET
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
