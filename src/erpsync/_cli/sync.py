"""``erpsync sync``: the accounting sync pass, once or on a schedule.

``sync`` runs :class:`~erpsync.sync.accounts.AccountingSync` with files as the local AR
system: the invoices file (the CSV/JSON of ``push``; customers are matched in the ERP
by ``customer_name``), an optional JSON file of locally received payments, and an
optional JSON-lines file the ERP's payments are appended to. ``--every 1h`` repeats the
pass on a schedule (one line per pass, a summary at the end) until Ctrl-C, SIGTERM or
``--max-passes N``; the pass in progress is finished first. Each pass is
recorded in the run log that ``erpsync runs`` shows ("Recent Syncs").
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from erpsync._cli.backends import Erp, build_backend, choose_erp
from erpsync._cli.config import Config
from erpsync._cli.exits import EXIT_OK, EXIT_PARTIAL, one_line
from erpsync._cli.files import read_local_invoices, validation_message
from erpsync._cli.options import erp_option, json_option, sandbox_option
from erpsync._cli.output import Output
from erpsync._cli.progress import counted
from erpsync._cli.schedule import Schedule, supervise
from erpsync.errors import ConfigurationError

__all__ = ["add_parser", "load_payments", "parse_interval", "run", "sync_once_or_every"]


def add_parser(subparsers: Any) -> None:
    text = "one accounting sync pass (or one every --every)"
    parser = subparsers.add_parser("sync", help=text, description=text)
    erp_option(parser)
    sandbox_option(parser)
    for flag, text in (
        ("--invoices", "local invoices (.csv/.json, customers by customer_name)"),
        ("--payments", "local payments received (.json)"),
        ("--pulled", "append the ERP's payments here (JSON lines)"),
    ):
        parser.add_argument(flag, type=Path, default=None, metavar="FILE", help=text)
    parser.add_argument(
        "--every", default=None, metavar="DURATION", help="repeat: e.g. 30s, 15m, 1h"
    )
    parser.add_argument(
        "--max-passes",
        type=int,
        default=None,
        metavar="N",
        help="with --every: stop after N passes (default: until Ctrl-C or SIGTERM)",
    )
    json_option(parser, "each pass (JSON lines with --every, then a summary line)")
    parser.add_argument(
        "--create-customers",
        action="store_true",
        help="create customers missing in the ERP (off: they are reported)",
    )
    parser.add_argument(
        "--changed",
        choices=("skip", "update", "report"),
        default="skip",
        help="what to do with invoices changed after their first push",
    )


def run(args: argparse.Namespace) -> int:
    from erpsync._cli.registry import context

    out, config = context(args).out, context(args).config
    return sync_once_or_every(
        out,
        config,
        erp=choose_erp(config, args.erp),
        invoices=args.invoices,
        payments=args.payments,
        pulled=args.pulled,
        every=args.every,
        create_customers=args.create_customers,
        changed=args.changed,
        max_passes=args.max_passes,
        as_json=args.json,
    )


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> timedelta:
    """``90``, ``30s``, ``15m``, ``1h``, ``1d`` -> a timedelta (at least one second)."""
    match = _INTERVAL.match(text)
    if not match:
        raise ConfigurationError(f"--every takes a duration like 30s, 15m, 1h or 1d, not {text!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds < 1:
        raise ConfigurationError("--every must be at least one second")
    return timedelta(seconds=seconds)


def load_payments(path: Path) -> list[Any]:
    from pydantic import ValidationError

    from erpsync.models import Payment

    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError:
        raise ConfigurationError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read payments from {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("payments"), list):
        data = data["payments"]
    if not isinstance(data, list):
        raise ConfigurationError(f'{path}: expected a list of payments or {{"payments": [...]}}')
    payments = []
    for index, entry in enumerate(data, start=1):
        try:
            payments.append(Payment.model_validate(entry))
        except ValidationError as exc:
            raise ConfigurationError(
                f"{path}: payment {index}: {validation_message(exc)}"
            ) from None
    return payments


def _sync_input(invoices_path: Path | None, payments_path: Path | None) -> Any:
    from erpsync.sync.accounts import SyncInput

    invoices = []
    names: dict[str, str] = {}
    if invoices_path is not None:
        # AccountingSync matches customers by name; the local id is a placeholder.
        for item in read_local_invoices(invoices_path):
            assert item.invoice is not None
            name = item.customer_name or item.invoice.customer.name
            if item.external_id and name:
                names[item.external_id] = name
            invoices.append(item.invoice)
    payments = load_payments(payments_path) if payments_path is not None else []
    return SyncInput(invoices=invoices, payments=payments, customer_names=names)


def _appender(path: Path) -> Any:
    def append(payments: list[Any]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                for payment in payments:
                    handle.write(json.dumps(payment.model_dump(mode="json")) + "\n")
        except OSError as exc:
            raise ConfigurationError(f"cannot append to {path}: {exc.strerror or exc}") from None

    return append


def pass_document(result: Any) -> dict[str, Any]:
    """One pass as JSON: the run-log id and status, the counts, what needs attention."""
    run = result.run
    failures = [*result.invoices.failed, *result.invoices.needs_action, *result.payments.failed]
    return {
        "run_id": run.id,
        "erp": run.backend,
        "status": run.status,
        "invoices": result.invoices.counts,
        "payments": result.payments.counts,
        "pulled": len(result.pulled) if result.pulled is not None else None,
        "needs_attention": [{"document": f.number, "reason": f.reason} for f in failures],
        "customers_missing": sorted(result.invoices.customers.missing),
        "customers_created": sorted(result.invoices.customers.created),
    }


def _counts_text(doc: dict[str, Any]) -> str:
    parts = [f"invoices {k}={v}" for k, v in doc["invoices"].items() if v]
    parts += [f"payments {k}={v}" for k, v in doc["payments"].items() if v]
    if doc["customers_created"]:
        parts.append(f"customers created={len(doc['customers_created'])}")
    if doc["pulled"] is not None:
        parts.append(f"pulled={doc['pulled']}")
    return ", ".join(parts) or "nothing to do"


def _print_result(out: Output, result: Any) -> None:
    doc = pass_document(result)
    rows: list[list[object]] = [[f"invoices {k}", v] for k, v in doc["invoices"].items() if v]
    rows += [[f"payments {k}", v] for k, v in doc["payments"].items() if v]
    if doc["customers_created"]:
        rows.append(["customers created", len(doc["customers_created"])])
    if doc["pulled"] is not None:
        rows.append(["ERP payments pulled", doc["pulled"]])
    out.table(f"Sync pass {doc['run_id']} ({doc['erp']}): {doc['status']}", ["what", "count"], rows)
    if doc["needs_attention"]:
        out.table(
            "Needs attention",
            ["document", "reason"],
            [[f["document"], f["reason"]] for f in doc["needs_attention"]],
        )
    if doc["customers_missing"]:
        out.warn("customers not found in the ERP by name: " + ", ".join(doc["customers_missing"]))


@dataclass
class _Pass:
    """What one pass needs: the workflow and where its input comes from."""

    sync: Any
    invoices: Path | None
    payments: Path | None
    on_payments: Callable[[list[Any]], None] | None
    out: Output

    def source(self) -> Any:
        return _sync_input(self.invoices, self.payments)

    def run(self) -> Any:
        """One pass, its invoices and payments counted on the progress display (stderr
        only, and only once the pass has lasted ``progress_after`` seconds)."""
        work = self.source()
        total = len(work.invoices) + len(work.payments)
        title = f"Syncing with {self.sync.backend.name}"
        with self.out.progress(title, total=total) as bar:
            return self.sync.run(
                counted(work.invoices, bar),
                counted(work.payments, bar),
                customer_names=work.customer_names,
                on_payments=self.on_payments,
                pull=self.on_payments is not None,
            )


def sync_once_or_every(
    out: Output,
    config: Config,
    *,
    erp: Erp,
    invoices: Path | None,
    payments: Path | None,
    pulled: Path | None,
    every: str | None,
    create_customers: bool,
    changed: str,
    max_passes: int | None = None,
    as_json: bool = False,
    stop: threading.Event | None = None,
) -> int:
    """One pass (exit 1 unless it was ``ok``), or one every ``every`` until stopped."""
    from erpsync.store import SQLiteSyncStore
    from erpsync.sync.accounts import AccountingSync

    interval = parse_interval(every) if every else None
    if max_passes is not None and max_passes < 1:
        raise ConfigurationError("--max-passes must be at least 1")
    store_path = Path(config.require("store", "the accounting sync")).expanduser()
    backend = build_backend(config, erp)
    with SQLiteSyncStore(store_path) as store:
        sync = AccountingSync(
            backend,
            store,
            changed_invoice_policy=changed,  # type: ignore[arg-type]
            create_missing_customers=create_customers,
        )
        on_payments = _appender(pulled) if pulled is not None else None
        work = _Pass(sync, invoices, payments, on_payments, out)
        if interval is None:
            result = work.run()
            if as_json:
                out.json(pass_document(result))
            else:
                _print_result(out, result)
                out.line(f"Run log: {store_path} (erpsync runs --show {result.run.id})")
            return EXIT_PARTIAL if result.run.status != "ok" else EXIT_OK
        return _every(out, work, backend.name, interval, max_passes, as_json, stop)


def _print_pass(out: Output, outcome: Any, as_json: bool) -> None:
    """One scheduled pass (a :class:`~erpsync.sync.accounts.PassOutcome`): a line, or a
    JSON line."""
    if outcome.result is not None:
        doc = pass_document(outcome.result)
    else:
        doc = {"run_id": None, "status": outcome.status, "error": one_line(outcome.error)}
    doc = {"pass": outcome.number, **doc, "seconds": round(outcome.seconds, 3)}
    if as_json:
        out.json(doc)
        return
    what = doc.get("error") or _counts_text(doc)
    run = f" (run {doc['run_id']})" if doc["run_id"] is not None else ""
    out.line(f"pass {outcome.number}{run}: {doc['status']}: {what} [{doc['seconds']:.1f} s]")


def _every(
    out: Output,
    work: _Pass,
    erp_name: str,
    interval: timedelta,
    max_passes: int | None,
    as_json: bool,
    stop: threading.Event | None,
) -> int:
    """The schedule (the workflow's run_every): one line (or JSON line) per pass, a
    summary, exit 1 unless all ok."""
    schedule = Schedule()
    stop = stop if stop is not None else threading.Event()

    def on_pass(outcome: Any) -> None:
        _print_pass(out, outcome, as_json)
        schedule.record(outcome.status)

    def loop() -> None:
        work.sync.run_every(
            interval,
            source=work.source,
            stop_event=stop,
            on_payments=work.on_payments,
            on_pass=on_pass,
            max_passes=max_passes,
        )

    limit = f", at most {max_passes} pass(es)" if max_passes else ""
    out.line(
        f"Syncing with {erp_name} every {interval}{limit}; Ctrl-C stops after the current pass."
    )
    supervise(
        loop,
        stop=stop,
        schedule=schedule,
        on_stopping=lambda: out.line("stopping after the current pass..."),
    )
    summary = {
        "passes": schedule.passes,
        "ok": schedule.count("ok"),
        "partial": schedule.count("partial"),
        "failed": schedule.count("failed"),
        "skipped": schedule.skipped,
        "stopped_by": schedule.stopped_by,
    }
    if as_json:
        out.json({"summary": summary})
    else:
        out.line(
            f"{summary['passes']} pass(es) run: {summary['ok']} ok, {summary['partial']} "
            f"partial, {summary['failed']} failed, {summary['skipped']} skipped "
            f"(stopped by {summary['stopped_by']}); see `erpsync runs`."
        )
    return EXIT_OK if schedule.ok else EXIT_PARTIAL
