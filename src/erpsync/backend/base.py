"""The contract every ERP backend fulfils: :class:`AccountingBackend` and :class:`Capabilities`.

A workflow written against :class:`AccountingBackend` runs unchanged on NetSuite and
QuickBooks; what differs between them is said up front by :class:`Capabilities`, so a
workflow can check ``backend.capabilities.invoice_pdf`` before it starts a long run
instead of failing half-way through. Operations a backend cannot do raise
:class:`~erpsync.errors.UnsupportedOperationError` from the defaults defined here.

Bulk writes run on the one engine in :mod:`erpsync.backend.bulk` and return a
:class:`~erpsync.backend.results.BulkResult`; single writes that must not duplicate run
on :mod:`erpsync.backend.write_once`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from erpsync.backend.bulk import BatchSender, BulkEngine, OneAtATime, bulk_workers
from erpsync.backend.names import ref_for
from erpsync.backend.results import BulkOutcome, BulkResult, WriteStatus
from erpsync.errors import (
    ConfigurationError,
    MappingError,
    UnsupportedOperationError,
)
from erpsync.models import (
    Customer,
    DeletedRecord,
    Invoice,
    Item,
    ItemReceipt,
    Payment,
    PurchaseOrder,
    Ref,
    Vendor,
)

__all__ = ["AccountingBackend", "AmbiguousMatchError", "Capabilities"]

_Named = TypeVar("_Named", Customer, Vendor, Item)


class AmbiguousMatchError(MappingError):
    """A lookup by name found several records, so no single one can be chosen.

    ``candidates`` holds them all, so the caller can show them or pick by another rule.
    """

    def __init__(self, message: str = "", *, candidates: Sequence[Any] = (), **kw: Any):
        self.candidates: list[Any] = list(candidates)
        super().__init__(message, **kw)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "candidates": self.candidates}


# -- capabilities -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a backend can do. Flags default to False so that a backend claims only what
    it has implemented.

    ``max_concurrency`` is the number of requests the ERP accepts at once for one company
    or account (QuickBooks 10; NetSuite 5 to 20+ by licence); ``max_batch_size`` the
    number of records one batch request may carry (QuickBooks 30; 1 means no batching).
    """

    invoice_pdf: bool = False
    purchase_orders: bool = False
    item_receipts: bool = False
    create_purchase_orders: bool = False
    batch_writes: bool = False
    change_data_capture: bool = False
    deleted_records: bool = False
    upsert_by_external_id: bool = False
    document_numbers_assigned_by_erp: bool = False
    max_concurrency: int = 1
    max_batch_size: int = 1

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigurationError(f"Capabilities.{spec.name} must be an int >= 1")
            elif not isinstance(value, bool):
                raise ConfigurationError(f"Capabilities.{spec.name} must be a bool")

    @classmethod
    def flags(cls) -> tuple[str, ...]:
        """The names of the boolean capabilities, the ones :meth:`require` accepts."""
        return tuple(spec.name for spec in fields(cls) if spec.type in ("bool", bool))

    def require(self, name: str, operation: str, *, backend: str | None = None) -> None:
        """Raise UnsupportedOperationError unless capability ``name`` is present.

        ``operation`` is what the caller was trying to do, for the message. An unknown
        ``name`` is a programming error and raises ConfigurationError.
        """
        if name not in self.flags():
            raise ConfigurationError(
                f"{name!r} is not a capability; known ones are {', '.join(self.flags())}"
            )
        if not getattr(self, name):
            raise UnsupportedOperationError(
                f"this backend does not support {name.replace('_', ' ')}",
                backend=backend,
                record=operation,
                code=name,
                hint=f"check backend.capabilities.{name} before calling {operation}",
            )


# -- the backend contract -----------------------------------------------------------------


class AccountingBackend(abc.ABC):
    """One ERP company or account, seen through erpsync's models.

    Core operations (customers, vendors, items, invoices, payments) are abstract. Optional
    ones (invoice PDFs, purchase orders, item receipts, deleted-record feeds) raise
    UnsupportedOperationError unless the backend overrides them and says so in
    :attr:`capabilities`. Backends must be safe to call from several threads at once:
    :meth:`create_invoices` does.

    ``get_*`` raise NotFoundError for an unknown id; ``find_*`` by external id return
    None instead; ``iter_*`` fetch lazily, page by page.
    """

    #: Human name for messages and errors, e.g. ``"NetSuite"``.
    name: str = "backend"

    @property
    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """What this backend (and the account it is connected to) can do."""

    @property
    def tenant(self) -> str:
        """Which company or account of the ERP this backend object talks to.

        It scopes everything a workflow remembers for this backend (ledger keys, lock
        names, cursors), so that two companies sharing one store never see each other's
        records: QuickBooks answers its realm id, NetSuite its account id. A backend
        that serves a single tenant may keep this default.
        """
        return "default"

    def _require(self, capability: str, operation: str) -> None:
        self.capabilities.require(capability, operation, backend=self.name)

    def _missing(self, capability: str, operation: str) -> UnsupportedOperationError:
        """For a default method whose capability a backend claims without implementing."""
        self._require(capability, operation)
        return UnsupportedOperationError(
            f"capabilities.{capability} is set but {type(self).__name__} does not "
            f"implement {operation}",
            backend=self.name,
            record=operation,
        )

    # -- name lookups (shared rule) -----------------------------------------------------

    @staticmethod
    def _select_by_name(candidates: Iterable[_Named], name: str) -> list[_Named]:
        """The rule behind every ``find_<kind>s(name)``: the exact matches, or, when
        there are none, the case-insensitive ones. Backends fetch candidates (a query
        that may already be case-insensitive) and pass them through this."""
        pool = list(candidates)
        exact = [record for record in pool if record.name == name]
        if exact:
            return exact
        folded = name.casefold()
        return [record for record in pool if record.name.casefold() == folded]

    @staticmethod
    def _resolve(
        kind: str, name: str, found: _Named | None, records: Callable[[], Iterator[_Named]]
    ) -> Ref:
        """``found`` as a Ref, or UnknownNameError with the closest of ``records``' names
        (read only when nothing was found)."""
        if found is not None:
            return ref_for(kind, name, found.id, found.name, ())
        return ref_for(kind, name, None, None, (record.name for record in records()))

    def _find_one(self, kind: str, name: str, matches: list[_Named]) -> _Named | None:
        if not matches:
            return None
        if len(matches) == 1:
            return matches[0]
        ids = ", ".join(str(match.id) for match in matches[:10])
        raise AmbiguousMatchError(
            f"{len(matches)} {kind}s match the name",
            backend=self.name,
            record=f"{kind} {name!r}",
            detail=f"ids {ids}",
            hint=f"use get_{kind}(id) with one of them",
            candidates=matches,
        )

    # -- customers ----------------------------------------------------------------------

    @abc.abstractmethod
    def get_customer(self, id: str) -> Customer: ...

    @abc.abstractmethod
    def find_customers(self, name: str) -> list[Customer]:
        """Customers whose display name is ``name``; case-insensitive matches only when
        there is no exact one (see :meth:`_select_by_name`)."""

    def find_customer(self, name: str) -> Customer | None:
        """The one customer with this name, None if there is none; AmbiguousMatchError
        (with ``.candidates``) if there are several."""
        return self._find_one("customer", name, self.find_customers(name))

    def resolve_customer(self, name: str) -> Ref:
        """The Ref of the one customer named ``name``, for configuration: UnknownNameError
        (a MappingError naming the name, with the closest names) when there is none,
        AmbiguousMatchError when there are several."""
        return self._resolve("customer", name, self.find_customer(name), self.iter_customers)

    @abc.abstractmethod
    def iter_customers(self, modified_since: datetime | None = None) -> Iterator[Customer]: ...

    @abc.abstractmethod
    def create_customer(self, customer: Customer) -> Customer: ...

    # -- vendors ------------------------------------------------------------------------

    @abc.abstractmethod
    def get_vendor(self, id: str) -> Vendor: ...

    @abc.abstractmethod
    def find_vendors(self, name: str) -> list[Vendor]:
        """As :meth:`find_customers`, for vendors."""

    def find_vendor(self, name: str) -> Vendor | None:
        """As :meth:`find_customer`, for vendors."""
        return self._find_one("vendor", name, self.find_vendors(name))

    def resolve_vendor(self, name: str) -> Ref:
        """As :meth:`resolve_customer`, for vendors."""
        return self._resolve("vendor", name, self.find_vendor(name), self.iter_vendors)

    @abc.abstractmethod
    def iter_vendors(self, modified_since: datetime | None = None) -> Iterator[Vendor]: ...

    @abc.abstractmethod
    def create_vendor(self, vendor: Vendor) -> Vendor: ...

    # -- items --------------------------------------------------------------------------

    @abc.abstractmethod
    def get_item(self, id: str) -> Item: ...

    @abc.abstractmethod
    def find_items(self, name: str) -> list[Item]:
        """As :meth:`find_customers`, for items."""

    def find_item(self, name: str) -> Item | None:
        """As :meth:`find_customer`, for items."""
        return self._find_one("item", name, self.find_items(name))

    def resolve_item(self, name: str) -> Ref:
        """As :meth:`resolve_customer`, for items."""
        return self._resolve("item", name, self.find_item(name), self.iter_items)

    @abc.abstractmethod
    def iter_items(self, modified_since: datetime | None = None) -> Iterator[Item]: ...

    @abc.abstractmethod
    def create_item(self, item: Item) -> Item: ...

    # -- invoices -----------------------------------------------------------------------

    @abc.abstractmethod
    def get_invoice(self, id: str) -> Invoice: ...

    @abc.abstractmethod
    def find_invoice(self, external_id: str) -> Invoice | None: ...

    @abc.abstractmethod
    def iter_invoices(
        self, modified_since: datetime | None = None, open_only: bool = False
    ) -> Iterator[Invoice]: ...

    @abc.abstractmethod
    def create_invoice(self, invoice: Invoice) -> Invoice:
        """Create the invoice; with an ``external_id``, idempotently (a repeat returns
        the record already there rather than making a second one)."""

    @abc.abstractmethod
    def update_invoice(self, invoice: Invoice) -> Invoice: ...

    def invoice_pdf(self, id: str) -> bytes:
        """The invoice rendered as PDF bytes."""
        raise self._missing("invoice_pdf", "invoice_pdf")

    def create_invoices(
        self, invoices: Iterable[Invoice], *, max_workers: int | None = None
    ) -> BulkResult[Invoice]:
        """Create many invoices concurrently; one outcome per input, in input order.

        ``max_workers`` defaults to ``capabilities.max_concurrency`` and is capped by it.
        The input is consumed lazily: at most ``max_workers`` batches are in flight, so
        a generator of a million invoices is never held in memory at once (the outcomes
        are). Errors are captured per invoice, each naming its invoice; anything that is
        not an ErpSyncError is wrapped in a ServiceError. An external id repeated in the
        input is written once (the repeats report ``existed``). An exception raised by
        the input iterable itself propagates once the invoices already read have been
        written, carrying their outcomes as ``exc.partial_result`` (a BulkResult), so
        nothing written is lost. The engine is :class:`~erpsync.backend.bulk.BulkEngine`;
        a backend changes only the batch sender (:meth:`_invoice_sender`).
        """
        return self._bulk_engine(max_workers).run(invoices)

    def create_invoices_iter(
        self, invoices: Iterable[Invoice], *, max_workers: int | None = None
    ) -> Iterator[BulkOutcome[Invoice]]:
        """:meth:`create_invoices`, one outcome at a time: for inputs too long to keep
        every outcome in memory (a :class:`BulkResult` of 100,000 invoices holds 100,000
        records). The outcomes come in input order, each as soon as it and all before it
        are settled, and nothing is kept once handed out: memory stays flat however long
        the input. Two differences from :meth:`create_invoices`
        (:meth:`~erpsync.backend.bulk.BulkEngine.stream`): an exception of the input
        propagates after the outcomes of what was read (no ``partial_result``), and an
        external id repeated after its first outcome was handed out is written through
        the write-at-most-once engine again (it reports ``existed``). Nothing is sent
        until the iterator is first advanced; closing it early waits for the batches
        already started."""
        return self._bulk_engine(max_workers).stream(invoices)

    def _bulk_engine(self, max_workers: int | None) -> BulkEngine[Invoice]:
        workers = bulk_workers(max_workers, self.capabilities.max_concurrency)
        return BulkEngine(
            self._invoice_sender(), accepts=Invoice, workers=workers, backend=self.name
        )

    def _invoice_sender(self) -> BatchSender[Invoice]:
        """The batch sender :meth:`create_invoices` plugs into the bulk engine. The
        default sends one invoice at a time through :meth:`_create_invoice_outcome`;
        backends with batch endpoints return their own."""
        return OneAtATime(self._create_invoice_outcome)

    def _create_invoice_outcome(self, invoice: Invoice) -> tuple[Invoice, WriteStatus]:
        """Write one invoice for :meth:`create_invoices` and say whether it was new.

        The default cannot tell and says ``created``; backends that upsert by external id
        or look up before writing override it.
        """
        return self.create_invoice(invoice), "created"

    # -- payments -----------------------------------------------------------------------

    @abc.abstractmethod
    def get_payment(self, id: str) -> Payment: ...

    @abc.abstractmethod
    def find_payment(self, external_id: str) -> Payment | None: ...

    @abc.abstractmethod
    def iter_payments(self, modified_since: datetime | None = None) -> Iterator[Payment]: ...

    @abc.abstractmethod
    def create_payment(self, payment: Payment) -> Payment: ...

    # -- purchase orders (optional) -----------------------------------------------------

    def get_purchase_order(self, id: str) -> PurchaseOrder:
        raise self._missing("purchase_orders", "get_purchase_order")

    def find_purchase_order(self, external_id: str) -> PurchaseOrder | None:
        raise self._missing("purchase_orders", "find_purchase_order")

    def iter_purchase_orders(
        self, modified_since: datetime | None = None
    ) -> Iterator[PurchaseOrder]:
        raise self._missing("purchase_orders", "iter_purchase_orders")

    def create_purchase_order(self, purchase_order: PurchaseOrder) -> PurchaseOrder:
        self._require("purchase_orders", "create_purchase_order")
        raise self._missing("create_purchase_orders", "create_purchase_order")

    def receive_purchase_order(self, receipt: ItemReceipt) -> ItemReceipt:
        """Record goods received against a purchase order (an item receipt)."""
        raise self._missing("item_receipts", "receive_purchase_order")

    # -- change tracking (optional) -----------------------------------------------------

    def iter_deleted(self, record_type: str, since: datetime) -> Iterator[DeletedRecord]:
        """Records of ``record_type`` deleted since ``since``, oldest first."""
        raise self._missing("deleted_records", "iter_deleted")
