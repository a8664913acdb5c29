"""``erpsync push invoices FILE --to quickbooks|netsuite``: bulk invoice creation.

Every invoice carries an ``external_id``, so a push that died half-way can simply be run
again: invoices already in the ERP come back as ``existed``, never as duplicates. Rows
are validated locally first; only valid ones are sent, through the backend's bulk write
(concurrent within the ERP's limits). Each input invoice gets one line in the report
(``row, external_id, status, id, number, error``) and the run is recorded in the sync
store, where ``erpsync runs`` shows it.

Statuses: ``created``, ``existed`` (already there, left untouched), ``failed`` (the ERP
refused it), ``invalid`` (never sent: the row is wrong). ``--dry-run`` sends nothing
but checks every row against the ERP, read-only (:mod:`erpsync._cli.checks`):
``valid``, ``exists`` (already there) or ``invalid`` with why.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from erpsync._cli.backends import Erp, connected
from erpsync._cli.config import Config
from erpsync._cli.exits import EXIT_AUTH
from erpsync._cli.files import STDOUT, ParsedInvoice, read_invoices, write_records
from erpsync._cli.options import erp_option, json_option, sandbox_option
from erpsync._cli.output import Output
from erpsync._cli.progress import counted
from erpsync._cli.report import PROBLEMS, counts_of, report_path, summarise
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    ErpSyncError,
    PermissionDeniedError,
)
from erpsync.models import Invoice

if TYPE_CHECKING:
    from erpsync.backend import AccountingBackend

__all__ = ["REPORT_COLUMNS", "add_parser", "push_invoices", "run"]

REPORT_COLUMNS = ("row", "external_id", "status", "id", "number", "error")


def push_invoices(
    out: Output,
    config: Config,
    *,
    source: Path,
    erp: Erp,
    dry_run: bool = False,
    report: Path | None = None,
    as_json: bool = False,
) -> int:
    parsed = read_invoices(source)
    path = report_path(source, report)
    if as_json and path == STDOUT:
        raise ConfigurationError("--json and --report - both write to stdout: choose one")
    if path == STDOUT:
        out = out.data_only()
    with connected(config, erp) as backend:
        _resolve_names(backend, parsed)
        rows = _dry_run(backend, parsed) if dry_run else _send(out, backend, parsed)
    auth_flags = [bool(r.pop("_auth", False)) for r in rows]  # not for the report
    write_records(path, rows, REPORT_COLUMNS, stdout=out.data)
    if not dry_run:
        _record_run(config, backend, rows)
    titles = (
        ("Dry run (checked against the ERP, nothing sent)", "Rows that would fail")
        if dry_run
        else ("Push result", "Rows that were not written")
    )
    code = summarise(
        out,
        rows,
        path,
        titles=titles,
        key="external_id",
        as_json=as_json,
        document={"dry_run": dry_run},
    )
    written = [r for r in rows if r["status"] in ("created", "existed")]
    if any(auth_flags) and not written:
        return EXIT_AUTH
    return code


def _dry_run(backend: AccountingBackend, parsed: list[ParsedInvoice]) -> list[dict[str, object]]:
    """Every row checked against the ERP (read-only): see :mod:`erpsync._cli.checks`."""
    from erpsync._cli.checks import check_against_erp

    return [
        _row(item, status, error=error)
        for item, (status, error) in zip(parsed, check_against_erp(backend, parsed))
    ]


def _resolve_names(backend: AccountingBackend, parsed: list[ParsedInvoice]) -> None:
    cache: dict[str, str | None] = {}

    def lookup(name: str) -> str | None:
        if name not in cache:
            found = backend.find_customer(name)
            cache[name] = found.id if found is not None else None
        return cache[name]

    for item in parsed:
        if item.error is None and item.invoice is None and item.customer_name:
            try:
                item.resolve_customer(lookup)
            except AuthenticationError:
                raise
            except ErpSyncError as exc:
                item.error = str(exc)


def _send(
    out: Output, backend: AccountingBackend, parsed: list[ParsedInvoice]
) -> list[dict[str, object]]:
    ready = [item for item in parsed if item.invoice is not None and item.error is None]
    ready_ids = {id(item) for item in ready}
    rows: dict[int, dict[str, object]] = {
        id(item): _row(item, "invalid", error=item.error or "not valid")
        for item in parsed
        if id(item) not in ready_ids
    }

    invoices: list[Invoice] = [item.invoice for item in ready if item.invoice is not None]
    if ready:
        with out.progress(f"Pushing invoices to {backend.name}", total=len(ready)) as progress:
            result = backend.create_invoices(counted(invoices, progress))
        for item, outcome in zip(ready, result):
            if outcome.ok and outcome.record is not None:
                rows[id(item)] = _row(
                    item,
                    outcome.status,
                    remote_id=outcome.record.id,
                    number=outcome.record.number,
                    error=_difference(item, outcome.record)
                    if outcome.status == "existed"
                    else None,
                )
            else:
                error = outcome.error
                row = _row(item, "failed", error=str(error) if error else "failed")
                row["_auth"] = isinstance(error, AuthenticationError | PermissionDeniedError)
                rows[id(item)] = row
    return [rows[id(item)] for item in parsed]


def _difference(item: ParsedInvoice, found: Invoice) -> str | None:
    """Why an ``existed`` row deserves a look: the ERP's invoice with this external id
    has another total than the file's (a push never updates an invoice)."""
    mine = item.invoice
    if mine is None or (found.total == mine.total and found.currency == mine.currency):
        return None
    return (
        f"left untouched: the ERP's invoice totals {found.total} {found.currency}, the file's "
        f"{mine.total} {mine.currency} (push never updates; `erpsync reconcile` lists it)"
    )


def _row(
    item: ParsedInvoice,
    status: str,
    *,
    remote_id: str | None = None,
    number: str | None = None,
    error: str | None = None,
) -> dict[str, object]:
    return {
        "row": item.row,
        "external_id": item.external_id,
        "status": status,
        "id": remote_id,
        "number": number,
        "error": error,
    }


def _record_run(config: Config, backend: AccountingBackend, rows: list[dict[str, object]]) -> None:
    """The run in the run log, under the backend's tenant (its QuickBooks company or
    NetSuite account), as the workflows record theirs: two companies sharing one store
    each see their own pushes."""
    from erpsync.store import RunError, RunStatus, SQLiteSyncStore

    counts = counts_of(rows)
    bad = [r for r in rows if r["status"] in PROBLEMS]
    status: RunStatus = "ok" if not bad else ("failed" if len(bad) == len(rows) else "partial")
    errors = [
        RunError(
            record=f"row {r['row']} invoice {r['external_id'] or '-'}", message=str(r["error"])
        )
        for r in bad
    ]
    with SQLiteSyncStore(config.require("store", "recording the run")) as store:
        run_id = store.start_run("push-invoices", backend.name, tenant=backend.tenant)
        store.finish_run(run_id, status=status, counts=counts, errors=errors)


def add_parser(subparsers: Any) -> None:
    text = "create invoices from a CSV or JSON file"
    parser = subparsers.add_parser("push", help=text, description=text)
    parser.add_argument("what", choices=("invoices",))
    parser.add_argument("file", type=Path, metavar="FILE")
    erp_option(parser, "--to", "--erp")
    json_option(parser, "the per-row result")
    sandbox_option(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check every row against the ERP (customers, items, currency), send nothing",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="REPORT",
        help="per-row report (default: next to FILE, named after it: "
        "orders.csv -> orders.report.csv; - for stdout)",
    )


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.backends import choose_erp
    from erpsync._cli.registry import context

    out, config = context(args).out, context(args).config
    return push_invoices(
        out,
        config,
        source=args.file,
        erp=choose_erp(config, args.erp),
        dry_run=args.dry_run,
        report=args.report,
        as_json=args.json,
    )
