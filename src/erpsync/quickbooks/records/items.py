"""QuickBooks items <-> models (Service, NonInventory, Inventory)."""

from __future__ import annotations

from typing import Any

from erpsync.errors import InvalidRequestError
from erpsync.models import (
    Item,
)
from erpsync.quickbooks.errors import BACKEND
from erpsync.quickbooks.values import (
    WireReader,
)

_ITEM_KINDS = {"Service": "service", "NonInventory": "non_inventory", "Inventory": "inventory"}
_ITEM_TYPES = {v: k for k, v in _ITEM_KINDS.items()}


def item_from_wire(wire: Any) -> Item:
    r = WireReader(wire, "Item")
    kind = r.text("Type")
    return r.build(
        Item,
        id=r.text("Id", required=True),
        external_id=None,
        name=r.text("Name", required=True),
        kind=_ITEM_KINDS.get(kind or "", kind.lower() if kind else None),
        updated_at=r.updated_at(),
    )


def item_to_wire(
    item: Item, *, income_account: str | None, expense_account: str | None
) -> dict[str, Any]:
    """A create body for a service or non-inventory item (inventory items need an asset
    account, a quantity and a start date that the model does not carry)."""
    kind = item.kind or "service"
    item_type = _ITEM_TYPES.get(kind)
    if item_type is None or item_type == "Inventory":
        raise InvalidRequestError(
            f"items of kind {kind!r} cannot be created through erpsync; use 'service' or "
            "'non_inventory' (inventory items need QuickBooks' own setup)",
            backend=BACKEND,
            record=f"item {item.name}",
            field="kind",
        )
    body: dict[str, Any] = {"Name": item.name, "Type": item_type}
    if income_account:
        body["IncomeAccountRef"] = {"value": income_account}
    if expense_account and item_type == "NonInventory":
        body["ExpenseAccountRef"] = {"value": expense_account}
    return body
