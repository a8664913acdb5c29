"""Bulk invoice creation against FakeQuickBooks: erpsync versus python-quickbooks.

    python benchmarks/quickbooks_bulk.py [--quick] [--layout PrivateNote|DocNumber]

The emulator answers after 50 ms and enforces Intuit's real limits (10 in flight, 500
requests and 40 batch requests a minute, 10 a second) on a shrunk time scale, so that
"a minute" lasts a few seconds. The ceiling those limits allow is 30 invoices a batch x
40 batches a minute. Two runs create the same invoices in two fresh emulators:

* erpsync: ``QuickBooksBackend.create_invoices`` (batches of 30, up to 10 in flight,
  governed by a limiter configured with the same scaled limits), in the default
  ``PrivateNote`` layout (each chunk looks its customers' day up before its batch, at
  most one query, each customer and day fetched once per run) or ``--layout DocNumber``;
* python-quickbooks, unmodified, the way its users do bulk work: its batch manager
  (``quickbooks.batch.batch_create``) chunk by chunk, waiting (a scaled) 60 s when
  QuickBooks throttles, as Intuit advises, because the library does not retry.

Printed: invoices per second, the ceiling, their ratio (target >= 0.90), the 429s the
caller saw (target 0) and those the emulator sent, requests per invoice, and the speed
ratio of the two clients. ``--quick`` is the smoke mode the test suite runs (< 10 s).

Note on the ratio: a sliding window admits a full window's worth at once, so a run of
only a few windows can beat the steady-state ceiling (ratio above 1).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from erpsync.limits import LocalLimiter, RateLimit
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.quickbooks.auth import QuickBooksAuth
from erpsync.quickbooks.backend import QuickBooksBackend
from erpsync.quickbooks.tokens import MemoryTokenStore, QuickBooksToken
from erpsync.testing.core.emulator import Governance, Latency, SystemClock, Window
from erpsync.testing.quickbooks import FakeQuickBooks

LATENCY = 0.05
BATCH = 30
BATCHES_PER_MINUTE = 40


@dataclass(frozen=True)
class Scenario:
    invoices: int
    time_scale: float  # one "minute" lasts 60 * time_scale seconds

    @property
    def minute(self) -> float:
        return 60.0 * self.time_scale

    @property
    def ceiling(self) -> float:
        """Invoices per second the batch limit allows in the steady state."""
        return BATCH * BATCHES_PER_MINUTE / self.minute


@dataclass
class Outcome:
    label: str
    created: int
    seconds: float
    requests: int
    throttled_by_server: int
    throttled_seen_by_caller: int

    def rate(self) -> float:
        return self.created / self.seconds if self.seconds > 0 else 0.0


def _emulator(scenario: Scenario) -> FakeQuickBooks:
    governance = Governance(
        concurrency=10,
        windows=(Window(500, 60), Window(10, 1), Window(40, 60, scope="batch")),
        time_scale=scenario.time_scale,
    )
    return FakeQuickBooks(
        clock=SystemClock(), latency=Latency(fixed=LATENCY), governance=governance
    )


def _store(fake: FakeQuickBooks) -> MemoryTokenStore:
    now = datetime.now(UTC)
    store = MemoryTokenStore()
    creds = fake.credentials
    store.save(
        creds.realm_id,
        QuickBooksToken(
            access_token=creds.access_token,
            refresh_token=creds.refresh_token,
            access_expires_at=now + timedelta(hours=1),
            refresh_expires_at=now + timedelta(days=100),
            realm_id=creds.realm_id,
            obtained_at=now,
        ),
    )
    return store


def _invoices(count: int) -> list[Invoice]:
    return [
        Invoice(
            external_id=f"bench-{i:06d}",
            customer=Ref(id="1"),
            date=date(2026, 11, 3),
            lines=[InvoiceLine(description=f"Job {i}", amount=Decimal("125.00"), item=Ref(id="1"))],
        )
        for i in range(count)
    ]


def run_erpsync(scenario: Scenario, layout: str | None = None) -> Outcome:
    fake = _emulator(scenario)
    with fake:
        creds = fake.credentials
        auth = QuickBooksAuth(creds.client_id, creds.client_secret, token_store=_store(fake))
        # The same limits on the same scale; the windows are 2% longer so that the
        # few milliseconds between our admission and the server's count cannot tip a
        # request over a window edge.
        scale = scenario.time_scale * 1.02
        limiter = LocalLimiter(
            concurrency=10,
            rates=[
                RateLimit(500, 60 * scale),
                RateLimit(10, 1 * scale),
                RateLimit(40, 60 * scale, scope="batch"),
            ],
        )
        options: dict[str, Any] = {} if layout is None else {"external_id_field": layout}
        backend = QuickBooksBackend(
            creds.realm_id, auth, limiter=limiter, rng=random.Random(1), **options
        )
        backend.preferences()  # connection set-up is not part of the job
        fake.reset_runtime()
        before = len(fake.requests)
        invoices = _invoices(scenario.invoices)
        started = time.perf_counter()
        result = backend.create_invoices(invoices)
        elapsed = time.perf_counter() - started
        seen = sum(1 for o in result.failed if "429" in str(o.error) or "Throttle" in str(o.error))
        stored = len(fake.records("Invoice"))
        if stored != scenario.invoices or not result.ok:
            raise SystemExit(
                f"erpsync run wrong: {result!r}, {stored} stored; first failure: "
                f"{result.failed[0].error if result.failed else None}"
            )
        return Outcome(
            f"erpsync ({backend.external_id_field})",
            result.counts["created"] + result.counts["existed"],
            elapsed,
            len(fake.requests) - before,
            fake.stats.throttled,
            seen,
        )


def run_python_quickbooks(scenario: Scenario) -> Outcome:
    from intuitlib.client import AuthClient
    from quickbooks.batch import batch_create
    from quickbooks.exceptions import QuickbooksException
    from quickbooks.objects.base import Ref as QbRef
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice as QbInvoice

    from quickbooks import QuickBooks

    fake = _emulator(scenario)
    with fake:
        creds = fake.credentials
        auth_client = AuthClient(
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            redirect_uri=creds.redirect_uri,
            environment="production",
            access_token=creds.access_token,
            refresh_token=creds.refresh_token,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qb = QuickBooks(
                auth_client=auth_client,
                refresh_token=creds.refresh_token,
                company_id=creds.realm_id,
                minorversion=75,
            )

        def build(i: int) -> Any:
            invoice = QbInvoice()
            customer = QbRef()
            customer.value = "1"
            invoice.CustomerRef = customer
            invoice.DocNumber = f"bench-{i:06d}"
            invoice.TxnDate = "2026-11-03"
            line = SalesItemLine()
            line.Amount = 125.00
            line.Description = f"Job {i}"
            detail = SalesItemLineDetail()
            item = QbRef()
            item.value = "1"
            detail.ItemRef = item
            line.SalesItemLineDetail = detail
            invoice.Line = [line]
            return invoice

        objects = [build(i) for i in range(scenario.invoices)]
        fake.reset_runtime()
        before = len(fake.requests)
        created = 0
        throttles = 0
        started = time.perf_counter()
        for start in range(0, len(objects), BATCH):
            chunk = objects[start : start + BATCH]
            while True:
                try:
                    response = batch_create(chunk, qb=qb)
                except QuickbooksException as exc:
                    if "ThrottleExceeded" not in str(exc.message) + str(exc.detail):
                        raise
                    throttles += 1
                    time.sleep(scenario.minute)  # "wait 60 s", on the scaled clock
                    continue
                created += len(response.successes)
                break
        elapsed = time.perf_counter() - started
        return Outcome(
            "python-quickbooks",
            created,
            elapsed,
            len(fake.requests) - before,
            fake.stats.throttled,
            throttles,
        )


def report(scenario: Scenario, ours: Outcome, theirs: Outcome | None) -> None:
    print(
        f"QuickBooks bulk create: {scenario.invoices} invoices, latency {LATENCY * 1000:.0f} ms, "
        f"one 'minute' = {scenario.minute:.2f} s"
    )
    print(
        f"governance ceiling: {BATCH} x {BATCHES_PER_MINUTE} batches/min = "
        f"{scenario.ceiling:.1f} invoices/s"
    )
    rows = [ours] if theirs is None else [ours, theirs]
    print(
        f"{'client':<24}{'inv/s':>10}{'ratio':>8}{'429 seen':>10}{'429 sent':>10}"
        f"{'req/inv':>9}{'secs':>8}"
    )
    for row in rows:
        print(
            f"{row.label:<24}{row.rate():>10.1f}{row.rate() / scenario.ceiling:>8.2f}"
            f"{row.throttled_seen_by_caller:>10}{row.throttled_by_server:>10}"
            f"{row.requests / max(row.created, 1):>9.3f}{row.seconds:>8.2f}"
        )
    print(f"erpsync ratio to ceiling: {ours.rate() / scenario.ceiling:.2f} (target >= 0.90)")
    print(f"erpsync 429s seen by caller: {ours.throttled_seen_by_caller} (target 0)")
    if theirs is not None and theirs.rate() > 0:
        print(f"speed ratio erpsync / python-quickbooks: {ours.rate() / theirs.rate():.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke mode (a few seconds)")
    parser.add_argument("--skip-python-quickbooks", action="store_true")
    parser.add_argument(
        "--layout",
        choices=("PrivateNote", "DocNumber"),
        default=None,
        help="where erpsync keeps the external id (default: the backend's default)",
    )
    args = parser.parse_args(argv)
    # A retried 429 is logged as a WARNING by the transport; the table counts them.
    logging.getLogger("erpsync").setLevel(logging.ERROR)
    scenario = Scenario(1500, 0.02) if args.quick else Scenario(3000, 0.05)
    ours = run_erpsync(scenario, args.layout)
    theirs = None if args.skip_python_quickbooks else run_python_quickbooks(scenario)
    report(scenario, ours, theirs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
