"""The opt-in history of a seeded company: invoices, payments and estimates.

A new Intuit sandbox company is not an empty ledger: it has a few weeks of invoices,
some paid, some partly, one overdue, payments applied to them and estimates. Code that
lists open invoices, ages receivables or reconciles payments needs that to find, so
``FakeQuickBooks(sample_transactions=True)`` adds it; the default stays an empty
ledger, because most tests assert on exactly what they created (their first invoice is
1001).

Every transaction is made through the API's rules (:meth:`Company.create`), so totals,
balances, ``LinkedTxn``, customer balances and numbering are what the emulator would
compute for the same requests, and the next invoice a test creates is numbered after
the seeded ones (1009), as QuickBooks continues its own sequence. Dates are relative to
the emulator clock's local date, so the history is always "the last six weeks" and
exactly one invoice is overdue.

What it holds (``T`` is today; amounts in dollars):

=========  ===========================  ===========  =======  ======================
invoice    customer                     date, terms  total    paid by
=========  ===========================  ===========  =======  ======================
1001       Amy's Bird Sanctuary         T-42, Net 30 170.00   in full (payment, T-20)
1002       Bill's Windsurf Shop         T-38, Net 60 275.00   100.00 (T-25)
1003       Cool Cars                    T-35, Net 30 360.00   nothing: overdue
1004       Diego Rodriguez              T-30, Net 15 150.00   in full (T-12, with 1006)
1005       Amy's Bird Sanctuary         T-21, Net 30 190.00   nothing (open)
1006       Diego Rodriguez              T-18, receipt 50.00   in full (T-12, with 1004)
1007       Bill's Windsurf Shop         T-10, Net 30 105.00   50.00 (T-4)
1008       Cool Cars                    T-5, Net 30  550.00   nothing (from an estimate)
=========  ===========================  ===========  =======  ======================

and a 100.00 payment from Amy's Bird Sanctuary applied to nothing yet (an unapplied
credit, which QuickBooks allows). The estimates: Cool Cars' (T-14) was turned into
invoice 1008 (which links it, ``LinkedTxn`` of type Estimate), so it is ``Closed`` and
links the invoice back; Amy's (T-9) is ``Accepted``; Diego's (T-6) is ``Pending``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from erpsync.errors import ConfigurationError
from erpsync.testing.quickbooks.clock import local_date
from erpsync.testing.quickbooks.company import Company

__all__ = ["seed_transactions"]

#: (item name, quantity, unit price) of one sales line.
Line = tuple[str, int, int]


@dataclass(frozen=True)
class _Invoice:
    key: str
    customer: str
    days_ago: int
    term: str
    lines: tuple[Line, ...]
    #: The key of the estimate it was made from (the invoice links, and so closes, it).
    estimate: str | None = None


@dataclass(frozen=True)
class _Payment:
    customer: str
    days_ago: int
    method: str
    #: (invoice key, amount applied); empty for an unapplied credit.
    applies: tuple[tuple[str, int], ...]
    total: int


@dataclass(frozen=True)
class _Estimate:
    key: str
    customer: str
    days_ago: int
    status: str
    lines: tuple[Line, ...]
    extra: dict[str, Any] = field(default_factory=dict)


_AMY, _BILL, _COOL, _DIEGO = (
    "Amy's Bird Sanctuary",
    "Bill's Windsurf Shop",
    "Cool Cars",
    "Diego Rodriguez",
)
_FOUNTAINS: tuple[Line, ...] = (("Rock Fountain", 2, 275),)

#: In the order they happened (and are created, so Ids grow with the dates).
_HISTORY: tuple[_Invoice | _Payment | _Estimate, ...] = (
    _Invoice("amy-1", _AMY, 42, "Net 30", (("Pest Control", 4, 35), ("Garden Supplies", 2, 15))),
    _Invoice("bill-1", _BILL, 38, "Net 60", (("Rock Fountain", 1, 275),)),
    _Invoice("cool-1", _COOL, 35, "Net 30", (("Services", 3, 120),)),
    _Invoice("diego-1", _DIEGO, 30, "Net 15", (("Garden Supplies", 10, 15),)),
    _Payment(_BILL, 25, "Visa", (("bill-1", 100),), 100),
    _Invoice("amy-2", _AMY, 21, "Net 30", (("Services", 2, 95),)),
    _Payment(_AMY, 20, "Check", (("amy-1", 170),), 170),
    _Invoice(
        "diego-2",
        _DIEGO,
        18,
        "Due on receipt",
        (("Pest Control", 1, 35), ("Garden Supplies", 1, 15)),
    ),
    _Estimate("cool", _COOL, 14, "Pending", _FOUNTAINS),
    _Payment(_DIEGO, 12, "Check", (("diego-1", 150), ("diego-2", 50)), 200),
    _Invoice("bill-2", _BILL, 10, "Net 30", (("Pest Control", 3, 35),)),
    _Estimate(
        "amy", _AMY, 9, "Accepted", (("Pest Control", 6, 35),), {"AcceptedBy": "Amy Lauterbach"}
    ),
    _Estimate("diego", _DIEGO, 6, "Pending", (("Garden Supplies", 20, 15),)),
    _Invoice("cool-2", _COOL, 5, "Net 30", _FOUNTAINS, estimate="cool"),
    _Payment(_BILL, 4, "Cash", (("bill-2", 50),), 50),
    _Payment(_AMY, 3, "Check", (), 100),
)


def seed_transactions(company: Company) -> None:
    """Add the history above to a company seeded with its customers and items.

    Webhooks are not told (the records were there before anyone subscribed), as for the
    rest of the seed. A company without the sample customers and items cannot have it.
    """
    names = _Names(company)
    today = date.fromisoformat(local_date(company.now()))
    made: dict[str, str] = {}  # key -> Id, of the invoices and the estimates
    quiet, company.on_change = company.on_change, lambda change: None
    try:
        for event in _HISTORY:
            when = today - timedelta(days=event.days_ago)
            if isinstance(event, _Invoice):
                body = _invoice(names, event, when, made)
                made[event.key] = company.create("Invoice", body)["Id"]
            elif isinstance(event, _Payment):
                company.create("Payment", _payment(names, event, when, made))
            else:
                made[event.key] = company.create("Estimate", _estimate(names, event, when))["Id"]
    finally:
        company.on_change = quiet


class _Names:
    """Refs to the seeded lists by name (their Ids are the seed's business)."""

    def __init__(self, company: Company) -> None:
        self._company = company

    def ref(self, entity: str, name: str) -> dict[str, str]:
        key = "DisplayName" if entity == "Customer" else "Name"
        for record in self._company.records[entity].values():
            if record.get(key) == name:
                return {"value": record["Id"], "name": name}
        raise ConfigurationError(
            f"sample transactions need the seeded {entity} {name!r}: "
            "sample_transactions=True needs seed_data=True",
            field="sample_transactions",
        )

    def due_days(self, term: str) -> int:
        ref = self.ref("Term", term)
        return int(self._company.records["Term"][ref["value"]].get("DueDays", 0))

    def lines(self, lines: tuple[Line, ...]) -> list[dict[str, Any]]:
        return [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": qty * price,
                "SalesItemLineDetail": {
                    "ItemRef": self.ref("Item", item),
                    "Qty": qty,
                    "UnitPrice": price,
                },
            }
            for item, qty, price in lines
        ]


def _invoice(names: _Names, event: _Invoice, when: date, made: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "CustomerRef": names.ref("Customer", event.customer),
        "TxnDate": when.isoformat(),
        "SalesTermRef": names.ref("Term", event.term),
        "DueDate": (when + timedelta(days=names.due_days(event.term))).isoformat(),
        "Line": names.lines(event.lines),
    }
    if event.estimate is not None:
        record["LinkedTxn"] = [{"TxnId": made[event.estimate], "TxnType": "Estimate"}]
    return record


def _payment(
    names: _Names, event: _Payment, when: date, invoices: dict[str, str]
) -> dict[str, Any]:
    return {
        "CustomerRef": names.ref("Customer", event.customer),
        "TxnDate": when.isoformat(),
        "TotalAmt": event.total,
        "PaymentMethodRef": names.ref("PaymentMethod", event.method),
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": invoices[key], "TxnType": "Invoice"}]}
            for key, amount in event.applies
        ],
    }


def _estimate(names: _Names, event: _Estimate, when: date) -> dict[str, Any]:
    record: dict[str, Any] = {
        "CustomerRef": names.ref("Customer", event.customer),
        "TxnDate": when.isoformat(),
        "ExpirationDate": (when + timedelta(days=30)).isoformat(),
        "TxnStatus": event.status,
        "Line": names.lines(event.lines),
        **event.extra,
    }
    if event.status == "Accepted":
        record["AcceptedDate"] = (when + timedelta(days=2)).isoformat()
    return record
