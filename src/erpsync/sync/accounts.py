"""Two-way accounting sync between a company's own AR system and its ERP (seed 002).

What goes where:

* **Out** (local -> ERP): invoices (:meth:`AccountingSync.push_invoices`) and payments
  received locally (:meth:`AccountingSync.push_payments`).
* **In** (ERP -> local): outstanding invoices (:meth:`AccountingSync.import_invoices`),
  the whole customer list (:meth:`AccountingSync.import_customers`) and payments recorded
  in the ERP (:meth:`AccountingSync.pull_payments`).

Rules the seed states, and how they are kept:

* Only non-draft invoices that are new or changed since the last push are written. The
  ledger of :mod:`erpsync.store` keeps a content hash per invoice; an unchanged invoice
  costs no request. What happens to a *changed* one is the ``changed_invoice_policy``:
  ``"skip"`` (leave the ERP alone), ``"update"`` (``backend.update_invoice``) or
  ``"report"`` (list it as a manual action, on the report and in the run log).
* Customers are matched by **name**. Missing and ambiguous names are reported; creating
  the missing ones is an option (off by default, since a typo would otherwise create a
  customer), and an invoice whose customer cannot be matched fails with that reason.
* Invoices that came *from* the ERP (imported) are never pushed back, even when edited
  locally; the ledger marks them (record type ``invoice.imported``, keyed by ERP id and
  external id). Payments applied to them are still pushed.
* Every failure is kept with the invoice number and the ERP's reason while the rest of
  the pass continues; a pass is recorded in the store's run log ("Recent Syncs").

Why the writes are safe to repeat: each record is claimed in the ledger before it is
written, written with its ``external_id`` (idempotent in both backends), and marked
written afterwards. A pass that dies between the ERP's commit and the ledger update
leaves a claim whose next holder looks the record up by external id before writing, so a
resumed pass never makes a duplicate.

Incremental imports run on the one feed (:mod:`erpsync.sync.feed`): the ERP is asked
for records modified since the cursor minus ``overlap``, records delivered before are
dropped, and the cursor moves only when the caller calls :meth:`ImportBatch.commit` (or
leaves ``with batch:`` without an exception), i.e. after it has stored the records: a
crash before that re-delivers the batch, it never loses it. Records without
``updated_at`` or ``id`` cannot be placed on the cursor and are delivered every time.

Limits: writes are sequential (one record at a time) so that each is claimed and marked
individually; a very large backlog should be pushed through several passes.

The mechanisms are the shared ones of :mod:`erpsync.sync`: every write goes through the
one ledger writer (:mod:`erpsync.sync.ledger`), every import through the one feed
(:mod:`erpsync.sync.feed`), every pass through the one exclusive run
(:mod:`erpsync.sync.runs`, whose lock lease is renewed between records and by a
background thread during a slow write). The per-record rules of the push live in
``_accounts_push``, the reports in ``_accounts_reports``; every public name is
importable from here.

Over ~400 lines only through its docstrings (about 290 of code): AccountingSync's
public surface; pushing and the reports already live in their own modules.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError
from erpsync.models import Customer, Invoice, Payment
from erpsync.store import RunRecord, SyncStore, make_owner
from erpsync.sync._accounts_push import (
    INVOICE,
    PAYMENT,
    ChangedInvoicePolicy,
    Pusher,
    mark_imported,
    ours,
)
from erpsync.sync._accounts_reports import (
    CustomerMatchReport,
    Failure,
    PassOutcome,
    PassStatus,
    PaymentReport,
    PushReport,
    SyncInput,
    SyncResult,
    run_counts,
    run_errors,
)
from erpsync.sync.feed import Feed, ImportBatch
from erpsync.sync.ledger import Ledger, resolve_tenant
from erpsync.sync.runs import ActiveRun, ExclusiveRun, LockLostError, SyncBusyError, repeat

__all__ = [
    "RUN_KIND",
    "AccountingSync",
    "CustomerMatchReport",
    "Failure",
    "ImportBatch",
    "LockLostError",
    "PassOutcome",
    "PassStatus",
    "PaymentReport",
    "PushReport",
    "SyncBusyError",
    "SyncInput",
    "SyncResult",
]

_log = logging.getLogger("erpsync.sync.accounts")

#: The run-log ``kind`` of an accounting-sync pass.
RUN_KIND = "accounting-sync"

_POLICIES: frozenset[str] = frozenset({"skip", "update", "report"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AccountingSync:
    """The accounting sync of one local AR system with one ERP company.

    ``store`` keeps the ledger, cursors, run log and the lock that stops two passes
    overlapping (across threads and processes sharing the store). ``owner`` identifies
    this process in claims and locks. ``lease_seconds`` is how long a claim on one record
    lasts before another process may take it over (a dead writer's), and ``lock_ttl`` how
    long the pass lock lasts without renewal (it is renewed as the pass goes).
    ``tenant`` scopes the ledger, cursors, runs and lock in the store (default: the
    backend's ``tenant``, its QuickBooks realm or NetSuite account), so that several
    companies can share one store.
    """

    def __init__(
        self,
        backend: AccountingBackend,
        store: SyncStore,
        *,
        changed_invoice_policy: ChangedInvoicePolicy = "skip",
        create_missing_customers: bool = False,
        overlap: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _utc_now,
        owner: str | None = None,
        lease_seconds: float = 600.0,
        lock_ttl: float = 3600.0,
        tenant: str | None = None,
    ) -> None:
        if not isinstance(backend, AccountingBackend):
            raise ConfigurationError("AccountingSync needs an AccountingBackend")
        if not isinstance(store, SyncStore):
            raise ConfigurationError("AccountingSync needs a SyncStore")
        if changed_invoice_policy not in _POLICIES:
            raise ConfigurationError(
                f"changed_invoice_policy must be one of {sorted(_POLICIES)}, "
                f"not {changed_invoice_policy!r}"
            )
        if not isinstance(overlap, timedelta) or overlap < timedelta(0):
            raise ConfigurationError("overlap must be a non-negative timedelta")
        if not lease_seconds > 0 or not lock_ttl > 0:
            raise ConfigurationError("lease_seconds and lock_ttl must be positive")
        self.backend = backend
        self.store = store
        self.tenant = resolve_tenant(backend, tenant)
        self.changed_invoice_policy: ChangedInvoicePolicy = changed_invoice_policy
        self.create_missing_customers = create_missing_customers
        self.overlap = overlap
        self.owner = owner or make_owner("accounts")
        self.lease_seconds = float(lease_seconds)
        self.lock_ttl = float(lock_ttl)
        self._clock = clock
        self._runs = ExclusiveRun(
            store, RUN_KIND, backend.name, tenant=self.tenant, owner=self.owner,
            ttl=self.lock_ttl, what="accounting sync pass", clock=clock,
        )  # fmt: skip
        self._active: ActiveRun | None = None
        self._stop = threading.Event()  # the current schedule's (see run_every)

    @property
    def lock_name(self) -> str:
        """The store lock that keeps passes for this ERP company from overlapping."""
        return self._runs.lock_name

    def _ledger(self) -> Ledger:
        return Ledger(
            self.store, self.backend.name, tenant=self.tenant, owner=self.owner,
            lease_seconds=self.lease_seconds,
        )  # fmt: skip

    def _pusher(self, report: CustomerMatchReport) -> Pusher:
        return Pusher(
            self.backend, self._ledger(), policy=self.changed_invoice_policy,
            create_missing_customers=self.create_missing_customers, report=report,
        )  # fmt: skip

    def _renew(self) -> None:
        """Keep the pass lock alive between records (only while a pass holds it); a pass
        whose lock another pass took stops here (LockLostError)."""
        active = self._active
        if active is not None:
            active.renew()

    # -- out --------------------------------------------------------------------------

    def push_invoices(
        self,
        invoices: Iterable[Invoice],
        *,
        customer_names: Mapping[str, str] | None = None,
    ) -> PushReport:
        """Write the new and changed non-draft invoices to the ERP.

        Each invoice is keyed by its ``external_id`` (required). Its customer is found in
        the ERP by name: ``customer_names[invoice.external_id]`` when given, else
        ``invoice.customer.name`` (the local ``customer.id`` means nothing to the ERP).
        """
        report = PushReport()
        pusher = self._pusher(report.customers)
        for invoice in invoices:
            self._renew()
            pusher.invoice(invoice, customer_names or {}, report)
        return report

    def push_payments(self, payments: Iterable[Payment]) -> PaymentReport:
        """Record locally received payments in the ERP, applied to the invoices they pay.

        ``applications[].invoice_id`` may be the local invoice key (the external id it
        was pushed with), the ERP id of an imported invoice, or any ERP id; it is
        resolved to the ERP's id before writing. The payment's customer is the customer
        of the first invoice it pays, else ``payment.customer.name`` matched by name.
        Payments already written are not written again (payments are not updated).
        """
        report = PaymentReport()
        pusher = self._pusher(CustomerMatchReport())
        for payment in payments:
            self._renew()
            pusher.payment(payment, report)
        return report

    # -- in ---------------------------------------------------------------------------

    def _feed(self, what: str) -> Feed:
        return Feed(
            self.store, f"{RUN_KIND}:{self.backend.name}:{what}", tenant=self.tenant,
            overlap=self.overlap,
        )  # fmt: skip

    def import_invoices(self, open_only: bool = True) -> ImportBatch[Invoice]:
        """Invoices created or changed in the ERP since the last committed import.

        ``open_only`` keeps to outstanding invoices (the seed's "import outstanding
        invoices"). Invoices this sync pushed are left out (they came from here). On
        commit, the delivered invoices are marked as imported, so that
        :meth:`push_invoices` never writes local edits of them back.
        """

        def fetch(since: datetime | None) -> Iterator[Invoice]:
            return self.backend.iter_invoices(modified_since=since, open_only=open_only)

        return self._feed("invoices" + (":open" if open_only else ":all")).batch(
            fetch,
            keep=lambda i: not ours(self._ledger(), INVOICE, i.id, i.external_id),
            on_commit=lambda invoices: mark_imported(self._ledger(), invoices),
        )

    def import_customers(self) -> ImportBatch[Customer]:
        """The ERP's customers created or changed since the last committed import (the
        whole list the first time)."""

        def fetch(since: datetime | None) -> Iterator[Customer]:
            return self.backend.iter_customers(modified_since=since)

        return self._feed("customers").batch(fetch)

    def pull_payments(self) -> ImportBatch[Payment]:
        """Payments recorded in the ERP since the last committed pull, for the caller to
        apply locally; payments this sync pushed are left out."""

        def fetch(since: datetime | None) -> Iterator[Payment]:
            return self.backend.iter_payments(modified_since=since)

        return self._feed("payments").batch(
            fetch, keep=lambda p: not ours(self._ledger(), PAYMENT, p.id, p.external_id)
        )

    # -- passes -----------------------------------------------------------------------

    def run(
        self,
        invoices: Iterable[Invoice] = (),
        payments: Iterable[Payment] = (),
        *,
        customer_names: Mapping[str, str] | None = None,
        on_payments: Callable[[list[Payment]], None] | None = None,
        pull: bool = True,
    ) -> SyncResult:
        """One pass ("Sync Now"): push invoices, push payments, pull the ERP's payments.

        The pass is recorded in the run log (``ok``, ``partial`` when some records
        failed or need a manual action, ``failed`` when the pass itself broke, in which
        case the exception propagates after being recorded). ``on_payments`` receives
        the pulled payments; the pull is committed once it returns. Without it the
        batch is returned uncommitted in :attr:`SyncResult.pulled`. Raises
        :class:`SyncBusyError` (a ConflictError) when another pass holds the lock, and
        :class:`LockLostError` (a SyncBusyError) when the pass lost it part-way.
        """
        invoice_report, payment_report = PushReport(), PaymentReport()
        pulled: ImportBatch[Payment] | None = None
        with self._runs.start("sync pass") as active:
            active.progress = lambda: (
                run_counts(invoice_report, payment_report, pulled),
                run_errors(invoice_report, payment_report),
            )
            self._active = active
            try:
                invoice_report = self.push_invoices(invoices, customer_names=customer_names)
                payment_report = self.push_payments(payments)
                if pull:
                    pulled = self.pull_payments()
                    if on_payments is not None:
                        on_payments(list(pulled.records))
                        pulled.commit()
            finally:
                self._active = None
            counts, errors = active.progress()
            record = active.finish(counts=counts, errors=errors)
        return SyncResult(record, invoice_report, payment_report, pulled)

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Recent passes, newest first (the "Recent Syncs" table)."""
        return self._runs.log.runs(limit)

    # -- the schedule -----------------------------------------------------------------

    def run_every(
        self,
        interval: timedelta | float,
        *,
        source: Callable[[], SyncInput],
        stop_event: threading.Event | None = None,
        on_payments: Callable[[list[Payment]], None] | None = None,
        on_pass: Callable[[PassOutcome], None] | None = None,
        max_passes: int | None = None,
    ) -> int:
        """Run a pass every ``interval`` (start to start) until told to stop; return the
        number of passes run.

        ``source`` says what to push on each pass. A pass that fails (its source
        included) is recorded in the run log and the schedule goes on; a pass that finds
        another one running (here or in another process sharing the store) is skipped
        and not counted. ``on_pass`` sees every pass as it ends (:class:`PassOutcome`;
        with it, failures are the callback's to report and are only logged at INFO);
        an exception it raises ends the schedule. The schedule stops after
        ``max_passes`` passes run, or once ``stop_event`` is set or :meth:`stop` is
        called: the pass in flight is finished, a wait between passes ends at once.
        Without ``on_payments`` the ERP's payments are not pulled (there is nowhere to
        put them).
        """
        stop = stop_event if stop_event is not None else threading.Event()
        self._stop = stop

        def one_pass(number: int) -> PassOutcome:
            return self._scheduled_pass(number, source, on_payments, quiet=on_pass is not None)

        return repeat(one_pass, interval, stop=stop, on_pass=on_pass, max_passes=max_passes)

    def stop(self) -> None:
        """Ask the running :meth:`run_every` to stop after the pass in flight (safe from
        any thread or a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once the current (or last) schedule was asked to stop."""
        return self._stop.is_set()

    def _scheduled_pass(
        self,
        number: int,
        source: Callable[[], SyncInput],
        on_payments: Callable[[list[Payment]], None] | None,
        *,
        quiet: bool,
    ) -> PassOutcome:
        """One pass of the schedule; never raises an Exception (the schedule goes on)."""
        started = time.monotonic()
        status: PassStatus = "failed"
        result: SyncResult | None = None
        error: Exception | None = None
        try:
            work = source()
        except Exception as exc:
            self._runs.log.record_failure(exc, label="sync source")
            error, what = exc, "the accounting sync source failed"
        else:
            try:
                result = self.run(
                    work.invoices,
                    work.payments,
                    customer_names=work.customer_names,
                    on_payments=on_payments,
                    pull=on_payments is not None,
                )
                status = result.run.status  # type: ignore[assignment]
            except LockLostError as exc:
                error, what = exc, "the accounting sync pass lost its lock"
            except SyncBusyError as exc:
                status, error, what = "skipped", exc, "accounting sync pass skipped"
            except Exception as exc:
                error, what = exc, "accounting sync pass failed"
        if error is not None:
            if quiet or status == "skipped":
                _log.info("%s: %s", what, error)
            else:
                _log.exception("%s; the next pass runs on schedule", what, exc_info=error)
        return PassOutcome(number, status, result, error, time.monotonic() - started)
