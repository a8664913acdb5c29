"""QuickBooks Online backend: the AccountingBackend for one QuickBooks Online company.

The class is assembled from modules with one role each, the same as NetSuite's:

* :mod:`~erpsync.quickbooks.reads`: get, find and iterate (the query API, CDC);
* :mod:`~erpsync.quickbooks.writes`: creates and updates, each on the one
  write-at-most-once engine (:mod:`erpsync.backend.write_once`), plus the company's
  numbering and currency rules;
* :mod:`~erpsync.quickbooks.bulk`: the batch sender (30 invoices a request) that
  ``create_invoices`` plugs into the one bulk engine (:mod:`erpsync.backend.bulk`);
* :mod:`~erpsync.quickbooks.external_ids`: where the external id lives
  (``external_id_field``: the ``PrivateNote`` marker, the default, or ``DocNumber``),
  one strategy object chosen at construction.

What people see in QuickBooks: in the default layout the invoice number is an ordinary
number, and the marker line ``[erpsync external_id=...]`` sits at the end of the
invoice's private note (the form's statement memo, which Intuit documents as not
printed on the invoice); staff see it there and should leave it alone. In the
``"DocNumber"`` layout the invoice number shown and printed IS the external id
(``job-1042``, or ``~`` and a digest for long ids).

Every write also carries a ``requestid`` made once and re-sent on retries.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import requests

from erpsync.backend import BatchSender, BulkResult, Capabilities, WriteOnce
from erpsync.errors import ConfigurationError
from erpsync.limits import Limiter
from erpsync.models import Invoice
from erpsync.quickbooks.bulk import InvoiceBatchSender
from erpsync.quickbooks.client import BATCH_LIMIT, MINOR_VERSION, Environment, QuickBooksClient
from erpsync.quickbooks.external_ids import (
    ExternalIdField,
    MarkerLookup,
    doc_number_key,
    layout,
)
from erpsync.quickbooks.writes import Numbering, QuickBooksWrites
from erpsync.transport import RetryPolicy, Timeout, TransportOptions

__all__ = ["ExternalIdField", "QuickBooksBackend", "doc_number_key"]


class QuickBooksBackend(QuickBooksWrites):
    """One QuickBooks Online company.

    ``auth`` is a ``QuickBooksAuth`` (or a ``requests`` auth for the realm).
    ``numbering`` gives invoices a number when the company uses custom transaction
    numbers and none was given. ``external_id_field`` chooses the layout described in
    the module docstring. ``income_account`` is the income account id for new items
    (default: the first income account). ``limiter`` defaults to the realm's
    process-wide limiter; the rest is passed to :class:`QuickBooksClient`.
    """

    name = "QuickBooks"

    def __init__(
        self,
        realm_id: str,
        auth: Any,
        environment: Environment = "production",
        base_url: str | None = None,
        *,
        numbering: Numbering | None = None,
        external_id_field: ExternalIdField = "PrivateNote",
        income_account: str | None = None,
        minor_version: int = MINOR_VERSION,
        options: TransportOptions | None = None,
        timeout: Timeout | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        limiter: Limiter | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        keys = layout(external_id_field)  # the one place the layout's name is read
        if numbering is not None and not callable(numbering):
            raise ConfigurationError("numbering must be a function Invoice -> str")
        self.client = QuickBooksClient(
            realm_id,
            auth,
            environment=environment,
            base_url=base_url,
            minor_version=minor_version,
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
                now=now,
            ),
        )
        self.realm_id = self.client.realm_id
        self._write = WriteOnce(
            self.client.transport.retry,
            backend=self.name,
            sleep=self.client.options.sleep,
            rng=self.client.options.rng or random.Random(),
        )
        self.numbering = numbering
        self.external_ids = keys
        self._markers = {entity: MarkerLookup(entity) for entity in ("Payment", "PurchaseOrder")}
        self.income_account = income_account
        self._lock = threading.Lock()
        self._settings_lock = threading.RLock()
        self._preferences: dict[str, Any] | None = None
        self._currencies: dict[str, str] = {}
        self._warned_unnumbered = False

    @property
    def external_id_field(self) -> ExternalIdField:
        """The external-id layout's name (see :mod:`erpsync.quickbooks.external_ids`)."""
        return self.external_ids.field

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return (
            f"QuickBooksBackend(realm_id={self.realm_id!r}, "
            f"external_id_field={self.external_id_field!r})"
        )

    @property
    def tenant(self) -> str:
        """The company's realm id."""
        return self.realm_id

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            invoice_pdf=True,
            purchase_orders=True,
            item_receipts=False,
            create_purchase_orders=True,
            batch_writes=True,
            change_data_capture=True,
            deleted_records=True,
            upsert_by_external_id=False,
            document_numbers_assigned_by_erp=True,
            max_concurrency=10,
            max_batch_size=BATCH_LIMIT,
        )

    def invoice_pdf(self, id: str) -> bytes:
        return self.client.invoice_pdf(id)

    # -- bulk -----------------------------------------------------------------------------

    def create_invoices(
        self, invoices: Iterable[Invoice], *, max_workers: int | None = None
    ) -> BulkResult[Invoice]:
        """Create many invoices in batches of 30, several batches in flight.

        The bulk engine's guarantees (lazy input, one outcome per input in order, an
        external id repeated within the input written once, ``partial_result`` when the
        input raises) with QuickBooks' batch sender: see :mod:`erpsync.quickbooks.bulk`.
        """
        return super().create_invoices(invoices, max_workers=max_workers)

    def _invoice_sender(self) -> BatchSender[Invoice]:
        return InvoiceBatchSender(self)
