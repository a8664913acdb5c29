"""``erpsync sync``: the accounting sync pass, once or on a schedule.

``sync`` runs :class:`~erpsync.sync.accounts.AccountingSync` with files as the local AR
system: the invoices file (the CSV/JSON of ``push``; customers are matched in the ERP
by ``customer_name``), an optional JSON file of locally received payments, and an
optional JSON-lines file the ERP's payments are appended to. ``--every 1h`` repeats the
pass on a schedule until Ctrl-C (the pass in progress is finished first). Each pass is
recorded in the run log that ``erpsync runs`` shows ("Recent Syncs").
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from erpsync._cli.backends import Erp, build_backend, choose_erp
from erpsync._cli.config import Config
from erpsync._cli.exits import EXIT_OK, EXIT_PARTIAL
from erpsync._cli.files import read_local_invoices, validation_message
from erpsync._cli.options import erp_option, sandbox_option
from erpsync._cli.output import Output
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
    parser.add_argument("--every", default=None, metavar="DURATION", help="e.g. 1h, 15m")
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


def _print_result(out: Output, result: Any) -> None:
    run = result.run
    rows: list[list[object]] = [
        [f"invoices {k}", v] for k, v in result.invoices.counts.items() if v
    ]
    rows += [[f"payments {k}", v] for k, v in result.payments.counts.items() if v]
    if result.pulled is not None:
        rows.append(["ERP payments pulled", len(result.pulled)])
    out.table(f"Sync pass {run.id} ({run.backend}): {run.status}", ["what", "count"], rows)
    failures = [*result.invoices.failed, *result.invoices.needs_action, *result.payments.failed]
    if failures:
        out.table(
            "Needs attention", ["document", "reason"], [[f.number, f.reason] for f in failures]
        )
    missing = result.invoices.customers.missing
    if missing:
        out.warn("customers not found in the ERP by name: " + ", ".join(sorted(missing)))


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
    stop: threading.Event | None = None,
) -> int:
    from erpsync.store import SQLiteSyncStore
    from erpsync.sync.accounts import AccountingSync

    interval = parse_interval(every) if every else None
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
        if interval is None:
            work = _sync_input(invoices, payments)
            result = sync.run(
                work.invoices,
                work.payments,
                customer_names=work.customer_names,
                on_payments=on_payments,
                pull=on_payments is not None,
            )
            _print_result(out, result)
            out.line(f"Run log: {store_path} (erpsync runs --show {result.run.id})")
            return EXIT_PARTIAL if result.run.status != "ok" else EXIT_OK
        stop = stop if stop is not None else threading.Event()
        out.line(
            f"Syncing with {backend.name} every {interval}; Ctrl-C stops after the current pass."
        )
        passes: list[int] = []
        worker = threading.Thread(
            target=lambda: passes.append(
                sync.run_every(
                    interval,
                    source=lambda: _sync_input(invoices, payments),
                    stop_event=stop,
                    on_payments=on_payments,
                )
            ),
            name="erpsync-sync-every",
        )
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            out.line("stopping after the current pass...")
            stop.set()
            worker.join()
        out.line(f"{passes[0] if passes else 0} pass(es) run; see `erpsync runs`.")
        return EXIT_OK
