"""Item receipts: made by transforming a purchase order, undone by deleting them."""

# Table and column names in SQL f-strings come from the fixed schema (types.py, db.py),
# never from a request; every value is bound with "?".

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from erpsync.testing.netsuite.errors import (
    invalid_field_value,
    not_found,
    user_error,
)
from erpsync.testing.netsuite.fields import CENT, number
from erpsync.testing.netsuite.ledger import (
    NO_LINES,
    ORDER,
    PREFIXES,
    RECEIPT,
    RECEIVABLE,
    line_rows,
    store,
    sublist_items,
)
from erpsync.testing.netsuite.orders import refresh_po
from erpsync.testing.netsuite.types import BY_TRAN_TYPE, RECEIPT_LINE, RecordType

if TYPE_CHECKING:
    from erpsync.testing.netsuite.records import Account, Parsed

# -- item receipts -------------------------------------------------------------------------


def receive(acct: Account, po_id: int, body: dict[str, Any]) -> int:
    """``POST /purchaseOrder/{id}/!transform/itemReceipt``."""
    po_type = BY_TRAN_TYPE[ORDER]
    receipt_type = BY_TRAN_TYPE[RECEIPT]
    po = acct.row(po_type, po_id)
    if po is None:
        raise not_found()
    if po["status"] not in RECEIVABLE:
        raise user_error(
            f"The purchase order {po['tranid']} cannot be received in its status ({po['status']})."
        )
    header_body = {k: v for k, v in body.items() if k != "item"}
    parsed = acct.parse(receipt_type, header_body)
    cols = {k: v for k, v in parsed.columns.items() if k.islower()}
    acct.check_external_id(receipt_type, cols.get("externalid"), None)
    order_lines = {int(line["id"]): line for line in line_rows(acct, po_id)}
    wanted = _wanted_receipts(acct, receipt_type, body.get("item"), order_lines)
    if not wanted:
        raise user_error(NO_LINES, "item")
    receipt_lines, total = _receipt_lines(wanted, order_lines)
    cols.update(
        {
            "entity": po["entity"],
            "currency": po["currency"],
            "foreigntotal": float(total),
            "status": None,
        }
    )
    cols.setdefault("trandate", acct.today())
    if cols.get("tranid") is None:
        cols["tranid"] = acct.next_number(PREFIXES[RECEIPT])
    rid = store(acct, receipt_type, None, cols, parsed.custom, receipt_lines, total, po_id)
    _link(acct, po_id, rid, receipt_lines, wanted)
    return rid


def _receipt_lines(
    wanted: dict[int, Any], order_lines: dict[int, Any]
) -> tuple[list[dict[str, Any]], Decimal]:
    """The receipt's lines, at the order lines' rates, and their total."""
    receipt_lines: list[dict[str, Any]] = []
    total = Decimal(0)
    for position, (order_line, (quantity, memo, custom)) in enumerate(wanted.items(), start=1):
        source = order_lines[order_line]
        amount = (quantity * number(source["rate"])).quantize(CENT, rounding=ROUND_HALF_UP)
        total += amount
        receipt_lines.append(
            {
                "id": position,
                "uniquekey": None,
                "item": source["item"],
                "quantity": float(quantity),
                "rate": source["rate"],
                "foreignamount": float(amount),
                "netamount": float(amount),
                "memo": memo if memo is not None else source["memo"],
                **custom,
            }
        )
    return receipt_lines, total


def _link(
    acct: Account,
    po_id: int,
    rid: int,
    receipt_lines: list[dict[str, Any]],
    wanted: dict[int, Any],
) -> None:
    """Link each receipt line to its order line and count what the order has received."""
    with acct.db.write() as conn:
        for line, order_line in zip(receipt_lines, wanted):
            acct.insert(
                conn,
                "previoustransactionlinelink",
                {
                    "previousdoc": po_id,
                    "previousline": order_line,
                    "nextdoc": rid,
                    "nextline": line["id"],
                    "linktype": "ShipRcpt",
                    "foreignamount": line["foreignamount"],
                    "lastmodifieddate": acct.now(),
                },
            )
        for order_line, (quantity, _, _) in wanted.items():
            conn.execute(
                "UPDATE transactionline SET quantityshiprecv = COALESCE(quantityshiprecv, 0) + ?"
                ' WHERE "transaction" = ? AND id = ?',
                (float(quantity), po_id, order_line),
            )
        refresh_po(acct, conn, po_id)


def _wanted_receipts(
    acct: Account, rt: RecordType, raw: Any, order_lines: dict[int, dict[str, Any]]
) -> dict[int, tuple[Decimal, Any, dict[str, Any]]]:
    """order line -> (quantity, memo, custom columns) to receive.

    With no ``item`` sublist the transform receives everything still open, like the
    NetSuite form's defaults; with one, only the lines it lists (``itemReceive`` true).
    """
    wanted: dict[int, tuple[Decimal, Any, dict[str, Any]]] = {}
    if raw is None:
        for line_id, line in order_lines.items():
            remaining = number(line["quantity"]) - number(line["quantityshiprecv"])
            if line["isclosed"] != "T" and remaining > 0:
                wanted[line_id] = (remaining, None, {})
        return wanted
    for index, raw_line in enumerate(sublist_items(raw, "item")):
        prefix = f"item.items[{index}]."
        parsed = acct.parse(rt, raw_line, RECEIPT_LINE, prefix)
        order_line = parsed.columns.get("orderLine")
        if order_line is None:
            raise user_error("Please enter value(s) for: Order Line", f"{prefix}orderLine")
        source = order_lines.get(int(order_line))
        if source is None:
            raise user_error(f"The purchase order has no line {order_line}.", f"{prefix}orderLine")
        if parsed.columns.get("itemReceive") == "F":
            continue
        if source["isclosed"] == "T":
            raise user_error(f"Line {order_line} is closed.", f"{prefix}orderLine")
        if int(order_line) in wanted:
            raise user_error(f"Line {order_line} is listed twice.", f"{prefix}orderLine")
        remaining = number(source["quantity"]) - number(source["quantityshiprecv"])
        quantity_raw = parsed.columns.get("quantity")
        quantity = number(quantity_raw) if quantity_raw is not None else remaining
        if quantity <= 0:
            raise invalid_field_value("quantity", f"{prefix}quantity")
        if quantity > remaining:
            raise user_error(
                f"You cannot receive more than the remaining quantity ({remaining}) of line "
                f"{order_line}.",
                f"{prefix}quantity",
            )
        wanted[int(order_line)] = (quantity, parsed.columns.get("memo"), parsed.custom)
    return wanted


def unreceive(acct: Account, conn: sqlite3.Connection, receipt: int) -> None:
    links = acct.db.all(
        "SELECT l.previousdoc, l.previousline, t.quantity FROM previoustransactionlinelink l "
        'JOIN transactionline t ON t."transaction" = l.nextdoc AND t.id = l.nextline '
        "WHERE l.nextdoc = ? AND l.linktype = 'ShipRcpt'",
        (receipt,),
    )
    for link in links:
        conn.execute(
            "UPDATE transactionline SET quantityshiprecv = quantityshiprecv - ? "
            'WHERE "transaction" = ? AND id = ?',
            (link["quantity"], link["previousdoc"], link["previousline"]),
        )
    conn.execute("DELETE FROM previoustransactionlinelink WHERE nextdoc = ?", (receipt,))
    for po_id in {int(link["previousdoc"]) for link in links}:
        refresh_po(acct, conn, po_id)


def update_receipt(acct: Account, rt: RecordType, rid: int, parsed: Parsed) -> None:
    """A receipt's header may change; its lines change only by deleting the receipt."""
    if parsed.sublists:
        raise user_error(
            "The lines of an item receipt cannot be changed; delete the receipt and receive again.",
            "item",
        )
    cols = {k: v for k, v in parsed.columns.items() if k.islower()}
    acct.check_external_id(rt, cols.get("externalid"), rid)
    with acct.db.write() as conn:
        acct.update_row(conn, "transaction", rid, {**cols, "lastmodifieddate": acct.now()})
        acct.store_custom(conn, "transaction", rid, parsed.custom)
