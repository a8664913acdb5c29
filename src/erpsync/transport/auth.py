"""What the Transport asks of an auth object: :class:`RenewableAuth`, and :func:`bearer_of`.

An auth that can get fresh credentials after a 401 (an OAuth 2 refresh, a new JWT
assertion) implements ``renew``; the transport then sends the request once more. Both
ERPs' bearer auths need to know which token a refused request carried, so that a token
another thread already replaced is not renewed twice: :func:`bearer_of` reads it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import requests

__all__ = ["RenewableAuth", "bearer_of"]


@runtime_checkable
class RenewableAuth(Protocol):
    """A ``requests`` auth that can get fresh credentials after a 401.

    ``renew`` gets the 401 response and returns True when it obtained new credentials
    (refreshed an OAuth 2 access token, signed a new JWT assertion); the transport then
    sends the request once more, outside the retry budget. It may raise an
    :class:`AuthenticationError` (for example ``reconnect_required``), which is passed on.
    """

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest: ...

    def renew(self, response: requests.Response) -> bool: ...


def bearer_of(request: requests.PreparedRequest | requests.Request | None) -> str | None:
    """The bearer token a request carried, for a :class:`RenewableAuth` deciding whether
    the token refused in a 401 is still the current one (another thread may have
    renewed it meanwhile). None when it carried no bearer token."""
    if request is None or not request.headers:
        return None
    header = request.headers.get("Authorization")
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    if not isinstance(header, str):
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
