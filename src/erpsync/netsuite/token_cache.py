"""Where :class:`~erpsync.netsuite.auth.ClientCredentialsAuth` keeps each account's token.

:class:`ClientCredentialsAccountAuth` is the ``requests`` auth of one account under OAuth
2.0 client credentials: it adds the bearer token, renews it a little before it expires
(``leeway``, or halfway through a short-lived token), and after a 401 replaces the token
that failed. Renewal is single-flight per account: twenty threads needing a token at once
cause one token request, and a thread that finds the failed token already replaced by
another uses the replacement. An early renewal that fails while the current token still
works keeps the current one and tries again ten seconds later, rather than failing
requests the token can still carry.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import requests
from requests.auth import AuthBase

from erpsync.errors import RateLimitError, ServiceError
from erpsync.netsuite.token_endpoint import TokenEndpoint
from erpsync.transport import bearer_of

if TYPE_CHECKING:
    from erpsync.netsuite.auth import ClientCredentialsAuth

__all__ = ["AccessToken", "ClientCredentialsAccountAuth"]

_log = logging.getLogger("erpsync.netsuite.auth")

#: A token this close to its expiry is not sent any more (clock skew, request latency).
_EXPIRY_MARGIN = 5.0
#: After a failed early renewal, wait this long before asking the endpoint again.
_RENEWAL_RETRY = 10.0


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    refresh_at: float
    expires_at: float


class ClientCredentialsAccountAuth(AuthBase):
    """Bearer auth for one account, with a cached, single-flight-renewed token."""

    def __init__(
        self,
        owner: ClientCredentialsAuth,
        *,
        account_id: str,
        token_url: str,
        session: requests.Session | None,
    ) -> None:
        self._owner = owner
        self.account_id = account_id
        self.token_url = token_url
        self._endpoint = TokenEndpoint(
            account_id=account_id,
            token_url=token_url,
            session=session,
            timeout=owner._timeout,
            default_expires_in=owner._default_expires_in,
            scopes=owner.scopes,
        )
        self._lock = threading.Lock()
        self._token: AccessToken | None = None

    def __repr__(self) -> str:
        return f"<ClientCredentialsAuth for account {self.account_id} ({self._owner!r})>"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._current().value}"
        return r

    def renew(self, response: requests.Response) -> bool:
        """After a 401: drop the token that failed and fetch another (once per failure).

        When another thread has already replaced the failed token, its replacement is
        used without a new token request. Errors from the token endpoint propagate,
        since they say more than the 401 did.
        """
        failed = bearer_of(response.request)
        with self._lock:
            current = self._token
            if current is not None and failed is not None and current.value != failed:
                return True
            self._token = None
            self._token = self._fetch()
            return True

    def _current(self) -> AccessToken:
        token = self._token
        if token is not None and self._owner._clock() < token.refresh_at:
            return token
        with self._lock:
            token = self._token
            now = self._owner._clock()
            if token is not None and now < token.refresh_at:
                return token
            try:
                fresh = self._fetch()
            except (ServiceError, RateLimitError):
                # Renewal is early by design; a token endpoint hiccup inside that window
                # should not fail requests the current token can still carry.
                # Try again a little later rather than on every request, so that a
                # slow or down endpoint does not hold every request up in this lock.
                if token is not None and now < token.expires_at - _EXPIRY_MARGIN:
                    _log.warning(
                        "NetSuite token renewal failed for account %s; using the current "
                        "token until it expires",
                        self.account_id,
                    )
                    retry_at = min(now + _RENEWAL_RETRY, token.expires_at - _EXPIRY_MARGIN)
                    self._token = replace(token, refresh_at=retry_at)
                    return token
                raise
            self._token = fresh
            return fresh

    def _fetch(self) -> AccessToken:
        owner = self._owner
        started = owner._clock()
        assertion = owner._assertion(self.token_url, started)
        _log.debug("requesting a NetSuite access token for account %s", self.account_id)
        value, expires_in = self._endpoint.fetch(assertion)
        margin = max(expires_in - owner._leeway, expires_in / 2)
        _log.debug(
            "obtained a NetSuite access token for account %s (expires in %ss)",
            self.account_id,
            int(expires_in),
        )
        return AccessToken(
            value=value, refresh_at=started + margin, expires_at=started + expires_in
        )
