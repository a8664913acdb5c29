"""Marketplace-job invoicing: one invoice per job, one payment per payout, exactly once.

The workflow behind a marketplace's accounting integration (seeds 000 and 001), on any
:class:`~erpsync.backend.AccountingBackend`:

* :meth:`XometryInvoicing.on_job_accepted` / :meth:`~XometryInvoicing.on_job_completed`
  create a job's invoice when the event is the policy's trigger, and skip it otherwise.
* :meth:`~XometryInvoicing.on_payout` creates the payout's payment, applied to the
  invoices of all its jobs (found through the ledger).
* :meth:`~XometryInvoicing.backfill` invoices jobs accepted or completed before the
  integration was set up, with a dry run that lists what would be created.
* :meth:`~XometryInvoicing.create_inhouse_invoice` is the manual invoice for a job that
  did not come from the marketplace, for a customer given by ERP id or by name, and
  returns the invoice number and its PDF.
* :meth:`~XometryInvoicing.drift_report` lists jobs canceled or re-priced after their
  invoice was created. Nothing is ever deleted or voided in the ERP (the marketplace's
  own rule: "We do not want to delete records from your ... system"); ``apply=True``
  only corrects the price of an unpaid invoice.

Exactly once. Every write goes through :func:`erpsync.sync._common.write_once`: a ledger
claim in the :class:`~erpsync.store.SyncStore` (one writer per job, across threads and
processes), a look-up by external id when an earlier attempt may have reached the ERP,
an idempotent create under the external id (``xometry-job-<id>``,
``xometry-payout-<id>``), then the ledger entry. A duplicate event, two workers racing,
a lost response, or a crash between the ERP's answer and the ledger write all end with
one record. Ledger entries are keyed ``(ledger_name, record_type, source id)`` with
record types :data:`INVOICE_RECORD` (job id), :data:`PAYMENT_RECORD` (payout id) and
:data:`INHOUSE_RECORD` (the caller's external id), within a tenant: ``ledger_name``
defaults to the backend's name and ``tenant`` to the backend's tenant (QuickBooks realm,
NetSuite account), so several companies of one ERP can share a store.

What is kept locally: ERP ids, document numbers and content hashes, never customer
details (the ERP fills those in from the customer id).

PDFs. QuickBooks renders invoice PDFs; NetSuite needs a deployed RESTlet
(``NetSuiteBackend(pdf_restlet=...)``). The invoice matters more than its PDF, so a
backend that cannot render one, or fails to, still returns the created invoice, with
``pdf=None`` and ``pdf_note`` saying why (the PDF can be fetched later with
``backend.invoice_pdf(invoice_id)``; the marketplace notes it may take a while).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeAlias, TypeVar

from pydantic import ValidationError

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError, ErpSyncError, MappingError, NotFoundError
from erpsync.mapping.xometry import (
    InvoicePolicy,
    JobStatus,
    XometryJob,
    XometryPayout,
    invoice_external_id,
    invoice_for_job,
    payment_external_id,
    payment_for_payout,
)
from erpsync.models import Invoice, InvoiceLine, InvoiceStatus, Payment, Ref
from erpsync.store import RunError, SyncStore, content_hash, make_owner
from erpsync.sync._common import (
    LedgerTarget,
    WriteOutcome,
    WriteStatus,
    resolve_tenant,
    write_once,
)

__all__ = [
    "INHOUSE_RECORD",
    "INVOICE_RECORD",
    "PAYMENT_RECORD",
    "BackfillEntry",
    "BackfillReport",
    "Drift",
    "InhouseInvoiceResult",
    "JobInvoiceResult",
    "LineSpec",
    "PayoutPaymentResult",
    "XometryInvoicing",
]

_R = TypeVar("_R", Invoice, Payment)

#: Ledger record types.
INVOICE_RECORD = "xometry_invoice"
PAYMENT_RECORD = "xometry_payment"
INHOUSE_RECORD = "inhouse_invoice"

#: ``created`` now; ``existed`` (an earlier call or attempt wrote it); ``skipped`` (the
#: event is not the policy's trigger, or the job is canceled); ``in_progress`` (another
#: worker holds the job's claim and did not finish within the wait).
OutcomeStatus: TypeAlias = Literal["created", "existed", "skipped", "in_progress"]
BackfillOutcome: TypeAlias = Literal[
    "created", "existed", "skipped", "would_create", "failed", "in_progress"
]
DriftKind: TypeAlias = Literal["canceled", "repriced", "missing"]

#: A line for :meth:`XometryInvoicing.create_inhouse_invoice`: a model line, or
#: ``(description, amount)`` / ``(description, amount, item)``.
LineSpec: TypeAlias = (
    InvoiceLine | tuple[str, Decimal | str | int] | tuple[str, Decimal | str | int, Ref | None]
)


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobInvoiceResult:
    """What happened to one job's invoice. ``invoice`` is present when this call saw the
    ERP record (created or looked up), absent when the ledger alone answered."""

    job_id: str
    status: OutcomeStatus
    external_id: str
    invoice_id: str | None = None
    number: str | None = None
    invoice: Invoice | None = None
    reason: str | None = None

    @property
    def created(self) -> bool:
        return self.status == "created"


@dataclass(frozen=True)
class PayoutPaymentResult:
    """What happened to one payout's payment."""

    payout_id: str
    status: Literal["created", "existed", "in_progress"]
    external_id: str
    payment_id: str | None = None
    payment: Payment | None = None
    invoice_ids: tuple[str, ...] = ()

    @property
    def created(self) -> bool:
        return self.status == "created"


@dataclass(frozen=True)
class BackfillEntry:
    """One job of a backfill. ``invoice`` is the invoice that would be created (dry run)
    or the ERP's record; ``error`` why it failed."""

    job_id: str
    outcome: BackfillOutcome
    invoice_id: str | None = None
    number: str | None = None
    reason: str | None = None
    invoice: Invoice | None = None
    error: ErpSyncError | None = None


@dataclass(frozen=True)
class BackfillReport:
    """Every job of a backfill, in input order; ``run_id`` is the run-log id (None for a
    dry run, which writes nothing, not even the run log)."""

    dry_run: bool
    entries: tuple[BackfillEntry, ...]
    run_id: int | None = None

    def _with(self, outcome: BackfillOutcome) -> list[BackfillEntry]:
        return [entry for entry in self.entries if entry.outcome == outcome]

    @property
    def created(self) -> list[BackfillEntry]:
        return self._with("created")

    @property
    def existed(self) -> list[BackfillEntry]:
        return self._with("existed")

    @property
    def skipped(self) -> list[BackfillEntry]:
        return self._with("skipped")

    @property
    def would_create(self) -> list[BackfillEntry]:
        return self._with("would_create")

    @property
    def failed(self) -> list[BackfillEntry]:
        return self._with("failed")

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        return counts


@dataclass(frozen=True)
class InhouseInvoiceResult:
    """A manual invoice: the ERP's record, its number and its PDF (None, with
    ``pdf_note`` saying why, when the backend could not render it)."""

    invoice: Invoice
    number: str | None
    pdf: bytes | None = field(default=None, repr=False)
    pdf_note: str | None = None
    status: Literal["created", "existed"] = "created"


@dataclass(frozen=True)
class Drift:
    """A job whose invoice no longer matches it. ``old_price`` is what the invoice
    charges (its lines, before tax), ``new_price`` the job's price now. ``applied`` says
    whether ``drift_report(apply=True)`` corrected the ERP; ``note`` what a person must
    do otherwise."""

    job_id: str
    kind: DriftKind
    invoice_id: str
    number: str | None
    old_price: Decimal | None
    new_price: Decimal | None
    applied: bool = False
    note: str | None = None


# -- the workflow -------------------------------------------------------------------------


class XometryInvoicing:
    """Invoices and payments for marketplace jobs on one ERP company.

    ``owner`` identifies this worker in ledger claims (default: host, pid and a random
    tag); ``lease_seconds`` is how long a claim protects a write before another worker
    may assume the writer died. A call that finds a job claimed by another worker waits
    up to ``wait_seconds`` (polling every ``poll_interval``) for it to finish, then
    reports ``in_progress``. ``sleep``, ``monotonic`` and ``today`` are injectable.
    """

    def __init__(
        self,
        backend: AccountingBackend,
        policy: InvoicePolicy,
        store: SyncStore,
        *,
        owner: str | None = None,
        lease_seconds: float = 300.0,
        ledger_name: str | None = None,
        tenant: str | None = None,
        wait_seconds: float = 30.0,
        poll_interval: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        today: Callable[[], _dt.date] = _dt.date.today,
    ) -> None:
        if not isinstance(backend, AccountingBackend):
            raise ConfigurationError("backend must be an AccountingBackend")
        if not isinstance(policy, InvoicePolicy):
            raise ConfigurationError("policy must be an erpsync.mapping.xometry.InvoicePolicy")
        if not isinstance(store, SyncStore):
            raise ConfigurationError("store must be a SyncStore")
        if not lease_seconds > 0 or wait_seconds < 0 or not poll_interval > 0:
            raise ConfigurationError(
                "lease_seconds and poll_interval must be positive, wait_seconds >= 0"
            )
        self.backend = backend
        self.policy = policy
        self.store = store
        self.owner = owner or make_owner("xometry")
        self.lease_seconds = lease_seconds
        self.ledger_name = ledger_name or backend.name
        self.tenant = resolve_tenant(backend, tenant)
        self.wait_seconds = wait_seconds
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._monotonic = monotonic
        self._today = today

    def __repr__(self) -> str:
        return (
            f"XometryInvoicing(backend={self.backend.name!r}, trigger={self.policy.trigger!r}, "
            f"ledger_name={self.ledger_name!r}, tenant={self.tenant!r})"
        )

    # -- job events ------------------------------------------------------------------------

    def on_job_accepted(self, job: XometryJob) -> JobInvoiceResult:
        """The job was accepted from the job board: invoice it if the policy says so."""
        return self._on_event(job, "accepted")

    def on_job_completed(self, job: XometryJob) -> JobInvoiceResult:
        """The job was completed (shipped): invoice it if the policy says so."""
        return self._on_event(job, "completed")

    def _on_event(
        self, job: XometryJob, event: Literal["accepted", "completed"]
    ) -> JobInvoiceResult:
        external_id = invoice_external_id(job.job_id)
        if self.policy.trigger != event:
            return JobInvoiceResult(
                job.job_id,
                "skipped",
                external_id,
                reason=f"invoices are created when a job is {self.policy.trigger}, not {event}",
            )
        if job.status is JobStatus.CANCELED:
            return JobInvoiceResult(
                job.job_id, "skipped", external_id, reason="the job is canceled"
            )
        return self._invoice_job(job)

    def _invoice_job(self, job: XometryJob, *, lookup_first: bool = False) -> JobInvoiceResult:
        invoice = invoice_for_job(job, self.policy)  # mapping errors before any claim
        assert invoice.external_id is not None
        outcome = self._write(
            INVOICE_RECORD,
            job.job_id,
            invoice.external_id,
            find=lambda: self.backend.find_invoice(invoice.external_id or ""),
            create=lambda: self.backend.create_invoice(invoice),
            identify=_invoice_identity,
            digest=content_hash(invoice),
            lookup_first=lookup_first,
        )
        return JobInvoiceResult(
            job.job_id,
            _create_status(outcome.status),
            invoice.external_id,
            invoice_id=outcome.remote_id,
            number=outcome.number,
            invoice=outcome.record,
            reason="another worker is creating this invoice"
            if outcome.status == "in_progress"
            else None,
        )

    # -- payouts ---------------------------------------------------------------------------

    def on_payout(self, payout: XometryPayout) -> PayoutPaymentResult:
        """Create the payout's payment, applied in full to the invoices of its jobs.

        Raises MappingError when a job has no invoice in the ledger (naming the jobs) or
        the payout amount differs from what the invoices owe (both figures).
        """
        external_id = payment_external_id(payout.payout_id)
        done = self.store.get(
            self.ledger_name, PAYMENT_RECORD, payout.payout_id, tenant=self.tenant
        )
        if done is not None and done.state == "written" and done.remote_id is not None:
            return PayoutPaymentResult(
                payout.payout_id, "existed", external_id, payment_id=done.remote_id
            )
        invoice_ids = self._invoice_ids(payout)

        def create() -> Payment:
            invoices = {job: self.backend.get_invoice(rid) for job, rid in invoice_ids.items()}
            return self.backend.create_payment(payment_for_payout(payout, invoices))

        outcome = self._write(
            PAYMENT_RECORD,
            payout.payout_id,
            external_id,
            find=lambda: self.backend.find_payment(external_id),
            create=create,
            identify=_payment_identity,
            digest=content_hash(payout),
        )
        if outcome.status == "in_progress":
            return PayoutPaymentResult(payout.payout_id, "in_progress", external_id)
        return PayoutPaymentResult(
            payout.payout_id,
            _create_status(outcome.status),
            external_id,
            payment_id=outcome.remote_id,
            payment=outcome.record,
            invoice_ids=tuple(invoice_ids[job] for job in payout.job_ids),
        )

    def _invoice_ids(self, payout: XometryPayout) -> dict[str, str]:
        found: dict[str, str] = {}
        missing: list[str] = []
        for job in payout.job_ids:
            entry = self.store.get(self.ledger_name, INVOICE_RECORD, job, tenant=self.tenant)
            if entry is None or entry.state != "written" or entry.remote_id is None:
                missing.append(job)
            else:
                found[job] = entry.remote_id
        if missing:
            raise MappingError(
                f"no invoice was created for job(s) {', '.join(missing)}",
                record=f"Xometry payout {payout.payout_id}",
                hint="invoice those jobs (backfill) before recording the payout",
            )
        return found

    # -- backfill --------------------------------------------------------------------------

    def backfill(self, jobs: Iterable[XometryJob], *, dry_run: bool = False) -> BackfillReport:
        """Invoice jobs accepted or completed (per the policy's trigger) before the
        integration was set up. Jobs already in the ledger, canceled, or not yet at the
        trigger are skipped; each remaining job is first looked up in the ERP by
        external id, so invoices made before the ledger existed are adopted, not
        duplicated. A failure is reported and the rest go on.

        ``dry_run`` writes nothing (no ERP write, no ledger entry, no run log) and lists
        the invoices that would be created.
        """
        entries: list[BackfillEntry] = []
        run_id = (
            None
            if dry_run
            else self.store.start_run("xometry_backfill", self.ledger_name, tenant=self.tenant)
        )
        try:
            for job in jobs:
                entries.append(self._backfill_one(job, dry_run))
        finally:
            if run_id is not None:
                self._finish_run(run_id, entries)
        return BackfillReport(dry_run, tuple(entries), run_id)

    def _backfill_one(self, job: XometryJob, dry_run: bool) -> BackfillEntry:
        reason = self._not_eligible(job)
        if reason is not None:
            return BackfillEntry(job.job_id, "skipped", reason=reason)
        entry = self.store.get(self.ledger_name, INVOICE_RECORD, job.job_id, tenant=self.tenant)
        if entry is not None and entry.state == "written":
            return BackfillEntry(
                job.job_id,
                "skipped",
                invoice_id=entry.remote_id,
                number=entry.number,
                reason="already invoiced",
            )
        try:
            if dry_run:
                return self._preview(job)
            result = self._invoice_job(job, lookup_first=True)
        except ErpSyncError as exc:
            return BackfillEntry(job.job_id, "failed", reason=str(exc), error=exc)
        return BackfillEntry(
            job.job_id,
            result.status,
            invoice_id=result.invoice_id,
            number=result.number,
            invoice=result.invoice,
            reason=result.reason,
        )

    def _preview(self, job: XometryJob) -> BackfillEntry:
        invoice = invoice_for_job(job, self.policy)
        existing = self.backend.find_invoice(invoice.external_id or "")
        if existing is not None:
            return BackfillEntry(
                job.job_id,
                "skipped",
                invoice_id=existing.id,
                number=existing.number,
                invoice=existing,
                reason="already in the ERP (not yet in the ledger; a real run adopts it)",
            )
        return BackfillEntry(job.job_id, "would_create", invoice=invoice)

    def _not_eligible(self, job: XometryJob) -> str | None:
        if job.status is JobStatus.CANCELED:
            return "the job is canceled"
        if job.status is JobStatus.UNKNOWN:
            return f"unknown job status {job.raw_status!r}"
        if self.policy.trigger == "completed" and job.status is not JobStatus.COMPLETED:
            return "the job is not completed yet (invoices are created on completion)"
        return None

    def _finish_run(self, run_id: int, entries: Sequence[BackfillEntry]) -> None:
        counts: dict[str, int] = {}
        for entry in entries:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        errors = [
            RunError.from_exception(f"Xometry job {e.job_id}", e.error)
            for e in entries
            if e.error is not None
        ]
        failed = counts.get("failed", 0)
        status: Literal["ok", "partial", "failed"] = (
            "ok" if not failed else "failed" if failed == len(entries) else "partial"
        )
        self.store.finish_run(run_id, status=status, counts=counts, errors=errors)

    # -- in-house invoices -----------------------------------------------------------------

    def create_inhouse_invoice(
        self,
        customer: Ref | str,
        lines: Sequence[LineSpec],
        *,
        date: _dt.date | None = None,
        memo: str | None = None,
        external_id: str | None = None,
        item: Ref | None = None,
        currency: str | None = None,
    ) -> InhouseInvoiceResult:
        """A manual invoice for a job that did not come from the marketplace.

        ``customer`` is the ERP customer's id (a :class:`Ref`) or its display name,
        looked up in the ERP (none: MappingError; several: AmbiguousMatchError with the
        candidates, never a guess). ``lines`` are model lines or ``(description,
        amount[, item])`` tuples, whose item defaults to ``item``, then the policy's
        item. ``date`` defaults to today. With ``external_id`` the invoice is created
        exactly once (ledger + ERP external id); without one every call creates a new
        invoice, as a person clicking "Create" twice would.
        """
        customer_ref = self._customer_ref(customer)
        invoice = self._inhouse_invoice(
            customer_ref,
            lines,
            date=date,
            memo=memo,
            external_id=external_id,
            item=item,
            currency=currency,
        )
        status: Literal["created", "existed"] = "created"
        if external_id is None:
            written = self.backend.create_invoice(invoice)
        else:
            outcome = self._write(
                INHOUSE_RECORD,
                external_id,
                external_id,
                find=lambda: self.backend.find_invoice(external_id),
                create=lambda: self.backend.create_invoice(invoice),
                identify=_invoice_identity,
                digest=content_hash(invoice),
            )
            if outcome.status == "in_progress" or outcome.remote_id is None:
                raise ErpSyncError(
                    "another worker is creating this invoice; try again shortly",
                    backend=self.backend.name,
                    record=f"invoice {external_id}",
                )
            status = "existed" if outcome.status == "existed" else "created"
            written = outcome.record or self.backend.get_invoice(outcome.remote_id)
        assert written.id is not None
        pdf, note = self._pdf(written.id)
        return InhouseInvoiceResult(written, written.number, pdf, note, status)

    def _customer_ref(self, customer: Ref | str) -> Ref:
        if isinstance(customer, Ref):
            return customer
        if not isinstance(customer, str) or not customer.strip():
            raise ConfigurationError("customer must be a Ref (ERP id) or a customer name")
        found = self.backend.find_customer(customer)  # AmbiguousMatchError propagates
        if found is None or found.id is None:
            raise MappingError(
                "no customer has this name",
                backend=self.backend.name,
                record=f"customer {customer!r}",
                hint="check the spelling, or pass Ref(id=...) with the ERP customer id",
            )
        return Ref(id=found.id, name=found.name)

    def _inhouse_invoice(
        self,
        customer: Ref,
        lines: Sequence[LineSpec],
        *,
        date: _dt.date | None,
        memo: str | None,
        external_id: str | None,
        item: Ref | None,
        currency: str | None,
    ) -> Invoice:
        default_item = item if item is not None else self.policy.item
        if isinstance(lines, str | bytes) or not lines:
            raise ConfigurationError("an in-house invoice needs at least one line")
        try:
            built = [_line(spec, default_item) for spec in lines]
            return Invoice(
                external_id=external_id,
                customer=customer,
                date=date or self._today(),
                currency=currency or self.policy.currency,
                lines=built,
                memo=memo,
            )
        except ValidationError as exc:
            raise ConfigurationError(
                f"the in-house invoice is not valid: {_first_error(exc)}"
            ) from exc

    def _pdf(self, invoice_id: str) -> tuple[bytes | None, str | None]:
        if not self.backend.capabilities.invoice_pdf:
            return None, (
                f"{self.backend.name} cannot render invoice PDFs with this configuration "
                "(NetSuite needs a PDF RESTlet: NetSuiteBackend(pdf_restlet=...))"
            )
        try:
            return self.backend.invoice_pdf(invoice_id), None
        except ErpSyncError as exc:
            return None, (
                f"the invoice was created but its PDF is not available yet: {exc}; "
                f"fetch it later with backend.invoice_pdf({invoice_id!r})"
            )

    # -- drift -----------------------------------------------------------------------------

    def drift_report(self, jobs: Iterable[XometryJob], *, apply: bool = False) -> list[Drift]:
        """Jobs canceled or re-priced after their invoice was created, with the invoice
        to fix. The ERP's current invoice is compared, so a fix already made by hand is
        not reported again. Jobs without an invoice in the ledger are not drift.

        Nothing is deleted or voided. With ``apply=True`` a re-priced job's invoice is
        updated to the new price when it is still a single-line, unpaid invoice; a
        canceled job's invoice is never touched (a person voids or deletes it).
        """
        drifts: list[Drift] = []
        for job in jobs:
            drift = self._drift(job)
            if drift is None:
                continue
            if apply and drift.kind == "repriced":
                drift = self._apply_price(job, drift)
            drifts.append(drift)
        return drifts

    def _drift(self, job: XometryJob) -> Drift | None:
        entry = self.store.get(self.ledger_name, INVOICE_RECORD, job.job_id, tenant=self.tenant)
        if entry is None or entry.state != "written" or entry.remote_id is None:
            return None
        canceled = job.status is JobStatus.CANCELED
        try:
            invoice = self.backend.get_invoice(entry.remote_id)
        except NotFoundError:
            if canceled:
                return None  # the invoice was removed by hand: rectified
            return Drift(
                job.job_id,
                "missing",
                entry.remote_id,
                entry.number,
                None,
                job.price,
                note="the invoice recorded for this job no longer exists in the ERP",
            )
        old = _line_total(invoice)
        if canceled:
            if invoice.status is InvoiceStatus.VOIDED:
                return None
            return Drift(
                job.job_id,
                "canceled",
                entry.remote_id,
                invoice.number or entry.number,
                old,
                None,
                note="the job was canceled: void or delete the invoice in the ERP "
                "(erpsync never deletes records)",
            )
        if old == job.price:
            return None
        return Drift(
            job.job_id,
            "repriced",
            entry.remote_id,
            invoice.number or entry.number,
            old,
            job.price,
            note="update the invoice's price in the ERP",
        )

    def _apply_price(self, job: XometryJob, drift: Drift) -> Drift:
        invoice = self.backend.get_invoice(drift.invoice_id)
        paid = invoice.balance is not None and invoice.balance != invoice.total
        if invoice.status is not InvoiceStatus.OPEN or paid:
            return _noted(drift, "not updated: the invoice is not open and unpaid")
        if len(invoice.lines) != 1:
            return _noted(drift, "not updated: the invoice no longer has a single line")
        line = invoice.lines[0]
        try:
            updated = invoice.model_copy(
                update={
                    "lines": [
                        line.model_copy(
                            update={
                                "amount": job.price,
                                "quantity": Decimal(1),
                                "unit_price": job.price,
                            }
                        )
                    ],
                    "tax": Decimal(0),  # the ERP recomputes tax from the line's code
                    "balance": None,
                }
            )
        except ValidationError as exc:
            return _noted(drift, f"not updated: {_first_error(exc)}")
        try:
            self.backend.update_invoice(updated)
        except ErpSyncError as exc:
            return _noted(drift, f"not updated: {exc}")
        return Drift(
            drift.job_id,
            drift.kind,
            drift.invoice_id,
            drift.number,
            drift.old_price,
            drift.new_price,
            applied=True,
            note="the invoice's price was updated",
        )

    # -- plumbing --------------------------------------------------------------------------

    def _write(
        self,
        record_type: str,
        source_key: str,
        external_id: str,
        *,
        find: Callable[[], _R | None],
        create: Callable[[], _R],
        identify: Callable[[_R], tuple[str, str | None]],
        digest: str,
        lookup_first: bool = False,
    ) -> WriteOutcome[_R]:
        return write_once(
            self.store,
            LedgerTarget(self.ledger_name, record_type, source_key, external_id, self.tenant),
            owner=self.owner,
            lease_seconds=self.lease_seconds,
            find=find,
            create=create,
            identify=identify,
            content_hash=digest,
            lookup_first=lookup_first,
            wait_seconds=self.wait_seconds,
            poll_interval=self.poll_interval,
            sleep=self._sleep,
            monotonic=self._monotonic,
        )


# -- helpers ------------------------------------------------------------------------------


def _create_status(status: WriteStatus) -> Literal["created", "existed", "in_progress"]:
    """A create-only :func:`write_once` (no ``update``) never updates anything."""
    if status == "created" or status == "existed" or status == "in_progress":
        return status
    raise AssertionError(f"a create-only write reported {status!r}")


def _invoice_identity(record: Invoice) -> tuple[str, str | None]:
    if record.id is None:
        raise ErpSyncError("the ERP returned the invoice without an id")
    return record.id, record.number


def _payment_identity(record: Payment) -> tuple[str, str | None]:
    if record.id is None:
        raise ErpSyncError("the ERP returned the payment without an id")
    return record.id, None


def _line(spec: LineSpec, default_item: Ref | None) -> InvoiceLine:
    if isinstance(spec, InvoiceLine):
        return (
            spec
            if spec.item is not None or default_item is None
            else spec.model_copy(update={"item": default_item})
        )
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        item = spec[2] if len(spec) == 3 else None
        if item is not None and not isinstance(item, Ref):
            raise ConfigurationError(f"a line's item must be a Ref, not {item!r}")
        return InvoiceLine(
            description=spec[0], amount=spec[1], item=item if item is not None else default_item
        )
    raise ConfigurationError(
        f"a line is an InvoiceLine or a (description, amount[, item]) tuple, not {spec!r}"
    )


def _line_total(invoice: Invoice) -> Decimal:
    total = Decimal(0)
    for line in invoice.lines:
        total += line.amount or Decimal(0)
    return total


def _noted(drift: Drift, note: str) -> Drift:
    return Drift(
        drift.job_id,
        drift.kind,
        drift.invoice_id,
        drift.number,
        drift.old_price,
        drift.new_price,
        applied=False,
        note=note,
    )


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", ""))
    return f"{where}: {message}" if where else message
