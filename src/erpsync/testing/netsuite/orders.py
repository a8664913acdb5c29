"""Invoices and purchase orders: item lines, totals and purchase-order statuses."""

# Table and column names in SQL f-strings come from the fixed schema (types.py, db.py),
# never from a request; every value is bound with "?".

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from erpsync.testing.netsuite import postings
from erpsync.testing.netsuite.errors import (
    invalid_field_value,
    invalid_reference,
    user_error,
)
from erpsync.testing.netsuite.fields import CENT, money, number
from erpsync.testing.netsuite.ledger import (
    INVOICE,
    NO_LINES,
    ORDER,
    header,
    line_rows,
    next_line_id,
    store,
    sublist_items,
)
from erpsync.testing.netsuite.payments import applied_to_invoice
from erpsync.testing.netsuite.types import RecordType

if TYPE_CHECKING:
    from erpsync.testing.netsuite.records import Account, Parsed

# -- invoices and purchase orders ---------------------------------------------------------


def save_order(
    acct: Account, rt: RecordType, parsed: Parsed, rid: int | None, replace: frozenset[str]
) -> int:
    assert rt.tran_type is not None
    cols = header(acct, rt, parsed, rid)
    existing = line_rows(acct, rid) if rid is not None else []
    if "item" in parsed.sublists:
        order_lines = _merge_lines(
            acct, rt, parsed.sublists["item"], existing, rid, "item" in replace
        )
    elif rid is None:
        raise user_error(NO_LINES, "item")
    else:
        order_lines = existing
    if not order_lines:
        raise user_error(NO_LINES, "item")
    total = sum((money(line["foreignamount"]) for line in order_lines), Decimal(0))
    if rt.tran_type == INVOICE:
        tax = sum(postings.tax_amounts(acct, order_lines).values(), Decimal(0))
        total += tax
        cols["taxtotal"] = float(tax)
        if total < 0:
            raise user_error("The total of an invoice cannot be negative.", "item")
        paid = applied_to_invoice(acct, rid) if rid is not None else Decimal(0)
        if total < paid:
            raise user_error(
                "The invoice total cannot be less than the amount already paid.", "item"
            )
        cols.update(
            {
                "foreigntotal": float(total),
                "foreignamountpaid": float(paid),
                "foreignamountremaining": float(total - paid),
                "status": "A" if total - paid > 0 else "B",
            }
        )
        if rid is None:
            cols.setdefault("duedate", cols["trandate"])
    else:
        approval = cols.get("approvalstatus")
        if approval is not None and approval not in ("1", "2", "3"):
            raise invalid_field_value("approvalStatus", "approvalStatus")
        if rid is None and approval is None:
            cols["approvalstatus"] = "2"
        current = acct.row(rt, rid) if rid is not None else None
        approval = cols.get("approvalstatus", current["approvalstatus"] if current else "2")
        cols.update({"foreigntotal": float(total), "status": po_status(str(approval), order_lines)})
    return store(acct, rt, rid, cols, parsed.custom, order_lines, total)


def _merge_lines(
    acct: Account,
    rt: RecordType,
    raw: Any,
    existing: list[dict[str, Any]],
    rid: int | None,
    replace: bool,
) -> list[dict[str, Any]]:
    items = sublist_items(raw, "item")
    by_id = {int(line["id"]): line for line in existing}
    result = [] if replace else [dict(line) for line in existing]
    if replace:
        for line in existing:
            if (line.get("quantityshiprecv") or 0) > 0:
                raise user_error(
                    f"Line {line['id']} has been received and cannot be removed.", "item"
                )
    next_id = next_line_id(existing, rid or 0, acct)
    for index, raw_line in enumerate(items):
        prefix = f"item.items[{index}]."
        parsed = acct.parse(rt, raw_line, rt.sublists["item"], prefix)
        key = raw_line.get("line") if isinstance(raw_line, dict) else None
        if key is not None and not replace:
            if not str(key).isdigit() or int(key) not in by_id:
                raise user_error(f"The line {key} does not exist.", f"{prefix}line")
            target = next(line for line in result if int(line["id"]) == int(key))
        else:
            target = {"id": next_id, "uniquekey": None}
            next_id += 1
            result.append(target)
        _apply_line(
            acct, rt, target, parsed.columns, parsed.custom, prefix, new=key is None or replace
        )
    return result


def _apply_line(
    acct: Account,
    rt: RecordType,
    line: dict[str, Any],
    given: dict[str, Any],
    custom: dict[str, Any],
    prefix: str,
    new: bool,
) -> None:
    if "item" in given:
        _check_item(acct, rt, given["item"], prefix)
    line.update({k: v for k, v in given.items() if k != "item" or v is not None})
    if line.get("item") is None:
        raise user_error("Please enter value(s) for: Item", f"{prefix}item")
    quantity = number(line.get("quantity")) if line.get("quantity") is not None else Decimal(1)
    if rt.tran_type == ORDER and quantity <= 0:
        raise invalid_field_value("quantity", f"{prefix}quantity")
    received = number(line.get("quantityshiprecv"))
    if quantity < received:
        raise user_error(
            "The quantity cannot be less than the quantity already received.",
            f"{prefix}quantity",
        )
    rate_given, amount_given = "rate" in given, "foreignamount" in given
    rate = line.get("rate")
    if amount_given and line["foreignamount"] is not None and not rate_given:
        amount = money(line["foreignamount"])
        rate = float(amount / quantity) if quantity else 0.0
    elif rate is not None and (new or rate_given or "quantity" in given) and not amount_given:
        amount = (quantity * number(rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    elif line.get("foreignamount") is not None:
        amount = money(line["foreignamount"])
    else:
        raise user_error("Please enter value(s) for: Rate", f"{prefix}rate")
    line.update(
        {
            "quantity": float(quantity),
            "rate": rate,
            "foreignamount": float(amount),
            "netamount": float(amount),
        }
    )
    if rt.tran_type == ORDER:
        line.setdefault("isclosed", "F")
        line["quantityshiprecv"] = float(received)
    line.update(custom)


def _check_item(acct: Account, rt: RecordType, item_id: int, prefix: str) -> None:
    row = acct.db.one("SELECT subtype FROM item WHERE id = ?", (item_id,))
    forbidden = "Purchase" if rt.tran_type == INVOICE else "Sale"
    if row is None or row["subtype"] == forbidden:
        raise invalid_reference("item", item_id, f"{prefix}item")


def po_status(approval: str, order_lines: list[dict[str, Any]]) -> str:
    if approval == "1":
        return "A"
    if approval == "3":
        return "C"
    open_lines = [line for line in order_lines if line.get("isclosed") != "T"]
    if not open_lines:
        return "H"
    received_any = any(number(line.get("quantityshiprecv")) > 0 for line in order_lines)
    complete = all(
        number(line.get("quantityshiprecv")) >= number(line.get("quantity")) for line in open_lines
    )
    if complete:
        return "F"
    return "D" if received_any else "B"


def refresh_po(acct: Account, conn: sqlite3.Connection, po_id: int) -> None:
    po = acct.db.one('SELECT approvalstatus FROM "transaction" WHERE id = ?', (po_id,))
    if po is None:
        return
    status = po_status(str(po["approvalstatus"]), line_rows(acct, po_id))
    conn.execute(
        'UPDATE "transaction" SET status = ?, lastmodifieddate = ? WHERE id = ?',
        (status, acct.now(), po_id),
    )
