"""Reconciliation by external id on both emulators, and its CSV and text forms."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError
from erpsync.models import Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentApplication, Ref
from erpsync.sync.reconcile import reconcile
from erpsync.testing import FakeClock
from erpsync.testing.netsuite import FakeNetSuite
from erpsync.testing.quickbooks import FakeQuickBooks


@pytest.fixture(params=["netsuite", "quickbooks"])
def backend(request: pytest.FixtureRequest) -> Iterator[AccountingBackend]:
    clock = FakeClock()
    fake: Any = (
        FakeNetSuite(clock=clock) if request.param == "netsuite" else FakeQuickBooks(clock=clock)
    )
    with fake:
        yield fake.backend(rng=random.Random(7))  # governance and timing: the emulator's


def make(backend: AccountingBackend, key: str, amount: str) -> Invoice:
    customer = next(iter(backend.iter_customers()))
    item = next(iter(backend.iter_items()))
    assert customer.id is not None and item.id is not None
    return Invoice(
        external_id=key,
        customer=Ref(id=customer.id),
        date=date(2026, 10, 1),
        lines=[InvoiceLine(description="x", amount=Decimal(amount), item=Ref(id=item.id))],
    )


def test_reconcile_finds_every_kind_of_gap(backend: AccountingBackend) -> None:
    same = backend.create_invoice(make(backend, "S-1", "10.00"))
    backend.create_invoice(make(backend, "S-2", "20.00"))  # amount differs locally
    paid = backend.create_invoice(make(backend, "S-3", "30.00"))  # paid in the ERP only
    backend.create_invoice(make(backend, "S-9", "90.00"))  # nobody has it locally
    backend.create_invoice(make(backend, "OTHER-1", "5.00"))  # not ours (prefix)
    assert paid.id is not None
    backend.create_payment(
        Payment(
            external_id="S-PAY-1",
            customer=paid.customer,
            date=date(2026, 10, 2),
            amount=Decimal("30.00"),
            applications=[PaymentApplication(invoice_id=paid.id, amount=Decimal("30.00"))],
        )
    )
    local: list[Invoice | Payment] = [
        make(backend, "S-1", "10.00").model_copy(update={"balance": same.balance}),
        make(backend, "S-2", "25.00"),
        make(backend, "S-3", "30.00").model_copy(
            update={"balance": Decimal("30.00"), "status": InvoiceStatus.OPEN}
        ),
        make(backend, "S-4", "40.00"),  # never written
        make(backend, "S-4", "40.00"),
        make(backend, "S-5", "1.00").model_copy(update={"external_id": None}),
        Payment(
            external_id="S-PAY-1",
            customer=Ref(id="x"),
            date=date(2026, 10, 2),
            amount=Decimal("30.00"),
            applications=[PaymentApplication(invoice_id="S-3", amount=Decimal("30.00"))],
        ),
    ]

    report = reconcile(local, backend, ours="S-")

    found = {(d.kind, d.external_id) for d in report.discrepancies}
    assert found == {
        ("amount_mismatch", "S-2"),
        ("balance_mismatch", "S-3"),
        ("status_mismatch", "S-3"),
        ("missing_in_erp", "S-4"),
        ("duplicate_locally", "S-4"),
        ("missing_locally", "S-9"),
        ("no_external_id", None),
    }
    assert report.matched == 2  # S-1 and the payment
    (amount,) = report.by_kind("amount_mismatch")
    assert (amount.local, amount.erp) == ("25.00 USD", "20.00 USD")
    assert not report.ok


def test_several_erp_records_with_one_external_id(
    backend: AccountingBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend.create_invoice(make(backend, "D-1", "10.00"))
    twin = first.model_copy(update={"id": "999999"})
    real = backend.iter_invoices
    monkeypatch.setattr(
        backend, "iter_invoices", lambda modified_since=None, open_only=False: iter([*real(), twin])
    )
    report = reconcile([make(backend, "D-1", "10.00")], backend, payments=False)
    (dup,) = report.by_kind("duplicate_in_erp")
    assert dup.external_id == "D-1" and set(dup.erp_ids) == {first.id, "999999"}


def test_a_window_does_not_report_older_records_as_missing(backend: AccountingBackend) -> None:
    backend.create_invoice(make(backend, "W-1", "10.00"))
    later = datetime(2099, 1, 1, tzinfo=UTC)
    report = reconcile(
        [make(backend, "W-1", "10.00"), make(backend, "W-2", "1.00")],
        backend,
        since=later,
        ours="W-",
    )
    assert {(d.kind, d.external_id) for d in report.discrepancies} == {("missing_in_erp", "W-2")}
    assert report.matched == 1


def test_the_report_as_csv_and_text(backend: AccountingBackend) -> None:
    backend.create_invoice(make(backend, "T-1", "10.00"))
    report = reconcile([make(backend, "T-2", "2.00")], backend, ours="T-")

    stream = io.StringIO()
    report.to_csv(stream)
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert [(r["kind"], r["external_id"]) for r in rows] == [
        ("missing_in_erp", "T-2"),
        ("missing_locally", "T-1"),
    ]
    assert rows[1]["erp"] == "10.00 USD" and rows[1]["erp_ids"]

    text = report.to_text()
    assert text.startswith(
        f"Reconciliation with {backend.name}: 1 local documents, 1 ERP records, 0 matched, 2"
    )
    assert "- missing_locally invoice T-1" in text

    clean = reconcile([make(backend, "T-1", "10.00")], backend, ours="T-", payments=False)
    assert clean.ok and clean.to_text().endswith("0 discrepancies.\n")


def test_only_invoices_and_payments_can_be_reconciled(backend: AccountingBackend) -> None:
    with pytest.raises(ConfigurationError):
        reconcile(["INV-1"], backend)  # type: ignore[list-item]


def test_an_invoice_copied_in_quickbooks_is_reported_as_a_duplicate() -> None:
    """A user copying an invoice in QuickBooks copies its memo, and with it erpsync's
    external-id marker: two ERP records then claim one external id. Made here through
    the raw API, as the QuickBooks UI would, with no help from the backend."""
    import requests

    with FakeQuickBooks(clock=FakeClock()) as fake:
        backend = fake.backend(rng=random.Random(7))
        first = backend.create_invoice(make(backend, "D-1", "10.00"))
        original = next(r for r in fake.records("Invoice") if r["Id"] == first.id)
        copy = {
            "CustomerRef": original["CustomerRef"],
            "TxnDate": original["TxnDate"],
            "DocNumber": "COPY-OF-D-1",
            "PrivateNote": original["PrivateNote"],
            "Line": [
                line for line in original["Line"] if line["DetailType"] != "SubTotalLineDetail"
            ],
        }
        creds = fake.credentials
        answer = requests.post(
            f"https://quickbooks.api.intuit.com/v3/company/{creds.realm_id}/invoice",
            params={"minorversion": "75"},
            json=copy,
            headers={"Authorization": f"Bearer {creds.access_token}", "Accept": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        twin_id = answer.json()["Invoice"]["Id"]

        report = reconcile([make(backend, "D-1", "10.00")], backend, payments=False)

    (dup,) = report.by_kind("duplicate_in_erp")
    assert dup.external_id == "D-1" and set(dup.erp_ids) == {first.id, twin_id}
    assert "duplicate_in_erp" in report.to_text()


def test_the_text_report_shows_both_amounts(backend: AccountingBackend) -> None:
    backend.create_invoice(make(backend, "A-1", "10.00"))
    report = reconcile([make(backend, "A-1", "12.50")], backend, ours="A-", payments=False)
    assert "(local 12.50 USD, ERP 10.00 USD)" in report.to_text()


def test_local_payments_settle_the_local_invoices_they_pay(backend: AccountingBackend) -> None:
    """Issue 16 item 5: a local invoices file holds the invoices as issued (open, no
    balance); the payments file pays them, and the ERP recorded those payments (a sync
    pushed them). Reconciling both files against the ERP must find no difference."""
    full, part = make(backend, "P-1", "30.00"), make(backend, "P-2", "100.00")
    stated = make(backend, "P-3", "50.00").model_copy(update={"balance": Decimal("50.00")})
    erp = [backend.create_invoice(invoice) for invoice in (full, part, stated)]
    payments = [
        Payment(
            external_id=f"P-PAY-{n}",
            customer=erp[0].customer,
            date=date(2026, 10, 2),
            amount=Decimal(amount),
            applications=[PaymentApplication(invoice_id=reference, amount=Decimal(amount))],
        )
        for n, (reference, amount) in enumerate(
            [("P-1", "30.00"), (str(erp[1].id), "40.00"), ("P-3", "50.00")], start=1
        )
    ]
    for payment, invoice in zip(payments, erp):  # what the sync pushed: by the ERP's ids
        (application,) = payment.applications
        erp_application = PaymentApplication(invoice_id=str(invoice.id), amount=application.amount)
        backend.create_payment(payment.model_copy(update={"applications": [erp_application]}))
    report = reconcile([full, part, stated, *payments], backend, ours="P-")
    # P-1 paid in full by external id, P-2 in part by ERP id: both agree with the ERP.
    # P-3 states its own balance (50.00, open): taken as written, so the ERP's payment
    # shows as a difference, as before.
    assert [(d.kind, d.external_id) for d in report.discrepancies] == [
        ("balance_mismatch", "P-3"),
        ("status_mismatch", "P-3"),
    ], report.to_text()
    assert report.matched == 5  # P-1, P-2 and the three payments
    without = reconcile([full, part], backend, ours="P-", payments=False)
    assert {(d.kind, d.external_id) for d in without.discrepancies} >= {
        ("status_mismatch", "P-1"),
        ("status_mismatch", "P-2"),
    }


def test_a_zero_invoice_is_paid_on_both_sides(backend: AccountingBackend) -> None:
    """The ERPs mark a $0 invoice paid at once; the local file holds it as issued."""
    free = make(backend, "Z-1", "0.00")
    backend.create_invoice(free)
    report = reconcile([free], backend, ours="Z-")
    assert report.discrepancies == [], report.to_text()
    assert report.matched == 1
