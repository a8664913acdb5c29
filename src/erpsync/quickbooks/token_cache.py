"""Where :class:`~erpsync.quickbooks.auth.QuickBooksAuth` keeps each company's tokens, and
the ``requests`` auth that attaches them (:class:`QuickBooksRealmAuth`).

:class:`TokenCache` puts the auth's rules about the store in one place (the refresh
itself, and why the rules are what they are, is in :mod:`erpsync.quickbooks.auth`):

* the **lock** of a company: the store's own ``lock(realm_id)`` when it has one (across
  processes), else one process-local lock per (store, realm), shared by every auth over
  that store;
* **save before use**: a token is cached only once the store holds it; a save that
  raises keeps the token as *unsaved*, and saving it is retried before the next refresh
  (unless the store has meanwhile been given a newer one);
* a company **revoked** through a store without ``delete`` is remembered as revoked for
  the rest of the process, so its dead token is never sent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import requests
from requests.auth import AuthBase

from erpsync.errors import AuthenticationError
from erpsync.quickbooks.tokens import QuickBooksToken, TokenStore
from erpsync.transport import bearer_of

if TYPE_CHECKING:
    from erpsync.quickbooks.auth import QuickBooksAuth

__all__ = ["RECONNECT_HINT", "QuickBooksRealmAuth", "TokenCache"]

_log = logging.getLogger("erpsync.quickbooks.auth")

_BACKEND = "QuickBooks"

RECONNECT_HINT = (
    "Reconnect the QuickBooks company: run the authorization flow again "
    "(`erpsync connect quickbooks`, or QuickBooksAuth.authorization_url() + exchange_code())"
)

# Stores without their own lock() share one process-local lock per (store, realm), so
# two QuickBooksAuth objects over one store still refresh one at a time.
_LOCAL_LOCKS: dict[tuple[int, str], threading.RLock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


class TokenCache:
    """One app's view of its token store: cached tokens, unsaved ones, revoked realms."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store
        self._guard = threading.Lock()
        self._cache: dict[str, QuickBooksToken] = {}
        self._unsaved: dict[str, QuickBooksToken] = {}
        self._revoked: set[str] = set()
        self._warned: set[str] = set()

    def cached(self, realm_id: str) -> QuickBooksToken | None:
        """The token last used for the company, without reading the store."""
        with self._guard:
            return self._cache.get(realm_id)

    def current(self, realm_id: str) -> QuickBooksToken | None:
        """The newest token known: an unsaved one, else the store's; None when revoked."""
        with self._guard:
            if realm_id in self._revoked:
                return None
            pending = self._unsaved.get(realm_id)
        return pending or self.store.load(realm_id)

    def load(self, realm_id: str) -> QuickBooksToken:
        """The stored token, or the error saying the company must be (re)connected."""
        with self._guard:
            revoked = realm_id in self._revoked
        token = None if revoked else self.store.load(realm_id)
        if token is None:
            raise AuthenticationError(
                f"no QuickBooks token stored for company {realm_id}",
                backend=_BACKEND,
                reconnect_required=True,
                hint=RECONNECT_HINT,
            )
        return token

    def remember(self, realm_id: str, token: QuickBooksToken) -> None:
        """Cache a token the store already holds."""
        with self._guard:
            self._cache[realm_id] = token

    def connected(self, realm_id: str, token: QuickBooksToken) -> None:
        """Save the first token of a (re)connected company (call inside :meth:`lock`)."""
        self.store.save(realm_id, token)
        with self._guard:
            self._cache[realm_id] = token
            self._unsaved.pop(realm_id, None)
            self._revoked.discard(realm_id)

    def save(self, realm_id: str, token: QuickBooksToken) -> None:
        """Save a refreshed token, then cache it; on failure keep it unsaved and raise."""
        try:
            self.store.save(realm_id, token)
        except BaseException:
            with self._guard:
                self._unsaved[realm_id] = token
                self._cache.pop(realm_id, None)
            _log.error(
                "QuickBooks company %s: the refreshed token could NOT be saved in %r; it is "
                "kept in memory and saving is retried on the next call, but if this "
                "process stops first the company may have to be reconnected",
                realm_id,
                self.store,
            )
            raise
        with self._guard:
            self._unsaved.pop(realm_id, None)
            self._cache[realm_id] = token

    def load_for_refresh(self, realm_id: str) -> QuickBooksToken:
        """The token to refresh from, inside the lock, retrying an earlier failed save."""
        stored = self.load(realm_id)
        with self._guard:
            pending = self._unsaved.get(realm_id)
        if pending is None:
            return stored
        if stored.obtained_at and pending.obtained_at and stored.obtained_at >= pending.obtained_at:
            # Someone else stored a newer token since; ours is obsolete.
            with self._guard:
                self._unsaved.pop(realm_id, None)
            return stored
        self.save(realm_id, pending)
        return pending

    def forget(self, realm_id: str) -> None:
        """After a revoke: delete the store's record (or remember the realm as revoked)."""
        delete = getattr(self.store, "delete", None)
        if callable(delete):
            delete(realm_id)
        with self._guard:
            if not callable(delete):
                # The store still holds the dead token; remember not to use it.
                self._revoked.add(realm_id)
            self._cache.pop(realm_id, None)
            self._unsaved.pop(realm_id, None)

    def warn_if_expiring(
        self, realm_id: str, token: QuickBooksToken, now: datetime, warning: timedelta
    ) -> None:
        """Log, once per company, that its authorization nears Intuit's 5-year limit."""
        hard = token.refresh_hard_expires_at
        if hard is None or now < hard - warning:
            return
        with self._guard:
            if realm_id in self._warned:
                return
            self._warned.add(realm_id)
        _log.warning(
            "QuickBooks company %s must be reconnected by %s: its authorization reaches "
            "Intuit's 5-year limit then and cannot be refreshed after it. %s",
            realm_id,
            hard.strftime("%Y-%m-%d %H:%M %Z"),
            RECONNECT_HINT,
        )

    def secret_values(self) -> list[str]:
        """Every token value cached here, for redaction."""
        with self._guard:
            return [s for t in self._cache.values() for s in t.secret_values()]

    @contextlib.contextmanager
    def lock(self, realm_id: str) -> Iterator[None]:
        """The company's refresh lock (see the module docstring)."""
        store_lock = getattr(self.store, "lock", None)
        if callable(store_lock):
            context: AbstractContextManager[None] = store_lock(realm_id)
            with context:
                yield
            return
        key = (id(self.store), realm_id)
        with _LOCAL_LOCKS_GUARD:
            lock = _LOCAL_LOCKS.setdefault(key, threading.RLock())
        with lock:
            yield


class QuickBooksRealmAuth(AuthBase):
    """``requests`` auth for one company: adds the bearer token, renews it on a 401.

    It implements the transport's ``RenewableAuth`` protocol: ``renew(response)`` is
    called when a request came back 401 and answers whether retrying once is worth it.
    """

    def __init__(
        self, auth: QuickBooksAuth, realm_id: str, session: requests.Session | None = None
    ) -> None:
        self.auth = auth
        self.realm_id = realm_id
        self._session = session

    def __repr__(self) -> str:
        return f"QuickBooksRealmAuth(realm_id={self.realm_id!r}, auth={self.auth!r})"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.auth.get_token(self.realm_id, session=self._session)
        r.headers["Authorization"] = f"Bearer {token.access_token}"
        return r

    def renew(self, response: requests.Response) -> bool:
        """On a 401: refresh once, unless another thread already has, and say if a retry
        may now succeed.

        False when the failed request carried no bearer token of ours, when no token is
        stored, or when the refused token was minted moments ago (refreshing cannot
        help). A refresh that fails raises (``invalid_grant`` raises
        ``AuthenticationError(reconnect_required=True)``), because its error says more
        than the 401 does.
        """
        failed = bearer_of(response.request)
        if failed is None:
            return False
        return self.auth._renew(self.realm_id, failed, self._session)
