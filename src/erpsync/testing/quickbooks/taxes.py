"""``POST /taxservice/taxcode``: QuickBooks' one way to make a tax code.

TaxCode and TaxRate cannot be created directly (the catalogue allows them read and
query only); the tax service makes a TaxCode over new or existing TaxRates, each rate
filed with a TaxAgency, and answers unwrapped, as QuickBooks does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from erpsync.testing.quickbooks.errors import (
    business_validation,
    malformed_request,
    object_not_found,
    required_missing,
)
from erpsync.testing.quickbooks.query import Query, run_query
from erpsync.testing.quickbooks.values import number, ref_value, to_decimal

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company

__all__ = ["SYSTEM_CODES", "query_tax_codes", "tax_service"]


#: The system tax codes in the order QuickBooks lists them (Intuit's TaxCode sample).
SYSTEM_CODES = ("TAX", "NON", "CustomSalesTax")


def query_tax_codes(query: Query, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A TaxCode query as QuickBooks answers it in a US company: the system codes
    (``TAX``, ``NON``, ``CustomSalesTax``: their Ids are their names) come first, in
    that order and in full, outside ``MAXRESULTS``, then the company's own codes, paged.
    Intuit's TaxCode sample lists them so; its developer forum knows the paging as
    "setting maxresults on taxcode query returns incorrect number of records", and
    python-quickbooks' integration suite, run against a sandbox, expects it (one code
    asked for, four answered)."""
    if query.count:
        return run_query(query, records)
    system = [r for r in records if not str(r.get("Id", "")).isdigit()]
    own = [r for r in records if str(r.get("Id", "")).isdigit()]
    answer = run_query(query, own)
    if query.start_position > 1:
        return answer
    everything = replace(query, start_position=1, max_results=len(system) or 1)
    first = run_query(everything, system).get("TaxCode", [])
    if not query.order:
        known = {code: position for position, code in enumerate(SYSTEM_CODES)}
        first.sort(key=lambda r: known.get(str(r.get("Id")), len(known)))
    rows = [*first, *answer.get("TaxCode", [])]
    if not rows:
        return answer
    return {**answer, "TaxCode": rows, "startPosition": 1, "maxResults": len(rows)}


def tax_service(company: Company, body: Any, *, notify: bool = True) -> dict[str, Any]:
    """``POST /taxservice/taxcode``: a new TaxCode over new or existing TaxRates.

    Answered unwrapped, as QuickBooks does: ``{"TaxCode", "TaxCodeId", "TaxRateDetails"}``.
    ``notify=False`` (the seed company's own tax set-up) raises no webhook events.
    """
    if not isinstance(body, dict):
        raise malformed_request("The request body must be a TaxService object.")
    name = str(body.get("TaxCode") or "").strip()
    if not name:
        raise required_missing("TaxCode")
    if company.holders("TaxCode", name):
        raise business_validation(f"Duplicate tax code name: {name}", "TaxCode")
    details = body.get("TaxRateDetails")
    if not isinstance(details, list) or not details:
        raise required_missing("TaxRateDetails")
    answered = [_tax_rate(company, detail, notify) for detail in details]
    code = company.insert(
        "TaxCode",
        {
            "Name": name,
            "Description": name,
            "Active": True,
            "Taxable": True,
            "TaxGroup": True,
            "SalesTaxRateList": {
                "TaxRateDetail": [
                    {
                        "TaxRateRef": {"value": d["TaxRateId"], "name": d["TaxRateName"]},
                        "TaxTypeApplicable": "TaxOnAmount",
                        "TaxOrder": 0,
                    }
                    for d in answered
                    if d["TaxApplicableOn"] == "Sales"
                ]
            },
            "PurchaseTaxRateList": {"TaxRateDetail": []},
        },
        notify=notify,
    )
    return {"TaxCode": name, "TaxCodeId": code["Id"], "TaxRateDetails": answered}


def _tax_rate(company: Company, detail: Any, notify: bool) -> dict[str, Any]:
    """One TaxRateDetails entry: an existing rate by TaxRateId, or a new one."""
    if not isinstance(detail, dict):
        raise malformed_request("Each TaxRateDetails entry must be an object.")
    applies = str(detail.get("TaxApplicableOn") or "Sales")
    if detail.get("TaxRateId") not in (None, "", 0):
        rate = company.get("TaxRate", str(detail["TaxRateId"]))
        if rate is None:
            raise object_not_found("TaxRateDetails.TaxRateId")
    else:
        name = str(detail.get("TaxRateName") or "").strip()
        if not name:
            raise required_missing("TaxRateDetails.TaxRateName")
        if detail.get("RateValue") in (None, ""):
            raise required_missing("TaxRateDetails.RateValue")
        value = to_decimal(detail["RateValue"], "TaxRateDetails.RateValue")
        agency = company.get("TaxAgency", str(detail.get("TaxAgencyId") or ""))
        if agency is None:
            raise object_not_found("TaxRateDetails.TaxAgencyId")
        rate = company.insert(
            "TaxRate",
            {
                "Name": name,
                "Description": name,
                "Active": True,
                "RateValue": number(value),
                "AgencyRef": {"value": agency["Id"]},
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            },
            notify=notify,
        )
    return {
        "TaxRateName": rate["Name"],
        "TaxRateId": rate["Id"],
        "RateValue": rate["RateValue"],
        "TaxAgencyId": ref_value(rate.get("AgencyRef")),
        "TaxApplicableOn": applies,
    }
