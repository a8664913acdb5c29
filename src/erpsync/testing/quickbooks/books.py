"""The entity rules no table can say, one hook per catalogue ``rule``.

Each hook gets the record after the generic checks (required fields, references, lines,
unique key) and the lines' total, and returns what QuickBooks stores or raises the fault
it answers: an account's type and sub-type must exist and go together; a deposit goes to
a bank account; a transfer moves money between two different accounts; a journal
entry's debits equal its credits; a bill payment pays the vendor's own bills and no
more than they owe; an attachment's references must exist (its file, when uploaded, is
kept by :mod:`.uploads`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpsync.testing.quickbooks import rules
from erpsync.testing.quickbooks.accounts import ACCOUNT_TYPES
from erpsync.testing.quickbooks.catalogue import ENTITIES
from erpsync.testing.quickbooks.errors import (
    business_validation,
    invalid_value,
    object_not_found,
    required_missing,
)
from erpsync.testing.quickbooks.recurring import recurring
from erpsync.testing.quickbooks.values import money, number, ref_value, to_decimal

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company

__all__ = ["HOOKS", "apply_bill_payment"]

Hook = Callable[
    ["Company", dict[str, Any], "dict[str, Any] | None", "Decimal | None"], dict[str, Any]
]


def _account(company: Company, record: dict[str, Any], name: str, *types: str) -> dict[str, Any]:
    """The account ``record[name]`` names, required, of one of ``types`` (any when empty)."""
    account = rules.active_ref(company, "Account", record.get(name), name)
    if types and account.get("AccountType") not in types:
        raise business_validation(f"{name} must be a {' or '.join(types)} account.", name)
    record[name] = rules.named_ref(account, "Name")
    return account


def _positive(record: dict[str, Any], name: str) -> Decimal:
    if record.get(name) in (None, ""):
        raise required_missing(name)
    amount = to_decimal(record[name], name)
    if amount <= 0:
        raise invalid_value(name, f"{name} must be greater than zero.")
    record[name] = money(amount)
    return amount


# -- lists --------------------------------------------------------------------------------


def account(company: Company, record: dict[str, Any], previous: Any, total: Any) -> dict[str, Any]:
    kind = str(record.get("AccountType") or "")
    if kind not in ACCOUNT_TYPES:
        if not kind and record.get("AccountSubType"):
            kind = next(
                (t for t, (_, s) in ACCOUNT_TYPES.items() if record["AccountSubType"] in s), ""
            )
        if kind not in ACCOUNT_TYPES:
            raise invalid_value("AccountType", f"Invalid Enumeration : {kind or '(none)'}")
    classification, sub_types = ACCOUNT_TYPES[kind]
    sub_type = str(record.get("AccountSubType") or sub_types[0])
    if sub_type not in sub_types:
        raise invalid_value(
            "AccountSubType", f"Invalid Enumeration : {sub_type} is not a sub-type of {kind}"
        )
    record.update(AccountType=kind, AccountSubType=sub_type, Classification=classification)
    record.setdefault("SubAccount", False)
    balance = previous.get("CurrentBalance", 0) if previous is not None else 0
    record["CurrentBalance"] = record["CurrentBalanceWithSubAccounts"] = balance
    currency = ref_value(record.get("CurrencyRef")) or rules.home_currency(company)
    record["CurrencyRef"] = {
        "value": currency,
        "name": rules.CURRENCY_NAMES.get(currency, currency),
    }
    return record


def term(company: Company, record: dict[str, Any], previous: Any, total: Any) -> dict[str, Any]:
    record["Type"] = "DATE_DRIVEN" if record.get("DayOfMonthDue") not in (None, "") else "STANDARD"
    if record["Type"] == "STANDARD":
        record["DueDays"] = int(to_decimal(record.get("DueDays") or 0, "DueDays"))
    return record


def payment_method(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    kind = str(record.get("Type") or "NON_CREDIT_CARD")
    if kind not in ("CREDIT_CARD", "NON_CREDIT_CARD"):
        raise invalid_value("Type", f"Invalid Enumeration : {kind}")
    record["Type"] = kind
    return record


def company_currency(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    if not rules.multicurrency(company):
        raise business_validation(
            "Currencies can be added only when multicurrency is turned on.", "Code"
        )
    code = str(record["Code"]).upper()
    if code not in rules.CURRENCY_NAMES:
        raise invalid_value("Code", f"Invalid currency code : {code}")
    record.update(Code=code, Name=rules.CURRENCY_NAMES[code])
    record["Active"] = record.get("Active", True) not in (False, "false")
    return record


# -- sales and purchases --------------------------------------------------------------------


def sales(
    company: Company, record: dict[str, Any], previous: Any, total: Decimal | None
) -> dict[str, Any]:
    """Estimate, SalesReceipt, CreditMemo: totals, currency and their statuses."""
    customer = company.get("Customer", ref_value(record.get("CustomerRef")) or "")
    if customer is not None:
        rules.transaction_currency(company, record, customer, "customer")
    record["TotalAmt"] = money(total or Decimal(0))
    return record


def estimate(company: Company, record: dict[str, Any], previous: Any, total: Any) -> dict[str, Any]:
    record.setdefault("TxnStatus", "Pending")
    return sales(company, record, previous, total)


def credit_memo(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    record = sales(company, record, previous, total)
    record["Balance"] = record["RemainingCredit"] = record["TotalAmt"]
    return record


def vendor_credit(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    record = bill(company, record, previous, total)
    return record


def refund_receipt(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    _account(company, record, "DepositToAccountRef", "Bank", "Other Current Asset", "Credit Card")
    return sales(company, record, previous, total)


def bill(
    company: Company, record: dict[str, Any], previous: Any, total: Decimal | None
) -> dict[str, Any]:
    if ref_value(record.get("APAccountRef")) is not None:
        _account(company, record, "APAccountRef", "Accounts Payable")
    else:
        found = rules.account_by_type(company, "Accounts Payable", "Accounts Payable (A/P)")
        record["APAccountRef"] = rules.named_ref(found, "Name")
    amount = total or Decimal(0)
    paid = (
        sum(company.bill_paid.get(previous["Id"], {}).values(), Decimal(0))
        if previous
        else Decimal(0)
    )
    if amount < paid:
        raise business_validation(
            f"The bill total {money(amount)} is less than the {money(paid)} already paid.", "Line"
        )
    record["TotalAmt"] = money(amount)
    record["Balance"] = money(amount - paid)
    vendor = company.get("Vendor", ref_value(record.get("VendorRef")) or "")
    if vendor is not None:
        rules.transaction_currency(company, record, vendor, "vendor")
    return record


def purchase(
    company: Company, record: dict[str, Any], previous: Any, total: Decimal | None
) -> dict[str, Any]:
    kind = str(record.get("PaymentType") or "")
    if kind not in ("Cash", "Check", "CreditCard"):
        raise invalid_value("PaymentType", f"Invalid Enumeration : {kind or '(none)'}")
    types = ("Credit Card",) if kind == "CreditCard" else ("Bank",)
    _account(company, record, "AccountRef", *types)
    record["TotalAmt"] = money(total or Decimal(0))
    return record


def bill_payment(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    kind = str(record.get("PayType") or "")
    if kind == "Check":
        details = record.get("CheckPayment")
        field, types = "BankAccountRef", ("Bank",)
    elif kind == "CreditCard":
        details = record.get("CreditCardPayment")
        field, types = "CCAccountRef", ("Credit Card",)
    else:
        raise invalid_value(
            "PayType", f"Invalid Enumeration : {kind or '(none)'} (Check or CreditCard)"
        )
    if not isinstance(details, dict):
        raise required_missing("CheckPayment" if kind == "Check" else "CreditCardPayment")
    _account(company, details, field, *types)
    amount = _positive(record, "TotalAmt")
    vendor_id = ref_value(record.get("VendorRef"))
    applied = Decimal(0)
    lines = []
    own = previous["Id"] if previous is not None else None
    for line in record.get("Line") or []:
        if not isinstance(line, dict) or line.get("Amount") in (None, ""):
            raise required_missing("Line.Amount")
        share = to_decimal(line["Amount"], "Line.Amount")
        for link in line.get("LinkedTxn") or []:
            if not isinstance(link, dict) or link.get("TxnType") != "Bill":
                raise invalid_value(
                    "Line.LinkedTxn.TxnType", "A bill payment pays bills (TxnType Bill)."
                )
            target = company.get("Bill", str(link.get("TxnId") or ""))
            if target is None:
                raise object_not_found("Line.LinkedTxn.TxnId")
            if ref_value(target.get("VendorRef")) != vendor_id:
                raise business_validation(
                    f"Bill {target['Id']} belongs to another vendor.", "Line.LinkedTxn"
                )
            paid = sum(
                (v for k, v in company.bill_paid.get(target["Id"], {}).items() if k != own),
                Decimal(0),
            )
            if share > to_decimal(target["TotalAmt"], "TotalAmt") - paid:
                raise business_validation(
                    f"The amount paid on bill {target['Id']} is more than its open balance.",
                    "Line.Amount",
                )
        applied += share
        lines.append({**line, "Amount": money(share)})
    if applied > amount:
        raise business_validation("The amount applied to bills is more than TotalAmt.", "TotalAmt")
    record["Line"] = lines
    return record


def apply_bill_payment(
    company: Company, stored: dict[str, Any] | None, previous: dict[str, Any] | None
) -> None:
    """Re-point the paid-amount index at ``stored`` and refresh the bills' Balance."""
    payment_id = (stored or previous or {}).get("Id", "")
    touched = {
        bill_id for bill_id, by in company.bill_paid.items() if by.pop(payment_id, None) is not None
    }
    for line in (stored or {}).get("Line", []):
        for link in line.get("LinkedTxn", []):
            bucket = company.bill_paid.setdefault(str(link.get("TxnId")), {})
            bucket[payment_id] = bucket.get(payment_id, Decimal(0)) + Decimal(str(line["Amount"]))
            touched.add(str(link.get("TxnId")))
    for bill_id in sorted(touched):
        target = company.get("Bill", bill_id)
        if target is None:
            continue
        paid = sum(company.bill_paid.get(bill_id, {}).values(), Decimal(0))
        balance = money(to_decimal(target["TotalAmt"], "TotalAmt") - paid)
        if target.get("Balance") != balance:
            company.replace("Bill", bill_id, {**copy.deepcopy(target), "Balance": balance})


# -- banking ------------------------------------------------------------------------------


def deposit(
    company: Company, record: dict[str, Any], previous: Any, total: Decimal | None
) -> dict[str, Any]:
    if ref_value(record.get("DepositToAccountRef")) is None:
        raise required_missing("DepositToAccountRef")
    _account(company, record, "DepositToAccountRef", "Bank", "Other Current Asset")
    record["TotalAmt"] = money(total or Decimal(0))
    return record


def transfer(company: Company, record: dict[str, Any], previous: Any, total: Any) -> dict[str, Any]:
    source = _account(company, record, "FromAccountRef")
    target = _account(company, record, "ToAccountRef")
    if source["Id"] == target["Id"]:
        raise business_validation("A transfer needs two different accounts.", "ToAccountRef")
    _positive(record, "Amount")
    return record


def journal_entry(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    sums = {"Debit": Decimal(0), "Credit": Decimal(0)}
    for line in record["Line"]:
        sums[line["JournalEntryLineDetail"]["PostingType"]] += Decimal(str(line["Amount"]))
    if sums["Debit"] != sums["Credit"]:
        raise business_validation(
            f"Transaction is not balanced: debits {money(sums['Debit'])} and credits "
            f"{money(sums['Credit'])} must be equal.",
            "Line",
        )
    record["TotalAmt"] = money(sums["Debit"])
    record.setdefault("Adjustment", False)
    return record


def credit_card_payment(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    _account(company, record, "CreditCardAccountRef", "Credit Card")
    _account(company, record, "BankAccountRef", "Bank")
    _positive(record, "Amount")
    return record


# -- time, attachments, company info ----------------------------------------------------------


def time_activity(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    kind = str(record["NameOf"])
    if kind not in ("Employee", "Vendor"):
        raise invalid_value("NameOf", f"Invalid Enumeration : {kind} (Employee or Vendor)")
    if ref_value(record.get(f"{kind}Ref")) is None:
        raise required_missing(f"{kind}Ref")
    timed = record.get("StartTime") and record.get("EndTime")
    if not timed and record.get("Hours") in (None, "") and record.get("Minutes") in (None, ""):
        raise required_missing("Hours")
    for name in ("Hours", "Minutes", "BreakHours", "BreakMinutes"):
        if record.get(name) not in (None, ""):
            record[name] = number(to_decimal(record[name], name))
    return record


def attachable(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    if not record.get("FileName") and not record.get("Note"):
        raise required_missing("FileName")
    for link in record.get("AttachableRef") or []:
        entity_ref = link.get("EntityRef") if isinstance(link, dict) else None
        if not isinstance(entity_ref, dict):
            raise required_missing("AttachableRef.EntityRef")
        kind = next(
            (n for n in ENTITIES if n.lower() == str(entity_ref.get("type", "")).lower()), None
        )
        if kind is None or company.get(kind, str(entity_ref.get("value", ""))) is None:
            raise object_not_found("AttachableRef.EntityRef")
        entity_ref["type"] = kind
    return record


def company_info(
    company: Company, record: dict[str, Any], previous: Any, total: Any
) -> dict[str, Any]:
    base = copy.deepcopy(previous) if previous is not None else {}
    base.update(record)
    return base


HOOKS: dict[str, Hook] = {
    "account": account,
    "term": term,
    "payment_method": payment_method,
    "company_currency": company_currency,
    "generic_sales": sales,
    "estimate": estimate,
    "credit_memo": credit_memo,
    "vendor_credit": vendor_credit,
    "refund_receipt": refund_receipt,
    "bill": bill,
    "purchase": purchase,
    "bill_payment": bill_payment,
    "deposit": deposit,
    "transfer": transfer,
    "journal_entry": journal_entry,
    "credit_card_payment": credit_card_payment,
    "time_activity": time_activity,
    "attachable": attachable,
    "recurring": recurring,
    "company_info": company_info,
}
