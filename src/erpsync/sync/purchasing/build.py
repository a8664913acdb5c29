"""An ERP purchase order translated into the local system's terms (a
:class:`~erpsync.sync.sinks.SinkPurchaseOrder`): status through the status table,
supplier found or created, parts checked, the attributes that lead back to the ERP.

Nothing here writes the order; :mod:`erpsync.sync.purchasing.orders` does, as one unit.
"""

from __future__ import annotations

from collections.abc import Callable

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError, MappingError
from erpsync.models import PurchaseOrder, PurchaseOrderLine, Ref
from erpsync.sync.purchasing.attributes import attribute_line_id
from erpsync.sync.purchasing.context import Context
from erpsync.sync.sinks import LocalSupplier, SinkLine, SinkPurchaseOrder

__all__ = ["Names", "build_order"]


class Names:
    """Vendor and item names for refs that arrived without them (SuiteQL listings carry
    ids only), fetched once per run: the sink matches suppliers and parts by name."""

    def __init__(self, backend: AccountingBackend) -> None:
        self._backend = backend
        self._vendors: dict[str, Ref] = {}
        self._items: dict[str, Ref] = {}

    def vendor(self, ref: Ref) -> Ref:
        return _named(ref, self._vendors, lambda: self._backend.get_vendor(ref.id).name)

    def item(self, ref: Ref) -> Ref:
        return _named(ref, self._items, lambda: self._backend.get_item(ref.id).name)


def _named(ref: Ref, known: dict[str, Ref], name: Callable[[], str | None]) -> Ref:
    """``ref`` with its name, looked up (once per id) when it came without one."""
    if ref.name:
        return ref
    if ref.id not in known:
        known[ref.id] = Ref(id=ref.id, name=name())
    return known[ref.id]


def build_order(
    ctx: Context, order: PurchaseOrder, names: Names
) -> tuple[SinkPurchaseOrder, list[str], bool]:
    """The local order, its warnings, and whether its supplier had to be created."""
    assert order.id is not None  # callers key orders by id
    status = ctx.status_table.map(order.remote_status or order.status.value)
    vendor = names.vendor(order.vendor)
    supplier = ctx.sink.find_or_create_supplier(vendor)
    if not isinstance(supplier, LocalSupplier):
        raise ConfigurationError(
            f"{type(ctx.sink).__name__}.find_or_create_supplier must return a "
            f"LocalSupplier, not {type(supplier).__name__}"
        )
    warnings: list[str] = []
    if supplier.created:
        warnings.append(
            f"supplier {vendor.name or vendor.id!r} did not exist locally and was created "
            f"(local id {supplier.id})"
        )
    lines = [
        _line(ctx, order, index, line, names, warnings) for index, line in enumerate(order.lines)
    ]
    keys = ctx.attributes
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
    ctx: Context,
    order: PurchaseOrder,
    index: int,
    line: PurchaseOrderLine,
    names: Names,
    warnings: list[str],
) -> SinkLine:
    if line.line_id is None:
        raise MappingError(
            f"line {index + 1} of purchase order {order.number or order.id} has no line id, "
            "so receipts could not refer to it",
            backend=ctx.backend.name,
        )
    part = names.item(line.item)
    known = bool(ctx.sink.part_exists(part))
    if not known:
        warnings.append(
            f"line {line.line_id}: part {part.name or part.id!r} does not exist locally; "
            "parts are maintained by hand in both systems"
        )
    keys = ctx.attributes
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
            keys.line_id: attribute_line_id(line.line_id),
            keys.non_receivable: not line.receivable,
        },
    )
