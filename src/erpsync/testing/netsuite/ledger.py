"""What every transaction shares: header rules, and its lines in ``transactionline``."""

# ruff: noqa: S608 -- table and column names in f-strings come from the fixed schema
# (types.py / db.py), never from a request; every value is bound with "?".

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpsync.netsuite import wire
from erpsync.testing.netsuite import postings
from erpsync.testing.netsuite.errors import (
    invalid_content,
    invalid_reference,
    user_error,
)
from erpsync.testing.netsuite.types import RecordType

if TYPE_CHECKING:
    from erpsync.testing.netsuite.records import Account, Parsed

INVOICE, PAYMENT = wire.INVOICE_TYPE, wire.PAYMENT_TYPE
ORDER, RECEIPT = wire.PURCHASE_ORDER_TYPE, wire.ITEM_RECEIPT_TYPE
PREFIXES = {INVOICE: "INV", PAYMENT: "PYMT", ORDER: "PO", RECEIPT: "IR"}
_ENTITY_TABLE = {INVOICE: "customer", PAYMENT: "customer", ORDER: "vendor"}
_ENTITY_LABEL = {"customer": "Customer", "vendor": "Vendor"}
RECEIVABLE = frozenset({"B", "D", "E"})
NO_LINES = "You must enter at least one line item for this transaction."


# -- shared -------------------------------------------------------------------------------


def header(acct: Account, rt: RecordType, parsed: Parsed, rid: int | None) -> dict[str, Any]:
    """Header columns after defaults and the entity/currency rules."""
    assert rt.tran_type is not None
    cols = {k: v for k, v in parsed.columns.items() if k.islower()}
    acct.check_external_id(rt, cols.get("externalid"), rid)
    current = dict(acct.row(rt, rid) or {}) if rid is not None else {}
    entity = cols.get("entity", current.get("entity"))
    table = _ENTITY_TABLE[rt.tran_type]
    field_name = "customer" if rt.tran_type == PAYMENT else "entity"
    if entity is None:
        raise user_error(f"Please enter value(s) for: {_ENTITY_LABEL[table]}", field_name)
    entity_row = acct.db.one(f'SELECT * FROM "{table}" WHERE id = ?', (entity,))
    if entity_row is None:  # the reference resolved against the right table already
        raise invalid_reference(field_name, entity)
    currency = cols.get("currency", current.get("currency")) or entity_row["currency"]
    if entity_row["currency"] is not None and currency != entity_row["currency"]:
        raise invalid_reference("currency", currency)
    cols["currency"] = currency
    if rid is None:
        cols.setdefault("trandate", acct.today())
        if cols.get("tranid") is None:
            cols["tranid"] = acct.next_number(PREFIXES[rt.tran_type])
        cols.setdefault("exchangerate", 1.0)
    elif "trandate" in cols and cols["trandate"] is None:
        raise user_error("Please enter value(s) for: Date", "tranDate")
    return cols


def sublist_items(raw: Any, name: str) -> list[Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
        raise invalid_content(f"The sublist '{name}' must be an object with an 'items' list.", name)
    return list(raw["items"])


def tran_type_of(acct: Account, rid: int) -> str | None:
    row = acct.db.one('SELECT type FROM "transaction" WHERE id = ?', (rid,))
    return None if row is None else str(row["type"])


def line_rows(acct: Account, rid: int) -> list[dict[str, Any]]:
    """A transaction's item lines (not its main, tax or COGS lines), in REST signs."""
    rows = acct.db.all(
        "SELECT * FROM transactionline WHERE \"transaction\" = ? AND mainline = 'F' "
        "AND taxline = 'F' AND iscogs = 'F' ORDER BY linesequencenumber",
        (rid,),
    )
    return postings.from_storage(tran_type_of(acct, rid), (dict(r) for r in rows))


def write_lines(
    acct: Account,
    conn: sqlite3.Connection,
    rid: int,
    lines: list[dict[str, Any]],
    total: Decimal,
    created_from: int | None = None,
) -> None:
    conn.execute('DELETE FROM transactionline WHERE "transaction" = ?', (rid,))
    main = {
        "transaction": rid,
        "id": 0,
        "linesequencenumber": 0,
        "mainline": "T",
        "foreignamount": float(total),
        "netamount": float(total),
        "createdfrom": created_from,
    }
    acct.insert(conn, "transactionline", main)
    first_extra = max((int(line["id"]) for line in lines), default=0) + 1
    stored = postings.to_storage(acct, tran_type_of(acct, rid), lines, first_extra)
    for position, line in enumerate(stored, start=1):
        values = {k: v for k, v in line.items() if k != "uniquekey" or v is not None}
        values.update(
            {
                "transaction": rid,
                "linesequencenumber": position,
                "mainline": "F",
                "createdfrom": created_from,
            }
        )
        for column in values:
            if column.startswith("custcol"):
                acct.db.ensure_column("transactionline", column)
        acct.insert(conn, "transactionline", values)


def next_line_id(lines: list[dict[str, Any]], rid: int, acct: Account) -> int:
    row = (
        acct.db.one('SELECT MAX(id) AS m FROM transactionline WHERE "transaction" = ?', (rid,))
        if rid
        else None
    )
    stored = int(row["m"]) if row is not None and row["m"] is not None else 0
    return max([stored, *[int(line["id"]) for line in lines]]) + 1


def touch(acct: Account, conn: sqlite3.Connection, rid: int) -> None:
    conn.execute('UPDATE "transaction" SET lastmodifieddate = ? WHERE id = ?', (acct.now(), rid))


def store(
    acct: Account,
    rt: RecordType,
    rid: int | None,
    cols: dict[str, Any],
    custom: dict[str, Any],
    order_lines: list[dict[str, Any]],
    total: Decimal,
    created_from: int | None = None,
) -> int:
    stamp = acct.now()
    with acct.db.write() as conn:
        if rid is None:
            rid = acct.next_id("transaction")
            acct.insert(
                conn,
                "transaction",
                {
                    **cols,
                    "id": rid,
                    "type": rt.tran_type,
                    "recordtype": rt.name.lower(),
                    "createddate": stamp,
                    "lastmodifieddate": stamp,
                },
            )
        else:
            acct.update_row(conn, "transaction", rid, {**cols, "lastmodifieddate": stamp})
        acct.store_custom(conn, "transaction", rid, custom)
        write_lines(acct, conn, rid, order_lines, total, created_from)
    return rid
