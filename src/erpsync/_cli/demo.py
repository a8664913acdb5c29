"""``erpsync demo``: the source documents' workflows, end to end, on both emulators.

No credentials, no network: FakeQuickBooks and FakeNetSuite run in this process (real
clock, no added latency, so the whole demo takes seconds) and every workflow talks to
them through the same backends a production program uses. What it shows, per ERP:

* marketplace invoicing (seeds 000/001): jobs accepted and shipped become invoices per
  the configured trigger, a repeated event writes nothing, older jobs are backfilled
  (dry run first), a payout becomes one payment linked to all its invoices, and an
  in-house invoice returns its number and PDF (written to a file; NetSuite's through
  the invoice-PDF RESTlet the backend is configured with, as a real account needs);
* webhook upserts and the CSV export path (seed 003);
* purchase-order mirroring and receiving (seed 004), into an in-memory local system;
* an accounting sync pass with a per-invoice error on purpose (seed 002), and imports;
* a reconciliation report.

A workflow whose module is not part of this build is reported as skipped, by name; a
workflow that fails is reported with its error and makes the exit code 1. Nothing is
invented: every number printed came back from an emulator. The SQLite store, the PDFs
and the CSV export are left in the output directory (a previous demo's files there are
replaced, since they describe emulators that no longer exist).
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from erpsync._cli.exits import EXIT_OK, EXIT_PARTIAL, one_line
from erpsync._cli.output import Output
from erpsync.errors import ConfigurationError
from erpsync.models import Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentApplication, Ref

if TYPE_CHECKING:
    from erpsync.backend import AccountingBackend
    from erpsync.store import SQLiteSyncStore
    from erpsync.testing.core.emulator import Emulator

__all__ = ["DemoContext", "StepResult", "run_demo"]

STORE_NAME = "erpsync-demo.db"
DEFAULT_DIR = "erpsync-demo"


@dataclass
class StepResult:
    """One workflow on one ERP: ``ok``, ``skipped`` (with why) or ``failed``."""

    erp: str
    workflow: str
    status: str
    summary: str


@dataclass
class DemoContext:
    """What a step needs: the ERP's emulator and backend, the shared store, the folder."""

    erp: str
    fake: Emulator
    backend: AccountingBackend
    store: SQLiteSyncStore
    out_dir: Path
    out: Output
    files: list[Path] = field(default_factory=list)
    #: The local AR system's documents after the accounting sync (for reconciliation).
    local_documents: list[Invoice | Payment] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.erp.lower()


class _Skip(Exception):
    """A step that cannot run in this build (a workflow module is missing)."""


def _require_module(name: str) -> None:
    if importlib.util.find_spec(name) is None:
        raise _Skip(f"{name} is not part of this build")


def _ids(ctx: DemoContext) -> tuple[list[Ref], list[Ref]]:
    """The emulator's seeded customers and items (USD customers only)."""
    customers = [
        Ref(id=c.id, name=c.name)
        for c in ctx.backend.iter_customers()
        if c.id is not None and c.currency == "USD"
    ]
    items = [Ref(id=i.id, name=i.name) for i in ctx.backend.iter_items() if i.id is not None]
    if len(customers) < 3 or not items:
        raise ConfigurationError(f"the {ctx.erp} emulator has too little seed data for the demo")
    service = [
        i for i in items if i.name and ("serv" in i.name.lower() or "mach" in i.name.lower())
    ]
    return customers, service or items


# -- marketplace invoicing (seeds 000 / 001) --------------------------------------------------


def step_marketplace(ctx: DemoContext) -> str:
    _require_module("erpsync.sync.xometry")
    from erpsync.mapping.xometry import InvoicePolicy, XometryJob, XometryPayout
    from erpsync.sync.xometry import XometryInvoicing

    customers, items = _ids(ctx)
    # Each ERP shows one of the two triggers the marketplace offers.
    trigger = "accepted" if ctx.erp == "QuickBooks" else "completed"
    policy = InvoicePolicy(trigger=trigger, customer=customers[0], item=items[0])
    flow = XometryInvoicing(ctx.backend, policy, ctx.store, wait_seconds=0)

    def job(job_id: str, price: str, shipped: _dt.date | None) -> XometryJob:
        return XometryJob(
            job_id=job_id,
            price=Decimal(price),
            accepted_date=_dt.date(2026, 11, 2),
            expected_ship_date=_dt.date(2026, 11, 16),
            ship_date=shipped,
            status="completed" if shipped else "accepted",
            description=f"Xometry Job {job_id}: machined aluminium housings",
        )

    shipped = _dt.date(2026, 11, 13)
    events = [
        ("accepted", job("J-1001", "1250.00", None)),
        ("accepted", job("J-1002", "740.50", None)),
        ("accepted", job("J-1003", "310.00", None)),
        ("completed", job("J-1002", "740.50", shipped)),
        ("completed", job("J-1003", "310.00", shipped)),
        ("completed", job("J-1003", "310.00", shipped)),  # a repeated delivery
    ]
    rows: list[list[object]] = []
    for event, which in events:
        handler = flow.on_job_accepted if event == "accepted" else flow.on_job_completed
        result = handler(which)
        invoice = result.invoice
        rows.append(
            [
                which.job_id,
                event,
                result.status,
                result.invoice_id or "",
                result.number or "",
                invoice.date if invoice is not None else "",
                invoice.total if invoice is not None else "",
            ]
        )
    ctx.out.table(
        f"{ctx.erp}: job events (invoice trigger: job {trigger}; customer "
        f"{policy.customer.name}, item {policy.item.name if policy.item else '-'})",
        ["job", "event", "result", "invoice id", "number", "invoice date", "total"],
        rows,
    )

    older = [
        job("J-0990", "95.00", _dt.date(2026, 10, 20)),
        job("J-0991", "480.00", _dt.date(2026, 10, 24)),
    ]
    preview = flow.backfill(older, dry_run=True)
    done = flow.backfill(older)
    ctx.out.line(
        f"Backfill of jobs from before the integration: dry run {preview.counts}, "
        f"then {done.counts}"
    )

    payout = XometryPayout(
        payout_id="P-5001",
        date=_dt.date(2026, 11, 30),
        amount=Decimal("1050.50"),
        job_ids=("J-1002", "J-1003"),
    )
    paid = flow.on_payout(payout)
    ctx.out.line(
        f"Payout {payout.payout_id} ({payout.amount} USD): payment {paid.payment_id} "
        f"{paid.status}, linked to invoices {', '.join(paid.invoice_ids)}"
    )

    inhouse = flow.create_inhouse_invoice(
        customers[1].name or customers[1],
        [("In-house job 7001: anodized brackets (qty 40)", "860.00")],
        external_id="inhouse-7001",
        date=_dt.date(2026, 11, 20),
    )
    if inhouse.pdf is not None:
        if not inhouse.pdf.startswith(b"%PDF"):
            raise ConfigurationError(f"{ctx.erp} returned a PDF that does not start with %PDF")
        pdf_path = ctx.out_dir / f"{ctx.slug}-invoice-{inhouse.number or inhouse.invoice.id}.pdf"
        pdf_path.write_bytes(inhouse.pdf)
        ctx.files.append(pdf_path)
        pdf_text = f"PDF written to {pdf_path} ({len(inhouse.pdf)} bytes)"
        restlet = getattr(ctx.backend, "pdf_restlet", None)
        if restlet is not None:
            pdf_text += f", rendered by the RESTlet {restlet[0]} / {restlet[1]}"
    else:
        pdf_text = f"no PDF: {inhouse.pdf_note}"
    ctx.out.line(
        f"In-house invoice for {customers[1].name}: number {inhouse.number or '(none)'}, "
        f"id {inhouse.invoice.id}; {pdf_text}"
    )
    created = sum(1 for r in rows if r[2] == "created") + len(done.created)
    return (
        f"{created} job invoices, payment {paid.payment_id} for 2 invoices, in-house invoice "
        f"{inhouse.number or inhouse.invoice.id}"
        + (" with its PDF" if inhouse.pdf else " (PDF unavailable)")
    )


# -- webhook upserts and CSV export (seed 003) -------------------------------------------------


def step_billing(ctx: DemoContext) -> str:
    _require_module("erpsync.sync.webhooks")
    from erpsync.mapping.fields import FieldMapping
    from erpsync.sync.webhooks import InvoiceUpsertHandler

    customers, items = _ids(ctx)
    prefix = ctx.slug
    mapping = FieldMapping(
        item_field=f"{prefix}_internal_item_id", customer_field=f"{prefix}_internal_customer_id"
    )
    products = {
        "prod-api": {
            "id": "prod-api",
            "name": "API calls",
            "custom_fields": {mapping.item_field: items[0].id},
        },
        "prod-seat": {
            "id": "prod-seat",
            "name": "Seats",
            "custom_fields": {mapping.item_field: items[-1].id},
        },
    }
    billing_customers = {
        "cust-e0ac": {
            "id": "cust-e0ac",
            "name": customers[2].name,
            "custom_fields": {mapping.customer_field: customers[2].id},
        },
    }
    source = {
        "inv-d234": {
            "id": "inv-d234",
            "customer_id": "cust-e0ac",
            "date": "2026-10-31",
            "currency": "USD",
            "memo": "October usage",
            "line_items": [
                {
                    "description": "API calls (120k)",
                    "amount": "240.00",
                    "quantity": "120000",
                    "unit_price": "0.002",
                    "product_id": "prod-api",
                },
                {"description": "Seats", "amount": "0", "product_id": "prod-seat"},
                {"description": "Seats (5)", "amount": "150.00", "product_id": "prod-seat"},
            ],
        },
        "inv-zero": {
            "id": "inv-zero",
            "customer_id": "cust-e0ac",
            "date": "2026-10-31",
            "currency": "USD",
            "total": "0",
            "line_items": [{"description": "API calls", "amount": "0", "product_id": "prod-api"}],
        },
    }
    handler = InvoiceUpsertHandler(
        ctx.backend,
        ctx.store,
        lambda invoice_id: source[invoice_id],
        mapping=mapping,
        products=products,
        customers=billing_customers,
        external_id_prefix="metronome-",
    )
    events = [
        ("evt-1", "inv-d234"),
        ("evt-1", "inv-d234"),  # the sender retried
        ("evt-2", "inv-zero"),
    ]
    rows: list[list[object]] = []
    for event_id, invoice_id in events:
        result = handler.handle(
            {
                "id": event_id,
                "type": "invoice.finalized",
                "properties": {"invoice_id": invoice_id, "customer_id": "cust-e0ac"},
            }
        )
        if not result.ok:
            raise result.error or ConfigurationError(f"event {event_id} failed")
        invoice = result.invoice
        rows.append(
            [
                event_id,
                invoice_id,
                result.action,
                result.external_id or "",
                invoice.total if invoice is not None else "",
                result.reason or "",
            ]
        )
    ctx.out.table(
        f"{ctx.erp}: invoice.finalized webhooks upserted",
        ["event", "source invoice", "action", "external id", "total", "note"],
        rows,
    )
    summary = f"webhooks: {', '.join(str(r[2]) for r in rows)}"
    if ctx.erp == "NetSuite" and importlib.util.find_spec("erpsync.sync.export") is not None:
        from erpsync.sync.export import write_netsuite_invoice_csv

        csv_path = ctx.out_dir / "netsuite-invoice-import.csv"
        report = write_netsuite_invoice_csv(
            list(source.values()),
            csv_path,
            mapping,
            products=products,
            customers=billing_customers,
            external_id_prefix="metronome-",
        )
        ctx.files.append(csv_path)
        ctx.out.line(
            f"CSV import file for NetSuite: {csv_path} ({report.rows} rows; "
            f"{report.zero_lines_dropped} zero lines and {len(report.dropped)} zero invoice(s) "
            "left out)"
        )
        summary += f"; CSV export {report.rows} rows"
    return summary


# -- accounting sync (seed 002) ----------------------------------------------------------------


def step_accounting(ctx: DemoContext) -> str:
    _require_module("erpsync.sync.accounts")
    from erpsync.sync.accounts import AccountingSync

    customers, items = _ids(ctx)
    item = items[0]
    name = customers[2].name or ""

    def local_invoice(key: str, amount: str, status: InvoiceStatus) -> Invoice:
        return Invoice(
            external_id=key,
            customer=Ref(id="1", name=name),  # the AR system's own customer id
            date=_dt.date(2026, 11, 5),
            due_date=_dt.date(2026, 12, 5),
            lines=[
                InvoiceLine(description=f"Subscription {key}", amount=Decimal(amount), item=item)
            ],
            status=status,
        )

    invoices = [
        local_invoice("AR-2001", "1200.00", InvoiceStatus.OPEN),
        local_invoice("AR-2002", "75.00", InvoiceStatus.DRAFT),  # drafts are not synced
        local_invoice("AR-2003", "430.00", InvoiceStatus.OPEN),
    ]
    names = {"AR-2001": name, "AR-2002": name, "AR-2003": "Nobody Of That Name Ltd"}
    payments = [
        Payment(
            external_id="ARPAY-1",
            customer=Ref(id="1", name=name),
            date=_dt.date(2026, 11, 25),
            amount=Decimal("1200.00"),
            applications=[PaymentApplication(invoice_id="AR-2001", amount=Decimal("1200.00"))],
        )
    ]
    sync = AccountingSync(ctx.backend, ctx.store)
    pulled: list[Payment] = []
    result = sync.run(invoices, payments, customer_names=names, on_payments=pulled.extend)
    counts = {
        **{f"invoices {k}": v for k, v in result.invoices.counts.items() if v},
        **{f"payments {k}": v for k, v in result.payments.counts.items() if v},
    }
    ctx.out.table(
        f"{ctx.erp}: accounting sync pass {result.run.id} ({result.run.status})",
        ["what", "count"],
        [*sorted(counts.items()), ["ERP payments pulled", len(pulled)]],
    )
    if result.run.errors:
        ctx.out.table(
            "Recent Syncs: per-invoice errors (AR-2003's customer does not exist, on purpose)",
            ["record", "error"],
            [[e.record, e.message] for e in result.run.errors],
        )
    from erpsync._cli._demo_more import paid_copy

    # The local system recorded the payment; AR-2003 never reached the ERP.
    ctx.local_documents = [paid_copy(invoices[0]), invoices[2], *payments]
    with sync.import_customers() as customers_batch:
        imported_customers = len(customers_batch)
    with sync.import_invoices() as invoices_batch:
        imported_invoices = len(invoices_batch)
    ctx.out.line(
        f"Imports: {imported_customers} customers, {imported_invoices} outstanding invoices"
    )
    return (
        f"pass {result.run.status}: {result.invoices.counts['created']} invoice(s), "
        f"{result.payments.counts['created']} payment(s) pushed, "
        f"{len(result.run.errors)} expected error(s); imported {imported_customers} customers"
    )


# -- purchase orders (seed 004) and reconciliation: see _demo_more ------------------------------


def _steps() -> list[tuple[str, Callable[[DemoContext], str]]]:
    from erpsync._cli import _demo_more

    return [
        ("Marketplace invoicing", step_marketplace),
        ("Webhooks + CSV export", step_billing),
        ("Purchase orders", _demo_more.step_purchasing),
        ("Accounting sync", step_accounting),
        ("Reconciliation", _demo_more.step_reconcile),
    ]


def _fresh_dir(out_dir: Path) -> None:
    """Create ``out_dir`` and remove a previous demo's files from it (only those)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in (
            STORE_NAME,
            f"{STORE_NAME}-wal",
            f"{STORE_NAME}-shm",
            f"{STORE_NAME}-journal",
        ):
            (out_dir / stale).unlink(missing_ok=True)
        for pattern in (
            "quickbooks-invoice-*.pdf",
            "netsuite-invoice-*.pdf",
            "netsuite-invoice-import.csv",
            "*-reconciliation.csv",
        ):
            for old in out_dir.glob(pattern):
                old.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot use {out_dir} for the demo's files: {exc.strerror or exc}"
        ) from None


def _emulators() -> list[tuple[str, Emulator]]:
    """Both emulators with their real governance and no added latency.

    QuickBooks runs on a virtual clock that starts now: its limits (10 requests a
    second, 500 a minute) are enforced and the client paces itself by them, but waiting
    for a window costs no real time, so the demo takes seconds rather than the ~5 s of
    pauses real pacing adds. NetSuite stays on real time because token-based
    authentication checks timestamps against the clock; its limit is on concurrency,
    which a sequential demo never reaches.
    """
    from erpsync.testing.core.emulator import FakeClock
    from erpsync.testing.netsuite import FakeNetSuite
    from erpsync.testing.quickbooks import FakeQuickBooks

    return [
        ("QuickBooks", FakeQuickBooks(clock=FakeClock(time.time()))),
        ("NetSuite", FakeNetSuite()),
    ]


def _default_dir(out: Output) -> Path:
    """``./erpsync-demo``, or a new temporary directory when the cwd is not writable.

    The demo must work from any directory (``/``, a read-only checkout); it says where
    its files went either way.
    """
    here = Path(DEFAULT_DIR)
    try:
        _fresh_dir(here)
        probe = here / ".erpsync-write-test"
        probe.touch()
        probe.unlink()
    except (ConfigurationError, OSError):
        fallback = Path(tempfile.mkdtemp(prefix="erpsync-demo-"))
        out.warn(f"cannot write to {here.absolute()}; using {fallback} instead (see --out)")
        return fallback
    return here.absolute()


def run_demo(out: Output, out_dir: Path | None = None) -> int:
    """Run every workflow on both emulators; 0 when none failed, 1 otherwise.

    ``out_dir`` receives the store, PDFs and CSV files (default: see :func:`_default_dir`).
    """
    from erpsync.store import SQLiteSyncStore

    started = time.monotonic()
    if out_dir is None:
        out_dir = _default_dir(out)
    else:
        out_dir = out_dir.expanduser()
        _fresh_dir(out_dir)
    out.line(
        "erpsync demo: the source documents' workflows on offline emulators of QuickBooks "
        "Online and NetSuite (no credentials, no network)."
    )
    results: list[StepResult] = []
    files: list[Path] = []
    # The workflows log their warnings (a supplier created, a part missing); the demo
    # shows the same facts in its tables, so only errors are let through to stderr.
    library_log = logging.getLogger("erpsync")
    previous_level = library_log.level
    if not library_log.isEnabledFor(logging.DEBUG):
        library_log.setLevel(logging.ERROR)
    try:
        with SQLiteSyncStore(out_dir / STORE_NAME) as store:
            _run_all(out, store, out_dir, results, files)
    finally:
        library_log.setLevel(previous_level)
    _summary(out, out_dir, results, files, started)
    failed = [r for r in results if r.status == "failed"]
    return EXIT_PARTIAL if failed else EXIT_OK


def _backend_options(erp: str) -> dict[str, Any]:
    """How the demo configures each backend, as a program would.

    NetSuite has no REST endpoint for invoice PDFs: an account deploys a RESTlet that
    renders the invoice (the emulator's account has the one erpsync documents deployed
    under these ids), and the backend is told its script and deployment ids.
    """
    if erp != "NetSuite":
        return {}
    from erpsync.testing.netsuite import DEFAULT_PDF_DEPLOY, DEFAULT_PDF_SCRIPT

    return {"pdf_restlet": (DEFAULT_PDF_SCRIPT, DEFAULT_PDF_DEPLOY)}


def _run_all(
    out: Output,
    store: SQLiteSyncStore,
    out_dir: Path,
    results: list[StepResult],
    files: list[Path],
) -> None:
    for erp, fake in _emulators():
        with fake:
            backend: Any = fake.backend(**_backend_options(erp))  # type: ignore[attr-defined]
            ctx = DemoContext(erp, fake, backend, store, out_dir, out)
            out.heading(f"{erp} (emulated)")
            for workflow, step in _steps():
                results.append(_run_step(ctx, workflow, step))
            files.extend(ctx.files)
            close = getattr(backend, "close", None)
            if callable(close):
                close()


def _summary(
    out: Output, out_dir: Path, results: list[StepResult], files: list[Path], started: float
) -> None:
    out.heading("Summary")
    out.table(
        "What ran",
        ["ERP", "workflow", "status", "result"],
        [[r.erp, r.workflow, r.status, r.summary] for r in results],
    )
    out.line(f"Sync store (ledger, cursors, run log): {out_dir / STORE_NAME}")
    for path in files:
        out.line(f"File: {path}")
    skipped = [r for r in results if r.status == "skipped"]
    failed = [r for r in results if r.status == "failed"]
    if skipped:
        out.warn(
            "skipped (not in this build): "
            + "; ".join(f"{r.erp} {r.workflow}: {r.summary}" for r in skipped)
        )
    out.line(f"Done in {time.monotonic() - started:.1f} s.")
    if failed:
        out.error(f"{len(failed)} workflow(s) failed; see above")


def _run_step(ctx: DemoContext, workflow: str, step: Callable[[DemoContext], str]) -> StepResult:
    try:
        summary = step(ctx)
    except _Skip as skip:
        ctx.out.warn(f"{workflow}: skipped, {skip}")
        return StepResult(ctx.erp, workflow, "skipped", str(skip))
    except Exception as exc:  # one workflow's failure must not hide the others
        message = one_line(exc)
        ctx.out.error(f"{workflow} failed: {message}")
        return StepResult(ctx.erp, workflow, "failed", message)
    return StepResult(ctx.erp, workflow, "ok", summary)
