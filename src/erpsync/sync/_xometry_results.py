"""The results of the marketplace invoicing (:mod:`erpsync.sync.xometry`): what one job
event, one payout, one backfill, one in-house invoice and one drift check did.

Kept apart from the workflow so that each module holds one concern; every public name
is importable from :mod:`erpsync.sync.xometry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeAlias

from erpsync.errors import ErpSyncError
from erpsync.models import Invoice, InvoiceLine, Payment, Ref
from erpsync.store import RunError, RunStatus
from erpsync.sync.ledger import WriteStatus

__all__ = [
    "BACKFILL_RUN_KIND",
    "INHOUSE_RECORD",
    "INVOICE_RECORD",
    "PAYMENT_RECORD",
    "BackfillEntry",
    "BackfillOutcome",
    "BackfillReport",
    "Drift",
    "DriftKind",
    "InhouseInvoiceResult",
    "JobInvoiceResult",
    "LineSpec",
    "OutcomeStatus",
    "PayoutPaymentResult",
    "backfill_outcome",
    "create_status",
]

#: The run-log ``kind`` of a backfill.
BACKFILL_RUN_KIND = "xometry_backfill"

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


def backfill_outcome(
    entries: Sequence[BackfillEntry],
) -> tuple[dict[str, int], list[RunError], RunStatus]:
    """A backfill's run-log counts, errors and status (``failed`` only when every job
    failed, ``partial`` when some did)."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
    errors = [
        RunError.from_exception(f"Xometry job {e.job_id}", e.error)
        for e in entries
        if e.error is not None
    ]
    failed = counts.get("failed", 0)
    status: RunStatus = "ok" if not failed else "failed" if failed == len(entries) else "partial"
    return counts, errors, status


def create_status(status: WriteStatus) -> Literal["created", "existed", "in_progress"]:
    """A create-only write (no ``update``) never updates anything."""
    if status == "created" or status == "existed" or status == "in_progress":
        return status
    raise AssertionError(f"a create-only write reported {status!r}")
