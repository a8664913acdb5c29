"""NetSuite's REST error body, and the exception the emulator raises to produce one.

Every REST failure NetSuite sends has the same shape: an RFC 9110 problem document
whose ``o:errorDetails`` list carries the NetSuite code, the human detail and, for
content errors, the path of the offending field (``item.items[0].item``). Clients key
their handling on ``o:errorCode``, so the emulator raises :class:`NetSuiteFault`
anywhere deep in its logic and turns it into exactly that body at the edge.
"""

from __future__ import annotations

from typing import Any

from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireResponse

#: The detail NetSuite sends for every authentication failure, whatever the cause
#: (the real cause is only visible in the account's Login Audit Trail).
INVALID_LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI "
    "at Setup > Users/Roles > User Management > View Login Audit Trail."
)

CONCURRENCY_DETAIL = "Concurrent request limit exceeded. Request blocked."

NOT_FOUND_DETAIL = "The record instance does not exist. Provide a valid record instance ID."

_RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110.html"

#: status -> (type URI, title) as NetSuite writes them.
_PROBLEM_TYPES: dict[int, tuple[str, str]] = {
    400: (f"{_RFC9110}#section-15.5.1", "Bad Request"),
    401: (f"{_RFC9110}#section-15.5.2", "Unauthorized"),
    403: (f"{_RFC9110}#section-15.5.4", "Forbidden"),
    404: (f"{_RFC9110}#section-15.5.5", "Not Found"),
    405: (f"{_RFC9110}#section-15.5.6", "Method Not Allowed"),
    409: (f"{_RFC9110}#section-15.5.10", "Conflict"),
    415: (f"{_RFC9110}#section-15.5.16", "Unsupported Media Type"),
    429: ("https://www.rfc-editor.org/rfc/rfc6585.html#section-4", "Too Many Requests"),
    500: (f"{_RFC9110}#section-15.6.1", "Internal Server Error"),
    502: (f"{_RFC9110}#section-15.6.3", "Bad Gateway"),
    503: (f"{_RFC9110}#section-15.6.4", "Service Unavailable"),
    504: (f"{_RFC9110}#section-15.6.5", "Gateway Timeout"),
}


class NetSuiteFault(Exception):
    """A NetSuite error answer, raised inside the emulator and rendered at its edge."""

    def __init__(
        self, status: int, code: str, detail: str, path: str | None = None, **headers: str
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path
        self.headers = dict(headers)

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.detail, self.path)

    def response(self) -> WireResponse:
        return WireResponse.json(self.status, self.body(), self.headers)


def error_body(status: int, code: str, detail: str, path: str | None = None) -> dict[str, Any]:
    """The problem document NetSuite answers errors with."""
    uri, title = _PROBLEM_TYPES.get(status, (f"{_RFC9110}#section-15", "Error"))
    entry: dict[str, Any] = {"detail": detail}
    if path is not None:
        entry["o:errorPath"] = path
    entry["o:errorCode"] = code
    return {"type": uri, "title": title, "status": status, "o:errorDetails": [entry]}


def invalid_login() -> NetSuiteFault:
    return NetSuiteFault(401, wire.INVALID_LOGIN, INVALID_LOGIN_DETAIL)


def not_found(detail: str = NOT_FOUND_DETAIL) -> NetSuiteFault:
    return NetSuiteFault(404, "NONEXISTENT_ID", detail)


def invalid_content(detail: str, path: str | None = None) -> NetSuiteFault:
    return NetSuiteFault(400, wire.INVALID_CONTENT, detail, path)


def user_error(detail: str, path: str | None = None) -> NetSuiteFault:
    return NetSuiteFault(400, wire.USER_ERROR, detail, path)


def invalid_reference(field: str, key: object, path: str | None = None) -> NetSuiteFault:
    return NetSuiteFault(
        400, wire.INVALID_KEY_OR_REF, f"Invalid {field} reference key {key}.", path or field
    )


def invalid_field_value(field: str, path: str | None = None) -> NetSuiteFault:
    return invalid_content(
        f"Invalid value for the resource or sub-resource field '{field}'. Provide a valid value.",
        path or field,
    )
