"""What the purchasing workflow hands back: one outcome per order, the run report, the
receipt and push results (see :mod:`erpsync.sync.purchasing`).

Plain frozen dataclasses with no behaviour beyond summaries, so a caller can keep,
compare and log them; the run log in the store holds the same facts (``counts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from erpsync._redact import redact, truncate
from erpsync.errors import ErpSyncError
from erpsync.models import ItemReceipt
from erpsync.store import RunError, RunStatus

__all__ = [
    "LocalReceiptLine",
    "OrderAction",
    "OrderOutcome",
    "PurchasingRunReport",
    "PushResult",
    "ReceiptResult",
    "SkippedLine",
    "describe",
    "outcome_counts",
    "outcome_errors",
    "report_from",
]

OrderAction = Literal["created", "updated", "unchanged", "deleted", "failed", "busy"]

_ACTIONS: tuple[OrderAction, ...] = ("created", "updated", "unchanged", "deleted", "failed", "busy")


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What one run (or push) did with one purchase order.

    ``action``: ``created`` / ``updated`` in the sink, ``unchanged`` (same content as
    last written, nothing sent), ``deleted`` (deleted in the ERP and locally),
    ``failed`` (``error`` says why; retried next run) or ``busy`` (another process was
    writing it; the next run lists it again).
    """

    purchase_order_id: str
    action: OrderAction
    number: str | None = None
    status: str | None = None
    warnings: tuple[str, ...] = ()
    lines_canceled: int = 0
    supplier_created: bool = False
    error: str | None = None

    @property
    def label(self) -> str:
        """``"purchase order PO1001 (id 1001)"``, for messages."""
        if self.number:
            return f"purchase order {self.number} (id {self.purchase_order_id})"
        return f"purchase order {self.purchase_order_id}"


@dataclass(frozen=True, slots=True)
class PurchasingRunReport:
    """One :meth:`PurchaseOrderSync.run`: every order it touched, warnings, failures.

    ``status`` is ``ok`` when nothing failed and ``partial`` otherwise (a run that
    cannot list orders at all raises instead, after recording itself as ``failed``).
    ``notes`` say what the run could not do by design (a backend without a deleted-record
    feed). The same facts are in the store's run log under ``run_id``.
    """

    run_id: int
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    outcomes: tuple[OrderOutcome, ...] = ()
    notes: tuple[str, ...] = ()
    errors: tuple[RunError, ...] = ()

    def by_action(self, action: OrderAction) -> list[OrderOutcome]:
        return [outcome for outcome in self.outcomes if outcome.action == action]

    @property
    def failed(self) -> list[OrderOutcome]:
        return self.by_action("failed")

    @property
    def warnings(self) -> list[tuple[str, str]]:
        """(purchase order id, message) for every warning of the run."""
        return [(o.purchase_order_id, w) for o in self.outcomes for w in o.warnings]

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def counts(self) -> dict[str, int]:
        """What the run log stores: one count per action, plus warnings, suppliers
        created and lines cancelled."""
        return outcome_counts(self.outcomes)


def outcome_counts(outcomes: Iterable[OrderOutcome]) -> dict[str, int]:
    """One count per action, plus warnings, suppliers created and lines cancelled."""
    listed = list(outcomes)
    counts: dict[str, int] = {action: 0 for action in _ACTIONS}
    for outcome in listed:
        counts[outcome.action] += 1
    counts["warnings"] = sum(len(o.warnings) for o in listed)
    counts["suppliers_created"] = sum(1 for o in listed if o.supplier_created)
    counts["lines_canceled"] = sum(o.lines_canceled for o in listed)
    return counts


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A receipt line that was not sent to the ERP, and why."""

    line_id: str
    quantity: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class ReceiptResult:
    """What :meth:`PurchaseOrderSync.receive` did.

    ``receipt`` is the ERP's item receipt (None when every line was skipped as
    non-receivable). ``repeated`` is True when this receipt had already been written by
    an earlier call and nothing was sent: the receipt is then rebuilt from the ledger
    and the request (its id is the ERP's; the ERP's copy is authoritative for the rest).
    """

    receipt: ItemReceipt | None
    skipped: tuple[SkippedLine, ...] = ()
    repeated: bool = False
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class LocalReceiptLine:
    """A line of a receipt saved in the local system, as the local system knows it: the
    quantity received and the attributes of the purchase order line it receives (which
    the sync wrote: the ERP line id, the non-receivable flag)."""

    quantity: Decimal | int | str
    attributes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PushResult:
    """What :meth:`PurchaseOrderSync.handle_push` did with one pushed order; answer the
    caller 2xx when ``ok`` (a failed order is retried by the next run either way)."""

    run_id: int
    outcome: OrderOutcome

    @property
    def purchase_order_id(self) -> str:
        return self.outcome.purchase_order_id

    @property
    def ok(self) -> bool:
        return self.outcome.action != "failed"


def describe(error: BaseException) -> str:
    """A one-line, redacted description of any failure, for reports and the run log."""
    if isinstance(error, ErpSyncError):
        return str(error)
    text = redact(str(error))
    return truncate(f"{type(error).__name__}: {text}" if text else type(error).__name__)


def outcome_errors(outcomes: Iterable[OrderOutcome]) -> list[RunError]:
    """The run log's error list: one entry per failed order."""
    return [
        RunError(record=o.label, message=o.error or "failed")
        for o in outcomes
        if o.action == "failed"
    ]


def report_from(
    run_id: int,
    outcomes: list[OrderOutcome],
    notes: Iterable[str],
    feed_errors: Iterable[RunError],
    *,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> PurchasingRunReport:
    """The report of a run (or push) from what it did; ``partial`` if anything failed."""
    errors = outcome_errors(outcomes)
    errors.extend(feed_errors)
    now = datetime.now(UTC)
    return PurchasingRunReport(
        run_id=run_id,
        status="partial" if errors else "ok",
        started_at=started_at or now,
        finished_at=finished_at or now,
        outcomes=tuple(outcomes),
        notes=tuple(notes),
        errors=tuple(errors),
    )
