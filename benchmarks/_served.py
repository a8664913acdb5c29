"""The benchmarks' one way to an emulator: served on loopback in a process of its own.

A benchmark that runs the emulator in its own interpreter charges the emulator's CPU
(routing, validation, storage, JSON) to the SDK it measures: with two cores and the GIL,
every millisecond the emulator spends is a millisecond the client's threads cannot run.
:class:`Served` starts ``FakeQuickBooks`` or ``FakeNetSuite`` in a child process (spawned,
so it shares nothing with the parent), serves it at real limits on a loopback port, and
drives it through a pipe: statistics, counters reset, record counts, fast seeding
straight into its store, and the child's own CPU time, so each benchmark can say how
much CPU the emulator spent apart from the client.

Clients reach it over HTTP with the credentials it publishes, as any worker process
would (:func:`erpsync.testing.connect_quickbooks` for erpsync; python-quickbooks and the
``netsuite`` package through their own base-URL settings).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

# The spawned child imports this module by name: make its folder importable there too
# (a benchmark may have been loaded from its file path, as the smoke tests do).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

Kind = Literal["quickbooks", "netsuite"]

#: FakeNetSuite's seeded customer and item that benchmark invoices use.
NETSUITE_CUSTOMER = "101"
NETSUITE_ITEM = "202"


def _build(kind: Kind, latency: float, governed: bool, options: dict[str, Any]) -> Any:
    """The emulator, on real time, at the service's real limits unless ``governed`` is
    false."""
    from erpsync.testing.core.emulator import SystemClock

    if kind == "quickbooks":
        from erpsync.testing.quickbooks import QBO_GOVERNANCE, FakeQuickBooks

        extra = {"governance": QBO_GOVERNANCE if governed else None}
        return FakeQuickBooks(clock=SystemClock(), latency=latency, **extra, **options)
    from erpsync.testing.netsuite import FakeNetSuite

    extra = {} if governed else {"governance": None}
    return FakeNetSuite("1234567_SB1", clock=SystemClock(), latency=latency, **extra, **options)


def _seed_quickbooks(fake: Any, count: int, customer: str, day: str) -> None:
    """``count`` invoices of ``customer`` on ``day``, each marked with an external id
    (``old-<customer>-<day>-<n>``), through ``fake.seed_records`` (no HTTP). As on a
    real busy day they were written over time (500 at a time, the groups 25 minutes
    apart, the last one now): the store stamps each with the company clock, which is
    moved back for the seeding."""
    from datetime import timedelta

    company = fake.company
    now, tag = company.now, f"{customer}-{day.replace('-', '')}"
    line = {"DetailType": "SalesItemLineDetail", "Amount": 1, "SalesItemLineDetail": {}}
    start = now() - timedelta(seconds=3 * count)
    step = 500
    try:
        for first in range(0, count, step):
            stamp = start + timedelta(seconds=3 * first)
            company.now = lambda stamp=stamp: stamp
            fake.seed_records(
                {
                    "Invoice": [
                        {
                            "CustomerRef": {"value": customer},
                            "TxnDate": day,
                            "DocNumber": f"{tag}-{n}",
                            "PrivateNote": f"[erpsync external_id=old-{tag}-{n}]",
                            "Line": [dict(line)],
                        }
                        for n in range(first, min(first + step, count))
                    ]
                }
            )
    finally:
        company.now = now


def _seed_netsuite(fake: Any, count: int) -> None:
    """``count`` one-line open invoices inserted directly into the emulator's tables (an
    internal of the emulator: it has no bulk-load API, and 100,000 creates over HTTP at
    the concurrency limit would take a quarter of an hour)."""
    stamp = "2026-11-03 09:00:00"
    first = 500_000
    headers, lines = [], []
    for n in range(count):
        rid = first + n
        amount = float(100 + n % 900)
        headers.append(
            (rid, f"INV{rid}", "CustInvc", "invoice", int(NETSUITE_CUSTOMER), "2026-11-03",
             "2026-12-03", "A", 1, 1.0, amount, amount, 0.0, f"seed-{n}", stamp, stamp)
        )  # fmt: skip
        lines.append((rid, 0, 0, "T", None, None, None, amount, amount, None))
        lines.append((rid, 1, 1, "F", int(NETSUITE_ITEM), 1.0, amount, amount, amount, f"J{n}"))
    with fake.account.db.write() as conn:
        conn.executemany(
            'INSERT INTO "transaction" (id, tranid, type, recordtype, entity, trandate, '
            "duedate, status, currency, exchangerate, foreigntotal, foreignamountremaining, "
            "foreignamountpaid, externalid, createddate, lastmodifieddate) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            headers,
        )
        conn.executemany(
            'INSERT INTO transactionline ("transaction", id, linesequencenumber, mainline, '
            "item, quantity, rate, netamount, foreignamount, memo) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            lines,
        )


def _count(fake: Any, kind: Kind, entity: str) -> int:
    if kind == "quickbooks":
        return len(fake.records(entity))
    row = fake.account.db.one('SELECT count(*) FROM "transaction" WHERE recordtype = ?', (entity,))
    return int(row[0]) if row is not None else 0


def _answer(fake: Any, kind: Kind, command: str, args: tuple[Any, ...]) -> Any:
    if command == "stats":
        stats = fake.stats
        return {f.name: getattr(stats, f.name) for f in dataclasses.fields(stats)} | {
            "faults_by_kind": dict(stats.faults_by_kind)
        }
    if command == "reset_runtime":
        return fake.reset_runtime()
    if command == "paths":  # the data requests served so far (QuickBooks only)
        return [(r.method, r.path, r.params.get("query", [""])[0], r.status) for r in fake.requests]
    if command == "cpu":
        return time.process_time()
    if command == "count":
        return _count(fake, kind, *args)
    if command == "seed" and kind == "quickbooks":
        return _seed_quickbooks(fake, *args)
    if command == "seed":
        return _seed_netsuite(fake, *args)
    raise ValueError(f"no command {command!r}")


def _child(conn: Connection, kind: Kind, latency: float, governed: bool, options: Any) -> None:
    """The emulator process: serve, publish URL and credentials, answer commands."""
    fake = _build(kind, latency, governed, options)
    url = fake.serve()
    conn.send((url, fake.credentials))
    while True:
        try:
            command, args = conn.recv()
        except EOFError:
            break
        if command == "stop":
            break
        try:
            conn.send((True, _answer(fake, kind, command, args)))
        except Exception as exc:  # reported to the parent, which raises it
            conn.send((False, f"{type(exc).__name__}: {exc}"))
    fake.shutdown()


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """Resident set size of this process in bytes (Linux /proc; 0 elsewhere): the memory
    figure of the streaming and emulator benchmarks."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


@contextlib.contextmanager
def quiet_erpsync() -> Iterator[None]:
    """erpsync's WARNING lines (a retried 429) off for a benchmark: the tables count
    them. The level is put back after, so a test that ran the benchmark leaves logging
    as it was."""
    logger = logging.getLogger("erpsync")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class Served:
    """A served emulator in its own process (a context manager).

    ``Served("quickbooks", latency=0.05)`` runs FakeQuickBooks at Intuit's limits with
    50 ms answers; ``governed=False`` lifts the limits (a CPU-only measurement).
    ``options`` go to the emulator's constructor (they must pickle)."""

    def __init__(
        self, kind: Kind, *, latency: float = 0.05, governed: bool = True, **options: Any
    ) -> None:
        self.kind = kind
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child, kind, latency, governed, options), daemon=True
        )
        self._process.start()
        child.close()
        self.url, self.credentials = self._conn.recv()

    def call(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(f"emulator command {command} failed: {value}")
        return value

    def stats(self) -> dict[str, Any]:
        return dict(self.call("stats"))

    def reset_runtime(self) -> None:
        self.call("reset_runtime")

    def cpu(self) -> float:
        """The emulator process's CPU seconds so far."""
        return float(self.call("cpu"))

    def count(self, entity: str) -> int:
        return int(self.call("count", entity))

    def seed_invoices(self, count: int, customer: str = "1", day: date | None = None) -> None:
        """``count`` existing invoices, written straight into the emulator's store."""
        if self.kind == "quickbooks":
            self.call("seed", count, customer, (day or date(2026, 11, 3)).isoformat())
        else:
            self.call("seed", count)

    def close(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(("stop", ()))
            self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._conn.close()

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
