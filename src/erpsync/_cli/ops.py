"""``erpsync import``, ``erpsync runs``, ``erpsync sync``: the day-to-day commands.

``sync`` runs :class:`~erpsync.sync.accounts.AccountingSync` with files as the local AR
system: the invoices file (the CSV/JSON of ``push``; customers are matched in the ERP
by ``customer_name``), an optional JSON file of locally received payments, and an
optional JSON-lines file the ERP's payments are appended to. ``--every 1h`` repeats the
pass on a schedule until Ctrl-C (the pass in progress is finished first). Each pass is
recorded in the run log that ``erpsync runs`` shows ("Recent Syncs").
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from erpsync._cli.backends import Erp, build_backend
from erpsync._cli.config import Config
from erpsync._cli.exits import EXIT_OK, EXIT_PARTIAL
from erpsync._cli.files import read_invoices, validation_message, write_records
from erpsync._cli.output import Output
from erpsync.errors import ConfigurationError

__all__ = [
    "import_records",
    "load_payments",
    "parse_interval",
    "show_runs",
    "sync_once_or_every",
]

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


def import_records(
    out: Output, config: Config, *, what: str, erp: Erp, dest: Path | None, all_: bool
) -> int:
    """Read every customer, or the outstanding (``all_``: every) invoice, from the ERP."""
    backend = build_backend(config, erp)
    try:
        if what == "customers":
            records = [c.model_dump(mode="json") for c in backend.iter_customers()]
            columns: Sequence[str] = _CUSTOMER_COLUMNS
        else:
            records = []
            for invoice in backend.iter_invoices(open_only=not all_):
                row = invoice.model_dump(mode="json")
                row["customer"] = invoice.customer.name or invoice.customer.id
                records.append(row)
            columns = _INVOICE_COLUMNS
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
    if dest is not None:
        write_records(dest, records, columns)
        out.ok(f"{len(records)} {what} written to {dest}")
        return EXIT_OK
    shown = columns[:6]
    out.table(
        f"{what.capitalize()} in {backend.name} ({len(records)})",
        list(shown),
        [[r.get(c) for c in shown] for r in records[:50]],
    )
    if len(records) > 50:
        out.line(f"... {len(records) - 50} more; use --out FILE for all of them")
    return EXIT_OK


def show_runs(out: Output, config: Config, *, limit: int, run_id: int | None) -> int:
    from erpsync.store import SQLiteSyncStore

    path = Path(config.require("store", "the run log")).expanduser()
    if not path.exists():
        out.line(f"No runs yet (no sync store at {path}).")
        return EXIT_OK
    with SQLiteSyncStore(path) as store:
        if run_id is not None:
            run = store.get_run(run_id)
            if run is None:
                raise ConfigurationError(f"there is no run {run_id} in {path}")
            runs = [run]
        else:
            runs = store.runs(limit=limit)
    out.table(
        f"Recent runs ({path})",
        ["id", "kind", "erp", "started (UTC)", "status", "counts", "errors"],
        [
            [
                r.id,
                r.kind,
                r.backend,
                f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                r.status,
                ", ".join(f"{k}={v}" for k, v in sorted(r.counts.items()) if v),
                len(r.errors),
            ]
            for r in runs
        ],
    )
    if run_id is not None and runs[0].errors:
        out.table(
            f"Errors of run {run_id}",
            ["record", "code", "message"],
            [[e.record, e.code, e.message] for e in runs[0].errors],
        )
    return EXIT_OK


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
        for item in read_invoices(invoices_path):
            if item.customer_name and "customer" not in item.data:
                # AccountingSync matches customers by name; the local id is a placeholder.
                item.data["customer"] = {"id": "0", "name": item.customer_name}
                item.build()
            if item.invoice is None:
                raise ConfigurationError(
                    f"{invoices_path}: row {item.row} ({item.external_id or 'no external id'}): "
                    f"{item.error}"
                )
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
