"""The reports of the accounting sync (:mod:`erpsync.sync.accounts`): what one push,
one payment push and one pass did, and how a pass turns into run-log counts and errors.

Kept apart from the workflow so that the workflow module holds only the passes; every
name here is public through :mod:`erpsync.sync.accounts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypeAlias

from erpsync.models import Invoice, Payment
from erpsync.store import RunError, RunRecord
from erpsync.sync.feed import ImportBatch

__all__ = [
    "CustomerMatchReport",
    "Failure",
    "PassOutcome",
    "PassStatus",
    "PaymentReport",
    "PushReport",
    "SyncInput",
    "SyncResult",
    "run_counts",
    "run_errors",
]


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


#: How a scheduled pass ended: its run's status, ``failed`` when it broke (its input
#: included), ``skipped`` when another pass held the lock.
PassStatus: TypeAlias = Literal["ok", "partial", "failed", "skipped"]


@dataclass(frozen=True)
class PassOutcome:
    """One pass of :meth:`AccountingSync.run_every`, as its ``on_pass`` callback sees it.

    ``number`` counts every scheduled pass from 1, skipped ones included; ``result`` is
    the pass's result when it ran to the end, ``error`` what stopped it otherwise
    (the lock held elsewhere, the source, the ERP); ``seconds`` its duration.
    """

    number: int
    status: PassStatus
    result: SyncResult | None = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def ran(self) -> bool:
        """Whether the pass counts as run (everything but ``skipped``)."""
        return self.status != "skipped"


def run_counts(
    invoices: PushReport, payments: PaymentReport, pulled: ImportBatch[Payment] | None
) -> dict[str, int]:
    counts = {f"invoices_{name}": value for name, value in invoices.counts.items()}
    counts.update({f"payments_{name}": value for name, value in payments.counts.items()})
    counts["payments_pulled"] = len(pulled) if pulled is not None else 0
    counts["customers_created"] = len(invoices.customers.created)
    return counts


def run_errors(invoices: PushReport, payments: PaymentReport) -> list[RunError]:
    errors = [RunError(f"invoice {n}", reason) for n, reason in invoices.failed]
    errors += [
        RunError(f"invoice {n}", reason, "manual_action") for n, reason in invoices.needs_action
    ]
    errors += [RunError(f"payment {n}", reason) for n, reason in payments.failed]
    return errors
