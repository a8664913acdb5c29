"""The configuration every part of the purchasing workflow reads, in one frozen value.

:class:`~erpsync.sync.purchasing.PurchaseOrderSync` keeps its settings as plain
attributes (callers read them) and hands each operation a snapshot of them, so the
parts (order build, order apply, receipts, push, run) are functions of a
:class:`Context` rather than methods of one large class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from erpsync.backend import AccountingBackend
from erpsync.mapping.status import StatusTable
from erpsync.store import SyncStore
from erpsync.sync.purchasing.attributes import AttributeMapping
from erpsync.sync.sinks import PurchasingSink

__all__ = ["ORDER", "RECEIPT", "Context"]

#: Ledger record types.
ORDER = "purchase_order"
RECEIPT = "item_receipt"


@dataclass(frozen=True, slots=True)
class Context:
    """One operation's view of a :class:`PurchaseOrderSync`'s settings."""

    backend: AccountingBackend
    sink: PurchasingSink
    status_table: StatusTable
    store: SyncStore
    attributes: AttributeMapping
    overlap: timedelta
    cancel_statuses: frozenset[str]
    scope: str
    tenant: str
    start_from: datetime | None
    deleted_record_type: str
    lease_seconds: float
    run_lock_seconds: float
    clock: Callable[[], datetime]
    owner: str

    def now(self) -> datetime:
        """The workflow clock's time, made aware (UTC) when the clock gives naive times."""
        now = self.clock()
        return now if now.tzinfo else now.replace(tzinfo=UTC)

    @property
    def cursor_name(self) -> str:
        return f"purchasing:{self.scope}"
