"""FakeNetSuite's own 429 and 5xx answers, in the shape each endpoint family uses.

REST answers an RFC 9457 problem document (429 ``CONCURRENCY_LIMIT_EXCEEDED``, 503
``SERVICE_UNAVAILABLE``, 500 ``UNEXPECTED_ERROR`` with an error id); RESTlets answer
their own error body; and a token-based request over the concurrency limit can be
refused as an invalid login instead (``tba_concurrency_error="invalid_login"``).
"""

from __future__ import annotations

import json

from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.netsuite.errors import CONCURRENCY_DETAIL, error_body, invalid_login
from erpsync.testing.netsuite.restlet import (
    RestletError,
    invalid_login_attempt,
    request_limit_exceeded,
)

__all__ = ["is_tba", "server_error", "throttled"]


def is_tba(request: WireRequest) -> bool:
    """Whether the request is signed with token-based authentication (OAuth 1.0a)."""
    return request.headers.get("Authorization", "").lstrip().lower().startswith("oauth ")


def throttled(request: WireRequest, tba_as_login: bool) -> WireResponse:
    """The answer to a request over the account's concurrency limit."""
    as_login = tba_as_login and is_tba(request)
    if request.path == wire.RESTLET_PATH:
        return (invalid_login_attempt() if as_login else request_limit_exceeded()).response()
    if as_login:
        return invalid_login().response()
    return WireResponse.json(
        429, error_body(429, wire.CONCURRENCY_LIMIT_EXCEEDED, CONCURRENCY_DETAIL)
    )


def server_error(request: WireRequest, status: int, error_id: str) -> WireResponse:
    """A 5xx: 503 is "temporarily unavailable", anything else an unexpected error."""
    if status == 503:
        body = error_body(
            503,
            wire.SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable. Try again later.",
        )
    else:
        body = error_body(
            status, "UNEXPECTED_ERROR", f"An unexpected error occurred. Error ID: {error_id}"
        )
    if request.path == wire.RESTLET_PATH:
        detail = body["o:errorDetails"][0]
        return RestletError(status, detail["o:errorCode"], detail["detail"]).response()
    return WireResponse(
        status,
        json.dumps(body).encode("utf-8"),
        {"Content-Type": "application/json;charset=UTF-8"},
    )
