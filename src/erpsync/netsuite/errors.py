"""NetSuite error decoding: error answers -> the erpsync error tree.

NetSuite answers every REST failure with an RFC 9110 problem document::

    {"type": "...#section-15.5.1", "title": "Bad Request", "status": 400,
     "o:errorDetails": [{"detail": "Invalid value for ... 'item'.",
                         "o:errorPath": "item.items[0].item",
                         "o:errorCode": "INVALID_CONTENT"}]}

Callers catch by meaning, so the NetSuite code decides the class, not only the HTTP
status: ``CONCURRENCY_LIMIT_EXCEEDED`` is a :class:`RateLimitError` the transport retries,
``IDEMPOTENCY_ERROR`` a :class:`ConflictError`, a taken external id or name a
:class:`DuplicateError`. ``INVALID_KEY_OR_REF`` is content (a reference inside the body
points at nothing: :class:`InvalidRequestError` with the field) when NetSuite answers
400, and :class:`NotFoundError` when it answers 404 (the record addressed by the URL is
missing). Anything that is not that JSON (an HTML maintenance page from a proxy, an
empty body, a truncated one) becomes a :class:`ServiceError` carrying the text, so no
``ValueError`` or ``KeyError`` ever reaches a caller.

RESTlets answer errors in their own shape, ``{"error": {"code", "message"}}`` (a thrown
SuiteScriptError's JSON inside ``message``), and are classified by the same codes:
``SSS_REQUEST_LIMIT_EXCEEDED`` (a 400) is throttling, ``INVALID_LOGIN_ATTEMPT`` an
authentication failure, ``SSS_INVALID_SCRIPTLET_ID`` and ``RCRD_DSNT_EXIST`` not found.
Under token-based authentication the concurrency limit can also arrive as a 401
``INVALID_LOGIN``; the decoder cannot tell, so it says so in the hint, and
:mod:`erpsync.netsuite.contended_login` resends once, then (on credentials proven in
the client) decodes further ones as throttling.
"""

from __future__ import annotations

import re
from typing import Any, Final

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
from erpsync.transport import parse_retry_after
from erpsync.transport.bodies import decode_body, parse_json_text

__all__ = ["BACKEND", "decode_error", "decode_error_body"]

BACKEND: Final = "NetSuite"

_AUTH_CODES = frozenset({"INVALID_LOGIN", "INVALID_LOGIN_ATTEMPT", "INVALID_LOGIN_CREDENTIALS"})
_PERMISSION_CODES = frozenset({"INSUFFICIENT_PERMISSION", "FEATURE_DISABLED", "ACCESS_DENIED"})
_THROTTLE_CODES = frozenset(
    {"CONCURRENCY_LIMIT_EXCEEDED", "REQUEST_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"}
)
_SERVICE_CODES = frozenset({"SERVICE_UNAVAILABLE", "UNEXPECTED_ERROR", "INTERNAL_ERROR"})
_NOT_FOUND_CODES = frozenset(
    {"NONEXISTENT_ID", "RCRD_DSNT_EXIST", "NOT_FOUND", "SSS_INVALID_SCRIPTLET_ID"}
)
#: Words NetSuite uses when a unique value (external id, entity id, item name) is taken.
_DUPLICATE = re.compile(r"already exists|already used|already in use|duplicate", re.IGNORECASE)


def _service(status: int, message: str, raw: str) -> ServiceError:
    return ServiceError(
        message,
        backend=BACKEND,
        http_status=status,
        raw=raw,
        retryable=status >= 500 or status in (408, 429),
    )


def decode_error(response: requests.Response) -> ErpSyncError:
    """The :class:`~erpsync.http.ErrorDecoder` of the NetSuite transport."""
    status = response.status_code
    decoded = decode_body(response, exact=False)
    raw = decoded.text
    body: Any = decoded.value if decoded.kind == "json" else None
    retry_after: float | None = None
    if status == 429:
        # The shared parser: delta-seconds or an HTTP date, and never ``inf``/``nan``
        # (which would pause the account's limiter for ever).
        retry_after = parse_retry_after(
            response.headers.get("Retry-After"), response.headers.get("Date")
        )
    return decode_error_body(status, body, raw, retry_after=retry_after)


def decode_error_body(
    status: int, body: Any, raw: str, *, retry_after: float | None = None
) -> ErpSyncError:
    """The error for a parsed body (``None`` when it was not JSON)."""
    parsed = _problem_document(body) or _restlet_error(body)
    if parsed is None:
        return _undocumented(status, body, raw, retry_after)

    code, field, detail, title = parsed
    message = title or f"HTTP {status}"
    common: dict[str, Any] = {
        "backend": BACKEND,
        "http_status": status,
        "code": code,
        "detail": detail,
        "field": field,
        "raw": raw,
    }
    upper = (code or "").upper()
    if status == 429 or upper in _THROTTLE_CODES:
        return RateLimitError(message, retry_after=retry_after, **common)
    if status == 401 or upper in _AUTH_CODES:
        return AuthenticationError(
            message,
            hint="Check the account id, the credentials and the role's access "
            "(Setup > Users/Roles > View Login Audit Trail says why). Under token-based "
            "authentication NetSuite also reports its account-wide concurrency limit this "
            "way: if the credentials are right, other integrations may be using the "
            "account's concurrency",
            **common,
        )
    if status == 403 or upper in _PERMISSION_CODES:
        return PermissionDeniedError(message, **common)
    if upper == "IDEMPOTENCY_ERROR":
        return ConflictError(message, **common)
    if status >= 500 or upper in _SERVICE_CODES:
        return ServiceError(message, retryable=True, **common)
    if status == 404 or upper in _NOT_FOUND_CODES:
        return NotFoundError(message, **common)
    if status == 409:
        return ConflictError(message, **common)
    if upper in ("USER_ERROR", "INVALID_CONTENT", "DUP_ENTITY", "DUP_RCRD") and _DUPLICATE.search(
        detail or ""
    ):
        return DuplicateError(message, **common)
    return InvalidRequestError(message, **common)


def _undocumented(status: int, body: Any, raw: str, retry_after: float | None) -> ErpSyncError:
    """The error for a body that is neither a problem document nor a RESTlet error."""
    if status == 429:
        return RateLimitError(
            "NetSuite is throttling (HTTP 429)",
            backend=BACKEND,
            http_status=status,
            raw=raw,
            retry_after=retry_after,
        )
    kind = (
        "an empty body"
        if not raw.strip()
        else (
            "an error body it does not document"
            if isinstance(body, dict | list)
            else "a body that is not JSON"
        )
    )
    title = body.get("title") if isinstance(body, dict) else None
    message = f"answered HTTP {status} with {kind}"
    if isinstance(title, str) and title:
        message += f" ({title})"
    return _service(status, message, raw)


_Parsed = tuple[str | None, str | None, str | None, str | None]


def _problem_document(body: Any) -> _Parsed | None:
    """(code, field path, detail, title) of a REST problem document with o:errorDetails."""
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    entries = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
    if not entries:
        return None
    first = entries[0]
    texts = [t for t in (_str(e.get("detail")) for e in entries) if t]
    return (
        _str(first.get("o:errorCode")),
        _str(first.get("o:errorPath")),
        "; ".join(dict.fromkeys(texts)) or None,
        _str(body.get("title")) if isinstance(body, dict) else None,
    )


def _restlet_error(body: Any) -> _Parsed | None:
    """(code, None, message, None) of a RESTlet error ``{"error": {"code", "message"}}``.

    When a script throws, SuiteScript 2.x puts the JSON of the whole SuiteScriptError
    (stack included) in ``message``; its own ``message`` is the part worth showing.
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code, message = _str(error.get("code")), _str(error.get("message"))
    if code is None and message is None:
        return None
    if message is not None and message.lstrip().startswith("{"):
        try:
            thrown = parse_json_text(message, exact=False)
        except ValueError:
            thrown = None
        if isinstance(thrown, dict):
            message = _str(thrown.get("message")) or message
            code = code or _str(thrown.get("name"))
    return code, None, message, None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
