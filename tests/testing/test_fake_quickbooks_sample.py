"""``FakeQuickBooks(sample_transactions=True)``: a sandbox company with history.

The opt-in adds invoices, payments and estimates through the API's rules, so every
figure must agree with what the emulator computes for payments (balances, LinkedTxn,
customer balances), numbering continues after the seeded invoices, the history is
dated on the emulator clock, survives resets and belongs to one company; without it the
ledger stays empty and the first invoice is 1001.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from erpsync.errors import ConfigurationError
from erpsync.testing import FakeClock, FakeQuickBooks

_START = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)  # 11:00 in the company's zone


def _fake(**options: Any) -> FakeQuickBooks:
    return FakeQuickBooks(clock=FakeClock(_START), governance=None, **options)


def _invoice_body(customer: str = "1") -> dict[str, Any]:
    return {
        "CustomerRef": {"value": customer},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 35,
                "SalesItemLineDetail": {"ItemRef": {"value": "10"}, "Qty": 1, "UnitPrice": 35},
            }
        ],
    }


def _history(fake: FakeQuickBooks, realm_id: str | None = None) -> dict[str, int]:
    return {
        entity: len(fake.records(entity, realm_id)) for entity in ("Invoice", "Payment", "Estimate")
    }


def test_the_default_company_has_no_transactions_and_numbers_from_1001():
    fake = _fake()
    assert _history(fake) == {"Invoice": 0, "Payment": 0, "Estimate": 0}
    made = fake.seed_records({"Invoice": [_invoice_body()]})["Invoice"][0]
    assert (made["Id"], made["DocNumber"]) == ("1", "1001")
    assert sum(c["Balance"] for c in fake.records("Customer")) == 35


def test_sample_transactions_seed_invoices_payments_and_estimates():
    fake = _fake(sample_transactions=True)
    assert _history(fake) == {"Invoice": 8, "Payment": 5, "Estimate": 3}
    invoices = fake.records("Invoice")
    assert [i["DocNumber"] for i in invoices] == [str(n) for n in range(1001, 1009)]
    assert {i["CustomerRef"]["value"] for i in invoices} == {"1", "2", "3", "4"}
    paid = [i for i in invoices if i["Balance"] == 0]
    partly = [i for i in invoices if 0 < i["Balance"] < i["TotalAmt"]]
    open_ = [i for i in invoices if i["Balance"] == i["TotalAmt"]]
    assert (len(paid), len(partly), len(open_)) == (3, 2, 3)
    statuses = sorted(e["TxnStatus"] for e in fake.records("Estimate"))
    assert statuses == ["Accepted", "Closed", "Pending"]
    accepted = next(e for e in fake.records("Estimate") if e["TxnStatus"] == "Accepted")
    assert accepted["AcceptedBy"] and accepted["AcceptedDate"] > accepted["TxnDate"]
    closed = next(e for e in fake.records("Estimate") if e["TxnStatus"] == "Closed")
    from_it = [
        i
        for i in invoices
        if {"TxnId": closed["Id"], "TxnType": "Estimate"} in i.get("LinkedTxn", [])
    ]
    assert [i["DocNumber"] for i in from_it] == ["1008"]
    assert closed["LinkedTxn"] == [{"TxnId": from_it[0]["Id"], "TxnType": "Invoice"}]
    assert closed["TotalAmt"] == from_it[0]["TotalAmt"]


def _estimate_body(customer: str = "1") -> dict[str, Any]:
    return {**_invoice_body(customer), "TxnStatus": "Accepted"}


def test_an_invoice_made_from_an_estimate_closes_it_and_links_both_ways():
    fake = _fake()
    estimate = fake.seed_records({"Estimate": [_estimate_body()]})["Estimate"][0]
    link = {"TxnId": estimate["Id"], "TxnType": "Estimate"}
    invoice = fake.seed_records(
        {
            "Invoice": [
                {
                    **_invoice_body(),
                    # a Payment link is the server's to make: dropped
                    "LinkedTxn": [link, {"TxnId": "1", "TxnType": "Payment"}],
                }
            ]
        }
    )["Invoice"][0]
    assert invoice["LinkedTxn"] == [link]
    closed = fake.records("Estimate")[0]
    assert (closed["TxnStatus"], closed["SyncToken"]) == ("Closed", "1")
    assert closed["LinkedTxn"] == [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]
    payment = {
        "CustomerRef": {"value": "1"},
        "TotalAmt": 35,
        "Line": [{"Amount": 35, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    made = fake.seed_records({"Payment": [payment]})["Payment"][0]
    paid = fake.records("Invoice")[0]
    assert paid["LinkedTxn"] == [link, {"TxnId": made["Id"], "TxnType": "Payment"}]
    assert paid["Balance"] == 0
    with fake:  # a void releases the payment; the estimate it came from stays named
        answer = requests.post(
            f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}/invoice",
            params={"operation": "void"},
            json={"Id": paid["Id"], "SyncToken": paid["SyncToken"]},
            headers={
                "Authorization": f"Bearer {fake.credentials.access_token}",
                "Accept": "application/json",
            },
            timeout=10,
        )
    assert answer.status_code == 200, answer.text
    assert fake.records("Invoice")[0]["LinkedTxn"] == [link]
    assert fake.records("Payment")[0]["UnappliedAmt"] == 35


def test_an_invoice_cannot_link_a_missing_or_another_customers_estimate():
    fake = _fake()
    estimate = fake.seed_records({"Estimate": [_estimate_body("2")]})["Estimate"][0]
    for txn_id, message in ((estimate["Id"], "another customer"), ("99", "Not Found")):
        body = {**_invoice_body("1"), "LinkedTxn": [{"TxnId": txn_id, "TxnType": "Estimate"}]}
        with pytest.raises(ConfigurationError, match=message) as refused:
            fake.seed_records({"Invoice": [body]})
        assert "LinkedTxn" in str(refused.value.field)
    assert fake.records("Invoice") == []
    assert fake.records("Estimate")[0]["TxnStatus"] == "Accepted"


def test_sample_balances_agree_with_the_payments_applied():
    fake = _fake(sample_transactions=True)
    applied: dict[str, Decimal] = {}
    by_invoice: dict[str, set[str]] = {}
    payments = fake.records("Payment")
    for payment in payments:
        lines = payment.get("Line", [])
        total_applied = sum((Decimal(str(line["Amount"])) for line in lines), Decimal(0))
        assert Decimal(str(payment["UnappliedAmt"])) == Decimal(str(payment["TotalAmt"])) - (
            total_applied
        )
        for line in lines:
            for link in line["LinkedTxn"]:
                assert link["TxnType"] == "Invoice"
                applied[link["TxnId"]] = applied.get(link["TxnId"], Decimal(0)) + Decimal(
                    str(line["Amount"])
                )
                by_invoice.setdefault(link["TxnId"], set()).add(payment["Id"])
    # one payment pays two invoices; one is an unapplied credit
    assert any(len({line["LinkedTxn"][0]["TxnId"] for line in p["Line"]}) == 2 for p in payments)
    credits = [p for p in payments if p["UnappliedAmt"] > 0]
    assert len(credits) == 1 and not credits[0].get("Line")
    invoices = fake.records("Invoice")
    for invoice in invoices:
        received = applied.get(invoice["Id"], Decimal(0))
        assert Decimal(str(invoice["Balance"])) == Decimal(str(invoice["TotalAmt"])) - received
        links = {
            link["TxnId"] for link in invoice.get("LinkedTxn", []) if link["TxnType"] == "Payment"
        }
        assert links == by_invoice.get(invoice["Id"], set())
    for customer in fake.records("Customer"):
        owed = sum(
            (
                Decimal(str(i["Balance"]))
                for i in invoices
                if i["CustomerRef"]["value"] == customer["Id"]
            ),
            Decimal(0),
        )
        credit = sum(
            (
                Decimal(str(p["UnappliedAmt"]))
                for p in payments
                if p["CustomerRef"]["value"] == customer["Id"]
            ),
            Decimal(0),
        )
        assert Decimal(str(customer["Balance"])) == owed - credit


def test_sample_history_is_dated_over_the_last_weeks_with_one_invoice_overdue():
    for start in (_START, _START + timedelta(days=200)):
        fake = FakeQuickBooks(clock=FakeClock(start), sample_transactions=True)
        today = (start - timedelta(hours=7)).date()  # the company's zone (Pacific, DST)
        dates = [
            date.fromisoformat(r["TxnDate"])
            for entity in ("Invoice", "Payment", "Estimate")
            for r in fake.records(entity)
        ]
        assert all(today - timedelta(days=45) <= d < today for d in dates)
        overdue = [
            i
            for i in fake.records("Invoice")
            if i["Balance"] > 0 and date.fromisoformat(i["DueDate"]) < today
        ]
        assert [i["DocNumber"] for i in overdue] == ["1003"]


def test_numbering_continues_after_the_seeded_invoices_through_the_api():
    fake = _fake(sample_transactions=True)
    with fake:
        answer = requests.post(
            f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}/invoice",
            json=_invoice_body(),
            headers={
                "Authorization": f"Bearer {fake.credentials.access_token}",
                "Accept": "application/json",
            },
            timeout=10,
        )
    assert answer.status_code == 200, answer.text
    made = answer.json()["Invoice"]
    assert (made["Id"], made["DocNumber"]) == ("9", "1009")


def test_a_seeded_open_invoice_takes_a_payment_like_any_other():
    fake = _fake(sample_transactions=True)
    overdue = next(i for i in fake.records("Invoice") if i["DocNumber"] == "1003")
    payment = {
        "CustomerRef": overdue["CustomerRef"],
        "TotalAmt": overdue["Balance"],
        "Line": [
            {
                "Amount": overdue["Balance"],
                "LinkedTxn": [{"TxnId": overdue["Id"], "TxnType": "Invoice"}],
            }
        ],
    }
    made = fake.seed_records({"Payment": [payment]})["Payment"][0]
    assert made["Id"] == "6"
    settled = next(i for i in fake.records("Invoice") if i["Id"] == overdue["Id"])
    assert settled["Balance"] == 0
    assert settled["LinkedTxn"] == [{"TxnId": "6", "TxnType": "Payment"}]


def test_sample_history_survives_reset_and_reset_company():
    fake = _fake(sample_transactions=True)
    second = fake.add_company(sample_transactions=True)
    before = fake.records("Invoice")
    fake.seed_records({"Invoice": [_invoice_body()]})
    fake.seed_records({"Invoice": [_invoice_body()]}, realm_id=second.realm_id)
    fake.reset()
    assert fake.records("Invoice") == before
    assert _history(fake, second.realm_id) == {"Invoice": 8, "Payment": 5, "Estimate": 3}
    fake.seed_records({"Invoice": [_invoice_body()]}, realm_id=second.realm_id)
    fake.reset_company(second.realm_id)
    assert _history(fake, second.realm_id) == {"Invoice": 8, "Payment": 5, "Estimate": 3}
    made = fake.seed_records({"Invoice": [_invoice_body()]}, realm_id=second.realm_id)
    assert made["Invoice"][0]["DocNumber"] == "1009"


def test_sample_history_is_per_company():
    fake = _fake()
    with_history = fake.add_company(sample_transactions=True)
    plain = fake.add_company()
    assert _history(fake) == {"Invoice": 0, "Payment": 0, "Estimate": 0}
    assert _history(fake, with_history.realm_id) == {"Invoice": 8, "Payment": 5, "Estimate": 3}
    assert _history(fake, plain.realm_id) == {"Invoice": 0, "Payment": 0, "Estimate": 0}
    fake.reset()
    assert _history(fake, with_history.realm_id)["Invoice"] == 8
    assert _history(fake, plain.realm_id)["Invoice"] == 0
    first = _fake(sample_transactions=True)
    other = first.add_company()
    assert _history(first, other.realm_id)["Payment"] == 0


def test_sample_history_is_not_announced_to_webhooks():
    fake = _fake(sample_transactions=True)
    fake.webhooks.subscribe(lambda body, headers: 200)
    fake.reset()  # the subscription stays; the books are seeded again
    fake.add_company(sample_transactions=True)
    assert fake.webhooks.pending == 0
    fake.seed_records({"Invoice": [_invoice_body()]})
    assert fake.webhooks.pending == 1


def test_sample_transactions_need_the_seed_data():
    with pytest.raises(ConfigurationError, match="seed_data"):
        FakeQuickBooks(seed_data=False, sample_transactions=True)
    fake = _fake()
    with pytest.raises(ConfigurationError, match="seed_data"):
        fake.add_company(seed_data=False, sample_transactions=True)
    assert len(fake.realm_ids) == 1


def test_the_control_endpoint_adds_a_company_with_sample_transactions():
    fake = _fake()
    url = fake.serve()
    try:
        made = requests.post(
            f"{url}/_erpsync/companies", json={"sample_transactions": True}, timeout=10
        )
        assert made.status_code == 201
        realm = made.json()["realm_id"]
        base = f"{url}/_erpsync/companies/{realm}"
        assert len(requests.get(f"{base}/records/Payment", timeout=10).json()["Payment"]) == 5
        plain = requests.post(f"{url}/_erpsync/companies", json={}, timeout=10).json()
        listed = requests.get(
            f"{url}/_erpsync/companies/{plain['realm_id']}/records/Invoice", timeout=10
        )
        assert listed.json() == {"Invoice": []}
    finally:
        fake.shutdown()
