"""The small company a new FakeNetSuite account starts with.

Built through the same record operations the REST service uses, so seeded records obey
every rule a client's records do (statuses, totals, receipts). Currency ids follow a
US NetSuite account's defaults (1 USA, 2 British pound, 3 Canadian Dollar, 4 Euro).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from erpsync.netsuite import wire
from erpsync.testing.netsuite.records import Account
from erpsync.testing.netsuite.types import BY_TRAN_TYPE, lookup

_CURRENCIES = (
    (1, "USA", "USD", "$", "T", 1.0),
    (2, "British pound", "GBP", "£", "F", 1.27),
    (3, "Canadian Dollar", "CAD", "$", "F", 0.73),
    (4, "Euro", "EUR", "€", "F", 1.08),
)


#: A small chart of accounts: (id, number, name, type), the types SuiteQL's
#: ``account.accttype`` uses. Inventory items post to COGS, asset and income by default.
_ACCOUNTS = (
    (1, "1000", "Checking", "Bank"),
    (2, "1100", "Accounts Receivable", "AcctRec"),
    (3, "1200", "Inventory Asset", "OthCurrAsset"),
    (4, "2000", "Accounts Payable", "AcctPay"),
    (5, "2200", "Sales Tax Payable", "OthCurrLiab"),
    (6, "4000", "Sales", "Income"),
    (7, "5000", "Cost of Goods Sold", "COGS"),
    (8, "6000", "Shop Expenses", "Expense"),
)
#: Tax codes (sales tax items; ids in the item range): (id, code, description, rate %).
_TAX_CODES = (
    (150, "CA-SF", "San Francisco sales tax", 8.625),
    (151, "EXEMPT", "Not taxable", 0.0),
)


def seed_lists(account: Account) -> None:
    """Currencies, the subsidiary, the chart of accounts and the tax codes: present in
    every account, even an empty one."""
    stamp = account.now()
    with account.db.write() as conn:
        for aid, number, name, accttype in _ACCOUNTS:
            account.insert(
                conn,
                "account",
                {
                    "id": aid,
                    "acctnumber": number,
                    "fullname": name,
                    "accountsearchdisplayname": f"{number} {name}",
                    "accttype": accttype,
                    "lastmodifieddate": stamp,
                },
            )
        for tid, code, description, rate in _TAX_CODES:
            account.insert(
                conn,
                "salestaxitem",
                {
                    "id": tid,
                    "itemid": code,
                    "fullname": code,
                    "description": description,
                    "rate": rate,
                    "lastmodifieddate": stamp,
                },
            )
        _currencies(account, conn, stamp)


def _currencies(account: Account, conn: sqlite3.Connection, stamp: str) -> None:
    """The currencies and the subsidiary whose base currency is the first of them."""
    for cid, name, symbol, display, base, rate in _CURRENCIES:
        account.insert(
            conn,
            "currency",
            {
                "id": cid,
                "name": name,
                "symbol": symbol,
                "displaysymbol": display,
                "isbasecurrency": base,
                "isinactive": "F",
                "exchangerate": rate,
                "currencyprecision": 2,
                "lastmodifieddate": stamp,
            },
        )
    account.insert(
        conn,
        "subsidiary",
        {
            "id": 1,
            "name": "Honeycomb Mfg.",
            "fullname": "Honeycomb Mfg.",
            "currency": 1,
            "country": "US",
            "isinactive": "F",
            "iselimination": "F",
            "lastmodifieddate": stamp,
        },
    )


def _items(make: Callable[[str, dict[str, object]], int]) -> tuple[int, int, int]:
    """The sample items; the ids of the widget, the shop supplies and the bracket kit."""
    widget = make(
        "inventoryItem",
        {
            "itemId": "WIDGET-100",
            "displayName": "Widget 100",
            "cost": 4.5,
            "externalId": "item-widget",
        },
    )
    make(
        "serviceSaleItem",
        {"itemId": "MACHINING", "displayName": "CNC machining", "externalId": "item-machining"},
    )
    supplies = make(
        "nonInventoryPurchaseItem",
        {"itemId": "SHOP-SUPPLIES", "displayName": "Shop supplies", "externalId": "item-supplies"},
    )
    brackets = make(
        "nonInventoryResaleItem",
        {"itemId": "BRACKET-KIT", "displayName": "Bracket kit", "externalId": "item-brackets"},
    )
    return widget, supplies, brackets


def seed_company(account: Account) -> None:
    """Customers, vendors, items and purchase orders in different states."""

    def make(record_type: str, body: dict[str, object]) -> int:
        rt = lookup(record_type)
        assert rt is not None
        return account.create(rt, body)

    sub = {"id": "1"}
    for ext, name, email, currency in (
        ("cust-acme", "Acme Robotics", "ap@acme.example", "1"),
        ("cust-globex", "Globex Corporation", "billing@globex.example", "1"),
        ("cust-initech", "Initech", "accounts@initech.example", "1"),
        ("cust-umbrella", "Umbrella Europe GmbH", "finance@umbrella.example", "4"),
    ):
        make(
            "customer",
            {
                "companyName": name,
                "email": email,
                "externalId": ext,
                "subsidiary": sub,
                "currency": {"id": currency},
            },
        )
    vendors = [
        make("vendor", {"companyName": name, "email": email, "externalId": ext, "subsidiary": sub})
        for ext, name, email in (
            ("vend-precision", "Precision Parts Co.", "orders@precision.example"),
            ("vend-metal", "Metal Supply Inc.", "sales@metalsupply.example"),
        )
    ]
    widget, supplies, brackets = _items(make)

    def order(vendor: int, ext: str, lines: list[tuple[int, int, float]]) -> int:
        return make(
            "purchaseOrder",
            {
                "entity": {"id": str(vendor)},
                "externalId": ext,
                "item": {
                    "items": [
                        {"item": {"id": str(item)}, "quantity": qty, "rate": rate}
                        for item, qty, rate in lines
                    ]
                },
            },
        )

    po_type = BY_TRAN_TYPE[wire.PURCHASE_ORDER_TYPE]
    order(vendors[0], "po-pending", [(widget, 10, 4.5), (supplies, 2, 25.0)])
    partial = order(vendors[1], "po-partial", [(brackets, 20, 3.25), (widget, 5, 4.5)])
    account.transform(
        po_type,
        partial,
        "itemReceipt",
        {"item": {"items": [{"orderLine": 1, "quantity": 8}]}},
    )
    received = order(vendors[0], "po-received", [(widget, 4, 4.5)])
    account.transform(po_type, received, "itemReceipt", {})
