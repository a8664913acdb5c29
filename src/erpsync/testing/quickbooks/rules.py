"""The checks many entities share: references, lines, document numbers, currencies.

Each takes the candidate record (the client's fields, or for a sparse update the stored
fields overlaid with the client's) and raises the fault QuickBooks would answer:
references must exist and be active (610); lines have a known ``DetailType`` and an
``Amount`` equal to ``Qty * UnitPrice`` (6070); a ``DocNumber`` is at most 21 characters
and, for invoices, unique (6140 naming the holder) unless the request says
``include=allowduplicatedocnum`` or the company does not warn on duplicate numbers
(``Company.refuse_duplicate_doc_numbers``), and is numbered 1001, 1002... unless the
company uses custom transaction numbers; a transaction's ``CurrencyRef`` is required
when its party's currency is not the home currency, and must match it.

The per-entity rules live beside this module: :mod:`.parties` (customers, vendors,
employees, items), :mod:`.sales` (invoices, payments, purchase orders, preferences) and
:mod:`.books` (the hooks of the catalogue's other entities).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpsync.quickbooks import wire
from erpsync.testing.quickbooks.clock import local_date
from erpsync.testing.quickbooks.errors import (
    amount_mismatch,
    business_validation,
    duplicate_doc_number,
    invalid_value,
    malformed_request,
    object_not_found,
    required_missing,
    string_length,
)
from erpsync.testing.quickbooks.values import money, number, optional_date, ref_value, to_decimal

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company


CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
    "MXN": "Mexican Peso",
    "JPY": "Japanese Yen",
}

DELETED_SUFFIX = " (deleted)"
DOC_NUMBER_MAX = wire.DOC_NUMBER_MAX
ALLOW_DUPLICATE_DOC = "allowduplicatedocnum"


# -- shared checks ----------------------------------------------------------------------------


def home_currency(company: Company) -> str:
    prefs = company.preferences().get("CurrencyPrefs", {})
    home = ref_value(prefs.get("HomeCurrency")) or "USD"
    return home


def multicurrency(company: Company) -> bool:
    return company.preferences().get("CurrencyPrefs", {}).get("MultiCurrencyEnabled") is True


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def active_ref(company: Company, entity: str, value: Any, element: str) -> dict[str, Any]:
    """The referenced record, which must exist and be active (else 610)."""
    record_id = ref_value(value)
    if record_id is None:
        raise required_missing(element)
    record = company.get(entity, record_id)
    if record is None or record.get("Active", True) is False:
        raise object_not_found(element)
    return record


def named_ref(record: dict[str, Any], name_field: str = "DisplayName") -> dict[str, str]:
    return {"value": record["Id"], "name": str(record.get(name_field, ""))}


def required_text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None or str(value).strip() == "":
        raise required_missing(name)
    return str(value).strip()


def without_empty(record: dict[str, Any]) -> dict[str, Any]:
    """QuickBooks does not echo empty strings for fields a client left blank."""
    return {k: v for k, v in record.items() if v != "" and v is not None}


# -- lines ------------------------------------------------------------------------------------


def lines(
    company: Company, candidate: dict[str, Any], kinds: tuple[str, ...]
) -> tuple[list[dict[str, Any]], Decimal]:
    raw = candidate.get("Line")
    if raw is None or raw == []:
        raise required_missing("Line")
    if not isinstance(raw, list):
        raise malformed_request("Line must be an array of lines.")
    lines: list[dict[str, Any]] = []
    total = Decimal(0)
    for position, line in enumerate(raw, start=1):
        if not isinstance(line, dict):
            raise malformed_request("Each Line must be an object.")
        detail_type = line.get("DetailType")
        if detail_type == "SubTotalLineDetail":
            continue  # the server computes its own
        if detail_type not in kinds:
            raise invalid_value("Line.DetailType", f"Invalid Enumeration : {detail_type}")
        out = {k: copy.deepcopy(v) for k, v in line.items() if v is not None}
        for empty_list in ("LinkedTxn", "CustomField"):
            if out.get(empty_list) == []:
                del out[empty_list]
        amount = Decimal(0)
        if detail_type != "DescriptionOnly" or line.get("Amount") not in (None, ""):
            if line.get("Amount") in (None, ""):
                raise required_missing("Line.Amount")
            amount = to_decimal(line["Amount"], "Line.Amount")
        detail = out.get(detail_type)
        if detail_type != "DescriptionOnly":
            if not isinstance(detail, dict):
                raise required_missing(f"Line.{detail_type}")
            _line_detail(company, detail_type, detail, amount)
        elif isinstance(detail, dict):
            out[detail_type] = detail
        out["Id"] = str(len(lines) + 1)
        out["LineNum"] = position
        out["Amount"] = money(amount)
        lines.append(out)
        total += amount
    if not lines:
        raise required_missing("Line")
    return lines, total


def sales_lines(
    company: Company, candidate: dict[str, Any], kinds: tuple[str, ...]
) -> tuple[list[dict[str, Any]], Decimal]:
    """A sales document's lines and total: discount lines subtract, and the server's
    ``SubTotalLineDetail`` line (the sum before discounts) sits above the first
    discount it is the base of, else last, as QuickBooks answers (Intuit's estimate
    sample: item line, subtotal, discount)."""
    found, gross = lines(company, candidate, kinds)
    discounts = sum(
        (
            Decimal(str(line["Amount"]))
            for line in found
            if line["DetailType"] == "DiscountLineDetail"
        ),
        Decimal(0),
    )
    before = gross - discounts
    at = next(
        (i for i, line in enumerate(found) if line["DetailType"] == "DiscountLineDetail"),
        len(found),
    )
    subtotal = {
        "Amount": money(before),
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    found.insert(at, subtotal)
    return found, before - discounts


def _line_detail(
    company: Company, detail_type: str, detail: dict[str, Any], amount: Decimal
) -> None:
    if detail_type in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
        if ref_value(detail.get("ItemRef")) is not None:
            item = active_ref(company, "Item", detail.get("ItemRef"), "Line.ItemRef")
            detail["ItemRef"] = named_ref(item, "Name")
        elif detail_type == "ItemBasedExpenseLineDetail":
            raise required_missing("Line.ItemBasedExpenseLineDetail.ItemRef")
        qty = detail.get("Qty")
        price = detail.get("UnitPrice")
        if qty not in (None, "") and price not in (None, ""):
            q = to_decimal(qty, "Qty")
            p = to_decimal(price, "UnitPrice")
            if (
                q != 0
                and p != 0
                and (q * p).quantize(Decimal("0.01")) != amount.quantize(Decimal("0.01"))
            ):
                raise amount_mismatch(money(amount))
            detail["Qty"] = number(q)
            detail["UnitPrice"] = number(p)
        for blank in ("ServiceDate",):
            optional_date(detail, blank)
        for key in [k for k, v in detail.items() if v == ""]:
            del detail[key]
    elif detail_type in ("AccountBasedExpenseLineDetail", "JournalEntryLineDetail"):
        account = active_ref(company, "Account", detail.get("AccountRef"), "Line.AccountRef")
        detail["AccountRef"] = named_ref(account, "Name")
        if detail_type == "JournalEntryLineDetail":
            posting = detail.get("PostingType")
            if posting not in ("Debit", "Credit"):
                raise invalid_value(
                    "Line.JournalEntryLineDetail.PostingType",
                    f"Invalid Enumeration : {posting} (Debit or Credit)",
                )
    elif detail_type == "DepositLineDetail" and ref_value(detail.get("AccountRef")):
        account = active_ref(company, "Account", detail.get("AccountRef"), "Line.AccountRef")
        detail["AccountRef"] = named_ref(account, "Name")
    for key in [k for k, v in detail.items() if v in ("", None, [])]:
        del detail[key]


def doc_number(
    company: Company,
    entity: str,
    record: dict[str, Any],
    previous: dict[str, Any] | None,
    options: frozenset[str],
) -> None:
    value = record.get("DocNumber")
    if value in (None, ""):
        record.pop("DocNumber", None)
        custom = company.preferences().get("SalesFormsPrefs", {}).get("CustomTxnNumbers") is True
        if previous is not None or (entity == "Invoice" and custom):
            return
        counter = company.next_doc_number if entity == "Invoice" else company.next_po_number
        while company.holders(entity, str(counter)):
            counter += 1
        record["DocNumber"] = str(counter)
        if entity == "Invoice":
            company.next_doc_number = counter + 1
        else:
            company.next_po_number = counter + 1
        return
    text = str(value)
    if len(text) > DOC_NUMBER_MAX:
        raise string_length("DocNumber", DOC_NUMBER_MAX, len(text))
    record["DocNumber"] = text
    if (
        entity != "Invoice"
        or ALLOW_DUPLICATE_DOC in options
        or not company.refuse_duplicate_doc_numbers
    ):
        return
    holders = company.holders("Invoice", text)
    if previous is not None:
        holders.discard(previous["Id"])
    if holders:
        raise duplicate_doc_number(text, "Invoice", min(holders, key=int))


def transaction_currency(
    company: Company, record: dict[str, Any], party: dict[str, Any], party_kind: str
) -> tuple[str, Decimal]:
    """The transaction currency and exchange rate, checked against the party's currency."""
    home = home_currency(company)
    party_currency = ref_value(party.get("CurrencyRef")) or home
    given = ref_value(record.get("CurrencyRef"))
    if multicurrency(company) and party_currency != home and given is None:
        raise business_validation(
            f"CurrencyRef is required: the {party_kind}'s currency {party_currency} is not "
            f"the home currency {home}.",
            "CurrencyRef",
        )
    currency = given or party_currency
    if currency != party_currency:
        raise business_validation(
            f"The currency of the transaction ({currency}) must match the {party_kind}'s "
            f"currency ({party_currency}).",
            "CurrencyRef",
        )
    if currency == home:
        rate = Decimal(1)
    elif record.get("ExchangeRate") not in (None, "", 0):
        rate = to_decimal(record["ExchangeRate"], "ExchangeRate")
    else:  # QuickBooks takes the rate of the transaction's date
        from erpsync.testing.quickbooks.exchange import rate_for

        day = str(record.get("TxnDate") or local_date(company.now()))
        rate = rate_for(company, currency, day) or Decimal(1)
    record["CurrencyRef"] = currency_ref(currency)
    record["ExchangeRate"] = number(rate)
    return currency, rate


def account_by_type(company: Company, account_type: str, name: str) -> dict[str, Any]:
    for account in company.records["Account"].values():
        if account.get("AccountType") == account_type and account.get("Name") == name:
            return account
    for account in company.records["Account"].values():
        if account.get("AccountType") == account_type:
            return account
    raise object_not_found("AccountRef")
