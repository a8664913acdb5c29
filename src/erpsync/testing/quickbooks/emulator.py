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

It covers OAuth 2.0 (discovery, consent and :meth:`FakeQuickBooks.authorize`, code and
refresh grants, rolling or single-use refresh tokens, OpenID, revoke), the data API of
every entity of :mod:`.catalogue` with its rules, queries, batch, CDC, PDFs, e-mail
sending, ``requestid`` replay, webhooks, the governance limits and the three error
shapes; several companies per emulator (:meth:`FakeQuickBooks.add_company`). What is
and is not emulated, per entity: docs/emulators.md.

Over ~400 lines, much of it docstrings: this is the public face users read (each
constructor option, control and assertion helper documented where it is); the work
behind each is in its own module (companies, realms, control, webhooks, api).
"""

from __future__ import annotations

import copy
import random
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from erpsync.quickbooks import wire
from erpsync.testing.core.emulator import (
    Clock,
    Emulator,
    FaultPlan,
    Governance,
    Latency,
    clock_datetime,
)
from erpsync.testing.core.faults import RequestMatcher
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.quickbooks import companies
from erpsync.testing.quickbooks.api import REPLAY_MEMORY
from erpsync.testing.quickbooks.company import Company
from erpsync.testing.quickbooks.errors import system_failure
from erpsync.testing.quickbooks.oauth import ACCOUNTING_SCOPE, OAuthServer
from erpsync.testing.quickbooks.realms import (
    AuthorizationGrant,
    QuickBooksCredentials,
    Realm,
    RecordedRequest,
    check_realm_id,
    random_text,
)
from erpsync.testing.quickbooks.routes import REQUEST_LOG_SIZE, Router, realm_of
from erpsync.testing.quickbooks.settings import (
    QBO_DEFAULT_GOVERNANCE,
    QBO_GOVERNANCE,
    RefreshTokens,
    check_grace,
    check_memory,
    intuit_hosts,
)
from erpsync.testing.quickbooks.webhooks import Subscription, WebhookDelivery, Webhooks, sign

if TYPE_CHECKING:
    from erpsync.quickbooks.backend import QuickBooksBackend

__all__ = [
    "QBO_DEFAULT_GOVERNANCE",
    "QBO_GOVERNANCE",
    "REQUEST_LOG_SIZE",
    "AuthorizationGrant",
    "FakeQuickBooks",
    "QuickBooksCredentials",
    "Realm",
    "RecordedRequest",
    "Subscription",
    "WebhookDelivery",
    "Webhooks",
    "sign",
]

_REDIRECT_URI = "http://localhost:8000/callback"


class FakeQuickBooks(Emulator):
    """QuickBooks Online companies with one registered app, in memory.

    ::

        fake = FakeQuickBooks(clock=FakeClock())   # a seeded company, tokens issued
        with fake:                                 # or: url = fake.serve(); fake.shutdown()
            qb = fake.backend()                    # or any client with fake.credentials
            qb.create_invoice(invoice)
        fake.records("Invoice")                    # wire-format deep copies, for assertions
        other = fake.add_company()                 # a second company: its own books,
        fake.backend(realm_id=other.realm_id)      # tokens, preferences and limits

    Knobs: ``governance=`` (default ``QBO_DEFAULT_GOVERNANCE``: 10 in flight, per
    company; ``QBO_GOVERNANCE`` adds Intuit's request windows, 500/min, 10/s and 40
    batches/min, which only a client at loopback speed would reach sequentially; ``None``
    turns limits off), ``latency=0.2`` or ``Latency(...)``,
    ``faults=FaultPlan(rates=..., seed=...)`` or ``fake.inject("drop" | "lose_response"
    | "server_error" | "throttle" | "slow", realm_id=...)``, ``seed_data=False`` for an
    empty company, ``sample_transactions=True`` for a sandbox's invoices, payments and
    estimates, ``refresh_grace_seconds`` for refresh-token rotation,
    ``refuse_duplicate_doc_numbers=False`` for companies that accept duplicate invoice
    numbers; ``fake.clock.advance(3600)`` expires the access tokens; ``fake.reset()``
    returns to the constructed state (companies added later stay, with fresh books).
    """

    intercept_prefixes = intuit_hosts()
    service_name = "QuickBooks"

    def __init__(
        self,
        *,
        realm_id: str = "9130350000000000",
        clock: Clock | None = None,
        latency: Latency | float | None = None,
        faults: FaultPlan | None = None,
        governance: Governance | None = QBO_DEFAULT_GOVERNANCE,
        seed: int = 0,
        refresh_grace_seconds: float | None = None,
        refresh_tokens: RefreshTokens = "rolling",
        seed_data: bool = True,
        refuse_duplicate_doc_numbers: bool = True,
        requestid_memory: int = REPLAY_MEMORY,
        sample_transactions: bool = False,
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
        is how many ``requestid`` answers are kept for replay (oldest forgotten first).
        ``sample_transactions=True`` gives the company a few weeks of history, as a new
        Intuit sandbox has: 8 invoices (paid, partly paid, open, one overdue), 5 payments
        and 3 estimates, made through the API's rules (invoices then continue at 1009);
        the default is an empty ledger (the first invoice is 1001)."""
        super().__init__(
            clock=clock, latency=latency, faults=faults, governance=governance, seed=seed
        )
        self.realm_id = check_realm_id(realm_id)
        self._requestid_memory = check_memory(requestid_memory)
        self.refresh_grace_seconds = check_grace(refresh_tokens, refresh_grace_seconds)
        self.refresh_tokens: RefreshTokens = refresh_tokens
        self.seed_data = seed_data
        self.sample_transactions = companies.check_sample(seed_data, sample_transactions)
        self._refuse_duplicates = bool(refuse_duplicate_doc_numbers)
        self._lock = threading.RLock()
        self._router = Router(self, seed)
        #: The data API requests served, oldest first (the last ``REQUEST_LOG_SIZE``).
        self.requests: list[RecordedRequest] = self._router.requests
        self._verifier = random_text(random.Random(f"{seed}:verifier"), 36, "0123456789abcdef")
        #: Webhook subscriptions and their delivery queue (``fake.webhooks.flush()``).
        self.webhooks = Webhooks(self.realm_id, self._verifier, random.Random(seed))
        #: (realm id, seed data, company name, sample transactions) of every company, in
        #: the order added.
        self._plan: list[tuple[str, bool, str | None, bool]] = [
            (self.realm_id, seed_data, None, self.sample_transactions)
        ]
        self._realms: dict[str, Realm] = {}
        self._build_state()

    # -- state ---------------------------------------------------------------------------

    def _build_state(self) -> None:
        """The app, then every company with its books and first token pair. The same
        seed re-issues the same tokens, so a reset emulator is a new one."""
        rng = random.Random(self.seed)
        self.oauth = OAuthServer(
            self.clock.now,
            rng,
            refresh_grace_seconds=self.refresh_grace_seconds,
            rolling=self.refresh_tokens == "rolling",
        )
        self._app = ("AB" + random_text(rng, 48), random_text(rng, 40), _REDIRECT_URI)
        self.oauth.register_app(self._app[0], self._app[1], (_REDIRECT_URI,))
        previous, self._realms = self._realms, {}
        for realm_id, seed_data, name, sample in self._plan:
            self._realms[realm_id] = self._new_realm(realm_id, seed_data, name, sample, previous)

    def _new_realm(
        self,
        realm_id: str,
        seed_data: bool,
        name: str | None,
        sample: bool,
        previous: dict[str, Realm],
    ) -> Realm:
        pair = self.oauth.connect(self._app[0], realm_id, (ACCOUNTING_SCOPE,))
        credentials = QuickBooksCredentials(
            client_id=self._app[0],
            client_secret=self._app[1],
            realm_id=realm_id,
            redirect_uri=self._app[2],
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            verifier_token=self._verifier,
        )
        company = self._new_company(realm_id, seed_data, name, sample)
        old = previous.get(realm_id)
        api = companies.new_api(company, self.requestid_memory, old.api if old else None)
        return Realm(realm_id, company, api, credentials, seed_data, name, sample)

    def _new_company(
        self, realm_id: str, seed_data: bool, name: str | None, sample: bool
    ) -> Company:
        def on_change(change: Any) -> None:
            self.webhooks.record(
                change.entity, change.id, change.operation, change.time, realm_id=realm_id
            )

        company = Company(realm_id, self.now, on_change)
        company.refuse_duplicate_doc_numbers = self._refuse_duplicates
        companies.seed_books(company, seed_data, name, sample)
        return company

    def now(self) -> datetime:
        """The emulator clock as an aware datetime (what the books stamp)."""
        return clock_datetime(self.clock)

    @property
    def company(self) -> Company:
        """The first company's books (``fake.realm(realm_id).company`` for another)."""
        return self._realms[self.realm_id].company

    @property
    def requestid_memory(self) -> int:
        """How many requestid answers each company keeps for replay (0: none)."""
        return self._requestid_memory

    @requestid_memory.setter
    def requestid_memory(self, value: int) -> None:
        self._requestid_memory = check_memory(value)
        for realm in self._realms.values():
            realm.api.remember(self._requestid_memory)

    @property
    def refuse_duplicate_doc_numbers(self) -> bool:
        """Whether a second invoice with a DocNumber in use is refused (6140)."""
        return self._refuse_duplicates

    @refuse_duplicate_doc_numbers.setter
    def refuse_duplicate_doc_numbers(self, value: bool) -> None:
        with self._lock:
            self._refuse_duplicates = bool(value)
            for realm in self._realms.values():
                realm.company.refuse_duplicate_doc_numbers = self._refuse_duplicates

    @property
    def credentials(self) -> QuickBooksCredentials:
        """The registered app and the first company's initial token pair."""
        return self._realms[self.realm_id].credentials

    # -- companies -------------------------------------------------------------------------

    @property
    def realm_ids(self) -> tuple[str, ...]:
        """Every company's realm id, the first one first."""
        return tuple(self._realms)

    def realm(self, realm_id: str | None = None) -> Realm:
        """One company (default: the first): its books, data API and credentials."""
        return companies.find(self, realm_id)

    def add_company(
        self,
        realm_id: str | None = None,
        *,
        seed_data: bool = True,
        name: str | None = None,
        sample_transactions: bool = False,
    ) -> QuickBooksCredentials:
        """Connect the app to one more company and return its credentials (its own token
        pair: refused with 403 on any other company). ``realm_id`` defaults to the next
        free id; ``name`` is its CompanyInfo name; ``seed_data`` and
        ``sample_transactions`` as for the first (each company has its own)."""
        return companies.add(self, realm_id, seed_data, name, sample_transactions)

    def credentials_for(self, realm_id: str) -> QuickBooksCredentials:
        """The app and the initial token pair issued for ``realm_id``."""
        return self.realm(realm_id).credentials

    def records(self, entity: str, realm_id: str | None = None) -> list[dict[str, Any]]:
        """Every stored ``entity`` record of a company in wire format (deep copies), by Id."""
        return companies.records(self, entity, realm_id)

    def preferences(self, realm_id: str | None = None) -> dict[str, Any]:
        """A company's Preferences in wire format (a copy)."""
        with self._lock:
            return copy.deepcopy(self.realm(realm_id).company.preferences())

    def set_preferences(
        self, changes: dict[str, Any], realm_id: str | None = None
    ) -> dict[str, Any]:
        """Merge ``changes`` into a company's Preferences, as a sparse update would, with
        QuickBooks' rules (multicurrency cannot be turned off again). For example
        ``{"SalesFormsPrefs": {"CustomTxnNumbers": True}}`` (invoices then get no
        DocNumber unless the client sends one) or ``{"CurrencyPrefs":
        {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "CAD"}}}``."""
        return companies.set_preferences(self, changes, realm_id)

    def seed_records(
        self, records: dict[str, list[dict[str, Any]]], realm_id: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Create ``{"Customer": [{...}], "Item": [...]}`` in a company through the same
        rules as the API (a record QuickBooks would refuse raises ConfigurationError
        naming the entity and field); returns the stored records."""
        return companies.seed_records(self, records, realm_id)

    def reset_company(self, realm_id: str | None = None) -> None:
        """One company's books back to their seeded state, its ``requestid`` memory
        forgotten; its tokens and every other company are left as they are."""
        companies.reset_company(self, realm_id)

    def reset(self) -> None:
        """Back to a new emulator's state: books, tokens (re-issued identically), the
        request log, pending webhook deliveries, governance and faults. Subscriptions
        and the companies added with :meth:`add_company` stay (with fresh books)."""
        with self._lock:
            self.reset_runtime()
            self._router.reset()
            self.webhooks.clear()
            self._build_state()

    # -- OAuth -------------------------------------------------------------------------------

    def authorize(
        self,
        client_id: str | None = None,
        redirect_uri: str | None = None,
        scope: str = ACCOUNTING_SCOPE,
        state: str | None = None,
        *,
        realm_id: str | None = None,
    ) -> AuthorizationGrant:
        """The consent step without a browser: what the redirect would carry.

        ``client_id`` may also be a whole authorization URL (as intuit-oauth's
        ``get_authorization_url`` or ``QuickBooksAuth.authorization_url`` builds it):
        its client id, redirect URI, scope and state are used. ``realm_id`` is the
        company the user picks (default: the first).

        Validates like the authorize endpoint does (registered app and redirect URI,
        known scopes); defaults to the registered app.
        """
        return companies.authorize(self, client_id, redirect_uri, scope, state, realm_id)

    def access_token_expires_at(self, access_token: str) -> datetime | None:
        """When ``access_token`` expires by the emulator clock (None if never issued here),
        so a client seeded with :attr:`credentials` knows the true age of its token."""
        with self._lock:
            expiry = self.oauth.access_expiry(access_token)
        return None if expiry is None else datetime.fromtimestamp(expiry, UTC)

    def backend(self, *, realm_id: str | None = None, **options: Any) -> QuickBooksBackend:
        """A :class:`~erpsync.quickbooks.QuickBooksBackend` connected to a company
        (default: the first).

        It holds the pre-issued token pair of :meth:`credentials_for` (in a
        ``MemoryTokenStore`` unless ``token_store=`` is given) and shares the emulator's
        clock, so moving a ``FakeClock`` past an hour makes it refresh. The emulator must
        be running (``with fake:`` or ``fake.serve()``); other options go to the backend.
        """
        from erpsync.testing.connect import quickbooks_backend

        if realm_id is not None:
            options["realm_id"] = self.realm(realm_id).realm_id
        return quickbooks_backend(self, **options)

    def register_redirect_uri(self, redirect_uri: str) -> None:
        """Allow another redirect URI for the registered app (as the developer portal does)."""
        app = self.oauth.apps[self._app[0]]
        if redirect_uri not in app.redirect_uris:
            app.redirect_uris = (*app.redirect_uris, redirect_uri)

    def inject(
        self,
        kind: str,
        *,
        times: int = 1,
        match: RequestMatcher | None = None,
        status: int = 503,
        delay: float = 0.0,
        realm_id: str | None = None,
    ) -> None:
        """Make the next ``times`` requests accepted by ``match`` misbehave as ``kind``;
        with ``realm_id``, only requests to that company's data API."""
        if realm_id is not None:
            match = companies.realm_matcher(self.realm(realm_id).realm_id, match)
        super().inject(kind, times=times, match=match, status=status, delay=delay)

    # -- the Emulator hooks ----------------------------------------------------------------

    def _dispatch(self, request: WireRequest) -> WireResponse:
        with self._lock:
            response = self._router.route(request)
        return self._router.stamp(response)

    def _throttled(self, request: WireRequest, reason: str) -> WireResponse:
        return self._router.throttled(reason)

    def _server_error(self, request: WireRequest, status: int) -> WireResponse:
        fault = system_failure()
        return self._router.stamp(WireResponse.json(status, fault.body(self.now())))

    def _governance_scope(self, request: WireRequest) -> str | None:
        path = request.path.rstrip("/")
        if path.startswith(wire.DATA_PREFIX) and path.endswith("/batch"):
            return wire.BATCH_SCOPE
        return None

    def _governance_key(self, request: WireRequest) -> str | None:
        return realm_of(request.path)  # Intuit counts per company (and app)

    def _governed(self, request: WireRequest) -> bool:
        return request.path.startswith(wire.DATA_PREFIX)

    def __repr__(self) -> str:
        where = f", served at {self.served_url}" if self.served_url else ""
        more = f", {len(self._realms) - 1} more companies" if len(self._realms) > 1 else ""
        return f"FakeQuickBooks(realm_id={self.realm_id!r}{more}{where})"
