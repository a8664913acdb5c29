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

# ruff: noqa: S608 -- table and column names in f-strings come from the fixed schema
# (_ns_types / _ns_db), never from a request; every value is bound with "?".

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from erpsync.netsuite import wire
from erpsync.testing.netsuite.errors import (
    invalid_content,
    invalid_field_value,
    invalid_reference,
    not_found,
    user_error,
)
from erpsync.testing.netsuite.fields import CENT, money, number
from erpsync.testing.netsuite.types import BY_TRAN_TYPE, RECEIPT_LINE, RecordType

if TYPE_CHECKING:
    from erpsync.testing.netsuite.records import Account, Parsed

_INVOICE, _PAYMENT = wire.INVOICE_TYPE, wire.PAYMENT_TYPE
_ORDER, _RECEIPT = wire.PURCHASE_ORDER_TYPE, wire.ITEM_RECEIPT_TYPE
_PREFIXES = {_INVOICE: "INV", _PAYMENT: "PYMT", _ORDER: "PO", _RECEIPT: "IR"}
_ENTITY_TABLE = {_INVOICE: "customer", _PAYMENT: "customer", _ORDER: "vendor"}
_ENTITY_LABEL = {"customer": "Customer", "vendor": "Vendor"}
_RECEIVABLE = frozenset({"B", "D", "E"})
NO_LINES = "You must enter at least one line item for this transaction."


# -- shared -------------------------------------------------------------------------------


def _header(acct: Account, rt: RecordType, parsed: Parsed, rid: int | None) -> dict[str, Any]:
    """Header columns after defaults and the entity/currency rules."""
    assert rt.tran_type is not None
    cols = {k: v for k, v in parsed.columns.items() if k.islower()}
    acct.check_external_id(rt, cols.get("externalid"), rid)
    current = dict(acct.row(rt, rid) or {}) if rid is not None else {}
    entity = cols.get("entity", current.get("entity"))
    table = _ENTITY_TABLE[rt.tran_type]
    field_name = "customer" if rt.tran_type == _PAYMENT else "entity"
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
            cols["tranid"] = acct.next_number(_PREFIXES[rt.tran_type])
        cols.setdefault("exchangerate", 1.0)
    elif "trandate" in cols and cols["trandate"] is None:
        raise user_error("Please enter value(s) for: Date", "tranDate")
    return cols


def _sublist_items(raw: Any, name: str) -> list[Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
        raise invalid_content(f"The sublist '{name}' must be an object with an 'items' list.", name)
    return list(raw["items"])


def _line_rows(acct: Account, rid: int) -> list[dict[str, Any]]:
    rows = acct.db.all(
        "SELECT * FROM transactionline WHERE \"transaction\" = ? AND mainline = 'F' "
        "ORDER BY linesequencenumber",
        (rid,),
    )
    return [dict(r) for r in rows]


def _write_lines(
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
    for position, line in enumerate(lines, start=1):
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


def _next_line_id(lines: list[dict[str, Any]], rid: int, acct: Account) -> int:
    row = (
        acct.db.one('SELECT MAX(id) AS m FROM transactionline WHERE "transaction" = ?', (rid,))
        if rid
        else None
    )
    stored = int(row["m"]) if row is not None and row["m"] is not None else 0
    return max([stored, *[int(line["id"]) for line in lines]]) + 1


def _touch(acct: Account, conn: sqlite3.Connection, rid: int) -> None:
    conn.execute('UPDATE "transaction" SET lastmodifieddate = ? WHERE id = ?', (acct.now(), rid))


# -- entry points ---------------------------------------------------------------------------


def create(acct: Account, rt: RecordType, parsed: Parsed) -> int:
    if rt.tran_type == _RECEIPT:
        raise user_error(
            "An item receipt is created by transforming a purchase order: "
            "POST /purchaseOrder/{id}/!transform/itemReceipt."
        )
    if rt.tran_type == _PAYMENT:
        return _save_payment(acct, rt, parsed, None, frozenset())
    return _save_order(acct, rt, parsed, None, frozenset())


def update(
    acct: Account, rt: RecordType, rid: int, parsed: Parsed, replace: frozenset[str]
) -> None:
    if rt.tran_type == _PAYMENT:
        _save_payment(acct, rt, parsed, rid, replace)
    elif rt.tran_type == _RECEIPT:
        _update_receipt(acct, rt, rid, parsed)
    else:
        _save_order(acct, rt, parsed, rid, replace)


def delete(acct: Account, rt: RecordType, row: sqlite3.Row) -> None:
    rid = int(row["id"])
    if rt.tran_type == _INVOICE and _applied_to_invoice(acct, rid) > 0:
        raise user_error("This record cannot be deleted because it has dependent records.")
    if rt.tran_type == _ORDER and acct.db.one(
        "SELECT 1 FROM previoustransactionlinelink WHERE previousdoc = ? LIMIT 1", (rid,)
    ):
        raise user_error("This record cannot be deleted because it has dependent records.")
    with acct.db.write() as conn:
        if rt.tran_type == _PAYMENT:
            invoices = [
                r["previousdoc"]
                for r in acct.db.all(
                    "SELECT previousdoc FROM previoustransactionlinelink WHERE nextdoc = ?", (rid,)
                )
            ]
            conn.execute("DELETE FROM previoustransactionlinelink WHERE nextdoc = ?", (rid,))
            for invoice in invoices:
                _refresh_invoice(acct, conn, int(invoice))
        if rt.tran_type == _RECEIPT:
            _unreceive(acct, conn, rid)
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
    for line in _line_rows(acct, rid):
        rest: dict[str, Any] = {
            "line": line["id"],
            "item": line["item"],
            "quantity": line["quantity"],
            "rate": line["rate"],
            "amount": line["foreignamount"],
            "description": line["memo"],
        }
        if rt.tran_type == _ORDER:
            rest["quantityReceived"] = line["quantityshiprecv"] or 0
            rest["isClosed"] = line["isclosed"]
        if rt.tran_type == _RECEIPT:
            rest["orderLine"] = links.get(int(line["id"]))
            rest["itemReceive"] = "T"
            del rest["amount"]
        rest.update({k: v for k, v in line.items() if k.startswith("custcol")})
        out.append(rest)
    return out


# -- invoices and purchase orders ---------------------------------------------------------


def _save_order(
    acct: Account, rt: RecordType, parsed: Parsed, rid: int | None, replace: frozenset[str]
) -> int:
    assert rt.tran_type is not None
    cols = _header(acct, rt, parsed, rid)
    existing = _line_rows(acct, rid) if rid is not None else []
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
    if rt.tran_type == _INVOICE:
        if total < 0:
            raise user_error("The total of an invoice cannot be negative.", "item")
        paid = _applied_to_invoice(acct, rid) if rid is not None else Decimal(0)
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
        cols.update(
            {"foreigntotal": float(total), "status": _po_status(str(approval), order_lines)}
        )
    return _store(acct, rt, rid, cols, parsed.custom, order_lines, total)


def _store(
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
        _write_lines(acct, conn, rid, order_lines, total, created_from)
    return rid


def _merge_lines(
    acct: Account,
    rt: RecordType,
    raw: Any,
    existing: list[dict[str, Any]],
    rid: int | None,
    replace: bool,
) -> list[dict[str, Any]]:
    items = _sublist_items(raw, "item")
    by_id = {int(line["id"]): line for line in existing}
    result = [] if replace else [dict(line) for line in existing]
    if replace:
        for line in existing:
            if (line.get("quantityshiprecv") or 0) > 0:
                raise user_error(
                    f"Line {line['id']} has been received and cannot be removed.", "item"
                )
    next_id = _next_line_id(existing, rid or 0, acct)
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
    if rt.tran_type == _ORDER and quantity <= 0:
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
    if rt.tran_type == _ORDER:
        line.setdefault("isclosed", "F")
        line["quantityshiprecv"] = float(received)
    line.update(custom)


def _check_item(acct: Account, rt: RecordType, item_id: int, prefix: str) -> None:
    row = acct.db.one("SELECT subtype FROM item WHERE id = ?", (item_id,))
    forbidden = "Purchase" if rt.tran_type == _INVOICE else "Sale"
    if row is None or row["subtype"] == forbidden:
        raise invalid_reference("item", item_id, f"{prefix}item")


def _po_status(approval: str, order_lines: list[dict[str, Any]]) -> str:
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


# -- payments ---------------------------------------------------------------------------------


def _applied_to_invoice(
    acct: Account, invoice: int | None, excluding: int | None = None
) -> Decimal:
    row = acct.db.one(
        "SELECT SUM(foreignamount) AS s FROM previoustransactionlinelink WHERE previousdoc = ? "
        "AND linktype = 'Payment' AND nextdoc IS NOT ?",
        (invoice, excluding),
    )
    return money(row["s"] if row is not None else None)


def _refresh_invoice(acct: Account, conn: sqlite3.Connection, invoice: int) -> None:
    row = acct.db.one('SELECT foreigntotal FROM "transaction" WHERE id = ?', (invoice,))
    if row is None:
        return
    total, paid = money(row["foreigntotal"]), _applied_to_invoice(acct, invoice)
    conn.execute(
        'UPDATE "transaction" SET foreignamountpaid = ?, foreignamountremaining = ?, '
        "status = ?, lastmodifieddate = ? WHERE id = ?",
        (float(paid), float(total - paid), "A" if total - paid > 0 else "B", acct.now(), invoice),
    )


def _save_payment(
    acct: Account, rt: RecordType, parsed: Parsed, rid: int | None, replace: frozenset[str]
) -> int:
    cols = _header(acct, rt, parsed, rid)
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
                    "type": _PAYMENT,
                    "recordtype": "customerpayment",
                    "createddate": stamp,
                    "lastmodifieddate": stamp,
                },
            )
        else:
            acct.update_row(conn, "transaction", rid, {**cols, "lastmodifieddate": stamp})
        acct.store_custom(conn, "transaction", rid, parsed.custom)
        _write_lines(acct, conn, rid, [], payment)
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
            _refresh_invoice(acct, conn, invoice)
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
    for index, raw_line in enumerate(_sublist_items(raw, "apply")):
        prefix = f"apply.items[{index}]."
        parsed = acct.parse(rt, raw_line, rt.sublists["apply"], prefix)
        doc = parsed.columns.get("doc")
        if doc is None:
            raise user_error("Please enter value(s) for: Doc", f"{prefix}doc")
        invoice = acct.db.one('SELECT * FROM "transaction" WHERE id = ?', (doc,))
        if (
            invoice is None
            or invoice["type"] != _INVOICE
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
        due = money(invoice["foreigntotal"]) - _applied_to_invoice(acct, doc, excluding=rid)
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


# -- item receipts -------------------------------------------------------------------------


def receive(acct: Account, po_id: int, body: dict[str, Any]) -> int:
    """``POST /purchaseOrder/{id}/!transform/itemReceipt``."""
    po_type = BY_TRAN_TYPE[_ORDER]
    receipt_type = BY_TRAN_TYPE[_RECEIPT]
    po = acct.row(po_type, po_id)
    if po is None:
        raise not_found()
    if po["status"] not in _RECEIVABLE:
        raise user_error(
            f"The purchase order {po['tranid']} cannot be received in its status ({po['status']})."
        )
    header_body = {k: v for k, v in body.items() if k != "item"}
    parsed = acct.parse(receipt_type, header_body)
    cols = {k: v for k, v in parsed.columns.items() if k.islower()}
    acct.check_external_id(receipt_type, cols.get("externalid"), None)
    order_lines = {int(line["id"]): line for line in _line_rows(acct, po_id)}
    wanted = _wanted_receipts(acct, receipt_type, body.get("item"), order_lines)
    if not wanted:
        raise user_error(NO_LINES, "item")
    receipt_lines, total = [], Decimal(0)
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
        cols["tranid"] = acct.next_number(_PREFIXES[_RECEIPT])
    rid = _store(acct, receipt_type, None, cols, parsed.custom, receipt_lines, total, po_id)
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
        _refresh_po(acct, conn, po_id)
    return rid


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
    for index, raw_line in enumerate(_sublist_items(raw, "item")):
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


def _refresh_po(acct: Account, conn: sqlite3.Connection, po_id: int) -> None:
    po = acct.db.one('SELECT approvalstatus FROM "transaction" WHERE id = ?', (po_id,))
    if po is None:
        return
    status = _po_status(str(po["approvalstatus"]), _line_rows(acct, po_id))
    conn.execute(
        'UPDATE "transaction" SET status = ?, lastmodifieddate = ? WHERE id = ?',
        (status, acct.now(), po_id),
    )


def _unreceive(acct: Account, conn: sqlite3.Connection, receipt: int) -> None:
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
        _refresh_po(acct, conn, po_id)


def _update_receipt(acct: Account, rt: RecordType, rid: int, parsed: Parsed) -> None:
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
