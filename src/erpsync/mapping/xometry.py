"""Marketplace jobs (Xometry) as ERP documents: one invoice per job, one payment per payout.

Pure translation, no I/O: :mod:`erpsync.sync.xometry` decides *when* to write and makes
each write happen exactly once; this module decides *what* is written.

The rules, from the marketplace's integration notes (seeds 000 and 001):

* A job's price is the total for the job, not a per-part price, so its invoice has ONE
  line: quantity 1, amount = price. The line is attributed to the configured default
  product/service (:attr:`InvoicePolicy.item`, optional) and the invoice to the default
  customer (:attr:`InvoicePolicy.customer`). Only the ERP id of the customer is used:
  the ERP fills in addresses and contacts itself, nothing about the customer is kept.
* The invoice date depends on when invoices are generated: with trigger ``"accepted"``
  it is the job's expected ship date, with ``"completed"`` its actual ship date (a
  completed-trigger job without a ship date cannot be invoiced: MappingError).
* Tax. The recommended default rate is 0.00%. Neither ERP accepts a tax *amount* on an
  invoice (QuickBooks refuses it, NetSuite recomputes it): both compute tax from a tax
  *code* on each line. So a non-zero :attr:`InvoicePolicy.tax_rate` must come with the
  ERP tax code that has that rate (:attr:`InvoicePolicy.tax_code`), which goes on the
  line. The rate itself only predicts the total the ERP will compute
  (:meth:`InvoicePolicy.expected_total`: price + price x rate, rounded half-up); payouts
  are checked against the totals and balances the ERP actually reports. A zero rate may
  also name a code (a "non-taxable" code some tax setups require on every line).
* A $0 job (a no-charge remake, a sample, a price not filled in yet) is decided by
  :attr:`InvoicePolicy.zero_total`, because the ERPs would otherwise book a $0 invoice
  that is paid the moment it exists (balance 0) and no payout ever settles:

  - ``"error"`` (the default): :func:`invoice_for_job` raises MappingError naming the
    job. erpsync cannot tell a deliberate no-charge job from a missing price, and both
    a silent invoice and a silent gap surprise whoever reads the books, so a person
    decides (and then picks one of the two others).
  - ``"skip"``: no invoice; :meth:`InvoicePolicy.skip_reason` says why, for a workflow
    to report the job as skipped (as it does a canceled one).
  - ``"invoice"``: the $0 invoice is made (a job history kept in the ERP); a payout
    listing the job applies nothing to it.
* Every document gets a stable external id derived from the marketplace's own id
  (``xometry-job-<id>``, ``xometry-payout-<id>``; ids with characters outside the
  external-id alphabet go through :func:`~erpsync.models.encode_external_id`), which is
  what makes a retried write land on the same record.
* A payout's payment is applied in full to every invoice of the payout. A payout whose
  amount differs from what those invoices still owe is an error carrying both figures:
  a fee, a short payment or a missing job must be looked at by a person, never absorbed
  into an unapplied credit.

Over ~400 lines only through its docstrings (about 360 of code): the marketplace's
rules are written down here, next to the code that follows them.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from erpsync.errors import ConfigurationError, MappingError
from erpsync.models import (
    Currency,
    Invoice,
    InvoiceLine,
    Money,
    Payment,
    PaymentApplication,
    Quantity,
    Ref,
    currency_exponent,
    decode_external_id,
    encode_external_id,
    round_money,
)

__all__ = [
    "InvoicePolicy",
    "JobStatus",
    "Trigger",
    "XometryJob",
    "XometryPayout",
    "ZeroTotal",
    "amount_due",
    "invoice_external_id",
    "invoice_for_job",
    "payment_external_id",
    "payment_for_payout",
]

#: What a $0 job becomes: see the module docstring.
ZeroTotal = Literal["error", "skip", "invoice"]

#: When a job's invoice is generated: on acceptance from the job board, or on completion
#: (shipping).
Trigger = Literal["accepted", "completed"]

_JOB_PREFIX = "xometry-job-"
_PAYOUT_PREFIX = "xometry-payout-"


class JobStatus(StrEnum):
    """Where a marketplace job stands. Open: a value not listed becomes ``UNKNOWN`` and
    the original text is kept in :attr:`XometryJob.raw_status`.

    ``"shipped"`` and ``"complete"`` are read as COMPLETED, ``"cancelled"`` as CANCELED,
    case and spacing ignored.
    """

    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"


_NOT_LETTERS = re.compile("[^a-z]")
_STATUS_ALIASES: dict[str, JobStatus] = {
    "accepted": JobStatus.ACCEPTED,
    "completed": JobStatus.COMPLETED,
    "complete": JobStatus.COMPLETED,
    "shipped": JobStatus.COMPLETED,
    "canceled": JobStatus.CANCELED,
    "cancelled": JobStatus.CANCELED,
}


def _source_id(value: object) -> str:
    """Marketplace ids arrive as strings or integers; keep them as non-blank text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an id must be a non-blank str or an int")
    return value.strip()


_SourceId = Annotated[str, BeforeValidator(_source_id)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class XometryJob(_Frozen):
    """A job as the marketplace reports it. ``price`` is the job's total in USD."""

    job_id: _SourceId
    price: Money = Field(ge=0)
    accepted_date: _dt.date
    expected_ship_date: _dt.date
    ship_date: _dt.date | None = None
    status: JobStatus
    raw_status: str | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _open_status(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return data
        raw = data["status"]
        if isinstance(raw, JobStatus):
            return data
        data = dict(data)
        known = _STATUS_ALIASES.get(_NOT_LETTERS.sub("", raw.lower()))
        if known is None:
            data["status"] = JobStatus.UNKNOWN
            data.setdefault("raw_status", raw)
        else:
            data["status"] = known
        return data

    @field_validator("price")
    @classmethod
    def _usd(cls, price: Decimal) -> Decimal:
        # Jobs are priced in USD; more than cents is a data error, not something to round.
        if price != round_money(price, "USD"):
            raise ValueError(f"{price} has more decimal places than USD allows (2)")
        return price


class XometryPayout(_Frozen):
    """A marketplace payout: one transfer settling the listed jobs."""

    payout_id: _SourceId
    date: _dt.date
    amount: Money = Field(gt=0)
    job_ids: tuple[_SourceId, ...] = Field(min_length=1)

    @field_validator("job_ids")
    @classmethod
    def _unique(cls, job_ids: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({job for job in job_ids if job_ids.count(job) > 1})
        if repeated:
            raise ValueError(f"job ids listed more than once: {', '.join(repeated)}")
        return job_ids


class InvoicePolicy(_Frozen):
    """How jobs become invoices (the integration's configuration screen).

    ``tax_rate`` is a fraction (``Decimal("0.0825")`` for 8.25%); a non-zero rate needs
    ``tax_code``, the ERP's tax code with that rate (see the module docstring for why).
    ``currency`` is the currency of the default customer, which must be the jobs'
    currency (USD). ``zero_total`` says what a $0 job becomes: ``"error"`` (default),
    ``"skip"`` or ``"invoice"`` (see the module docstring for why the default refuses).
    """

    trigger: Trigger
    customer: Ref
    item: Ref | None = None
    tax_rate: Quantity = Field(default=Decimal(0), ge=0, lt=1)
    tax_code: Ref | None = None
    currency: Currency = "USD"
    zero_total: ZeroTotal = "error"

    @model_validator(mode="after")
    def _tax_needs_code(self) -> Self:
        if self.tax_rate != 0 and self.tax_code is None:
            raise ValueError(
                f"a tax rate of {self.tax_rate} needs tax_code: the ERP computes tax from "
                "the line's tax code, it does not accept a tax amount"
            )
        return self

    def skip_reason(self, job: XometryJob) -> str | None:
        """Why this policy makes no invoice for ``job`` (None: it makes one, or refuses
        it with an error). Workflows ask before :func:`invoice_for_job`, which raises
        for a job the policy skips."""
        if job.price == 0 and self.zero_total == "skip":
            return "the job's price is 0.00 and the policy skips $0 jobs (zero_total='skip')"
        return None

    def expected_total(self, price: Decimal) -> Decimal:
        """The invoice total the ERP should compute for a job of this price."""
        tax = round_money(price * self.tax_rate, self.currency)
        return round_money(price + tax, self.currency)


def invoice_external_id(job_id: str) -> str:
    """The external id of a job's invoice: ``xometry-job-<id>`` (id encoded if needed)."""
    return _prefixed(_JOB_PREFIX, job_id)


def payment_external_id(payout_id: str) -> str:
    """The external id of a payout's payment: ``xometry-payout-<id>``."""
    return _prefixed(_PAYOUT_PREFIX, payout_id)


def _prefixed(prefix: str, key: str) -> str:
    try:
        return prefix + encode_external_id(str(key))
    except ConfigurationError as exc:  # empty, unencodable or too long
        raise MappingError(f"{key!r} cannot be made into an external id: {exc}") from exc


def invoice_for_job(job: XometryJob, policy: InvoicePolicy) -> Invoice:
    """The invoice for ``job`` under ``policy``: one line for the job's total.

    Raises MappingError (naming the job) when the job cannot be invoiced under the
    policy: a canceled job, a $0 job the policy refuses or skips (``zero_total``), a
    completed-trigger job without a ship date, or values the invoice model refuses.
    """
    record = f"Xometry job {job.job_id}"
    if job.status is JobStatus.CANCELED:
        raise MappingError("is canceled; a canceled job is not invoiced", record=record)
    _check_zero_total(job, policy, record)
    if policy.trigger == "completed":
        if job.ship_date is None:
            raise MappingError(
                "has no ship date; with the 'completed' trigger the invoice is dated on "
                "the ship date",
                record=record,
                hint="invoice it once the job has shipped",
            )
        invoice_date = job.ship_date
    else:
        invoice_date = job.expected_ship_date
    description = job.description if job.description and job.description.strip() else None
    try:
        return Invoice(
            external_id=invoice_external_id(job.job_id),
            customer=policy.customer,
            date=invoice_date,
            currency=policy.currency,
            lines=[
                InvoiceLine(
                    description=description or f"Xometry Job {job.job_id}",
                    quantity=Decimal(1),
                    unit_price=job.price,
                    amount=job.price,
                    item=policy.item,
                    tax_code=policy.tax_code,
                )
            ],
            memo=f"Xometry Job {job.job_id}",
        )
    except ValidationError as exc:
        raise MappingError("cannot be invoiced", record=record, detail=_first_error(exc)) from exc


def _check_zero_total(job: XometryJob, policy: InvoicePolicy, record: str) -> None:
    if job.price != 0 or policy.zero_total == "invoice":
        return
    if policy.zero_total == "skip":
        raise MappingError(
            "has a price of 0.00 and the policy skips $0 jobs",
            record=record,
            field="price",
            hint="check InvoicePolicy.skip_reason(job) before asking for the invoice",
        )
    raise MappingError(
        "has a price of 0.00: a $0 invoice would be booked as paid at once and no "
        "payout would ever settle it",
        record=record,
        field="price",
        hint="fix the job's price, or choose InvoicePolicy(zero_total='skip') to leave $0 "
        "jobs uninvoiced or zero_total='invoice' to invoice them anyway",
    )


def amount_due(invoice: Invoice) -> Decimal:
    """What a payment must apply to settle ``invoice``: its balance as the ERP reports
    it, or its total when the ERP reported no balance."""
    return invoice.balance if invoice.balance is not None else invoice.total


def payment_for_payout(
    payout: XometryPayout,
    invoices: Mapping[str, Invoice] | Iterable[Invoice],
    *,
    customer: Ref | None = None,
) -> Payment:
    """The payment for ``payout``, applied in full to the invoice of each of its jobs.

    ``invoices`` maps job id to the job's invoice as read from the ERP (it must carry
    the ERP ``id``); a plain iterable of invoices is matched to jobs by external id
    (``xometry-job-<id>``). ``customer`` defaults to the invoices' customer.

    A $0 invoice of the payout gets no application. Raises MappingError when an
    invoice is missing (listing the job ids), has no ERP id or is already paid, when
    the invoices belong to different customers or currencies, or when the payout
    amount differs from the sum owed (both figures in the message).
    """
    record = f"Xometry payout {payout.payout_id}"
    chosen = _payout_invoices(payout, _by_job(invoices), record)
    currencies = sorted({inv.currency for inv in chosen})
    if len(currencies) > 1:
        raise MappingError(
            f"the invoices are in several currencies ({', '.join(currencies)})", record=record
        )
    if customer is None:
        customers = sorted({inv.customer.id for inv in chosen})
        if len(customers) > 1:
            raise MappingError(
                f"the invoices belong to several customers (ids {', '.join(customers)})",
                record=record,
                hint="pass customer= to choose the payer",
            )
        customer = chosen[0].customer
    currency = currencies[0]
    owed = functools.reduce(lambda a, b: a + b, (amount_due(inv) for inv in chosen), Decimal(0))
    places = Decimal(1).scaleb(-currency_exponent(currency))
    if payout.amount != owed:
        raise MappingError(
            f"the payout amount {payout.amount.quantize(places)} {currency} differs from "
            f"the {len(chosen)} invoice(s) it settles, which owe "
            f"{owed.quantize(places)} {currency}",
            record=record,
            detail=f"difference {(payout.amount - owed).quantize(places)}",
            hint="the difference is not absorbed; check the payout's fees and jobs",
        )
    try:
        return Payment(
            external_id=payment_external_id(payout.payout_id),
            customer=customer,
            date=payout.date,
            amount=payout.amount,
            currency=currency,
            applications=[
                PaymentApplication(invoice_id=str(inv.id), amount=amount_due(inv))
                for inv in chosen
                if inv.total != 0
            ],
            memo=f"Xometry payout {payout.payout_id}",
        )
    except ValidationError as exc:
        raise MappingError(
            "cannot be made into a payment", record=record, detail=_first_error(exc)
        ) from exc


def _payout_invoices(
    payout: XometryPayout, by_job: Mapping[str, Invoice], record: str
) -> list[Invoice]:
    """The invoice of each job of ``payout``, in its order; MappingError when one is
    missing, has no ERP id or is already paid."""
    missing = [job for job in payout.job_ids if job not in by_job]
    if missing:
        raise MappingError(
            f"no invoice for job(s) {', '.join(missing)}",
            record=record,
            hint="create the jobs' invoices (backfill) before the payout's payment",
        )
    chosen = [by_job[job] for job in payout.job_ids]
    no_id = [job for job, inv in zip(payout.job_ids, chosen, strict=True) if inv.id is None]
    if no_id:
        raise MappingError(f"the invoice of job(s) {', '.join(no_id)} has no ERP id", record=record)
    # A $0 invoice (InvoicePolicy(zero_total="invoice")) owes nothing and is never
    # "already paid": the payment applies nothing to it.
    paid = [
        job
        for job, inv in zip(payout.job_ids, chosen, strict=True)
        if amount_due(inv) <= 0 and inv.total != 0
    ]
    if paid:
        raise MappingError(
            f"the invoice of job(s) {', '.join(paid)} is already paid", record=record
        )
    return chosen


def _by_job(invoices: Mapping[str, Invoice] | Iterable[Invoice]) -> dict[str, Invoice]:
    if isinstance(invoices, Mapping):
        return {str(job): inv for job, inv in invoices.items()}
    out: dict[str, Invoice] = {}
    for inv in invoices:
        if inv.external_id is not None and inv.external_id.startswith(_JOB_PREFIX):
            out[_decode_job(inv.external_id[len(_JOB_PREFIX) :])] = inv
    return out


def _decode_job(encoded: str) -> str:
    try:
        return decode_external_id(encoded)
    except ConfigurationError:  # not one of ours; a key no job id can equal
        return "\0" + encoded


def _first_error(exc: ValidationError) -> str:
    errors: Sequence[Any] = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
