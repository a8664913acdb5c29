"""The periodic purchasing run: the changed-order feed, the retry of failed orders, the
deleted-order feed, all under one run lock and recorded in the run log.

*The cursor is the ERP's own clock.* The watermark is the newest ``updated_at`` seen
(ties broken by id), never the local clock, so clock skew between hosts cannot skip
changes; each run re-reads an ``overlap`` window behind it, because NetSuite's
``lastmodifieddate`` has one-second resolution and a transaction can become visible a
little after its timestamp. Re-reading is cheap: each written order's content hash is in
the ledger, and an unchanged order is not sent to the sink again.

Failed orders are fetched again by id at the start of the next run, so a permanently
broken order never holds back the cursor for the others. The only thing that holds the
cursor is an order another process is writing at that moment (a push racing the run):
the cursor stops just before it, so the next run lists it again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from erpsync.errors import ConflictError, ErpSyncError
from erpsync.store import RunError
from erpsync.sync._common import FeedPosition
from erpsync.sync.purchasing.build import Names
from erpsync.sync.purchasing.context import ORDER, Context
from erpsync.sync.purchasing.cursor import Cursor
from erpsync.sync.purchasing.orders import constant, fetch, process
from erpsync.sync.purchasing.reports import OrderOutcome, PurchasingRunReport, report_from

__all__ = ["RUN_KIND", "run"]

_log = logging.getLogger(__name__)

#: The run log kind of a periodic run.
RUN_KIND = "purchasing"


class _LostRunLock(ConflictError):
    """The run's lock expired and another run took it: this run must stop at once."""


def run(ctx: Context) -> PurchasingRunReport:
    """:meth:`PurchaseOrderSync.run` (its docstring says what it promises)."""
    ctx.backend.capabilities.require(
        "purchase_orders", "PurchaseOrderSync.run", backend=ctx.backend.name
    )
    lock = f"purchasing-run:{ctx.scope}:{ctx.tenant}"
    if not ctx.store.lock(lock, ctx.owner, ctx.run_lock_seconds):
        raise ConflictError(
            f"another purchasing run for {ctx.scope} is in progress",
            hint="runs of one scope never overlap; try again when it has finished",
        )
    try:
        return _Run(ctx, lock).execute()
    finally:
        ctx.store.unlock(lock, ctx.owner)


class _Run:
    """The state of one periodic run (kept out of PurchaseOrderSync so that a sync
    object holds configuration only and can serve pushes while a run is going)."""

    def __init__(self, ctx: Context, lock: str) -> None:
        self.ctx = ctx
        self.lock = lock
        self.names = Names(ctx.backend)
        self.outcomes: list[OrderOutcome] = []
        self.notes: list[str] = []
        self.feed_errors: list[RunError] = []
        self.listed_at: datetime | None = None
        self._renewed = ctx.now()

    def execute(self) -> PurchasingRunReport:
        ctx = self.ctx
        started = ctx.now()
        # The run lock is held: a run still marked running belongs to a dead process.
        ctx.store.abandon_runs(
            RUN_KIND,
            ctx.scope,
            "the process running this pass stopped before it finished",
            tenant=ctx.tenant,
        )
        run_id = ctx.store.start_run(RUN_KIND, ctx.scope, tenant=ctx.tenant)
        try:
            cursor = self._feeds(run_id, started)
        except BaseException as exc:
            report = report_from(run_id, self.outcomes, self.notes, self.feed_errors)
            ctx.store.finish_run(
                run_id,
                status="failed",
                counts=report.counts,
                errors=[*report.errors, RunError.from_exception("purchasing run", exc)],
            )
            raise
        ctx.store.set_cursor(ctx.cursor_name, cursor.dump(), tenant=ctx.tenant)
        return self._finish(run_id, started)

    def _feeds(self, run_id: int, started: datetime) -> Cursor:
        """Read every feed; return where they stopped."""
        ctx = self.ctx
        record = ctx.store.get_run(run_id)
        # In the store's clock, like the ledger timestamps it is compared with.
        self.listed_at = record.started_at if record is not None else None
        cursor = Cursor.load(
            ctx.cursor_name, ctx.store.get_cursor(ctx.cursor_name, tenant=ctx.tenant)
        )
        retry = [
            entry.source_key
            for entry in ctx.store.iter_entries(ctx.scope, ORDER, "failed", tenant=ctx.tenant)
        ]
        seen: set[str] = set()
        orders_at, orders_id = self._orders(cursor, seen)
        for order_id in retry:
            if order_id not in seen:
                seen.add(order_id)
                self._record(process(ctx, order_id, fetch(ctx, order_id), self.names))
        return Cursor(orders_at, orders_id, self._deletions(cursor, started))

    def _finish(self, run_id: int, started: datetime) -> PurchasingRunReport:
        ctx = self.ctx
        report = report_from(
            run_id, self.outcomes, self.notes, self.feed_errors,
            started_at=started, finished_at=ctx.now(),
        )  # fmt: skip
        ctx.store.finish_run(
            run_id, status=report.status, counts=report.counts, errors=report.errors
        )
        counts = report.counts
        _log.info(
            "purchasing run %s (%s): %s created, %s updated, %s deleted, %s unchanged, "
            "%s failed, %s warnings",
            run_id, ctx.scope, counts["created"], counts["updated"], counts["deleted"],
            counts["unchanged"], counts["failed"], counts["warnings"],
        )  # fmt: skip
        return report

    def _record(self, outcome: OrderOutcome) -> None:
        self.outcomes.append(outcome)
        now = self.ctx.now()
        if (now - self._renewed).total_seconds() > self.ctx.run_lock_seconds / 3:
            if not self.ctx.store.lock(self.lock, self.ctx.owner, self.ctx.run_lock_seconds):
                # Another run took the expired lock: carrying on would overlap it.
                raise _LostRunLock(
                    f"the purchasing run for {self.ctx.scope} lost its lock to another run; "
                    "it stops here",
                    hint="raise run_lock_seconds above the longest time one order takes",
                )
            self._renewed = now

    def _orders(self, cursor: Cursor, seen: set[str]) -> tuple[datetime | None, str | None]:
        """Apply the changed orders; return the new (updated_at, id) watermark."""
        ctx = self.ctx
        newest: FeedPosition | None = None
        if cursor.orders_at is not None and cursor.orders_id is not None:
            newest = FeedPosition.of(cursor.orders_at, cursor.orders_id)
        since: datetime | None
        if newest is not None:
            since = newest.since(ctx.overlap)
        elif cursor.orders_at is not None:  # held back before an order another run held
            since = cursor.orders_at - ctx.overlap
        else:
            since = ctx.start_from
        held: datetime | None = None
        for order in ctx.backend.iter_purchase_orders(modified_since=since):
            if order.id is None or order.id in seen:
                continue
            seen.add(order.id)
            outcome = process(
                ctx, order.id, constant(order), self.names, listed_since=self.listed_at
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

    def _deletions(self, cursor: Cursor, started: datetime) -> datetime | None:
        """Delete locally what the ERP deleted; return the new deletion watermark."""
        ctx = self.ctx
        if not ctx.backend.capabilities.deleted_records:
            self.notes.append(
                f"{ctx.backend.name} cannot list deleted records: purchase orders deleted "
                "there are not deleted locally"
            )
            return cursor.deleted_at
        since = (cursor.deleted_at or started) - ctx.overlap
        newest: datetime | None = None
        held: datetime | None = None
        try:
            for record in ctx.backend.iter_deleted(ctx.deleted_record_type, since):
                outcome = process(ctx, record.id, lambda: None, self.names)
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
