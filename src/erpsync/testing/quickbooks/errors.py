"""The error bodies of QuickBooks Online, in the three shapes the real service uses.

Clients are judged by how they cope with these, so each shape is reproduced exactly as
WIRE.md records it: the standard ``Fault`` envelope (capitalised keys, ISO ``time``),
the lower-case 401/403 envelope (epoch-millisecond ``time``), and the XML 429 that
arrives even when JSON was asked for. Wording whose exact text could not be confirmed
from public reports (batch size, MAXRESULTS, over-application) follows the same shape
and the same style as the confirmed ones.

Business rules raise :class:`QboFault`; the HTTP layer turns it into a body, and batch
turns it into an item ``Fault`` answered with HTTP 200.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from erpsync.quickbooks import wire
from erpsync.testing.quickbooks.clock import epoch_ms, iso_ms

#: The 429 body byte for byte as WIRE.md gives it (note the two spaces in the detail):
#: XML even when JSON was asked for.
THROTTLE_XML = (
    '<IntuitResponse><Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail>"
    "</Error></Fault></IntuitResponse>"
)

_INACTIVE = (
    "Something you're trying to use has been made inactive. Check the fields with "
    "accounts, customers, items, vendors or employees."
)


class QboFault(Exception):
    """A rejection in the standard ``Fault`` shape, raised by the business rules."""

    def __init__(
        self,
        message: str,
        detail: str,
        code: str,
        *,
        element: str = "",
        status: int = 400,
        fault_type: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.message = message
        self.detail = detail
        self.code = code
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def fault(self) -> dict[str, Any]:
        """The inner ``Fault`` object (what a batch item carries)."""
        return {
            "Error": [
                {
                    "Message": self.message,
                    "Detail": self.detail,
                    "code": self.code,
                    "element": self.element,
                }
            ],
            "type": self.fault_type,
        }

    def body(self, now: datetime) -> dict[str, Any]:
        """The whole response body."""
        return {"Fault": self.fault(), "time": iso_ms(now)}


def lower_case_fault(
    message: str, detail: str | None, code: str, fault_type: str, now: datetime
) -> dict[str, Any]:
    """The lower-case envelope the gateway uses for 401 and 403 (epoch-ms ``time``)."""
    return {
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code}],
            "type": fault_type,
        },
        "time": epoch_ms(now),
    }


def authentication_failed(detail: str, now: datetime) -> dict[str, Any]:
    """The 401 body for a missing, malformed, expired or revoked bearer token."""
    return lower_case_fault(
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail,
        wire.AUTHENTICATION_FAILED,
        "AUTHENTICATION",
        now,
    )


def authorization_failed(now: datetime) -> dict[str, Any]:
    """The 403 body for a token used against a company it was not issued for."""
    return lower_case_fault(
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        None,
        wire.AUTHORIZATION_FAILED,
        "SERVICE",
        now,
    )


# -- the standard faults the business rules raise ---------------------------------------


def system_failure() -> QboFault:
    return QboFault(
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your "
        "data. Please wait a few minutes and try again. If the problem persists, contact "
        "customer support.",
        wire.SYSTEM_FAULT,
        status=500,
        fault_type="SystemFault",
    )


def duplicate_name(other_kind: str) -> QboFault:
    """6240; ``other_kind`` names who holds the name ("customer", "vendor"). The detail
    is WIRE.md's, byte for byte."""
    return QboFault(
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {other_kind} is already using this name.",
        wire.DUPLICATE_NAME,
    )


def duplicate_item_name(name: str) -> QboFault:
    return QboFault(
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another product or service is already using "
        f"this name: {name}. Please use a different name.",
        wire.DUPLICATE_NAME,
    )


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> QboFault:
    """6140, naming the transaction that already holds the number (clients parse it)."""
    return QboFault(
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number "
        f"has already been used. DocNumber={doc_number} is assigned to TxnType={txn_type} "
        f"with TxnId={txn_id}",
        wire.DUPLICATE_DOC_NUMBER,
    )


def stale_object() -> QboFault:
    return QboFault(
        "Stale Object Error",
        "Stale Object Error : You and root were working on this at the same time. root "
        "finished before you did, so your work was not saved.",
        wire.STALE_OBJECT,
    )


def object_not_found(element: str = "") -> QboFault:
    return QboFault(
        "Object Not Found",
        f"Object Not Found : {_INACTIVE}",
        wire.OBJECT_NOT_FOUND,
        element=element,
    )


def required_missing(name: str) -> QboFault:
    return QboFault(
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        "2020",
        element=name,
    )


def invalid_value(name: str, detail: str) -> QboFault:
    return QboFault("Invalid or unsupported value", detail, "2010", element=name)


def string_length(name: str, maximum: int, supplied: int) -> QboFault:
    return QboFault(
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{maximum} "
        f"supplied length:{supplied}",
        "2050",
        element=name,
    )


def business_validation(detail: str, element: str = "") -> QboFault:
    return QboFault(
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        "6000",
        element=element,
    )


def unsupported_operation(operation: str) -> QboFault:
    return QboFault("Unsupported Operation", f"Operation {operation} is not supported.", "500")


def malformed_request(detail: str) -> QboFault:
    return QboFault("Request has invalid or unsupported property", detail, "2010")


def query_parser_error(detail: str) -> QboFault:
    return QboFault("Error parsing query", f"QueryParserError: {detail}", wire.QUERY_PARSER_ERROR)


def query_validation_error(detail: str) -> QboFault:
    return QboFault("Invalid query", f"QueryValidationError: {detail}", wire.QUERY_VALIDATION_ERROR)
