"""CPU per invoice: erpsync's models and wire mappings against plain pydantic and
python-quickbooks, in one run.

    python benchmarks/per_invoice.py [--quick] [--profile NAME]

Three paths, each for QuickBooks and NetSuite, on a realistic three-line invoice
(a quantity x price line, a second one with a finer price, a fixed-amount line; a
memo, a due date and an external id):

* ``build``: ``Invoice(...)`` with its ``InvoiceLine``\\ s, every validation on;
* ``write``: ``build`` + the ERP's ``invoice_to_wire`` + the JSON serialisation the
  client really sends with (QuickBooks: ``erpsync.transport.json_text.exact_json_bytes``,
  as ``QuickBooksClient`` calls it; NetSuite: the ``json=`` encoding of ``requests``,
  ``complexjson.dumps(body, allow_nan=False)``);
* ``read``: ``invoice_from_wire`` of the invoice as the client receives it from the
  emulator (QuickBooks: parsed with ``Decimal`` floats by the client's ``read``;
  NetSuite: ``GET invoice/{id}?expandSubResources=true`` through the client).

Peers, measured in the same run: a plain pydantic model with the same fields (no
erpsync rules: build, ``model_dump_json``, ``model_validate`` of the same data) and,
for QuickBooks, python-quickbooks' ``Invoice`` objects (build + ``to_json``, and
``Invoice.from_json`` of the same wire dict).

Every figure is the median (and p95) over many samples of a batch of calls, with the
garbage collector off while timing and a warm-up first; printed in microseconds per
invoice, each erpsync figure with its ratio to the 60 us target (<= 1.00 meets it).
``--profile build|write|read`` prints a cProfile of that path instead (the figures'
explanation in docs/benchmarks.md comes from there). ``--quick`` is the smoke mode the
test suite runs.

CPU medians move with the machine's load. Instruction counts do not: ``--profile PATH
--bare --calls N`` makes N calls of one path (after a warm-up) and nothing else, so that
under ``valgrind --tool=callgrind`` the difference between ``--calls 1000`` and
``--calls 0``, divided by 1000, is the instructions one call costs.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from erpsync.models import Invoice, InvoiceLine, Ref

TARGET_US = 60.0

# -- the workload -------------------------------------------------------------------------


#: The lines an invoice carries: (description, quantity, unit price, amount). The first
#: is the one-line invoice the bulk benchmarks and ``invoice_for_job`` create.
LINES: list[tuple[str, str | None, str | None, str]] = [
    ("Machining, 6061 aluminium", "3", "412.50", "1237.50"),
    ("Anodising", "12", "7.125", "85.50"),
    ("Setup", None, None, "150.00"),
]


def build_invoice(customer: str, item: str, lines: int = 1, key: str = "job-1042") -> Invoice:
    """The invoice every path builds: ``lines`` lines (quantity x price, then a finer
    price, then a fixed amount), a memo, a due date and an external id."""
    return Invoice(
        external_id=key,
        customer=Ref(id=customer),
        date=date(2026, 11, 3),
        due_date=date(2026, 12, 3),
        memo="Job 1042, November",
        lines=[
            InvoiceLine(description=text, amount=Decimal(amount), item=Ref(id=item))
            if qty is None
            else InvoiceLine(
                description=text,
                quantity=Decimal(qty),
                unit_price=Decimal(price or "0"),
                item=Ref(id=item),
            )
            for text, qty, price, amount in LINES[:lines]
        ],
    )


class PlainRef(BaseModel):
    id: str
    name: str | None = None


class PlainLine(BaseModel):
    description: str | None = None
    amount: Decimal | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    item: PlainRef | None = None
    tax_code: PlainRef | None = None


class PlainInvoice(BaseModel):
    """The invoice's fields in plain pydantic: the floor a pydantic model costs."""

    id: str | None = None
    external_id: str | None = None
    number: str | None = None
    customer: PlainRef
    date: date
    due_date: date | None = None
    currency: str = "USD"
    lines: list[PlainLine] = Field(min_length=1)
    memo: str | None = None
    status: str = "open"
    remote_status: str | None = None
    tax: Decimal = Decimal(0)
    balance: Decimal | None = None


def build_plain(customer: str, item: str, lines: int = 1) -> PlainInvoice:
    return PlainInvoice(
        external_id="job-1042",
        customer=PlainRef(id=customer),
        date=date(2026, 11, 3),
        due_date=date(2026, 12, 3),
        memo="Job 1042, November",
        lines=[
            PlainLine(
                description=text,
                amount=Decimal(amount),
                quantity=None if qty is None else Decimal(qty),
                unit_price=None if price is None else Decimal(price),
                item=PlainRef(id=item),
            )
            for text, qty, price, amount in LINES[:lines]
        ],
    )


# -- timing -------------------------------------------------------------------------------


def measure(fn: Callable[[], object], *, samples: int, batch: int) -> tuple[float, float]:
    """(median, p95) microseconds per call of ``fn`` over ``samples`` batches."""
    for _ in range(max(batch, 50)):  # warm-up: caches, pydantic's lazy schema bits
        fn()
    times: list[float] = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(samples):
            start = time.process_time()
            for _ in range(batch):
                fn()
            times.append((time.process_time() - start) / batch * 1e6)
    finally:
        if enabled:
            gc.enable()
        gc.collect()
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


# -- the two ERPs -------------------------------------------------------------------------

Paths = dict[str, Callable[[], object]]


class Setup:
    """One ERP's emulator-made context: a customer, an item, the wire invoices (by line
    count) as the client receives them, and the account's currencies (id -> code)."""

    def __init__(self, fake: Any, read: Callable[[Any, str], Any], line_counts: list[int]) -> None:
        with fake:
            backend = fake.backend()
            customer = next(iter(backend.iter_customers())).id
            item = next(iter(backend.iter_items())).id
            assert customer is not None
            assert item is not None
            self.customer: str = customer
            self.item: str = item
            self.wires: dict[int, Any] = {}
            for lines in line_counts:
                invoice = build_invoice(customer, item, lines, f"setup-{lines}")
                created = backend.create_invoice(invoice)
                assert created.id is not None
                self.wires[lines] = read(backend, created.id)
            currencies = getattr(backend, "currencies", None)
            self.currencies: dict[str, str] = dict(currencies()) if currencies else {}


def quickbooks_setup(line_counts: list[int]) -> Setup:
    from erpsync.testing import FakeQuickBooks

    return Setup(FakeQuickBooks(), lambda b, id: b.client.read("Invoice", id), line_counts)


def quickbooks_paths(setup: Setup, lines: int) -> Paths:
    """erpsync's three QuickBooks paths."""
    from erpsync.quickbooks.errors import BACKEND
    from erpsync.quickbooks.records import invoice_from_wire, invoice_to_wire, with_external_id
    from erpsync.transport.json_text import exact_json_bytes  # what the client sends with

    wire = setup.wires[lines]

    def write() -> bytes:
        invoice = build_invoice(setup.customer, setup.item, lines)
        body = invoice_to_wire(
            invoice,
            doc_number=None,
            private_note=with_external_id(invoice.memo, invoice.external_id),
        )
        return exact_json_bytes(body, backend=BACKEND, record="invoice")

    expected = build_invoice(setup.customer, setup.item, lines)
    assert invoice_from_wire(wire).total == expected.total
    return {
        "build": lambda: build_invoice(setup.customer, setup.item, lines),
        "write": write,
        "read": lambda: invoice_from_wire(wire),
    }


def netsuite_setup(line_counts: list[int]) -> Setup:
    from erpsync.testing import FakeNetSuite

    return Setup(
        FakeNetSuite(account_id="1234567_SB1"),
        lambda b, id: b.client.get("invoice", id, expand=True),
        line_counts,
    )


def netsuite_paths(setup: Setup, lines: int) -> Paths:
    """erpsync's three NetSuite paths."""
    from requests.models import complexjson  # what ``requests`` encodes ``json=`` with

    from erpsync.netsuite.records import invoice_from_wire, invoice_to_wire

    wire, currencies = setup.wires[lines], setup.currencies
    currency_ids = {code: cid for cid, code in currencies.items()}

    def write() -> bytes:
        invoice = build_invoice(setup.customer, setup.item, lines)
        body = invoice_to_wire(invoice, external_id="job-1042", currency_ids=currency_ids)
        return complexjson.dumps(body, allow_nan=False).encode("utf-8")

    expected = build_invoice(setup.customer, setup.item, lines)
    assert invoice_from_wire(wire, currencies).total == expected.total
    return {
        "build": lambda: build_invoice(setup.customer, setup.item, lines),
        "write": write,
        "read": lambda: invoice_from_wire(wire, currencies),
    }


def plain_paths(setup: Setup, lines: int) -> Paths:
    customer, item = setup.customer, setup.item
    data = build_plain(customer, item, lines).model_dump()
    return {
        "build": lambda: build_plain(customer, item, lines),
        "write": lambda: build_plain(customer, item, lines).model_dump_json().encode("utf-8"),
        "read": lambda: PlainInvoice.model_validate(data),
    }


def python_quickbooks_paths(setup: Setup, lines: int) -> Paths:
    """python-quickbooks' objects, the way its README builds and sends an invoice."""
    from quickbooks.objects.base import Ref as QRef
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice as QInvoice

    wire = setup.wires[lines]

    def line(description: str, qty: str | None, price: str | None, amount: str) -> Any:
        out = SalesItemLine()
        out.Description, out.Amount = description, Decimal(amount)
        detail = SalesItemLineDetail()
        detail.ItemRef = QRef()
        detail.ItemRef.value = setup.item
        if qty is not None:
            detail.Qty, detail.UnitPrice = Decimal(qty), Decimal(price or "0")
        out.SalesItemLineDetail = detail
        return out

    def build() -> Any:
        invoice = QInvoice()
        invoice.CustomerRef = QRef()
        invoice.CustomerRef.value = setup.customer
        invoice.TxnDate, invoice.DueDate = "2026-11-03", "2026-12-03"
        invoice.PrivateNote = "Job 1042, November\n[erpsync external_id=job-1042]"
        invoice.Line = [line(*spec) for spec in LINES[:lines]]
        return invoice

    return {
        "build": build,
        "write": lambda: build().to_json().encode("utf-8"),
        "read": lambda: QInvoice.from_json(wire),
    }


# -- report -------------------------------------------------------------------------------

_LABELS = {
    "build": "build + validate",
    "write": "build + validate + to_wire + JSON",
    "read": "from_wire (wire invoice -> model)",
}


def models_from_values(read: Callable[[], object]) -> Callable[[], object]:
    """The models of what ``read`` returns, validated again from values already read, in
    one pass as the readers hand them over (lines and references as plain values): the
    part of a read that is the models' own validation rather than reading the wire."""
    invoice = read()
    assert isinstance(invoice, Invoice)

    def plain(value: object) -> object:
        return dict(value.__dict__) if isinstance(value, Ref) else value

    head = {k: plain(v) for k, v in invoice.__dict__.items() if k != "lines"}
    lines = [{k: plain(v) for k, v in line.__dict__.items()} for line in invoice.lines]
    return lambda: Invoice(**head, lines=lines)


def explain(path: str, paths: Paths, median: float, args: Any) -> None:
    """What bounds a path, measured in the same run: every read (the models' one pass
    against reading the wire), and any other path that misses the target."""
    if path != "read":
        print(f"  {'':34} short: see --profile {path} and docs/benchmarks.md")
        return
    models, _ = measure(models_from_values(paths["read"]), samples=args.samples, batch=args.batch)
    print(
        f"  {'':34} bounded by: the models' validation {models:.1f} us (the same invoice "
        f"built from values already read) + reading the wire {median - models:.1f} us "
        "(each field type- and range-checked to name its wire field)"
    )


def report(title: str, paths: Paths, peers: dict[str, Paths], args: Any) -> list[str]:
    """Print one table; return the paths that miss the target."""
    print(f"\n{title}")
    short: list[str] = []
    for path, label in _LABELS.items():
        median, p95 = measure(paths[path], samples=args.samples, batch=args.batch)
        ratio = median / TARGET_US
        if ratio > 1.0:
            short.append(f"{title}: {path}")
        print(
            f"  {label:34} erpsync           {median:6.1f} us (p95 {p95:6.1f})  "
            f"ratio to {TARGET_US:.0f} us: {ratio:.2f} {'meets' if ratio <= 1.0 else 'MISSES'}"
        )
        for peer, peer_paths in peers.items():
            other, other_p95 = measure(peer_paths[path], samples=args.samples, batch=args.batch)
            print(
                f"  {'':34} {peer:17} {other:6.1f} us (p95 {other_p95:6.1f})  "
                f"erpsync / {peer}: {median / other:.2f}x"
            )
        if ratio > 1.0 or path == "read":  # a read's split is printed even when it meets
            explain(path, paths, median, args)
    return short


def profile(paths: Paths, path: str, calls: int, *, bare: bool = False) -> None:
    """cProfile ``calls`` calls of one path; with ``bare``, only make the calls (after a
    warm-up), for an instruction counter such as callgrind (see the module docstring)."""
    fn = paths[path]
    if bare:
        for _ in range(200 if calls else 0):
            fn()
        for _ in range(calls):
            fn()
        return
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke mode (a few seconds)")
    parser.add_argument("--profile", choices=sorted(_LABELS), help="cProfile one path")
    parser.add_argument("--erp", choices=("quickbooks", "netsuite"), default="quickbooks")
    parser.add_argument("--lines", type=int, choices=(1, 3), default=1, help="for --profile")
    parser.add_argument("--calls", type=int, default=20_000, help="for --profile")
    parser.add_argument(
        "--bare", action="store_true", help="with --profile: make the calls, no cProfile"
    )
    args = parser.parse_args(argv)
    args.samples, args.batch = (10, 10) if args.quick else (150, 60)
    line_counts = [1] if args.quick else [1, 3]

    qbo = quickbooks_setup(line_counts)
    ns = netsuite_setup(line_counts)
    if args.profile:
        erp = (
            quickbooks_paths(qbo, args.lines)
            if args.erp == "quickbooks"
            else netsuite_paths(ns, args.lines)
        )
        profile(erp, args.profile, args.calls, bare=args.bare)
        return 0
    print(
        f"CPU per invoice, Python {sys.version.split()[0]}, median of {args.samples} "
        f"samples x {args.batch} calls, gc off while timing"
    )
    short: list[str] = []
    for lines in line_counts:
        shape = "one-line invoice" if lines == 1 else f"{lines}-line invoice"
        short += report(
            f"QuickBooks, {shape}",
            quickbooks_paths(qbo, lines),
            {
                "plain pydantic": plain_paths(qbo, lines),
                "python-quickbooks": python_quickbooks_paths(qbo, lines),
            },
            args,
        )
        short += report(
            f"NetSuite, {shape}",
            netsuite_paths(ns, lines),
            {"plain pydantic": plain_paths(ns, lines)},
            args,
        )
    print()
    if short:
        print("short of the target: " + "; ".join(short))
        print("what bounds them (from a profile): see docs/benchmarks.md, 'CPU per invoice'")
    else:
        print(f"every erpsync path meets the {TARGET_US:.0f} us target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
