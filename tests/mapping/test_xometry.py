"""The marketplace-job mapping: one line per job, dates by trigger, payouts checked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from erpsync.errors import MappingError
from erpsync.mapping.xometry import (
    InvoicePolicy,
    JobStatus,
    XometryJob,
    XometryPayout,
    amount_due,
    invoice_external_id,
    invoice_for_job,
    payment_external_id,
    payment_for_payout,
)
from erpsync.models import Invoice, InvoiceLine, Ref, decode_external_id

CUSTOMER = Ref(id="58")
ITEM = Ref(id="7")


def job(job_id: str = "J1042", price: str = "1250.00", **changes: object) -> XometryJob:
    data: dict[str, object] = {
        "job_id": job_id,
        "price": price,
        "accepted_date": date(2026, 3, 1),
        "expected_ship_date": date(2026, 3, 20),
        "status": "accepted",
    }
    data.update(changes)
    return XometryJob.model_validate(data)


def policy(trigger: str = "accepted", **changes: object) -> InvoicePolicy:
    return InvoicePolicy.model_validate({"trigger": trigger, "customer": CUSTOMER, **changes})


def erp_invoice(job_id: str, total: str, *, id: str, balance: str | None = None) -> Invoice:
    return Invoice(
        id=id,
        external_id=invoice_external_id(job_id),
        customer=CUSTOMER,
        date=date(2026, 3, 20),
        lines=[InvoiceLine(description=f"Xometry Job {job_id}", amount=total)],
        balance=balance,
    )


# -- jobs -----------------------------------------------------------------------------------


def test_job_is_frozen_and_keeps_money_exact() -> None:
    j = job(price="99.5")
    assert j.price == Decimal("99.5")
    with pytest.raises(ValidationError):
        j.price = Decimal(1)  # type: ignore[misc]


@pytest.mark.parametrize("price", [1.5, "1.005", "-1", "NaN"])
def test_job_refuses_prices_that_are_not_usd_amounts(price: object) -> None:
    with pytest.raises(ValidationError):
        job(price=price)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("accepted", JobStatus.ACCEPTED),
        ("Completed", JobStatus.COMPLETED),
        ("SHIPPED", JobStatus.COMPLETED),
        ("cancelled", JobStatus.CANCELED),
        ("Canceled", JobStatus.CANCELED),
    ],
)
def test_job_status_is_tolerant_of_spelling(raw: str, status: JobStatus) -> None:
    assert job(status=raw).status is status


def test_unknown_job_status_is_kept_raw() -> None:
    j = job(status="In Production")
    assert j.status is JobStatus.UNKNOWN
    assert j.raw_status == "In Production"


def test_integer_job_ids_become_text() -> None:
    assert job(job_id=1042).job_id == "1042"  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        job(job_id="  ")


# -- invoices -------------------------------------------------------------------------------


def test_accepted_trigger_invoices_the_total_on_one_line_dated_expected_ship() -> None:
    inv = invoice_for_job(job(), policy(item=ITEM))
    assert inv.customer == CUSTOMER
    assert inv.date == date(2026, 3, 20)
    assert inv.currency == "USD"
    assert inv.total == Decimal("1250.00")
    assert len(inv.lines) == 1
    line = inv.lines[0]
    assert (line.quantity, line.amount, line.unit_price) == (
        Decimal(1),
        Decimal("1250.00"),
        Decimal("1250.00"),
    )
    assert line.item == ITEM
    assert line.tax_code is None
    assert line.description == "Xometry Job J1042"
    assert inv.external_id == "xometry-job-J1042"


def test_completed_trigger_dates_the_invoice_on_the_ship_date() -> None:
    inv = invoice_for_job(job(ship_date=date(2026, 3, 18), status="completed"), policy("completed"))
    assert inv.date == date(2026, 3, 18)


def test_completed_trigger_without_ship_date_names_the_job() -> None:
    with pytest.raises(MappingError, match="J1042") as info:
        invoice_for_job(job(status="completed"), policy("completed"))
    assert "ship date" in str(info.value)


def test_canceled_jobs_are_not_invoiced() -> None:
    with pytest.raises(MappingError, match="canceled"):
        invoice_for_job(job(status="canceled"), policy())


def test_job_description_replaces_the_default_and_item_is_optional() -> None:
    inv = invoice_for_job(job(description="Bracket, 6061 aluminium"), policy())
    assert inv.lines[0].description == "Bracket, 6061 aluminium"
    assert inv.lines[0].item is None


def test_job_ids_outside_the_external_id_alphabet_are_encoded_reversibly() -> None:
    inv = invoice_for_job(job(job_id="J/10 42"), policy())
    assert inv.external_id is not None
    assert inv.external_id.startswith("xometry-job-")
    assert decode_external_id(inv.external_id.removeprefix("xometry-job-")) == "J/10 42"
    assert invoice_external_id("A_1") != invoice_external_id("A1")


def test_tax_rate_needs_a_tax_code_which_goes_on_the_line() -> None:
    with pytest.raises(ValidationError, match="tax_code"):
        policy(tax_rate=Decimal("0.0825"))
    taxed = policy(tax_rate=Decimal("0.0825"), tax_code=Ref(id="TAX"))
    inv = invoice_for_job(job(price="100.00"), taxed)
    assert inv.lines[0].tax_code == Ref(id="TAX")
    assert inv.tax == 0  # the ERP computes it from the code
    assert taxed.expected_total(Decimal("100.00")) == Decimal("108.25")
    assert taxed.expected_total(Decimal("0.10")) == Decimal("0.11")  # 0.00825 rounds half-up
    assert policy().expected_total(Decimal("100.00")) == Decimal("100.00")


def test_policy_refuses_an_unknown_trigger() -> None:
    with pytest.raises(ValidationError):
        policy("shipped")


# -- payouts --------------------------------------------------------------------------------


def payout(amount: str = "300.00", jobs: tuple[str, ...] = ("A", "B")) -> XometryPayout:
    return XometryPayout(payout_id="P-9", date=date(2026, 4, 1), amount=amount, job_ids=jobs)


def test_payout_applies_in_full_to_every_invoice() -> None:
    invoices = {"A": erp_invoice("A", "100.00", id="11"), "B": erp_invoice("B", "200.00", id="12")}
    payment = payment_for_payout(payout(), invoices)
    assert payment.amount == Decimal("300.00")
    assert [(a.invoice_id, a.amount) for a in payment.applications] == [
        ("11", Decimal("100.00")),
        ("12", Decimal("200.00")),
    ]
    assert payment.customer == CUSTOMER
    assert payment.date == date(2026, 4, 1)
    assert payment.external_id == "xometry-payout-P-9" == payment_external_id("P-9")


def test_payout_matches_a_plain_list_of_invoices_by_external_id() -> None:
    invoices = [erp_invoice("B", "200.00", id="12"), erp_invoice("A", "100.00", id="11")]
    payment = payment_for_payout(payout(), invoices)
    assert [a.invoice_id for a in payment.applications] == ["11", "12"]


def test_payout_uses_the_balance_when_the_erp_reports_one() -> None:
    partly_paid = erp_invoice("A", "100.00", id="11", balance="40.00")
    assert amount_due(partly_paid) == Decimal("40.00")
    payment = payment_for_payout(
        payout("240.00"), {"A": partly_paid, "B": erp_invoice("B", "200.00", id="12")}
    )
    assert payment.applications[0].amount == Decimal("40.00")


def test_payout_amount_mismatch_reports_both_figures() -> None:
    invoices = {"A": erp_invoice("A", "100.00", id="11"), "B": erp_invoice("B", "200.00", id="12")}
    with pytest.raises(MappingError) as info:
        payment_for_payout(payout("290.00"), invoices)
    text = str(info.value)
    assert "290.00" in text and "300.00" in text and "-10.00" in text
    assert "P-9" in text


def test_payout_missing_invoices_are_listed() -> None:
    with pytest.raises(MappingError, match="B, C"):
        payment_for_payout(payout(jobs=("A", "B", "C")), {"A": erp_invoice("A", "300.00", id="11")})


def test_payout_refuses_paid_invoices_and_invoices_without_ids() -> None:
    paid = erp_invoice("A", "100.00", id="11", balance="0")
    with pytest.raises(MappingError, match="already paid"):
        payment_for_payout(payout("100.00", ("A",)), {"A": paid})
    unsaved = erp_invoice("A", "100.00", id="11").model_copy(update={"id": None})
    with pytest.raises(MappingError, match="no ERP id"):
        payment_for_payout(payout("100.00", ("A",)), {"A": unsaved})


def test_payout_refuses_mixed_customers_unless_one_is_chosen() -> None:
    other = erp_invoice("B", "200.00", id="12").model_copy(update={"customer": Ref(id="99")})
    invoices = {"A": erp_invoice("A", "100.00", id="11"), "B": other}
    with pytest.raises(MappingError, match="several customers"):
        payment_for_payout(payout(), invoices)
    assert payment_for_payout(payout(), invoices, customer=Ref(id="99")).customer.id == "99"


def test_payout_refuses_repeated_and_empty_job_lists() -> None:
    with pytest.raises(ValidationError, match="more than once"):
        payout(jobs=("A", "A"))
    with pytest.raises(ValidationError):
        payout(jobs=())


# -- $0 jobs ----------------------------------------------------------------------------------


def test_a_zero_job_is_refused_by_default_naming_the_job_and_the_choices() -> None:
    assert policy().zero_total == "error"
    with pytest.raises(MappingError) as caught:
        invoice_for_job(job("J0", price="0.00"), policy())
    error = caught.value
    assert error.record == "Xometry job J0"
    assert error.field == "price"
    assert "zero_total='skip'" in str(error) and "zero_total='invoice'" in str(error)
    assert policy().skip_reason(job("J0", price="0.00")) is None  # refused, not skipped


def test_a_zero_job_is_skipped_with_a_reason_when_the_policy_says_skip() -> None:
    skipping = policy(zero_total="skip")
    assert "zero_total='skip'" in (skipping.skip_reason(job("J0", price="0")) or "")
    assert skipping.skip_reason(job("J1", price="0.01")) is None
    with pytest.raises(MappingError, match="skips \\$0 jobs"):
        invoice_for_job(job("J0", price="0"), skipping)
    assert invoice_for_job(job("J1", price="0.01"), skipping).total == Decimal("0.01")


def test_a_zero_job_is_invoiced_when_asked_and_a_payout_applies_nothing_to_it() -> None:
    invoice = invoice_for_job(job("J0", price="0.00"), policy(zero_total="invoice"))
    assert invoice.total == Decimal("0.00")
    zero = erp_invoice("Z", "0.00", id="10", balance="0.00")  # the ERP: paid at once
    payment = payment_for_payout(
        payout("100.00", ("Z", "A")), {"Z": zero, "A": erp_invoice("A", "100.00", id="11")}
    )
    assert [(a.invoice_id, a.amount) for a in payment.applications] == [("11", Decimal("100.00"))]


def test_zero_total_takes_only_the_three_choices() -> None:
    with pytest.raises(ValidationError):
        policy(zero_total="ignore")
