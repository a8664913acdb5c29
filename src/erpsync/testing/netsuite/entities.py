"""The rules of NetSuite's entities (customers, vendors) and items.

An entity needs a person's first and last name or a company name, a unique entity id
and, in a OneWorld account, a subsidiary (whose currency it takes by default); an item
needs a unique name, and a new one posts to the account types its kind uses unless told.
"""

# ruff: noqa: S608 -- table names in f-strings come from the fixed schema, never a request.

from __future__ import annotations

from typing import Any

from erpsync.testing.netsuite.db import Database
from erpsync.testing.netsuite.errors import user_error
from erpsync.testing.netsuite.types import RecordType

__all__ = ["entity_values", "item_values"]

#: The accounts an item of a type posts to unless given: (column, account type).
ITEM_ACCOUNTS = {
    "InvtPart": (
        ("cogsaccount", "COGS"),
        ("assetaccount", "OthCurrAsset"),
        ("incomeaccount", "Income"),
    ),
    "NonInvtPart": (("incomeaccount", "Income"),),
    "Service": (("incomeaccount", "Income"),),
}


def entity_values(
    db: Database,
    rt: RecordType,
    given: dict[str, Any],
    merged: dict[str, Any],
    rid: int | None,
    require_subsidiary: bool,
) -> dict[str, Any]:
    """A customer's or vendor's columns: its display name from the person's or company's
    name, a unique entity id, and the subsidiary (with its currency) OneWorld needs."""
    values = dict(given)
    person = merged.get("isperson") == "T"
    if person:
        if not merged.get("firstname") or not merged.get("lastname"):
            raise user_error("Please enter value(s) for: First Name, Last Name", "firstName")
        display = f"{merged['firstname']} {merged['lastname']}"
    else:
        if not merged.get("companyname"):
            raise user_error("Please enter value(s) for: Company Name", "companyName")
        display = str(merged["companyname"])
    values["altname"] = display
    if not merged.get("entityid"):
        values["entityid"] = display
    entity_id = values.get("entityid", merged.get("entityid"))
    clash = db.one(
        f'SELECT id FROM "{rt.table}" WHERE entityid = ? AND id IS NOT ?', (entity_id, rid)
    )
    if clash is not None:
        raise user_error(
            f"A {rt.name} record with this ID already exists. You must enter a unique "
            f"{rt.name} ID for each record you create.",
            "entityId",
        )
    if merged.get("subsidiary") is None:
        if require_subsidiary:
            raise user_error("Please enter value(s) for: Primary Subsidiary", "subsidiary")
    elif merged.get("currency") is None:
        sub = db.one("SELECT currency FROM subsidiary WHERE id = ?", (merged["subsidiary"],))
        values["currency"] = sub["currency"] if sub is not None else None
    if rid is None:
        values.setdefault("isinactive", "F")
        values.setdefault("isperson", "F")
    return values


def item_values(
    db: Database, rt: RecordType, given: dict[str, Any], merged: dict[str, Any], rid: int | None
) -> dict[str, Any]:
    """An item's columns: a unique name, its type, and the accounts it posts to."""
    values = dict(given)
    if not merged.get("itemid"):
        raise user_error("Please enter value(s) for: Item Name/Number", "itemId")
    clash = db.one("SELECT id FROM item WHERE itemid = ? AND id IS NOT ?", (merged["itemid"], rid))
    if clash is not None:
        raise user_error(
            f"The item name {merged['itemid']} is already used by another item.", "itemId"
        )
    values["fullname"] = merged["itemid"]
    assert rt.item_kind is not None
    values["itemtype"], values["subtype"] = rt.item_kind
    if rid is None:
        values.setdefault("isinactive", "F")
        for column, accttype in ITEM_ACCOUNTS.get(values["itemtype"], ()):
            if values.get(column) is None:
                found = db.one("SELECT id FROM account WHERE accttype = ? ORDER BY id", (accttype,))
                values[column] = None if found is None else found["id"]
    return values
