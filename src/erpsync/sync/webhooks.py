"""Webhook-driven invoice upserts (seed 003, the "API path"), framework-neutral.

A usage-billing platform announces a finalized invoice with an event such as::

    {"id": "f4988a54-...", "type": "invoice.finalized",
     "properties": {"invoice_id": "d23458e0-...", "customer_id": "e0ac4251-..."}}

:class:`InvoiceUpsertHandler` takes the event (a mapping or the raw body bytes), fetches
the invoice through a function the caller supplies (the platform's API client: erpsync
does not talk to it), turns it into an :class:`~erpsync.models.Invoice` and writes it to
the ERP under an external id made from the source invoice id. Products and customers
are mapped through :class:`~erpsync.mapping.fields.FieldMapping` (a product's custom
field names its ERP item, a customer's names its ERP customer).

Why deliveries are safe to repeat: webhook senders retry, and two workers may receive
the same event. Each event id is claimed in the store's ledger (record type
``webhook-event``) before anything is done, so a repeat is answered "duplicate" without
a request; the invoice itself is written under its external id and recorded in the
ledger with a content hash, so even two different events about one invoice write it
once, and a changed invoice is updated rather than duplicated. A failed event is left
claimable, so the sender's retry does the work again.

Source invoices (:class:`SourceInvoice`) are plain mappings shaped like the platform's
JSON; the keys read are listed on :meth:`SourceInvoice.from_mapping`. The same reader
serves the CSV export path (:mod:`erpsync.sync.export`).

QuickBooks' own webhooks (changes made in QuickBooks) arrive through
:func:`handle_quickbooks`: signature checked, both payload shapes parsed, repeats
dropped persistently through the store; the events are returned for the caller to act on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from erpsync.backend import AccountingBackend
from erpsync.errors import (
    ConfigurationError,
    ConflictError,
    ErpSyncError,
    InvalidRequestError,
    MappingError,
)
from erpsync.mapping.fields import FieldMapping
from erpsync.models import Invoice
from erpsync.store import DEFAULT_TENANT, SyncStore, content_hash, make_owner
from erpsync.sync._webhooks_source import (
    SourceInvoice,
    SourceLine,
    event_body,
    invoice_from_source,
    text_of,
)
from erpsync.sync.ledger import Ledger, resolve_tenant

if TYPE_CHECKING:
    from erpsync.quickbooks.webhooks import EventDeduplicator, WebhookEvent

__all__ = [
    "HandleResult",
    "InvoiceUpsertHandler",
    "SourceInvoice",
    "SourceLine",
    "handle_quickbooks",
    "invoice_from_source",
]

_log = logging.getLogger("erpsync.sync.webhooks")

_EVENT = "webhook-event"
_INVOICE = "invoice"
#: The ledger namespace of QuickBooks' own webhook events (scoped by their realm).
_QUICKBOOKS = "QuickBooks"

HandleAction = Literal["created", "updated", "unchanged", "duplicate", "ignored", "failed"]


# -- the handler --------------------------------------------------------------------------


@dataclass(frozen=True)
class HandleResult:
    """What one delivery did.

    ``action`` is ``created`` / ``updated`` / ``unchanged`` (the invoice was written or
    already right), ``duplicate`` (this event was handled before), ``ignored`` (a type
    not handled, or nothing billable) or ``failed`` (``error`` says why; the event stays
    retryable, so answer the sender with an error status). ``ok`` is False only for
    ``failed``.
    """

    event_id: str | None
    event_type: str | None
    action: HandleAction
    external_id: str | None = None
    invoice: Invoice | None = None
    reason: str | None = None
    error: ErpSyncError | None = None

    @property
    def ok(self) -> bool:
        return self.action != "failed"


FetchInvoice = Callable[[str], "SourceInvoice | Mapping[str, Any]"]
Transform = Callable[[SourceInvoice], "Invoice | None"]


class InvoiceUpsertHandler:
    """Turns ``invoice.finalized`` events into ERP invoices, exactly once per invoice.

    ``fetch_invoice(invoice_id)`` returns the source invoice (a :class:`SourceInvoice`
    or a mapping read with :meth:`SourceInvoice.from_mapping`, using ``products`` and
    ``customers`` for lookups). ``transform`` turns it into an Invoice (None: nothing to
    bill); the default is :func:`invoice_from_source` with ``mapping``. Event ids and
    invoices are remembered per ``tenant`` (default: the backend's ``tenant``), so two
    companies handling the same source event each get their invoice.
    """

    def __init__(
        self,
        backend: AccountingBackend,
        store: SyncStore,
        fetch_invoice: FetchInvoice,
        transform: Transform | None = None,
        *,
        mapping: FieldMapping | None = None,
        products: Mapping[str, Mapping[str, Any]] | None = None,
        customers: Mapping[str, Mapping[str, Any]] | None = None,
        event_types: Iterable[str] = ("invoice.finalized",),
        external_id_prefix: str = "",
        owner: str | None = None,
        lease_seconds: float = 300.0,
        tenant: str | None = None,
    ) -> None:
        if not callable(fetch_invoice):
            raise ConfigurationError("fetch_invoice must be callable")
        if transform is not None and not callable(transform):
            raise ConfigurationError("transform must be callable")
        self.backend = backend
        self.store = store
        self.tenant = resolve_tenant(backend, tenant)
        self.fetch_invoice = fetch_invoice
        self.mapping = mapping or FieldMapping()
        self.products = products
        self.customers = customers
        self.event_types = frozenset(event_types)
        self.external_id_prefix = external_id_prefix
        self.owner = owner or make_owner("webhooks")
        self.lease_seconds = lease_seconds
        self._transform = transform

    def transform(self, source: SourceInvoice) -> Invoice | None:
        if self._transform is not None:
            return self._transform(source)
        return invoice_from_source(source, self.mapping, external_id_prefix=self.external_id_prefix)

    def handle(self, event: Mapping[str, Any] | bytes | str) -> HandleResult:
        """Handle one delivery. Raises :class:`InvalidRequestError` for a body that is
        not an event (answer 400); every other outcome is in the result."""
        data = event_body(event)
        event_id, event_type = text_of(data.get("id")), text_of(data.get("type"))
        if event_id is None or event_type is None:
            raise InvalidRequestError("the webhook event has no id or no type", raw=str(data))
        if event_type not in self.event_types:
            return HandleResult(
                event_id, event_type, "ignored", reason=f"event type {event_type!r} not handled"
            )
        properties = data.get("properties")
        invoice_id = (
            text_of(properties.get("invoice_id")) if isinstance(properties, Mapping) else None
        )
        if invoice_id is None:
            raise InvalidRequestError(
                f"the {event_type} event has no properties.invoice_id", field="properties"
            )
        b = self.backend.name
        claim = self.store.claim(
            b,
            _EVENT,
            event_id,
            owner=self.owner,
            lease_seconds=self.lease_seconds,
            tenant=self.tenant,
        )
        if claim is None:
            entry = self.store.get(b, _EVENT, event_id, tenant=self.tenant)
            if entry is not None and entry.state == "written":
                return HandleResult(
                    event_id, event_type, "duplicate", reason="this event was handled already"
                )
            busy = ConflictError(
                "another worker is handling this event now; retry later",
                record=f"event {event_id}",
            )
            return HandleResult(event_id, event_type, "failed", reason=str(busy), error=busy)
        try:
            action, invoice = self._upsert(invoice_id)
        except ErpSyncError as exc:
            self.store.mark_failed(claim, str(exc))
            _log.warning("webhook event %s failed: %s", event_id, exc)
            return HandleResult(event_id, event_type, "failed", reason=str(exc), error=exc)
        except BaseException as exc:
            self.store.mark_failed(claim, f"interrupted: {type(exc).__name__}")
            raise
        if invoice is None:
            self.store.mark_written(claim, f"source:{invoice_id}")
            return HandleResult(
                event_id, event_type, "ignored", reason="nothing billable (zero total)"
            )
        self.store.mark_written(claim, invoice.id or f"source:{invoice_id}")
        return HandleResult(event_id, event_type, action, invoice.external_id, invoice)

    def handle_quickbooks(
        self,
        body: bytes,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        verifier_token: str,
    ) -> list[WebhookEvent]:
        """QuickBooks' own webhooks, deduplicated through this handler's store."""
        return handle_quickbooks(body, headers, verifier_token, store=self.store)

    # -- the write ------------------------------------------------------------------------

    def _ledger(self) -> Ledger:
        return Ledger(
            self.store, self.backend.name, tenant=self.tenant, owner=self.owner,
            lease_seconds=self.lease_seconds,
        )  # fmt: skip

    def _upsert(self, invoice_id: str) -> tuple[HandleAction, Invoice | None]:
        try:
            fetched = self.fetch_invoice(invoice_id)
        except ErpSyncError:
            raise
        except Exception as exc:
            # The caller's own code failed (a KeyError for an unknown id, a network error of
            # the billing API): say which record, keep the cause, and let the event be retried.
            raise MappingError(
                f"fetch_invoice({invoice_id!r}) raised {type(exc).__name__}: {exc}",
                record=f"source invoice {invoice_id}",
                hint="fetch_invoice must return the source invoice or raise an erpsync error",
            ) from exc
        source = (
            fetched
            if isinstance(fetched, SourceInvoice)
            else SourceInvoice.from_mapping(
                fetched, products=self.products, customers=self.customers
            )
        )
        invoice = self.transform(source)
        if invoice is None:
            return "ignored", None
        key = invoice.external_id
        if key is None:
            raise MappingError(f"the transform gave source invoice {invoice_id!r} no external_id")
        outcome = self._ledger().write(
            _INVOICE,
            key,
            find=lambda: self.backend.find_invoice(key),
            create=lambda: self.backend.create_invoice(invoice),
            update=lambda remote_id: self.backend.update_invoice(
                invoice.model_copy(update={"id": remote_id})
            ),
            content_hash=content_hash(invoice),
        )
        if outcome.status == "in_progress":
            raise ConflictError(
                "another worker is writing this invoice now", record=f"invoice {key}"
            )
        if outcome.record is None:  # unchanged: nothing was sent
            return "unchanged", invoice.model_copy(update={"id": outcome.remote_id})
        return ("created" if outcome.status == "created" else "updated"), outcome.record


def handle_quickbooks(
    body: bytes,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    verifier_token: str,
    *,
    store: SyncStore | None = None,
    dedupe: EventDeduplicator | None = None,
) -> list[WebhookEvent]:
    """Verify, parse and deduplicate one QuickBooks webhook delivery.

    A bad signature raises :class:`~erpsync.errors.WebhookSignatureError` before anything
    is parsed or recorded. With ``store``, event ids are remembered in its ledger under
    the event's company (its ``realmId``, the tenant), so a redelivery after a restart
    is still dropped while the same event id from another company is not; ``dedupe``
    adds an in-memory front (by default, repeats within the delivery). Returns the new
    events, for the caller to queue.
    """
    # Imported here: only QuickBooks users pay for loading the QuickBooks package.
    from erpsync.quickbooks.webhooks import EventDeduplicator, handle_webhook

    events = handle_webhook(body, headers, verifier_token, dedupe or EventDeduplicator())
    if store is None:
        return events
    owner = make_owner("qbo-webhooks")
    return [event for event in events if _first_delivery(store, event, owner)]


def _first_delivery(store: SyncStore, event: WebhookEvent, owner: str) -> bool:
    """Record the event in its company's ledger; False when it was recorded before.

    An event recorded by an earlier version (under the default tenant, which ignored the
    realm) still counts as delivered, so upgrading does not replay old events."""
    tenant = event.realm_id or DEFAULT_TENANT
    if tenant != DEFAULT_TENANT:
        legacy = store.get(_QUICKBOOKS, _EVENT, event.event_id)
        if legacy is not None and legacy.state == "written":
            return False
    claim = store.claim(
        _QUICKBOOKS, _EVENT, event.event_id, owner=owner, lease_seconds=60.0, tenant=tenant
    )
    if claim is None:
        return False
    store.mark_written(claim, event.event_id)
    return True
