"""QuickBooks payments <-> models: ``Line[].LinkedTxn`` applications."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from erpsync.errors import InvalidRequestError
from erpsync.models import (
    Payment,
    PaymentApplication,
)
from erpsync.quickbooks.errors import BACKEND
from erpsync.quickbooks.records.notes import external_id_in, without_marker
from erpsync.quickbooks.values import (
    WireReader,
    money_places,
    put,
    read_decimal,
    ref_to_wire,
)
from erpsync.quickbooks.wire import PRIVATE_NOTE_MAX

# -- payments ------------------------------------------------------------------------------


def payment_from_wire(wire: Any, *, home_currency: str = "USD") -> Payment:
    r = WireReader(wire, "Payment")
    currency = r.currency(home_currency)
    applications: list[PaymentApplication] = []
    raw_lines = wire.get("Line") or []
    if not isinstance(raw_lines, list):
        r.fail("Line", "is not a list")
    for index, line in enumerate(raw_lines):
        if not isinstance(line, Mapping):
            r.fail(f"Line[{index}]", "is not an object")
        amount = read_decimal(r, line.get("Amount"), f"Line[{index}].Amount") or Decimal(0)
        links = line.get("LinkedTxn") or []
        if not isinstance(links, list):
            r.fail(f"Line[{index}].LinkedTxn", "is not a list")
        for link in links:
            if isinstance(link, Mapping) and link.get("TxnType") == "Invoice" and link.get("TxnId"):
                applications.append(
                    r.build_at(
                        {
                            "": f"Line[{index}]",
                            "amount": f"Line[{index}].Amount",
                            "invoice_id": f"Line[{index}].LinkedTxn.TxnId",
                        },
                        PaymentApplication,
                        invoice_id=str(link["TxnId"]),
                        amount=money_places(amount, currency),
                    )
                )
                break  # one amount per line: it belongs to the line's first invoice
    total = r.money("TotalAmt")
    if total is None:
        r.fail("TotalAmt", "is missing")
    note = wire.get("PrivateNote")
    return r.build(
        Payment,
        id=r.text("Id", required=True),
        external_id=external_id_in(note),
        customer=r.ref("CustomerRef", required=True),
        date=r.day("TxnDate", required=True),
        amount=money_places(total, currency),
        currency=currency,
        applications=applications,
        memo=without_marker(note),
        updated_at=r.updated_at(),
    )


def payment_to_wire(payment: Payment, *, private_note: str | None) -> dict[str, Any]:
    label = f"payment {payment.external_id or '(new)'}"
    if private_note is not None and len(private_note) > PRIVATE_NOTE_MAX:
        raise InvalidRequestError(
            f"the memo is longer than QuickBooks' {PRIVATE_NOTE_MAX} characters",
            backend=BACKEND,
            record=label,
            field="PrivateNote",
        )
    body: dict[str, Any] = {
        "CustomerRef": ref_to_wire(payment.customer),
        "TotalAmt": payment.amount,
        "TxnDate": payment.date.isoformat(),
        "CurrencyRef": {"value": payment.currency},
        "Line": [
            {"Amount": app.amount, "LinkedTxn": [{"TxnId": app.invoice_id, "TxnType": "Invoice"}]}
            for app in payment.applications
        ],
    }
    put(body, "PrivateNote", private_note)
    return body
