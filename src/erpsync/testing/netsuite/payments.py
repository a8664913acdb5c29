"""Customer payments: applying them to invoices, and the invoices' balances."""

# Table and column names in SQL f-strings come from the fixed schema (types.py, db.py),
# never from a request; every value is bound with "?".

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpsync.testing.netsuite.errors import (
    invalid_field_value,
    invalid_reference,
    user_error,
)
from erpsync.testing.netsuite.fields import money
from erpsync.testing.netsuite.ledger import INVOICE, header, store, sublist_items
from erpsync.testing.netsuite.types import RecordType

if TYPE_CHECKING:
    from erpsync.testing.netsuite.records import Account, Parsed

# -- payments ---------------------------------------------------------------------------------


def applied_to_invoice(acct: Account, invoice: int | None, excluding: int | None = None) -> Decimal:
    row = acct.db.one(
        "SELECT SUM(foreignamount) AS s FROM previoustransactionlinelink WHERE previousdoc = ? "
        "AND linktype = 'Payment' AND nextdoc IS NOT ?",
        (invoice, excluding),
    )
    return money(row["s"] if row is not None else None)


def refresh_invoice(acct: Account, conn: sqlite3.Connection, invoice: int) -> None:
    row = acct.db.one('SELECT foreigntotal FROM "transaction" WHERE id = ?', (invoice,))
    if row is None:
        return
    total, paid = money(row["foreigntotal"]), applied_to_invoice(acct, invoice)
    conn.execute(
        'UPDATE "transaction" SET foreignamountpaid = ?, foreignamountremaining = ?, '
        "status = ?, lastmodifieddate = ? WHERE id = ?",
        (float(paid), float(total - paid), "A" if total - paid > 0 else "B", acct.now(), invoice),
    )


def save_payment(
    acct: Account, rt: RecordType, parsed: Parsed, rid: int | None, replace: frozenset[str]
) -> int:
    cols = header(acct, rt, parsed, rid)
    customer = cols.get("entity")
    if customer is None and rid is not None:
        current = acct.row(rt, rid)
        customer = current["entity"] if current is not None else None
    applications: dict[int, Decimal] = {}
    if rid is not None and "apply" not in replace:
        for r in acct.db.all(
            "SELECT previousdoc, foreignamount FROM previoustransactionlinelink "
            "WHERE nextdoc = ? AND linktype = 'Payment'",
            (rid,),
        ):
            applications[int(r["previousdoc"])] = money(r["foreignamount"])
    payment_given = cols.get("foreigntotal")
    if payment_given is None and rid is not None:
        current = acct.row(rt, rid)
        payment_given = current["foreigntotal"] if current is not None else None
    payment = money(payment_given) if payment_given is not None else None
    if "apply" in parsed.sublists:
        _merge_applications(
            acct,
            rt,
            parsed.sublists["apply"],
            applications,
            customer,
            cols["currency"],
            rid,
            payment,
        )
    applied = sum(applications.values(), Decimal(0))
    if payment is None:
        payment = applied
    if payment <= 0:
        raise user_error("Please enter value(s) for: Payment Amount", "payment")
    if applied > payment:
        raise user_error(
            f"The total applied ({applied}) exceeds the payment amount ({payment}).", "payment"
        )
    cols.update(
        {
            "foreigntotal": float(payment),
            "foreignpaymentamountused": float(applied),
            "foreignpaymentamountunused": float(payment - applied),
        }
    )
    if rid is None:
        cols["status"] = "B"
    return _store_payment(acct, rt, rid, cols, parsed, payment, applications)


def _store_payment(
    acct: Account,
    rt: RecordType,
    rid: int | None,
    cols: dict[str, Any],
    parsed: Parsed,
    payment: Decimal,
    applications: dict[int, Decimal],
) -> int:
    """Write the payment and re-point its links; every invoice it touched (before or
    now) gets its amount remaining and status again."""
    stamp = acct.now()
    with acct.db.write() as conn:
        rid = store(acct, rt, rid, cols, parsed.custom, [], payment)
        before = {
            int(r["previousdoc"])
            for r in acct.db.all(
                "SELECT previousdoc FROM previoustransactionlinelink WHERE nextdoc = ?", (rid,)
            )
        }
        conn.execute("DELETE FROM previoustransactionlinelink WHERE nextdoc = ?", (rid,))
        for invoice, amount in applications.items():
            acct.insert(
                conn,
                "previoustransactionlinelink",
                {
                    "previousdoc": invoice,
                    "previousline": 0,
                    "nextdoc": rid,
                    "nextline": 0,
                    "linktype": "Payment",
                    "foreignamount": float(amount),
                    "lastmodifieddate": stamp,
                },
            )
        for invoice in before | set(applications):
            refresh_invoice(acct, conn, invoice)
    return rid


def _merge_applications(
    acct: Account,
    rt: RecordType,
    raw: Any,
    applications: dict[int, Decimal],
    customer: Any,
    currency: Any,
    rid: int | None,
    payment: Decimal | None,
) -> None:
    seen: set[int] = set()
    for index, raw_line in enumerate(sublist_items(raw, "apply")):
        prefix = f"apply.items[{index}]."
        parsed = acct.parse(rt, raw_line, rt.sublists["apply"], prefix)
        doc = parsed.columns.get("doc")
        if doc is None:
            raise user_error("Please enter value(s) for: Doc", f"{prefix}doc")
        invoice = acct.db.one('SELECT * FROM "transaction" WHERE id = ?', (doc,))
        if (
            invoice is None
            or invoice["type"] != INVOICE
            or invoice["entity"] != customer
            or invoice["currency"] != currency
        ):
            raise invalid_reference("doc", doc, f"{prefix}doc")
        if doc in seen:
            raise user_error(f"The invoice {doc} is applied twice.", f"{prefix}doc")
        seen.add(doc)
        if parsed.columns.get("apply") == "F":
            applications.pop(doc, None)
            continue
        due = money(invoice["foreigntotal"]) - applied_to_invoice(acct, doc, excluding=rid)
        amount = parsed.columns.get("amount")
        if amount is None:
            unallocated = (
                payment - sum((v for k, v in applications.items() if k != doc), Decimal(0))
                if payment is not None
                else due
            )
            value = min(due, unallocated)
        else:
            value = money(amount)
        if value <= 0:
            raise invalid_field_value("amount", f"{prefix}amount")
        if value > due:
            raise user_error(
                f"The amount applied to {invoice['tranid']} ({value}) exceeds the amount "
                f"due ({due}).",
                f"{prefix}amount",
            )
        applications[doc] = value
