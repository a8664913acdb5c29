"""``erpsync backfill JOBS --to ERP``: invoice marketplace jobs from before the integration.

The marketplace's notes (seeds 000 and 001): "manually generate invoices for older
Xometry jobs that were completed/accepted before automation was set up", and payments
for their payouts. The jobs file goes through the same workflow as live events,
:meth:`erpsync.sync.xometry.XometryInvoicing.backfill`, so the ledger in the sync store
makes it exactly once: a job already invoiced (by an event, or an earlier backfill) is
skipped, an invoice already in the ERP under the job's external id is adopted, and the
file can be run again after a failure. ``--payouts FILE`` then records each payout's
payment, applied to its jobs' invoices (:meth:`~XometryInvoicing.on_payout`).

The policy is the integration's configuration screen as flags: ``--trigger``, the
default customer (``--customer ID`` or ``--customer-name NAME``), the optional default
item, the tax rate and code, and what a $0 job becomes (``--zero-total``).

``--dry-run`` writes nothing (no invoice, no ledger entry, no run log): each job's
invoice is built and checked against the ERP read-only with the checks of
``push --dry-run`` (:class:`erpsync._cli.checks.ReferenceCheck`), and each payout is
checked to have an invoice (already, or from this file) for every job it settles.
Each job and payout gets a line in the report (``row, record, status, id, number,
error``), next to the jobs file unless ``--report`` says where.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from erpsync._cli.backends import Erp, choose_erp, connected
from erpsync._cli.checks import ReferenceCheck
from erpsync._cli.config import Config
from erpsync._cli.files import STDOUT, validation_message, write_records
from erpsync._cli.jobs import ParsedJob, read_jobs, read_payouts
from erpsync._cli.options import erp_option, json_option, sandbox_option
from erpsync._cli.output import Output
from erpsync._cli.progress import Progress
from erpsync._cli.report import report_path, summarise
from erpsync.errors import ConfigurationError, ErpSyncError, MappingError
from erpsync.mapping.xometry import InvoicePolicy, XometryPayout
from erpsync.models import Ref

if TYPE_CHECKING:
    from erpsync.backend import AccountingBackend
    from erpsync.sync.xometry import BackfillEntry, XometryInvoicing

__all__ = ["REPORT_COLUMNS", "BackfillOptions", "add_parser", "backfill_command", "run"]

REPORT_COLUMNS = ("row", "record", "status", "id", "number", "error")

Row = dict[str, object]


@dataclass(frozen=True)
class BackfillOptions:
    """The command's flags: the policy, the payouts file, dry run, report, JSON."""

    trigger: str
    customer: str | None = None
    customer_name: str | None = None
    item: str | None = None
    item_name: str | None = None
    tax_rate: str = "0"
    tax_code: str | None = None
    zero_total: str = "error"
    payouts: Path | None = None
    dry_run: bool = False
    report: Path | None = None
    as_json: bool = False


def _row(row: int, record: str, status: str, **fields: object) -> Row:
    return {
        "row": row,
        "record": record,
        "status": status,
        "id": fields.get("id"),
        "number": fields.get("number"),
        "error": fields.get("error"),
    }


def _ref(backend: AccountingBackend, kind: str, given: str | None, name: str | None) -> Ref | None:
    """The customer or item the flags chose, by id or by name (looked up in the ERP)."""
    if given and name:
        raise ConfigurationError(f"give --{kind} or --{kind}-name, not both")
    if given:
        return Ref(id=given)
    if not name:
        return None
    find = backend.find_customer if kind == "customer" else backend.find_item
    found = find(name)
    if found is None or found.id is None:
        raise MappingError(
            f"there is no {kind} named {name!r} in {backend.name}",
            record=f"--{kind}-name {name!r}",
            hint=f"check the spelling, or give --{kind} ID",
        )
    return Ref(id=found.id, name=found.name)


def _policy(backend: AccountingBackend, options: BackfillOptions) -> InvoicePolicy:
    customer = _ref(backend, "customer", options.customer, options.customer_name)
    if customer is None:
        raise ConfigurationError(
            "backfill needs the default customer: --customer ID or --customer-name NAME"
        )
    try:
        rate = Decimal(options.tax_rate)
    except InvalidOperation:
        raise ConfigurationError(
            f"--tax-rate is a fraction like 0.0825, not {options.tax_rate!r}"
        ) from None
    try:
        return InvoicePolicy(
            trigger=options.trigger,
            customer=customer,
            item=_ref(backend, "item", options.item, options.item_name),
            tax_rate=rate,
            tax_code=Ref(id=options.tax_code) if options.tax_code else None,
            zero_total=options.zero_total,
        )
    except ValidationError as exc:
        raise ConfigurationError(f"the invoice policy: {validation_message(exc)}") from None


def _entry_row(item: ParsedJob, entry: BackfillEntry, checks: ReferenceCheck | None) -> Row:
    record = f"job {item.job_id}"
    if checks is not None and entry.outcome == "would_create" and entry.invoice is not None:
        problems = checks.problems(entry.invoice)
        if problems:
            return _row(item.row, record, "invalid", error="; ".join(problems))
    reason = entry.reason
    if entry.outcome == "failed" and item.job is not None and item.job.price == 0:
        reason = f"{reason} (here: --zero-total skip or --zero-total invoice)"
    return _row(
        item.row,
        record,
        entry.outcome,
        id=entry.invoice_id,
        number=entry.number,
        error=reason,
    )


def _jobs(
    out: Output, flow: XometryInvoicing, parsed: list[ParsedJob], checks: ReferenceCheck | None
) -> list[Row]:
    """One row per job, in input order: invalid rows and jobs the policy skips never
    reach the workflow; the rest go through ``flow.backfill`` lazily, under the bar."""
    policy = flow.policy

    def eligible(progress: Progress) -> Iterator[Any]:
        for item in parsed:
            if item.job is not None and policy.skip_reason(item.job) is None:
                yield item.job
            progress.advance()

    with out.progress(f"Backfilling jobs into {flow.backend.name}", total=len(parsed)) as bar:
        report = flow.backfill(eligible(bar), dry_run=checks is not None)
    entries = iter(report.entries)
    rows: list[Row] = []
    for item in parsed:
        if item.job is None:
            rows.append(_row(item.row, f"job {item.job_id or '-'}", "invalid", error=item.error))
        elif (reason := policy.skip_reason(item.job)) is not None:
            rows.append(_row(item.row, f"job {item.job_id}", "skipped", error=reason))
        else:
            rows.append(_entry_row(item, next(entries), checks))
    return rows


def _payouts(
    flow: XometryInvoicing, payouts: Sequence[XometryPayout], jobs: list[Row], dry_run: bool
) -> list[Row]:
    rows: list[Row] = []
    invoiced = {
        str(r["record"])[len("job ") :]
        for r in jobs
        if r["status"] in ("created", "existed", "would_create") or r["id"]
    }
    for row, payout in enumerate(payouts, start=1):
        record = f"payout {payout.payout_id}"
        if dry_run:
            missing = [j for j in payout.job_ids if j not in invoiced and not _in_ledger(flow, j)]
            rows.append(
                _row(row, record, "invalid", error=f"no invoice for job(s) {', '.join(missing)}")
                if missing
                else _row(row, record, "would_create")
            )
            continue
        try:
            result = flow.on_payout(payout)
        except ErpSyncError as exc:
            rows.append(_row(row, record, "failed", error=str(exc)))
            continue
        rows.append(_row(row, record, result.status, id=result.payment_id))
    return rows


def _in_ledger(flow: XometryInvoicing, job_id: str) -> bool:
    from erpsync.sync.xometry import INVOICE_RECORD

    entry = flow.store.get(flow.ledger_name, INVOICE_RECORD, job_id, tenant=flow.tenant)
    return entry is not None and entry.state == "written"


def backfill_command(
    out: Output, config: Config, *, source: Path, erp: Erp, options: BackfillOptions
) -> int:
    from erpsync.store import SQLiteSyncStore
    from erpsync.sync.xometry import XometryInvoicing

    parsed = read_jobs(source)
    payouts = read_payouts(options.payouts) if options.payouts is not None else []
    path = report_path(source, options.report)
    if options.as_json and path == STDOUT:
        raise ConfigurationError("--json and --report - both write to stdout: choose one")
    if path == STDOUT:
        out = out.data_only()
    store_path = Path(config.require("store", "the backfill's ledger")).expanduser()
    with connected(config, erp) as backend, SQLiteSyncStore(store_path) as store:
        policy = _policy(backend, options)
        checks = ReferenceCheck(backend, customer_hint="fix --customer, or give --customer-name")
        flow = XometryInvoicing(backend, policy, store)
        rows = _jobs(out, flow, parsed, checks if options.dry_run else None)
        rows += _payouts(flow, payouts, rows, options.dry_run)
    write_records(path, rows, REPORT_COLUMNS, stdout=out.data)
    titles = (
        ("Backfill dry run (checked against the ERP, nothing written)", "Rows that would fail")
        if options.dry_run
        else ("Backfill result", "Rows that were not written")
    )
    return summarise(
        out,
        rows,
        path,
        titles=titles,
        key="record",
        as_json=options.as_json,
        document={"dry_run": options.dry_run, "erp": backend.name, "tenant": backend.tenant},
        kind=lambda row: str(row["record"]).split(" ", 1)[0],
    )


def add_parser(subparsers: Any) -> None:
    text = "invoice marketplace jobs from before the integration (and their payouts)"
    parser = subparsers.add_parser("backfill", help=text, description=text)
    parser.add_argument("file", type=Path, metavar="JOBS", help="the jobs (.csv or .json)")
    erp_option(parser, "--to", "--erp")
    sandbox_option(parser)
    parser.add_argument(
        "--trigger",
        required=True,
        choices=("accepted", "completed"),
        help="invoice jobs on acceptance (dated on the expected ship date) or on completion "
        "(dated on the ship date)",
    )
    for kind in ("customer", "item"):
        what = "the default customer" if kind == "customer" else "the default item (optional)"
        parser.add_argument(f"--{kind}", default=None, metavar="ID", help=f"{what}, by ERP id")
        parser.add_argument(f"--{kind}-name", default=None, metavar="NAME", help=f"{what}, by name")
    parser.add_argument("--tax-rate", default="0", metavar="RATE", help="e.g. 0.0825 (default 0)")
    parser.add_argument(
        "--tax-code", default=None, metavar="ID", help="the ERP tax code of a non-zero rate"
    )
    parser.add_argument(
        "--zero-total",
        choices=("error", "skip", "invoice"),
        default="error",
        help="what a $0 job becomes (default: error, the job is reported)",
    )
    parser.add_argument(
        "--payouts", type=Path, default=None, metavar="FILE", help="payouts (.csv or .json)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check every job against the ERP (customer, item, currency), write nothing",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="REPORT",
        help="per-row report (default: next to JOBS: jobs.csv -> jobs.report.csv; - for stdout)",
    )
    json_option(parser, "the per-row result")


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.registry import context

    out, config = context(args).out, context(args).config
    options = BackfillOptions(
        trigger=args.trigger,
        customer=args.customer,
        customer_name=args.customer_name,
        item=args.item,
        item_name=args.item_name,
        tax_rate=args.tax_rate,
        tax_code=args.tax_code,
        zero_total=args.zero_total,
        payouts=args.payouts,
        dry_run=args.dry_run,
        report=args.report,
        as_json=args.json,
    )
    return backfill_command(
        out, config, source=args.file, erp=choose_erp(config, args.erp), options=options
    )
