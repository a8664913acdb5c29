"""How an invoice's lines sit in ``transactionline``: signs, tax lines and COGS lines.

NetSuite keeps a transaction's lines as accounting postings, and SuiteQL shows them so
(WIRE.md, last section): on an invoice (``CustInvc``) the item lines are credits, so
their ``quantity``, ``foreignamount`` and ``netamount`` are NEGATIVE; the main line
(``mainline = 'T'``) carries the receivable total; each tax code used adds a tax line
(``taxline = 'T'``, the tax as a credit, its ``item`` the tax code); and each line of an
inventory item adds two COGS lines (``iscogs = 'T'``): the cost as a debit and the same
amount out of the inventory asset. Item lines are therefore
``mainline = 'F' AND taxline = 'F' AND iscogs = 'F'``.

The REST record service shows the same lines with positive quantities and amounts, so
the record code works in REST signs and this module turns lines into stored rows and
back. Purchase orders and item receipts keep positive item lines and have no tax or
COGS lines here.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from erpsync.netsuite import wire
from erpsync.testing.netsuite.fields import CENT, money, number

if TYPE_CHECKING:
    from erpsync.testing.netsuite.records import Account

__all__ = ["from_storage", "tax_amounts", "to_storage"]

#: Stored columns whose sign is the posting's (credit negative) rather than the REST one.
_SIGNED = ("quantity", "foreignamount", "netamount")
_INVENTORY = "InvtPart"


def _negated(line: dict[str, Any]) -> dict[str, Any]:
    out = dict(line)
    for column in _SIGNED:
        if out.get(column) is not None:
            out[column] = -float(out[column])
    return out


def from_storage(tran_type: str | None, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored item lines in REST signs (an invoice's are negated back)."""
    if tran_type != wire.INVOICE_TYPE:
        return [dict(row) for row in rows]
    return [_negated(row) for row in rows]


def tax_amounts(acct: Account, lines: Iterable[dict[str, Any]]) -> dict[int, Decimal]:
    """Tax per tax code: the code's rate (a percentage) of the lines that name it,
    rounded to cents once per code, as a NetSuite tax line is."""
    taxable: dict[int, Decimal] = {}
    for line in lines:
        code = line.get("taxcode")
        if code is not None:
            taxable[int(code)] = taxable.get(int(code), Decimal(0)) + money(line["foreignamount"])
    amounts: dict[int, Decimal] = {}
    for code, base in taxable.items():
        row = acct.db.one("SELECT rate FROM salestaxitem WHERE id = ?", (code,))
        rate = number(row["rate"] if row is not None else 0)
        amounts[code] = (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return amounts


def to_storage(
    acct: Account, tran_type: str | None, lines: list[dict[str, Any]], first_id: int
) -> list[dict[str, Any]]:
    """The stored rows for a transaction's item lines (REST signs in): for an invoice,
    the item lines negated, then its tax lines and COGS lines (ids from ``first_id``)."""
    if tran_type != wire.INVOICE_TYPE:
        return [dict(line) for line in lines]
    rows = [{**_negated(line), "taxline": "F", "iscogs": "F"} for line in lines]
    next_id = first_id
    for code, tax in tax_amounts(acct, lines).items():
        rows.append(_posting(next_id, code, -tax, taxline="T"))
        next_id += 1
    for line in lines:
        cost = _cost(acct, line)
        if cost is None:
            continue
        rows.append(_posting(next_id, line["item"], cost, iscogs="T"))
        rows.append(_posting(next_id + 1, line["item"], -cost, iscogs="T"))
        next_id += 2
    return rows


def _cost(acct: Account, line: dict[str, Any]) -> Decimal | None:
    """The cost of goods sold of a line of an inventory item (its cost times quantity)."""
    item = acct.db.one("SELECT itemtype, cost FROM item WHERE id = ?", (line.get("item"),))
    if item is None or item["itemtype"] != _INVENTORY:
        return None
    quantity = number(line.get("quantity") if line.get("quantity") is not None else 1)
    return (number(item["cost"]) * quantity).quantize(CENT, rounding=ROUND_HALF_UP)


def _posting(
    line_id: int, item: Any, amount: Decimal, *, taxline: str = "F", iscogs: str = "F"
) -> dict[str, Any]:
    return {
        "id": line_id,
        "uniquekey": None,
        "item": item,
        "foreignamount": float(amount),
        "netamount": float(amount),
        "taxline": taxline,
        "iscogs": iscogs,
    }
