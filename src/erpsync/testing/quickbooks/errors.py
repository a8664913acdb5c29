"""The error bodies of QuickBooks Online, in the three shapes the real service uses.

Clients are judged by how they cope with these, so each shape is reproduced exactly as
WIRE.md records it: the standard ``Fault`` envelope (capitalised keys, ISO ``time``),
the lower-case 401/403 envelope (epoch-millisecond ``time``), and the XML 429 that
arrives even when JSON was asked for. Wording whose exact text could not be confirmed
from public reports (batch size, MAXRESULTS, over-application) follows the same shape
and the same style as the confirmed ones.

Business rules raise :class:`QboFault`; the HTTP layer turns it into a body, and batch
turns it into an item ``Fault`` answered with HTTP 200. Every code and message the
emulator answers lives in one table here (:data:`FAULTS` for the standard envelope, the
OAuth bodies below it), so no module writes a code as a literal: :func:`fault` builds
one from its table entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple

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


class FaultKind(NamedTuple):
    """One row of :data:`FAULTS`: the code, the ``Message`` and how it is answered."""

    code: str
    message: str
    status: int = 400
    fault_type: str = "ValidationFault"


_BUSINESS = "A business validation error has occurred while processing your request"

#: Every standard ``Fault`` the emulator answers, by name: code, Message, status, type.
FAULTS: Final[dict[str, FaultKind]] = {
    "system": FaultKind(
        wire.SYSTEM_FAULT,
        "An application error has occurred while processing your request",
        500,
        "SystemFault",
    ),
    "duplicate_name": FaultKind(wire.DUPLICATE_NAME, "Duplicate Name Exists Error"),
    "duplicate_doc_number": FaultKind(wire.DUPLICATE_DOC_NUMBER, "Duplicate Document Number Error"),
    "stale_object": FaultKind(wire.STALE_OBJECT, "Stale Object Error"),
    "object_not_found": FaultKind(wire.OBJECT_NOT_FOUND, "Object Not Found"),
    "required_missing": FaultKind(
        wire.REQUIRED_PARAM_MISSING,
        "Required param missing, need to supply the required value for the API",
    ),
    "invalid_value": FaultKind(wire.INVALID_VALUE, "Invalid or unsupported value"),
    "malformed_request": FaultKind(
        wire.INVALID_VALUE, "Request has invalid or unsupported property"
    ),
    "string_length": FaultKind(
        wire.STRING_LENGTH,
        "String length is either shorter or longer than supported by specification",
    ),
    "business_validation": FaultKind(wire.BUSINESS_VALIDATION, _BUSINESS),
    "amount_mismatch": FaultKind(wire.AMOUNT_MISMATCH, _BUSINESS),
    "unsupported_operation": FaultKind(wire.UNSUPPORTED_OPERATION, "Unsupported Operation"),
    "request_limit": FaultKind(
        wire.REQUEST_LIMIT, "Batch request exceeds the maximum number of items"
    ),
    "query_parser": FaultKind(wire.QUERY_PARSER_ERROR, "Error parsing query"),
    "query_validation": FaultKind(wire.QUERY_VALIDATION_ERROR, "Invalid query"),
}

#: The three ``invalid_grant`` bodies of the token endpoint, word for word (WIRE.md).
INCORRECT_REFRESH: Final = {
    "error": "invalid_grant",
    "error_description": "Incorrect or invalid refresh token",
}
EXPIRED_OR_REVOKED: Final = {
    "error": "invalid_grant",
    "error_description": "Token has been expired or revoked.",
}
BARE_INVALID_GRANT: Final = {"error": "invalid_grant"}

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


def fault(kind: str, detail: str, element: str = "") -> QboFault:
    """The :data:`FAULTS` entry ``kind`` with this ``detail``."""
    row = FAULTS[kind]
    return QboFault(
        row.message,
        detail,
        row.code,
        element=element,
        status=row.status,
        fault_type=row.fault_type,
    )


def system_failure() -> QboFault:
    return fault(
        "system",
        "System Failure Error: An unexpected error occurred while accessing or saving your "
        "data. Please wait a few minutes and try again. If the problem persists, contact "
        "customer support.",
    )


def duplicate_name(other_kind: str) -> QboFault:
    """6240; ``other_kind`` names who holds the name ("customer", "vendor"). The detail
    is WIRE.md's, byte for byte."""
    return fault(
        "duplicate_name",
        f"The name supplied already exists. : Another {other_kind} is already using this name.",
    )


def duplicate_item_name(name: str) -> QboFault:
    return fault(
        "duplicate_name",
        f"The name supplied already exists. : Another product or service is already using "
        f"this name: {name}. Please use a different name.",
    )


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> QboFault:
    """6140, naming the transaction that already holds the number (clients parse it)."""
    return fault(
        "duplicate_doc_number",
        "Duplicate Document Number Error : You must specify a different number. This number "
        f"has already been used. DocNumber={doc_number} is assigned to TxnType={txn_type} "
        f"with TxnId={txn_id}",
    )


def stale_object() -> QboFault:
    return fault(
        "stale_object",
        "Stale Object Error : You and root were working on this at the same time. root "
        "finished before you did, so your work was not saved.",
    )


def object_not_found(element: str = "") -> QboFault:
    return fault("object_not_found", f"Object Not Found : {_INACTIVE}", element)


def required_missing(name: str) -> QboFault:
    return fault("required_missing", f"Required parameter {name} is missing in the request", name)


def invalid_value(name: str, detail: str) -> QboFault:
    return fault("invalid_value", detail, name)


def string_length(name: str, maximum: int, supplied: int) -> QboFault:
    return fault(
        "string_length",
        f"String length specified does not match the supported length. Min:0 Max:{maximum} "
        f"supplied length:{supplied}",
        name,
    )


def business_validation(detail: str, element: str = "") -> QboFault:
    return fault("business_validation", f"Business Validation Error: {detail}", element)


def amount_mismatch(amount: float) -> QboFault:
    """6070: a line's Amount is not its UnitPrice times its Qty."""
    return fault(
        "amount_mismatch",
        "Business Validation Error: Amount is not equal to UnitPrice * Qty. "
        f"Supplied value:{amount}",
        "Line.Amount",
    )


def unsupported_operation(operation: str) -> QboFault:
    return fault("unsupported_operation", f"Operation {operation} is not supported.")


def batch_too_large(items: int, limit: int) -> QboFault:
    return fault(
        "request_limit",
        f"A batch can hold at most {limit} BatchItemRequest items; this one has {items}.",
    )


def malformed_request(detail: str) -> QboFault:
    return fault("malformed_request", detail)


def query_parser_error(detail: str) -> QboFault:
    return fault("query_parser", f"QueryParserError: {detail}")


def query_validation_error(detail: str) -> QboFault:
    return fault("query_validation", f"QueryValidationError: {detail}")
