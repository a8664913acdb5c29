"""Connecting erpsync's own backends to the emulators (``fake.backend()``).

The emulators themselves speak only the wire; this module is the one place in
``erpsync.testing`` that knows the SDK's clients, and it imports them lazily so that a
user testing a different client never loads them.

Both helpers share the emulator's clock with the auth objects: OAuth 1.0a timestamps,
JWT lifetimes and access-token expiry are judged by the emulator's clock, so a test that
moves a :class:`~erpsync.testing.core.emulator.FakeClock` forward sees tokens expire on both
sides at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from erpsync.errors import ConfigurationError
from erpsync.limits import LocalLimiter, RateLimit
from erpsync.quickbooks import wire as qbo_wire
from erpsync.testing.core.emulator import Emulator, FakeClock, clock_datetime

if TYPE_CHECKING:
    from erpsync.netsuite.backend import NetSuiteBackend
    from erpsync.quickbooks.backend import QuickBooksBackend
    from erpsync.quickbooks.tokens import TokenStore
    from erpsync.testing.netsuite import FakeNetSuite
    from erpsync.testing.quickbooks import FakeQuickBooks, QuickBooksCredentials

__all__ = ["connect_quickbooks", "netsuite_backend", "quickbooks_backend"]

#: QuickBooks access tokens live an hour; the pre-issued pair is treated as fresh.
_ACCESS_LIFETIME = qbo_wire.ACCESS_TOKEN_LIFETIME
_REFRESH_LIFETIME = qbo_wire.REFRESH_TOKEN_LIFETIME


def _require_reachable(fake: Emulator) -> str | None:
    """The served base URL, or None when the emulator intercepts in-process.

    A backend built while the emulator is neither started nor served would send its
    requests to the real ERP hosts; refusing early is kinder than a connection error.
    """
    if fake.served_url:
        return fake.served_url
    if fake.active:
        return None
    raise ConfigurationError(
        f"{fake.service_name} emulator is not running: use `with fake:` (in-process) or "
        "`fake.serve()` (loopback server) before asking it for a backend"
    )


def _timing(fake: Emulator) -> tuple[Callable[[], float], Callable[[float], None]]:
    """The clock and sleep a backend should use to live in the emulator's time.

    On a FakeClock, waiting (backoff, rate windows) advances the emulator's time instead
    of the test's wall clock; otherwise real monotonic time.
    """
    if isinstance(fake.clock, FakeClock):
        return fake.clock.now, fake.clock.sleep
    return time.monotonic, time.sleep


def _runtime_options(fake: Emulator) -> dict[str, Any]:
    """Limiter, clock, sleep and randomness for a backend talking to ``fake``.

    The limiter mirrors the emulator's governance exactly (no margin: the limiter counts
    a request until a window after its answer, so it never admits one the emulator would
    refuse, see :mod:`erpsync.limits.local`) and belongs to this backend alone: the
    process-wide per-tenant limiter would carry one test's throttling into the next test
    that happens to use the same company id.
    """
    clock, sleep = _timing(fake)
    governance = fake.governance
    limiter = LocalLimiter(clock=clock, sleep=sleep, name=f"{fake.service_name} emulator")
    if governance.enabled:
        limiter = LocalLimiter(
            concurrency=governance.concurrency,
            rates=[
                RateLimit(
                    window.count,
                    window.seconds * governance.time_scale,
                    scope=window.scope,
                )
                for window in governance.windows
            ],
            clock=clock,
            sleep=sleep,
            name=f"{fake.service_name} emulator",
        )
    return {"limiter": limiter, "clock": clock, "sleep": sleep, "rng": random.Random(fake.seed)}


def quickbooks_backend(
    fake: FakeQuickBooks,
    *,
    token_store: TokenStore | None = None,
    realm_id: str | None = None,
    **backend_options: Any,
) -> QuickBooksBackend:
    """A QuickBooksBackend connected to one of ``fake``'s companies (default: the first)
    with the emulator's pre-issued tokens for it."""
    from erpsync.quickbooks.auth import QuickBooksAuth
    from erpsync.quickbooks.backend import QuickBooksBackend
    from erpsync.quickbooks.tokens import MemoryTokenStore, QuickBooksToken

    served = _require_reachable(fake)
    creds = fake.credentials if realm_id is None else fake.credentials_for(realm_id)
    store: TokenStore = token_store if token_store is not None else MemoryTokenStore()
    if store.load(creds.realm_id) is None:
        now = clock_datetime(fake.clock)
        store.save(
            creds.realm_id,
            QuickBooksToken(
                access_token=creds.access_token,
                refresh_token=creds.refresh_token,
                access_expires_at=fake.access_token_expires_at(creds.access_token)
                or now + _ACCESS_LIFETIME,
                refresh_expires_at=now + _REFRESH_LIFETIME,
                realm_id=creds.realm_id,
                obtained_at=now,
            ),
        )
    runtime = _runtime_options(fake)
    auth_options: dict[str, Any] = {
        "clock": lambda: clock_datetime(fake.clock),
        "sleep": runtime["sleep"],
    }
    if served:
        auth_options["token_url"] = f"{served}/oauth2/v1/tokens/bearer"
        auth_options["revoke_url"] = f"{served}/v2/oauth2/tokens/revoke"
        auth_options["authorize_url"] = f"{served}/connect/oauth2"
        backend_options.setdefault("base_url", served)
    auth = QuickBooksAuth(
        creds.client_id,
        creds.client_secret,
        redirect_uri=creds.redirect_uri,
        token_store=store,
        **auth_options,
    )
    options = {**runtime, "now": lambda: clock_datetime(fake.clock), **backend_options}
    return QuickBooksBackend(realm_id=creds.realm_id, auth=auth, **options)


def netsuite_backend(
    fake: FakeNetSuite,
    *,
    auth: Literal["tba", "m2m"] = "tba",
    **backend_options: Any,
) -> NetSuiteBackend:
    """A NetSuiteBackend connected to ``fake`` by token-based auth or OAuth 2.0 M2M."""
    from erpsync.netsuite.auth import ClientCredentialsAuth, NetSuiteAuth, TokenBasedAuth
    from erpsync.netsuite.backend import NetSuiteBackend

    served = _require_reachable(fake)
    creds = fake.credentials
    clock = fake.clock.now
    credentials: NetSuiteAuth
    if auth == "tba":
        credentials = TokenBasedAuth(
            creds.consumer_key,
            creds.consumer_secret,
            creds.token_id,
            creds.token_secret,
            clock=clock,
        )
    elif auth == "m2m":
        credentials = ClientCredentialsAuth(
            creds.client_id,
            creds.certificate_id,
            creds.private_key_pem,
            clock=clock,
        )
    else:
        raise ConfigurationError(f"auth must be 'tba' or 'm2m', not {auth!r}")
    if served:
        backend_options.setdefault("base_url", served)
    if fake.pdf_restlet is not None:
        backend_options.setdefault("pdf_restlet", fake.pdf_restlet)
    # The backend reads SuiteQL date-times in the zone the emulated account shows them in,
    # as a user configures it for a real account.
    backend_options.setdefault("time_zone", fake.time_zone)
    options = {**_runtime_options(fake), **backend_options}
    return NetSuiteBackend(account_id=creds.account_id, auth=credentials, **options)


def connect_quickbooks(
    url: str,
    credentials: QuickBooksCredentials,
    *,
    token_store: TokenStore | None = None,
    **backend_options: Any,
) -> QuickBooksBackend:
    """A QuickBooksBackend for a FakeQuickBooks served at ``url``, from any process.

    ``fake.backend()`` works only in the emulator's own process; a worker (Celery, RQ,
    ``multiprocessing``) gets the served URL and :attr:`FakeQuickBooks.credentials` (a
    frozen dataclass: picklable) and builds its own backend here::

        url = fake.serve()
        pool.map(work, [(url, fake.credentials)] * 8)   # each worker:
        backend = connect_quickbooks(url, credentials)

    The token pair is seeded into ``token_store`` (a MemoryTokenStore by default; pass a
    shared store such as PostgresTokenStore so workers rotate tokens once) unless it
    already holds one for the realm. Other options (``limiter=`` a RedisLimiter shared
    by every worker, ``retry=``...) go to the backend. Clients in other languages read
    the same credentials from ``GET {url}/_erpsync/credentials``.
    """
    from erpsync.quickbooks.auth import QuickBooksAuth
    from erpsync.quickbooks.backend import QuickBooksBackend
    from erpsync.quickbooks.tokens import MemoryTokenStore, QuickBooksToken

    base = str(url).rstrip("/")
    store: TokenStore = token_store if token_store is not None else MemoryTokenStore()
    if store.load(credentials.realm_id) is None:
        now = datetime.now(UTC)
        store.save(
            credentials.realm_id,
            QuickBooksToken(
                access_token=credentials.access_token,
                refresh_token=credentials.refresh_token,
                access_expires_at=now + _ACCESS_LIFETIME,
                refresh_expires_at=now + _REFRESH_LIFETIME,
                realm_id=credentials.realm_id,
                obtained_at=now,
            ),
        )
    auth = QuickBooksAuth(
        credentials.client_id,
        credentials.client_secret,
        redirect_uri=credentials.redirect_uri,
        token_store=store,
        token_url=f"{base}/oauth2/v1/tokens/bearer",
        revoke_url=f"{base}/v2/oauth2/tokens/revoke",
        authorize_url=f"{base}/connect/oauth2",
    )
    backend_options.setdefault("base_url", base)
    return QuickBooksBackend(realm_id=credentials.realm_id, auth=auth, **backend_options)
