"""Per-entity business rules: required fields, defaults, computed totals, cross-links.

Each rule takes the candidate record (the client's fields, or for a sparse update the
stored fields overlaid with the client's) and returns what QuickBooks would store, or
raises the fault QuickBooks would answer. What is reproduced, by entity:

* Customer, Vendor: ``DisplayName`` unique across customers AND vendors, case-insensitive
  (6240 naming who holds it); no colon in names; ``CurrencyRef`` defaults to the home
  currency, may be foreign only with multicurrency on, and never changes once set;
  ``Active: false`` is QuickBooks' delete and renames the record ``"X (deleted)"``, which
  frees the name; a customer's ``Balance`` is its open invoices less unapplied payments
  (kept by :class:`Company` as transactions change).
* Item: ``Name`` unique among items; ``Type`` Service / NonInventory / Inventory with the
  accounts each needs.
* Invoice: ``CustomerRef`` and a ``Line`` required; references must be active (610);
  ``Amount`` must equal ``Qty * UnitPrice`` when both are given (6070); ``DocNumber`` at
  most 21 characters, unique among invoices (6140 naming the holder) unless the request
  says ``include=allowduplicatedocnum`` or the company does not warn on duplicate
  numbers (``Company.refuse_duplicate_doc_numbers``), and numbered 1001, 1002...
  unless the company uses custom transaction numbers; ``TotalAmt`` / ``Balance`` computed, a
  ``SubTotalLineDetail`` line appended; ``CurrencyRef`` required when the customer's
  currency is not the home currency.
* Payment: ``CustomerRef`` and ``TotalAmt`` required; lines apply amounts to the
  customer's invoices through ``LinkedTxn``; over-applying an invoice or the payment is
  refused; ``UnappliedAmt`` computed; applied invoices get a new ``Balance``, a
  ``LinkedTxn`` to the payment and a new ``SyncToken``.
* PurchaseOrder: ``VendorRef`` and lines required, ``APAccountRef`` defaults to the
  Accounts Payable account, ``POStatus`` Open/Closed, numbered like invoices.
* Preferences: sections merge on update; multicurrency cannot be turned off again.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpsync.quickbooks import wire
from erpsync.testing.quickbooks.clock import local_date
from erpsync.testing.quickbooks.errors import (
    QboFault,
    business_validation,
    duplicate_doc_number,
    duplicate_item_name,
    duplicate_name,
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


def voided(company: Company, entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as QuickBooks keeps it after a void: zero amounts, a note, same number."""
    record["PrivateNote"] = "Voided"
    for line in record.get("Line", []):
        if isinstance(line, dict) and "Amount" in line:
            line["Amount"] = 0.0
            detail = line.get("SalesItemLineDetail")
            if isinstance(detail, dict):
                detail.pop("Qty", None)
                detail["UnitPrice"] = 0
    record["TotalAmt"] = 0.0
    if entity == "Invoice":
        _unlink_invoice(company, record["Id"])
        record["Balance"] = 0.0
        record.pop("LinkedTxn", None)
        if "HomeBalance" in record:
            record["HomeBalance"] = 0.0
            record["HomeTotalAmt"] = 0.0
    elif entity == "Payment":
        record["UnappliedAmt"] = 0.0
    return record


# -- shared checks ----------------------------------------------------------------------------


def _home_currency(company: Company) -> str:
    prefs = company.preferences().get("CurrencyPrefs", {})
    home = ref_value(prefs.get("HomeCurrency")) or "USD"
    return home


def _multicurrency(company: Company) -> bool:
    return company.preferences().get("CurrencyPrefs", {}).get("MultiCurrencyEnabled") is True


def _currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def _active_ref(company: Company, entity: str, value: Any, element: str) -> dict[str, Any]:
    """The referenced record, which must exist and be active (else 610)."""
    record_id = ref_value(value)
    if record_id is None:
        raise required_missing(element)
    record = company.get(entity, record_id)
    if record is None or record.get("Active", True) is False:
        raise object_not_found(element)
    return record


def _named_ref(record: dict[str, Any], name_field: str = "DisplayName") -> dict[str, str]:
    return {"value": record["Id"], "name": str(record.get(name_field, ""))}


def _required_text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None or str(value).strip() == "":
        raise required_missing(name)
    return str(value).strip()


# -- names: Customer, Vendor ------------------------------------------------------------------


def _display_name(candidate: dict[str, Any]) -> str:
    name = str(candidate.get("DisplayName") or "").strip()
    if name:
        return name
    parts = [
        str(candidate.get(k) or "").strip()
        for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
    ]
    name = " ".join(p for p in parts if p) or str(candidate.get("CompanyName") or "").strip()
    if not name:
        raise required_missing("DisplayName")
    return name


def name_holder(company: Company, name: str, exclude: tuple[str, str] | None) -> str | None:
    """Which kind of record ("customer", "vendor", "employee") already uses ``name``."""
    for entity in ("Customer", "Vendor", "Employee"):
        ids = company.holders(entity, name)
        if exclude is not None and exclude[0] == entity:
            ids.discard(exclude[1])
        if ids:
            return entity.lower()
    return None


def _name_entity(
    company: Company, entity: str, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    record = dict(candidate)
    active = record.get("Active", True) not in (False, "false")
    record["Active"] = active
    name = _display_name(record)
    was_active = previous is None or previous.get("Active", True) is not False
    if not active and was_active and not name.endswith(DELETED_SUFFIX):
        name += DELETED_SUFFIX
    elif active and name.endswith(DELETED_SUFFIX) and not was_active:
        name = name[: -len(DELETED_SUFFIX)]
    if ":" in name:
        raise invalid_value("DisplayName", "The name can't contain a colon (:).")
    if len(name) > wire.DISPLAY_NAME_MAX:
        raise string_length("DisplayName", wire.DISPLAY_NAME_MAX, len(name))
    exclude = (entity, previous["Id"]) if previous is not None else None
    holder = name_holder(company, name, exclude)
    if holder is not None:
        raise duplicate_name(holder)
    record["DisplayName"] = name
    if not str(record.get("PrintOnCheckName") or "").strip():
        record["PrintOnCheckName"] = str(record.get("CompanyName") or "").strip() or name
    if entity == "Employee":
        record.pop("CurrencyRef", None)
        optional_date(record, "HiredDate")
        optional_date(record, "BirthDate")
        return _without_empty(record)
    home = _home_currency(company)
    currency = (
        ref_value(record.get("CurrencyRef"))
        or (ref_value(previous.get("CurrencyRef")) if previous is not None else None)
        or home
    )
    if previous is not None:
        before = ref_value(previous.get("CurrencyRef")) or home
        if currency != before:
            raise business_validation(
                f"You can't change the currency of this {entity.lower()}: it is {before}.",
                "CurrencyRef",
            )
    elif currency != home and not _multicurrency(company):
        raise business_validation(
            f"Currency {currency} is not allowed: multicurrency is not turned on in this company.",
            "CurrencyRef",
        )
    record["CurrencyRef"] = _currency_ref(currency)
    for date_field in ("OpenBalanceDate",):
        optional_date(record, date_field)
    if entity == "Customer":
        record.setdefault("Job", False)
        record.setdefault("BillWithParent", False)
        record.setdefault("Taxable", False)
        if not str(record.get("PreferredDeliveryMethod") or "").strip():
            record["PreferredDeliveryMethod"] = "Print"
        record["FullyQualifiedName"] = name
        balance = previous.get("Balance", 0.0) if previous is not None else 0.0
        record["Balance"] = balance
        record["BalanceWithJobs"] = balance
    else:
        record.setdefault("Vendor1099", False)
        record["Balance"] = previous.get("Balance", 0.0) if previous is not None else 0.0
    return _without_empty(record)


def _without_empty(record: dict[str, Any]) -> dict[str, Any]:
    """QuickBooks does not echo empty strings for fields a client left blank."""
    return {k: v for k, v in record.items() if v != "" and v is not None}


# -- Item -------------------------------------------------------------------------------------

_ITEM_TYPES = ("Service", "NonInventory", "Inventory")


def _item(
    company: Company, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    record = dict(candidate)
    name = _required_text(record, "Name")
    active = record.get("Active", True) not in (False, "false")
    was_active = previous is None or previous.get("Active", True) is not False
    if not active and was_active and not name.endswith(DELETED_SUFFIX):
        name += DELETED_SUFFIX
    elif active and not was_active and name.endswith(DELETED_SUFFIX):
        name = name[: -len(DELETED_SUFFIX)]
    if ":" in name:
        raise invalid_value("Name", "The name can't contain a colon (:).")
    if len(name) > 100:
        raise string_length("Name", 100, len(name))
    holders = company.holders("Item", name)
    if previous is not None:
        holders.discard(previous["Id"])
    if holders:
        raise duplicate_item_name(name)
    record["Name"] = name
    record["Active"] = active
    item_type = str(record.get("Type") or "Service")
    if item_type not in _ITEM_TYPES:
        raise invalid_value("Type", f"Invalid Enumeration : {item_type}")
    record["Type"] = item_type
    needed = ["IncomeAccountRef"]
    if item_type == "Inventory":
        needed += ["AssetAccountRef", "ExpenseAccountRef"]
    for field_name in needed:
        account = _active_ref(company, "Account", record.get(field_name), field_name)
        record[field_name] = _named_ref(account, "Name")
    if ref_value(record.get("ExpenseAccountRef")) and "ExpenseAccountRef" not in needed:
        account = _active_ref(company, "Account", record["ExpenseAccountRef"], "ExpenseAccountRef")
        record["ExpenseAccountRef"] = _named_ref(account, "Name")
    if item_type == "Inventory":
        if optional_date(record, "InvStartDate") is None:
            raise required_missing("InvStartDate")
        record["TrackQtyOnHand"] = True
        record["QtyOnHand"] = number(to_decimal(record.get("QtyOnHand", 0), "QtyOnHand"))
    else:
        record["TrackQtyOnHand"] = False
        record.pop("QtyOnHand", None)
    record["UnitPrice"] = number(to_decimal(record.get("UnitPrice") or 0, "UnitPrice"))
    record.setdefault("Taxable", False)
    record["FullyQualifiedName"] = name
    return _without_empty(record)


# -- lines ------------------------------------------------------------------------------------


def _lines(
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


def _line_detail(
    company: Company, detail_type: str, detail: dict[str, Any], amount: Decimal
) -> None:
    if detail_type in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
        if ref_value(detail.get("ItemRef")) is not None:
            item = _active_ref(company, "Item", detail.get("ItemRef"), "Line.ItemRef")
            detail["ItemRef"] = _named_ref(item, "Name")
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
                raise QboFault(
                    "A business validation error has occurred while processing your request",
                    f"Business Validation Error: Amount is not equal to UnitPrice * Qty. "
                    f"Supplied value:{money(amount)}",
                    "6070",
                    element="Line.Amount",
                )
            detail["Qty"] = number(q)
            detail["UnitPrice"] = number(p)
        for blank in ("ServiceDate",):
            optional_date(detail, blank)
        for key in [k for k, v in detail.items() if v == ""]:
            del detail[key]
    elif detail_type in ("AccountBasedExpenseLineDetail", "JournalEntryLineDetail"):
        account = _active_ref(company, "Account", detail.get("AccountRef"), "Line.AccountRef")
        detail["AccountRef"] = _named_ref(account, "Name")
        if detail_type == "JournalEntryLineDetail":
            posting = detail.get("PostingType")
            if posting not in ("Debit", "Credit"):
                raise invalid_value(
                    "Line.JournalEntryLineDetail.PostingType",
                    f"Invalid Enumeration : {posting} (Debit or Credit)",
                )
    elif detail_type == "DepositLineDetail" and ref_value(detail.get("AccountRef")):
        account = _active_ref(company, "Account", detail.get("AccountRef"), "Line.AccountRef")
        detail["AccountRef"] = _named_ref(account, "Name")
    for key in [k for k, v in detail.items() if v in ("", None, [])]:
        del detail[key]


def _doc_number(
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


def _transaction_currency(
    company: Company, record: dict[str, Any], party: dict[str, Any], party_kind: str
) -> tuple[str, Decimal]:
    """The transaction currency and exchange rate, checked against the party's currency."""
    home = _home_currency(company)
    party_currency = ref_value(party.get("CurrencyRef")) or home
    given = ref_value(record.get("CurrencyRef"))
    if _multicurrency(company) and party_currency != home and given is None:
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
    rate = to_decimal(record.get("ExchangeRate") or 1, "ExchangeRate")
    if currency == home:
        rate = Decimal(1)
    record["CurrencyRef"] = _currency_ref(currency)
    record["ExchangeRate"] = number(rate)
    return currency, rate


# -- Invoice ----------------------------------------------------------------------------------


def applied_total(company: Company, invoice_id: str, *, excluding: str | None = None) -> Decimal:
    return sum(
        (amount for pid, amount in company.applied.get(invoice_id, {}).items() if pid != excluding),
        Decimal(0),
    )


def _invoice(
    company: Company,
    candidate: dict[str, Any],
    previous: dict[str, Any] | None,
    options: frozenset[str],
) -> dict[str, Any]:
    record = dict(candidate)
    customer = _active_ref(company, "Customer", record.get("CustomerRef"), "CustomerRef")
    record["CustomerRef"] = _named_ref(customer)
    lines, total = _lines(company, record, ("SalesItemLineDetail", "DescriptionOnly"))
    lines.append(
        {"Amount": money(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    record["Line"] = lines
    txn_date = optional_date(record, "TxnDate") or local_date(company.now())
    record["TxnDate"] = txn_date
    record["DueDate"] = optional_date(record, "DueDate") or txn_date
    optional_date(record, "ShipDate")
    _doc_number(company, "Invoice", record, previous, options)
    if len(str(record.get("PrivateNote") or "")) > wire.PRIVATE_NOTE_MAX:
        raise string_length("PrivateNote", wire.PRIVATE_NOTE_MAX, len(str(record["PrivateNote"])))
    currency, rate = _transaction_currency(company, record, customer, "customer")
    applied = applied_total(company, previous["Id"]) if previous is not None else Decimal(0)
    if total < applied:
        raise business_validation(
            f"The invoice total {money(total)} is less than the {money(applied)} already "
            "received in payments against it.",
            "Line",
        )
    record["TotalAmt"] = money(total)
    record["Balance"] = money(total - applied)
    if currency != _home_currency(company):
        record["HomeTotalAmt"] = money(total * rate)
        record["HomeBalance"] = money((total - applied) * rate)
    record["TxnTaxDetail"] = {"TotalTax": 0}
    record.setdefault("EmailStatus", "NotSet")
    record.setdefault("PrintStatus", "NotSet")
    if previous is not None and previous.get("LinkedTxn"):
        record["LinkedTxn"] = copy.deepcopy(previous["LinkedTxn"])
    else:
        record.pop("LinkedTxn", None)
    for blank in ("CustomField",):
        if record.get(blank) == []:
            del record[blank]
    return _without_empty(record)


def _unlink_invoice(company: Company, invoice_id: str) -> None:
    """A deleted or voided invoice releases every payment applied to it."""
    payments = company.applied.pop(invoice_id, {})
    for payment_id in payments:
        payment = company.get("Payment", payment_id)
        if payment is None:
            continue
        updated = copy.deepcopy(payment)
        updated["Line"] = [
            line
            for line in updated.get("Line", [])
            if not any(
                str(link.get("TxnId")) == invoice_id and link.get("TxnType") == "Invoice"
                for link in line.get("LinkedTxn", [])
            )
        ]
        applied = sum(
            (to_decimal(line.get("Amount", 0), "Amount") for line in updated["Line"]), Decimal(0)
        )
        updated["UnappliedAmt"] = money(
            to_decimal(updated.get("TotalAmt", 0), "TotalAmt") - applied
        )
        company.replace("Payment", payment_id, updated)


# -- Payment ----------------------------------------------------------------------------------


def _payment(
    company: Company, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    record = dict(candidate)
    customer = _active_ref(company, "Customer", record.get("CustomerRef"), "CustomerRef")
    record["CustomerRef"] = _named_ref(customer)
    if record.get("TotalAmt") in (None, ""):
        raise required_missing("TotalAmt")
    total = to_decimal(record["TotalAmt"], "TotalAmt")
    if total < 0:
        raise invalid_value("TotalAmt", "TotalAmt must not be negative.")
    raw_lines = record.get("Line") or []
    if not isinstance(raw_lines, list):
        raise malformed_request("Line must be an array of lines.")
    per_invoice: dict[str, Decimal] = {}
    lines: list[dict[str, Any]] = []
    for line in raw_lines:
        if not isinstance(line, dict):
            raise malformed_request("Each Line must be an object.")
        if line.get("Amount") in (None, ""):
            raise required_missing("Line.Amount")
        amount = to_decimal(line["Amount"], "Line.Amount")
        links = line.get("LinkedTxn")
        if not isinstance(links, list) or not links:
            raise required_missing("Line.LinkedTxn")
        for link in links:
            if not isinstance(link, dict):
                raise malformed_request("Each LinkedTxn must be an object.")
            if link.get("TxnType") != "Invoice":
                raise invalid_value(
                    "Line.LinkedTxn.TxnType",
                    f"Invalid Enumeration : {link.get('TxnType')} (only Invoice is supported)",
                )
            invoice_id = str(link.get("TxnId") or "").strip()
            invoice = company.get("Invoice", invoice_id) if invoice_id else None
            if invoice is None:
                raise object_not_found("Line.LinkedTxn.TxnId")
            if ref_value(invoice.get("CustomerRef")) != customer["Id"]:
                raise business_validation(
                    f"Invoice {invoice_id} belongs to another customer; a payment can only "
                    "be applied to its customer's invoices.",
                    "Line.LinkedTxn",
                )
            per_invoice[invoice_id] = per_invoice.get(invoice_id, Decimal(0)) + amount
        out = {k: copy.deepcopy(v) for k, v in line.items() if v is not None}
        out["Amount"] = money(amount)
        lines.append(out)
    own_id = previous["Id"] if previous is not None else None
    for invoice_id, amount in per_invoice.items():
        invoice = company.records["Invoice"][invoice_id]
        available = to_decimal(invoice.get("TotalAmt", 0), "TotalAmt") - applied_total(
            company, invoice_id, excluding=own_id
        )
        if amount > available:
            raise business_validation(
                f"The amount applied to invoice {invoice_id} ({money(amount)}) is more than "
                f"its open balance ({money(available)}).",
                "Line.Amount",
            )
    applied = sum(per_invoice.values(), Decimal(0))
    if applied > total:
        raise business_validation(
            f"The amount applied to transactions ({money(applied)}) is more than the payment "
            f"amount ({money(total)}).",
            "TotalAmt",
        )
    record["Line"] = lines
    record["TotalAmt"] = money(total)
    record["UnappliedAmt"] = money(total - applied)
    record["TxnDate"] = optional_date(record, "TxnDate") or local_date(company.now())
    _transaction_currency(company, record, customer, "customer")
    if ref_value(record.get("DepositToAccountRef")) is not None:
        account = _active_ref(
            company, "Account", record["DepositToAccountRef"], "DepositToAccountRef"
        )
    else:
        account = _account_by_type(company, "Other Current Asset", "Undeposited Funds")
    record["DepositToAccountRef"] = _named_ref(account, "Name")
    record.setdefault("ProcessPayment", False)
    return _without_empty(record)


def _apply_payment(
    company: Company, stored: dict[str, Any] | None, previous: dict[str, Any] | None
) -> None:
    """Re-point the applied-amount index at ``stored`` and refresh the touched invoices."""
    payment_id = (stored or previous or {}).get("Id", "")
    touched: set[str] = set()
    for invoice_id, by_payment in company.applied.items():
        if payment_id in by_payment:
            del by_payment[payment_id]
            touched.add(invoice_id)
    if stored is not None:
        for line in stored.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") != "Invoice":
                    continue
                invoice_id = str(link.get("TxnId"))
                bucket = company.applied.setdefault(invoice_id, {})
                bucket[payment_id] = bucket.get(payment_id, Decimal(0)) + to_decimal(
                    line.get("Amount", 0), "Amount"
                )
                touched.add(invoice_id)
    for invoice_id in sorted(touched):
        _refresh_invoice(company, invoice_id)


def _refresh_invoice(company: Company, invoice_id: str) -> None:
    """Recompute an invoice's Balance and payment links; a change is a new version."""
    invoice = company.get("Invoice", invoice_id)
    if invoice is None:
        return
    payments = {pid: amt for pid, amt in company.applied.get(invoice_id, {}).items() if amt > 0}
    total = to_decimal(invoice.get("TotalAmt", 0), "TotalAmt")
    balance = money(total - sum(payments.values(), Decimal(0)))
    links = [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(payments, key=int)]
    if invoice.get("Balance") == balance and invoice.get("LinkedTxn", []) == links:
        return
    updated = copy.deepcopy(invoice)
    updated["Balance"] = balance
    if "HomeBalance" in updated:
        rate = to_decimal(updated.get("ExchangeRate", 1), "ExchangeRate")
        updated["HomeBalance"] = money(to_decimal(balance, "Balance") * rate)
    if links:
        updated["LinkedTxn"] = links
    else:
        updated.pop("LinkedTxn", None)
    company.replace("Invoice", invoice_id, updated)


def _account_by_type(company: Company, account_type: str, name: str) -> dict[str, Any]:
    for account in company.records["Account"].values():
        if account.get("AccountType") == account_type and account.get("Name") == name:
            return account
    for account in company.records["Account"].values():
        if account.get("AccountType") == account_type:
            return account
    raise object_not_found("AccountRef")


# -- PurchaseOrder ----------------------------------------------------------------------------


def _purchase_order(
    company: Company, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    record = dict(candidate)
    vendor = _active_ref(company, "Vendor", record.get("VendorRef"), "VendorRef")
    record["VendorRef"] = _named_ref(vendor)
    if ref_value(record.get("APAccountRef")) is not None:
        account = _active_ref(company, "Account", record["APAccountRef"], "APAccountRef")
        if account.get("AccountType") != "Accounts Payable":
            raise business_validation(
                "APAccountRef must be an Accounts Payable account.", "APAccountRef"
            )
    else:
        account = _account_by_type(company, "Accounts Payable", "Accounts Payable (A/P)")
    record["APAccountRef"] = _named_ref(account, "Name")
    lines, total = _lines(
        company, record, ("ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail")
    )
    record["Line"] = lines
    status = str(record.get("POStatus") or "Open")
    if status not in wire.PO_STATUSES:
        raise invalid_value("POStatus", f"Invalid Enumeration : {status}")
    record["POStatus"] = status
    record["TxnDate"] = optional_date(record, "TxnDate") or local_date(company.now())
    optional_date(record, "DueDate")
    _doc_number(company, "PurchaseOrder", record, previous, frozenset())
    _transaction_currency(company, record, vendor, "vendor")
    record["TotalAmt"] = money(total)
    record.setdefault("EmailStatus", "NotSet")
    return _without_empty(record)


# -- Preferences ------------------------------------------------------------------------------


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _preferences(
    company: Company, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    if previous is None:  # pragma: no cover - Preferences cannot be created (spec)
        raise malformed_request("Preferences cannot be created.")
    base = {k: v for k, v in previous.items() if k not in ("Id", "SyncToken", "MetaData")}
    record = _merge(base, candidate)
    before = previous.get("CurrencyPrefs", {})
    after = record.get("CurrencyPrefs", {})
    if before.get("MultiCurrencyEnabled") is True and after.get("MultiCurrencyEnabled") is not True:
        raise business_validation(
            "Multicurrency can't be turned off once it has been turned on.",
            "CurrencyPrefs.MultiCurrencyEnabled",
        )
    if before.get("MultiCurrencyEnabled") is True and ref_value(
        after.get("HomeCurrency")
    ) != ref_value(before.get("HomeCurrency")):
        raise business_validation(
            "The home currency can't be changed once multicurrency is on.",
            "CurrencyPrefs.HomeCurrency",
        )
    home = ref_value(after.get("HomeCurrency"))
    if home is not None:
        after["HomeCurrency"] = {"value": home}
    return record


# -- the names the generic handler (generic.py) and the hooks (books.py) use ----------------

name_entity = _name_entity
item = _item
invoice = _invoice
payment = _payment
purchase_order = _purchase_order
preferences = _preferences
active_ref = _active_ref
named_ref = _named_ref
lines = _lines
without_empty = _without_empty
apply_payment = _apply_payment
unlink_invoice = _unlink_invoice
account_by_type = _account_by_type
transaction_currency = _transaction_currency
home_currency = _home_currency
multicurrency = _multicurrency
