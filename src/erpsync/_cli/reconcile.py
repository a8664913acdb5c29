"""``erpsync reconcile --local FILE``: your documents against the ERP, by external id.

The local side is a file of invoices (the CSV/JSON ``push`` reads) and optionally a
JSON file of payments; the ERP side is read through the backend, and
:func:`erpsync.sync.reconcile.reconcile` lists what differs (missing on either side,
amounts, balances, statuses, duplicates). ``--ours PREFIX`` limits the ERP side to
records whose external id starts with PREFIX (records typed into the ERP by hand, or
written by another integration, are otherwise reported as missing locally). Draft
invoices of the file are left out, as ``sync`` leaves them out: they are not meant to
be in the ERP yet, so reconciling right after a sync must not call them missing there.
Exit code 0 when everything matches, 1 when there are discrepancies.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from erpsync._cli.backends import Erp, choose_erp, connected
from erpsync._cli.config import Config
from erpsync._cli.exits import EXIT_OK, EXIT_PARTIAL
from erpsync._cli.files import STDOUT, read_local_invoices
from erpsync._cli.options import erp_option, json_option, sandbox_option
from erpsync._cli.output import Output
from erpsync.errors import ConfigurationError

__all__ = ["add_parser", "reconcile_command", "run"]


def _local_invoices(path: Path) -> tuple[list[Any], int]:
    """The file's invoices to compare, and how many drafts were left out."""
    from erpsync.models import InvoiceStatus

    invoices = [item.invoice for item in read_local_invoices(path)]
    issued = [i for i in invoices if i is not None and i.status is not InvoiceStatus.DRAFT]
    return issued, len(invoices) - len(issued)


def reconcile_command(
    out: Output,
    config: Config,
    *,
    erp: Erp,
    local: Path | None,
    payments: Path | None = None,
    ours: str | None = None,
    report: Path | None = None,
    as_json: bool = False,
) -> int:
    from erpsync._cli.sync import load_payments
    from erpsync.sync.reconcile import reconcile

    if local is None:
        raise ConfigurationError(
            "reconcile compares your documents with the ERP: pass --local FILE "
            "(the invoices as CSV or JSON, the format of `erpsync push`)"
        )
    if as_json and report == STDOUT:
        raise ConfigurationError("--json and --report - both write to stdout: choose one")
    if report == STDOUT:
        out = out.data_only()
    documents, drafts = _local_invoices(local)
    if drafts:
        out.warn(f"{drafts} draft invoice(s) of {local} left out: drafts are not synced")
    if payments is not None:
        documents.extend(load_payments(payments))
    with connected(config, erp) as backend:
        result = reconcile(documents, backend, ours=ours, payments=payments is not None)
    if as_json:
        out.json(_document(result))
    else:
        _print(out, result)
    if report == STDOUT:
        result.to_csv(out.data)
    elif report is not None:
        try:
            report.parent.mkdir(parents=True, exist_ok=True)
            with report.open("w", newline="", encoding="utf-8") as handle:
                result.to_csv(handle)
        except OSError as exc:
            raise ConfigurationError(f"cannot write {report}: {exc.strerror or exc}") from None
        out.line(f"Report: {report}")
    return EXIT_OK if result.ok else EXIT_PARTIAL


def _document(result: Any) -> dict[str, Any]:
    return {
        "erp": result.backend,
        "ok": result.ok,
        "matched": result.matched,
        "local_count": result.local_count,
        "erp_count": result.erp_count,
        "counts": result.counts(),
        "discrepancies": [
            {
                "kind": d.kind,
                "record_type": d.record_type,
                "external_id": d.external_id,
                "erp_ids": list(d.erp_ids),
                "local": d.local,
                "erp": d.erp,
                "detail": d.detail,
            }
            for d in result.discrepancies
        ],
    }


def _print(out: Output, result: Any) -> None:
    out.line(result.to_text().rstrip())
    if result.discrepancies:
        out.table(
            "Discrepancies",
            ["kind", "type", "external id", "ERP ids", "local", "ERP", "detail"],
            [
                [
                    d.kind,
                    d.record_type,
                    d.external_id,
                    " ".join(d.erp_ids),
                    d.local,
                    d.erp,
                    d.detail,
                ]
                for d in result.discrepancies
            ],
        )


def add_parser(subparsers: Any) -> None:
    text = "compare local records with the ERP by external id"
    parser = subparsers.add_parser("reconcile", help=text, description=text)
    erp_option(parser)
    sandbox_option(parser)
    parser.add_argument(
        "--local",
        type=Path,
        default=None,
        metavar="FILE",
        help="local invoices (.csv/.json) to compare (required)",
    )
    parser.add_argument(
        "--payments",
        type=Path,
        default=None,
        metavar="FILE",
        help="local payments (.json) to compare too",
    )
    parser.add_argument(
        "--ours",
        default=None,
        metavar="PREFIX",
        help="only ERP records whose external id starts with PREFIX",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the discrepancies as CSV (- for stdout)",
    )
    json_option(parser, "the report")


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.registry import context

    out, config = context(args).out, context(args).config
    return reconcile_command(
        out,
        config,
        erp=choose_erp(config, args.erp),
        local=args.local,
        payments=args.payments,
        ours=args.ours,
        report=args.report,
        as_json=args.json,
    )
