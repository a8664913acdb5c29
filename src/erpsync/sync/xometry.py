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

Exactly once. Every write goes through the one ledger writer (:mod:`erpsync.sync.ledger`): a ledger
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
from typing import Literal

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError, ErpSyncError, MappingError
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
from erpsync.models import Payment, Ref
from erpsync.store import SyncStore, content_hash, make_owner
from erpsync.sync._xometry_documents import (
    apply_price,
    customer_ref,
    drift_of,
    inhouse_invoice,
    invoice_pdf,
    not_eligible,
    preview,
)
from erpsync.sync._xometry_results import (
    BACKFILL_RUN_KIND,
    INHOUSE_RECORD,
    INVOICE_RECORD,
    PAYMENT_RECORD,
    BackfillEntry,
    BackfillReport,
    Drift,
    InhouseInvoiceResult,
    JobInvoiceResult,
    LineSpec,
    PayoutPaymentResult,
    backfill_outcome,
    create_status,
)
from erpsync.sync.ledger import Ledger, resolve_tenant
from erpsync.sync.runs import RunLog

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
        if reason := self.policy.skip_reason(job):
            return JobInvoiceResult(job.job_id, "skipped", external_id, reason=reason)
        return self._invoice_job(job)

    def _invoice_job(self, job: XometryJob, *, lookup_first: bool = False) -> JobInvoiceResult:
        invoice = invoice_for_job(job, self.policy)  # mapping errors before any claim
        assert invoice.external_id is not None
        outcome = self._ledger().write(
            INVOICE_RECORD,
            job.job_id,
            external_id=invoice.external_id,
            find=lambda: self.backend.find_invoice(invoice.external_id or ""),
            create=lambda: self.backend.create_invoice(invoice),
            content_hash=content_hash(invoice),
            lookup_first=lookup_first,
        )
        return JobInvoiceResult(
            job.job_id,
            create_status(outcome.status),
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
        done = self._ledger().written(PAYMENT_RECORD, payout.payout_id)
        if done is not None and done.remote_id is not None:
            return PayoutPaymentResult(
                payout.payout_id, "existed", external_id, payment_id=done.remote_id
            )
        invoice_ids = self._invoice_ids(payout)

        def create() -> Payment:
            invoices = {job: self.backend.get_invoice(rid) for job, rid in invoice_ids.items()}
            return self.backend.create_payment(payment_for_payout(payout, invoices))

        outcome = self._ledger().write(
            PAYMENT_RECORD,
            payout.payout_id,
            external_id=external_id,
            find=lambda: self.backend.find_payment(external_id),
            create=create,
            content_hash=content_hash(payout),
        )
        if outcome.status == "in_progress":
            return PayoutPaymentResult(payout.payout_id, "in_progress", external_id)
        return PayoutPaymentResult(
            payout.payout_id,
            create_status(outcome.status),
            external_id,
            payment_id=outcome.remote_id,
            payment=outcome.record,
            invoice_ids=tuple(invoice_ids[job] for job in payout.job_ids),
        )

    def _invoice_ids(self, payout: XometryPayout) -> dict[str, str]:
        found: dict[str, str] = {}
        missing: list[str] = []
        for job in payout.job_ids:
            entry = self._ledger().written(INVOICE_RECORD, job)
            if entry is None or entry.remote_id is None:
                missing.append(job)
            else:
                found[job] = entry.remote_id
        if missing:
            raise MappingError(
                f"no invoice was created for job(s) {', '.join(missing)}",
                record=f"Xometry payout {payout.payout_id}",
                hint="invoice those jobs (backfill) before recording the payout; a $0 job "
                "the policy skips (zero_total='skip') has no invoice: leave it out of the "
                "payout's jobs, or choose zero_total='invoice'",
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
        log = RunLog(self.store, BACKFILL_RUN_KIND, self.ledger_name, tenant=self.tenant)
        run_id = None if dry_run else log.start()
        try:
            for job in jobs:
                entries.append(self._backfill_one(job, dry_run))
        finally:
            if run_id is not None:
                counts, errors, status = backfill_outcome(entries)
                log.finish(run_id, counts=counts, errors=errors, status=status)
        return BackfillReport(dry_run, tuple(entries), run_id)

    def _backfill_one(self, job: XometryJob, dry_run: bool) -> BackfillEntry:
        reason = not_eligible(self.policy, job)
        if reason is not None:
            return BackfillEntry(job.job_id, "skipped", reason=reason)
        entry = self._ledger().written(INVOICE_RECORD, job.job_id)
        if entry is not None:
            return BackfillEntry(
                job.job_id,
                "skipped",
                invoice_id=entry.remote_id,
                number=entry.number,
                reason="already invoiced",
            )
        try:
            if dry_run:
                return preview(self.backend, self.policy, job)
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
        customer_ref_ = customer_ref(self.backend, customer)
        invoice = inhouse_invoice(
            self.policy,
            self._today,
            customer_ref_,
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
            outcome = self._ledger().write(
                INHOUSE_RECORD,
                external_id,
                find=lambda: self.backend.find_invoice(external_id),
                create=lambda: self.backend.create_invoice(invoice),
                content_hash=content_hash(invoice),
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
        pdf, note = invoice_pdf(self.backend, written.id)
        return InhouseInvoiceResult(written, written.number, pdf, note, status)

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
            entry = self._ledger().written(INVOICE_RECORD, job.job_id)
            drift = drift_of(self.backend, entry, job) if entry is not None else None
            if drift is None:
                continue
            if apply and drift.kind == "repriced":
                drift = apply_price(self.backend, job, drift)
            drifts.append(drift)
        return drifts

    # -- plumbing --------------------------------------------------------------------------

    def _ledger(self) -> Ledger:
        return Ledger(
            self.store, self.ledger_name, tenant=self.tenant, owner=self.owner,
            lease_seconds=self.lease_seconds, wait_seconds=self.wait_seconds,
            poll_interval=self.poll_interval, sleep=self._sleep, monotonic=self._monotonic,
        )  # fmt: skip
