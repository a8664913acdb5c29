"""Does creating invoices cost more when the company's books are full? (issue 15, flat cost)

    python benchmarks/quickbooks_flat_cost.py [--quick] [--existing 0,3000] [--new 300]

For each layout (``PrivateNote``, ``DocNumber``) and each N in ``--existing``, a fresh
FakeQuickBooks (in process, on a fake clock: no latency, no governance waits) is seeded
with N invoices of customer 1 on one day, and erpsync then creates ``--new`` more for the
same customer and day, once through ``create_invoices`` (bulk) and once through
``create_invoice`` (a tenth of them, singles). Printed per run: microseconds of wall
time per invoice created, query requests per invoice (a page of up to 1000 rows each), and
the ratio of the largest N to N = 0 (target: within 1.20).

What bounds it: the ``PrivateNote`` layout can only narrow its external-id lookup by
customer and date (QuickBooks cannot filter on PrivateNote, WIRE.md), so each lookup
reads every invoice of that customer and day: a bulk run reads them once per run (its
memo), a single create once per write. The ``DocNumber`` layout looks up by number
(``DocNumber IN (...)``), so its cost does not depend on N.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.testing import FakeClock, FakeQuickBooks

DAY = date(2026, 11, 3)


@dataclass(frozen=True)
class Cost:
    layout: str
    mode: str
    existing: int
    invoices: int
    seconds: float
    queries: int

    @property
    def us_per_invoice(self) -> float:
        return self.seconds / self.invoices * 1e6


def _seed(fake: FakeQuickBooks, count: int) -> None:
    line = {"DetailType": "SalesItemLineDetail", "Amount": Decimal("1"), "SalesItemLineDetail": {}}
    for i in range(count):
        fake.company.create(
            "Invoice",
            {
                "CustomerRef": {"value": "1"},
                "TxnDate": DAY.isoformat(),
                "DocNumber": f"old-{i}",
                "PrivateNote": f"[erpsync external_id=old-{i}]",
                "Line": [dict(line)],
            },
            frozenset(),
        )


def _invoices(prefix: str, count: int) -> list[Invoice]:
    return [
        Invoice(
            external_id=f"{prefix}-{i:05d}",
            customer=Ref(id="1"),
            date=DAY,
            lines=[InvoiceLine(description="Job", amount=Decimal("125.00"), item=Ref(id="1"))],
        )
        for i in range(count)
    ]


def measure(layout: str, existing: int, new: int, mode: str) -> Cost:
    fake = FakeQuickBooks(clock=FakeClock())
    _seed(fake, existing)
    with fake:
        backend = fake.backend(external_id_field=layout)
        backend.preferences()  # settings read once, outside the timing
        backend.get_customer("1")
        before = len(fake.requests)
        invoices = _invoices(f"new-{mode}", new)
        started = time.perf_counter()
        if mode == "bulk":
            result = backend.create_invoices(invoices)
            assert result.counts["created"] == new, result.counts
        else:
            for inv in invoices:
                backend.create_invoice(inv)
        seconds = time.perf_counter() - started
        asked = [r for r in fake.requests[before:] if r.path.endswith("/query")]
        backend.close()
    return Cost(layout, mode, existing, new, seconds, len(asked))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (the smoke test)")
    parser.add_argument("--existing", default="0,3000", help="comma-separated N values")
    parser.add_argument("--new", type=int, default=300, help="invoices created per run")
    args = parser.parse_args(argv)
    existing = [0, 100] if args.quick else [int(n) for n in args.existing.split(",")]
    new = 30 if args.quick else args.new
    ok = True
    for layout in ("PrivateNote", "DocNumber"):
        for mode, count in (("bulk", new), ("single", max(new // 10, 1))):
            costs = [measure(layout, n, count, mode) for n in existing]
            for cost in costs:
                print(
                    f"{layout:11} {mode:6} N={cost.existing:<6} {cost.invoices} invoices: "
                    f"{cost.us_per_invoice:9.0f} us/invoice, "
                    f"{cost.queries / cost.invoices:.2f} queries/invoice"
                )
            ratio = costs[-1].us_per_invoice / costs[0].us_per_invoice
            flat = ratio <= 1.2
            ok = ok and (flat or layout == "PrivateNote")
            print(
                f"{layout:11} {mode:6} cost ratio N={existing[-1]} / N={existing[0]}: "
                f"{ratio:.2f} ({'flat' if flat else 'grows: bounded by the customer-day scan'})"
            )
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
