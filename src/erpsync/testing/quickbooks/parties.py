"""Customers, vendors, employees and items: the name rules.

* Customer, Vendor, Employee: ``DisplayName`` unique across all three, case-insensitive
  (6240 naming who holds it); no colon in names; ``CurrencyRef`` defaults to the home
  currency, may be foreign only with multicurrency on, and never changes once set;
  ``Active: false`` is QuickBooks' delete and renames the record ``"X (deleted)"``, which
  frees the name; a customer's ``Balance`` is its open invoices less unapplied payments
  (kept by :class:`~.company.Company` as transactions change).
* Item: ``Name`` unique among items; ``Type`` Service / NonInventory / Inventory with the
  accounts each needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erpsync.quickbooks import wire
from erpsync.testing.quickbooks import rules
from erpsync.testing.quickbooks.errors import (
    business_validation,
    duplicate_item_name,
    duplicate_name,
    invalid_value,
    required_missing,
    string_length,
)
from erpsync.testing.quickbooks.rules import DELETED_SUFFIX
from erpsync.testing.quickbooks.values import number, optional_date, ref_value, to_decimal

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company


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


def deleted_name(name: str, active: bool, previous: dict[str, Any] | None) -> str:
    """``name`` as QuickBooks shows it: ``"X (deleted)"`` once made inactive, and back to
    ``"X"`` when made active again (which is why a deleted name is free for reuse)."""
    was_active = previous is None or previous.get("Active", True) is not False
    if not active and was_active and not name.endswith(DELETED_SUFFIX):
        return name + DELETED_SUFFIX
    if active and not was_active and name.endswith(DELETED_SUFFIX):
        return name[: -len(DELETED_SUFFIX)]
    return name


def name_entity(
    company: Company, entity: str, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    record = dict(candidate)
    active = record.get("Active", True) not in (False, "false")
    record["Active"] = active
    name = deleted_name(_display_name(record), active, previous)
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
        return rules.without_empty(record)
    record["CurrencyRef"] = rules.currency_ref(_party_currency(company, entity, record, previous))
    optional_date(record, "OpenBalanceDate")
    balance = previous.get("Balance", 0.0) if previous is not None else 0.0
    record["Balance"] = balance
    if entity == "Customer":
        record.setdefault("Job", False)
        record.setdefault("BillWithParent", False)
        record.setdefault("Taxable", False)
        if not str(record.get("PreferredDeliveryMethod") or "").strip():
            record["PreferredDeliveryMethod"] = "Print"
        record["FullyQualifiedName"] = name
        record["BalanceWithJobs"] = balance
    else:
        record.setdefault("Vendor1099", False)
    return rules.without_empty(record)


def _party_currency(
    company: Company, entity: str, record: dict[str, Any], previous: dict[str, Any] | None
) -> str:
    """A customer's or vendor's currency: the home one by default, foreign only with
    multicurrency on, and never changed once set."""
    home = rules.home_currency(company)
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
    elif currency != home and not rules.multicurrency(company):
        raise business_validation(
            f"Currency {currency} is not allowed: multicurrency is not turned on in this company.",
            "CurrencyRef",
        )
    return currency


# -- Item -------------------------------------------------------------------------------------

_ITEM_TYPES = ("Service", "NonInventory", "Inventory")


def item(
    company: Company, candidate: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    record = dict(candidate)
    name = rules.required_text(record, "Name")
    active = record.get("Active", True) not in (False, "false")
    name = deleted_name(name, active, previous)
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
        account = rules.active_ref(company, "Account", record.get(field_name), field_name)
        record[field_name] = rules.named_ref(account, "Name")
    if ref_value(record.get("ExpenseAccountRef")) and "ExpenseAccountRef" not in needed:
        account = rules.active_ref(
            company, "Account", record["ExpenseAccountRef"], "ExpenseAccountRef"
        )
        record["ExpenseAccountRef"] = rules.named_ref(account, "Name")
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
    return rules.without_empty(record)
