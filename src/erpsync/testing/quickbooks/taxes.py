"""``POST /taxservice/taxcode``: QuickBooks' one way to make a tax code.

TaxCode and TaxRate cannot be created directly (the catalogue allows them read and
query only); the tax service makes a TaxCode over new or existing TaxRates, each rate
filed with a TaxAgency, and answers unwrapped, as QuickBooks does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erpsync.testing.quickbooks.errors import (
    business_validation,
    malformed_request,
    object_not_found,
    required_missing,
)
from erpsync.testing.quickbooks.values import number, ref_value, to_decimal

if TYPE_CHECKING:
    from erpsync.testing.quickbooks.company import Company

__all__ = ["tax_service"]


def tax_service(company: Company, body: Any) -> dict[str, Any]:
    """``POST /taxservice/taxcode``: a new TaxCode over new or existing TaxRates.

    Answered unwrapped, as QuickBooks does: ``{"TaxCode", "TaxCodeId", "TaxRateDetails"}``.
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
    answered = [_tax_rate(company, detail) for detail in details]
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
    )
    return {"TaxCode": name, "TaxCodeId": code["Id"], "TaxRateDetails": answered}


def _tax_rate(company: Company, detail: Any) -> dict[str, Any]:
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
        )
    return {
        "TaxRateName": rate["Name"],
        "TaxRateId": rate["Id"],
        "RateValue": rate["RateValue"],
        "TaxAgencyId": ref_value(rate.get("AgencyRef")),
        "TaxApplicableOn": applies,
    }
