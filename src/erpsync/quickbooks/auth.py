"""QuickBooks Online authentication: OAuth 2.0, connecting a company and keeping it connected.

:class:`QuickBooksAuth` runs the authorization-code flow once per company and then
keeps an access token fresh for every API call (``for_realm(realm_id)`` gives the
``requests`` auth object the transport attaches). Its one hard job is refreshing
without ever losing a refresh token, because Intuit rotates them and a lost rotation
means a person has to reconnect the company. The rules, in order of importance:

1. **Single-flight.** At most one refresh per company at a time, across threads and,
   when the store offers ``lock(realm_id)`` (:class:`FileTokenStore` does, with
   ``flock``), across processes. Without such a lock only this process is covered.
2. **Reload inside the lock.** Another process may have refreshed while we waited; if
   the stored access token is still good we use it and send nothing. The refresh always
   spends the refresh token read from the store inside the lock, never a cached one.
3. **Save before use.** The answer is saved in the store before its access token is
   handed to anyone. If ``save`` raises, the error propagates and the new access token
   is not used: carrying on would let the application work normally while its only
   long-lived credential sits in memory, and the next restart would find a refresh
   token Intuit may already have killed. Failing loudly shows the broken store at once.
   The unsaved token is kept in memory and saving it is retried before the next
   refresh, so a store that recovers loses nothing.
4. **Every refresh token is single-use.** Whether Intuit kills the previous one at once
   or a day later is unconfirmed, so we assume at once.

A lost answer (the refresh POST may have reached Intuit but no response came back) is
the awkward case: Intuit may have rotated the token, and the new one is gone. Nothing
can bring it back; the only token we hold is the old one. We retry the refresh ONCE
with the same old token (``retry_lost_refresh=True``, the default): if Intuit still
accepts it (a repeated refresh within a short time is reported to answer again,
unconfirmed) the company stays connected; if not, the answer is ``invalid_grant`` and
we raise ``AuthenticationError(reconnect_required=True)`` with a hint that names the
lost answer. Not retrying would not be safer: the old token is still the one in the
store and the next call would spend it anyway, only later and with a vaguer error.
Connection failures that happened before anything was sent (DNS, refused connection,
connect timeout) are retried up to twice, since they cannot have consumed anything.

Past the refresh token's hard expiry (5 years) we refuse without calling Intuit; within
``hard_expiry_warning`` of it a WARNING is logged once per company (for each
:class:`QuickBooksAuth`, of which a process usually has one).

Secrets (the client secret, access and refresh tokens, authorization codes) never
appear in a ``repr``, a log line or an exception.

Over ~400 lines with its docstrings (about 345 of code), which explain Intuit's
refresh rules; the token endpoint and cache already live in their own modules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import requests

from erpsync._redact import redact
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    ServiceError,
)
from erpsync.quickbooks.connect import AuthorizationStates, authorization_url, parse_redirect
from erpsync.quickbooks.token_cache import RECONNECT_HINT, QuickBooksRealmAuth, TokenCache
from erpsync.quickbooks.token_endpoint import TokenEndpoint
from erpsync.quickbooks.tokens import (
    FileTokenStore,
    LockingTokenStore,
    MemoryTokenStore,
    QuickBooksToken,
    TokenStore,
)
from erpsync.quickbooks.wire import (
    ACCOUNTING_SCOPE,
    DISCOVERY_URLS,
)
from erpsync.quickbooks.wire import AUTHORIZE_URL as AUTHORIZE_URL
from erpsync.quickbooks.wire import REVOKE_URL as REVOKE_URL
from erpsync.quickbooks.wire import TOKEN_URL as TOKEN_URL
from erpsync.transport.urls import check_url

__all__ = [
    "AUTHORIZE_URL",
    "DEFAULT_SCOPES",
    "RECONNECT_HINT",
    "REVOKE_URL",
    "TOKEN_URL",
    "FileTokenStore",
    "LockingTokenStore",
    "MemoryTokenStore",
    "QuickBooksAuth",
    "QuickBooksRealmAuth",
    "QuickBooksToken",
    "TokenStore",
]

_log = logging.getLogger("erpsync.quickbooks.auth")

DEFAULT_SCOPES = (ACCOUNTING_SCOPE,)
_DISCOVERY = DISCOVERY_URLS

_BACKEND = "QuickBooks"

Clock = Callable[[], datetime]
Environment = Literal["production", "sandbox"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class QuickBooksAuth:
    """The app's OAuth 2.0 client for QuickBooks Online, shared by all its companies.

    One instance serves every realm (company) the app is connected to; tokens live in
    ``token_store`` keyed by realm id. Typical use::

        auth = QuickBooksAuth(client_id, client_secret, "https://app.example/qbo/callback",
                              token_store=FileTokenStore("~/.config/erpsync/qbo.json"))
        url, state = auth.authorization_url()          # send the user there
        code, realm_id, state = auth.parse_redirect(callback_url)
        auth.exchange_code(code, realm_id, state)      # saved in the store
        session.auth = auth.for_realm(realm_id)        # Bearer header, kept fresh
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        token_store: TokenStore | None = None,
        *,
        token_url: str = TOKEN_URL,
        revoke_url: str = REVOKE_URL,
        authorize_url: str = AUTHORIZE_URL,
        environment: Environment = "production",
        scopes: Sequence[str] = DEFAULT_SCOPES,
        refresh_margin: timedelta = timedelta(minutes=5),
        hard_expiry_warning: timedelta = timedelta(days=30),
        clock: Clock | None = None,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        retry_lost_refresh: bool = True,
        renew_min_token_age: timedelta = timedelta(seconds=60),
    ) -> None:
        _check_app(client_id, client_secret, environment, scopes, refresh_margin)
        urls = {"token_url": token_url, "revoke_url": revoke_url, "authorize_url": authorize_url}
        if redirect_uri is not None:
            urls["redirect_uri"] = redirect_uri
        for name, url in urls.items():
            _require_https(name, url)
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._tokens = TokenCache(token_store if token_store is not None else MemoryTokenStore())
        self.token_url = token_url
        self.revoke_url = revoke_url
        self.authorize_url = authorize_url
        self.environment: Environment = environment
        self.scopes = tuple(scopes)
        self.refresh_margin = refresh_margin
        self.hard_expiry_warning = hard_expiry_warning
        self.timeout = timeout
        self.retry_lost_refresh = retry_lost_refresh
        self.renew_min_token_age = renew_min_token_age
        self._clock: Clock = clock or _utcnow
        self._sleep = sleep
        self._session = session or requests.Session()
        self._states = AuthorizationStates()

    def __repr__(self) -> str:
        return (
            f"QuickBooksAuth(client_id={self.client_id!r}, environment={self.environment!r}, "
            f"token_store={self.token_store!r})"
        )

    @property
    def token_store(self) -> TokenStore:
        """Where the companies' tokens are kept (keyed by realm id)."""
        return self._tokens.store

    @property
    def discovery_url(self) -> str:
        """Intuit's OpenID discovery document for this environment."""
        return _DISCOVERY[self.environment]

    # -- connecting a company -----------------------------------------------------------

    def authorization_url(self, state: str | None = None) -> tuple[str, str]:
        """The URL to send the user to, and the ``state`` it carries.

        The state is remembered (for an hour) so that :meth:`exchange_code` can check
        it. A web app with several processes should keep the state in the user's
        session instead and pass it to ``exchange_code(expected_state=...)``.
        """
        redirect_uri = self._require_redirect_uri()
        state = self._states.issue(state, self._now())
        url = authorization_url(
            self.authorize_url,
            client_id=self.client_id,
            scopes=self.scopes,
            redirect_uri=redirect_uri,
            state=state,
        )
        return url, state

    @staticmethod
    def parse_redirect(url: str) -> tuple[str, str, str]:
        """``(code, realm_id, state)`` from the URL Intuit redirected the user to."""
        return parse_redirect(url)

    def exchange_code(
        self,
        code: str,
        realm_id: str,
        state: str | None,
        *,
        expected_state: str | None = None,
        session: requests.Session | None = None,
    ) -> QuickBooksToken:
        """Trade an authorization code for tokens and save them for ``realm_id``.

        ``state`` must be one this object handed out (or equal ``expected_state``):
        a mismatch means the redirect may be forged (CSRF) and nothing is sent.
        """
        self._states.check(state, expected_state, self._now())
        if not code or not realm_id:
            raise ConfigurationError("exchange_code needs the code and the realm id")
        redirect_uri = self._require_redirect_uri()
        token = self._endpoint().exchange(
            session, code, redirect_uri, realm_id=realm_id, now=self._now
        )
        with self._tokens.lock(realm_id):
            self._tokens.connected(realm_id, token)
        _log.info("QuickBooks company %s connected", realm_id)
        self._maybe_warn_hard_expiry(realm_id, token, self._now())
        return token

    # -- using a company ----------------------------------------------------------------

    def for_realm(
        self, realm_id: str, *, session: requests.Session | None = None
    ) -> QuickBooksRealmAuth:
        """The ``requests`` auth object for one company (``session.auth = ...``).

        ``session`` is used for the token endpoint calls it makes (the transport's own
        session, so that adapters mounted on it, like an emulator's, apply).
        """
        if not realm_id:
            raise ConfigurationError("for_realm needs a realm id")
        return QuickBooksRealmAuth(self, realm_id, session)

    def get_token(
        self, realm_id: str, *, session: requests.Session | None = None
    ) -> QuickBooksToken:
        """A token whose access token is good for at least ``refresh_margin``.

        Refreshes ahead of expiry. If that refresh fails for a reason that may pass
        (Intuit down, a network fault) while the current access token still works, the
        current one is returned and the failure logged: the next call tries again.
        """
        now = self._now()
        token = self._tokens.cached(realm_id)
        if token is None or not token.access_valid(now, self.refresh_margin):
            token = self._tokens.load(realm_id)
        if token.access_valid(now, self.refresh_margin):
            self._tokens.remember(realm_id, token)
            self._maybe_warn_hard_expiry(realm_id, token, now)
            return token
        try:
            fresh = self._refresh(realm_id, session, failed_access=None)
        except (ServiceError, RateLimitError) as exc:
            if token.access_valid(self._now()):
                _log.warning(
                    "refreshing the QuickBooks token of company %s failed (%s); "
                    "using the current access token until it expires at %s",
                    realm_id,
                    exc,
                    token.access_expires_at.isoformat(),
                )
                return token
            raise
        return fresh

    def refresh(self, realm_id: str, *, session: requests.Session | None = None) -> QuickBooksToken:
        """Refresh now, whatever the current token's age (for tools and tests).

        If another process replaced this process's token meanwhile, that newer token
        is returned instead: the aim is a token newer than the one we had, not a POST.
        """
        current = self._tokens.cached(realm_id) or self._tokens.load(realm_id)
        return self._refresh(realm_id, session, failed_access=current.access_token)

    def revoke(self, realm_id: str, *, session: requests.Session | None = None) -> bool:
        """Revoke the company's tokens at Intuit and forget them here.

        Returns False when there was nothing to revoke. Revoking is idempotent, so
        connection failures are retried even after the request may have been sent.
        A store with a ``delete(realm_id)`` method has the record removed; for other
        stores this object remembers the realm as revoked for the rest of the process.
        """
        with self._tokens.lock(realm_id):
            token = self._tokens.current(realm_id)
            if token is None:
                return False
            self._endpoint().revoke(session, self.revoke_url, token, realm_id=realm_id)
            self._tokens.forget(realm_id)
        _log.info("QuickBooks company %s disconnected (tokens revoked)", realm_id)
        return True

    # -- the refresh --------------------------------------------------------------------

    def _renew(self, realm_id: str, failed_access: str, session: requests.Session | None) -> bool:
        """Called on a 401: True when there is a different token worth retrying with."""
        current = self._tokens.current(realm_id)
        if current is None:
            return False
        now = self._now()
        if (
            current.access_token == failed_access
            and current.obtained_at is not None
            and now - current.obtained_at < self.renew_min_token_age
        ):
            # A token minted moments ago being refused is not an expiry problem (a
            # sandbox token sent to production, a revoked app); refreshing again would
            # only spend another refresh token.
            return False
        # _refresh re-checks inside the lock: if another thread or process replaced the
        # refused token meanwhile, it returns that one without calling Intuit.
        self._refresh(realm_id, session, failed_access=failed_access)
        return True

    def _refresh(
        self,
        realm_id: str,
        session: requests.Session | None,
        *,
        failed_access: str | None,
    ) -> QuickBooksToken:
        with self._tokens.lock(realm_id):
            now = self._now()
            current = self._tokens.load_for_refresh(realm_id)
            if current.access_valid(now, self.refresh_margin) and (
                failed_access is None or current.access_token != failed_access
            ):
                # Another thread or process refreshed while we waited for the lock.
                self._tokens.remember(realm_id, current)
                return current
            if current.hard_expired(now):
                assert current.refresh_hard_expires_at is not None
                raise AuthenticationError(
                    f"the authorization of QuickBooks company {realm_id} reached its hard "
                    f"expiry on {current.refresh_hard_expires_at:%Y-%m-%d}",
                    backend=_BACKEND,
                    reconnect_required=True,
                    hint=RECONNECT_HINT,
                )
            _log.info("refreshing the QuickBooks token of company %s", realm_id)
            fresh = self._endpoint().refreshed(
                session,
                current,
                realm_id=realm_id,
                retry_lost=self.retry_lost_refresh,
                now=self._now,
            )
            self._tokens.save(realm_id, fresh)
        _log.info(
            "QuickBooks company %s: token refreshed, access valid until %s%s",
            realm_id,
            fresh.access_expires_at.isoformat(),
            " (refresh token rotated)" if fresh.refresh_token != current.refresh_token else "",
        )
        self._maybe_warn_hard_expiry(realm_id, fresh, self._now())
        return fresh

    def _maybe_warn_hard_expiry(self, realm_id: str, token: QuickBooksToken, now: datetime) -> None:
        self._tokens.warn_if_expiring(realm_id, token, now, self.hard_expiry_warning)

    # -- talking to the token endpoint --------------------------------------------------

    def _endpoint(self) -> TokenEndpoint:
        """Intuit's token endpoint with this app's credentials and current settings."""
        return TokenEndpoint(
            client=(self.client_id, self._client_secret),
            token_url=self.token_url,
            session=self._session,
            timeout=self.timeout,
            sleep=self._sleep,
            redact=self._redact,
        )

    # -- small helpers ------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigurationError("the clock must return timezone-aware datetimes")
        return now

    def _redact(self, text: str, extra: Sequence[str] = ()) -> str:
        known = self._tokens.secret_values()
        return redact(text, self._client_secret, *extra, *known)

    def _require_redirect_uri(self) -> str:
        if not self.redirect_uri:
            raise ConfigurationError(
                "QuickBooksAuth needs redirect_uri for the authorization flow "
                "(the URL registered for the app in the Intuit developer portal)"
            )
        return self.redirect_uri


# -- module helpers ---------------------------------------------------------------------


def _check_app(
    client_id: object,
    client_secret: object,
    environment: object,
    scopes: object,
    refresh_margin: timedelta,
) -> None:
    """Refuse an app configuration that cannot work, before any request."""
    if not isinstance(client_id, str) or not client_id:
        raise ConfigurationError("QuickBooksAuth needs a client_id")
    if not isinstance(client_secret, str) or not client_secret:
        raise ConfigurationError("QuickBooksAuth needs a client_secret")
    if environment not in _DISCOVERY:
        raise ConfigurationError(
            f"environment must be 'production' or 'sandbox', not {environment!r}"
        )
    if isinstance(scopes, str) or not scopes:
        raise ConfigurationError("scopes must be a non-empty sequence of scope names")
    if refresh_margin < timedelta(0) or refresh_margin >= timedelta(minutes=55):
        raise ConfigurationError("refresh_margin must be between 0 and 55 minutes")


def _require_https(name: str, url: str) -> None:
    check_url(url, name, backend=_BACKEND)
