"""NetSuite items <-> models: ``itemtype`` codes and REST record types per kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from erpsync.errors import InvalidRequestError
from erpsync.models import (
    Item,
)
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.values import (
    WireReader,
    label_key,
    put,
    status_parts,
    usable_external_id,
)

#: NetSuite ``itemtype`` -> the model's ``kind``.
ITEM_KINDS: Final[Mapping[str, str]] = {
    "InvtPart": "inventory",
    "NonInvtPart": "non_inventory",
    "Service": "service",
    "OthCharge": "other_charge",
    "Kit": "kit",
    "Assembly": "assembly",
    "Discount": "discount",
    "Markup": "markup",
    "Payment": "payment",
    "Subtotal": "subtotal",
    "Description": "description",
    "GiftCert": "gift_certificate",
    "Group": "group",
}
#: The model's ``kind`` -> the REST record type a new item is created as.
ITEM_RECORD_TYPES: Final[Mapping[str, str]] = {
    "inventory": "inventoryItem",
    "non_inventory": "nonInventorySaleItem",
    "service": "serviceSaleItem",
    "other_charge": "otherChargeSaleItem",
}
_ITEM_LABEL_KINDS: Final[Mapping[str, str]] = {
    "inventoryitem": "inventory",
    "noninventoryitem": "non_inventory",
    "service": "service",
    "othercharge": "other_charge",
}


# -- items -------------------------------------------------------------------------------


def item_record_type(kind: str | None) -> str:
    """The REST record type to create an item of ``kind`` as (service by default)."""
    if kind is None:
        return "serviceSaleItem"
    record_type = ITEM_RECORD_TYPES.get(kind)
    if record_type is None:
        raise InvalidRequestError(
            f"cannot create an item of kind {kind!r} in NetSuite; use one of "
            f"{', '.join(sorted(ITEM_RECORD_TYPES))}",
            backend=BACKEND,
            field="kind",
        )
    return record_type


def item_to_wire(item: Item, *, external_id: str | None = None) -> dict[str, Any]:
    """An item body (``itemId`` is the unique name)."""
    body: dict[str, Any] = {"itemId": item.name, "displayName": item.name}
    put(body, "externalId", external_id or item.external_id)
    return body


def item_from_row(row: Any) -> Item:
    """An item from a SuiteQL ``item`` row (``itemtype`` a code such as ``Service``)."""
    reader = WireReader(row, f"item {row.get('id') if isinstance(row, Mapping) else '?'}")
    itemtype = reader.text("itemtype")
    return reader.build(
        Item,
        id=reader.required_text("id"),
        external_id=usable_external_id(reader.text("externalid")),
        name=reader.text("itemid") or reader.text("displayname") or reader.required_text("itemid"),
        kind=ITEM_KINDS.get(itemtype, itemtype.lower()) if itemtype else None,
        for_sale=_for_sale(reader.text("subtype")),
        updated_at=reader.timestamp("lastmodified"),
    )


def _for_sale(subtype: str | None) -> bool | None:
    """NetSuite's item ``subtype``: "Sale" and "Resale" items can be invoiced, "Purchase"
    items cannot (the invoice is refused with INVALID_KEY_OR_REF); other items have none."""
    if subtype is None:
        return None
    return subtype.strip().lower() != "purchase"


def item_from_wire(data: Any) -> Item:
    """An item from its REST record (``itemType`` is ``{"id": "Service", ...}``)."""
    reader = WireReader(data, f"item {data.get('id') if isinstance(data, Mapping) else '?'}")
    code, label = status_parts(reader, "itemType")
    kind = ITEM_KINDS.get(code or "") or (
        _ITEM_LABEL_KINDS.get(label_key(label)) if label else None
    )
    return reader.build(
        Item,
        id=reader.required_text("id"),
        external_id=usable_external_id(reader.text("externalId")),
        name=reader.text("itemId") or reader.required_text("displayName"),
        kind=kind or (code.lower() if code else None),
        updated_at=reader.timestamp("lastModifiedDate"),
    )
