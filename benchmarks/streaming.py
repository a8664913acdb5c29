"""Streaming invoices through bulk creation: linear time, flat memory, on both ERPs.

    python benchmarks/streaming.py [--quick] [--sizes 10000,100000] [--erp quickbooks|netsuite]

For each ERP and each size N, a served emulator in its own process (limits off, no
latency: this measures the client, not the governance) takes N invoices from a
generator through ``create_invoices_iter`` (the iterator form of ``create_invoices``:
outcomes handed out in order and dropped, so nothing grows with N; a ``BulkResult``
of 100,000 invoices would itself hold 100,000 records, about 3.7 KB each).

Printed per run: microseconds of wall time per invoice, the client process's memory
growth while streaming (the peak of its resident set, sampled every 20 ms, minus the
resident set before the run: the emulator's memory is in the other process), the
emulator process's CPU per invoice (what wall time on a loaded machine hides), and per
ERP the ratio of the largest N's time per invoice to the smallest's (target: within
1.20), the same ratio of the emulator's CPU, and the largest growth (target < 20 MB).

What the client keeps per invoice, whatever N: the external ids seen (to catch a
repeat without writing it twice, about 100 bytes each), nothing else. ``--quick``
(the smoke test) streams 300 and 1,500.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _served import NETSUITE_CUSTOMER, NETSUITE_ITEM, Served, quiet_erpsync, resident_bytes

from erpsync.limits import LocalLimiter
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.netsuite import NetSuiteBackend, TokenBasedAuth
from erpsync.testing import connect_quickbooks

LINEAR_TARGET = 1.20
MEMORY_TARGET_MB = 20.0


class _PeakRss:
    """Samples the resident set every 20 ms while a run streams."""

    def __init__(self) -> None:
        self.start = resident_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, resident_bytes())

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.peak = max(self.peak, resident_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


@dataclass(frozen=True)
class Run:
    erp: str
    invoices: int
    seconds: float
    growth_mb: float
    failed: int
    emulator_cpu: float = 0.0

    @property
    def us_per_invoice(self) -> float:
        return self.seconds / self.invoices * 1e6

    @property
    def emulator_us_per_invoice(self) -> float:
        """The emulator process's CPU per invoice: what a loaded machine's wall time
        hides (the emulator runs in a process of its own)."""
        return self.emulator_cpu / self.invoices * 1e6


def _invoices(count: int, customer: str, item: str) -> Iterator[Invoice]:
    """A generator: the caller's side holds one invoice at a time."""
    first = date(2026, 1, 1)
    for n in range(count):
        yield Invoice(
            external_id=f"stream-{n:07d}",
            customer=Ref(id=customer),
            date=first + timedelta(days=n // 1000),  # a thousand a day, as a busy shop
            lines=[
                InvoiceLine(description=f"Job {n}", amount=Decimal("125.00"), item=Ref(id=item))
            ],
        )


def _backend(erp: str, served: Served) -> Any:
    if erp == "quickbooks":
        backend = connect_quickbooks(served.url, served.credentials, limiter=LocalLimiter())
        backend.preferences()
        backend.get_customer("1")
        return backend
    creds = served.credentials
    ns = NetSuiteBackend(
        creds.account_id,
        TokenBasedAuth(
            creds.consumer_key, creds.consumer_secret, creds.token_id, creds.token_secret
        ),
        base_url=served.url,
        limiter=LocalLimiter(concurrency=5),
    )
    ns.currencies()
    return ns


def stream(erp: str, count: int) -> Run:
    """Stream ``count`` new invoices into a fresh served emulator."""
    customer, item = ("1", "1") if erp == "quickbooks" else (NETSUITE_CUSTOMER, NETSUITE_ITEM)
    with Served(erp, latency=0.0, governed=False) as served:  # type: ignore[arg-type]
        backend = _backend(erp, served)
        failed = 0
        cpu = served.cpu()
        with _PeakRss() as memory:
            started = time.perf_counter()
            for outcome in backend.create_invoices_iter(_invoices(count, customer, item)):
                failed += outcome.status == "failed"
            seconds = time.perf_counter() - started
        cpu = served.cpu() - cpu
        backend.close()
    return Run(erp, count, seconds, memory.growth_mb, failed, cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (the smoke test)")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated N values")
    parser.add_argument("--erp", choices=("quickbooks", "netsuite"), action="append")
    args = parser.parse_args(argv)
    sizes = [300, 1500] if args.quick else [int(n) for n in args.sizes.split(",")]
    ok = True
    with quiet_erpsync():
        for erp in args.erp or ["quickbooks", "netsuite"]:
            runs = [stream(erp, n) for n in sizes]
            for run in runs:
                print(
                    f"{erp:10} N={run.invoices:<7} {run.us_per_invoice:8.0f} us/invoice, "
                    f"memory growth {run.growth_mb:6.1f} MB, {run.failed} failed; "
                    f"emulator CPU {run.emulator_us_per_invoice:6.0f} us/invoice"
                )
            ratio = runs[-1].us_per_invoice / runs[0].us_per_invoice
            cpu_ratio = runs[-1].emulator_us_per_invoice / max(
                runs[0].emulator_us_per_invoice, 1e-9
            )
            growth = max(r.growth_mb for r in runs)
            linear = ratio <= LINEAR_TARGET
            flat = growth < MEMORY_TARGET_MB
            ok = ok and linear and flat and not any(r.failed for r in runs)
            print(
                f"{erp:10} time per invoice N={sizes[-1]} / N={sizes[0]}: {ratio:.2f} "
                f"(target <= {LINEAR_TARGET}: {'linear' if linear else 'NOT linear'}); "
                f"largest memory growth {growth:.1f} MB (target < {MEMORY_TARGET_MB:.0f} MB)"
            )
            print(
                f"{erp:10} emulator CPU per invoice N={sizes[-1]} / N={sizes[0]}: {cpu_ratio:.2f}"
            )
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
