"""The local side of the purchasing sync: what a purchase order looks like to *your*
system, the small protocol your system implements, and an in-memory reference sink.

The purchasing workflow (:mod:`erpsync.sync.purchasing`) reads purchase orders from an
ERP and hands them to a :class:`PurchasingSink` as :class:`SinkPurchaseOrder` values:
plain, frozen data with the ERP's ids kept as *attributes* (seed 004's ION custom
attributes "Netsuite PO Number", "Netsuite RecordID", "Non-receivable", "ns_line_id").
The sink never sees an ERP model or a backend, so writing one for a MES, an ION-like
system or a database table is a matter of five short methods.

What the workflow relies on (say it in your implementation's tests):

* ``upsert_purchase_order`` applies the *whole* order or nothing (one transaction): the
  workflow reports a failed order and tries it again on the next run, so a half-written
  order would otherwise be visible in between. It must be idempotent: the same order
  may be sent twice (a retry, an overlapping run, a push followed by the periodic run).
* ``cancel_open_lines`` and ``delete_purchase_order`` are idempotent too (cancelling
  an order whose open lines are already cancelled, or deleting one that is gone, is
  not an error).
* Anything a sink raises fails that one order (it is reported with the exception's
  text and retried next run); it never stops the run.

:class:`MemoryPurchasingSink` implements the protocol with dictionaries and records
every call, for tests, demos and as a template.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

from erpsync.errors import ConfigurationError
from erpsync.models import Ref

__all__ = [
    "LocalSupplier",
    "MemoryPurchasingSink",
    "PurchasingSink",
    "SinkLine",
    "SinkPurchaseOrder",
    "UpsertResult",
]

#: What ``upsert_purchase_order`` did: made a new local order, or changed an existing one.
UpsertResult = Literal["created", "updated"]


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True)
class SinkLine:
    """One purchase order line as the local system should hold it.

    ``key`` is the ERP's line id (NetSuite's ``line``), stable across edits of the
    order, so the sink can match lines on update rather than replace them blindly.
    ``part`` is the ERP item (id, and name when known, e.g. ``Ref("201",
    "WIDGET-100")``); ``part_known`` is what :meth:`PurchasingSink.part_exists` answered
    for it: a line whose part the local system lacks is still sent (with a warning), and
    the sink decides whether to keep it as a placeholder or drop it.
    """

    key: str
    part: Ref
    part_known: bool
    quantity: Decimal
    quantity_received: Decimal = Decimal(0)
    unit_cost: Decimal | None = None
    amount: Decimal | None = None
    description: str | None = None
    receivable: bool = True
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _frozen_mapping(self.attributes))

    @property
    def open_quantity(self) -> Decimal:
        """What is still to be received (never negative)."""
        return max(self.quantity - self.quantity_received, Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-friendly dict (the workflow hashes it to skip unchanged orders)."""
        return {
            "key": self.key,
            "part": {"id": self.part.id, "name": self.part.name},
            "part_known": self.part_known,
            "quantity": str(self.quantity),
            "quantity_received": str(self.quantity_received),
            "unit_cost": None if self.unit_cost is None else str(self.unit_cost),
            "amount": None if self.amount is None else str(self.amount),
            "description": self.description,
            "receivable": self.receivable,
            "attributes": dict(self.attributes),
        }


@dataclass(frozen=True, slots=True)
class SinkPurchaseOrder:
    """A purchase order as the local system should hold it.

    ``key`` is the ERP's internal id (also in ``attributes`` under the configured
    record-id attribute): the one value that identifies the order across runs, since
    document numbers of the two systems differ. ``status`` is the *local* status, already
    translated by the workflow's status table; ``remote_status`` is the ERP's own word,
    for display. ``supplier_id`` is what :meth:`PurchasingSink.find_or_create_supplier`
    returned for ``vendor``.
    """

    key: str
    number: str | None
    vendor: Ref
    supplier_id: str
    status: str
    remote_status: str | None
    date: date
    currency: str
    lines: tuple[SinkLine, ...]
    memo: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _frozen_mapping(self.attributes))
        object.__setattr__(self, "lines", tuple(self.lines))

    def line(self, key: str) -> SinkLine | None:
        """The line with this ERP line id, if any."""
        return next((line for line in self.lines if line.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-friendly dict (the workflow hashes it to skip unchanged orders)."""
        return {
            "key": self.key,
            "number": self.number,
            "vendor": {"id": self.vendor.id, "name": self.vendor.name},
            "supplier_id": self.supplier_id,
            "status": self.status,
            "remote_status": self.remote_status,
            "date": self.date.isoformat(),
            "currency": self.currency,
            "memo": self.memo,
            "attributes": dict(self.attributes),
            "lines": [line.to_dict() for line in self.lines],
        }


@dataclass(frozen=True, slots=True)
class LocalSupplier:
    """The local supplier an ERP vendor corresponds to; ``created`` when the sink had to
    make it just now (the workflow reports that as a warning, as seed 004 asks)."""

    id: str
    created: bool = False


@runtime_checkable
class PurchasingSink(Protocol):
    """The local system the purchasing workflow mirrors purchase orders into.

    Implement these methods over your own storage; see the module docstring for the
    guarantees the workflow needs (atomic, idempotent upserts).
    """

    def upsert_purchase_order(self, order: SinkPurchaseOrder) -> UpsertResult:
        """Create the order (keyed by ``order.key``) or bring it up to date, header and
        lines, in one transaction; say which."""
        ...

    def cancel_open_lines(self, order_key: str) -> int:
        """Cancel what is still open on the order (the ERP closed it); return how many
        lines were cancelled now (0 when there was nothing left to cancel)."""
        ...

    def delete_purchase_order(self, order_key: str) -> bool:
        """Delete the order (the ERP deleted it); False when it did not exist."""
        ...

    def find_or_create_supplier(self, vendor: Ref) -> LocalSupplier:
        """The local supplier for an ERP vendor (``vendor.name`` is filled in when the
        ERP has one), created when missing."""
        ...

    def part_exists(self, part: Ref) -> bool:
        """Whether the local system knows the part (an ERP item: its id and name).
        Parts are maintained by hand in both systems; the workflow only warns."""
        ...

    def record_warning(self, order_key: str, message: str) -> None:
        """Show a warning about an order to the local system's users (a missing part,
        a supplier that had to be created). The workflow also logs it."""
        ...


class MemoryPurchasingSink:
    """A :class:`PurchasingSink` in dictionaries that records everything it was asked.

    ``parts`` are the part numbers (or ERP item ids) the local system knows;
    ``suppliers`` maps supplier names to local ids for suppliers that already exist.
    Suppliers are matched by vendor name, case-insensitively, falling back to the ERP id
    when the vendor has no name. Cancelling marks the open lines of an order (quantity
    received below quantity) as cancelled and sets the order's status to
    ``canceled_status``; a later upsert does not undo it (as in ION, where cancelled
    lines move to "unavailable").

    Safe to share between threads (one lock around every method).
    """

    def __init__(
        self,
        *,
        parts: Iterable[str] = (),
        suppliers: Mapping[str, str] | None = None,
        canceled_status: str = "Canceled",
    ) -> None:
        if isinstance(parts, str):
            raise ConfigurationError("parts is a collection of part numbers, not one string")
        self._lock = threading.RLock()
        self.parts: set[str] = set(parts)
        self.canceled_status = canceled_status
        #: supplier id -> name
        self.suppliers: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        for name, supplier_id in (suppliers or {}).items():
            self._add_supplier(name, supplier_id)
        #: order key -> the order as last upserted (status updated by cancellations)
        self.orders: dict[str, SinkPurchaseOrder] = {}
        #: order key -> keys of its cancelled lines
        self.canceled_lines: dict[str, set[str]] = {}
        #: every call, in order: ("created" | "updated" | "canceled" | "deleted", key)
        self.events: list[tuple[str, str]] = []
        self.created_suppliers: list[str] = []
        self.cancellations: list[str] = []
        self.deletions: list[str] = []
        #: (order key, message)
        self.warnings: list[tuple[str, str]] = []

    def _add_supplier(self, name: str, supplier_id: str) -> None:
        self.suppliers[supplier_id] = name
        self._by_name[name.casefold()] = supplier_id

    # -- the protocol ---------------------------------------------------------------------

    def upsert_purchase_order(self, order: SinkPurchaseOrder) -> UpsertResult:
        with self._lock:
            result: UpsertResult = "updated" if order.key in self.orders else "created"
            if order.key in self.canceled_lines:
                order = replace(order, status=self.canceled_status)
            self.orders[order.key] = order
            self.events.append((result, order.key))
            return result

    def cancel_open_lines(self, order_key: str) -> int:
        with self._lock:
            order = self.orders.get(order_key)
            if order is None:
                return 0
            done = self.canceled_lines.setdefault(order_key, set())
            fresh = [
                line.key for line in order.lines if line.open_quantity > 0 and line.key not in done
            ]
            done.update(fresh)
            self.orders[order_key] = replace(order, status=self.canceled_status)
            if fresh:
                self.cancellations.append(order_key)
                self.events.append(("canceled", order_key))
            return len(fresh)

    def delete_purchase_order(self, order_key: str) -> bool:
        with self._lock:
            existed = self.orders.pop(order_key, None) is not None
            self.canceled_lines.pop(order_key, None)
            if existed:
                self.deletions.append(order_key)
                self.events.append(("deleted", order_key))
            return existed

    def find_or_create_supplier(self, vendor: Ref) -> LocalSupplier:
        name = vendor.name or vendor.id
        with self._lock:
            existing = self._by_name.get(name.casefold())
            if existing is not None:
                return LocalSupplier(existing)
            supplier_id = f"SUP-{len(self.suppliers) + 1}"
            while supplier_id in self.suppliers:
                supplier_id += "+"
            self._add_supplier(name, supplier_id)
            self.created_suppliers.append(name)
            return LocalSupplier(supplier_id, created=True)

    def part_exists(self, part: Ref) -> bool:
        with self._lock:
            return part.id in self.parts or (part.name is not None and part.name in self.parts)

    def record_warning(self, order_key: str, message: str) -> None:
        with self._lock:
            self.warnings.append((order_key, message))

    # -- conveniences for tests and demos -------------------------------------------------

    def order_by_number(self, number: str) -> SinkPurchaseOrder | None:
        """The order whose ERP document number is ``number``."""
        with self._lock:
            return next((o for o in self.orders.values() if o.number == number), None)

    def __repr__(self) -> str:
        return (
            f"MemoryPurchasingSink(orders={len(self.orders)}, suppliers={len(self.suppliers)}, "
            f"parts={len(self.parts)}, warnings={len(self.warnings)})"
        )
