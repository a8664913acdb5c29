"""Transactions: invoices, customer payments, purchase orders and item receipts.

The rules that make these records interact live here:

* an invoice's ``total`` is the sum of its lines, ``amountRemaining`` what payments have
  not covered, and its status ``A`` (Open) or ``B`` (Paid In Full) follows from that;
* a customer payment applies to that customer's invoices (``apply`` sublist); applying
  more than an invoice's amount due, or more in total than the payment, is refused;
* a purchase order's status is derived from its lines: ``B`` Pending Receipt, ``D``
  Partially Received, ``F`` Pending Bill once everything open is received, ``H``
  Closed once every line is closed (``A``/``C`` while pending/rejected approval);
* an item receipt is made only by transforming a purchase order, receives at most what
  remains on each order line, and gives it back when deleted.

Lines are stored in ``transactionline`` (line 0 is the main line, as in NetSuite) and
payment applications and receipts in ``previoustransactionlinelink``, so SuiteQL sees
what the REST service does. Sublists sent in a PATCH are merged by their key (``line``,
or ``doc`` for ``apply``) unless ``?replace=<sublist>`` asks to replace them.
"""


# (types.py / db.py), never from a request; every value is bound with "?".

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from erpsync.testing.netsuite.errors import (
    not_found,
    user_error,
)
from erpsync.testing.netsuite.ledger import INVOICE, ORDER, PAYMENT, RECEIPT, line_rows
from erpsync.testing.netsuite.orders import save_order
from erpsync.testing.netsuite.payments import applied_to_invoice, refresh_invoice, save_payment
from erpsync.testing.netsuite.receipts import receive, unreceive, update_receipt
from erpsync.testing.netsuite.types import RecordType

__all__ = ["computed", "create", "delete", "lines", "receive", "update"]

if TYPE_CHECKING:
    from erpsync.testing.netsuite.records import Account, Parsed

# -- entry points ---------------------------------------------------------------------------


def create(acct: Account, rt: RecordType, parsed: Parsed) -> int:
    if rt.tran_type == RECEIPT:
        raise user_error(
            "An item receipt is created by transforming a purchase order: "
            "POST /purchaseOrder/{id}/!transform/itemReceipt."
        )
    if rt.tran_type == PAYMENT:
        return save_payment(acct, rt, parsed, None, frozenset())
    return save_order(acct, rt, parsed, None, frozenset())


def update(
    acct: Account, rt: RecordType, rid: int, parsed: Parsed, replace: frozenset[str]
) -> None:
    if rt.tran_type == PAYMENT:
        save_payment(acct, rt, parsed, rid, replace)
    elif rt.tran_type == RECEIPT:
        update_receipt(acct, rt, rid, parsed)
    else:
        save_order(acct, rt, parsed, rid, replace)


def delete(acct: Account, rt: RecordType, row: sqlite3.Row) -> None:
    rid = int(row["id"])
    if rt.tran_type == INVOICE and applied_to_invoice(acct, rid) > 0:
        raise user_error("This record cannot be deleted because it has dependent records.")
    if rt.tran_type == ORDER and acct.db.one(
        "SELECT 1 FROM previoustransactionlinelink WHERE previousdoc = ? LIMIT 1", (rid,)
    ):
        raise user_error("This record cannot be deleted because it has dependent records.")
    with acct.db.write() as conn:
        if rt.tran_type == PAYMENT:
            invoices = [
                r["previousdoc"]
                for r in acct.db.all(
                    "SELECT previousdoc FROM previoustransactionlinelink WHERE nextdoc = ?", (rid,)
                )
            ]
            conn.execute("DELETE FROM previoustransactionlinelink WHERE nextdoc = ?", (rid,))
            for invoice in invoices:
                refresh_invoice(acct, conn, int(invoice))
        if rt.tran_type == RECEIPT:
            unreceive(acct, conn, rid)
        conn.execute('DELETE FROM transactionline WHERE "transaction" = ?', (rid,))
        conn.execute('DELETE FROM "transaction" WHERE id = ?', (rid,))


def computed(acct: Account, rt: RecordType, row: sqlite3.Row, name: str) -> Any:
    if name == "createdFrom":
        main = acct.db.one(
            'SELECT createdfrom FROM transactionline WHERE "transaction" = ? AND id = 0',
            (row["id"],),
        )
        return None if main is None else main["createdfrom"]
    return None


def lines(acct: Account, rt: RecordType, rid: int, name: str) -> list[dict[str, Any]]:
    """A sublist's lines keyed by REST field name (values as stored)."""
    if name not in rt.sublists:
        raise not_found()
    if name == "apply":
        rows = acct.db.all(
            "SELECT l.previousdoc, l.foreignamount, t.foreigntotal, t.foreignamountremaining, "
            't.tranid FROM previoustransactionlinelink l JOIN "transaction" t '
            "ON t.id = l.previousdoc WHERE l.nextdoc = ? AND l.linktype = 'Payment' "
            "ORDER BY l.previousdoc",
            (rid,),
        )
        return [
            {
                "doc": r["previousdoc"],
                "apply": "T",
                "amount": r["foreignamount"],
                "total": r["foreigntotal"],
                "due": r["foreignamountremaining"],
                "refNum": r["tranid"],
            }
            for r in rows
        ]
    links = {
        int(r["nextline"]): int(r["previousline"])
        for r in acct.db.all(
            "SELECT nextline, previousline FROM previoustransactionlinelink WHERE nextdoc = ? "
            "AND linktype = 'ShipRcpt'",
            (rid,),
        )
    }
    out = []
    for line in line_rows(acct, rid):
        rest: dict[str, Any] = {
            "line": line["id"],
            "item": line["item"],
            "quantity": line["quantity"],
            "rate": line["rate"],
            "amount": line["foreignamount"],
            "description": line["memo"],
        }
        if rt.tran_type == INVOICE:
            rest["taxCode"] = line["taxcode"]
        if rt.tran_type == ORDER:
            rest["quantityReceived"] = line["quantityshiprecv"] or 0
            rest["isClosed"] = line["isclosed"]
        if rt.tran_type == RECEIPT:
            rest["orderLine"] = links.get(int(line["id"]))
            rest["itemReceive"] = "T"
            del rest["amount"]
        rest.update({k: v for k, v in line.items() if k.startswith("custcol")})
        out.append(rest)
    return out
