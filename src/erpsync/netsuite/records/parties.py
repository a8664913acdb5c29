"""NetSuite customers and vendors <-> models (one mapping: both are companies with a
display name, an email and a currency).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from erpsync.models import (
    Customer,
    Vendor,
)
from erpsync.netsuite.values import (
    WireReader,
    currency_code,
    currency_ref,
    put,
    usable_external_id,
)

# -- customers and vendors ---------------------------------------------------------------


def _party_to_wire(
    party: Customer | Vendor,
    kind: str,
    *,
    external_id: str | None,
    subsidiary_id: str | None,
    currency_ids: Mapping[str, str] | None,
) -> dict[str, Any]:
    record = f"{kind} {external_id or party.name}"
    body: dict[str, Any] = {"companyName": party.name}
    put(body, "email", party.email)
    put(body, "externalId", external_id)
    if subsidiary_id is not None:
        body["subsidiary"] = {"id": subsidiary_id}
    put(body, "currency", currency_ref(party.currency, currency_ids, record))
    return body


def customer_to_wire(
    customer: Customer,
    *,
    external_id: str | None = None,
    subsidiary_id: str | None = None,
    currency_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``customer`` body (a company: ``companyName`` is the display name)."""
    return _party_to_wire(
        customer,
        "customer",
        external_id=external_id or customer.external_id,
        subsidiary_id=subsidiary_id,
        currency_ids=currency_ids,
    )


def vendor_to_wire(
    vendor: Vendor,
    *,
    external_id: str | None = None,
    subsidiary_id: str | None = None,
    currency_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``vendor`` body."""
    return _party_to_wire(
        vendor,
        "vendor",
        external_id=external_id or vendor.external_id,
        subsidiary_id=subsidiary_id,
        currency_ids=currency_ids,
    )


def _display_name(reader: WireReader) -> str:
    for field in ("companyName", "companyname", "altName", "altname"):
        value = reader.text(field)
        if value:
            return value
    first = reader.text("firstName") or reader.text("firstname")
    last = reader.text("lastName") or reader.text("lastname")
    if first or last:
        return " ".join(p for p in (first, last) if p)
    value = reader.text("entityId") or reader.text("entityid")
    if value:
        return value
    reader.fail("companyName", "is missing (and so are the other name fields)")


def _party_from(
    factory: type[Customer] | type[Vendor],
    kind: str,
    data: Any,
    currencies: Mapping[str, str],
) -> Any:
    reader = WireReader(data, f"{kind} {data.get('id') if isinstance(data, Mapping) else '?'}")
    currency_id = reader.ref_id("currency")
    ref_name = None
    currency_value = reader.data.get("currency")
    if isinstance(currency_value, Mapping):
        name = currency_value.get("refName")
        ref_name = name if isinstance(name, str) else None
    return reader.build(
        factory,
        id=reader.required_text("id"),
        external_id=usable_external_id(reader.text("externalId") or reader.text("externalid")),
        name=_display_name(reader),
        email=reader.text("email"),
        currency=currency_code(currencies, currency_id, reader, "currency", ref_name),
        updated_at=reader.timestamp("lastModifiedDate") or reader.timestamp("lastmodified"),
    )


def customer_from_wire(data: Any, currencies: Mapping[str, str]) -> Customer:
    """A customer from its REST record."""
    customer: Customer = _party_from(Customer, "customer", data, currencies)
    return customer


def vendor_from_wire(data: Any, currencies: Mapping[str, str]) -> Vendor:
    """A vendor from its REST record."""
    vendor: Vendor = _party_from(Vendor, "vendor", data, currencies)
    return vendor


def customer_from_row(row: Any, currencies: Mapping[str, str]) -> Customer:
    """A customer from a SuiteQL row (see ``backend._PARTY_COLUMNS``)."""
    return customer_from_wire(row, currencies)


def vendor_from_row(row: Any, currencies: Mapping[str, str]) -> Vendor:
    """A vendor from a SuiteQL row."""
    return vendor_from_wire(row, currencies)
