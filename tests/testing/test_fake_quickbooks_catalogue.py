"""The entity catalogue over raw HTTP: each entity's rule, as QuickBooks enforces it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from erpsync.testing import FakeClock, FakeQuickBooks


class Api:
    def __init__(self, fake: FakeQuickBooks) -> None:
        self.realm_id = fake.realm_id
        self.base = f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}"
        self.headers = {"Authorization": f"Bearer {fake.credentials.access_token}"}

    def post(self, path: str, body: Any, **params: str) -> requests.Response:
        return requests.post(self.base + path, json=body, params=params, headers=self.headers)

    def create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.post("/" + entity.lower(), body)
        assert answer.status_code == 200, answer.text
        return answer.json()[entity]

    def fault(self, entity: str, body: Any, path: str | None = None) -> dict[str, Any]:
        answer = self.post(path or "/" + entity.lower(), body)
        assert answer.status_code == 400, answer.text
        return answer.json()["Fault"]["Error"][0]

    def query(self, text: str) -> requests.Response:
        return requests.get(self.base + "/query", params={"query": text}, headers=self.headers)

    def account(self, account_type: str) -> dict[str, str]:
        rows = self.query(f"select * from Account where AccountType = '{account_type}'")
        return {"value": rows.json()["QueryResponse"]["Account"][0]["Id"]}


@pytest.fixture
def api():
    fake = FakeQuickBooks(clock=FakeClock(), governance=None)
    with fake:
        yield Api(fake)


def expense_line(account: dict[str, str], amount: float) -> dict[str, Any]:
    return {
        "DetailType": "AccountBasedExpenseLineDetail",
        "Amount": amount,
        "AccountBasedExpenseLineDetail": {"AccountRef": account},
    }


def test_the_seed_company_has_a_sandbox_chart_and_lists(api):
    for kind in ("Bank", "Credit Card", "Accounts Receivable", "Accounts Payable", "Income"):
        assert api.account(kind)["value"]
    for kind in ("Expense", "Cost of Goods Sold", "Equity"):
        assert api.account(kind)["value"]
    codes = api.query("select * from TaxCode").json()["QueryResponse"]["TaxCode"]
    assert {c["Id"] for c in codes} >= {"TAX", "NON"}
    for entity in ("Term", "PaymentMethod", "Class", "Department"):
        assert api.query(f"select count(*) from {entity}").json()["QueryResponse"]["totalCount"]


def test_bill_needs_a_vendor_and_lines(api):
    expense = api.account("Expense")
    assert api.fault("Bill", {"Line": [expense_line(expense, 5)]})["element"] == "VendorRef"
    assert api.fault("Bill", {"VendorRef": {"value": "1"}})["element"] == "Line"
    bill = api.create("Bill", {"VendorRef": {"value": "1"}, "Line": [expense_line(expense, 5)]})
    assert (bill["TotalAmt"], bill["Balance"]) == (5.0, 5.0)
    assert bill["APAccountRef"]["name"] == "Accounts Payable (A/P)"


def test_bill_payment_links_bills_and_no_more_than_owed(api):
    expense, bank = api.account("Expense"), api.account("Bank")
    bill = api.create("Bill", {"VendorRef": {"value": "1"}, "Line": [expense_line(expense, 30)]})
    payment = {
        "VendorRef": {"value": "1"},
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": bank},
        "TotalAmt": 40,
        "Line": [{"Amount": 40, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
    }
    assert api.fault("BillPayment", payment)["element"] == "Line.Amount"
    payment["Line"][0]["Amount"] = 30
    api.create("BillPayment", payment)
    paid = api.query(f"select * from Bill where Id = '{bill['Id']}'").json()
    assert paid["QueryResponse"]["Bill"][0]["Balance"] == 0.0
    other_vendor = {**payment, "VendorRef": {"value": "2"}}
    assert api.fault("BillPayment", other_vendor)["element"] == "Line.LinkedTxn"


def test_deposit_goes_to_a_bank_account(api):
    line = {
        "DetailType": "DepositLineDetail",
        "Amount": 10,
        "DepositLineDetail": {"AccountRef": api.account("Income")},
    }
    assert api.fault("Deposit", {"Line": [line]})["element"] == "DepositToAccountRef"
    wrong = {"DepositToAccountRef": api.account("Expense"), "Line": [line]}
    assert api.fault("Deposit", wrong)["element"] == "DepositToAccountRef"
    deposit = api.create("Deposit", {"DepositToAccountRef": api.account("Bank"), "Line": [line]})
    assert deposit["TotalAmt"] == 10.0


def test_transfer_needs_two_different_accounts(api):
    bank = api.account("Bank")
    assert api.fault("Transfer", {"FromAccountRef": bank, "Amount": 5})["element"] == "ToAccountRef"
    same = {"FromAccountRef": bank, "ToAccountRef": bank, "Amount": 5}
    assert api.fault("Transfer", same)["element"] == "ToAccountRef"
    moved = api.create(
        "Transfer",
        {"FromAccountRef": bank, "ToAccountRef": api.account("Credit Card"), "Amount": 5},
    )
    assert moved["Amount"] == 5.0


def journal_line(posting: str, account: dict[str, str], amount: float) -> dict[str, Any]:
    return {
        "DetailType": "JournalEntryLineDetail",
        "Amount": amount,
        "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": account},
    }


def test_journal_entry_debits_equal_credits(api):
    bank, income = api.account("Bank"), api.account("Income")
    unbalanced = {"Line": [journal_line("Debit", bank, 10), journal_line("Credit", income, 9)]}
    assert "not balanced" in api.fault("JournalEntry", unbalanced)["Detail"]
    balanced = {"Line": [journal_line("Debit", bank, 10), journal_line("Credit", income, 10)]}
    assert api.create("JournalEntry", balanced)["TotalAmt"] == 10.0


def test_account_names_unique_and_types_valid(api):
    api.create(
        "Account", {"Name": "Petty Cash", "AccountType": "Bank", "AccountSubType": "CashOnHand"}
    )
    assert api.fault("Account", {"Name": "petty cash", "AccountType": "Bank"})["code"] == "6240"
    assert api.fault("Account", {"Name": "X", "AccountType": "Bogus"})["element"] == "AccountType"
    mismatched = {"Name": "Y", "AccountType": "Bank", "AccountSubType": "CreditCard"}
    assert api.fault("Account", mismatched)["element"] == "AccountSubType"
    made = api.create("Account", {"Name": "Savings", "AccountType": "Bank"})
    assert (made["AccountSubType"], made["Classification"]) == ("Checking", "Asset")


def test_employee_vendor_and_customer_share_display_names(api):
    api.create("Employee", {"GivenName": "Ada", "FamilyName": "Byron"})
    assert "employee" in api.fault("Customer", {"DisplayName": "Ada Byron"})["Detail"]
    assert "customer" in api.fault("Employee", {"DisplayName": "Cool Cars"})["Detail"]
    assert "vendor" in api.fault("Employee", {"DisplayName": "Books by Bessie"})["Detail"]


def test_tax_service_creates_a_tax_code_and_its_rates(api):
    agency = api.create("TaxAgency", {"DisplayName": "State Board"})
    answer = api.post(
        "/taxservice/taxcode",
        {
            "TaxCode": "CA",
            "TaxRateDetails": [
                {"TaxRateName": "CA State", "RateValue": 7.25, "TaxAgencyId": agency["Id"]}
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["TaxCode"] == "CA" and body["TaxRateDetails"][0]["RateValue"] == 7.25
    rate_id = body["TaxRateDetails"][0]["TaxRateId"]
    rates = api.query(f"select * from TaxRate where Id = '{rate_id}'").json()["QueryResponse"]
    assert rates["TaxRate"][0]["Name"] == "CA State"
    code = api.query("select * from TaxCode where Name = 'CA'").json()["QueryResponse"]
    assert code["TaxCode"][0]["Id"] == body["TaxCodeId"]
    assert api.fault("TaxCode", {"Name": "Direct"})["code"] == "500"  # created only this way


def test_attachable_metadata(api):
    note = api.create(
        "Attachable",
        {"Note": "PO scan", "AttachableRef": [{"EntityRef": {"type": "Vendor", "value": "1"}}]},
    )
    assert note["AttachableRef"][0]["EntityRef"]["type"] == "Vendor"
    missing = {"Note": "x", "AttachableRef": [{"EntityRef": {"type": "Vendor", "value": "99"}}]}
    assert api.fault("Attachable", missing)["code"] == "610"
    forged = api.create("Attachable", {"Note": "y", "Size": 5, "FileAccessUri": "/elsewhere"})
    assert "Size" not in forged and "FileAccessUri" not in forged  # the server's fields


def upload(api: Api, files: dict[str, Any]) -> requests.Response:
    return requests.post(api.base + "/upload", files=files, headers=api.headers)


def test_an_upload_stores_the_file_and_its_attachable(api):
    meta = {
        "AttachableRef": [{"EntityRef": {"type": "Vendor", "value": "1"}}],
        "FileName": "receipt.pdf",
        "ContentType": "application/pdf",
    }
    pdf = b"%PDF-1.4 \x00\xff not text"
    answer = upload(
        api,
        {
            "file_metadata_0": (None, json.dumps(meta), "application/json"),
            "file_content_0": ("receipt.pdf", pdf, "application/pdf"),
            "file_content_1": ("note.txt", b"hello", "text/plain"),  # no metadata: made
        },
    )
    assert answer.status_code == 200, answer.text
    made = [entry["Attachable"] for entry in answer.json()["AttachableResponse"]]
    assert [(m["FileName"], m["ContentType"], m["Size"]) for m in made] == [
        ("receipt.pdf", "application/pdf", len(pdf)),
        ("note.txt", "text/plain", 5),
    ]
    first = made[0]
    assert first["FileAccessUri"] == f"/v3/company/{api.realm_id}/download/{first['Id']}"
    read = requests.get(f"{api.base}/attachable/{first['Id']}", headers=api.headers).json()
    assert read["Attachable"]["AttachableRef"][0]["EntityRef"]["value"] == "1"
    link = requests.get(f"{api.base}/download/{first['Id']}", headers=api.headers)
    assert link.status_code == 200 and link.headers["Content-Type"].startswith("text/plain")
    file = requests.get(link.text)  # no bearer token: the URL is signed, as Intuit's are
    assert (file.status_code, file.content) == (200, pdf)
    assert file.headers["Content-Type"] == "application/pdf"
    assert requests.get(link.text.replace("Signature=", "Signature=0")).status_code == 401


def test_an_upload_is_all_or_nothing_and_must_be_multipart(api):
    before = api.query("select count(*) from Attachable").json()["QueryResponse"]["totalCount"]
    bad = {"AttachableRef": [{"EntityRef": {"type": "Vendor", "value": "99"}}], "FileName": "b"}
    answer = upload(
        api,
        {
            "file_content_01": ("a.txt", b"a", "text/plain"),
            "file_metadata_02": (None, json.dumps(bad), "application/json"),
            "file_content_02": ("b.txt", b"b", "text/plain"),
        },
    )
    assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "610"
    after = api.query("select count(*) from Attachable").json()["QueryResponse"]["totalCount"]
    assert after == before
    assert api.fault("Attachable", {"FileName": "x"}, path="/upload")["code"] == "2010"
    no_file = upload(api, {"file_metadata_0": (None, json.dumps(bad), "application/json")})
    assert no_file.status_code == 400 and "file_content" in no_file.text


def test_sales_documents_compute_totals(api):
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 40,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }
    for entity in ("Estimate", "SalesReceipt", "CreditMemo"):
        made = api.create(entity, {"CustomerRef": {"value": "1"}, "Line": [line]})
        assert made["TotalAmt"] == 40.0, entity
        assert made["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    refund = {"CustomerRef": {"value": "1"}, "Line": [line]}
    assert api.fault("RefundReceipt", refund)["element"] == "DepositToAccountRef"


def test_receipts_need_no_customer_but_estimates_do(api):
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 200,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }
    bank = api.account("Bank")
    refund = api.create("RefundReceipt", {"Line": [line], "DepositToAccountRef": bank})
    assert refund["TotalAmt"] == 200.0 and "CustomerRef" not in refund
    assert api.create("SalesReceipt", {"Line": [line]})["TotalAmt"] == 200.0
    for entity in ("Estimate", "CreditMemo", "Invoice"):
        assert api.fault(entity, {"Line": [line]})["element"] == "CustomerRef", entity


def test_the_subtotal_sits_above_the_discount(api):
    item = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 35,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 35},
    }
    discounts = api.query("select * from Account where AccountType = 'Income'")
    discount = {
        "DetailType": "DiscountLineDetail",
        "Amount": 3.5,
        "DiscountLineDetail": {
            "PercentBased": True,
            "DiscountPercent": 10,
            "DiscountAccountRef": {"value": discounts.json()["QueryResponse"]["Account"][0]["Id"]},
        },
    }
    for entity in ("Estimate", "Invoice", "SalesReceipt"):
        made = api.create(entity, {"CustomerRef": {"value": "3"}, "Line": [item, discount]})
        kinds = [line["DetailType"] for line in made["Line"]]
        assert kinds == ["SalesItemLineDetail", "SubTotalLineDetail", "DiscountLineDetail"]
        assert (made["Line"][1]["Amount"], made["TotalAmt"]) == (35.0, 31.5), entity
    assert made["Line"][0]["LineNum"] == 1
    invoice = api.query("select * from Invoice").json()["QueryResponse"]["Invoice"][-1]
    assert invoice["Balance"] == 31.5


def test_time_activity_names_who_worked(api):
    assert api.fault("TimeActivity", {"NameOf": "Employee", "Hours": 1})["element"] == "EmployeeRef"
    worker = api.create("Employee", {"DisplayName": "Worker"})
    made = api.create(
        "TimeActivity",
        {"NameOf": "Employee", "EmployeeRef": {"value": worker["Id"]}, "Hours": 2},
    )
    assert made["EmployeeRef"]["name"] == "Worker"


def test_operations_follow_the_catalogue(api):
    # Name lists cannot be deleted (only made inactive); transactions can.
    term = api.create("Term", {"Name": "Net 10", "DueDays": 10})
    assert (
        api.post("/term", {"Id": term["Id"], "SyncToken": "0"}, operation="delete").status_code
        == 400
    )
    estimate = api.create(
        "Estimate",
        {
            "CustomerRef": {"value": "1"},
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 1, "SalesItemLineDetail": {}}],
        },
    )
    gone = api.post("/estimate", {"Id": estimate["Id"], "SyncToken": "0"}, operation="delete")
    assert gone.json()["Estimate"]["status"] == "Deleted"


def test_intuits_samples_find_the_sandbox_records_they_name(api):
    # Intuit's estimate sample, as python-quickbooks' suite sends it: item 10, account 86.
    sample = {
        "CustomerRef": {"value": "3", "name": "Cool Cars"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 35.0,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "10", "name": "Pest Control"},
                    "TaxCodeRef": {"value": "NON"},
                    "Qty": 1,
                    "UnitPrice": 35,
                },
            },
            {
                "DetailType": "DiscountLineDetail",
                "Amount": 3.5,
                "DiscountLineDetail": {
                    "PercentBased": True,
                    "DiscountPercent": 10,
                    "DiscountAccountRef": {"value": "86", "name": "Discounts given"},
                },
            },
        ],
    }
    estimate = api.create("Estimate", sample)
    assert (estimate["TotalAmt"], estimate["TxnTaxDetail"]) == (31.5, {"TotalTax": 0})
    visa = api.query("select * from Account where Id = '42'").json()["QueryResponse"]["Account"]
    assert (visa[0]["Name"], visa[0]["AccountType"]) == ("Visa", "Credit Card")
    # New records are numbered after the seeded sandbox Ids, never onto them.
    made = api.create("Account", {"Name": "Petty Cash", "AccountType": "Bank"})
    assert int(made["Id"]) > 86
    item = api.create(
        "Item", {"Name": "Hedging", "Type": "Service", "IncomeAccountRef": {"value": "2"}}
    )
    assert int(item["Id"]) > 10


def test_the_sandbox_sales_tax_and_the_tax_code_answer(api):
    rates = api.query("select * from TaxRate").json()["QueryResponse"]["TaxRate"]
    assert [(r["Name"], r["RateValue"]) for r in rates] == [("California", 8)]
    agency = api.query("select * from TaxAgency").json()["QueryResponse"]["TaxAgency"][0]
    assert rates[0]["AgencyRef"]["value"] == agency["Id"]
    # The system codes come first and in full, outside MAXRESULTS; the company's are paged.
    one = api.query("select * from TaxCode MAXRESULTS 1").json()["QueryResponse"]
    assert [c["Id"] for c in one["TaxCode"]][:3] == ["TAX", "NON", "CustomSalesTax"]
    assert [c["Name"] for c in one["TaxCode"]][3:] == ["California"]
    assert one["maxResults"] == 4
    later = api.query("select * from TaxCode STARTPOSITION 2 MAXRESULTS 5").json()
    assert "TaxCode" not in later["QueryResponse"]  # one own code: page 2 is empty
    count = api.query("select count(*) from TaxCode").json()["QueryResponse"]["totalCount"]
    assert count == 4
    taxable = api.query("select * from TaxCode where Taxable = true").json()["QueryResponse"]
    assert [c["Name"] for c in taxable["TaxCode"]] == ["TAX", "CustomSalesTax", "California"]
    named = api.query("select * from TaxCode ORDERBY Name").json()["QueryResponse"]["TaxCode"]
    assert [c["Name"] for c in named][:3] == ["CustomSalesTax", "NON", "TAX"]


def test_a_reset_forgets_the_uploaded_files():
    fake = FakeQuickBooks(clock=FakeClock(), governance=None)
    with fake:
        api = Api(fake)
        made = upload(api, {"file_content_0": ("a.txt", b"abc", "text/plain")})
        attachable_id = made.json()["AttachableResponse"][0]["Attachable"]["Id"]
        link = requests.get(f"{api.base}/download/{attachable_id}", headers=api.headers).text
        assert requests.get(link).content == b"abc"
        fake.reset_company()
        gone = requests.get(f"{api.base}/download/{attachable_id}", headers=api.headers)
        assert gone.status_code == 400 and gone.json()["Fault"]["Error"][0]["code"] == "610"
        assert requests.get(link).status_code in (400, 401)


def test_records_are_what_a_read_answers():
    fake = FakeQuickBooks(clock=FakeClock(), governance=None)
    with fake:
        api = Api(fake)
        upload(api, {"file_content_0": ("a.txt", b"abcd", "text/plain")})
        schedule = {"IntervalType": "Daily", "NumInterval": 1, "StartDate": "2030-01-01"}
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": 5,
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
        }
        template = {
            "CustomerRef": {"value": "1"},
            "Line": [line],
            "RecurringInfo": {"Name": "Weekly", "ScheduleInfo": schedule},
        }
        api.post("/recurringtransaction", {"Invoice": template})
    (attachment,) = fake.records("Attachable")
    assert attachment["Size"] == 4 and attachment["FileAccessUri"].endswith("/download/1")
    (kept,) = fake.records("RecurringTransaction")
    assert list(kept) == ["Invoice"] and kept["Invoice"]["Id"] == "1"


def test_the_chart_of_accounts_comes_in_name_order_without_orderby(api):
    rows = api.query("select * from Account").json()["QueryResponse"]["Account"]
    names = [row["FullyQualifiedName"] for row in rows]
    assert names == sorted(names, key=str.lower)
    assert names[0] == "Accounts Payable (A/P)"
    by_id = api.query("select * from Account orderby Id").json()["QueryResponse"]["Account"]
    assert [int(r["Id"]) for r in by_id] == sorted(int(r["Id"]) for r in by_id)
    # other entities keep Id order
    items = api.query("select * from Item").json()["QueryResponse"]["Item"]
    assert [int(r["Id"]) for r in items] == sorted(int(r["Id"]) for r in items)


def test_credit_card_payments_are_answered_as_credit_card_payment_txn(api):
    bank = api.account("Bank")
    card = api.account("Credit Card")
    created = api.post(
        "/creditcardpayment",
        {"Amount": 25, "BankAccountRef": bank, "CreditCardAccountRef": card},
    )
    assert created.status_code == 200, created.text
    assert "CreditCardPayment" not in created.json()
    payment = created.json()["CreditCardPaymentTxn"]
    read = requests.get(f"{api.base}/creditcardpayment/{payment['Id']}", headers=api.headers)
    assert read.json()["CreditCardPaymentTxn"]["Amount"] == 25
    rows = api.query("select * from CreditCardPayment").json()["QueryResponse"]
    assert [r["Id"] for r in rows["CreditCardPaymentTxn"]] == [payment["Id"]]
    batch = api.post(
        "/batch",
        {
            "BatchItemRequest": [
                {
                    "bId": "1",
                    "operation": "create",
                    "CreditCardPayment": {
                        "Amount": 5,
                        "BankAccountRef": bank,
                        "CreditCardAccountRef": card,
                    },
                }
            ]
        },
    )
    item = batch.json()["BatchItemResponse"][0]
    assert item["CreditCardPaymentTxn"]["Amount"] == 5
