"""FakeQuickBooks: an offline QuickBooks Online, for your integration's tests.

Like moto for AWS, it is meant for users: point any QuickBooks client at it (erpsync's,
python-quickbooks with intuit-oauth, your own ``requests`` code) and it answers as
Intuit does, awkward parts included (expiring and rotating tokens, SyncTokens, the
three error shapes, the query language's limits, throttling as XML)::

    fake = FakeQuickBooks(clock=FakeClock())
    with fake:                                   # intercepts the real Intuit hosts
        token = fake.credentials.access_token    # an app and a connected token pair
        requests.post(f"https://quickbooks.api.intuit.com/v3/company/{fake.realm_id}/customer",
                      json={"DisplayName": "Acme"}, headers={"Authorization": f"Bearer {token}"})
    fake.records("Customer")                     # wire-format state, for assertions
    url = fake.serve()                           # or over loopback HTTP; fake.shutdown()

What it covers: OAuth 2.0 (discovery documents, consent redirect and
:meth:`FakeQuickBooks.authorize` for tests without a browser, code and refresh grants,
refresh tokens as documented or strictly single use, OpenID ``id_token``, revoke, expiry
by the emulator clock); the data API for every entity of the catalogue
(:mod:`.catalogue`: customers to journal entries), with SyncTokens, sparse and full
updates, delete/void, the name and number uniqueness rules, computed totals and
payment application; queries, batch, change data capture, invoice PDFs and e-mail
sending; ``requestid`` replay; webhooks (queued, delivered by ``fake.webhooks.flush()``);
the real governance limits; the three error shapes. Every answer has an ``intuit_tid``.

Not covered: XML request/response bodies (``Accept: application/xml``), attachment
uploads, reports, sales tax calculation, and sub-customers/jobs. Exact wording of a few
faults could not be confirmed from public reports (batch size, MAXRESULTS, CDC
lookback, over-application); they use the real shape and codes.
"""

from __future__ import annotations

import copy
import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit

from erpsync.errors import ConfigurationError
from erpsync.quickbooks import wire
from erpsync.testing.core.emulator import (
    Clock,
    Emulator,
    FaultPlan,
    Governance,
    Latency,
    Window,
    clock_datetime,
)
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.quickbooks.api import REPLAY_MEMORY, DataApi
from erpsync.testing.quickbooks.catalogue import ENTITIES
from erpsync.testing.quickbooks.company import Change, Company
from erpsync.testing.quickbooks.control import CONTROL_PREFIX, control
from erpsync.testing.quickbooks.errors import (
    THROTTLE_XML,
    QboFault,
    authorization_failed,
    system_failure,
)
from erpsync.testing.quickbooks.oauth import (
    ACCOUNTING_SCOPE,
    AUTHORIZE_PATH,
    DISCOVERY_PATHS,
    JWKS_PATH,
    KNOWN_SCOPES,
    REVOKE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    OAuthServer,
)
from erpsync.testing.quickbooks.seed import seed
from erpsync.testing.quickbooks.webhooks import Subscription, WebhookDelivery, Webhooks, sign

if TYPE_CHECKING:
    from erpsync.quickbooks.backend import QuickBooksBackend

__all__ = [
    "QBO_GOVERNANCE",
    "AuthorizationGrant",
    "FakeQuickBooks",
    "QuickBooksCredentials",
    "RecordedRequest",
    "Subscription",
    "WebhookDelivery",
    "Webhooks",
    "sign",
]

#: Intuit's published limits per company and app: 10 in flight, 500 a minute, 10 a
#: second, 40 batch requests a minute.
QBO_GOVERNANCE = Governance(
    concurrency=wire.MAX_CONCURRENT_REQUESTS,
    windows=(
        Window(wire.REQUESTS_PER_MINUTE, 60),
        Window(wire.REQUESTS_PER_SECOND, 1),
        Window(wire.BATCHES_PER_MINUTE, 60, scope=wire.BATCH_SCOPE),
    ),
)

#: How many data API requests ``FakeQuickBooks.requests`` keeps (older ones are dropped).
REQUEST_LOG_SIZE = 10_000

_log = logging.getLogger("erpsync.testing")
_DATA_PREFIX = wire.DATA_PREFIX
_DAY = wire.REFRESH_TOKEN_ROTATION_AGE.total_seconds()

#: How refresh answers treat the refresh token (see ``FakeQuickBooks(refresh_tokens=)``).
RefreshTokens = Literal["rolling", "single_use"]
_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class QuickBooksCredentials:
    """A registered app and a token pair already issued for the company, so a client can
    connect without the consent step. The repr hides every secret."""

    client_id: str
    client_secret: str = field(repr=False)
    realm_id: str
    redirect_uri: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    verifier_token: str = field(repr=False)


@dataclass(frozen=True)
class AuthorizationGrant:
    """What the consent redirect carries: exchange ``code`` at the token endpoint."""

    code: str = field(repr=False)
    realm_id: str
    state: str | None


@dataclass(frozen=True)
class RecordedRequest:
    """One data API request as the emulator served it (for assertions)."""

    method: str
    path: str
    params: dict[str, list[str]]
    minor_version: int
    requested_minor_version: str | None
    request_id: str | None
    status: int
    intuit_tid: str


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _intercept_prefixes() -> tuple[str, ...]:
    """Every Intuit host a client talks to (data API, OAuth, discovery, userinfo)."""
    urls = (
        wire.PRODUCTION_URL,
        wire.SANDBOX_URL,
        wire.AUTHORIZE_URL,
        wire.TOKEN_URL,
        wire.REVOKE_URL,
        *wire.DISCOVERY_URLS.values(),
        *wire.USERINFO_URLS.values(),
    )
    return tuple(dict.fromkeys(_origin(url) for url in urls))


def _id_order(record: dict[str, Any]) -> tuple[int, int, str]:
    """Numeric ids in number order, then the named ones (tax codes ``TAX``, ``NON``)."""
    text = str(record.get("Id", ""))
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _random_text(rng: random.Random, length: int, alphabet: str = _ALPHANUMERIC) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


class FakeQuickBooks(Emulator):
    """One QuickBooks Online company with one registered app, in memory.

    ::

        fake = FakeQuickBooks(clock=FakeClock())   # a seeded company, tokens issued
        with fake:                                 # or: url = fake.serve(); fake.shutdown()
            qb = fake.backend()                    # or any client with fake.credentials
            qb.create_invoice(invoice)
        fake.records("Invoice")                    # wire-format deep copies, for assertions

    Knobs: ``governance=QBO_GOVERNANCE`` (500/min, 10/s, 10 in flight, 40 batches/min;
    ``None`` turns limits off), ``latency=0.2`` or ``Latency(...)``,
    ``faults=FaultPlan(rates=..., seed=...)`` or ``fake.inject("drop" | "lose_response"
    | "server_error" | "throttle" | "slow")``, ``seed_data=False`` for an empty company,
    ``refresh_grace_seconds`` for refresh-token rotation,
    ``refuse_duplicate_doc_numbers=False`` for a company that accepts duplicate invoice
    numbers; ``fake.clock.advance(3600)``
    expires the access token; ``fake.reset()`` returns to the constructed state.
    """

    intercept_prefixes = _intercept_prefixes()
    service_name = "QuickBooks"

    def __init__(
        self,
        *,
        realm_id: str = "9130350000000000",
        clock: Clock | None = None,
        latency: Latency | float | None = None,
        faults: FaultPlan | None = None,
        governance: Governance | None = QBO_GOVERNANCE,
        seed: int = 0,
        refresh_grace_seconds: float | None = None,
        refresh_tokens: RefreshTokens = "rolling",
        seed_data: bool = True,
        refuse_duplicate_doc_numbers: bool = True,
        requestid_memory: int = REPLAY_MEMORY,
    ) -> None:
        """``governance=None`` disables the limits; ``refresh_tokens="rolling"`` (the
        default, as Intuit documents it) answers a refresh with the same refresh token
        while it is younger than a day and then rotates it, ``"single_use"`` rotates on
        every refresh (erpsync's own rotation tests use it: a lost rotation then shows
        as ``invalid_grant``); ``refresh_grace_seconds`` keeps a rotated-away refresh
        token usable that long (default: a day when rolling, 0 when single use);
        ``seed_data=False`` starts with no customers, vendors or items;
        ``refuse_duplicate_doc_numbers=False`` accepts a second invoice with a number
        already in use, as QuickBooks does when the company's "warn if duplicate number"
        preference is off (default: refused with 6140, as with the warning on). It can
        be changed later through the attribute of the same name. ``requestid_memory``
        is how many ``requestid`` answers are kept for replay (oldest forgotten first)."""
        super().__init__(
            clock=clock, latency=latency, faults=faults, governance=governance, seed=seed
        )
        if not str(realm_id).isdigit():
            raise ConfigurationError(f"realm_id is a string of digits, not {realm_id!r}")
        if (
            isinstance(requestid_memory, bool)
            or not isinstance(requestid_memory, int)
            or (requestid_memory < 1)
        ):
            raise ConfigurationError(
                f"requestid_memory must be an int >= 1, not {requestid_memory!r}"
            )
        self.requestid_memory = requestid_memory
        if refresh_tokens not in ("rolling", "single_use"):
            raise ConfigurationError(
                f"refresh_tokens must be 'rolling' or 'single_use', not {refresh_tokens!r}"
            )
        if refresh_grace_seconds is None:
            refresh_grace_seconds = _DAY if refresh_tokens == "rolling" else 0.0
        if refresh_grace_seconds < 0:
            raise ConfigurationError("refresh_grace_seconds must be >= 0")
        self.realm_id = str(realm_id)
        self.refresh_tokens: RefreshTokens = refresh_tokens
        self.refresh_grace_seconds = float(refresh_grace_seconds)
        self.seed_data = seed_data
        self._refuse_duplicates = bool(refuse_duplicate_doc_numbers)
        self._lock = threading.RLock()
        self._throttle_explained = False
        self._tid_rng = random.Random(seed)
        #: The data API requests served, oldest first (the last ``REQUEST_LOG_SIZE``).
        self.requests: list[RecordedRequest] = []
        self._api: DataApi | None = None
        self._verifier = _random_text(random.Random(f"{seed}:verifier"), 36, "0123456789abcdef")
        #: Webhook subscriptions and their delivery queue (``fake.webhooks.flush()``).
        self.webhooks = Webhooks(self.realm_id, self._verifier, random.Random(seed))
        self._build_state()

    # -- state ---------------------------------------------------------------------------

    def _build_state(self) -> None:
        rng = random.Random(self.seed)
        self.oauth = OAuthServer(
            self.clock.now,
            rng,
            refresh_grace_seconds=self.refresh_grace_seconds,
            rolling=self.refresh_tokens == "rolling",
        )
        client_id = "AB" + _random_text(rng, 48)
        client_secret = _random_text(rng, 40)
        redirect_uri = "http://localhost:8000/callback"
        self.oauth.register_app(client_id, client_secret, (redirect_uri,))
        pair = self.oauth.connect(client_id, self.realm_id, (ACCOUNTING_SCOPE,))
        self._credentials = QuickBooksCredentials(
            client_id=client_id,
            client_secret=client_secret,
            realm_id=self.realm_id,
            redirect_uri=redirect_uri,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            verifier_token=self._verifier,
        )
        company = Company(self.realm_id, self._now, self._on_change)
        company.refuse_duplicate_doc_numbers = self._refuse_duplicates
        seed(company, self.seed_data)
        self.company = company
        if self._api is None:
            self._api = DataApi(company, self.requestid_memory)
        else:
            self._api.reset(company)

    def _now(self) -> datetime:
        return clock_datetime(self.clock)

    def _on_change(self, change: Change) -> None:
        self.webhooks.record(change.entity, change.id, change.operation, change.time)

    @property
    def refuse_duplicate_doc_numbers(self) -> bool:
        """Whether a second invoice with a DocNumber in use is refused (6140)."""
        return self._refuse_duplicates

    @refuse_duplicate_doc_numbers.setter
    def refuse_duplicate_doc_numbers(self, value: bool) -> None:
        with self._lock:
            self._refuse_duplicates = bool(value)
            self.company.refuse_duplicate_doc_numbers = self._refuse_duplicates

    @property
    def credentials(self) -> QuickBooksCredentials:
        """The registered app and its initial token pair."""
        return self._credentials

    def records(self, entity: str) -> list[dict[str, Any]]:
        """Every stored ``entity`` record in wire format (deep copies), by Id."""
        if entity not in ENTITIES:
            raise ConfigurationError(
                f"unknown QuickBooks entity {entity!r}; expected one of {', '.join(ENTITIES)}"
            )
        with self._lock:
            rows = self.company.all(entity)
        return sorted(rows, key=_id_order)

    def reset(self) -> None:
        """Back to a new emulator's state: books, tokens (re-issued identically), the
        request log, pending webhook deliveries, governance and faults. Subscriptions stay."""
        with self._lock:
            self.reset_runtime()
            self._tid_rng = random.Random(self.seed)
            self.requests.clear()
            self.webhooks.clear()
            self._build_state()

    def authorize(
        self,
        client_id: str | None = None,
        redirect_uri: str | None = None,
        scope: str = ACCOUNTING_SCOPE,
        state: str | None = None,
    ) -> AuthorizationGrant:
        """The consent step without a browser: what the redirect would carry.

        ``client_id`` may also be a whole authorization URL (as intuit-oauth's
        ``get_authorization_url`` or ``QuickBooksAuth.authorization_url`` builds it):
        its client id, redirect URI, scope and state are used.

        Validates like the authorize endpoint does (registered app and redirect URI,
        known scopes); defaults to the registered app.
        """
        if client_id is not None and "://" in client_id:
            # An authorization URL, as a client library built it: read its parameters.
            params = {k: v[0] for k, v in parse_qs(urlsplit(client_id).query).items()}
            client_id = params.get("client_id")
            redirect_uri = redirect_uri or params.get("redirect_uri")
            scope = params.get("scope", scope)
            state = state if state is not None else params.get("state")
        client_id = client_id or self._credentials.client_id
        redirect_uri = redirect_uri or self._credentials.redirect_uri
        app = self.oauth.apps.get(client_id)
        if app is None:
            raise ConfigurationError(f"no app with client_id {client_id!r} is registered")
        if redirect_uri not in app.redirect_uris:
            raise ConfigurationError("redirect_uri is not registered for this app")
        scopes = tuple(scope.split())
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if not scopes or unknown:
            raise ConfigurationError(f"unknown scope(s): {' '.join(unknown) or '(none)'}")
        with self._lock:
            code = self.oauth.grant_code(client_id, redirect_uri, scopes, self.realm_id)
        return AuthorizationGrant(code=code, realm_id=self.realm_id, state=state)

    def preferences(self) -> dict[str, Any]:
        """The company's Preferences in wire format (a copy)."""
        with self._lock:
            return copy.deepcopy(self.company.preferences())

    def set_preferences(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the Preferences, as a sparse update would, with
        QuickBooks' rules (multicurrency cannot be turned off again). For example
        ``{"SalesFormsPrefs": {"CustomTxnNumbers": True}}`` (invoices then get no
        DocNumber unless the client sends one) or ``{"CurrencyPrefs":
        {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "CAD"}}}``."""
        if not isinstance(changes, dict):
            raise ConfigurationError("set_preferences takes a dict of Preferences sections")
        with self._lock:
            current = self.company.preferences()
            body = {**changes, "Id": current["Id"], "SyncToken": current["SyncToken"]}
            try:
                return self.company.update("Preferences", body)
            except QboFault as fault:
                raise ConfigurationError(
                    f"QuickBooks would refuse these preferences: {fault.detail}",
                    field=fault.element or None,
                ) from None

    def access_token_expires_at(self, access_token: str) -> datetime | None:
        """When ``access_token`` expires by the emulator clock (None if never issued here),
        so a client seeded with :attr:`credentials` knows the true age of its token."""
        with self._lock:
            expiry = self.oauth.access_expiry(access_token)
        return None if expiry is None else datetime.fromtimestamp(expiry, UTC)

    def backend(self, **options: Any) -> QuickBooksBackend:
        """A :class:`~erpsync.quickbooks.QuickBooksBackend` connected to this company.

        It holds the pre-issued token pair of :attr:`credentials` (in a
        ``MemoryTokenStore`` unless ``token_store=`` is given) and shares the emulator's
        clock, so moving a ``FakeClock`` past an hour makes it refresh. The emulator must
        be running (``with fake:`` or ``fake.serve()``); other options go to the backend.
        """
        from erpsync.testing.connect import quickbooks_backend

        return quickbooks_backend(self, **options)

    def register_redirect_uri(self, redirect_uri: str) -> None:
        """Allow another redirect URI for the registered app (as the developer portal does)."""
        app = self.oauth.apps[self._credentials.client_id]
        if redirect_uri not in app.redirect_uris:
            app.redirect_uris = (*app.redirect_uris, redirect_uri)

    # -- the Emulator hooks ----------------------------------------------------------------

    def _dispatch(self, request: WireRequest) -> WireResponse:
        with self._lock:
            response = self._route(request)
        return self._stamp(response)

    def _route(self, request: WireRequest) -> WireResponse:
        path = request.path.rstrip("/") or "/"
        method = request.method
        served = request.host not in {p.split("://", 1)[1] for p in self.intercept_prefixes}
        if path in DISCOVERY_PATHS and method == "GET":
            return self.oauth.discovery(request, DISCOVERY_PATHS[path], served)
        if path == AUTHORIZE_PATH and method == "GET":
            return self.oauth.authorize(request, self.realm_id)
        if path == TOKEN_PATH and method == "POST":
            return self.oauth.token(request)
        if path == REVOKE_PATH and method == "POST":
            return self.oauth.revoke(request)
        if path == USERINFO_PATH and method == "GET":
            return self.oauth.userinfo(request)
        if path == JWKS_PATH and method == "GET":
            return self.oauth.jwks()
        if path.startswith(_DATA_PREFIX):
            return self._data(request, path)
        if served and path.startswith(CONTROL_PREFIX):
            return control(self, request, path)
        return WireResponse.text(404, "Not Found")

    def _data(self, request: WireRequest, path: str) -> WireResponse:
        realm, _, rest = path[len(_DATA_PREFIX) :].partition("/")
        refused = self.oauth.check_bearer(request, realm)
        if refused is not None:
            response = WireResponse.json(refused.status, refused.body, refused.headers)
        elif realm != self.realm_id:  # tokens exist only for this realm; kept as a guard
            response = WireResponse.json(403, authorization_failed(self._now()))
        else:
            assert self._api is not None
            response = self._api.handle(request, [s for s in rest.split("/") if s])
        requested = request.param("minorversion")
        try:
            minor = max(wire.MINOR_VERSION, int(requested)) if requested else wire.MINOR_VERSION
        except ValueError:
            minor = wire.MINOR_VERSION
        tid = self._new_tid()
        response.headers["intuit_tid"] = tid
        if len(self.requests) >= REQUEST_LOG_SIZE:
            del self.requests[: REQUEST_LOG_SIZE // 2]
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=path,
                params=request.query,
                minor_version=minor,
                requested_minor_version=requested,
                request_id=request.param("requestid"),
                status=response.status,
                intuit_tid=tid,
            )
        )
        return response

    def _throttled(self, request: WireRequest, reason: str) -> WireResponse:
        if not self._throttle_explained:
            self._throttle_explained = True
            _log.warning(
                "FakeQuickBooks answered 429 (%s): it enforces QuickBooks Online's limits "
                "per company (%d requests a second, %d a minute, %d in flight), as Intuit "
                "does. Clients should back off and retry; pass FakeQuickBooks(governance="
                "None) to turn the limits off. (Said once per emulator.)",
                reason,
                wire.REQUESTS_PER_SECOND,
                wire.REQUESTS_PER_MINUTE,
                wire.MAX_CONCURRENT_REQUESTS,
            )
        return self._stamp(WireResponse.text(429, THROTTLE_XML, content_type="application/xml"))

    def _server_error(self, request: WireRequest, status: int) -> WireResponse:
        fault = system_failure()
        return self._stamp(WireResponse.json(status, fault.body(self._now())))

    def _governance_scope(self, request: WireRequest) -> str | None:
        path = request.path.rstrip("/")
        if path.startswith(_DATA_PREFIX) and path.endswith("/batch"):
            return "batch"
        return None

    def _governed(self, request: WireRequest) -> bool:
        return request.path.startswith(_DATA_PREFIX)

    # -- helpers ---------------------------------------------------------------------------

    def _new_tid(self) -> str:
        with self._lock:
            bits = self._tid_rng.getrandbits(96)
        return f"1-{bits >> 64:08x}-{bits & ((1 << 64) - 1):016x}"

    def _stamp(self, response: WireResponse) -> WireResponse:
        if "intuit_tid" not in response.headers:
            response.headers["intuit_tid"] = self._new_tid()
        return response

    def __repr__(self) -> str:
        where = f", served at {self.served_url}" if self.served_url else ""
        return f"FakeQuickBooks(realm_id={self.realm_id!r}{where})"
