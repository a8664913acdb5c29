"""One purchase order applied to the local system as one unit: claimed in the ledger,
built, sent to the sink (or deleted there), recorded with its content hash.

Everything that can fail for one order (the ERP, a sink exception, a status the table
does not know) fails that order only: it is marked ``failed`` in the ledger, and the
next run fetches it again by id. An order another process holds is ``busy``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from erpsync.errors import ConfigurationError, NotFoundError
from erpsync.models import PurchaseOrder
from erpsync.store import Claim, content_hash
from erpsync.sync.purchasing.build import Names, build_order
from erpsync.sync.purchasing.context import ORDER, Context
from erpsync.sync.purchasing.reports import OrderOutcome, describe

__all__ = ["DELETED", "constant", "fetch", "process"]

_log = logging.getLogger(__name__)

#: Ledger content hash of an order that was deleted (in the ERP, then locally).
DELETED = "deleted"

Loader = Callable[[], PurchaseOrder | None]


def fetch(ctx: Context, order_id: str) -> Loader:
    """Load an order fresh from the ERP; None when the ERP no longer has it."""

    def load() -> PurchaseOrder | None:
        try:
            return ctx.backend.get_purchase_order(order_id)
        except NotFoundError:
            return None

    return load


def constant(order: PurchaseOrder) -> Loader:
    """A loader for an order already in hand (listed by the feed)."""
    return lambda: order


def process(
    ctx: Context,
    order_id: str,
    load: Loader,
    names: Names,
    *,
    listed_since: datetime | None = None,
) -> OrderOutcome:
    """Apply one order (or its deletion, when ``load`` finds none) as one unit.

    ``listed_since`` (a store timestamp) marks ``load`` as giving a copy listed at
    that time: if another process (a push) wrote the order after it, the listed
    copy may be older than what is already applied, so the order is fetched afresh.
    """
    claim = ctx.store.claim(
        ctx.scope,
        ORDER,
        order_id,
        owner=ctx.owner,
        lease_seconds=ctx.lease_seconds,
        reclaim_written=True,
        tenant=ctx.tenant,
    )
    if claim is None:
        _log.info("purchase order %s is being synced by another process", order_id)
        return OrderOutcome(order_id, "busy")
    number: str | None = None
    try:
        if listed_since is not None and claim.previous_state == "written":
            entry = ctx.store.get(ctx.scope, ORDER, order_id, tenant=ctx.tenant)
            if entry is not None and entry.updated_at >= listed_since:
                load = fetch(ctx, order_id)
        order = load()
        if order is None:
            return _apply_deletion(ctx, claim, order_id)
        number = order.number
        return _apply_order(ctx, claim, order, names)
    except Exception as exc:  # a sink is user code: any failure fails this order only
        text = describe(exc)
        ctx.store.mark_failed(claim, text)
        outcome = OrderOutcome(order_id, "failed", number=number, error=text)
        _log.warning("%s failed and will be retried next run: %s", outcome.label, text)
        return outcome


def _apply_deletion(ctx: Context, claim: Claim, order_id: str) -> OrderOutcome:
    if claim.previous_state == "written" and claim.content_hash == DELETED:
        ctx.store.release(claim)
        return OrderOutcome(order_id, "unchanged")
    existed = ctx.sink.delete_purchase_order(order_id)
    ctx.store.mark_written(claim, order_id, DELETED)
    if existed:
        _log.info(
            "purchase order %s was deleted in %s; deleted locally", order_id, ctx.backend.name
        )
    return OrderOutcome(order_id, "deleted" if existed else "unchanged")


def _apply_order(ctx: Context, claim: Claim, order: PurchaseOrder, names: Names) -> OrderOutcome:
    assert order.id is not None  # callers key orders by id
    local, warnings, supplier_created = build_order(ctx, order, names)
    digest = content_hash(local.to_dict())
    if claim.previous_state == "written" and claim.content_hash == digest:
        ctx.store.release(claim)
        return OrderOutcome(order.id, "unchanged", number=order.number, status=local.status)
    result = ctx.sink.upsert_purchase_order(local)
    if result not in ("created", "updated"):
        raise ConfigurationError(
            f"{type(ctx.sink).__name__}.upsert_purchase_order returned {result!r}; "
            "it must return 'created' or 'updated'"
        )
    canceled = 0
    if local.status in ctx.cancel_statuses:
        canceled = ctx.sink.cancel_open_lines(local.key)
    label = f"purchase order {order.number or order.id}"
    for warning in warnings:
        _log.warning("%s: %s", label, warning)
        ctx.sink.record_warning(local.key, warning)
    ctx.store.mark_written(claim, order.id, digest, order.number)
    return OrderOutcome(
        order.id,
        result,
        number=order.number,
        status=local.status,
        warnings=tuple(warnings),
        lines_canceled=int(canceled or 0),
        supplier_created=supplier_created,
    )
