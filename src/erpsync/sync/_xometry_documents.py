"""Documents of the marketplace invoicing (:mod:`erpsync.sync.xometry`) that are built
or checked rather than written once: in-house invoices (customer look-up, lines, PDF),
what a backfill would do, and the drift between a job and its invoice.

Kept apart from the workflow so that :class:`~erpsync.sync.xometry.XometryInvoicing`
holds the writes and this module the document rules.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal

from pydantic import ValidationError

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError, ErpSyncError, MappingError, NotFoundError
from erpsync.mapping.xometry import InvoicePolicy, JobStatus, XometryJob, invoice_for_job
from erpsync.models import Invoice, InvoiceLine, InvoiceStatus, Ref
from erpsync.store import LedgerEntry
from erpsync.sync._xometry_results import BackfillEntry, Drift, LineSpec

__all__ = [
    "apply_price",
    "customer_ref",
    "drift_of",
    "inhouse_invoice",
    "invoice_pdf",
    "not_eligible",
    "preview",
]


# -- in-house invoices ------------------------------------------------------------------


def customer_ref(backend: AccountingBackend, customer: Ref | str) -> Ref:
    """The ERP customer named by id (a Ref) or by display name (looked up, never guessed)."""
    if isinstance(customer, Ref):
        return customer
    if not isinstance(customer, str) or not customer.strip():
        raise ConfigurationError("customer must be a Ref (ERP id) or a customer name")
    found = backend.find_customer(customer)  # AmbiguousMatchError propagates
    if found is None or found.id is None:
        raise MappingError(
            "no customer has this name",
            backend=backend.name,
            record=f"customer {customer!r}",
            hint="check the spelling, or pass Ref(id=...) with the ERP customer id",
        )
    return Ref(id=found.id, name=found.name)


def inhouse_invoice(
    policy: InvoicePolicy,
    today: Callable[[], _dt.date],
    customer: Ref,
    lines: Sequence[LineSpec],
    *,
    date: _dt.date | None,
    memo: str | None,
    external_id: str | None,
    item: Ref | None,
    currency: str | None,
) -> Invoice:
    """The in-house invoice built from the caller's lines (ConfigurationError naming the
    first problem when it is not valid)."""
    default_item = item if item is not None else policy.item
    if isinstance(lines, str | bytes) or not lines:
        raise ConfigurationError("an in-house invoice needs at least one line")
    try:
        built = [_line(spec, default_item) for spec in lines]
        return Invoice(
            external_id=external_id,
            customer=customer,
            date=date or today(),
            currency=currency or policy.currency,
            lines=built,
            memo=memo,
        )
    except ValidationError as exc:
        raise ConfigurationError(f"the in-house invoice is not valid: {_first_error(exc)}") from exc


def invoice_pdf(backend: AccountingBackend, invoice_id: str) -> tuple[bytes | None, str | None]:
    """The invoice's PDF, or None and why (the invoice matters more than its PDF)."""
    if not backend.capabilities.invoice_pdf:
        return None, (
            f"{backend.name} cannot render invoice PDFs with this configuration "
            "(NetSuite needs a PDF RESTlet: NetSuiteBackend(pdf_restlet=...))"
        )
    try:
        return backend.invoice_pdf(invoice_id), None
    except ErpSyncError as exc:
        return None, (
            f"the invoice was created but its PDF is not available yet: {exc}; "
            f"fetch it later with backend.invoice_pdf({invoice_id!r})"
        )


# -- backfill ---------------------------------------------------------------------------


def preview(backend: AccountingBackend, policy: InvoicePolicy, job: XometryJob) -> BackfillEntry:
    """What a real backfill would do with an eligible job (a dry run: nothing written)."""
    invoice = invoice_for_job(job, policy)
    existing = backend.find_invoice(invoice.external_id or "")
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


def not_eligible(policy: InvoicePolicy, job: XometryJob) -> str | None:
    """Why a backfill skips the job, or None when it invoices it."""
    if job.status is JobStatus.CANCELED:
        return "the job is canceled"
    if job.status is JobStatus.UNKNOWN:
        return f"unknown job status {job.raw_status!r}"
    if policy.trigger == "completed" and job.status is not JobStatus.COMPLETED:
        return "the job is not completed yet (invoices are created on completion)"
    return policy.skip_reason(job)


# -- drift ------------------------------------------------------------------------------


def drift_of(backend: AccountingBackend, entry: LedgerEntry, job: XometryJob) -> Drift | None:
    """How the job's invoice (``entry``, written) drifted from the job, or None."""
    assert entry.remote_id is not None
    canceled = job.status is JobStatus.CANCELED
    try:
        invoice = backend.get_invoice(entry.remote_id)
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


def apply_price(backend: AccountingBackend, job: XometryJob, drift: Drift) -> Drift:
    """Correct a re-priced job's single-line, unpaid invoice; anything else is noted."""
    invoice = backend.get_invoice(drift.invoice_id)
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
        backend.update_invoice(updated)
    except ErpSyncError as exc:
        return _noted(drift, f"not updated: {exc}")
    return replace(drift, applied=True, note="the invoice's price was updated")


# -- helpers ----------------------------------------------------------------------------


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
    return replace(drift, applied=False, note=note)


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", ""))
    return f"{where}: {message}" if where else message
