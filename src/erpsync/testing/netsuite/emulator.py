"""FakeNetSuite: an offline NetSuite account, for your integration's tests.

Like moto for AWS, it is meant for users: point any NetSuite REST client at it
(erpsync's, requests-oauthlib, your own ``requests`` code) and it answers as NetSuite
does, awkward parts included (``/work/shared/WIRE.md`` lists the facts)::

    fake = FakeNetSuite("1234567_SB1")      # real time: TBA timestamps must be current
    creds = fake.credentials                 # TBA keys + an M2M certificate and key
    with fake:                               # intercepts https://1234567-sb1.suitetalk...
        session = OAuth1Session(creds.consumer_key, creds.consumer_secret,
                                creds.token_id, creds.token_secret,
                                signature_method="HMAC-SHA256", realm=creds.account_id)
        session.get(f"{fake.base_url}/services/rest/record/v1/customer/eid:cust-acme")
    url = fake.serve()                       # or over loopback HTTP; fake.shutdown()
    fake.records("purchaseOrder")            # wire-format state, for assertions

It covers token-based authentication (OAuth 1.0a HMAC-SHA256) and OAuth 2.0 client
credentials (JWT assertions against registered certificates), every failure NetSuite's
opaque ``INVALID_LOGIN`` with the reason in :attr:`FakeNetSuite.login_audit_trail`; the
REST record service (customers, vendors, items, invoices, customer payments, purchase
orders, item receipts by transform; ``eid:`` addressing and upserts, async jobs with
idempotency keys); SuiteQL over SQLite tables shaped as NetSuite's (:mod:`.suiteql`:
``transactionline`` postings, ``deletedrecord``, dates in the account's time zone,
``FakeNetSuite(time_zone=...)``); the metadata catalog and ``governanceLimits``; the
invoice-PDF RESTlet integrations deploy; and the account-wide concurrency limit with
NetSuite's 429 (or, under TBA, the invalid login it can answer instead). Record
controls change records without a signed request (:mod:`.control`). What is and is
not emulated, per record type: docs/emulators-netsuite.md.

TBA checks ``oauth_timestamp`` against the emulator clock, so a ``FakeClock`` for TBA
clients must start near the real time (``FakeClock(time.time())``).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from erpsync.errors import ConfigurationError
from erpsync.netsuite import wire
from erpsync.testing.core.emulator import (
    Clock,
    Emulator,
    FaultPlan,
    Governance,
    Latency,
    clock_datetime,
)
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.netsuite import refusals
from erpsync.testing.netsuite.async_jobs import AsyncJobs
from erpsync.testing.netsuite.auth import Authenticator, LoginAttempt
from erpsync.testing.netsuite.control import RecordControls
from erpsync.testing.netsuite.credentials import (
    NetSuiteCredentials,
    load_certificate,
    make_credentials,
)
from erpsync.testing.netsuite.db import Database
from erpsync.testing.netsuite.errors import (
    NetSuiteFault,
    not_found,
)
from erpsync.testing.netsuite.m2m import issue_token
from erpsync.testing.netsuite.records import Account
from erpsync.testing.netsuite.restlet import (
    DEFAULT_PDF_DEPLOY,
    DEFAULT_PDF_SCRIPT,
    PDF_RESTLET_SOURCE,
    Deployment,
    RestletError,
    Restlets,
    invalid_login_attempt,
    restlet_host,
    script_ids,
)
from erpsync.testing.netsuite.routes import route
from erpsync.testing.netsuite.seed import seed_company, seed_lists
from erpsync.testing.netsuite.settings import (
    ACCOUNT_ID,
    NETSUITE_GOVERNANCE,
    TbaConcurrencyError,
    netsuite_host,
)
from erpsync.testing.netsuite.sqlfunctions import account_zone
from erpsync.testing.netsuite.suiteql import SuiteQL

if TYPE_CHECKING:
    from erpsync.netsuite.backend import NetSuiteBackend

__all__ = [
    "DEFAULT_PDF_DEPLOY",
    "DEFAULT_PDF_SCRIPT",
    "NETSUITE_GOVERNANCE",
    "PDF_RESTLET_SOURCE",
    "Deployment",
    "FakeNetSuite",
    "LoginAttempt",
    "NetSuiteCredentials",
    "netsuite_host",
    "restlet_host",
]


class FakeNetSuite(RecordControls, Emulator):
    """One NetSuite account: its credentials, records, RESTlets and limits.

    ::

        fake = FakeNetSuite("1234567_SB1", clock=FakeClock(time.time()))  # seeded account
        with fake:                                  # or: url = fake.serve(); fake.shutdown()
            ns = fake.backend(auth="tba")           # or "m2m"; any REST client works too
            ns.invoice_pdf(ns.create_invoice(invoice).id)   # the deployed PDF RESTlet
        fake.records("invoice"); fake.query("SELECT id FROM transaction")  # assertions

    Knobs: ``governance=Governance(concurrency=15)`` (``None`` turns limits off),
    ``latency=0.2`` or ``Latency(...)``, ``faults=FaultPlan(rates=..., seed=...)`` or
    ``fake.inject("drop" | "lose_response" | "server_error" | "throttle" | "slow")``,
    ``seed_data=False`` for an empty account (the seed: four customers, two vendors,
    a few items, three purchase orders), ``pdf_restlet=(script, deploy)``,
    ``tba_concurrency_error="invalid_login"`` to refuse a token-based (OAuth 1.0a)
    request over the concurrency limit (or an injected ``"throttle"``) as NetSuite
    sometimes does, with the 401 ``INVALID_LOGIN`` body of wrong credentials (a RESTlet:
    ``INVALID_LOGIN_ATTEMPT``) instead of the 429 (bearer-token requests keep the 429);
    ``time_zone="America/Los_Angeles"`` for the account's time zone, in which SuiteQL
    shows and reads date-times (default UTC; ``fake.time_zone`` changes it);
    ``fake.reset()`` returns to the constructed state; ``fake.login_audit_trail`` says
    why a login failed. TBA timestamps are checked against the emulator clock, so a
    :class:`FakeClock` for TBA clients starts near the real time.
    """

    service_name = "NetSuite"

    def __init__(
        self,
        account_id: str = "1234567_SB1",
        *,
        clock: Clock | None = None,
        latency: Latency | float | None = None,
        faults: FaultPlan | None = None,
        governance: Governance | None = NETSUITE_GOVERNANCE,
        seed: int = 0,
        seed_data: bool = True,
        pdf_restlet: tuple[str, str] | None = (DEFAULT_PDF_SCRIPT, DEFAULT_PDF_DEPLOY),
        tba_concurrency_error: TbaConcurrencyError = "429",
        time_zone: str = "UTC",
    ) -> None:
        if not isinstance(account_id, str) or not ACCOUNT_ID.match(account_id):
            raise ConfigurationError(
                f"A NetSuite account id looks like 1234567 or 1234567_SB1, not {account_id!r}."
            )
        if tba_concurrency_error not in get_args(TbaConcurrencyError):
            raise ConfigurationError(
                f"tba_concurrency_error is '429' or 'invalid_login', not {tba_concurrency_error!r}"
            )
        #: How a TBA request over the concurrency limit is refused (see the class doc).
        self.tba_concurrency_error: TbaConcurrencyError = tba_concurrency_error
        self._initial_pdf_restlet = (
            None if pdf_restlet is None else script_ids(pdf_restlet, "pdf_restlet")
        )
        super().__init__(
            clock=clock, latency=latency, faults=faults, governance=governance, seed=seed
        )
        #: The id as NetSuite writes it in the TBA realm: upper case, with ``_``.
        self.account_id = wire.realm_of(account_id)
        self.base_url = f"https://{netsuite_host(self.account_id)}"
        #: Where RESTlets are called in-process; a served emulator answers them on its
        #: own URL, next to REST.
        self.restlet_url = f"https://{restlet_host(self.account_id)}"
        vars(self)["intercept_prefixes"] = (self.base_url, self.restlet_url)
        self.seed_data = seed_data
        account_zone(time_zone)  # checked before anything is built
        self._time_zone = time_zone.strip()
        self._lock = threading.RLock()
        self._credentials = make_credentials(self.account_id, seed)
        self._db: Database | None = None
        self._build()

    def _build(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
            self._db = Database()
            self.account = Account(self._db, self._now)
            self.suiteql = SuiteQL(self._db, self._now, self._time_zone)
            self.jobs = AsyncJobs()
            self.restlets = Restlets()
            if self._initial_pdf_restlet is not None:
                self.restlets.deploy(*self._initial_pdf_restlet)
            self.auth = Authenticator(self.account_id, self._now)
            creds = self._credentials
            self.auth.add_integration(creds.consumer_key, creds.consumer_secret)
            self.auth.add_token(creds.consumer_key, creds.token_id, creds.token_secret)
            self._default_certificate_pending = True
            seed_lists(self.account)
            if self.seed_data:
                seed_company(self.account)

    def _now(self) -> datetime:
        return clock_datetime(self.clock)

    # -- public surface ---------------------------------------------------------------------

    @property
    def credentials(self) -> NetSuiteCredentials:
        """The integration's TBA values and M2M certificate (the key pair is made on first
        use of ``private_key_pem`` / ``certificate_pem``, or of the M2M endpoint)."""
        return self._credentials

    @property
    def token_url(self) -> str:
        return f"{self.base_url}{wire.TOKEN_PATH}"

    @property
    def login_audit_trail(self) -> list[LoginAttempt]:
        """Every login attempt with its real reason, as Setup > Login Audit Trail shows."""
        return list(self.auth.audit)

    @property
    def time_zone(self) -> str:
        """The account's time zone (an IANA name): SuiteQL shows and reads date-times in
        it (REST stays UTC). Set it to move the account, as an administrator would."""
        return self._time_zone

    @time_zone.setter
    def time_zone(self, name: str) -> None:
        zone = account_zone(name)
        with self._lock:
            self._time_zone = name.strip()
            self.suiteql.functions.zone = zone

    @property
    def suiteql_row_cap(self) -> int:
        """How many rows a SuiteQL query can page through (100,000 in NetSuite)."""
        return self.suiteql.row_cap

    @suiteql_row_cap.setter
    def suiteql_row_cap(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"suiteql_row_cap must be a positive integer, not {value!r}")
        self.suiteql.row_cap = value

    @property
    def async_delay(self) -> float:
        """Emulator seconds an async job stays ``pending`` (0: done at once)."""
        return self.jobs.delay

    @async_delay.setter
    def async_delay(self, seconds: float) -> None:
        self.jobs.delay = float(seconds)

    def register_certificate(
        self, certificate_id: str, cert_pem: str | bytes, client_id: str
    ) -> None:
        """Upload a public certificate for an integration (the M2M setup page).

        Refuses what NetSuite refuses: RSA keys other than 3072/4096 bits, EC curves
        other than P-256/384/521, validity over two years. Several certificates may be
        active for one client (rotation).
        """
        key = load_certificate(cert_pem)
        with self._lock:
            if not self.auth.has_integration(client_id):
                raise ConfigurationError(f"No integration has the client id {client_id!r}.")
            self.auth.add_certificate(certificate_id, client_id, key)

    def revoke_certificate(self, certificate_id: str) -> None:
        self._ensure_default_certificate()
        self.auth.revoke_certificate(certificate_id)

    def register_token(
        self, *, consumer_key: str, consumer_secret: str, token_id: str, token_secret: str
    ) -> None:
        """Add an integration record and/or an access token for TBA."""
        self.auth.add_integration(consumer_key, consumer_secret)
        self.auth.add_token(consumer_key, token_id, token_secret)

    def revoke_token(self, token_id: str) -> None:
        self.auth.revoke_token(token_id)

    # -- RESTlets ------------------------------------------------------------------------------

    def deploy_pdf_restlet(
        self, script: str = DEFAULT_PDF_SCRIPT, deploy: str = DEFAULT_PDF_DEPLOY
    ) -> Deployment:
        """Deploy the invoice-PDF RESTlet (:data:`PDF_RESTLET_SOURCE`) under these ids.

        The account has one deployed at construction (``pdf_restlet=``, by default
        ``customscript_erpsync_invoice_pdf`` / ``customdeploy_erpsync_invoice_pdf``);
        deploy more to match the ids your integration is configured with. It answers
        ``GET .../app/site/hosting/restlet.nl?script=..&deploy=..&id=<invoice id>`` (or
        a POST of ``{"id": ...}``) with ``{"id", "fileName", "contentType", "base64"}``.
        """
        ids = script_ids((script, deploy), "deploy_pdf_restlet")
        with self._lock:
            return self.restlets.deploy(*ids)

    def undeploy_restlet(self, script: str, deploy: str) -> None:
        """Remove a deployment: calls to it get ``SSS_INVALID_SCRIPTLET_ID``."""
        with self._lock:
            if not self.restlets.undeploy(script, deploy):
                raise ConfigurationError(f"No RESTlet is deployed as {script!r}/{deploy!r}.")

    @property
    def pdf_restlet(self) -> tuple[str, str] | None:
        """The ``(script, deploy)`` ids of the newest invoice-PDF deployment, if any (the
        value ``NetSuiteBackend(pdf_restlet=...)`` takes; ``fake.backend()`` passes it)."""
        with self._lock:
            found = [d for d in self.restlets.deployments if d.kind == "invoice_pdf"]
        return (found[-1].script, found[-1].deploy) if found else None

    def backend(self, auth: Literal["tba", "m2m"] = "tba", **options: Any) -> NetSuiteBackend:
        """A :class:`~erpsync.netsuite.NetSuiteBackend` connected to this account.

        ``auth="tba"`` signs with the account's token-based credentials, ``"m2m"`` uses
        the OAuth 2.0 client-credentials flow with the registered certificate. The
        emulator's clock is shared, so timestamps and token lifetimes agree. The emulator
        must be running (``with fake:`` or ``fake.serve()``); other options go to the
        backend. Unless given, ``pdf_restlet`` is the deployed invoice-PDF RESTlet, so
        ``backend.invoice_pdf(id)`` works.
        """
        from erpsync.testing.connect import netsuite_backend

        return netsuite_backend(self, auth=auth, **options)

    def query(self, sql: str) -> list[dict[str, Any]]:
        """The rows a SuiteQL query returns (first 1000), without authentication."""
        with self._lock:
            result = self.suiteql.run(sql, "1000", "0", self.base_url)
        return [{k: v for k, v in item.items() if k != "links"} for item in result["items"]]

    @property
    def require_subsidiary(self) -> bool:
        """Whether customers and vendors need a subsidiary (OneWorld: yes)."""
        return self.account.require_subsidiary

    @require_subsidiary.setter
    def require_subsidiary(self, value: bool) -> None:
        self.account.require_subsidiary = bool(value)

    def reset(self) -> None:
        """Back to the state of a new emulator: data, tokens, jobs, governance, faults."""
        with self._lock:
            self._build()
        self.reset_runtime()

    # -- the emulator hooks -------------------------------------------------------------------

    def _ensure_default_certificate(self) -> None:
        """Register the default certificate on first need (it costs a key generation)."""
        with self._lock:
            if self._default_certificate_pending:
                self._default_certificate_pending = False
                creds = self._credentials
                self.auth.add_certificate(
                    creds.certificate_id, creds.client_id, load_certificate(creds.certificate_pem)
                )

    def _dispatch(self, request: WireRequest) -> WireResponse:
        """Route one request. There is no lock around it: independent requests run side by
        side, as in NetSuite, and only the concurrency limit (``governance``, applied
        before this) bounds how many. The parts keep their own state safe: the
        authenticator its tokens and nonces, the database one transaction per record
        operation (:meth:`Database.write`), the async jobs their queue."""
        path = request.path
        try:
            if path == wire.TOKEN_PATH:
                self._ensure_default_certificate()
                audiences = {self.token_url, f"{request.base}{wire.TOKEN_PATH}"}
                return issue_token(self.auth, request, sorted(audiences))
            if path == wire.RESTLET_PATH:
                return self._restlet(request)
            if not path.startswith("/services/rest/"):
                raise not_found("The requested resource does not exist.")
            self.auth.authenticate(request)
            return route(self, request, path)
        except NetSuiteFault as fault:
            return fault.response()

    def _restlet(self, request: WireRequest) -> WireResponse:
        """A RESTlet call: authenticated as REST is (bearer tokens need the ``restlets``
        scope), answered with RESTlet error bodies rather than REST problem documents."""
        try:
            self.auth.authenticate(request, scope="restlets")
        except NetSuiteFault:
            return invalid_login_attempt().response()
        try:
            return self.restlets.run(self.account, request)
        except RestletError as error:
            return error.response()

    def _throttled(self, request: WireRequest, reason: str) -> WireResponse:
        return refusals.throttled(request, self.tba_concurrency_error == "invalid_login")

    def _server_error(self, request: WireRequest, status: int) -> WireResponse:
        error_id = ""
        if status != 503:
            with self._lock:
                error_id = f"{self.rng.getrandbits(48):012x}"
        return refusals.server_error(request, status, error_id)

    def _governed(self, request: WireRequest) -> bool:
        return request.path != wire.TOKEN_PATH

    def __repr__(self) -> str:
        return f"FakeNetSuite({self.account_id!r}, served_url={self.served_url!r})"
