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

Incremental imports and the cursor. A feed remembers where it stopped as
``"<ISO timestamp>|<last id>"`` (the newest ``updated_at`` delivered, and the id that
breaks ties). The next read asks the ERP for records modified since that timestamp
*minus* ``overlap``, so a record committed late, or stamped by a clock slightly behind,
is still seen. Records delivered before are dropped: the store keeps, next to the cursor
(``<cursor>.seen``), the versions (``id@updated_at``) delivered inside the overlap
window, so a record edited again comes back and a repeat does not. The cursor moves only
when the caller calls :meth:`ImportBatch.commit` (or leaves ``with batch:`` without an
exception), i.e. after it has stored the records: a crash before that re-delivers the
batch, it never loses it. Records without ``updated_at`` or ``id`` cannot be placed on
the cursor and are delivered every time.

Limits: writes are sequential (one record at a time) so that each is claimed and marked
individually; a very large backlog should be pushed through several passes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import ValidationError

from erpsync.backend import AccountingBackend, AmbiguousMatchError
from erpsync.errors import ConfigurationError, ConflictError, ErpSyncError, MappingError
from erpsync.models import Customer, Invoice, InvoiceStatus, Payment, PaymentApplication, Ref
from erpsync.store import LedgerKey, RunError, RunRecord, SyncStore, content_hash, make_owner
from erpsync.sync._common import (
    FeedPosition,
    LedgerTarget,
    WriteOutcome,
    resolve_tenant,
    write_once,
)
from erpsync.sync.feed import ImportBatch
from erpsync.sync.runs import SyncBusyError

__all__ = [
    "RUN_KIND",
    "AccountingSync",
    "CustomerMatchReport",
    "Failure",
    "ImportBatch",
    "PaymentReport",
    "PushReport",
    "SyncBusyError",
    "SyncInput",
    "SyncResult",
]

_log = logging.getLogger("erpsync.sync.accounts")

#: The run-log ``kind`` of an accounting-sync pass.
RUN_KIND = "accounting-sync"

#: Recorded on a run found still "running" when the next pass takes the lock.
_ABANDONED = "the process running this pass stopped before it finished"

ChangedInvoicePolicy = Literal["skip", "update", "report"]
_POLICIES: frozenset[str] = frozenset({"skip", "update", "report"})

_INVOICE = "invoice"
_IMPORTED = "invoice.imported"
_PAYMENT = "payment"
_CUSTOMER = "customer"

#: Invoice fields that do not make an invoice "changed": ERP-assigned ids and values that
#: move because of payments, not because someone edited the invoice.
_VOLATILE = frozenset({"id", "updated_at", "balance", "status", "remote_status", "total"})

T = TypeVar("T", Invoice, Customer, Payment)
W = TypeVar("W", Invoice, Customer, Payment)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- reports ------------------------------------------------------------------------------


class Failure(NamedTuple):
    """``(number, reason)``: which document (its number, else its external id) and why."""

    number: str
    reason: str


@dataclass
class CustomerMatchReport:
    """How local customer names met the ERP's customers during one push.

    ``matched`` and ``created`` map a name to the ERP id used; ``missing`` lists names
    with no ERP customer (not created); ``ambiguous`` maps a name to the ids of the
    several ERP customers carrying it; ``errors`` maps a name to why looking it up or
    creating it failed.
    """

    matched: dict[str, str] = field(default_factory=dict)
    created: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class PushReport:
    """What one :meth:`AccountingSync.push_invoices` did, per invoice (external ids).

    ``skipped`` holds drafts, imported invoices and changed invoices under the ``skip``
    policy, each with the reason; ``needs_action`` the changed invoices under the
    ``report`` policy; ``failed`` the ones the ERP (or the customer match) refused.
    """

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)
    needs_action: list[Failure] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    customers: CustomerMatchReport = field(default_factory=CustomerMatchReport)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "skipped": len(self.skipped),
            "needs_action": len(self.needs_action),
            "failed": len(self.failed),
        }


@dataclass
class PaymentReport:
    """What one :meth:`AccountingSync.push_payments` did (payment external ids)."""

    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "unchanged": len(self.unchanged),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
        }


@dataclass(frozen=True)
class SyncInput:
    """What one pass pushes: what a ``run_every`` source returns."""

    invoices: Sequence[Invoice] = ()
    payments: Sequence[Payment] = ()
    customer_names: Mapping[str, str] | None = None


@dataclass
class SyncResult:
    """One pass: the run-log record and the reports behind it.

    ``pulled`` holds the ERP's payments; it is already committed when :meth:`AccountingSync.run`
    was given ``on_payments``, otherwise the caller commits it after applying them.
    """

    run: RunRecord
    invoices: PushReport
    payments: PaymentReport
    pulled: ImportBatch[Payment] | None


# -- incremental feeds --------------------------------------------------------------------


def _parse_position(name: str, value: str) -> FeedPosition:
    try:
        return FeedPosition.parse(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"the cursor {name!r} holds {value!r}, not '<ISO timestamp>|<id>': {exc}",
            hint="Fix or delete the cursor in the sync store to re-import from the start",
        ) from None


# -- the workflow -------------------------------------------------------------------------


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
        self._thread_lock = threading.Lock()
        self._lock_renewed_at: datetime | None = None

    @property
    def _b(self) -> str:
        return self.backend.name

    @property
    def lock_name(self) -> str:
        """The store lock that keeps passes for this ERP company from overlapping."""
        return f"{RUN_KIND}:{self._b}:{self.tenant}"

    # -- invoices out -----------------------------------------------------------------

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
        matcher = _CustomerMatcher(self, report.customers)
        for invoice in invoices:
            self._renew_lock()
            self._push_invoice(invoice, customer_names or {}, matcher, report)
        return report

    def _push_invoice(
        self,
        invoice: Invoice,
        customer_names: Mapping[str, str],
        matcher: _CustomerMatcher,
        report: PushReport,
    ) -> None:
        if not isinstance(invoice, Invoice):
            report.failed.append(Failure("?", f"expected an Invoice, got {type(invoice).__name__}"))
            return
        key = invoice.external_id
        label = invoice.number or key or invoice.id or "?"
        if invoice.status is InvoiceStatus.DRAFT:
            report.skipped.append(Failure(label, "draft invoices are not synced"))
            return
        if self._is_imported(invoice):
            report.skipped.append(
                Failure(label, f"imported from {self._b}; local changes are not pushed back")
            )
            return
        if key is None:
            report.failed.append(
                Failure(label, "the invoice has no external_id to key it in the ERP")
            )
            return
        name = customer_names.get(key) or invoice.customer.name
        digest = content_hash(
            {**invoice.model_dump(mode="json", exclude=set(_VOLATILE)), "customer": name}
        )
        entry = self.store.get(self._b, _INVOICE, key, tenant=self.tenant)
        if entry is not None and entry.state == "written":
            if entry.content_hash == digest:
                report.unchanged.append(key)
                return
            if self.changed_invoice_policy == "skip":
                report.skipped.append(
                    Failure(label, "changed since it was pushed; policy is to skip changes")
                )
                return
            if self.changed_invoice_policy == "report":
                report.needs_action.append(
                    Failure(
                        label,
                        f"changed locally since it was pushed to {self._b} "
                        f"(id {entry.remote_id}); update it there by hand",
                    )
                )
                return
        update_changed = self.changed_invoice_policy == "update"
        try:
            if name is None:
                raise MappingError(
                    "the invoice has no customer name to match in the ERP",
                    hint="pass customer_names={external_id: name} or set invoice.customer.name",
                )
            customer = matcher.match(name, invoice.currency)
            outgoing = _copy(invoice, customer=customer, id=None, balance=None, updated_at=None)
            outcome = self._write(
                _INVOICE,
                key,
                find=lambda: self.backend.find_invoice(key),
                create=lambda: self.backend.create_invoice(outgoing),
                update=(
                    (lambda remote_id: self.backend.update_invoice(_copy(outgoing, id=remote_id)))
                    if update_changed
                    else None
                ),
                content_hash=digest,
            )
        except ErpSyncError as exc:
            report.failed.append(Failure(label, str(exc)))
            return
        except ValidationError as exc:
            report.failed.append(Failure(label, f"the document is not valid for the ERP: {exc}"))
            return
        if outcome.status == "in_progress":
            report.skipped.append(Failure(label, "another sync is writing this invoice now"))
        elif outcome.status == "updated":
            report.updated.append(key)
        elif outcome.status == "unchanged" or outcome.record is None:
            report.unchanged.append(key)  # (or written meanwhile by another pass)
        else:
            report.created.append(key)  # created now, or by an interrupted attempt

    def _is_imported(self, invoice: Invoice) -> bool:
        keys = []
        if invoice.id is not None:
            keys.append(f"id:{invoice.id}")
        if invoice.external_id is not None:
            keys.append(f"ext:{invoice.external_id}")
        return any(
            self.store.get(self._b, _IMPORTED, k, tenant=self.tenant) is not None for k in keys
        )

    # -- payments out -----------------------------------------------------------------

    def push_payments(self, payments: Iterable[Payment]) -> PaymentReport:
        """Record locally received payments in the ERP, applied to the invoices they pay.

        ``applications[].invoice_id`` may be the local invoice key (the external id it
        was pushed with), the ERP id of an imported invoice, or any ERP id; it is
        resolved to the ERP's id before writing. The payment's customer is the customer
        of the first invoice it pays, else ``payment.customer.name`` matched by name.
        Payments already written are not written again (payments are not updated).
        """
        report = PaymentReport()
        matcher = _CustomerMatcher(self, CustomerMatchReport())
        for payment in payments:
            self._renew_lock()
            self._push_payment(payment, matcher, report)
        return report

    def _push_payment(
        self, payment: Payment, matcher: _CustomerMatcher, report: PaymentReport
    ) -> None:
        if not isinstance(payment, Payment):
            report.failed.append(Failure("?", f"expected a Payment, got {type(payment).__name__}"))
            return
        key = payment.external_id
        if key is None:
            report.failed.append(
                Failure(payment.id or "?", "the payment has no external_id to key it in the ERP")
            )
            return

        def create() -> Payment:
            # Resolved only when the payment is really written: a payment known to the
            # ledger costs no request.
            applications = [
                PaymentApplication(
                    invoice_id=self._erp_invoice_id(app.invoice_id), amount=app.amount
                )
                for app in payment.applications
            ]
            customer = self._payment_customer(payment, applications, matcher)
            return self.backend.create_payment(
                _copy(
                    payment, id=None, customer=customer, applications=applications, updated_at=None
                )
            )

        try:
            outcome = self._write(
                _PAYMENT, key, find=lambda: self.backend.find_payment(key), create=create
            )
        except ErpSyncError as exc:
            report.failed.append(Failure(key, str(exc)))
            return
        except ValidationError as exc:
            report.failed.append(Failure(key, f"the document is not valid for the ERP: {exc}"))
            return
        if outcome.status == "in_progress":
            report.skipped.append(Failure(key, "another sync is writing this payment now"))
        elif outcome.record is None:
            report.unchanged.append(key)  # answered from the ledger: written before
        else:
            report.created.append(key)  # created now, or by an interrupted attempt

    def _erp_invoice_id(self, reference: str) -> str:
        entry = self.store.get(self._b, _INVOICE, reference, tenant=self.tenant)
        if entry is not None and entry.state == "written" and entry.remote_id:
            return entry.remote_id
        if self.store.get(self._b, _IMPORTED, f"id:{reference}", tenant=self.tenant) is not None:
            return reference
        imported = self.store.get(self._b, _IMPORTED, f"ext:{reference}", tenant=self.tenant)
        if imported is not None and imported.remote_id:
            return imported.remote_id
        try:
            found = self.backend.find_invoice(reference)
        except ConfigurationError:
            found = None  # not usable as an external id; maybe an ERP id
        if found is not None and found.id is not None:
            return found.id
        return _id_of(self.backend.get_invoice(reference))

    def _payment_customer(
        self, payment: Payment, applications: list[PaymentApplication], matcher: _CustomerMatcher
    ) -> Ref:
        if applications:
            return self.backend.get_invoice(applications[0].invoice_id).customer
        if payment.customer.name:
            return matcher.match(payment.customer.name, payment.currency)
        raise MappingError(
            "an unapplied payment needs payment.customer.name to find its ERP customer"
        )

    # -- imports ----------------------------------------------------------------------

    def import_invoices(self, open_only: bool = True) -> ImportBatch[Invoice]:
        """Invoices created or changed in the ERP since the last committed import.

        ``open_only`` keeps to outstanding invoices (the seed's "import outstanding
        invoices"). Invoices this sync pushed are left out (they came from here). On
        commit, the delivered invoices are marked as imported, so that
        :meth:`push_invoices` never writes local edits of them back.
        """
        cursor = f"{RUN_KIND}:{self._b}:invoices" + (":open" if open_only else ":all")

        def fetch(since: datetime | None) -> Iterator[Invoice]:
            return self.backend.iter_invoices(modified_since=since, open_only=open_only)

        return self._feed(cursor, fetch, keep=self._not_ours_invoice, on_commit=self._mark_imported)

    def import_customers(self) -> ImportBatch[Customer]:
        """The ERP's customers created or changed since the last committed import (the
        whole list the first time)."""

        def fetch(since: datetime | None) -> Iterator[Customer]:
            return self.backend.iter_customers(modified_since=since)

        return self._feed(f"{RUN_KIND}:{self._b}:customers", fetch)

    def pull_payments(self) -> ImportBatch[Payment]:
        """Payments recorded in the ERP since the last committed pull, for the caller to
        apply locally; payments this sync pushed are left out."""

        def fetch(since: datetime | None) -> Iterator[Payment]:
            return self.backend.iter_payments(modified_since=since)

        return self._feed(f"{RUN_KIND}:{self._b}:payments", fetch, keep=self._not_ours_payment)

    def _not_ours_invoice(self, invoice: Invoice) -> bool:
        return not self._ours(_INVOICE, invoice.id, invoice.external_id)

    def _not_ours_payment(self, payment: Payment) -> bool:
        return not self._ours(_PAYMENT, payment.id, payment.external_id)

    def _ours(self, record_type: str, remote_id: str | None, external_id: str | None) -> bool:
        if remote_id is not None and self.store.find_by_remote_id(
            self._b, record_type, remote_id, tenant=self.tenant
        ):
            return True
        if external_id is not None:
            entry = self.store.get(self._b, record_type, external_id, tenant=self.tenant)
            return entry is not None and entry.state == "written"
        return False

    def _mark_imported(self, invoices: list[Invoice]) -> None:
        for invoice in invoices:
            if invoice.id is None:
                continue
            keys = [f"id:{invoice.id}"]
            if invoice.external_id is not None:
                keys.append(f"ext:{invoice.external_id}")
            for source_key in keys:
                self.store.mark_written(
                    LedgerKey(self._b, _IMPORTED, source_key, self.tenant),
                    invoice.id,
                    number=invoice.number,
                    external_id=invoice.external_id,
                )

    def _feed(
        self,
        name: str,
        fetch: Callable[[datetime | None], Iterator[T]],
        *,
        keep: Callable[[T], bool] | None = None,
        on_commit: Callable[[list[T]], None] | None = None,
    ) -> ImportBatch[T]:
        raw = self.store.get_cursor(name, tenant=self.tenant)
        start = _parse_position(name, raw) if raw else None
        seen = self._load_seen(name)
        since = start.since(self.overlap) if start else None
        records: list[T] = []
        newest = start
        versions: set[str] = set()
        for record in fetch(since):
            stamp, record_id = record.updated_at, record.id
            if stamp is not None and record_id is not None:
                position = FeedPosition.of(stamp, record_id)
                if position.text() in seen:
                    continue
                if not seen and start is not None and position <= start:
                    continue  # a cursor without its seen-set: fall back to (ts, id) order
                versions.add(position.text())
                newest = position if newest is None or position > newest else newest
            if keep is None or keep(record):
                records.append(record)

        def commit() -> None:
            self._advance(name, raw, newest, seen | versions)
            if on_commit is not None:
                on_commit(records)

        return ImportBatch(records, commit, raw)

    def _load_seen(self, name: str) -> set[str]:
        raw = self.store.get_cursor(f"{name}.seen", tenant=self.tenant)
        if not raw:
            return set()
        try:
            values = json.loads(raw)
        except ValueError:
            return set()  # a damaged seen-set only costs re-deliveries inside the window
        return {v for v in values if isinstance(v, str)} if isinstance(values, list) else set()

    def _advance(
        self, name: str, before: str | None, newest: FeedPosition | None, versions: set[str]
    ) -> None:
        if newest is None:
            return
        current = self.store.get_cursor(name, tenant=self.tenant)
        if current != before and current:
            # Another batch committed meanwhile: never move the cursor backwards.
            other = _parse_position(name, current)
            versions |= self._load_seen(name)
            newest = max(newest, other)
        floor = newest.ts - self.overlap
        kept = sorted(v for v in versions if _parse_position(name, v).ts >= floor)
        self.store.set_cursor(f"{name}.seen", json.dumps(kept), tenant=self.tenant)
        self.store.set_cursor(name, newest.text(), tenant=self.tenant)

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
        :class:`SyncBusyError` (a ConflictError) when another pass holds the lock.
        """
        with self._exclusive():
            self.store.abandon_runs(RUN_KIND, self._b, _ABANDONED, tenant=self.tenant)
            run_id = self.store.start_run(RUN_KIND, self._b, tenant=self.tenant)
            invoice_report, payment_report = PushReport(), PaymentReport()
            pulled: ImportBatch[Payment] | None = None
            try:
                invoice_report = self.push_invoices(invoices, customer_names=customer_names)
                payment_report = self.push_payments(payments)
                if pull:
                    pulled = self.pull_payments()
                    if on_payments is not None:
                        on_payments(list(pulled.records))
                        pulled.commit()
            except BaseException as exc:
                errors = _run_errors(invoice_report, payment_report)
                errors.append(RunError.from_exception("sync pass", exc))
                self.store.finish_run(
                    run_id,
                    status="failed",
                    counts=_run_counts(invoice_report, payment_report, pulled),
                    errors=errors,
                )
                raise
            errors = _run_errors(invoice_report, payment_report)
            record = self.store.finish_run(
                run_id,
                status="partial" if errors else "ok",
                counts=_run_counts(invoice_report, payment_report, pulled),
                errors=errors,
            )
            return SyncResult(record, invoice_report, payment_report, pulled)

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Recent passes, newest first (the "Recent Syncs" table)."""
        return self.store.runs(limit=limit, kind=RUN_KIND, backend=self._b, tenant=self.tenant)

    def run_every(
        self,
        interval: timedelta | float,
        *,
        source: Callable[[], SyncInput],
        stop_event: threading.Event,
        on_payments: Callable[[list[Payment]], None] | None = None,
    ) -> int:
        """Run a pass every ``interval`` (start to start) until ``stop_event`` is set.

        ``source`` says what to push on each pass. A pass that fails is logged and
        recorded, and the schedule goes on; a pass that finds another one running
        (here or in another process sharing the store) is skipped. Setting
        ``stop_event`` ends the loop after the current pass. Without ``on_payments``
        the ERP's payments are not pulled (there is nowhere to put them). Returns the
        number of passes run.
        """
        seconds = interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
        if seconds < 0:
            raise ConfigurationError("run_every needs a non-negative interval")
        passes = 0
        while not stop_event.is_set():
            started = self._clock()
            try:
                work = source()
            except Exception as exc:
                _log.exception("the accounting sync source failed; the next pass runs on schedule")
                self._record_failed_pass(exc)
                passes += 1
            else:
                try:
                    self.run(
                        work.invoices,
                        work.payments,
                        customer_names=work.customer_names,
                        on_payments=on_payments,
                        pull=on_payments is not None,
                    )
                    passes += 1
                except SyncBusyError as exc:
                    _log.info("accounting sync pass skipped: %s", exc)
                except Exception:
                    passes += 1
                    _log.exception("accounting sync pass failed; the next one runs on schedule")
            elapsed = (self._clock() - started).total_seconds()
            stop_event.wait(max(0.0, seconds - elapsed))
        return passes

    def _record_failed_pass(self, exc: BaseException) -> None:
        try:
            run_id = self.store.start_run(RUN_KIND, self._b, tenant=self.tenant)
            self.store.finish_run(
                run_id, status="failed", errors=[RunError.from_exception("sync source", exc)]
            )
        except ErpSyncError:
            _log.exception("could not record the failed pass in the run log")

    # -- plumbing ---------------------------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        if not self._thread_lock.acquire(blocking=False):
            raise SyncBusyError(
                "an accounting sync pass is already running in this process",
                backend=self._b,
                record=self.lock_name,
            )
        try:
            if not self.store.lock(self.lock_name, self.owner, self.lock_ttl):
                raise SyncBusyError(
                    "an accounting sync pass is already running elsewhere",
                    backend=self._b,
                    record=self.lock_name,
                    hint="wait for it to finish; a dead holder's lock expires after lock_ttl",
                )
            self._lock_renewed_at = self._clock()
            try:
                yield
            finally:
                self._lock_renewed_at = None
                self.store.unlock(self.lock_name, self.owner)
        finally:
            self._thread_lock.release()

    def _renew_lock(self) -> None:
        """Keep the pass lock alive during a long pass (only while a pass holds it).

        If the lock expired and another process took it, this pass stops here rather
        than go on overlapping the new holder's pass.
        """
        renewed = self._lock_renewed_at
        if renewed is None:
            return
        now = self._clock()
        if (now - renewed).total_seconds() >= self.lock_ttl / 3:
            if not self.store.lock(self.lock_name, self.owner, self.lock_ttl):
                self._lock_renewed_at = None
                raise SyncBusyError(
                    "the accounting sync pass lost its lock to another pass; it stops here",
                    backend=self._b,
                    record=self.lock_name,
                    hint="raise lock_ttl above the longest gap between records in a pass",
                )
            self._lock_renewed_at = now

    def _write(
        self,
        record_type: str,
        key: str,
        *,
        find: Callable[[], W | None],
        create: Callable[[], W],
        update: Callable[[str], W] | None = None,
        content_hash: str | None = None,
    ) -> WriteOutcome[W]:
        """One record's exactly-once write (:func:`~erpsync.sync._common.write_once`),
        keyed in the ledger and in the ERP by the same external id."""
        return write_once(
            self.store,
            LedgerTarget(self._b, record_type, key, key, self.tenant),
            owner=self.owner,
            lease_seconds=self.lease_seconds,
            find=find,
            create=create,
            update=update,
            identify=_identity,
            content_hash=content_hash,
        )


# -- customers ----------------------------------------------------------------------------


class _CustomerMatcher:
    """Finds (or creates) the ERP customer for a local customer name, once per name."""

    def __init__(self, sync: AccountingSync, report: CustomerMatchReport) -> None:
        self._sync = sync
        self._report = report
        self._known: dict[str, Ref | ErpSyncError] = {}

    def match(self, name: str, currency: str) -> Ref:
        if name not in self._known:
            self._known[name] = self._resolve(name, currency)
        result = self._known[name]
        if isinstance(result, ErpSyncError):
            raise result
        return result

    def _resolve(self, name: str, currency: str) -> Ref | ErpSyncError:
        backend, report = self._sync.backend, self._report
        try:
            found = backend.find_customer(name)
        except AmbiguousMatchError as exc:
            ids = [str(getattr(c, "id", "?")) for c in exc.candidates]
            report.ambiguous[name] = ids
            return MappingError(
                f"{len(ids)} {backend.name} customers are named {name!r} (ids {', '.join(ids)})",
                hint="rename all but one in the ERP, or merge them",
            )
        except ErpSyncError as exc:
            report.errors[name] = str(exc)
            return exc
        if found is not None and found.id is not None:
            report.matched[name] = found.id
            return Ref(id=found.id, name=found.name)
        if not self._sync.create_missing_customers:
            report.missing.append(name)
            return MappingError(
                f"no {backend.name} customer is named {name!r}",
                hint="create it in the ERP, or enable create_missing_customers",
            )
        try:
            created = self._create(name, currency)
        except ErpSyncError as exc:
            report.errors[name] = str(exc)
            return exc
        report.created[name] = created.id
        return created

    def _create(self, name: str, currency: str) -> Ref:
        sync = self._sync
        external_id = "cust-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
        outcome = write_once(
            sync.store,
            LedgerTarget(sync.backend.name, _CUSTOMER, name, external_id, sync.tenant),
            owner=sync.owner,
            lease_seconds=sync.lease_seconds,
            find=lambda: sync.backend.find_customer(name),
            create=lambda: sync.backend.create_customer(
                Customer(name=name, external_id=external_id, currency=currency)
            ),
            identify=_identity,
        )
        if outcome.remote_id is None:
            raise ConflictError(
                f"another sync is creating customer {name!r} now", backend=sync.backend.name
            )
        return Ref(id=outcome.remote_id, name=outcome.record.name if outcome.record else name)


# -- helpers ------------------------------------------------------------------------------


def _copy(model: T, **changes: Any) -> T:
    """A validated copy; a model the ERP would refuse becomes a MappingError here.

    (``model_copy(update=...)`` does not validate, so the copy is rebuilt from its data.)
    """
    try:
        return type(model).model_validate({**dict(model), **changes})
    except ValidationError as exc:
        raise MappingError(f"cannot prepare the document for the ERP: {exc}") from None


def _id_of(record: Invoice | Payment | Customer) -> str:
    if record.id is None:
        raise MappingError(f"the ERP returned a {type(record).__name__.lower()} without an id")
    return record.id


def _identity(record: Invoice | Payment | Customer) -> tuple[str, str | None]:
    """``(ERP id, document number)`` of a written record, for the ledger."""
    return _id_of(record), getattr(record, "number", None)


def _run_counts(
    invoices: PushReport, payments: PaymentReport, pulled: ImportBatch[Payment] | None
) -> dict[str, int]:
    counts = {f"invoices_{name}": value for name, value in invoices.counts.items()}
    counts.update({f"payments_{name}": value for name, value in payments.counts.items()})
    counts["payments_pulled"] = len(pulled) if pulled is not None else 0
    counts["customers_created"] = len(invoices.customers.created)
    return counts


def _run_errors(invoices: PushReport, payments: PaymentReport) -> list[RunError]:
    errors = [RunError(f"invoice {n}", reason) for n, reason in invoices.failed]
    errors += [
        RunError(f"invoice {n}", reason, "manual_action") for n, reason in invoices.needs_action
    ]
    errors += [RunError(f"payment {n}", reason) for n, reason in payments.failed]
    return errors
