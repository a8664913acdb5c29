"""The books a new FakeQuickBooks starts with: Intuit's "Sandbox Company_US_1", in small.

A user connecting to a real sandbox finds a company with a chart of accounts, a few
customers, vendors and items; tests and demos rely on the same being there (an invoice
needs a customer and an item, a purchase order a vendor and an A/P account). Ids are
stable so examples can name them: item 1 is the "Services" service item, customers are
1-4, vendors 1-2.

A few records keep the Ids they have in Intuit's sandbox company, because Intuit's own
API reference samples (which clients copy, python-quickbooks' integration suite among
them) name them by Id: item 10 "Pest Control", account 42 "Visa" (a credit card) and
account 86 "Discounts given". New records are numbered after the highest seeded Id, as
a sandbox numbers them after its own. The company also has a sales tax set-up as the
sandbox does: the "Board of Equalization" agency, its "California" rate (8%) and the
"California" tax code over it.
"""

from __future__ import annotations

from typing import Any

from erpsync.testing.quickbooks import taxes
from erpsync.testing.quickbooks.company import Company

COMPANY_NAME = "Sandbox Company_US_1"

_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    # Name, AccountType, AccountSubType, Classification
    ("Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
    ("Services", "Income", "ServiceFeeIncome", "Revenue"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
    ("Inventory Asset", "Other Current Asset", "Inventory", "Asset"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "Liability"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
    ("Job Expenses", "Expense", "SuppliesMaterials", "Expense"),
    ("Checking", "Bank", "Checking", "Asset"),
    ("Mastercard", "Credit Card", "CreditCard", "Liability"),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity", "Equity"),
)

#: Accounts that keep their sandbox Ids (Intuit's samples name them): Id, then as above.
_SANDBOX_ACCOUNTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("42", "Visa", "Credit Card", "CreditCard", "Liability"),
    ("86", "Discounts given", "Income", "DiscountsRefundsGiven", "Revenue"),
)

#: Every company has these lists, whatever else it holds.
_TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))
_PAYMENT_METHODS = (
    ("Cash", "NON_CREDIT_CARD"),
    ("Check", "NON_CREDIT_CARD"),
    ("Visa", "CREDIT_CARD"),
    ("MasterCard", "CREDIT_CARD"),
)

_CUSTOMERS: tuple[tuple[str, str, str, str], ...] = (
    # DisplayName, GivenName, FamilyName, email
    ("Amy's Bird Sanctuary", "Amy", "Lauterbach", "Birds@Intuit.com"),
    ("Bill's Windsurf Shop", "Bill", "Lucchini", "Surf@Intuit.com"),
    ("Cool Cars", "Grace", "Pariente", "Cool_Cars@intuit.com"),
    ("Diego Rodriguez", "Diego", "Rodriguez", "Diego@Rodriguez.com"),
)

_VENDORS: tuple[tuple[str, str], ...] = (
    ("Books by Bessie", "Books@Intuit.com"),
    ("Brosnahan Insurance Agency", "Insurance@Intuit.com"),
)


def default_preferences() -> dict[str, Any]:
    return {
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "CustomerTerminology": "Customers",
            "BookCloseDate": None,
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": False,
            "AllowDeposit": False,
            "AllowDiscount": True,
            "AllowShipping": False,
            "ETransactionEnabledStatus": "NotApplicable",
        },
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True},
        "TaxPrefs": {"UsingSalesTax": False, "PartnerTaxEnabled": False},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "EmailMessagesPrefs": {
            section: {"Subject": f"{label} from Sandbox Company_US_1", "Message": _MESSAGE}
            for section, label in (
                ("InvoiceMessage", "Invoice"),
                ("EstimateMessage", "Estimate"),
                ("SalesReceiptMessage", "Sales Receipt"),
                ("StatementMessage", "Statement"),
            )
        },
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {
            "NameValue": [
                {"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": "Thank you."},
                {"Name": "VendorAndPurchasesPrefs.BillableExpenseTracking", "Value": "true"},
                {"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"},
            ]
        },
    }


_MESSAGE = "Thank you for your business and have a great day!"


def _company_info(realm_id: str, name: str) -> dict[str, Any]:
    address = {
        "Line1": "123 Sierra Way",
        "City": "San Pablo",
        "CountrySubDivisionCode": "CA",
        "PostalCode": "87999",
    }
    return {
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": dict(address),
        "CustomerCommunicationAddr": dict(address),
        "LegalAddr": dict(address),
        "PrimaryPhone": {"FreeFormNumber": "4081234567"},
        "Email": {"Address": "noreply@quickbooks.com"},
        "Country": "US",
        "FiscalYearStartMonth": "January",
        "SupportedLanguages": "en",
        "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
        "RealmId": realm_id,
    }


def seed(company: Company, with_data: bool = True, *, name: str | None = None) -> None:
    """Fill a new company. Preferences, CompanyInfo and the accounts always exist (every
    real company has them); ``with_data`` adds the customers, vendors and items.
    ``name`` is the CompanyInfo name (default Intuit's sandbox company's)."""
    company_name = name or COMPANY_NAME
    prefs = default_preferences()
    for section in prefs["EmailMessagesPrefs"].values():
        section["Subject"] = section["Subject"].replace(COMPANY_NAME, company_name)
    company.insert("Preferences", prefs, notify=False)
    company.insert("CompanyInfo", _company_info(company.realm_id, company_name), notify=False)
    # The chart of accounts is always there: without it no item or purchase order can exist.
    for account_name, account_type, sub_type, classification in _ACCOUNTS:
        company.insert(
            "Account", _account(account_name, account_type, sub_type, classification), notify=False
        )
    for record_id, *account in _SANDBOX_ACCOUNTS:
        company.insert("Account", _account(*account), notify=False, record_id=record_id)
    _lists(company)
    if with_data:
        for kind in ("Class", "Department"):
            names = ("Retail", "Wholesale") if kind == "Class" else ("Headquarters", "Remote")
            for list_name in names:
                company.insert(kind, _named(list_name), notify=False)
        _parties(company)
        _items(company)
        _sales_tax(company)
    _number_after_the_seed(company)


def _number_after_the_seed(company: Company) -> None:
    """New records get the Id after the highest seeded one (a sandbox numbers its own
    records first), so a seeded sandbox Id is never handed out again."""
    for entity, records in company.records.items():
        numeric = [int(record_id) for record_id in records if record_id.isdigit()]
        if numeric:
            company.next_ids[entity] = max(company.next_ids.get(entity, 1), max(numeric) + 1)


def _sales_tax(company: Company) -> None:
    """The sandbox's California sales tax: agency, rate and tax code, made the one way
    QuickBooks makes tax codes (the tax service)."""
    agency = company.insert(
        "TaxAgency",
        {"DisplayName": "Board of Equalization", "TaxTrackedOnSales": True},
        notify=False,
    )
    taxes.tax_service(
        company,
        {
            "TaxCode": "California",
            "TaxRateDetails": [
                {
                    "TaxRateName": "California",
                    "RateValue": 8,
                    "TaxAgencyId": agency["Id"],
                    "TaxApplicableOn": "Sales",
                }
            ],
        },
        notify=False,
    )


_USD = {"value": "USD", "name": "United States Dollar"}


def _parties(company: Company) -> None:
    for display, given, family, email in _CUSTOMERS:
        company.insert(
            "Customer",
            {
                "DisplayName": display,
                "GivenName": given,
                "FamilyName": family,
                "FullyQualifiedName": display,
                "PrintOnCheckName": display,
                "PrimaryEmailAddr": {"Address": email},
                "Active": True,
                "Job": False,
                "BillWithParent": False,
                "Taxable": False,
                "Balance": 0.0,
                "BalanceWithJobs": 0.0,
                "CurrencyRef": dict(_USD),
                "PreferredDeliveryMethod": "Print",
            },
            notify=False,
        )
    for display, email in _VENDORS:
        company.insert(
            "Vendor",
            {
                "DisplayName": display,
                "CompanyName": display,
                "PrintOnCheckName": display,
                "PrimaryEmailAddr": {"Address": email},
                "Active": True,
                "Vendor1099": False,
                "Balance": 0.0,
                "CurrencyRef": dict(_USD),
            },
            notify=False,
        )


def _items(company: Company) -> None:
    income = {"value": "2", "name": "Services"}
    product_income = {"value": "1", "name": "Sales of Product Income"}
    cogs = {"value": "3", "name": "Cost of Goods Sold"}
    for item in (
        {"Name": "Services", "Type": "Service", "UnitPrice": 0, "IncomeAccountRef": income},
        {
            "Name": "Garden Supplies",
            "Type": "NonInventory",
            "UnitPrice": 15,
            "IncomeAccountRef": product_income,
            "ExpenseAccountRef": cogs,
        },
        {
            "Name": "Rock Fountain",
            "Type": "Inventory",
            "UnitPrice": 275,
            "PurchaseCost": 125,
            "IncomeAccountRef": product_income,
            "ExpenseAccountRef": cogs,
            "AssetAccountRef": {"value": "4", "name": "Inventory Asset"},
            "TrackQtyOnHand": True,
            "QtyOnHand": 2,
            "InvStartDate": "2026-01-01",
        },
    ):
        company.insert(
            "Item",
            {**item, "FullyQualifiedName": item["Name"], "Active": True, "Taxable": False},
            notify=False,
        )
    pest_control = {"Name": "Pest Control", "Type": "Service", "UnitPrice": 35}
    company.insert(
        "Item",
        {
            **pest_control,
            "Description": "Pest control services",
            "IncomeAccountRef": income,
            "FullyQualifiedName": pest_control["Name"],
            "Active": True,
            "Taxable": False,
        },
        notify=False,
        record_id="10",  # its Id in Intuit's sandbox and API samples
    )


def _account(name: str, account_type: str, sub_type: str, classification: str) -> dict[str, Any]:
    return {
        "Name": name,
        "FullyQualifiedName": name,
        "SubAccount": False,
        "Active": True,
        "Classification": classification,
        "AccountType": account_type,
        "AccountSubType": sub_type,
        "CurrentBalance": 0,
        "CurrentBalanceWithSubAccounts": 0,
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
    }


def _named(name: str, **fields: Any) -> dict[str, Any]:
    return {"Name": name, "FullyQualifiedName": name, "Active": True, **fields}


def _lists(company: Company) -> None:
    """The system tax codes (``TAX``, ``NON`` and the ``CustomSalesTax`` group, as
    Intuit's TaxCode sample lists them for its sandbox), terms and payment methods a new
    company starts with."""
    for code, taxable, description, group in (
        ("TAX", True, "TAX", False),
        ("NON", False, "Non-Taxable", False),
        ("CustomSalesTax", True, "CustomSalesTax", True),
    ):
        company.insert(
            "TaxCode",
            _named(code, Description=description, Taxable=taxable, TaxGroup=group),
            notify=False,
            record_id=code,
        )
    for name, days in _TERMS:
        company.insert("Term", _named(name, Type="STANDARD", DueDays=days), notify=False)
    for name, kind in _PAYMENT_METHODS:
        company.insert("PaymentMethod", _named(name, Type=kind), notify=False)
