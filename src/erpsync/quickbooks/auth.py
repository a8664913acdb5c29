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
``hard_expiry_warning`` of it a WARNING is logged once per company per process.

Secrets (the client secret, access and refresh tokens, authorization codes) never
appear in a ``repr``, a log line or an exception.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from erpsync._redact import redact
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    ErpSyncError,
    RateLimitError,
    ServiceError,
)
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
    HARD_EXPIRY_HEADER,
    REQUEST_ID_HEADERS,
)
from erpsync.quickbooks.wire import AUTHORIZE_URL as AUTHORIZE_URL
from erpsync.quickbooks.wire import REVOKE_URL as REVOKE_URL
from erpsync.quickbooks.wire import TOKEN_URL as TOKEN_URL
from erpsync.transport import (
    AttemptContext,
    RetryPolicy,
    Timeout,
    Transport,
    TransportOptions,
    bearer_of,
)
from erpsync.transport.bodies import json_object
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

RECONNECT_HINT = (
    "Reconnect the QuickBooks company: run the authorization flow again "
    "(`erpsync connect quickbooks`, or QuickBooksAuth.authorization_url() + exchange_code())"
)
_CLIENT_HINT = (
    "Check the client id and client secret, and that they belong to the same environment "
    "(development keys for sandbox companies, production keys for real ones)"
)
_BACKEND = "QuickBooks"
_NOT_SENT_RETRIES = 2
_STATE_TTL = timedelta(hours=1)
_STATE_CAPACITY = 1024

Clock = Callable[[], datetime]
Environment = Literal["production", "sandbox"]

# Stores without their own lock() share one process-local lock per (store, realm), so
# two QuickBooksAuth objects over one store still refresh one at a time.
_LOCAL_LOCKS: dict[tuple[int, str], threading.RLock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()

# "Reconnect soon" is said once per company per process, not on every call.
_HARD_EXPIRY_WARNED: set[str] = set()
_HARD_EXPIRY_GUARD = threading.Lock()


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
        for name, url in (
            ("token_url", token_url),
            ("revoke_url", revoke_url),
            ("authorize_url", authorize_url),
        ):
            _require_https(name, url)
        if redirect_uri is not None:
            _require_https("redirect_uri", redirect_uri)
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.token_store: TokenStore = (
            token_store if token_store is not None else MemoryTokenStore()
        )
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
        self._guard = threading.Lock()
        self._cache: dict[str, QuickBooksToken] = {}
        self._unsaved: dict[str, QuickBooksToken] = {}
        self._revoked: set[str] = set()
        self._states: dict[str, datetime] = {}

    def __repr__(self) -> str:
        return (
            f"QuickBooksAuth(client_id={self.client_id!r}, environment={self.environment!r}, "
            f"token_store={self.token_store!r})"
        )

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
        state = state or secrets.token_urlsafe(32)
        now = self._now()
        with self._guard:
            self._prune_states(now)
            self._states[state] = now
        query = urlencode(
            {
                "client_id": self.client_id,
                "response_type": "code",
                "scope": " ".join(self.scopes),
                "redirect_uri": redirect_uri,
                "state": state,
            },
            quote_via=quote,
        )
        separator = "&" if urlsplit(self.authorize_url).query else "?"
        return f"{self.authorize_url}{separator}{query}", state

    @staticmethod
    def parse_redirect(url: str) -> tuple[str, str, str]:
        """``(code, realm_id, state)`` from the URL Intuit redirected the user to."""
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}
        error = params.get("error")
        if error:
            message = (
                "the user declined to connect the QuickBooks company"
                if error == "access_denied"
                else "QuickBooks authorization failed"
            )
            raise AuthenticationError(
                message,
                backend=_BACKEND,
                code=error,
                detail=params.get("error_description"),
                hint="Start the authorization flow again",
            )
        missing = [name for name in ("code", "realmId", "state") if not params.get(name)]
        if missing:
            raise AuthenticationError(
                f"the authorization redirect lacks {', '.join(missing)}",
                backend=_BACKEND,
                hint="Pass the full URL Intuit redirected to, query string included",
            )
        return params["code"], params["realmId"], params["state"]

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
        self._check_state(state, expected_state)
        if not code or not realm_id:
            raise ConfigurationError("exchange_code needs the code and the realm id")
        redirect_uri = self._require_redirect_uri()
        body = self._post_token(
            session,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            realm_id=realm_id,
            extra_secrets=(code,),
            retry_lost=False,
            grant_hint="The authorization code expired (they live minutes) or was already "
            "used: start the authorization flow again",
        )
        token = QuickBooksToken.from_response(body, now=self._now(), realm_id=realm_id)
        with self._lock(realm_id):
            self.token_store.save(realm_id, token)
            with self._guard:
                self._cache[realm_id] = token
                self._unsaved.pop(realm_id, None)
                self._revoked.discard(realm_id)
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
        with self._guard:
            token = self._cache.get(realm_id)
        if token is None or not token.access_valid(now, self.refresh_margin):
            token = self._load(realm_id)
        if token.access_valid(now, self.refresh_margin):
            self._remember(realm_id, token)
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
        with self._guard:
            cached = self._cache.get(realm_id)
        current = cached or self._load(realm_id)
        return self._refresh(realm_id, session, failed_access=current.access_token)

    def revoke(self, realm_id: str, *, session: requests.Session | None = None) -> bool:
        """Revoke the company's tokens at Intuit and forget them here.

        Returns False when there was nothing to revoke. Revoking is idempotent, so
        connection failures are retried even after the request may have been sent.
        A store with a ``delete(realm_id)`` method has the record removed; for other
        stores this object remembers the realm as revoked for the rest of the process.
        """
        with self._lock(realm_id):
            with self._guard:
                revoked = realm_id in self._revoked
                pending = self._unsaved.get(realm_id)
            token = None if revoked else pending or self.token_store.load(realm_id)
            if token is None:
                return False
            try:
                self._send(
                    session,
                    self.revoke_url,
                    realm_id=realm_id,
                    json_body={"token": token.refresh_token},
                    retry_lost=True,
                    extra_secrets=token.secret_values(),
                )
            except ErpSyncError as exc:
                if exc.http_status not in (400, 404):
                    raise
                # Intuit no longer knows the token, which is what revoking wants.
                _log.info("QuickBooks company %s: token already invalid at Intuit", realm_id)
            delete = getattr(self.token_store, "delete", None)
            if callable(delete):
                delete(realm_id)
            with self._guard:
                if not callable(delete):
                    # The store still holds the dead token; remember not to use it.
                    self._revoked.add(realm_id)
                self._cache.pop(realm_id, None)
                self._unsaved.pop(realm_id, None)
        _log.info("QuickBooks company %s disconnected (tokens revoked)", realm_id)
        return True

    # -- the refresh --------------------------------------------------------------------

    def _renew(self, realm_id: str, failed_access: str, session: requests.Session | None) -> bool:
        """Called on a 401: True when there is a different token worth retrying with."""
        with self._guard:
            if realm_id in self._revoked:
                return False
            pending = self._unsaved.get(realm_id)
        current = pending or self.token_store.load(realm_id)
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
        with self._lock(realm_id):
            now = self._now()
            current = self._load_for_refresh(realm_id)
            if current.access_valid(now, self.refresh_margin) and (
                failed_access is None or current.access_token != failed_access
            ):
                # Another thread or process refreshed while we waited for the lock.
                self._remember(realm_id, current)
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
            body = self._post_token(
                session,
                {"grant_type": "refresh_token", "refresh_token": current.refresh_token},
                realm_id=realm_id,
                extra_secrets=current.secret_values(),
                retry_lost=self.retry_lost_refresh,
                grant_hint=RECONNECT_HINT,
            )
            try:
                fresh = QuickBooksToken.from_response(body, now=self._now(), realm_id=realm_id)
            except ErpSyncError as exc:
                raise exc.with_context(
                    hint="The refresh answer was unusable; the previous refresh token may "
                    "already be spent. " + RECONNECT_HINT + " if the next call fails too"
                ) from None
            if fresh.refresh_hard_expires_at is None and current.refresh_hard_expires_at:
                # A refresh does not move the hard limit; keep knowing it.
                fresh = replace(fresh, refresh_hard_expires_at=current.refresh_hard_expires_at)
            self._save(realm_id, fresh)
        _log.info(
            "QuickBooks company %s: token refreshed, access valid until %s%s",
            realm_id,
            fresh.access_expires_at.isoformat(),
            " (refresh token rotated)" if fresh.refresh_token != current.refresh_token else "",
        )
        self._maybe_warn_hard_expiry(realm_id, fresh, self._now())
        return fresh

    def _load_for_refresh(self, realm_id: str) -> QuickBooksToken:
        """The token to refresh from, inside the lock, retrying an earlier failed save."""
        stored = self._load(realm_id)
        with self._guard:
            pending = self._unsaved.get(realm_id)
        if pending is None:
            return stored
        if stored.obtained_at and pending.obtained_at and stored.obtained_at >= pending.obtained_at:
            # Someone else stored a newer token since; ours is obsolete.
            with self._guard:
                self._unsaved.pop(realm_id, None)
            return stored
        self._save(realm_id, pending)
        return pending

    def _save(self, realm_id: str, token: QuickBooksToken) -> None:
        try:
            self.token_store.save(realm_id, token)
        except BaseException:
            with self._guard:
                self._unsaved[realm_id] = token
                self._cache.pop(realm_id, None)
            _log.error(
                "QuickBooks company %s: the refreshed token could NOT be saved in %r; it is "
                "kept in memory and saving is retried on the next call, but if this "
                "process stops first the company may have to be reconnected",
                realm_id,
                self.token_store,
            )
            raise
        with self._guard:
            self._unsaved.pop(realm_id, None)
            self._cache[realm_id] = token

    def _load(self, realm_id: str) -> QuickBooksToken:
        with self._guard:
            revoked = realm_id in self._revoked
        token = None if revoked else self.token_store.load(realm_id)
        if token is None:
            raise AuthenticationError(
                f"no QuickBooks token stored for company {realm_id}",
                backend=_BACKEND,
                reconnect_required=True,
                hint=RECONNECT_HINT,
            )
        return token

    def _remember(self, realm_id: str, token: QuickBooksToken) -> None:
        with self._guard:
            self._cache[realm_id] = token

    @contextlib.contextmanager
    def _lock(self, realm_id: str) -> Iterator[None]:
        store_lock = getattr(self.token_store, "lock", None)
        if callable(store_lock):
            context: AbstractContextManager[None] = store_lock(realm_id)
            with context:
                yield
            return
        key = (id(self.token_store), realm_id)
        with _LOCAL_LOCKS_GUARD:
            lock = _LOCAL_LOCKS.setdefault(key, threading.RLock())
        with lock:
            yield

    def _maybe_warn_hard_expiry(self, realm_id: str, token: QuickBooksToken, now: datetime) -> None:
        hard = token.refresh_hard_expires_at
        if hard is None or now < hard - self.hard_expiry_warning:
            return
        with _HARD_EXPIRY_GUARD:
            if realm_id in _HARD_EXPIRY_WARNED:
                return
            _HARD_EXPIRY_WARNED.add(realm_id)
        _log.warning(
            "QuickBooks company %s must be reconnected by %s: its authorization reaches "
            "Intuit's 5-year limit then and cannot be refreshed after it. %s",
            realm_id,
            hard.strftime("%Y-%m-%d %H:%M %Z"),
            RECONNECT_HINT,
        )

    # -- talking to the token endpoint --------------------------------------------------

    def _post_token(
        self,
        session: requests.Session | None,
        form: Mapping[str, str],
        *,
        realm_id: str,
        extra_secrets: Sequence[str],
        retry_lost: bool,
        grant_hint: str,
    ) -> dict[str, Any]:
        response = self._send(
            session,
            self.token_url,
            form=form,
            realm_id=realm_id,
            retry_lost=retry_lost,
            extra_secrets=extra_secrets,
            grant_hint=grant_hint,
        )
        return json_object(
            response,
            backend=_BACKEND,
            record=f"company {realm_id}",
            exact=False,
            request_id=_request_id(response),
        )

    def _send(
        self,
        session: requests.Session | None,
        url: str,
        *,
        realm_id: str,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
        retry_lost: bool,
        extra_secrets: Sequence[str],
        grant_hint: str = "",
    ) -> requests.Response:
        """POST with client authentication through the shared Transport; only the
        retries the module docstring allows (:class:`_TokenEndpointRetries`)."""
        retries = _TokenEndpointRetries(retry_lost=retry_lost, url=url)

        def decode(response: requests.Response) -> ErpSyncError:
            hint = grant_hint
            if retries.lost:
                hint = (
                    "An earlier answer from Intuit was lost on the way, and the refresh token "
                    "it would have replaced is no longer accepted. " + grant_hint
                )
            return self._error_from(response, realm_id, extra_secrets, hint)

        options = TransportOptions(
            session=session or self._session,
            sleep=self._sleep,
            timeout=Timeout(connect=min(10.0, self.timeout), read=self.timeout),
            retry=RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=2.0, checker=retries),
        )
        transport = Transport(
            backend=_BACKEND,
            base_url=url,
            decode_error=decode,
            auth=HTTPBasicAuth(self.client_id, self._client_secret),
            options=options,
            request_id_headers=REQUEST_ID_HEADERS,
        )
        return transport.request(
            "POST",
            url,
            data=form,
            json=json_body,
            headers={"Accept": "application/json", HARD_EXPIRY_HEADER: "true"},
            idempotent=False,
            record=f"company {realm_id}",
        )

    def _error_from(
        self,
        response: requests.Response,
        realm_id: str,
        extra_secrets: Sequence[str],
        grant_hint: str,
    ) -> ErpSyncError:
        status = response.status_code
        raw = self._redact(response.text, extra_secrets)
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        code = error if isinstance(error, str) else None
        detail = self._redact(description, extra_secrets) if isinstance(description, str) else None
        common: dict[str, Any] = {
            "backend": _BACKEND,
            "record": f"company {realm_id}",
            "http_status": status,
            "code": code,
            "detail": detail,
            "request_id": _request_id(response),
            "raw": raw,
        }
        if code == "invalid_grant":
            return AuthenticationError(
                "the grant is no longer valid", reconnect_required=True, hint=grant_hint, **common
            )
        if code == "invalid_client" or status == 401:
            return AuthenticationError("the app's client credentials", hint=_CLIENT_HINT, **common)
        if status == 429:
            return RateLimitError("token endpoint throttled the app", **common)
        if status >= 500:
            return ServiceError("token endpoint failed", retryable=True, **common)
        return AuthenticationError("token endpoint refused the request", **common)

    # -- small helpers ------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigurationError("the clock must return timezone-aware datetimes")
        return now

    def _redact(self, text: str, extra: Sequence[str] = ()) -> str:
        with self._guard:
            known = [s for t in self._cache.values() for s in t.secret_values()]
        return redact(text, self._client_secret, *extra, *known)

    def _require_redirect_uri(self) -> str:
        if not self.redirect_uri:
            raise ConfigurationError(
                "QuickBooksAuth needs redirect_uri for the authorization flow "
                "(the URL registered for the app in the Intuit developer portal)"
            )
        return self.redirect_uri

    def _prune_states(self, now: datetime) -> None:
        for key in [k for k, t in self._states.items() if now - t > _STATE_TTL]:
            del self._states[key]
        while len(self._states) >= _STATE_CAPACITY:
            del self._states[next(iter(self._states))]

    def _check_state(self, state: str | None, expected_state: str | None) -> None:
        if expected_state is not None:
            ok = bool(state) and hmac.compare_digest(
                (state or "").encode(), expected_state.encode()
            )
        else:
            with self._guard:
                self._prune_states(self._now())
                ok = bool(state) and self._states.pop(state or "", None) is not None
        if not ok:
            _log.warning(
                "QuickBooks authorization redirect with an unknown or mismatched state: "
                "possible CSRF attempt, the code was not exchanged"
            )
            raise AuthenticationError(
                "the OAuth state of the redirect does not match one this app issued "
                "(possible cross-site request forgery, or the flow expired)",
                backend=_BACKEND,
                hint="Start the authorization flow again",
            )


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


# -- module helpers ---------------------------------------------------------------------


def _request_id(response: requests.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


class _TokenEndpointRetries:
    """What the token endpoint retries (one object per POST, since it counts).

    Failures before anything was sent, up to twice: they cannot have spent a refresh
    token. A lost answer (sent, no reply) once, and only when ``retry_lost``: Intuit may
    have rotated the token, and the same old one is all we hold (module docstring).
    Nothing else: an answer, even a 5xx or a 429, is the caller's to handle.
    """

    def __init__(self, *, retry_lost: bool, url: str) -> None:
        self.retry_lost = retry_lost
        self.url = url
        self.unsent = 0
        self.lost = 0

    def is_retryable(self, context: AttemptContext) -> bool:
        if context.http_status is not None or not context.transient:
            return False
        if not context.sent:
            self.unsent += 1
            return self.unsent <= _NOT_SENT_RETRIES
        if self.retry_lost and not self.lost:
            self.lost += 1
            _log.warning("no answer from %s; trying once more with the same credentials", self.url)
            return True
        return False


def _require_https(name: str, url: str) -> None:
    check_url(url, name, backend=_BACKEND)
