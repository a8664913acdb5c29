"""ExchangeRate: the rate of a foreign currency to the home currency, on a date.

QuickBooks keeps one rate per currency and date once multicurrency is on (turning it
on here seeds today's rate of every currency the emulator knows, from a fixed table).
``GET /exchangerate?sourcecurrencycode=EUR&asofdate=2026-11-03`` answers the rate in
force that day (the latest on or before it); ``POST /exchangerate`` sets the rate of a
day (a ``SyncToken`` is needed to change an existing one, 5010 when stale); queries
filter on ``SourceCurrencyCode`` and ``AsOfDate``. A foreign-currency transaction that
sends no ``ExchangeRate`` gets the rate of its ``TxnDate``, as QuickBooks does.

Rates are stored as ordinary records (so queries and CDC see them) but answered
without the ``Id`` QuickBooks does not show for this entity.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpsync.testing.quickbooks import rules
from erpsync.testing.quickbooks.clock import local_date
from erpsync.testing.quickbooks.errors import (
    business_validation,
    invalid_value,
    malformed_request,
    object_not_found,
    required_missing,
    stale_object,
)
from erpsync.testing.quickbooks.values import number, optional_date, to_decimal

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company

__all__ = ["USD_RATES", "answer", "rate_for", "read", "seed_rates", "update"]

ENTITY = "ExchangeRate"

#: Units of USD one unit of each currency buys: the seed (fixed, not a market feed).
USD_RATES: dict[str, Decimal] = {
    "USD": Decimal(1),
    "CAD": Decimal("0.73"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "AUD": Decimal("0.66"),
    "MXN": Decimal("0.058"),
    "JPY": Decimal("0.0067"),
}


def answer(record: dict[str, Any]) -> dict[str, Any]:
    """A stored rate as QuickBooks shows it (no ``Id``)."""
    return {k: copy.deepcopy(v) for k, v in record.items() if k != "Id"}


def _require_multicurrency(company: Company) -> None:
    if not rules.multicurrency(company):
        raise business_validation(
            "Exchange rates are available only when multicurrency is turned on.", "ExchangeRate"
        )


def _stored(company: Company, code: str, as_of: str) -> dict[str, Any] | None:
    """The latest stored rate of ``code`` on or before ``as_of`` (an ISO date)."""
    best: dict[str, Any] | None = None
    for record in company.records[ENTITY].values():
        if record.get("SourceCurrencyCode") != code or record.get("AsOfDate", "") > as_of:
            continue
        if best is None or record["AsOfDate"] > best["AsOfDate"]:
            best = record
    return best


def _code(raw: Any, element: str) -> str:
    code = str(raw or "").strip().upper()
    if not code:
        raise required_missing(element)
    if code not in rules.CURRENCY_NAMES:
        raise invalid_value(element, f"Invalid currency code : {code}")
    return code


def read(company: Company, source: str | None, as_of: str | None) -> dict[str, Any]:
    """``GET /exchangerate?sourcecurrencycode=..&asofdate=..`` (today by default)."""
    _require_multicurrency(company)
    code = _code(source, "sourcecurrencycode")
    holder = {"asofdate": as_of or local_date(company.now())}
    day = optional_date(holder, "asofdate") or local_date(company.now())
    found = _stored(company, code, day)
    if found is None:
        raise object_not_found("sourcecurrencycode")
    return answer(found)


def update(company: Company, body: Any) -> dict[str, Any]:
    """``POST /exchangerate``: set the rate of one currency on one day."""
    _require_multicurrency(company)
    if not isinstance(body, dict):
        raise malformed_request("The request body must be an ExchangeRate object.")
    code = _code(body.get("SourceCurrencyCode"), "SourceCurrencyCode")
    home = rules.home_currency(company)
    target = str(body.get("TargetCurrencyCode") or home).strip().upper()
    if target != home or code == home:
        raise business_validation(
            f"An exchange rate converts a foreign currency to the home currency ({home}).",
            "TargetCurrencyCode",
        )
    if body.get("Rate") in (None, ""):
        raise required_missing("Rate")
    rate = to_decimal(body["Rate"], "Rate")
    if rate <= 0:
        raise invalid_value("Rate", "Rate must be greater than zero.")
    day = optional_date(dict(body), "AsOfDate") or local_date(company.now())
    fields = {
        "SourceCurrencyCode": code,
        "TargetCurrencyCode": home,
        "Rate": number(rate),
        "AsOfDate": day,
    }
    existing = _stored(company, code, day)
    if existing is None or existing["AsOfDate"] != day:
        return answer(company.insert(ENTITY, fields))
    if str(body.get("SyncToken", "")).strip() != existing["SyncToken"]:
        raise stale_object()
    return answer(company.replace(ENTITY, existing["Id"], fields))


def seed_rates(company: Company) -> None:
    """Today's rate of every known currency against the home one (multicurrency on)."""
    home = rules.home_currency(company)
    day = local_date(company.now())
    home_usd = USD_RATES.get(home, Decimal(1))
    for code, usd in USD_RATES.items():
        if code == home or _stored(company, code, day) is not None:
            continue
        rate = (usd / home_usd).quantize(Decimal("0.000001"))
        company.insert(
            ENTITY,
            {
                "SourceCurrencyCode": code,
                "TargetCurrencyCode": home,
                "Rate": number(rate.normalize()),
                "AsOfDate": day,
            },
            notify=False,
        )


def rate_for(company: Company, code: str, day: str) -> Decimal | None:
    """The stored rate of ``code`` in force on ``day``, if any."""
    found = _stored(company, code, day)
    return None if found is None else to_decimal(found["Rate"], "Rate")
