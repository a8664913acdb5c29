"""Invoices, payments, purchase orders and Preferences: the rules that link documents.

* Invoice: ``CustomerRef`` and a ``Line`` required; ``TotalAmt`` / ``Balance`` computed,
  a ``SubTotalLineDetail`` line appended; numbered and currency-checked by :mod:`.rules`.
  A new invoice may link the customer's estimate it comes from (``LinkedTxn`` of type
  Estimate): the estimate is then ``Closed`` and links the invoice back. Voiding or
  deleting the invoice does not reopen the estimate (not emulated).
* Payment: ``CustomerRef`` and ``TotalAmt`` required; lines apply amounts to the
  customer's invoices through ``LinkedTxn``; over-applying an invoice or the payment is
  refused; ``UnappliedAmt`` computed; applied invoices get a new ``Balance``, a
  ``LinkedTxn`` to the payment and a new ``SyncToken``.
* PurchaseOrder: ``VendorRef`` and lines required, ``APAccountRef`` defaults to the
  Accounts Payable account, ``POStatus`` Open/Closed, numbered like invoices.
* Preferences: sections merge on update; multicurrency cannot be turned off again.

Just over 400 lines: invoice, payment and purchase-order rules share the document
links (``LinkedTxn`` between a customer's documents, balances moved by payments);
the estimate link could move to its own module if estimates grow more rules.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpsync.quickbooks import wire
from erpsync.testing.quickbooks import rules
from erpsync.testing.quickbooks.clock import local_date
from erpsync.testing.quickbooks.errors import (
    business_validation,
    invalid_value,
    malformed_request,
    object_not_found,
    required_missing,
    string_length,
)
from erpsync.testing.quickbooks.values import money, optional_date, ref_value, to_decimal

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company


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
        unlink_invoice(company, record["Id"])
        record["Balance"] = 0.0
        kept = [link for link in record.get("LinkedTxn", []) if link.get("TxnType") != "Payment"]
        if kept:  # the payments are released; the estimate it came from stays named
            record["LinkedTxn"] = kept
        else:
            record.pop("LinkedTxn", None)
        if "HomeBalance" in record:
            record["HomeBalance"] = 0.0
            record["HomeTotalAmt"] = 0.0
    elif entity == "Payment":
        record["UnappliedAmt"] = 0.0
    return record


# -- Invoice ----------------------------------------------------------------------------------


def applied_total(company: Company, invoice_id: str, *, excluding: str | None = None) -> Decimal:
    return sum(
        (amount for pid, amount in company.applied.get(invoice_id, {}).items() if pid != excluding),
        Decimal(0),
    )


def invoice(
    company: Company,
    candidate: dict[str, Any],
    previous: dict[str, Any] | None,
    options: frozenset[str],
) -> dict[str, Any]:
    record = dict(candidate)
    customer = rules.active_ref(company, "Customer", record.get("CustomerRef"), "CustomerRef")
    record["CustomerRef"] = rules.named_ref(customer)
    kinds = ("SalesItemLineDetail", "DescriptionOnly", "DiscountLineDetail")
    lines, total = rules.sales_lines(company, record, kinds)
    record["Line"] = lines
    txn_date = optional_date(record, "TxnDate") or local_date(company.now())
    record["TxnDate"] = txn_date
    record["DueDate"] = optional_date(record, "DueDate") or txn_date
    optional_date(record, "ShipDate")
    rules.doc_number(company, "Invoice", record, previous, options)
    if len(str(record.get("PrivateNote") or "")) > wire.PRIVATE_NOTE_MAX:
        raise string_length("PrivateNote", wire.PRIVATE_NOTE_MAX, len(str(record["PrivateNote"])))
    currency, rate = rules.transaction_currency(company, record, customer, "customer")
    applied = applied_total(company, previous["Id"]) if previous is not None else Decimal(0)
    if total < applied:
        raise business_validation(
            f"The invoice total {money(total)} is less than the {money(applied)} already "
            "received in payments against it.",
            "Line",
        )
    record["TotalAmt"] = money(total)
    record["Balance"] = money(total - applied)
    if currency != rules.home_currency(company):
        record["HomeTotalAmt"] = money(total * rate)
        record["HomeBalance"] = money((total - applied) * rate)
    record["TxnTaxDetail"] = {"TotalTax": 0}
    record.setdefault("EmailStatus", "NotSet")
    record.setdefault("PrintStatus", "NotSet")
    if previous is not None:
        links = copy.deepcopy(previous.get("LinkedTxn") or [])
    else:
        links = _estimate_links(company, record.get("LinkedTxn"), customer["Id"])
    if links:
        record["LinkedTxn"] = links
    else:
        record.pop("LinkedTxn", None)
    for blank in ("CustomField",):
        if record.get(blank) == []:
            del record[blank]
    return rules.without_empty(record)


def _linked(
    company: Company, entity: str, link: dict[str, Any], customer_id: str, field: str, rule: str
) -> str:
    """The id of the ``entity`` a ``LinkedTxn`` names, checked to exist and to belong to
    ``customer_id`` (QuickBooks links a customer's documents only to each other)."""
    txn_id = str(link.get("TxnId") or "").strip()
    linked = company.get(entity, txn_id) if txn_id else None
    if linked is None:
        raise object_not_found(f"{field}.TxnId")
    if ref_value(linked.get("CustomerRef")) != customer_id:
        raise business_validation(
            f"{entity} {txn_id} belongs to another customer; {rule} its customer's "
            f"{entity.lower()}s.",
            field,
        )
    return txn_id


def _estimate_links(company: Company, raw: Any, customer_id: str) -> list[dict[str, Any]]:
    """The estimates a new invoice says it comes from, checked; any other link is the
    server's to make (payments link themselves) and is dropped."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise malformed_request("LinkedTxn must be an array of linked transactions.")
    links: list[dict[str, Any]] = []
    for link in raw:
        if not isinstance(link, dict):
            raise malformed_request("Each LinkedTxn must be an object.")
        if link.get("TxnType") != "Estimate":
            continue
        estimate_id = _linked(
            company, "Estimate", link, customer_id, "LinkedTxn", "an invoice can only be made from"
        )
        entry = {"TxnId": estimate_id, "TxnType": "Estimate"}
        if entry not in links:
            links.append(entry)
    return links


def close_estimates(company: Company, invoice: dict[str, Any]) -> None:
    """A new invoice made from estimates closes them, each linking the invoice back."""
    for link in invoice.get("LinkedTxn", []):
        if link.get("TxnType") != "Estimate":
            continue
        estimate = company.get("Estimate", link["TxnId"])
        if estimate is None:  # pragma: no cover - checked by the invoice rule
            continue
        updated = copy.deepcopy(estimate)
        updated["TxnStatus"] = "Closed"
        back = {"TxnId": invoice["Id"], "TxnType": "Invoice"}
        updated["LinkedTxn"] = [*updated.get("LinkedTxn", []), back]
        company.replace("Estimate", link["TxnId"], updated)


def unlink_invoice(company: Company, invoice_id: str) -> None:
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


def payment(
    company: Company, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    record = dict(candidate)
    customer = rules.active_ref(company, "Customer", record.get("CustomerRef"), "CustomerRef")
    record["CustomerRef"] = rules.named_ref(customer)
    if record.get("TotalAmt") in (None, ""):
        raise required_missing("TotalAmt")
    total = to_decimal(record["TotalAmt"], "TotalAmt")
    if total < 0:
        raise invalid_value("TotalAmt", "TotalAmt must not be negative.")
    lines, per_invoice = _payment_lines(company, record.get("Line") or [], customer["Id"])
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
    rules.transaction_currency(company, record, customer, "customer")
    if ref_value(record.get("DepositToAccountRef")) is not None:
        account = rules.active_ref(
            company, "Account", record["DepositToAccountRef"], "DepositToAccountRef"
        )
    else:
        account = rules.account_by_type(company, "Other Current Asset", "Undeposited Funds")
    record["DepositToAccountRef"] = rules.named_ref(account, "Name")
    record.setdefault("ProcessPayment", False)
    return rules.without_empty(record)


def _payment_lines(
    company: Company, raw_lines: Any, customer_id: str
) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    """A payment's lines, checked, and the amount they apply to each of the customer's
    invoices (a line may link several)."""
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
            invoice_id = _linked(
                company,
                "Invoice",
                link,
                customer_id,
                "Line.LinkedTxn",
                "a payment can only be applied to",
            )
            per_invoice[invoice_id] = per_invoice.get(invoice_id, Decimal(0)) + amount
        out = {k: copy.deepcopy(v) for k, v in line.items() if v is not None}
        out["Amount"] = money(amount)
        lines.append(out)
    return lines, per_invoice


def apply_payment(
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
    kept = [link for link in invoice.get("LinkedTxn", []) if link.get("TxnType") != "Payment"]
    links = kept + [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(payments, key=int)]
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


# -- PurchaseOrder ----------------------------------------------------------------------------


def purchase_order(
    company: Company, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    record = dict(candidate)
    vendor = rules.active_ref(company, "Vendor", record.get("VendorRef"), "VendorRef")
    record["VendorRef"] = rules.named_ref(vendor)
    if ref_value(record.get("APAccountRef")) is not None:
        account = rules.active_ref(company, "Account", record["APAccountRef"], "APAccountRef")
        if account.get("AccountType") != "Accounts Payable":
            raise business_validation(
                "APAccountRef must be an Accounts Payable account.", "APAccountRef"
            )
    else:
        account = rules.account_by_type(company, "Accounts Payable", "Accounts Payable (A/P)")
    record["APAccountRef"] = rules.named_ref(account, "Name")
    lines, total = rules.lines(
        company, record, ("ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail")
    )
    record["Line"] = lines
    status = str(record.get("POStatus") or "Open")
    if status not in wire.PO_STATUSES:
        raise invalid_value("POStatus", f"Invalid Enumeration : {status}")
    record["POStatus"] = status
    record["TxnDate"] = optional_date(record, "TxnDate") or local_date(company.now())
    optional_date(record, "DueDate")
    rules.doc_number(company, "PurchaseOrder", record, previous, frozenset())
    rules.transaction_currency(company, record, vendor, "vendor")
    record["TotalAmt"] = money(total)
    record.setdefault("EmailStatus", "NotSet")
    return rules.without_empty(record)


# -- Preferences ------------------------------------------------------------------------------


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def preferences(
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
