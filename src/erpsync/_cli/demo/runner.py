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

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from erpsync._cli.demo.context import DemoContext, Skip, StepResult
from erpsync._cli.exits import EXIT_OK, EXIT_PARTIAL, one_line
from erpsync._cli.output import Output
from erpsync.errors import ConfigurationError

if TYPE_CHECKING:
    from erpsync.store import SQLiteSyncStore
    from erpsync.testing.core.emulator import Emulator

__all__ = ["DEFAULT_DIR", "STORE_NAME", "run_demo"]

STORE_NAME = "erpsync-demo.db"
DEFAULT_DIR = "erpsync-demo"


def _steps() -> list[tuple[str, Callable[[DemoContext], str]]]:
    from erpsync._cli.demo.accounting import step_accounting
    from erpsync._cli.demo.billing import step_billing
    from erpsync._cli.demo.marketplace import step_marketplace
    from erpsync._cli.demo.purchasing import step_purchasing, step_reconcile

    return [
        ("Marketplace invoicing", step_marketplace),
        ("Webhooks + CSV export", step_billing),
        ("Purchase orders", step_purchasing),
        ("Accounting sync", step_accounting),
        ("Reconciliation", step_reconcile),
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
    from erpsync.testing.quickbooks import QBO_GOVERNANCE, FakeQuickBooks

    return [
        ("QuickBooks", FakeQuickBooks(clock=FakeClock(time.time()), governance=QBO_GOVERNANCE)),
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
    except Skip as skip:
        ctx.out.warn(f"{workflow}: skipped, {skip}")
        return StepResult(ctx.erp, workflow, "skipped", str(skip))
    except Exception as exc:  # one workflow's failure must not hide the others
        message = one_line(exc)
        ctx.out.error(f"{workflow} failed: {message}")
        return StepResult(ctx.erp, workflow, "failed", message)
    return StepResult(ctx.erp, workflow, "ok", summary)
