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

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from erpsync.backend import AccountingBackend
from erpsync.errors import (
    ConfigurationError,
    ConflictError,
    ErpSyncError,
    InvalidRequestError,
    MappingError,
)
from erpsync.mapping.fields import FieldMapping
from erpsync.models import (
    Invoice,
    InvoiceLine,
    currency_exponent,
    encode_external_id,
)
from erpsync.store import SyncStore, content_hash, make_owner
from erpsync.sync._common import LedgerTarget, resolve_tenant, write_once

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
_CENTS = re.compile(r"^\s*([A-Za-z]{3})\s*\(cents\)\s*$")
_DATE_KEYS = ("date", "issued_at", "invoice_date", "end_timestamp", "finalized_at")

HandleAction = Literal["created", "updated", "unchanged", "duplicate", "ignored", "failed"]


# -- source documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLine:
    """One line of a source invoice; ``product`` is the product record (with its custom
    fields) or None when the line has none."""

    description: str | None
    amount: Decimal
    quantity: Decimal | None
    unit_price: Decimal | None
    product: Mapping[str, Any] | None
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class SourceInvoice:
    """A billing platform's invoice, read once into typed values.

    ``customer`` is the customer record :class:`FieldMapping` reads the ERP customer id
    from; ``total`` is the invoice's stated total (the sum of the lines when absent).
    """

    id: str
    customer: Mapping[str, Any]
    date: date
    currency: str
    lines: tuple[SourceLine, ...]
    total: Decimal
    memo: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        products: Mapping[str, Mapping[str, Any]] | None = None,
        customers: Mapping[str, Mapping[str, Any]] | None = None,
        minor_units: bool = False,
    ) -> SourceInvoice:
        """Read an invoice mapping (platform JSON, or an export row joined with lines).

        Keys read: ``id``; the customer as ``customer`` (a record) or ``customer_id``
        (looked up in ``customers``, else the invoice's own fields, where an export
        query puts the extracted custom fields); the date from the first of ``date``,
        ``issued_at``, ``invoice_date``, ``end_timestamp``, ``finalized_at``;
        ``currency`` or ``credit_type.name`` (``"USD (cents)"`` means amounts in cents);
        ``total``; ``memo``; lines from ``line_items`` (or ``lines``), each with
        ``description`` or ``name``, ``amount`` or ``total``, ``quantity``,
        ``unit_price``, and ``product`` (a record) or ``product_id`` (looked up in
        ``products``). ``minor_units`` says amounts are in the currency's minor unit.
        Anything missing or malformed raises :class:`MappingError` naming the invoice.
        """
        if not isinstance(data, Mapping):
            raise MappingError(f"a source invoice must be a mapping, not {type(data).__name__}")
        invoice_id = _text(data.get("id"))
        if invoice_id is None:
            raise MappingError("the source invoice has no id")
        where = f"source invoice {invoice_id!r}"
        currency, cents = _currency(data, where)
        scale = Decimal(10) ** currency_exponent(currency) if (minor_units or cents) else None
        raw_lines = data.get("line_items", data.get("lines"))
        if not isinstance(raw_lines, list | tuple):
            raise MappingError("the source invoice has no line_items list", record=where)
        lines = tuple(
            _line(line, index, products or {}, scale, where) for index, line in enumerate(raw_lines)
        )
        stated = data.get("total")
        total = (
            _decimal(stated, "total", where, scale)
            if stated is not None
            else sum((line.amount for line in lines), Decimal(0))
        )
        return cls(
            id=invoice_id,
            customer=_customer(data, customers or {}, where),
            date=_date(data, where),
            currency=currency,
            lines=lines,
            total=total,
            memo=_text(data.get("memo")),
            raw=data,
        )


def invoice_from_source(
    source: SourceInvoice,
    mapping: FieldMapping,
    *,
    external_id_prefix: str = "",
) -> Invoice | None:
    """The ERP invoice for a source invoice, or None when nothing is billable (a zero
    total, or only zero lines).

    Zero-amount lines are dropped (the seed's "non-zero line items"); each remaining
    line's item comes from its product's custom field, the customer from the customer's.
    The external id is ``encode_external_id(external_id_prefix + source.id)``.
    """
    where = f"source invoice {source.id!r}"
    if source.total == 0:
        return None
    customer = mapping.customer_ref(source.customer)
    lines: list[InvoiceLine] = []
    for index, line in enumerate(source.lines):
        if line.amount == 0:
            continue
        if line.product is None:
            raise MappingError(
                f"line {index} has no product, so no ERP item", record=where, field="line_items"
            )
        item = mapping.item_ref(line.product, line.raw)
        try:
            lines.append(
                InvoiceLine(
                    description=line.description,
                    amount=line.amount,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    item=item,
                )
            )
        except ValidationError as exc:
            raise MappingError(
                f"line {index} is not a valid invoice line: {exc}", record=where
            ) from None
    if not lines:
        return None
    try:
        return Invoice(
            external_id=encode_external_id(external_id_prefix + source.id),
            customer=customer,
            date=source.date,
            currency=source.currency,
            lines=lines,
            memo=source.memo,
        )
    except ValidationError as exc:
        raise MappingError(f"not a valid invoice: {exc}", record=where) from None


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
        data = _event(event)
        event_id, event_type = _text(data.get("id")), _text(data.get("type"))
        if event_id is None or event_type is None:
            raise InvalidRequestError("the webhook event has no id or no type", raw=str(data))
        if event_type not in self.event_types:
            return HandleResult(
                event_id, event_type, "ignored", reason=f"event type {event_type!r} not handled"
            )
        properties = data.get("properties")
        invoice_id = (
            _text(properties.get("invoice_id")) if isinstance(properties, Mapping) else None
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
        outcome = write_once(
            self.store,
            LedgerTarget(self.backend.name, _INVOICE, key, key, self.tenant),
            owner=self.owner,
            lease_seconds=self.lease_seconds,
            find=lambda: self.backend.find_invoice(key),
            create=lambda: self.backend.create_invoice(invoice),
            update=lambda remote_id: self.backend.update_invoice(
                invoice.model_copy(update={"id": remote_id})
            ),
            identify=_identity,
            content_hash=content_hash(invoice),
        )
        if outcome.status == "in_progress":
            raise ConflictError(
                "another worker is writing this invoice now", record=f"invoice {key}"
            )
        if outcome.record is None:  # unchanged: nothing was sent
            return "unchanged", invoice.model_copy(update={"id": outcome.remote_id})
        return ("created" if outcome.status == "created" else "updated"), outcome.record


def _identity(record: Invoice) -> tuple[str, str | None]:
    if record.id is None:
        raise MappingError(f"the ERP returned invoice {record.external_id} without an id")
    return record.id, record.number


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
    is parsed or recorded. With ``store``, event ids are remembered in its ledger, so a
    redelivery after a restart is still dropped (``dedupe`` may add an in-memory front).
    Returns the new events, for the caller to queue.
    """
    # Imported here: only QuickBooks users pay for loading the QuickBooks package.
    from erpsync.quickbooks.webhooks import EventDeduplicator, handle_webhook

    if dedupe is None:
        dedupe = EventDeduplicator(is_new=_store_is_new(store) if store is not None else None)
    return handle_webhook(body, headers, verifier_token, dedupe)


def _store_is_new(store: SyncStore) -> Callable[[str], bool]:
    owner = make_owner("qbo-webhooks")

    def is_new(event_id: str) -> bool:
        claim = store.claim("QuickBooks", _EVENT, event_id, owner=owner, lease_seconds=60.0)
        if claim is None:
            return False
        store.mark_written(claim, event_id)
        return True

    return is_new


# -- reading helpers ----------------------------------------------------------------------


def _event(event: Mapping[str, Any] | bytes | str) -> Mapping[str, Any]:
    if isinstance(event, bytes | str):
        try:
            data = json.loads(event)
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequestError(
                "the webhook body is not JSON", raw=event[:500] if isinstance(event, str) else None
            ) from None
    else:
        data = event
    if not isinstance(data, Mapping):
        raise InvalidRequestError("the webhook body is not a JSON object")
    return data


def _text(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _decimal(value: object, name: str, where: str, scale: Decimal | None) -> Decimal:
    number: Decimal | None = None
    if isinstance(value, float):
        number = Decimal(repr(value))  # JSON numbers: the shortest repr is what was sent
    elif isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        raise MappingError(f"{name} is not a number: {value!r}", record=where, field=name)
    return number / scale if scale is not None else number


def _currency(data: Mapping[str, Any], where: str) -> tuple[str, bool]:
    given = _text(data.get("currency"))
    if given is not None:
        return given.upper(), False
    credit = data.get("credit_type")
    name = _text(credit.get("name")) if isinstance(credit, Mapping) else None
    if name is not None:
        cents = _CENTS.match(name)
        if cents:
            return cents.group(1).upper(), True
        if re.fullmatch(r"[A-Za-z]{3}", name):
            return name.upper(), False
        raise MappingError(
            f"credit type {name!r} is not a currency", record=where, field="credit_type"
        )
    return "USD", False


def _date(data: Mapping[str, Any], where: str) -> date:
    for key in _DATE_KEYS:
        value = data.get(key)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str) and value.strip():
            text = value.strip().replace("Z", "+00:00")
            try:
                return (
                    datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)
                )
            except ValueError:
                raise MappingError(
                    f"{key} is not an ISO date: {value!r}", record=where, field=key
                ) from None
    raise MappingError(f"the invoice has no date (one of {', '.join(_DATE_KEYS)})", record=where)


def _customer(
    data: Mapping[str, Any], customers: Mapping[str, Mapping[str, Any]], where: str
) -> Mapping[str, Any]:
    record = data.get("customer")
    if isinstance(record, Mapping):
        return record
    customer_id = _text(data.get("customer_id"))
    if customer_id is not None and customer_id in customers:
        return customers[customer_id]
    if customer_id is None:
        raise MappingError("the invoice has no customer or customer_id", record=where)
    # An export row: the query extracted the customer's custom fields onto the invoice.
    flat = {k: v for k, v in data.items() if k not in ("line_items", "lines", "customer")}
    return {**flat, "id": customer_id, "name": data.get("customer_name")}


def _line(
    line: object,
    index: int,
    products: Mapping[str, Mapping[str, Any]],
    scale: Decimal | None,
    where: str,
) -> SourceLine:
    at = f"{where} line {index}"
    if not isinstance(line, Mapping):
        raise MappingError(f"line {index} is not an object", record=where)
    amount_raw = line.get("amount", line.get("total"))
    if amount_raw is None:
        raise MappingError("the line has no amount or total", record=at)
    amount = _decimal(amount_raw, "amount", at, scale)
    quantity = (
        _decimal(line["quantity"], "quantity", at, None)
        if line.get("quantity") is not None
        else None
    )
    price = line.get("unit_price")
    unit_price = _decimal(price, "unit_price", at, scale) if price is not None else None
    product = line.get("product")
    if not isinstance(product, Mapping):
        product_id = _text(line.get("product_id"))
        product = products.get(product_id) if product_id is not None else None
        if product is None and product_id is not None:
            raise MappingError(f"product {product_id!r} is not among the products given", record=at)
    description = _text(line.get("description")) or _text(line.get("name"))
    return SourceLine(description, amount, quantity, unit_price, product, line)
