"""Acceptance: unmodified python-quickbooks + intuit-oauth against FakeQuickBooks.

Nothing here is erpsync's client: Intuit's own OAuth library fetches the discovery
document, builds the consent URL and exchanges the code, and python-quickbooks creates
and reads records through its object API, all against the real Intuit hosts, which the
emulator intercepts. Each test is one thing the python-quickbooks integration suite (run
by its authors against a real sandbox) does.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.attachable import Attachable, AttachableRef
from quickbooks.objects.base import Ref
from quickbooks.objects.bill import Bill
from quickbooks.objects.billpayment import BillPayment, BillPaymentLine, CheckPayment
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.department import Department
from quickbooks.objects.deposit import Deposit, DepositLine, DepositLineDetail
from quickbooks.objects.detailline import (
    AccountBasedExpenseLine,
    AccountBasedExpenseLineDetail,
    SalesItemLine,
    SalesItemLineDetail,
)
from quickbooks.objects.employee import Employee
from quickbooks.objects.estimate import Estimate
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.journalentry import JournalEntry, JournalEntryLine, JournalEntryLineDetail
from quickbooks.objects.paymentmethod import PaymentMethod
from quickbooks.objects.preferences import Preferences
from quickbooks.objects.purchase import Purchase
from quickbooks.objects.refundreceipt import RefundReceipt
from quickbooks.objects.salesreceipt import SalesReceipt
from quickbooks.objects.taxagency import TaxAgency
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.taxrate import TaxRate
from quickbooks.objects.taxservice import TaxRateDetails, TaxService
from quickbooks.objects.term import Term
from quickbooks.objects.timeactivity import TimeActivity
from quickbooks.objects.trackingclass import Class
from quickbooks.objects.transfer import Transfer
from quickbooks.objects.vendor import Vendor
from quickbooks.objects.vendorcredit import VendorCredit

from erpsync.testing import FakeClock, FakeQuickBooks
from quickbooks import QuickBooks


@pytest.fixture
def fake():
    emulator = FakeQuickBooks(clock=FakeClock(), governance=None)
    with emulator:
        yield emulator


def connect(fake: FakeQuickBooks) -> tuple[AuthClient, QuickBooks]:
    """The consent flow exactly as an app runs it, with a 'browser' following the URL."""
    creds = fake.credentials
    auth_client = AuthClient(creds.client_id, creds.client_secret, creds.redirect_uri, "sandbox")
    url = auth_client.get_authorization_url([Scopes.ACCOUNTING])
    redirect = requests.get(url, allow_redirects=False)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert query["state"] == [auth_client.state_token]
    auth_client.get_bearer_token(query["code"][0], realm_id=query["realmId"][0])
    client = QuickBooks(
        auth_client=auth_client,
        refresh_token=auth_client.refresh_token,
        company_id=auth_client.realm_id,
        minorversion=75,
    )
    return auth_client, client


@pytest.fixture
def qb(fake: FakeQuickBooks) -> QuickBooks:
    return connect(fake)[1]


def _ref(value: str, name: str = "") -> Ref:
    ref = Ref()
    ref.value = value
    ref.name = name
    return ref


def _account(qb: QuickBooks, account_type: str) -> Account:
    found = Account.where(f"AccountType = '{account_type}'", qb=qb)
    assert found, f"the seed company has no {account_type} account"
    return found[0]


def _sales_line(amount: int = 100) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = amount
    line.Description = "Work"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = _ref("1", "Services")
    return line


def _expense_line(account: Account, amount: int = 40) -> AccountBasedExpenseLine:
    line = AccountBasedExpenseLine()
    line.Amount = amount
    line.DetailType = "AccountBasedExpenseLineDetail"
    line.AccountBasedExpenseLineDetail = AccountBasedExpenseLineDetail()
    line.AccountBasedExpenseLineDetail.AccountRef = account.to_ref()
    return line


# -- the tests the emulator always passed -----------------------------------------------


def test_python_quickbooks_creates_a_customer_and_an_invoice(fake, qb):
    customer = Customer()
    customer.DisplayName = "Third Party Co"
    customer.save(qb=qb)
    assert customer.Id

    line = SalesItemLine()
    line.Amount = 1250
    line.Description = "Job 1042"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = Item.get(1, qb=qb).to_ref()
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line.append(line)
    invoice.save(qb=qb)

    assert invoice.Id
    stored = [i for i in fake.records("Invoice") if i["Id"] == invoice.Id]
    assert stored[0]["CustomerRef"] == {"value": customer.Id, "name": "Third Party Co"}
    assert all(r.minor_version == 75 for r in fake.requests)

    fetched = Invoice.get(invoice.Id, qb=qb)
    assert fetched.DocNumber == "1001"
    assert float(fetched.TotalAmt) == float(fetched.Balance) == 1250.0
    found = Customer.filter(DisplayName="Third Party Co", qb=qb)
    assert [c.Id for c in found] == [customer.Id]
    assert qb.download_pdf("Invoice", invoice.Id).startswith(b"%PDF")


def test_python_quickbooks_sees_real_faults(qb):
    duplicate = Customer()
    duplicate.DisplayName = "Cool Cars"
    with pytest.raises(QuickbooksException) as raised:
        duplicate.save(qb=qb)
    assert raised.value.error_code == 6240
    assert "Another customer is already using this name" in raised.value.detail


def test_python_quickbooks_updates_and_change_data_capture(qb):
    customer = Customer.get(3, qb=qb)
    customer.CompanyName = "Cool Cars Inc"
    customer.save(qb=qb)
    assert Customer.get(3, qb=qb).SyncToken == "1"
    since = datetime(2026, 10, 31, tzinfo=UTC) - timedelta(days=1)
    changes = change_data_capture([Customer], since, qb=qb)
    assert any(c.Id == "3" for c in changes.Customer)


def test_python_quickbooks_without_minorversion_is_served_as_75(fake):
    auth_client, _ = connect(fake)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = QuickBooks(
            auth_client=auth_client,
            refresh_token=auth_client.refresh_token,
            company_id=auth_client.realm_id,
            minorversion=40,
        )
    Customer.get(1, qb=client)
    assert (fake.requests[-1].requested_minor_version, fake.requests[-1].minor_version) == (
        "40",
        75,
    )


# -- lists --------------------------------------------------------------------------------


def test_customer_and_item_all(qb):
    customers = Customer.all(qb=qb)
    assert len(customers) >= 4
    items = Item.all(qb=qb)  # sends SELECT *, Sku FROM Item
    assert {i.Name for i in items} >= {"Services"}
    assert Customer.count(qb=qb) == len(customers)


def test_account_create_and_unique_names(qb):
    account = Account()
    account.Name = "Marketing Expenses"
    account.AccountType = "Expense"
    account.AccountSubType = "AdvertisingPromotional"
    account.save(qb=qb)
    fetched = Account.get(account.Id, qb=qb)
    assert fetched.Classification == "Expense"
    again = Account()
    again.Name = "Marketing Expenses"
    again.AccountType = "Expense"
    with pytest.raises(QuickbooksException) as raised:
        again.save(qb=qb)
    assert raised.value.error_code == 6240


def test_payment_method_term_class_department(qb):
    method = PaymentMethod()
    method.Name = "Wire"
    method.Type = "NON_CREDIT_CARD"
    method.save(qb=qb)
    term = Term()
    term.Name = "Net 45"
    term.DueDays = 45
    term.save(qb=qb)
    tracking = Class()
    tracking.Name = "East"
    tracking.save(qb=qb)
    department = Department()
    department.Name = "Boston"
    department.save(qb=qb)
    assert PaymentMethod.get(method.Id, qb=qb).Name == "Wire"
    assert Term.get(term.Id, qb=qb).DueDays == 45
    assert Class.get(tracking.Id, qb=qb).FullyQualifiedName == "East"
    assert Department.get(department.Id, qb=qb).Name == "Boston"
    assert len(PaymentMethod.all(qb=qb)) >= 2


def test_employee_shares_the_display_name_rule(qb):
    employee = Employee()
    employee.GivenName = "Emily"
    employee.FamilyName = "Platt"
    employee.save(qb=qb)
    assert Employee.get(employee.Id, qb=qb).DisplayName == "Emily Platt"
    clash = Vendor()
    clash.DisplayName = "Emily Platt"
    with pytest.raises(QuickbooksException) as raised:
        clash.save(qb=qb)
    assert raised.value.error_code == 6240


def test_tax_code_rate_agency_and_tax_service(qb):
    agency = TaxAgency()
    agency.DisplayName = "Ohio Department of Taxation"
    agency.save(qb=qb)
    detail = TaxRateDetails()
    detail.TaxRateName = "Ohio State"
    detail.RateValue = 5.75
    detail.TaxAgencyId = agency.Id
    service = TaxService()
    service.TaxCode = "OH"
    service.TaxRateDetails.append(detail)
    service.save(qb=qb)
    codes = {c.Name: c for c in TaxCode.all(qb=qb)}
    assert {"TAX", "NON", "OH"} <= set(codes)
    rates = {r.Name: r for r in TaxRate.all(qb=qb)}
    assert Decimal(str(rates["Ohio State"].RateValue)) == Decimal("5.75")
    assert TaxCode.get(codes["OH"].Id, qb=qb).Name == "OH"


# -- transactions -------------------------------------------------------------------------


def test_bill_and_bill_payment(qb):
    expense = _account(qb, "Expense")
    bill = Bill()
    bill.VendorRef = _ref("1")
    bill.Line.append(_expense_line(expense, 40))
    bill.save(qb=qb)
    fetched = Bill.get(bill.Id, qb=qb)
    assert float(fetched.TotalAmt) == float(fetched.Balance) == 40.0
    payment = BillPayment()
    payment.PayType = "Check"
    payment.TotalAmt = 40
    payment.VendorRef = _ref("1")
    payment.CheckPayment = CheckPayment()
    payment.CheckPayment.BankAccountRef = _account(qb, "Bank").to_ref()
    line = BillPaymentLine()
    line.Amount = 40
    line.LinkedTxn.append({"TxnId": bill.Id, "TxnType": "Bill"})
    payment.Line.append(line)
    payment.save(qb=qb)
    assert float(Bill.get(bill.Id, qb=qb).Balance) == 0.0


def test_estimate_sales_receipt_credit_memo_refund(qb):
    for kind in (Estimate, SalesReceipt, CreditMemo):
        document = kind()
        document.CustomerRef = _ref("1")
        document.Line.append(_sales_line(75))
        document.save(qb=qb)
        fetched = kind.get(document.Id, qb=qb)
        assert float(fetched.TotalAmt) == 75.0, kind.__name__
    refund = RefundReceipt()
    refund.CustomerRef = _ref("1")
    refund.DepositToAccountRef = _account(qb, "Bank").to_ref()
    refund.Line.append(_sales_line(20))
    refund.save(qb=qb)
    assert float(RefundReceipt.get(refund.Id, qb=qb).TotalAmt) == 20.0


def test_deposit_to_a_bank_account(qb):
    deposit = Deposit()
    deposit.DepositToAccountRef = _account(qb, "Bank").to_ref()
    line = DepositLine()
    line.Amount = 300
    line.DepositLineDetail = DepositLineDetail()
    line.DepositLineDetail.AccountRef = _account(qb, "Income").to_ref()
    deposit.Line.append(line)
    deposit.save(qb=qb)
    assert float(Deposit.get(deposit.Id, qb=qb).TotalAmt) == 300.0


def test_journal_entry_balanced(qb):
    entry = JournalEntry()
    for posting, account_type in (("Debit", "Bank"), ("Credit", "Income")):
        line = JournalEntryLine()
        line.Amount = 125
        line.JournalEntryLineDetail = JournalEntryLineDetail()
        line.JournalEntryLineDetail.PostingType = posting
        line.JournalEntryLineDetail.AccountRef = _account(qb, account_type).to_ref()
        entry.Line.append(line)
    entry.save(qb=qb)
    assert len(JournalEntry.get(entry.Id, qb=qb).Line) == 2


def test_transfer_between_two_accounts(qb):
    transfer = Transfer()
    transfer.Amount = 50
    transfer.FromAccountRef = _account(qb, "Bank").to_ref()
    transfer.ToAccountRef = _account(qb, "Credit Card").to_ref()
    transfer.save(qb=qb)
    assert float(Transfer.get(transfer.Id, qb=qb).Amount) == 50.0


def test_time_activity(qb):
    employee = Employee()
    employee.DisplayName = "Hours Keeper"
    employee.save(qb=qb)
    activity = TimeActivity()
    activity.NameOf = "Employee"
    activity.EmployeeRef = employee.to_ref()
    activity.Hours = 3
    activity.Minutes = 30
    activity.TxnDate = "2026-11-02"
    activity.save(qb=qb)
    assert TimeActivity.get(activity.Id, qb=qb).Hours == 3


def test_purchase_and_vendor_credit(qb):
    purchase = Purchase()
    purchase.PaymentType = "Cash"
    purchase.AccountRef = _account(qb, "Bank").to_ref()
    purchase.Line.append(_expense_line(_account(qb, "Expense"), 12))
    purchase.save(qb=qb)
    credit = VendorCredit()
    credit.VendorRef = _ref("1")
    credit.Line.append(_expense_line(_account(qb, "Expense"), 8))
    credit.save(qb=qb)
    assert float(Purchase.get(purchase.Id, qb=qb).TotalAmt) == 12.0
    assert float(VendorCredit.get(credit.Id, qb=qb).TotalAmt) == 8.0


def test_invoice_void_and_estimate_delete(qb):
    invoice = Invoice()
    invoice.CustomerRef = _ref("1")
    invoice.Line.append(_sales_line(10))
    invoice.save(qb=qb)
    invoice = Invoice.get(invoice.Id, qb=qb)
    invoice.void(qb=qb)
    assert float(Invoice.get(invoice.Id, qb=qb).TotalAmt) == 0.0
    estimate = Estimate()
    estimate.CustomerRef = _ref("1")
    estimate.Line.append(_sales_line(10))
    estimate.save(qb=qb)
    estimate = Estimate.get(estimate.Id, qb=qb)
    estimate.delete(qb=qb)
    with pytest.raises(QuickbooksException):
        Estimate.get(estimate.Id, qb=qb)


def test_batch_create(qb):
    customers = []
    for i in range(3):
        customer = Customer()
        customer.DisplayName = f"Batch Customer {i}"
        customers.append(customer)
    results = batch_create(customers, qb=qb)
    assert len(results.successes) == 3 and not results.faults


def test_preferences_and_company_info(fake, qb):
    preferences = Preferences.get(qb=qb)
    for section in ("TimeTrackingPrefs", "EmailMessagesPrefs", "OtherPrefs", "ReportPrefs"):
        assert getattr(preferences, section, None) is not None, section
    info = CompanyInfo.get(fake.realm_id, qb=qb)
    assert info.CompanyName


def test_attachable_metadata(qb):
    attachable = Attachable()
    attachable.Note = "Signed contract"
    link = AttachableRef()
    link.EntityRef = _ref("1")
    link.EntityRef.type = "Customer"
    attachable.AttachableRef.append(link)
    attachable.save(qb=qb)
    assert Attachable.get(attachable.Id, qb=qb).Note == "Signed contract"
    upload = Attachable()  # python-quickbooks' multipart: LF line breaks, base64 content
    upload.FileName = "contract.pdf"
    upload.ContentType = "application/pdf"
    upload.AttachableRef.append(link)
    upload._FileBytes = b"%PDF-1.4 signed"
    saved = upload.save(qb=qb)
    read = Attachable.get(saved.Id, qb=qb)
    assert (read.FileName, read.Size) == ("contract.pdf", len(b"%PDF-1.4 signed"))
    assert read.AttachableRef[0].EntityRef.value == "1"
    assert requests.get(read.TempDownloadUri).content == b"%PDF-1.4 signed"


# -- OAuth --------------------------------------------------------------------------------
def test_intuit_oauth_refresh_twice_with_the_stored_token(fake):
    auth_client, _ = connect(fake)
    stored = auth_client.refresh_token
    auth_client.refresh(refresh_token=stored)
    auth_client.refresh(refresh_token=stored)  # the suite's setUp does this in every test
    assert auth_client.refresh_token == stored  # younger than a day: the same token back
    assert auth_client.revoke() is True
    with pytest.raises(AuthClientError) as raised:
        auth_client.refresh()
    assert raised.value.status_code == 400


def test_intuit_oauth_openid_id_token(fake):
    creds = fake.credentials
    auth_client = AuthClient(creds.client_id, creds.client_secret, creds.redirect_uri, "sandbox")
    url = auth_client.get_authorization_url([Scopes.ACCOUNTING, Scopes.OPENID, Scopes.EMAIL])
    redirect = requests.get(url, allow_redirects=False)
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    auth_client.get_bearer_token(query["code"][0], realm_id=query["realmId"][0])
    assert auth_client.id_token and auth_client.id_token.count(".") == 2
    assert auth_client.get_user_info().json()["email"]
