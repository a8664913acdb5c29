"""QuickBooks Online error decoding: error answers -> the erpsync error tree.

QuickBooks answers errors in three shapes (WIRE.md), and a client that handles one of
them only turns the others into an opaque crash:

* the standard envelope ``{"Fault": {"Error": [{"Message", "Detail", "code",
  "element"}], "type": "ValidationFault"}, "time": "..."}``, which also arrives inside
  HTTP 200 answers (every failed batch item, some queries);
* the gateway's lower-case envelope for 401/403 (``{"fault": {"error": [{"message",
  "detail", "code"}], "type": "AUTHENTICATION"}, "time": 1633520295688}``);
* the XML ``IntuitResponse`` of a 429, sent even when JSON was asked for.

Anything else (an HTML error page from a proxy, an empty or truncated body) becomes a
:class:`ServiceError` with the text attached, so nothing but the error tree escapes.

The code decides the class: 6240/6140 duplicate, 5010 stale SyncToken, 610 not found
(or an inactive reference), 3200 authentication, 3100 authorization, 3001 throttled,
10000 system fault; every other validation fault is an :class:`InvalidRequestError`
whose ``field`` is the fault's ``element``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import requests

from erpsync.errors import (
    AuthenticationError,
    ConflictError,
    DuplicateError,
    ErpSyncError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceError,
)
from erpsync.quickbooks.wire import REQUEST_ID_HEADERS
from erpsync.transport.bodies import decode_body, json_body

__all__ = [
    "BACKEND",
    "decode_error",
    "error_from_fault",
    "fault_in",
    "parse_json",
    "request_id_of",
]

BACKEND = "QuickBooks"

#: The response headers QuickBooks puts its request id in (both spellings are seen).
_TID_HEADERS = REQUEST_ID_HEADERS

_TXN_ID = re.compile(r"TxnId\s*=\s*(\d+)")
_RECONNECT_DETAILS = ("revoked", "invalid_grant", "refresh token")


def request_id_of(response: requests.Response) -> str | None:
    """The ``intuit_tid`` of a response, to quote to Intuit support."""
    for name in _TID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def parse_json(response: requests.Response, *, record: str | None = None) -> Any:
    """The response body as JSON (floats as :class:`Decimal`, so money stays exact).

    A body that is not JSON is the service breaking its promise: :class:`ServiceError`
    with the text attached. Whether repeating may help depends on the answer: a 2xx
    that is unreadable is not retryable (the write may have happened). Read by the one
    body decoder (:mod:`erpsync.transport.bodies`).
    """
    return json_body(response, backend=BACKEND, record=record, request_id=request_id_of(response))


def fault_in(body: Any) -> Mapping[str, Any] | None:
    """The fault object of a JSON body in either envelope, or None."""
    if not isinstance(body, Mapping):
        return None
    for key in ("Fault", "fault"):
        fault = body.get(key)
        if isinstance(fault, Mapping):
            return fault
    return None


def error_from_fault(
    fault: Mapping[str, Any],
    *,
    http_status: int | None = None,
    request_id: str | None = None,
    record: str | None = None,
    raw: str | None = None,
) -> ErpSyncError:
    """Turn a fault object (either envelope, or a batch item's ``Fault``) into an error.

    Several errors in one fault are reported as the first, with the others' details
    appended, because the first is what QuickBooks considers the cause.
    """
    errors = _first_list(fault, "Error", "error")
    fault_type = str(_get(fault, "type") or "")
    first: Mapping[str, Any] = errors[0] if errors and isinstance(errors[0], Mapping) else {}
    code = _code(_get(first, "code"))
    message = _clean(_get(first, "Message", "message")) or "QuickBooks returned a fault"
    detail = _clean(_get(first, "Detail", "detail"))
    element = _clean(_get(first, "element", "Element"))
    extra = [
        _clean(_get(e, "Detail", "detail")) or _clean(_get(e, "Message", "message"))
        for e in errors[1:]
        if isinstance(e, Mapping)
    ]
    if extra:
        detail = "; ".join(x for x in [detail, *extra] if x)
    common: dict[str, Any] = {
        "backend": BACKEND,
        "record": record,
        "http_status": http_status,
        "code": code,
        "detail": detail,
        "request_id": request_id,
        "raw": raw,
    }
    return _classify(code, fault_type, message, element, http_status, common)


def decode_error(response: requests.Response) -> ErpSyncError:
    """The transport's ``ErrorDecoder`` for QuickBooks: any non-2xx answer -> an error."""
    status = response.status_code
    request_id = request_id_of(response)
    body = decode_body(response)
    text = body.text
    if body.kind == "xml" and body.value is not None:
        return error_from_fault(body.value, http_status=status, request_id=request_id, raw=text)
    if body.kind == "json":
        fault = fault_in(body.value)
        if fault is not None:
            return error_from_fault(fault, http_status=status, request_id=request_id, raw=text)
        if isinstance(body.value, Mapping) and body.value.get("error"):
            # OAuth-style error (a gateway in front of the API answering for the token).
            return AuthenticationError(
                str(body.value.get("error")),
                backend=BACKEND,
                http_status=status,
                detail=_clean(body.value.get("error_description")),
                request_id=request_id,
                raw=text,
            )
    return _by_status(status, text, request_id)


# -- classification ----------------------------------------------------------------------


def _classify(
    code: str | None,
    fault_type: str,
    message: str,
    element: str | None,
    http_status: int | None,
    common: dict[str, Any],
) -> ErpSyncError:
    kind = fault_type.lower()
    if code in ("6240", "6140"):
        existing = _TXN_ID.search(common["detail"] or "") if code == "6140" else None
        return DuplicateError(
            message, existing_id=existing.group(1) if existing else None, field=element, **common
        )
    if code == "5010":
        return ConflictError(
            message,
            field=element,
            hint="Read the record again for its current SyncToken and repeat the update",
            **common,
        )
    if code == "610":
        return NotFoundError(message, field=element, **common)
    if code == "3200" or kind in ("authentication", "authenticationfault") or http_status == 401:
        detail = (common["detail"] or "").lower()
        return AuthenticationError(
            message,
            reconnect_required=any(word in detail for word in _RECONNECT_DETAILS),
            **common,
        )
    if code == "3100" or kind == "authorizationfault" or http_status == 403:
        return PermissionDeniedError(message, **common)
    if code == "3001" or http_status == 429:
        return RateLimitError(message, **common)
    if code == "10000" or kind == "systemfault" or (http_status or 0) >= 500:
        return ServiceError(message, retryable=True, **common)
    return InvalidRequestError(message, field=element, **common)


def _by_status(status: int, text: str, request_id: str | None) -> ErpSyncError:
    """A body we could not read: the status alone decides, the text goes along."""
    common: dict[str, Any] = {
        "backend": BACKEND,
        "http_status": status,
        "request_id": request_id,
        "raw": text,
    }
    described = "an empty body" if not text.strip() else "a body that is not a QuickBooks fault"
    message = f"answered HTTP {status} with {described}"
    if status == 401:
        return AuthenticationError(message, **common)
    if status == 403:
        return PermissionDeniedError(message, **common)
    if status == 404:
        return NotFoundError(message, **common)
    if status == 429:
        return RateLimitError(message, **common)
    return ServiceError(message, retryable=status >= 500, **common)


# -- small helpers -----------------------------------------------------------------------


def _get(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def _first_list(mapping: Mapping[str, Any], *keys: str) -> list[Any]:
    value = _get(mapping, *keys)
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return [value]
    return []


def _code(value: Any) -> str | None:
    """``"003200"`` and ``3200`` are the same code; keep it as QuickBooks documents it."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    return (text.lstrip("0") or "0") if text.isdigit() else text


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
