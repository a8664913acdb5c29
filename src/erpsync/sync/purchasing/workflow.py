""":class:`PurchaseOrderSync`: the purchasing workflow's settings and its three verbs
(run, handle_push, receive), each delegated to the module that does that one job.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime, timedelta

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError
from erpsync.mapping.status import NETSUITE_PO_TO_ION, StatusTable
from erpsync.store import SyncStore, make_owner
from erpsync.sync.ledger import resolve_tenant
from erpsync.sync.purchasing import push, receipts
from erpsync.sync.purchasing import run as periodic
from erpsync.sync.purchasing.attributes import AttributeMapping
from erpsync.sync.purchasing.context import Context
from erpsync.sync.purchasing.reports import PurchasingRunReport, PushResult, ReceiptResult
from erpsync.sync.runs import ExclusiveRun
from erpsync.sync.sinks import PurchasingSink

__all__ = ["PurchaseOrderSync"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        _check_parts(backend, sink, status_table, store)
        if not isinstance(overlap, timedelta) or overlap < timedelta(0):
            raise ConfigurationError("overlap must be a non-negative timedelta")
        if isinstance(cancel_statuses, str):
            raise ConfigurationError("cancel_statuses is a collection of statuses, not one string")
        _check_seconds(lease_seconds, "lease_seconds")
        _check_seconds(run_lock_seconds, "run_lock_seconds")
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
        self._exclusive: tuple[tuple[object, ...], ExclusiveRun] | None = None

    def __repr__(self) -> str:
        return (
            f"PurchaseOrderSync(backend={self.backend.name!r}, scope={self.scope!r}, "
            f"tenant={self.tenant!r}, "
            f"status_table={self.status_table.name!r})"
        )

    @property
    def cursor_name(self) -> str:
        """The store cursor holding this sync's watermarks."""
        return self._context().cursor_name

    def _context(self) -> Context:
        return Context(
            backend=self.backend,
            sink=self.sink,
            status_table=self.status_table,
            store=self.store,
            attributes=self.attributes,
            overlap=self.overlap,
            cancel_statuses=frozenset(self.cancel_statuses),
            scope=self.scope,
            tenant=self.tenant,
            start_from=self.start_from,
            deleted_record_type=self.deleted_record_type,
            lease_seconds=self.lease_seconds,
            run_lock_seconds=self.run_lock_seconds,
            clock=self._clock,
            owner=self._owner,
        )

    def run(self) -> PurchasingRunReport:
        """Mirror every purchase order changed (or deleted) since the last run, retry
        the orders that failed before, and record the run in the store's run log.

        Runs of one scope and tenant never overlap (:mod:`erpsync.sync.runs`): a second
        one, from any process sharing the store or from this object, raises
        :class:`~erpsync.sync.runs.SyncBusyError` (a ConflictError). The run's lock is a
        lease of ``run_lock_seconds``, renewed between orders and in the background
        during a slow one; a run whose lease lapsed and was taken by another run stops
        with :class:`~erpsync.sync.runs.LockLostError` instead of overlapping it. An
        error that stops the listing itself, such as an authentication failure, is
        re-raised after the run is logged as ``failed``.
        """
        context = self._context()
        return periodic.run(context, self._exclusive_run(context))

    def _exclusive_run(self, context: Context) -> ExclusiveRun:
        """One ExclusiveRun per store, scope and tenant, kept: its thread lock keeps two
        threads running this object apart (the store lock is re-entrant per owner)."""
        key = (id(context.store), context.scope, context.tenant, context.run_lock_seconds)
        if self._exclusive is None or self._exclusive[0] != key:
            self._exclusive = (key, periodic.exclusive_run(context))
        return self._exclusive[1]

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
        return push.handle_push(self._context(), body, headers, secret)

    def receive(
        self,
        purchase_order_id: str,
        lines: receipts.ReceiptLines,
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
        return receipts.receive(self._context(), purchase_order_id, lines, receipt_key, date)


def _check_parts(backend: object, sink: object, status_table: object, store: object) -> None:
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


def _check_seconds(seconds: object, name: str) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds")
