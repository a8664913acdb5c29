"""Purchase orders from the ERP into your system, item receipts from your system back.

Seed 004 (a manufacturing ERP, "ION", on NetSuite) in one class,
:class:`PurchaseOrderSync`:

* :meth:`~PurchaseOrderSync.run` mirrors purchase orders changed since the last run
  into a :class:`~erpsync.sync.sinks.PurchasingSink`: created when missing (carrying the
  ERP's document number and record id as attributes), headers and lines brought up to
  date, the status translated through a :class:`~erpsync.mapping.StatusTable`, missing
  suppliers created, lines whose part the local system lacks *warned about* (logged,
  shown through the sink, reported) without failing the order. An order whose status
  maps to a cancelling status (``"Canceled"``: NetSuite's Closed) has its open lines
  cancelled; an order deleted in the ERP is deleted locally.
* :meth:`~PurchaseOrderSync.receive` creates an item receipt in the ERP for goods
  received locally, exactly once however often it is retried.
* :meth:`~PurchaseOrderSync.handle_push` syncs one order the moment a NetSuite
  user-event script (:data:`USER_EVENT_SCRIPT`) reports a change; the periodic run
  stays as the safety net.

Why the design is what it is
----------------------------
*One order is one unit.* The sink applies an order in one transaction; anything that
fails (the ERP, a sink exception, a status the table does not know) fails that order
only. Failed orders are kept in the store's ledger (state ``failed``) and fetched again
by id at the start of the next run, so a permanently broken order never holds back the
cursor for the others. The only thing that holds the cursor is an order another
process is writing at that moment (a push racing the run): the cursor stops just
before it, so the next run lists it again.

*The cursor is the ERP's own clock.* The watermark is the newest ``updated_at`` seen
(ties broken by id), never the local clock, so clock skew between hosts cannot skip
changes; each run re-reads an ``overlap`` window behind it, because NetSuite's
``lastmodifieddate`` has one-second resolution and a transaction can become visible a
little after its timestamp. Re-reading is cheap: each written order's content hash is in
the ledger, and an unchanged order is not sent to the sink again.

*Receipts are idempotent by construction.* A receipt's external id is derived from the
purchase order id and the caller's ``receipt_key`` (ION's receipt id, say), or, without a
key, from the order, the lines and the date; the ledger remembers which receipts were
written, and the backend looks the external id up before it writes. Receiving more
than is still open is refused locally, naming every offending line, before anything is
sent. After an attempt whose outcome is unknown (a lost response) that local check is
skipped, because the earlier receipt may already be counted in the order's received
quantities: the backend's external-id lookup decides, and the ERP still refuses a
genuine over-receipt.

QuickBooks Online has purchase orders (``Open``/``Closed``, use
:data:`~erpsync.mapping.QUICKBOOKS_PO_TO_ION`) but no item receipts: :meth:`receive`
raises UnsupportedOperationError, and deletions come from change data capture when the
backend offers it (otherwise the run report carries a note that deletions are not
mirrored).

The push endpoint trusts nothing in the body but the order id, and even that only
after the HMAC-SHA256 signature checks out: the order itself is fetched from the ERP.
A replayed push therefore only re-syncs an order's current state.

Layout: the push signature and body parsing live in ``_purchasing_push``, the
user-event script text in ``_purchasing_script`` and the run cursor's format in
``_purchasing_cursor``; every public name is importable from here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import ValidationError

from erpsync._redact import redact, truncate
from erpsync.backend import AccountingBackend
from erpsync.errors import (
    ConfigurationError,
    ConflictError,
    ErpSyncError,
    InvalidRequestError,
    MappingError,
    NotFoundError,
    UnsupportedOperationError,
)
from erpsync.mapping.status import NETSUITE_PO_TO_ION, StatusTable
from erpsync.models import ItemReceipt, ItemReceiptLine, PurchaseOrder, PurchaseOrderLine, Ref
from erpsync.store import Claim, RunError, RunStatus, SyncStore, content_hash, make_owner
from erpsync.sync._common import FeedPosition, LedgerTarget, resolve_tenant, write_once
from erpsync.sync._purchasing_cursor import Cursor as _Cursor
from erpsync.sync._purchasing_push import (
    PUSH_SIGNATURE_HEADER,
    sign_push,
    verify_push_signature,
)
from erpsync.sync._purchasing_push import push_order_id as _push_order_id
from erpsync.sync._purchasing_script import USER_EVENT_SCRIPT
from erpsync.sync.sinks import LocalSupplier, PurchasingSink, SinkLine, SinkPurchaseOrder

__all__ = [
    "PUSH_SIGNATURE_HEADER",
    "USER_EVENT_SCRIPT",
    "AttributeMapping",
    "LocalReceiptLine",
    "OrderAction",
    "OrderOutcome",
    "PurchaseOrderSync",
    "PurchasingRunReport",
    "PushResult",
    "ReceiptResult",
    "SkippedLine",
    "sign_push",
    "verify_push_signature",
]

_log = logging.getLogger(__name__)

_ORDER = "purchase_order"
_RECEIPT = "item_receipt"
_RUN_KIND = "purchasing"
_PUSH_KIND = "purchasing-push"
#: Ledger content hash of an order that was deleted (in the ERP, then locally).
_DELETED = "deleted"

OrderAction = Literal["created", "updated", "unchanged", "deleted", "failed", "busy"]


class _LostRunLock(ConflictError):
    """The run's lock expired and another run took it: this run must stop at once."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- configuration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttributeMapping:
    """The names of the custom attributes the sync writes on local orders and lines.

    The defaults are seed 004's ION attributes: the order's ERP document number
    (``"Netsuite PO Number"``, a string: the two systems number orders differently) and
    record id (``"Netsuite RecordID"``); on each line, whether the ERP lets it be
    received (``"Non-receivable"``, a boolean) and its ERP line id (``"ns_line_id"``, a
    number), which is how a local receipt line finds its way back to the ERP.
    """

    po_number: str = "Netsuite PO Number"
    record_id: str = "Netsuite RecordID"
    non_receivable: str = "Non-receivable"
    line_id: str = "ns_line_id"

    def __post_init__(self) -> None:
        names = (self.po_number, self.record_id, self.non_receivable, self.line_id)
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise ConfigurationError(f"attribute names must be non-empty strings, not {name!r}")
        if (
            len({self.po_number, self.record_id}) != 2
            or len({self.non_receivable, self.line_id}) != 2
        ):
            raise ConfigurationError("two attributes of the same record cannot share a name")


# -- results --------------------------------------------------------------------------------


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
        counts = {
            action: 0 for action in ("created", "updated", "unchanged", "deleted", "failed", "busy")
        }
        for outcome in self.outcomes:
            counts[outcome.action] += 1
        counts["warnings"] = sum(len(o.warnings) for o in self.outcomes)
        counts["suppliers_created"] = sum(1 for o in self.outcomes if o.supplier_created)
        counts["lines_canceled"] = sum(o.lines_canceled for o in self.outcomes)
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


# -- small helpers --------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    """A one-line, redacted description of any failure, for reports and the run log."""
    if isinstance(error, ErpSyncError):
        return str(error)
    text = redact(str(error))
    return truncate(f"{type(error).__name__}: {text}" if text else type(error).__name__)


def _quantity(value: object, where: str) -> Decimal:
    if isinstance(value, bool | float):
        raise InvalidRequestError(
            f"{where}: quantity {value!r} is not exact; pass a Decimal, an int or a str",
            field=where,
        )
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidRequestError(f"{where}: {value!r} is not a quantity", field=where) from None
    if not isinstance(value, int | str | Decimal) or not number.is_finite() or number <= 0:
        raise InvalidRequestError(
            f"{where}: a received quantity must be a positive number, not {value!r}", field=where
        )
    return number


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "t", "yes", "y", "1"}
    return value is True or (isinstance(value, int) and value == 1)


def _attribute_line_id(line_id: str) -> int | str:
    """Seed 004 declares ``ns_line_id`` a Number: NetSuite's line ids are."""
    return int(line_id) if line_id.isdigit() else line_id


class _Names:
    """Vendor and item names for refs that arrived without them (SuiteQL listings carry
    ids only), fetched once per run: the sink matches suppliers and parts by name."""

    def __init__(self, backend: AccountingBackend) -> None:
        self._backend = backend
        self._vendors: dict[str, Ref] = {}
        self._items: dict[str, Ref] = {}

    def vendor(self, ref: Ref) -> Ref:
        if ref.name:
            return ref
        if ref.id not in self._vendors:
            self._vendors[ref.id] = Ref(id=ref.id, name=self._backend.get_vendor(ref.id).name)
        return self._vendors[ref.id]

    def item(self, ref: Ref) -> Ref:
        if ref.name:
            return ref
        if ref.id not in self._items:
            self._items[ref.id] = Ref(id=ref.id, name=self._backend.get_item(ref.id).name)
        return self._items[ref.id]


# -- the workflow ---------------------------------------------------------------------------


class PurchaseOrderSync:
    """Mirror an ERP's purchase orders into a local system; send its receipts back.

    ``store`` keeps the ledger (one entry per order and per receipt), the cursor and
    the run log; share it between the periodic run and the push endpoint. ``scope``
    namespaces all of that (default: the backend's name), and ``tenant`` scopes it by
    ERP account (default: the backend's ``tenant``, its NetSuite account or QuickBooks
    realm), so several accounts can share one store and run side by side.
    ``cancel_statuses`` are the local statuses that cancel an order's open lines
    (seed 004: NetSuite's Closed -> ``"Canceled"``).
    ``start_from`` limits the very first run to orders changed since then (default:
    every order). ``clock`` returns the current time (aware); it dates receipts and
    bounds the deleted-record feed.
    """

    def __init__(
        self,
        backend: AccountingBackend,
        sink: PurchasingSink,
        status_table: StatusTable = NETSUITE_PO_TO_ION,
        *,
        store: SyncStore,
        attributes: AttributeMapping | None = None,
        clock: Callable[[], datetime] = _utc_now,
        overlap: timedelta = timedelta(minutes=10),
        cancel_statuses: Collection[str] = ("Canceled",),
        scope: str | None = None,
        start_from: datetime | None = None,
        deleted_record_type: str = "purchaseorder",
        lease_seconds: float = 300.0,
        run_lock_seconds: float = 900.0,
        tenant: str | None = None,
    ) -> None:
        if not isinstance(backend, AccountingBackend):
            raise ConfigurationError(f"backend must be an AccountingBackend, not {backend!r}")
        if not isinstance(sink, PurchasingSink):
            raise ConfigurationError(
                f"{type(sink).__name__} does not implement PurchasingSink (upsert_purchase_order, "
                "cancel_open_lines, delete_purchase_order, find_or_create_supplier, "
                "part_exists, record_warning)"
            )
        if not isinstance(status_table, StatusTable):
            raise ConfigurationError("status_table must be a StatusTable")
        if not isinstance(store, SyncStore):
            raise ConfigurationError("store must be a SyncStore (e.g. SQLiteSyncStore(path))")
        if not isinstance(overlap, timedelta) or overlap < timedelta(0):
            raise ConfigurationError("overlap must be a non-negative timedelta")
        if isinstance(cancel_statuses, str):
            raise ConfigurationError("cancel_statuses is a collection of statuses, not one string")
        for seconds, name in (
            (lease_seconds, "lease_seconds"),
            (run_lock_seconds, "run_lock_seconds"),
        ):
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if start_from is not None and start_from.tzinfo is None:
            start_from = start_from.replace(tzinfo=UTC)
        self.backend = backend
        self.sink = sink
        self.status_table = status_table
        self.store = store
        self.attributes = attributes if attributes is not None else AttributeMapping()
        self.overlap = overlap
        self.cancel_statuses = frozenset(cancel_statuses)
        self.scope = scope or backend.name
        self.tenant = resolve_tenant(backend, tenant)
        self.start_from = start_from
        self.deleted_record_type = deleted_record_type
        self.lease_seconds = float(lease_seconds)
        self.run_lock_seconds = float(run_lock_seconds)
        self._clock = clock
        self._owner = make_owner("purchasing")

    def __repr__(self) -> str:
        return (
            f"PurchaseOrderSync(backend={self.backend.name!r}, scope={self.scope!r}, "
            f"tenant={self.tenant!r}, "
            f"status_table={self.status_table.name!r})"
        )

    @property
    def cursor_name(self) -> str:
        """The store cursor holding this sync's watermarks."""
        return f"purchasing:{self.scope}"

    def _now(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo else now.replace(tzinfo=UTC)

    # -- the periodic run -----------------------------------------------------------------

    def run(self) -> PurchasingRunReport:
        """Mirror every purchase order changed (or deleted) since the last run, retry
        the orders that failed before, and record the run in the store's run log.

        Raises ConflictError when another run of the same scope holds the run lock, and
        re-raises (after logging the run as ``failed``) an error that stops the listing
        itself, such as an authentication failure.
        """
        self.backend.capabilities.require(
            "purchase_orders", "PurchaseOrderSync.run", backend=self.backend.name
        )
        lock = f"purchasing-run:{self.scope}:{self.tenant}"
        if not self.store.lock(lock, self._owner, self.run_lock_seconds):
            raise ConflictError(
                f"another purchasing run for {self.scope} is in progress",
                hint="runs of one scope never overlap; try again when it has finished",
            )
        try:
            return _Run(self, lock).execute()
        finally:
            self.store.unlock(lock, self._owner)

    # -- one order --------------------------------------------------------------------------

    def _fetch(self, order_id: str) -> Callable[[], PurchaseOrder | None]:
        """Load an order fresh from the ERP; None when the ERP no longer has it."""

        def load() -> PurchaseOrder | None:
            try:
                return self.backend.get_purchase_order(order_id)
            except NotFoundError:
                return None

        return load

    def _process(
        self,
        order_id: str,
        load: Callable[[], PurchaseOrder | None],
        names: _Names,
        *,
        listed_since: datetime | None = None,
    ) -> OrderOutcome:
        """Apply one order (or its deletion, when ``load`` finds none) as one unit.

        ``listed_since`` (a store timestamp) marks ``load`` as giving a copy listed at
        that time: if another process (a push) wrote the order after it, the listed
        copy may be older than what is already applied, so the order is fetched afresh.
        """
        claim = self.store.claim(
            self.scope,
            _ORDER,
            order_id,
            owner=self._owner,
            lease_seconds=self.lease_seconds,
            reclaim_written=True,
            tenant=self.tenant,
        )
        if claim is None:
            _log.info("purchase order %s is being synced by another process", order_id)
            return OrderOutcome(order_id, "busy")
        number: str | None = None
        try:
            if listed_since is not None and claim.previous_state == "written":
                entry = self.store.get(self.scope, _ORDER, order_id, tenant=self.tenant)
                if entry is not None and entry.updated_at >= listed_since:
                    load = self._fetch(order_id)
            order = load()
            if order is None:
                return self._apply_deletion(claim, order_id)
            number = order.number
            return self._apply_order(claim, order, names)
        except Exception as exc:  # a sink is user code: any failure fails this order only
            text = _describe(exc)
            self.store.mark_failed(claim, text)
            outcome = OrderOutcome(order_id, "failed", number=number, error=text)
            _log.warning("%s failed and will be retried next run: %s", outcome.label, text)
            return outcome

    def _apply_deletion(self, claim: Claim, order_id: str) -> OrderOutcome:
        if claim.previous_state == "written" and claim.content_hash == _DELETED:
            self.store.release(claim)
            return OrderOutcome(order_id, "unchanged")
        existed = self.sink.delete_purchase_order(order_id)
        self.store.mark_written(claim, order_id, _DELETED)
        if existed:
            _log.info(
                "purchase order %s was deleted in %s; deleted locally", order_id, self.backend.name
            )
        return OrderOutcome(order_id, "deleted" if existed else "unchanged")

    def _apply_order(self, claim: Claim, order: PurchaseOrder, names: _Names) -> OrderOutcome:
        assert order.id is not None  # callers key orders by id
        local, warnings, supplier_created = self._build(order, names)
        digest = content_hash(local.to_dict())
        if claim.previous_state == "written" and claim.content_hash == digest:
            self.store.release(claim)
            return OrderOutcome(order.id, "unchanged", number=order.number, status=local.status)
        result = self.sink.upsert_purchase_order(local)
        if result not in ("created", "updated"):
            raise ConfigurationError(
                f"{type(self.sink).__name__}.upsert_purchase_order returned {result!r}; "
                "it must return 'created' or 'updated'"
            )
        canceled = 0
        if local.status in self.cancel_statuses:
            canceled = self.sink.cancel_open_lines(local.key)
        label = f"purchase order {order.number or order.id}"
        for warning in warnings:
            _log.warning("%s: %s", label, warning)
            self.sink.record_warning(local.key, warning)
        self.store.mark_written(claim, order.id, digest, order.number)
        return OrderOutcome(
            order.id,
            result,
            number=order.number,
            status=local.status,
            warnings=tuple(warnings),
            lines_canceled=int(canceled or 0),
            supplier_created=supplier_created,
        )

    def _build(
        self, order: PurchaseOrder, names: _Names
    ) -> tuple[SinkPurchaseOrder, list[str], bool]:
        """The local order, its warnings, and whether its supplier had to be created."""
        assert order.id is not None
        status = self.status_table.map(order.remote_status or order.status.value)
        vendor = names.vendor(order.vendor)
        supplier = self.sink.find_or_create_supplier(vendor)
        if not isinstance(supplier, LocalSupplier):
            raise ConfigurationError(
                f"{type(self.sink).__name__}.find_or_create_supplier must return a "
                f"LocalSupplier, not {type(supplier).__name__}"
            )
        warnings: list[str] = []
        if supplier.created:
            warnings.append(
                f"supplier {vendor.name or vendor.id!r} did not exist locally and was created "
                f"(local id {supplier.id})"
            )
        lines: list[SinkLine] = []
        for index, line in enumerate(order.lines):
            lines.append(self._line(order, index, line, names, warnings))
        keys = self.attributes
        local = SinkPurchaseOrder(
            key=order.id,
            number=order.number,
            vendor=vendor,
            supplier_id=supplier.id,
            status=status,
            remote_status=order.remote_status,
            date=order.date,
            currency=order.currency,
            lines=tuple(lines),
            memo=order.memo,
            attributes={keys.po_number: order.number, keys.record_id: order.id},
        )
        return local, warnings, supplier.created

    def _line(
        self,
        order: PurchaseOrder,
        index: int,
        line: PurchaseOrderLine,
        names: _Names,
        warnings: list[str],
    ) -> SinkLine:
        if line.line_id is None:
            raise MappingError(
                f"line {index + 1} of purchase order {order.number or order.id} has no line id, "
                "so receipts could not refer to it",
                backend=self.backend.name,
            )
        part = names.item(line.item)
        known = bool(self.sink.part_exists(part))
        if not known:
            warnings.append(
                f"line {line.line_id}: part {part.name or part.id!r} does not exist locally; "
                "parts are maintained by hand in both systems"
            )
        keys = self.attributes
        return SinkLine(
            key=line.line_id,
            part=part,
            part_known=known,
            quantity=line.quantity,
            quantity_received=line.quantity_received,
            unit_cost=line.rate,
            amount=line.amount,
            description=line.description,
            receivable=line.receivable,
            attributes={
                keys.line_id: _attribute_line_id(line.line_id),
                keys.non_receivable: not line.receivable,
            },
        )

    # -- push -------------------------------------------------------------------------------

    def handle_push(
        self, body: bytes, headers: Mapping[str, str], secret: str | bytes
    ) -> PushResult:
        """Sync the one purchase order a signed push names, now.

        ``body`` is the raw request body and ``headers`` the request headers: the
        signature (:data:`PUSH_SIGNATURE_HEADER`) is checked before anything is parsed;
        a bad one raises WebhookSignatureError and nothing is processed. A body that
        is not ``{"id": ...}`` (optionally with ``"recordType": "purchaseorder"``)
        raises InvalidRequestError. The order is fetched from the ERP (the body is not
        trusted for anything but the id); an order the ERP no longer has is deleted
        locally. A failed order is reported (``PushResult.ok`` False) and left for the
        next run to retry.
        """
        verify_push_signature(body, headers, secret)
        order_id = _push_order_id(body)
        self.backend.capabilities.require(
            "purchase_orders", "PurchaseOrderSync.handle_push", backend=self.backend.name
        )
        run_id = self.store.start_run(_PUSH_KIND, self.scope, tenant=self.tenant)
        try:
            outcome = self._process(order_id, self._fetch(order_id), _Names(self.backend))
        except BaseException as exc:
            self.store.finish_run(
                run_id,
                status="failed",
                errors=[RunError.from_exception(f"purchase order {order_id}", exc)],
            )
            raise
        report = _report_from(run_id, [outcome], (), ())
        self.store.finish_run(
            run_id,
            status="failed" if outcome.action == "failed" else "ok",
            counts=report.counts,
            errors=report.errors,
        )
        return PushResult(run_id, outcome)

    # -- receipts ---------------------------------------------------------------------------

    def receive(
        self,
        purchase_order_id: str,
        lines: Mapping[str, Decimal | int | str] | Iterable[ItemReceiptLine | LocalReceiptLine],
        *,
        receipt_key: str | None = None,
        date: date | None = None,
    ) -> ReceiptResult:
        """Create an item receipt in the ERP for goods received locally.

        ``lines`` gives quantities by ERP purchase order line id (``{"1": 4}``), as
        ItemReceiptLine values, or as :class:`LocalReceiptLine` values carrying the
        local line's attributes (the line id and the non-receivable flag are read from
        them through the :class:`AttributeMapping`). Lines the ERP will not receive
        (closed, non-receivable items) and lines flagged non-receivable locally are
        skipped and listed in the result.

        Idempotent: the receipt's external id comes from ``receipt_key`` (pass the local
        receipt's id; the same key with other lines raises ConflictError) or, without
        one, from the order, the lines and the date, so calling again after a crash or a
        lost response returns the receipt already made rather than a second one.
        Without a ``receipt_key``, two identical receipts on the same day are one
        receipt: pass keys when that can happen.

        Raises InvalidRequestError, before anything is sent, for an unknown line, a
        quantity that is not positive, or more than is still open on a line (every
        offending line is named); UnsupportedOperationError when the ERP has no item
        receipts (QuickBooks Online).
        """
        if not self.backend.capabilities.item_receipts:
            raise UnsupportedOperationError(
                f"{self.backend.name} has no item receipts, so goods received cannot be "
                "sent back to it",
                backend=self.backend.name,
                record=f"purchase order {purchase_order_id}",
                code="item_receipts",
                hint="QuickBooks Online records receiving through a Bill against the purchase "
                "order; check backend.capabilities.item_receipts before calling receive",
            )
        if not isinstance(purchase_order_id, str) or not purchase_order_id.strip():
            raise ConfigurationError("purchase_order_id must be the ERP's purchase order id")
        if receipt_key is not None and (not isinstance(receipt_key, str) or not receipt_key):
            raise ConfigurationError("receipt_key must be a non-empty string when given")
        requested = self._requested_lines(lines)
        day = date if date is not None else self._now().date()
        order = self.backend.get_purchase_order(purchase_order_id)
        label = f"purchase order {order.number or purchase_order_id}"
        accepted, skipped = self._select_lines(order, label, requested)
        if not accepted:
            _log.warning("%s: nothing to receive (every line skipped as non-receivable)", label)
            return ReceiptResult(None, tuple(skipped))
        external_id = _receipt_external_id(purchase_order_id, accepted, receipt_key, day)
        lines_hash = content_hash(
            [[line_id, str(quantity.normalize())] for line_id, quantity in sorted(accepted.items())]
        )
        receipt = self._receipt(purchase_order_id, day, accepted, external_id)
        outcome = write_once(
            self.store,
            LedgerTarget(self.scope, _RECEIPT, external_id, external_id, self.tenant),
            owner=self._owner,
            lease_seconds=self.lease_seconds,
            # The backend looks the external id up itself before every transform.
            find=lambda: None,
            create=lambda: self.backend.receive_purchase_order(receipt),
            identify=lambda written: (written.id or external_id, None),
            content_hash=lines_hash,
            # Only while no earlier attempt can have reached the ERP: once one may have,
            # its receipt may already be counted in the received quantities.
            precheck=lambda: self._check_open(order, label, accepted),
        )
        if outcome.record is None:
            return self._repeat(receipt, external_id, lines_hash, skipped, receipt_key)
        _log.info("%s: item receipt %s created (%s)", label, outcome.remote_id, external_id)
        return ReceiptResult(outcome.record, tuple(skipped), external_id=external_id)

    def _requested_lines(
        self,
        lines: Mapping[str, Decimal | int | str] | Iterable[ItemReceiptLine | LocalReceiptLine],
    ) -> list[tuple[str, Decimal, bool]]:
        """(line id, quantity, flagged non-receivable locally) for every requested line."""
        out: list[tuple[str, Decimal, bool]] = []
        if isinstance(lines, Mapping):
            for raw_id, quantity in lines.items():
                line_id = str(raw_id).strip()
                out.append((line_id, _quantity(quantity, f"lines[{line_id}]"), False))
        elif isinstance(lines, Iterable) and not isinstance(lines, str | bytes):
            for index, line in enumerate(lines):
                if isinstance(line, ItemReceiptLine):
                    out.append((line.line_id, line.quantity, False))
                elif isinstance(line, LocalReceiptLine):
                    raw_id = line.attributes.get(self.attributes.line_id)
                    if raw_id is None or isinstance(raw_id, bool) or not str(raw_id).strip():
                        raise InvalidRequestError(
                            f"receipt line {index + 1} has no {self.attributes.line_id!r} "
                            "attribute, so it cannot be matched to an ERP line",
                            field=f"lines[{index}].attributes.{self.attributes.line_id}",
                        )
                    line_id = str(raw_id).strip()
                    flagged = _truthy(line.attributes.get(self.attributes.non_receivable))
                    out.append((line_id, _quantity(line.quantity, f"lines[{line_id}]"), flagged))
                else:
                    raise ConfigurationError(
                        "receipt lines are a {line id: quantity} mapping, ItemReceiptLine or "
                        f"LocalReceiptLine values, not {type(line).__name__}"
                    )
        else:
            raise ConfigurationError(
                f"lines must be a mapping or an iterable of lines, not {type(lines).__name__}"
            )
        if not out:
            raise InvalidRequestError("a receipt needs at least one line", field="lines")
        seen: set[str] = set()
        for line_id, _, _ in out:
            if line_id in seen:
                raise InvalidRequestError(f"line {line_id} is listed twice", field="lines")
            seen.add(line_id)
        return out

    def _select_lines(
        self, order: PurchaseOrder, label: str, requested: list[tuple[str, Decimal, bool]]
    ) -> tuple[dict[str, Decimal], list[SkippedLine]]:
        by_id = {line.line_id: line for line in order.lines if line.line_id is not None}
        unknown = [line_id for line_id, _, _ in requested if line_id not in by_id]
        if unknown:
            raise InvalidRequestError(
                f"{label} has no line {', '.join(unknown)}",
                record=label,
                field="lines",
                detail=f"its lines are {', '.join(by_id) or 'none'}",
            )
        accepted: dict[str, Decimal] = {}
        skipped: list[SkippedLine] = []
        for line_id, quantity, flagged in requested:
            if flagged:
                reason = f"the local line is marked {self.attributes.non_receivable!r}"
            elif not by_id[line_id].receivable:
                reason = (
                    f"{self.backend.name} does not receive this line (closed or not receivable)"
                )
            else:
                accepted[line_id] = quantity
                continue
            skipped.append(SkippedLine(line_id, quantity, reason))
            _log.warning("%s line %s skipped: %s", label, line_id, reason)
        return accepted, skipped

    def _check_open(
        self, order: PurchaseOrder, label: str, accepted: Mapping[str, Decimal]
    ) -> None:
        problems = []
        for line in order.lines:
            if line.line_id is None or line.line_id not in accepted:
                continue
            wanted = accepted[line.line_id]
            open_quantity = max(line.quantity - line.quantity_received, Decimal(0))
            if wanted > open_quantity:
                problems.append(
                    f"line {line.line_id}: {wanted} requested but only {open_quantity} open "
                    f"(ordered {line.quantity}, received {line.quantity_received})"
                )
        if problems:
            raise InvalidRequestError(
                f"cannot receive more than is open on {label}",
                record=label,
                field="lines",
                detail="; ".join(problems),
                hint="nothing was sent to the ERP",
            )

    def _receipt(
        self, order_id: str, day: date, accepted: Mapping[str, Decimal], external_id: str
    ) -> ItemReceipt:
        try:
            return ItemReceipt(
                purchase_order_id=order_id,
                date=day,
                lines=[ItemReceiptLine(line_id=k, quantity=v) for k, v in accepted.items()],
                external_id=external_id,
            )
        except ValidationError as exc:
            raise InvalidRequestError(
                f"the receipt is not valid: {exc.errors()[0].get('msg', exc)}", field="lines"
            ) from None

    def _repeat(
        self,
        receipt: ItemReceipt,
        external_id: str,
        lines_hash: str,
        skipped: list[SkippedLine],
        receipt_key: str | None,
    ) -> ReceiptResult:
        entry = self.store.get(self.scope, _RECEIPT, external_id, tenant=self.tenant)
        if entry is None or entry.state != "written" or entry.remote_id is None:
            raise ConflictError(
                "this receipt is being written by another process right now",
                record=f"item receipt {external_id}",
                hint="call receive again in a moment; it will not make a second receipt",
            )
        if entry.content_hash is not None and entry.content_hash != lines_hash:
            raise ConflictError(
                f"receipt_key {receipt_key!r} was already used for a receipt with other lines",
                record=f"item receipt {external_id}",
                hint="use a new receipt_key for a new receipt",
            )
        if receipt_key is None:
            _log.warning(
                "purchase order %s: an identical receipt was already recorded today (%s); "
                "pass receipt_key if this is a second delivery",
                receipt.purchase_order_id,
                entry.remote_id,
            )
        return ReceiptResult(
            receipt.model_copy(update={"id": entry.remote_id}),
            tuple(skipped),
            repeated=True,
            external_id=external_id,
        )


def _receipt_external_id(
    order_id: str, accepted: Mapping[str, Decimal], receipt_key: str | None, day: date
) -> str:
    """A stable external id (NetSuite ``eid:``-safe) for one logical receipt."""
    material: list[Any]
    if receipt_key is not None:
        material = ["key", order_id, receipt_key]
    else:
        material = [
            "lines",
            order_id,
            day.isoformat(),
            [[k, str(v.normalize())] for k, v in sorted(accepted.items())],
        ]
    digest = hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()
    return f"erpsync-rcpt-{digest[:40]}"


def _report_from(
    run_id: int,
    outcomes: list[OrderOutcome],
    notes: Iterable[str],
    feed_errors: Iterable[RunError],
    *,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> PurchasingRunReport:
    errors = [
        RunError(record=o.label, message=o.error or "failed")
        for o in outcomes
        if o.action == "failed"
    ]
    errors.extend(feed_errors)
    now = _utc_now()
    return PurchasingRunReport(
        run_id=run_id,
        status="partial" if errors else "ok",
        started_at=started_at or now,
        finished_at=finished_at or now,
        outcomes=tuple(outcomes),
        notes=tuple(notes),
        errors=tuple(errors),
    )


def _constant(order: PurchaseOrder) -> Callable[[], PurchaseOrder | None]:
    return lambda: order


class _Run:
    """The state of one periodic run (kept out of PurchaseOrderSync so that a sync
    object holds configuration only and can serve pushes while a run is going)."""

    def __init__(self, sync: PurchaseOrderSync, lock: str) -> None:
        self.sync = sync
        self.lock = lock
        self.names = _Names(sync.backend)
        self.outcomes: list[OrderOutcome] = []
        self.notes: list[str] = []
        self.feed_errors: list[RunError] = []
        self.listed_at: datetime | None = None
        self._renewed = sync._now()

    def execute(self) -> PurchasingRunReport:
        sync = self.sync
        started = sync._now()
        # The run lock is held: a run still marked running belongs to a dead process.
        sync.store.abandon_runs(
            _RUN_KIND,
            sync.scope,
            "the process running this pass stopped before it finished",
            tenant=sync.tenant,
        )
        run_id = sync.store.start_run(_RUN_KIND, sync.scope, tenant=sync.tenant)
        try:
            record = sync.store.get_run(run_id)
            # In the store's clock, like the ledger timestamps it is compared with.
            self.listed_at = record.started_at if record is not None else None
            cursor = _Cursor.load(
                sync.cursor_name, sync.store.get_cursor(sync.cursor_name, tenant=sync.tenant)
            )
            retry = [
                entry.source_key
                for entry in sync.store.iter_entries(
                    sync.scope, _ORDER, "failed", tenant=sync.tenant
                )
            ]
            seen: set[str] = set()
            orders_mark = self._orders(cursor, seen)
            for order_id in retry:
                if order_id not in seen:
                    seen.add(order_id)
                    self._record(sync._process(order_id, sync._fetch(order_id), self.names))
            deleted_mark = self._deletions(cursor, started)
        except BaseException as exc:
            report = _report_from(run_id, self.outcomes, self.notes, self.feed_errors)
            sync.store.finish_run(
                run_id,
                status="failed",
                counts=report.counts,
                errors=[*report.errors, RunError.from_exception("purchasing run", exc)],
            )
            raise
        sync.store.set_cursor(
            sync.cursor_name,
            _Cursor(orders_mark[0], orders_mark[1], deleted_mark).dump(),
            tenant=sync.tenant,
        )
        report = _report_from(
            run_id,
            self.outcomes,
            self.notes,
            self.feed_errors,
            started_at=started,
            finished_at=sync._now(),
        )
        sync.store.finish_run(
            run_id, status=report.status, counts=report.counts, errors=report.errors
        )
        counts = report.counts
        _log.info(
            "purchasing run %s (%s): %s created, %s updated, %s deleted, %s unchanged, "
            "%s failed, %s warnings",
            run_id, sync.scope, counts["created"], counts["updated"], counts["deleted"],
            counts["unchanged"], counts["failed"], counts["warnings"],
        )  # fmt: skip
        return report

    def _record(self, outcome: OrderOutcome) -> None:
        self.outcomes.append(outcome)
        now = self.sync._now()
        if (now - self._renewed).total_seconds() > self.sync.run_lock_seconds / 3:
            if not self.sync.store.lock(self.lock, self.sync._owner, self.sync.run_lock_seconds):
                # Another run took the expired lock: carrying on would overlap it.
                raise _LostRunLock(
                    f"the purchasing run for {self.sync.scope} lost its lock to another run; "
                    "it stops here",
                    hint="raise run_lock_seconds above the longest time one order takes",
                )
            self._renewed = now

    def _orders(self, cursor: _Cursor, seen: set[str]) -> tuple[datetime | None, str | None]:
        """Apply the changed orders; return the new (updated_at, id) watermark."""
        sync = self.sync
        newest: FeedPosition | None = None
        if cursor.orders_at is not None and cursor.orders_id is not None:
            newest = FeedPosition.of(cursor.orders_at, cursor.orders_id)
        since: datetime | None
        if newest is not None:
            since = newest.since(sync.overlap)
        elif cursor.orders_at is not None:  # held back before an order another run held
            since = cursor.orders_at - sync.overlap
        else:
            since = sync.start_from
        held: datetime | None = None
        for order in sync.backend.iter_purchase_orders(modified_since=since):
            if order.id is None or order.id in seen:
                continue
            seen.add(order.id)
            outcome = sync._process(
                order.id, _constant(order), self.names, listed_since=self.listed_at
            )
            self._record(outcome)
            if order.updated_at is None:
                continue
            if outcome.action == "busy":
                held = order.updated_at if held is None else min(held, order.updated_at)
            mark = FeedPosition.of(order.updated_at, order.id)
            if newest is None or mark > newest:
                newest = mark
        if newest is None:
            return cursor.orders_at, cursor.orders_id
        if held is not None and held < newest.ts:
            # Stop just before the order another process holds: the next run lists it.
            return held, None
        return newest.ts, newest.id

    def _deletions(self, cursor: _Cursor, started: datetime) -> datetime | None:
        """Delete locally what the ERP deleted; return the new deletion watermark."""
        sync = self.sync
        if not sync.backend.capabilities.deleted_records:
            self.notes.append(
                f"{sync.backend.name} cannot list deleted records: purchase orders deleted "
                "there are not deleted locally"
            )
            return cursor.deleted_at
        since = (cursor.deleted_at or started) - sync.overlap
        newest: datetime | None = None
        held: datetime | None = None
        try:
            for record in sync.backend.iter_deleted(sync.deleted_record_type, since):
                outcome = sync._process(record.id, lambda: None, self.names)
                self._record(outcome)
                if outcome.action == "busy":
                    held = record.deleted_at if held is None else min(held, record.deleted_at)
                newest = record.deleted_at if newest is None else max(newest, record.deleted_at)
        except _LostRunLock:
            raise  # not a feed failure: the whole run must stop
        except ErpSyncError as exc:
            self.feed_errors.append(RunError.from_exception("deleted purchase orders", exc))
            _log.warning("purchasing run: the deleted-record feed failed: %s", exc)
            return cursor.deleted_at
        # With nothing deleted the watermark still moves to the run's start (QuickBooks'
        # change feed looks back 30 days at most); the overlap covers clock skew.
        mark = max(newest, started) if newest is not None else started
        if cursor.deleted_at is not None:
            mark = max(mark, cursor.deleted_at)
        if held is not None:
            mark = min(mark, held)
        return mark
