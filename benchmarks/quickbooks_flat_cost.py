"""Does creating invoices cost more when the company's books are full? (issue 15, flat cost)

    python benchmarks/quickbooks_flat_cost.py [--quick] [--existing 0,1000,10000] [--new 300]

For each layout (``PrivateNote``, ``DocNumber``) and each N in ``--existing``, a served
FakeQuickBooks in its own process (limits off, no latency: this measures cost, not
governance) is seeded with N invoices of customer 1 on one day, straight into its store,
and erpsync then creates ``--new`` more for the same customer and day, once through
``create_invoices`` (bulk) and once through ``create_invoice`` (a tenth of them,
singles). Printed per run: microseconds of wall time per invoice created, the client's
and the emulator's CPU per invoice, query requests per invoice, and the ratio of the
largest N to N = 0 (target: within 1.20).

How it stays flat: in the ``PrivateNote`` layout (the default) the key lives only in a
field QuickBooks cannot filter on (WIRE.md), so the only proof that an earlier run did
not already write an invoice is to read every invoice of that customer and day. erpsync
reads a customer's day whole once per backend, as a projection, and from then on only
what changed since the latest ``MetaData.LastUpdatedTime`` QuickBooks showed it
(:mod:`erpsync.quickbooks.markers`); whole records only for the matches. The
``DocNumber`` layout carries the key in a filterable field (``DocNumber IN (...)``),
and a bulk run relies on QuickBooks' own duplicate-number refusal instead of looking
first. What still grows with N is the one whole read per customer-day per backend (one
page per 1,000 invoices, amortised over the writes that follow): the client decodes
those rows and the emulator filters, projects and encodes them, so both CPU figures
grow with N in a run of few writes. FakeQuickBooks answers every single request at a
cost flat in N (its indexes: ``benchmarks/emulator_quickbooks.py``), which is why the
client's CPU ratio is printed beside the wall-time one.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _served import Served, quiet_erpsync

from erpsync.limits import LocalLimiter
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.testing import connect_quickbooks

DAY = date(2026, 11, 3)
TARGET = 1.20


@dataclass(frozen=True)
class Cost:
    layout: str
    mode: str
    existing: int
    invoices: int
    seconds: float
    client_cpu: float
    emulator_cpu: float
    queries: int

    @property
    def us_per_invoice(self) -> float:
        return self.seconds / self.invoices * 1e6


def _invoices(prefix: str, count: int, day: date) -> list[Invoice]:
    return [
        Invoice(
            external_id=f"{prefix}-{i:05d}",
            customer=Ref(id="1"),
            date=day,
            lines=[InvoiceLine(description="Job", amount=Decimal("125.00"), item=Ref(id="1"))],
        )
        for i in range(count)
    ]


def measure(layout: str, existing: int, new: int) -> list[Cost]:
    """The bulk and the single-write cost for one layout and N, in one served emulator:
    each mode on a day of its own, seeded with N invoices of customer 1."""
    days = {"bulk": DAY, "single": DAY + timedelta(days=1)}
    costs = []
    with Served("quickbooks", latency=0.0, governed=False) as served:
        for day in days.values():
            served.seed_invoices(existing, "1", day)
        backend = connect_quickbooks(
            served.url, served.credentials, limiter=LocalLimiter(), external_id_field=layout
        )
        backend.preferences()  # settings read once, outside the timing
        backend.get_customer("1")
        for mode, day in days.items():
            count = new if mode == "bulk" else max(new // 10, 1)
            costs.append(_one(served, backend, layout, existing, mode, _invoices(mode, count, day)))
        backend.close()
    return costs


def _one(
    served: Served, backend: Any, layout: str, existing: int, mode: str, invoices: list[Invoice]
) -> Cost:
    before = len(served.call("paths"))
    emulator_cpu = served.cpu()
    cpu = time.process_time()
    started = time.perf_counter()
    if mode == "bulk":
        result = backend.create_invoices(invoices)
        assert result.counts["created"] == len(invoices), result.counts
    else:
        for inv in invoices:
            backend.create_invoice(inv)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    emulator_cpu = served.cpu() - emulator_cpu
    asked = [p for p in served.call("paths")[before:] if p[1].endswith("/query")]
    return Cost(layout, mode, existing, len(invoices), seconds, cpu, emulator_cpu, len(asked))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (the smoke test)")
    parser.add_argument("--existing", default="0,1000,10000", help="comma-separated N values")
    parser.add_argument("--new", type=int, default=300, help="invoices created per run")
    args = parser.parse_args(argv)
    existing = [0, 1000] if args.quick else [int(n) for n in args.existing.split(",")]
    new = 60 if args.quick else args.new
    ok = True
    with quiet_erpsync():
        for layout in ("PrivateNote", "DocNumber"):
            runs = [measure(layout, n, new) for n in existing]
            for position, mode in enumerate(("bulk", "single")):
                costs = [run[position] for run in runs]
                for cost in costs:
                    print(
                        f"{layout:11} {mode:6} N={cost.existing:<6} {cost.invoices} invoices: "
                        f"{cost.us_per_invoice:8.0f} us/invoice (client cpu "
                        f"{cost.client_cpu / cost.invoices * 1e6:6.0f}, emulator cpu "
                        f"{cost.emulator_cpu / cost.invoices * 1e6:6.0f}), "
                        f"{cost.queries / cost.invoices:.2f} queries/invoice"
                    )
                ratio = costs[-1].us_per_invoice / costs[0].us_per_invoice
                client = costs[-1].client_cpu / max(costs[0].client_cpu, 1e-9)
                emulator = costs[-1].emulator_cpu / max(costs[0].emulator_cpu, 1e-9)
                flat = ratio <= TARGET
                ok = ok and flat
                print(
                    f"{layout:11} {mode:6} cost ratio N={existing[-1]} / N={existing[0]}: "
                    f"{ratio:.2f} ({'flat' if flat else 'grows'}; the client's CPU alone: "
                    f"{client:.2f}; the emulator's: {emulator:.2f})"
                )
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
