"""QuickBooks customers and vendors <-> models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from erpsync.models import (
    Customer,
    Vendor,
)
from erpsync.quickbooks.records.notes import external_id_in, with_external_id
from erpsync.quickbooks.values import (
    WireReader,
    put,
)

# -- names ---------------------------------------------------------------------------------

_P = TypeVar("_P", Customer, Vendor)


def _party_from(
    wire: Any, entity: str, factory: type[_P], home_currency: str, *, marked: bool
) -> _P:
    """A customer or vendor: the same fields; only customers carry a ``Notes`` marker."""
    r = WireReader(wire, entity)
    email = r.data.get("PrimaryEmailAddr")
    return r.build(
        factory,
        id=r.text("Id", required=True),
        external_id=external_id_in(r.data.get("Notes")) if marked else None,
        name=r.text("DisplayName", required=True),
        email=str(email["Address"])
        if isinstance(email, Mapping) and email.get("Address")
        else None,
        currency=r.currency(home_currency),
        updated_at=r.updated_at(),
    )


def customer_from_wire(wire: Any, *, home_currency: str = "USD") -> Customer:
    return _party_from(wire, "Customer", Customer, home_currency, marked=True)


def customer_to_wire(customer: Customer) -> dict[str, Any]:
    """A create body; the external id goes into ``Notes`` as a marker line."""
    body: dict[str, Any] = {"DisplayName": customer.name}
    if customer.email:
        body["PrimaryEmailAddr"] = {"Address": customer.email}
    body["CurrencyRef"] = {"value": customer.currency}
    notes = with_external_id(None, customer.external_id)
    put(body, "Notes", notes)
    return body


def vendor_from_wire(wire: Any, *, home_currency: str = "USD") -> Vendor:
    return _party_from(wire, "Vendor", Vendor, home_currency, marked=False)


def vendor_to_wire(vendor: Vendor) -> dict[str, Any]:
    body: dict[str, Any] = {"DisplayName": vendor.name, "CurrencyRef": {"value": vendor.currency}}
    if vendor.email:
        body["PrimaryEmailAddr"] = {"Address": vendor.email}
    return body
