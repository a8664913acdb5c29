"""NetSuite customer payments <-> models: REST records and SuiteQL rows with their
``previoustransactionlinelink`` applications.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erpsync.models import (
    Payment,
    PaymentApplication,
    Ref,
)
from erpsync.netsuite.values import (
    WireReader,
    currency_code,
    currency_ref,
    json_number,
    put,
    usable_external_id,
)

# -- payments ----------------------------------------------------------------------------


def payment_to_wire(
    payment: Payment, *, external_id: str, currency_ids: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A ``customerPayment`` body applied to the payment's invoices."""
    record = f"customerPayment {external_id}"
    body: dict[str, Any] = {
        "customer": {"id": payment.customer.id},
        "payment": json_number(payment.amount, "amount", record),
        "tranDate": payment.date.isoformat(),
        "externalId": external_id,
    }
    put(body, "memo", payment.memo)
    put(body, "currency", currency_ref(payment.currency, currency_ids, record))
    body["apply"] = {
        "items": [
            {
                "doc": {"id": app.invoice_id},
                "apply": True,
                "amount": json_number(app.amount, f"applications.{i}.amount", record),
            }
            for i, app in enumerate(payment.applications)
        ]
    }
    return body


def payment_from_wire(data: Any, currencies: Mapping[str, str]) -> Payment:
    """A payment from ``GET customerPayment/{id}?expandSubResources=true``."""
    label = data.get("id") if isinstance(data, Mapping) else "?"
    reader = WireReader(data, f"customerPayment {label}")
    currency = currency_code(currencies, reader.ref_id("currency"), reader, "currency")
    applications = []
    for index, raw in enumerate(reader.sublist("apply")):
        line = WireReader(raw, f"{reader.record} apply line {index + 1}")
        if line.flag("apply") is False:
            continue
        doc = line.ref_id("doc")
        amount = line.money("amount", currency)
        if doc is None or amount is None:
            line.fail("doc" if doc is None else "amount", "is missing")
        applications.append(line.build(PaymentApplication, invoice_id=doc, amount=amount))
    return _payment(
        reader,
        currency,
        applications,
        customer=reader.required_ref("customer"),
        amount=reader.money("payment", currency, required=True),
        tran_date=reader.required_date("tranDate"),
        external_id=usable_external_id(reader.text("externalId")),
        memo=reader.text("memo"),
        updated_at=reader.timestamp("lastModifiedDate"),
    )


def payment_from_row(row: Any, links: Iterable[Any], currencies: Mapping[str, str]) -> Payment:
    """A payment from a SuiteQL ``transaction`` row and its ``previoustransactionlinelink``
    rows (``previousdoc``, ``foreignamount``)."""
    reader = WireReader(
        row, f"customerPayment {row.get('id') if isinstance(row, Mapping) else '?'}"
    )
    currency = currency_code(currencies, reader.text("currency"), reader, "currency")
    applications = []
    for link in links:
        line = WireReader(link, f"{reader.record} application")
        amount = line.money("foreignamount", currency, required=True)
        assert amount is not None
        # The link's sign follows the accounting side it is read from; an application is
        # an amount applied, never negative.
        applications.append(
            line.build(
                PaymentApplication,
                invoice_id=line.required_text("previousdoc"),
                amount=abs(amount),
            )
        )
    return _payment(
        reader,
        currency,
        applications,
        customer=reader.make_ref(
            reader.required_text("entity"), reader.text("entityname"), "entity"
        ),
        amount=reader.money("foreigntotal", currency, required=True),
        tran_date=reader.required_date("trandate"),
        external_id=usable_external_id(reader.text("externalid")),
        memo=reader.text("memo"),
        updated_at=reader.timestamp("lastmodified"),
    )


def _payment(
    reader: WireReader,
    currency: str,
    applications: list[PaymentApplication],
    *,
    customer: Ref,
    amount: Decimal | None,
    tran_date: date,
    external_id: str | None,
    memo: str | None,
    updated_at: datetime | None,
) -> Payment:
    payment: Payment = reader.build(
        Payment,
        id=reader.text("id"),
        external_id=external_id,
        customer=customer,
        date=tran_date,
        amount=amount,
        currency=currency,
        applications=applications,
        memo=memo,
        updated_at=updated_at,
    )
    return payment
