"""``erpsync import customers|invoices``: read records from the ERP into a table or a file."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from erpsync._cli.backends import Erp, choose_erp, connected
from erpsync._cli.config import Config
from erpsync._cli.exits import EXIT_OK
from erpsync._cli.files import STDOUT, write_records
from erpsync._cli.options import erp_option, json_option, sandbox_option
from erpsync._cli.output import Output
from erpsync._cli.progress import Progress, counted

if TYPE_CHECKING:
    from erpsync.backend import AccountingBackend

__all__ = ["add_parser", "import_records", "run"]


def add_parser(subparsers: Any) -> None:
    text = "read customers or outstanding invoices from the ERP"
    parser = subparsers.add_parser("import", help=text, description=text)
    parser.add_argument("what", choices=("customers", "invoices"))
    erp_option(parser, "--from", "--erp")
    sandbox_option(parser)
    parser.add_argument(
        "--out", type=Path, default=None, metavar="FILE", help=".csv or .json; - for stdout (CSV)"
    )
    json_option(parser, "the records")
    parser.add_argument("--all", action="store_true", help="invoices: paid ones too")


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.registry import context

    out, config = context(args).out, context(args).config
    erp = choose_erp(config, args.erp)
    return import_records(
        out, config, what=args.what, erp=erp, dest=args.out, all_=args.all, as_json=args.json
    )


_CUSTOMER_COLUMNS = ("id", "external_id", "name", "email", "currency", "updated_at")
_INVOICE_COLUMNS = (
    "id",
    "external_id",
    "number",
    "customer",
    "date",
    "due_date",
    "currency",
    "total",
    "balance",
    "status",
    "remote_status",
    "updated_at",
)


#: The table's columns (a file gets them all): an outstanding invoice is about its
#: total, what is left to pay and its status.
_SHOWN: dict[str, Sequence[str]] = {
    "customers": ("id", "external_id", "name", "email", "currency"),
    "invoices": ("id", "number", "customer", "due_date", "total", "balance", "status"),
}


def _read(
    backend: AccountingBackend, what: str, all_: bool, progress: Progress
) -> tuple[list[dict[str, Any]], Sequence[str]]:
    """Every record as a row, page by page (the progress counts them as they come)."""
    if what == "customers":
        customers = counted(backend.iter_customers(), progress)
        return [c.model_dump(mode="json") for c in customers], _CUSTOMER_COLUMNS
    records = []
    for invoice in counted(backend.iter_invoices(open_only=not all_), progress):
        row = invoice.model_dump(mode="json")
        row["customer"] = invoice.customer.name or invoice.customer.id
        records.append(row)
    return records, _INVOICE_COLUMNS


def import_records(
    out: Output,
    config: Config,
    *,
    what: str,
    erp: Erp,
    dest: Path | None,
    all_: bool,
    as_json: bool = False,
) -> int:
    """Read every customer, or the outstanding (``all_``: every) invoice, from the ERP."""
    with (
        connected(config, erp) as backend,
        out.progress(f"Reading {what} from {backend.name}", total=None) as progress,
    ):
        records, columns = _read(backend, what, all_, progress)
    if as_json:
        out.json({what: records})
        return EXIT_OK
    if dest == STDOUT:
        write_records(dest, records, columns, stdout=out.data)
        return EXIT_OK
    if dest is not None:
        write_records(dest, records, columns)
        out.ok(f"{len(records)} {what} written to {dest}")
        return EXIT_OK
    shown = _SHOWN[what]
    out.table(
        f"{what.capitalize()} in {backend.name} ({len(records)})",
        list(shown),
        [[r.get(c) for c in shown] for r in records[:50]],
    )
    if len(records) > 50:
        out.line(f"... {len(records) - 50} more; use --out FILE for all of them")
    return EXIT_OK
