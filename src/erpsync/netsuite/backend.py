"""NetSuite backend: the AccountingBackend for one NetSuite account.

The class is assembled from modules with one role each, the same as QuickBooks':

* :mod:`~erpsync.netsuite.reads`: get, find and iterate (REST records and SuiteQL);
* :mod:`~erpsync.netsuite.writes`: creates, updates, upserts and item receipts, each
  on the one write-at-most-once engine (:mod:`erpsync.backend.write_once`);
* :mod:`~erpsync.netsuite.bulk`: the batch sender ``create_invoices`` plugs into the
  one bulk engine (:mod:`erpsync.backend.bulk`);
* :mod:`~erpsync.netsuite.external_ids`: the ``externalId`` / ``eid:`` layout.

Writes never duplicate: see :mod:`erpsync.netsuite.writes`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import tzinfo

import requests

from erpsync.backend import (
    BatchSender,
    BulkEngine,
    BulkOutcome,
    BulkResult,
    Capabilities,
    WriteOnce,
)
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    UnsupportedOperationError,
)
from erpsync.limits import Limiter
from erpsync.models import Invoice
from erpsync.netsuite.auth import NetSuiteAuth
from erpsync.netsuite.bulk import invoice_sender, numbered, with_numbers
from erpsync.netsuite.client import MAX_PAGE_SIZE, NetSuiteClient
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.external_ids import ExternalIdUpsert
from erpsync.netsuite.query import account_time_zone
from erpsync.netsuite.reads import internal_id
from erpsync.netsuite.writes import NetSuiteWrites
from erpsync.transport import RetryPolicy, Timeout, TransportOptions
from erpsync.transport.bodies import pdf_bytes

__all__ = ["NetSuiteBackend"]


class NetSuiteBackend(NetSuiteWrites):
    """One NetSuite account through REST records and SuiteQL.

    ``concurrency`` is the account's concurrency limit (5 for a Standard account, 15
    Premium, 20+ Enterprise); ``create_invoices`` runs that many writes at once and the
    account's shared limiter never lets more through. ``pdf_restlet`` is the
    ``(script id, deploy id)`` of a RESTlet that renders an invoice and returns it as
    base64 (NetSuite has no REST PDF endpoint); without it ``invoice_pdf`` is
    unsupported. ``subsidiary_id`` is used for new customers and vendors (default: the
    account's only subsidiary). ``default_item_id`` is put on invoice lines without an
    item (NetSuite requires one). ``bulk_read_back`` makes ``create_invoices`` read each
    new invoice back (its document number, totals) at the cost of a second request per
    invoice; by default the outcome holds the invoice as written plus its new id.

    ``time_zone`` is the time zone (an IANA name such as ``"America/Los_Angeles"``, or a
    ``tzinfo``) in which the account shows SuiteQL date-times: NetSuite writes and reads
    them in the user's or company's time-zone preference, while REST stays UTC. It must
    match that preference, or ``modified_since`` feeds and ``iter_deleted`` miss or repeat
    the changes of the hours between the two zones. The default is UTC because we know of
    no documented REST record or SuiteQL table that tells the preference to an
    integration (a RESTlet could, through ``N/runtime``, at the cost of a deployment and
    its permissions); Setup > Company > General Preferences and the integration user's
    Set Preferences show it. (Oracle does not state it for SuiteQL in so many words: the
    setting is there so that a real account can be matched either way.)
    """

    name = "NetSuite"

    def __init__(
        self,
        account_id: str,
        auth: NetSuiteAuth,
        base_url: str | None = None,
        *,
        concurrency: int = 5,
        pdf_restlet: tuple[str | int, str | int] | None = None,
        subsidiary_id: str | None = None,
        default_item_id: str | None = None,
        bulk_read_back: bool = False,
        restlet_url: str | None = None,
        options: TransportOptions | None = None,
        timeout: Timeout | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        limiter: Limiter | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        page_size: int = MAX_PAGE_SIZE,
        time_zone: str | tzinfo = "UTC",
    ) -> None:
        settings = _Settings.checked(pdf_restlet, page_size, time_zone)
        self.client = NetSuiteClient(
            account_id,
            auth,
            base_url=base_url,
            restlet_url=restlet_url,
            concurrency=concurrency,
            # Merged once here; the client, its transport and the auth read this object.
            options=TransportOptions.of(
                options,
                timeout=timeout,
                retry=retry,
                session=session,
                limiter=limiter,
                clock=clock,
                sleep=sleep,
                rng=rng,
            ),
        )
        self.account_id = self.client.account_id
        self.pdf_restlet = settings.pdf_restlet
        self.page_size = settings.page_size
        self.time_zone = settings.time_zone
        self._zone = settings.zone
        self.subsidiary_id = subsidiary_id
        self.default_item_id = default_item_id
        self.bulk_read_back = bulk_read_back
        self.external_ids = ExternalIdUpsert()
        self._write = _write_once(self.client, self.external_ids)
        self._lock = threading.Lock()
        self._currencies: dict[str, str] | None = None
        self._capabilities = _capabilities(
            invoice_pdf=pdf_restlet is not None, concurrency=concurrency
        )

    def __repr__(self) -> str:
        return f"NetSuiteBackend(account_id={self.account_id!r}, base_url={self.client.base_url!r})"

    def close(self) -> None:
        """Release the HTTP session."""
        self.client.close()

    @property
    def tenant(self) -> str:
        """The account id, canonical (``1234567_SB1``)."""
        return self.account_id

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    # -- bulk -------------------------------------------------------------------------------

    def create_invoices(
        self, invoices: Iterable[Invoice], *, max_workers: int | None = None
    ) -> BulkResult[Invoice]:
        """Create invoices concurrently up to the account's concurrency limit.

        Throttling never reaches the caller as an outcome while the transport can absorb
        it: 429s are retried and halve the account limiter. Each outcome is ``created``,
        ``existed`` (the external id was already taken: the invoice there is returned) or
        ``failed``. See ``bulk_read_back`` for what ``created`` records contain; their
        document numbers are read after the run, one query per 1000 invoices (also for
        the ``partial_result`` of an interrupted run).
        """
        try:
            result = super().create_invoices(invoices, max_workers=max_workers)
        except Exception as exc:
            partial = getattr(exc, "partial_result", None)
            if isinstance(partial, BulkResult):
                exc.partial_result = with_numbers(self, partial)  # type: ignore[attr-defined]
            raise
        return with_numbers(self, result)

    def create_invoices_iter(
        self, invoices: Iterable[Invoice], *, max_workers: int | None = None
    ) -> Iterator[BulkOutcome[Invoice]]:
        """:meth:`create_invoices` one outcome at a time (see the base class); the
        document numbers are read one query per ``page_size`` outcomes, so outcomes come
        out in groups of that many."""
        return numbered(self, super().create_invoices_iter(invoices, max_workers=max_workers))

    def _invoice_sender(self) -> BatchSender[Invoice]:
        return invoice_sender(self, read_back=self.bulk_read_back)

    def _bulk_engine(self, max_workers: int | None) -> BulkEngine[Invoice]:
        """Twice the account's concurrency in threads, unless ``max_workers`` says
        otherwise: a thread spends a few milliseconds of CPU between two requests
        (reading one answer, building and signing the next body), and with only as
        many threads as slots, a slot would stand idle meanwhile. The account limiter
        still holds the requests in flight to the limit."""
        engine = super()._bulk_engine(max_workers)
        if max_workers is None:
            engine.workers *= 2
        return engine

    # -- documents -------------------------------------------------------------------------

    def invoice_pdf(self, id: str) -> bytes:
        """The invoice as PDF, rendered by the configured RESTlet (``pdf_restlet``).

        The RESTlet gets ``GET ?script=..&deploy=..&id=<invoice id>`` and answers the
        base64 of the PDF: as a bare JSON string, as ``{"pdf"|"content"|"data": ...}`` or
        as plain text.
        """
        if self.pdf_restlet is None:
            raise UnsupportedOperationError(
                "NetSuite has no REST endpoint for invoice PDFs",
                backend=BACKEND,
                record=f"invoice {id} PDF",
                code="invoice_pdf",
                hint="deploy a RESTlet that renders the invoice (N/render) and returns base64, "
                "then pass NetSuiteBackend(pdf_restlet=(script_id, deploy_id))",
            )
        rid = internal_id(id, f"invoice {id}")
        script, deploy = self.pdf_restlet
        try:
            response = self.client.restlet(
                script,
                deploy,
                params={"id": str(rid), "recordType": "invoice"},
                record=f"invoice {rid} PDF",
            )
        except NotFoundError as exc:
            if (exc.code or "").upper() == "SSS_INVALID_SCRIPTLET_ID":
                exc.with_context(
                    hint=f"No RESTlet is deployed as script {script!r}, deployment "
                    f"{deploy!r}: check NetSuiteBackend(pdf_restlet=...) against "
                    "Customization > Scripting > Script Deployments"
                )
            raise
        except AuthenticationError as exc:
            # Prepended: the generic hint from the error body does not know RESTlets.
            scope = (
                "RESTlets need the 'restlets' scope (OAuth 2.0) and a role the script's "
                "deployment allows"
            )
            exc.hint = f"{scope}. {exc.hint}" if exc.hint else scope
            exc.args = (str(exc),)
            raise
        return _pdf_bytes(response, f"invoice {rid} PDF")


@dataclass(frozen=True, slots=True)
class _Settings:
    """The backend's own settings, checked once before any client is built."""

    pdf_restlet: tuple[str | int, str | int] | None
    page_size: int
    time_zone: str
    zone: tzinfo

    @classmethod
    def checked(
        cls,
        pdf_restlet: tuple[str | int, str | int] | None,
        page_size: int,
        time_zone: str | tzinfo,
    ) -> _Settings:
        if pdf_restlet is not None and (
            not isinstance(pdf_restlet, tuple)
            or len(pdf_restlet) != 2
            or not all(str(part).strip() for part in pdf_restlet)
        ):
            raise ConfigurationError(
                "pdf_restlet must be a (script id, deploy id) pair",
                backend=BACKEND,
                field="pdf_restlet",
            )
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not (1 <= page_size <= MAX_PAGE_SIZE)
        ):
            raise ConfigurationError(
                f"page_size must be 1 to {MAX_PAGE_SIZE}, not {page_size!r}",
                backend=BACKEND,
                field="page_size",
            )
        if not isinstance(time_zone, str | tzinfo):  # None would quietly mean UTC
            raise ConfigurationError(
                "time_zone must be an IANA zone name such as 'America/Los_Angeles', "
                f"not {time_zone!r}",
                backend=BACKEND,
                field="time_zone",
            )
        zone = account_time_zone(time_zone)
        return cls(pdf_restlet, page_size, str(getattr(zone, "key", zone)), zone)


def _write_once(client: NetSuiteClient, external_ids: ExternalIdUpsert) -> WriteOnce:
    """The write-at-most-once engine on the client's retry policy; a taken external id
    is a duplicate, found by the external-id layout."""
    return WriteOnce(
        client.transport.retry,
        backend=BACKEND,
        sleep=client.options.sleep,
        rng=client.options.rng or random.Random(),
        duplicate=external_ids.is_duplicate,
    )


def _capabilities(*, invoice_pdf: bool, concurrency: int) -> Capabilities:
    """What a NetSuite account can do: everything but PDFs without a RESTlet."""
    return Capabilities(
        invoice_pdf=invoice_pdf,
        purchase_orders=True,
        item_receipts=True,
        create_purchase_orders=True,
        deleted_records=True,
        upsert_by_external_id=True,
        document_numbers_assigned_by_erp=True,
        max_concurrency=concurrency,
    )


def _pdf_bytes(response: requests.Response, what: str) -> bytes:
    """The PDF in a RESTlet's answer (base64 in JSON or in plain text), read by the one
    body decoder (:func:`erpsync.transport.bodies.pdf_bytes`)."""
    return pdf_bytes(response, backend=BACKEND, record=what)
