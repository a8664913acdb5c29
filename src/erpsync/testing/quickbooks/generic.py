"""The one handler every entity's writes go through, driven by the catalogue.

:func:`normalize` reads the entity's :class:`~.catalogue.EntitySpec` and applies what
the table says (required fields, references that must exist and be active, line detail
types, the unique key, the default transaction date, computed totals), then the
entity's hook for the rules no table can say. The entities whose rules predate the
catalogue (customers, vendors and employees, items, invoices, payments, purchase
orders, preferences) keep their hand-written normalizers in :mod:`.parties` and :mod:`.sales`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpsync.quickbooks import wire
from erpsync.testing.quickbooks import books, exchange, parties, rules, sales
from erpsync.testing.quickbooks.catalogue import ENTITIES, EntitySpec
from erpsync.testing.quickbooks.clock import local_date
from erpsync.testing.quickbooks.errors import (
    duplicate_name,
    invalid_value,
    required_missing,
    string_length,
)
from erpsync.testing.quickbooks.values import money, optional_date, ref_value

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company

__all__ = ["after_delete", "after_write", "normalize", "voided"]

Legacy = Callable[
    ["Company", str, dict[str, Any], "dict[str, Any] | None", frozenset[str]], dict[str, Any]
]

_LEGACY: dict[str, Legacy] = {
    "party": lambda c, e, r, p, o: parties.name_entity(c, e, r, p),
    "item": lambda c, e, r, p, o: parties.item(c, r, p),
    "invoice": lambda c, e, r, p, o: sales.invoice(c, r, p, o),
    "payment": lambda c, e, r, p, o: sales.payment(c, r, p),
    "purchase_order": lambda c, e, r, p, o: sales.purchase_order(c, r, p),
    "prefs": lambda c, e, r, p, o: sales.preferences(c, r, p),
}


def normalize(
    company: Company,
    entity: str,
    candidate: dict[str, Any],
    previous: dict[str, Any] | None,
    options: frozenset[str],
) -> dict[str, Any]:
    """What QuickBooks stores for ``candidate`` (``previous`` is None on create)."""
    spec = ENTITIES[entity]
    legacy = _LEGACY.get(spec.rule)
    if legacy is not None:
        return legacy(company, entity, candidate, previous, options)
    record = {k: v for k, v in candidate.items() if v not in ("", None, [])}
    for name in spec.required:
        if str(record.get(name) or "").strip() == "":
            raise required_missing(name)
    for name, target in spec.refs:
        if ref_value(record.get(name)) is not None:
            found = rules.active_ref(company, target, record[name], name)
            record[name] = rules.named_ref(found, _name_field(target))
        else:
            record.pop(name, None)
    total = _lines(company, spec, record)
    _key(company, spec, record, previous)
    if spec.name_list:
        record["Active"] = record.get("Active", True) not in (False, "false")
        record["FullyQualifiedName"] = record["Name"]
    if "TxnDate" in spec.filterable:
        record["TxnDate"] = optional_date(record, "TxnDate") or local_date(company.now())
    hook = books.HOOKS.get(spec.rule)
    if hook is not None:
        record = hook(company, record, previous, total)
    elif total is not None:
        record["TotalAmt"] = money(total)
    return rules.without_empty(record)


def _name_field(entity: str) -> str:
    key = ENTITIES[entity].key_field
    return key if key in ("Name", "DisplayName") else "Name"


def _lines(company: Company, spec: EntitySpec, record: dict[str, Any]) -> Decimal | None:
    """Check and number the lines; the total of their amounts (discounts subtracted)."""
    if not spec.lines:
        return None
    if not spec.lines_required and not record.get("Line"):
        record.pop("Line", None)
        return Decimal(0)
    if "SalesItemLineDetail" in spec.lines:
        lines, total = rules.sales_lines(company, record, spec.lines)
        record["TxnTaxDetail"] = {"TotalTax": 0}  # as on invoices: tax is not computed
    else:
        lines, total = rules.lines(company, record, spec.lines)
    record["Line"] = lines
    return total


def _key(
    company: Company, spec: EntitySpec, record: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    """The unique key: a document number's length, or a name unique in its scope."""
    key = spec.key_field
    if key is None or record.get(key) in (None, ""):
        return
    value = str(record[key]).strip()
    if key == "DocNumber":
        if len(value) > wire.DOC_NUMBER_MAX:
            raise string_length(key, wire.DOC_NUMBER_MAX, len(value))
        return
    if ":" in value:
        raise invalid_value(key, "The name can't contain a colon (:).")
    for entity in spec.key_scope or (spec.name,):
        holders = company.holders(entity, value)
        if previous is not None and entity == spec.name:
            holders.discard(previous["Id"])
        if holders:
            raise duplicate_name(_kind(entity))
    record[key] = value


def _kind(entity: str) -> str:
    """How a duplicate-name fault names the holder ("customer", "tax agency")."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in entity).strip()


def after_write(
    company: Company, entity: str, stored: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    """Cross-record effects of a committed write."""
    if entity == "Payment":
        sales.apply_payment(company, stored, previous)
    elif entity == "BillPayment":
        books.apply_bill_payment(company, stored, previous)
    elif entity == "Preferences" and rules.multicurrency(company):
        exchange.seed_rates(company)  # turning multicurrency on brings today's rates


def after_delete(company: Company, entity: str, previous: dict[str, Any]) -> None:
    if entity == "Payment":
        sales.apply_payment(company, None, previous)
    elif entity == "BillPayment":
        books.apply_bill_payment(company, None, previous)
    elif entity == "Invoice":
        sales.unlink_invoice(company, previous["Id"])


def voided(company: Company, entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as QuickBooks keeps it after a void: zero amounts, a note, same number."""
    return sales.voided(company, entity, copy.deepcopy(record))
