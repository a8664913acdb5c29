"""The periodic purchasing run: the changed-order feed, the retry of failed orders and
the deleted-order feed, as one exclusive run (:mod:`erpsync.sync.runs`: lock lease,
renewal, fencing, run log) over two feeds (:mod:`erpsync.sync.feed`).

*The cursor is the ERP's own clock.* Each feed's position is the newest ``updated_at``
(or deletion time) seen, ties broken by id, never the local clock, so clock skew
between hosts cannot skip changes; each run re-reads an ``overlap`` window behind it,
because NetSuite's ``lastmodifieddate`` has one-second resolution and a transaction can
become visible a little after its timestamp. Re-reading is cheap: each written order's
content hash is in the ledger, and an unchanged order is not sent to the sink again,
so the feeds keep no seen set.

Failed orders are fetched again by id at the start of the next run, so a permanently
broken order never holds back the cursor for the others. The only thing that holds a
feed is an order another process is writing at that moment (a push racing the run):
the feed stops just before it, so the next run lists it again. Both feeds are
committed only after every order of the run was applied.
"""

from __future__ import annotations

import logging
from datetime import datetime

from erpsync.errors import ErpSyncError
from erpsync.store import RunError
from erpsync.sync.feed import Feed, FeedWindow
from erpsync.sync.purchasing.build import Names
from erpsync.sync.purchasing.context import ORDER, Context
from erpsync.sync.purchasing.orders import constant, fetch, process
from erpsync.sync.purchasing.reports import (
    OrderOutcome,
    PurchasingRunReport,
    outcome_counts,
    outcome_errors,
    report_from,
)
from erpsync.sync.purchasing.upgrade import upgrade_cursor
from erpsync.sync.runs import ActiveRun, ExclusiveRun, LockLostError

__all__ = ["RUN_KIND", "exclusive_run", "run"]

_log = logging.getLogger(__name__)

#: The run log kind of a periodic run.
RUN_KIND = "purchasing"
_LABEL = "purchasing run"


def exclusive_run(ctx: Context) -> ExclusiveRun:
    """The exclusive run of one sync's scope and tenant (one per PurchaseOrderSync, so
    that its thread lock also keeps two threads of one process apart)."""
    return ExclusiveRun(
        ctx.store,
        RUN_KIND,
        ctx.scope,
        tenant=ctx.tenant,
        owner=ctx.owner,
        ttl=ctx.run_lock_seconds,
        what=f"purchasing run for {ctx.scope}",
        clock=ctx.now,
    )


def run(ctx: Context, exclusive: ExclusiveRun) -> PurchasingRunReport:
    """:meth:`PurchaseOrderSync.run` (its docstring says what it promises)."""
    ctx.backend.capabilities.require(
        "purchase_orders", "PurchaseOrderSync.run", backend=ctx.backend.name
    )
    with exclusive.start(label=_LABEL) as active:
        return _Run(ctx, active).execute()


class _Run:
    """The state of one periodic run (kept out of PurchaseOrderSync so that a sync
    object holds configuration only and can serve pushes while a run is going)."""

    def __init__(self, ctx: Context, active: ActiveRun) -> None:
        self.ctx = ctx
        self.active = active
        self.names = Names(ctx.backend)
        self.outcomes: list[OrderOutcome] = []
        self.notes: list[str] = []
        self.feed_errors: list[RunError] = []
        self.listed_at: datetime | None = None
        active.progress = lambda: (
            outcome_counts(self.outcomes),
            [*outcome_errors(self.outcomes), *self.feed_errors],
        )

    def execute(self) -> PurchasingRunReport:
        ctx = self.ctx
        started = ctx.now()
        deleted_name = f"{ctx.cursor_name}.deleted"
        upgrade_cursor(ctx.store, ctx.cursor_name, deleted_name, tenant=ctx.tenant)
        orders = Feed(
            ctx.store, ctx.cursor_name, tenant=ctx.tenant, overlap=ctx.overlap,
            track_seen=False, start_from=ctx.start_from,
        )  # fmt: skip
        # A deletion feed never read starts at this run: older deletions are of orders
        # the first run never mirrored.
        deletions = Feed(
            ctx.store, deleted_name, tenant=ctx.tenant, overlap=ctx.overlap,
            track_seen=False, start_from=started - ctx.overlap,
        )  # fmt: skip
        # In the store's clock, like the ledger timestamps it is compared with.
        self.listed_at = self.active.started_at()
        order_window = orders.open()
        retry = [
            entry.source_key
            for entry in ctx.store.iter_entries(ctx.scope, ORDER, "failed", tenant=ctx.tenant)
        ]
        seen: set[str] = set()
        self._orders(order_window, seen)
        for order_id in retry:
            if order_id not in seen:
                seen.add(order_id)
                self._record(process(ctx, order_id, fetch(ctx, order_id), self.names))
        deleted_window = self._deletions(deletions, started)
        orders.commit(order_window)
        if deleted_window is not None:
            deletions.commit(deleted_window)
        return self._finish(started)

    def _finish(self, started: datetime) -> PurchasingRunReport:
        ctx = self.ctx
        report = report_from(
            self.active.id, self.outcomes, self.notes, self.feed_errors,
            started_at=started, finished_at=ctx.now(),
        )  # fmt: skip
        self.active.finish(counts=report.counts, errors=report.errors, status=report.status)
        counts = report.counts
        _log.info(
            "purchasing run %s (%s): %s created, %s updated, %s deleted, %s unchanged, "
            "%s failed, %s warnings",
            self.active.id, ctx.scope, counts["created"], counts["updated"],
            counts["deleted"], counts["unchanged"], counts["failed"], counts["warnings"],
        )  # fmt: skip
        return report

    def _record(self, outcome: OrderOutcome) -> None:
        self.outcomes.append(outcome)
        # Between orders: renew the run's lease; LockLostError if another run took it.
        self.active.renew()

    def _orders(self, window: FeedWindow, seen: set[str]) -> None:
        """Apply the orders changed since the feed's position."""
        ctx = self.ctx
        for order in ctx.backend.iter_purchase_orders(modified_since=window.since):
            if order.id is None or order.id in seen:
                continue
            seen.add(order.id)
            outcome = process(
                ctx, order.id, constant(order), self.names, listed_since=self.listed_at
            )
            self._record(outcome)
            window.admit(order.updated_at, order.id)
            if outcome.action == "busy":
                window.hold(order.updated_at)

    def _deletions(self, feed: Feed, started: datetime) -> FeedWindow | None:
        """Delete locally what the ERP deleted; the window to commit (None: the feed
        failed or does not exist, and stays where it was)."""
        ctx = self.ctx
        if not ctx.backend.capabilities.deleted_records:
            self.notes.append(
                f"{ctx.backend.name} cannot list deleted records: purchase orders deleted "
                "there are not deleted locally"
            )
            return None
        window = feed.open()
        assert window.since is not None  # start_from is always given
        try:
            for record in ctx.backend.iter_deleted(ctx.deleted_record_type, window.since):
                outcome = process(ctx, record.id, lambda: None, self.names)
                self._record(outcome)
                window.admit(record.deleted_at, record.id)
                if outcome.action == "busy":
                    window.hold(record.deleted_at)
        except LockLostError:
            raise  # not a feed failure: the whole run must stop
        except ErpSyncError as exc:
            self.feed_errors.append(RunError.from_exception("deleted purchase orders", exc))
            _log.warning("purchasing run: the deleted-record feed failed: %s", exc)
            return None
        # With nothing deleted the feed still moves to the run's start (QuickBooks'
        # change feed looks back 30 days at most); the overlap covers clock skew.
        window.reach(started)
        return window
