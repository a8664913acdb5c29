"""NetSuite bulk benchmark: writes at the concurrency limit, and streaming at scale.

    python benchmarks/netsuite_bulk.py [--quick]

Runs against FakeNetSuite in-process with 50 ms of latency per request and a Standard
account's concurrency limit of 5 (governance on), so the ceiling for one-request writes
is 5 / 0.050 s = 100 requests per second.

1. ``create_invoices`` of 2,000 invoices (each with an external id): invoices/s, the
   ratio to the ceiling (target >= 0.90) and the 429s that reached the caller (target 0;
   the account's own 429 count is printed too).
2. ``iter_invoices`` over 100,000 invoices: rows/s and the peak memory growth while
   streaming, measured with tracemalloc (target < 50 MB). The invoices are seeded
   straight into the emulator's SQLite tables (``fake.account.db``, an internal of the
   emulator: it has no public bulk-load API), because creating 100,000 invoices over
   HTTP at 100/s would take 17 minutes.

``--quick`` uses 200 invoices and 2,000 rows (a few seconds; the smoke test runs it).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from erpsync.errors import RateLimitError
from erpsync.limits import LocalLimiter
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.netsuite.auth import TokenBasedAuth
from erpsync.netsuite.backend import NetSuiteBackend
from erpsync.testing.core.emulator import Governance, SystemClock
from erpsync.testing.netsuite import FakeNetSuite

LATENCY = 0.050
CONCURRENCY = 5
CEILING = CONCURRENCY / LATENCY
CUSTOMER = "101"
ITEM = "202"


@dataclass(frozen=True)
class Figures:
    """What one run measured, for printing and for the smoke test."""

    invoices: int
    write_seconds: float
    invoices_per_second: float
    ratio: float
    caller_429s: int
    account_429s: int
    failed: int
    rows: int
    rows_per_second: float
    peak_mb: float


def _fake() -> FakeNetSuite:
    return FakeNetSuite(
        "1234567_SB1",
        clock=SystemClock(),
        latency=LATENCY,
        governance=Governance(concurrency=CONCURRENCY),
    )


def _backend(fake: FakeNetSuite) -> NetSuiteBackend:
    creds = fake.credentials
    auth = TokenBasedAuth(
        creds.consumer_key, creds.consumer_secret, creds.token_id, creds.token_secret
    )
    # A private limiter so the figures do not depend on earlier runs in this process.
    return NetSuiteBackend(
        creds.account_id,
        auth,
        concurrency=CONCURRENCY,
        limiter=LocalLimiter(concurrency=CONCURRENCY),
    )


def _invoices(count: int) -> Iterator[Invoice]:
    for n in range(count):
        yield Invoice(
            external_id=f"bench-{n}",
            customer=Ref(id=CUSTOMER),
            date=date(2026, 11, 3),
            lines=[
                InvoiceLine(
                    description=f"Job {n}", amount=Decimal(100 + n % 900), item=Ref(id=ITEM)
                )
            ],
        )


def bench_writes(count: int) -> tuple[float, int, int, int]:
    """(seconds, caller 429s, account 429s, failed) for create_invoices of ``count``."""
    fake = _fake()
    with fake:
        backend = _backend(fake)
        backend.currencies()  # one-time account lookups are not part of the write rate
        fake.reset_runtime()
        started = time.perf_counter()
        result = backend.create_invoices(_invoices(count))
        seconds = time.perf_counter() - started
        caller_429s = sum(1 for o in result.failed if isinstance(o.error, RateLimitError))
        return seconds, caller_429s, fake.stats.throttled, len(result.failed)


def _seed(fake: FakeNetSuite, count: int) -> None:
    """Insert ``count`` one-line open invoices directly into the emulator's tables."""
    db = fake.account.db
    stamp = "2026-11-03 09:00:00"
    first = 500_000
    headers = []
    lines = []
    for n in range(count):
        rid = first + n
        amount = float(100 + n % 900)
        headers.append(
            (
                rid,
                f"INV{rid}",
                "CustInvc",
                "invoice",
                int(CUSTOMER),
                "2026-11-03",
                "2026-12-03",
                "A",
                1,
                1.0,
                amount,
                amount,
                0.0,
                f"seed-{n}",
                stamp,
                stamp,
            )
        )
        lines.append((rid, 0, 0, "T", None, None, None, amount, amount, None))
        lines.append((rid, 1, 1, "F", int(ITEM), 1.0, amount, amount, amount, f"Job {n}"))
    with db.write() as conn:
        conn.executemany(
            'INSERT INTO "transaction" (id, tranid, type, recordtype, entity, trandate, '
            "duedate, status, currency, exchangerate, foreigntotal, foreignamountremaining, "
            "foreignamountpaid, externalid, createddate, lastmodifieddate) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            headers,
        )
        conn.executemany(
            'INSERT INTO transactionline ("transaction", id, linesequencenumber, mainline, '
            "item, quantity, rate, netamount, foreignamount, memo) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            lines,
        )


def bench_stream(count: int) -> tuple[int, float, float]:
    """(rows, seconds, peak MB of growth) for iter_invoices over ``count`` invoices."""
    fake = _fake()
    with fake:
        _seed(fake, count)
        backend = _backend(fake)
        backend.currencies()
        gc.collect()
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        rows = 0
        for _ in backend.iter_invoices():
            rows += 1
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return rows, seconds, (peak - baseline) / 1e6


def run(quick: bool) -> Figures:
    invoices = 200 if quick else 2_000
    rows_wanted = 2_000 if quick else 100_000
    seconds, caller_429s, account_429s, failed = bench_writes(invoices)
    rate = invoices / seconds
    rows, stream_seconds, peak_mb = bench_stream(rows_wanted)
    return Figures(
        invoices=invoices,
        write_seconds=seconds,
        invoices_per_second=rate,
        ratio=rate / CEILING,
        caller_429s=caller_429s,
        account_429s=account_429s,
        failed=failed,
        rows=rows,
        rows_per_second=rows / stream_seconds,
        peak_mb=peak_mb,
    )


def targets_met(figures: Figures) -> bool:
    return figures.ratio >= 0.90 and figures.caller_429s == 0 and figures.peak_mb < 50


def report(figures: Figures, quick: bool) -> list[str]:
    """The lines the script prints: figures and their ratio to the limit."""
    return [
        f"NetSuite bulk benchmark ({'quick' if quick else 'full'}): FakeNetSuite, "
        f"{LATENCY * 1000:.0f} ms latency, concurrency limit {CONCURRENCY}",
        f"create_invoices: {figures.invoices} invoices in {figures.write_seconds:.2f} s",
        f"  throughput          {figures.invoices_per_second:8.1f} invoices/s",
        f"  ceiling             {CEILING:8.1f} invoices/s (limit {CONCURRENCY} / "
        f"{LATENCY * 1000:.0f} ms)",
        f"  ratio to limit      {figures.ratio:8.2f}  (target >= 0.90)",
        f"  429s seen by caller {figures.caller_429s:8d}  (target 0; account answered "
        f"{figures.account_429s} 429s)",
        f"  failed outcomes     {figures.failed:8d}",
        f"iter_invoices: {figures.rows} invoices streamed",
        f"  rate                {figures.rows_per_second:8.0f} rows/s",
        f"  peak memory growth  {figures.peak_mb:8.1f} MB  (target < 50 MB)",
        "result: " + ("all targets met" if targets_met(figures) else "TARGETS MISSED"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small counts (a few seconds)")
    args = parser.parse_args(argv)
    figures = run(args.quick)
    print("\n".join(report(figures, args.quick)))
    return 0 if targets_met(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
