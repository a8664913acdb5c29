"""QuickBooks Online backend: the AccountingBackend for one QuickBooks Online company.

Where the external id lives
---------------------------
QuickBooks has no external-id field, and its query language can filter on ``DocNumber``
but not on ``PrivateNote`` or custom fields. Two layouts are offered
(``external_id_field``), and in both the full external id is written as a marker line
at the end of ``PrivateNote`` (``[erpsync external_id=job-1042]``), which is how a
record is recognised as ours and how ``Invoice.external_id`` is read back:

``"PrivateNote"`` (the default)
    The external id is only in the marker; ``DocNumber`` stays a human number
    (``Invoice.number``, the ``numbering`` rule, or QuickBooks' sequence), so an invoice
    can carry both. Before a write the party's transactions of that date are fetched
    (``CustomerRef = c AND TxnDate = d``; every page, so a busy day cannot hide a match)
    and matched by marker. :meth:`~QuickBooksBackend.create_invoices` needs at most one
    such query per chunk of 30 (``CustomerRef IN (...)`` and the chunk's dates, close
    dates as a range, far-apart ones separately) and fetches each customer and day once
    per run, adding what the run writes, so a re-run finds every invoice an earlier run
    wrote without relying on any company setting. An external id repeated within one
    input is written once. There is no server-side guard, so a write whose outcome is
    unknown (lost answer, 5xx) is not re-sent on the strength of ``requestid`` alone
    (reported to fail now and then): QuickBooks is asked first and the write repeated,
    under the same ``requestid``, only while the record is provably absent.
    ``find_invoice(external_id)`` has no customer or date to narrow by and scans
    invoices newest first: fine for recent records, slow on large books. Payments and
    purchase orders always use this layout (payments have no ``DocNumber``), through
    the same lookup helpers.
``"DocNumber"``
    The invoice's ``DocNumber`` *is* its external key: the external id itself when it
    fits QuickBooks' 21 characters, otherwise ``~`` plus a 20-character digest of it
    (SHA-256, base32; ``~`` never occurs in an external id, so digests and plain ids
    cannot collide). Looking an invoice up costs one query (``DocNumber = '...'``, or
    ``IN (...)`` for 30 at once), and QuickBooks' duplicate-number check (6140, naming
    the holder's TxnId) adds a server-side guard. Caveat: QuickBooks runs that check
    only while the company's "warn if duplicate number" preference is on (and
    ``include=allowduplicatedocnum`` skips it); :meth:`~QuickBooksBackend.create_invoice`
    looks up before writing anyway, but :meth:`~QuickBooksBackend.create_invoices`
    finds invoices an earlier run wrote only through the 6140, so with the check off a
    re-run duplicates them. That reliance on an unconfirmable company setting is why
    this is not the default. It is the better choice when the external id is meant to
    be the printed invoice number (job numbers) and one-query lookups matter. The
    price: an invoice cannot carry both an external id and a different ``number``, and
    the ``numbering`` rule applies only to invoices without an external id.

What people see in QuickBooks: in the default layout the invoice number is an ordinary
number, and the marker line ``[erpsync external_id=...]`` sits at the end of the
invoice's private note (the form's statement memo, which Intuit documents as not
printed on the invoice); staff see it there and should leave it alone. In the
``"DocNumber"`` layout the invoice number shown and printed IS the external id
(``job-1042``, or ``~`` and a digest for long ids).

Customers keep the marker in ``Notes``. Vendors and items have no free-text field to
carry one: their unique name is their key, and creating one whose exact name exists
returns the existing record when an external id was given.

Every write also carries a ``requestid`` made once and re-sent on retries (the client).

Document numbers and currencies
-------------------------------
With "Custom transaction numbers" on (Settings > Account and settings > Sales > Sales
form content), QuickBooks leaves an invoice without a number unless the client sends
one. Every invoice that reaches the write without a number (in the default layout: no
``Invoice.number``, whatever its external id; in the ``"DocNumber"`` layout: no
external id either) gets one from the ``numbering`` rule, or, without a rule, a
``UserWarning`` (and one WARNING log line per backend) says it will stay unnumbered.

QuickBooks puts a transaction in its customer's currency and needs multicurrency
(Settings > Account and settings > Advanced > Currency) for any currency but the home
one. An invoice or payment whose currency does not fit is refused before the write
with a :class:`ConfigurationError` that says which setting or customer to change.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import logging
import random
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

import requests

from erpsync.backend import AccountingBackend, BulkOutcome, BulkResult, Capabilities
from erpsync.errors import (
    ConfigurationError,
    ConflictError,
    DuplicateError,
    ErpSyncError,
    NotFoundError,
    RateLimitError,
    ServiceError,
    UnsupportedOperationError,
)
from erpsync.limits import Limiter
from erpsync.models import (
    Customer,
    DeletedRecord,
    Invoice,
    Item,
    ItemReceipt,
    Payment,
    PurchaseOrder,
    Vendor,
)
from erpsync.quickbooks import records as rec
from erpsync.quickbooks.client import (
    BATCH_LIMIT,
    MINOR_VERSION,
    BatchItem,
    Environment,
    QuickBooksClient,
)
from erpsync.quickbooks.query import Query
from erpsync.transport import RetryPolicy, Timeout, TransportOptions, new_idempotency_key

__all__ = ["ExternalIdField", "QuickBooksBackend", "doc_number_key"]

_log = logging.getLogger("erpsync.quickbooks")

ExternalIdField = Literal["DocNumber", "PrivateNote"]
Numbering = Callable[[Invoice], str]
BulkStatus = Literal["created", "existed"]
_Named = TypeVar("_Named", Customer, Vendor, Item)

_CURRENCY_SETTING = "Settings > Account and settings > Advanced > Currency"
_NUMBER_SETTING = "Settings > Account and settings > Sales > Sales form content"
#: Rounds of a bulk chunk: first send, then re-sends of what is still unknown.
_BULK_ROUNDS = 3
_DELETED_TYPES = {
    "customer": "Customer",
    "vendor": "Vendor",
    "item": "Item",
    "invoice": "Invoice",
    "payment": "Payment",
    "purchase_order": "PurchaseOrder",
    "purchaseorder": "PurchaseOrder",
}


def doc_number_key(external_id: str) -> str:
    """The ``DocNumber`` that stands for ``external_id`` in the ``"DocNumber"`` layout."""
    if len(external_id) <= rec.DOC_NUMBER_MAX:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8")).digest()
    return "~" + base64.b32encode(digest).decode("ascii")[:20]


@dataclass
class _Prepared:
    """One invoice ready to send: its wire body and how to recognise it afterwards."""

    index: int
    invoice: Invoice
    body: dict[str, Any]


#: (party id, transaction date, external id): what a marker lookup searches for.
_Wanted = tuple[str, date, str]
#: (party id, transaction date): the narrowest filter QuickBooks' query allows.
_Pair = tuple[str, date]
#: Dates further apart than this are looked up in separate queries, so that one old and
#: one new date in a chunk do not fetch every transaction in between.
_LOOKUP_SPAN = timedelta(days=31)


class _RunIndex:
    """What QuickBooks holds, by marker, for the (party, date) pairs of one bulk run.

    Each pair is fetched once, by the first chunk that needs it, and every invoice the
    run creates is added as it is created. Without it every chunk would page through the
    same busy customer's day again (3,000 invoices of one customer and day cost 3 pages
    a chunk, growing as the run writes). What an earlier run wrote is in QuickBooks when
    the pair is first fetched; what this run writes is added here; an input repeating an
    external id is settled by :class:`_Claims`. ``fresh`` bypasses the cache: after a
    batch that went unanswered, only QuickBooks knows what it wrote.
    """

    def __init__(self, load: Callable[[set[_Pair]], dict[_Pair, dict[str, dict[str, Any]]]]):
        self._load = load
        self._lock = threading.Lock()
        self._pairs: dict[_Pair, dict[str, dict[str, Any]]] = {}

    def find(self, wants: Sequence[_Wanted], *, fresh: bool = False) -> dict[str, dict[str, Any]]:
        pairs = {(party, day) for party, day, _ in wants}
        with self._lock:
            missing = set(pairs) if fresh else {p for p in pairs if p not in self._pairs}
        if missing:
            loaded = self._load(missing)
            with self._lock:
                for pair in missing:
                    held = self._pairs.setdefault(pair, {})
                    for key, row in loaded.get(pair, {}).items():
                        held.setdefault(key, row)  # merge: a concurrent remember() stays
        with self._lock:
            return {
                key: self._pairs[(party, day)][key]
                for party, day, key in wants
                if key in self._pairs.get((party, day), {})
            }

    def remember(self, party: str, day: date, key: str, row: dict[str, Any]) -> None:
        with self._lock:
            self._pairs.setdefault((party, day), {}).setdefault(key, row)


class _Claims:
    """The first input of a run to carry each external id, and what became of it.

    A repeated external id in one run is not sent again: it waits for the first one's
    outcome and reports ``existed`` (or the first one's failure). Claims are made in
    input order on the submitting thread, so an input only ever waits for an earlier
    one, which its worker pool has already started: no cycle, no deadlock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leaders: dict[str, int] = {}
        self._done: dict[int, threading.Event] = {}
        self._outcomes: dict[int, BulkOutcome[Invoice]] = {}

    def claim(self, index: int, item: Any) -> int | None:
        """None if ``item`` leads (or has no external id), else the leader's index."""
        key = item.external_id if isinstance(item, Invoice) else None
        if key is None:
            return None
        with self._lock:
            leader = self._leaders.setdefault(key, index)
            if leader == index:
                self._done[index] = threading.Event()
                return None
            return leader

    def settle(self, outcome: BulkOutcome[Invoice]) -> None:
        with self._lock:
            event = self._done.get(outcome.index)
            if event is None:
                return
            self._outcomes[outcome.index] = outcome
        event.set()

    def release(self, indexes: Iterable[int]) -> None:
        """Wake anyone waiting on these leaders, settled or not (a crash must not hang)."""
        with self._lock:
            events = [self._done[i] for i in indexes if i in self._done]
        for event in events:
            event.set()

    def outcome_of(self, leader: int) -> BulkOutcome[Invoice] | None:
        with self._lock:
            event = self._done.get(leader)
        if event is not None:
            event.wait()
        with self._lock:
            return self._outcomes.get(leader)


@dataclass
class _Run:
    """State shared by the chunks of one ``create_invoices`` call."""

    index: _RunIndex | None
    claims: _Claims


class QuickBooksBackend(AccountingBackend):
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
        if external_id_field not in ("DocNumber", "PrivateNote"):
            raise ConfigurationError(
                f"external_id_field must be 'DocNumber' or 'PrivateNote', not {external_id_field!r}"
            )
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
        self._retry = self.client.transport.retry
        self._sleep = self.client.options.sleep
        self._rng = self.client.options.rng or random.Random()
        self.numbering = numbering
        self.external_id_field: ExternalIdField = external_id_field
        self.income_account = income_account
        self._lock = threading.Lock()
        self._preferences: dict[str, Any] | None = None
        self._currencies: dict[str, str] = {}
        self._warned_unnumbered = False

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

    # -- company settings -----------------------------------------------------------------

    def preferences(self, *, refresh: bool = False) -> dict[str, Any]:
        """The company's Preferences, fetched once and cached (``refresh`` re-reads)."""
        with self._lock:
            cached = self._preferences
        if cached is None or refresh:
            cached = self.client.preferences()
            with self._lock:
                self._preferences = cached
        return cached

    @property
    def home_currency(self) -> str:
        prefs = self.preferences().get("CurrencyPrefs") or {}
        home = prefs.get("HomeCurrency") or {}
        return str(home.get("value") or "USD").upper()

    @property
    def multicurrency(self) -> bool:
        prefs = self.preferences().get("CurrencyPrefs") or {}
        return prefs.get("MultiCurrencyEnabled") is True

    @property
    def custom_transaction_numbers(self) -> bool:
        prefs = self.preferences().get("SalesFormsPrefs") or {}
        return prefs.get("CustomTxnNumbers") is True

    # -- customers ------------------------------------------------------------------------

    def get_customer(self, id: str) -> Customer:
        return rec.customer_from_wire(
            self.client.read("Customer", id), home_currency=self.home_currency
        )

    def find_customers(self, name: str) -> list[Customer]:
        rows = self._name_candidates("Customer", "DisplayName", name)
        home = self.home_currency
        return self._select_by_name(
            [rec.customer_from_wire(r, home_currency=home) for r in rows], name
        )

    def iter_customers(self, modified_since: datetime | None = None) -> Iterator[Customer]:
        home = self.home_currency
        for row in self.client.iter_query(_since(Query("Customer"), modified_since)):
            yield rec.customer_from_wire(row, home_currency=home)

    def create_customer(self, customer: Customer) -> Customer:
        self._check_party_currency(customer.currency, f"customer {customer.name}")
        try:
            wire = self.client.create(
                "Customer", rec.customer_to_wire(customer), record=f"customer {customer.name}"
            )
        except DuplicateError as exc:
            existing = self._existing_name(
                "customer", self.find_customers(customer.name), customer.name
            )
            if (
                existing is not None
                and customer.external_id is not None
                and existing.external_id == customer.external_id
            ):
                return existing
            raise exc.with_context(existing_id=existing.id if existing else None) from None
        return rec.customer_from_wire(wire, home_currency=self.home_currency)

    # -- vendors --------------------------------------------------------------------------

    def get_vendor(self, id: str) -> Vendor:
        return rec.vendor_from_wire(
            self.client.read("Vendor", id), home_currency=self.home_currency
        )

    def find_vendors(self, name: str) -> list[Vendor]:
        rows = self._name_candidates("Vendor", "DisplayName", name)
        home = self.home_currency
        return self._select_by_name(
            [rec.vendor_from_wire(r, home_currency=home) for r in rows], name
        )

    def iter_vendors(self, modified_since: datetime | None = None) -> Iterator[Vendor]:
        home = self.home_currency
        for row in self.client.iter_query(_since(Query("Vendor"), modified_since)):
            yield rec.vendor_from_wire(row, home_currency=home)

    def create_vendor(self, vendor: Vendor) -> Vendor:
        self._check_party_currency(vendor.currency, f"vendor {vendor.name}")
        try:
            wire = self.client.create(
                "Vendor", rec.vendor_to_wire(vendor), record=f"vendor {vendor.name}"
            )
        except DuplicateError as exc:
            existing = self._existing_name("vendor", self.find_vendors(vendor.name), vendor.name)
            if existing is not None and vendor.external_id is not None:
                return existing.model_copy(update={"external_id": vendor.external_id})
            raise exc.with_context(existing_id=existing.id if existing else None) from None
        created = rec.vendor_from_wire(wire, home_currency=self.home_currency)
        return created.model_copy(update={"external_id": vendor.external_id})

    # -- items ----------------------------------------------------------------------------

    def get_item(self, id: str) -> Item:
        return rec.item_from_wire(self.client.read("Item", id))

    def find_items(self, name: str) -> list[Item]:
        rows = self._name_candidates("Item", "Name", name)
        return self._select_by_name([rec.item_from_wire(r) for r in rows], name)

    def iter_items(self, modified_since: datetime | None = None) -> Iterator[Item]:
        for row in self.client.iter_query(_since(Query("Item"), modified_since)):
            yield rec.item_from_wire(row)

    def create_item(self, item: Item) -> Item:
        body = rec.item_to_wire(item, income_account=self._income_account(), expense_account=None)
        try:
            wire = self.client.create("Item", body, record=f"item {item.name}")
        except DuplicateError as exc:
            existing = self._existing_name("item", self.find_items(item.name), item.name)
            if existing is not None and item.external_id is not None:
                return existing.model_copy(update={"external_id": item.external_id})
            raise exc.with_context(existing_id=existing.id if existing else None) from None
        return rec.item_from_wire(wire).model_copy(update={"external_id": item.external_id})

    def _income_account(self) -> str | None:
        if self.income_account is None:
            rows = self.client.query_page(
                Query("Account").where("AccountType", "=", "Income").order_by("Id"),
                max_results=1,
            )
            if rows:
                self.income_account = str(rows[0].get("Id"))
        return self.income_account

    # -- invoices -------------------------------------------------------------------------

    def get_invoice(self, id: str) -> Invoice:
        return self._invoice(self.client.read("Invoice", id))

    def find_invoice(self, external_id: str) -> Invoice | None:
        if not isinstance(external_id, str) or not external_id:
            raise ConfigurationError("find_invoice needs an external id")
        rows: Iterable[dict[str, Any]]
        if self.external_id_field == "DocNumber":
            rows = self.client.query_page(
                Query("Invoice").where("DocNumber", "=", doc_number_key(external_id))
            )
        else:
            rows = self.client.iter_query(
                Query("Invoice").order_by("MetaData.CreateTime", descending=True)
            )
        for row in rows:
            if self._is_ours(row, external_id, "Invoice"):
                return self._invoice(row, external_id)
        return None

    def iter_invoices(
        self, modified_since: datetime | None = None, open_only: bool = False
    ) -> Iterator[Invoice]:
        query = _since(Query("Invoice"), modified_since)
        if open_only:
            query = query.where("Balance", ">", Decimal(0))
        for row in self.client.iter_query(query):
            yield self._invoice(row)

    def create_invoice(self, invoice: Invoice) -> Invoice:
        return self._create_invoice_outcome(invoice)[0]

    def _create_invoice_outcome(self, invoice: Invoice) -> tuple[Invoice, BulkStatus]:
        body = self._invoice_body(invoice)
        key = invoice.external_id
        label = f"invoice {key or invoice.number or '(new)'}"
        if key is not None and self.external_id_field == "PrivateNote":
            wire, existed = self._create_marked(
                "Invoice", body, label, (invoice.customer.id, invoice.date, key)
            )
            return self._invoice(wire, key), "existed" if existed else "created"
        if key is not None:
            found = self._lookup_invoices([invoice]).get(key)
            if found is not None:
                return found, "existed"
        try:
            wire = self.client.create("Invoice", body, record=label)
        except DuplicateError as exc:
            existing = self._claim_duplicate(exc, key)
            if existing is not None:
                return existing, "existed"
            raise
        except (ServiceError, RateLimitError) as exc:
            if key is None:
                raise
            # The write may have happened: the ledger of record is QuickBooks itself.
            found = self._lookup_invoices([invoice]).get(key)
            if found is not None:
                return found, "existed"
            raise exc.with_context(
                hint="No invoice with this external id exists in QuickBooks: repeating "
                "the call is safe"
            ) from None
        return self._invoice(wire, key), "created"

    def update_invoice(self, invoice: Invoice) -> Invoice:
        """A sparse update of the invoice's dates, lines, number and memo.

        The current SyncToken is read first, so the update applies to the latest
        version; a concurrent change in between is refused by QuickBooks (5010,
        :class:`ConflictError`) rather than overwritten.
        """
        if invoice.id is None:
            raise ConfigurationError("update_invoice needs the invoice's id (from get or create)")
        current = self.client.read("Invoice", invoice.id)
        external_id = invoice.external_id or rec.external_id_in(current.get("PrivateNote"))
        body = rec.invoice_to_wire(
            invoice,
            doc_number=invoice.number,
            private_note=rec.with_external_id(invoice.memo, external_id),
        )
        if not self.multicurrency:
            body.pop("CurrencyRef", None)
        body.update({"Id": invoice.id, "SyncToken": current.get("SyncToken")})
        wire = self.client.update("Invoice", body, sparse=True)
        return self._invoice(wire, external_id)

    def invoice_pdf(self, id: str) -> bytes:
        return self.client.invoice_pdf(id)

    def _invoice(self, wire: dict[str, Any], external_id: str | None = None) -> Invoice:
        model = rec.invoice_from_wire(wire, home_currency=self.home_currency)
        if external_id is not None and model.external_id != external_id:
            model = model.model_copy(update={"external_id": external_id})
        return model

    def _invoice_body(self, invoice: Invoice) -> dict[str, Any]:
        """Check an invoice against the company's settings and build its create body.

        Everything that can be known before the write is checked here, so a bad invoice
        fails without touching QuickBooks.
        """
        self._check_transaction_currency(
            invoice.currency, invoice.customer.id, f"invoice {invoice.external_id or '(new)'}"
        )
        number = invoice.number
        key = invoice.external_id
        if key is not None and self.external_id_field == "DocNumber":
            wanted = doc_number_key(key)
            if number is not None and number != wanted:
                raise ConfigurationError(
                    f"invoice {key} has number {number!r}, but with external_id_field="
                    f"'DocNumber' the DocNumber holds the external id ({wanted!r})",
                    backend=self.name,
                    hint="leave Invoice.number empty, or use external_id_field='PrivateNote'",
                )
            number = wanted
        if number is None and self.custom_transaction_numbers:
            if self.numbering is not None:
                number = self.numbering(invoice)
                if not isinstance(number, str) or not number:
                    raise ConfigurationError("the numbering rule must return a non-empty string")
            else:
                self._warn_unnumbered(invoice)
        body = rec.invoice_to_wire(
            invoice, doc_number=number, private_note=rec.with_external_id(invoice.memo, key)
        )
        if not self.multicurrency:
            body.pop("CurrencyRef", None)
        return body

    def _warn_unnumbered(self, invoice: Invoice) -> None:
        message = (
            "QuickBooks will leave this invoice without a number: the company uses custom "
            f"transaction numbers ({_NUMBER_SETTING}), and the invoice has no number. "
            "Pass numbering=... to QuickBooksBackend, set Invoice.number, or turn the "
            "setting off to let QuickBooks number invoices"
        )
        with self._lock:
            first = not self._warned_unnumbered
            self._warned_unnumbered = True
        if first:
            _log.warning(
                "%s (first invoice: %s)", message, invoice.external_id or "(no external id)"
            )
        warnings.warn(message, UserWarning, stacklevel=4)

    def _claim_duplicate(self, exc: DuplicateError, key: str | None) -> Invoice | None:
        """A 6140 on create: if the holder of the number is this invoice, return it."""
        if key is None or exc.existing_id is None or self.external_id_field != "DocNumber":
            return None
        try:
            wire = self.client.read("Invoice", exc.existing_id)
        except NotFoundError:
            return None
        return self._invoice(wire, key) if self._is_ours(wire, key, "Invoice") else None

    def _is_ours(self, row: dict[str, Any], external_id: str, entity: str) -> bool:
        marker = rec.external_id_in(row.get("PrivateNote"))
        if marker is not None:
            return marker == external_id
        # Written before erpsync (or by hand): in the DocNumber layout the number is the key.
        return (
            entity == "Invoice"
            and self.external_id_field == "DocNumber"
            and row.get("DocNumber") == external_id
        )

    def _lookup_invoices(
        self, invoices: Sequence[Invoice], run: _Run | None = None, *, fresh: bool = False
    ) -> dict[str, Invoice]:
        """The invoices already in QuickBooks for these external ids, by external id.

        In a bulk ``run`` the ``PrivateNote`` layout asks the run's index (``fresh``:
        QuickBooks itself, refreshing the index)."""
        keyed = [inv for inv in invoices if inv.external_id is not None]
        found: dict[str, Invoice] = {}
        if not keyed:
            return found
        if self.external_id_field == "DocNumber":
            by_key = {
                doc_number_key(inv.external_id): inv.external_id for inv in keyed if inv.external_id
            }
            for start in range(0, len(by_key), BATCH_LIMIT):
                chunk = list(by_key)[start : start + BATCH_LIMIT]
                query = Query("Invoice").where_in("DocNumber", chunk)
                for row in self.client.iter_query(query):
                    external_id = by_key.get(str(row.get("DocNumber")))
                    if external_id and self._is_ours(row, external_id, "Invoice"):
                        found[external_id] = self._invoice(row, external_id)
            return found
        wants = [(inv.customer.id, inv.date, inv.external_id) for inv in keyed if inv.external_id]
        if run is not None and run.index is not None:
            rows = run.index.find(wants, fresh=fresh)
        else:
            rows = self._find_marked("Invoice", wants)
        return {key: self._invoice(row, key) for key, row in rows.items()}

    # -- bulk -----------------------------------------------------------------------------

    def create_invoices(
        self, invoices: Iterable[Invoice], *, max_workers: int | None = None
    ) -> BulkResult[Invoice]:
        """Create many invoices in batches of 30, several batches in flight.

        Each chunk of 30 is sent as one batch request whose ``requestid`` is re-sent on
        every retry. Invoices already in QuickBooks are found by external id: in the
        ``PrivateNote`` layout by a lookup before sending (at most one query per chunk:
        the chunk's customers and dates, paged, each customer and day fetched once per
        run), in the ``DocNumber`` layout after QuickBooks refused them as duplicate
        numbers (6140). An external id repeated within the input is written once; the
        repeats report ``existed``. Items QuickBooks
        refuses are reported as failed; when a whole batch's outcome is unknown (no
        answer after the transport's retries), its invoices are looked up again and
        only the ones not found are sent again, so a retried batch never duplicates
        an invoice that has an external id. Invoices without one are re-sent only with
        the same ``requestid``. The input is read lazily, ``max_workers`` chunks at a
        time; the tenant limiter keeps the whole run within 10 requests in flight, 500 a
        minute and 40 batches a minute.
        """
        limit = self.capabilities.max_concurrency
        workers = limit if max_workers is None else max_workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"max_workers must be an int >= 1, got {max_workers!r}")
        workers = min(workers, limit)
        outcomes: list[BulkOutcome[Invoice]] = []
        source = iter(invoices)
        counter = itertools.count()
        run = _Run(
            index=_RunIndex(lambda pairs: self._marked_rows("Invoice", pairs))
            if self.external_id_field == "PrivateNote"
            else None,
            claims=_Claims(),
        )
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="erpsync-qbo") as pool:
            running: set[Future[list[BulkOutcome[Invoice]]]] = set()
            try:
                while True:
                    if len(running) >= workers:
                        done, pending = wait(running, return_when=FIRST_COMPLETED)
                        running = set(pending)
                        for future in done:
                            outcomes.extend(future.result())
                    chunk = [
                        (next(counter), item) for item in itertools.islice(source, BATCH_LIMIT)
                    ]
                    if not chunk:
                        break
                    # Claimed here, in input order, so a repeat only waits for an earlier input.
                    leaders = {index: run.claims.claim(index, item) for index, item in chunk}
                    running.add(pool.submit(self._create_chunk, chunk, leaders, run))
            finally:
                finished, _ = wait(running)
            for future in finished:
                outcomes.extend(future.result())
        return BulkResult(outcomes)

    def _create_chunk(
        self, chunk: list[tuple[int, Any]], leaders: dict[int, int | None], run: _Run
    ) -> list[BulkOutcome[Invoice]]:
        """Write one chunk; never raises (every failure becomes that invoice's outcome)."""
        try:
            outcomes = self._write_chunk(chunk, leaders, run)
        finally:
            run.claims.release(index for index, _ in chunk)
        for index, invoice in chunk:
            leader = leaders.get(index)
            if leader is not None:
                outcomes[index] = self._repeat(index, invoice, leader, run)
        return [outcomes[index] for index, _ in chunk]

    def _write_chunk(
        self, chunk: list[tuple[int, Any]], leaders: dict[int, int | None], run: _Run
    ) -> dict[int, BulkOutcome[Invoice]]:
        outcomes: dict[int, BulkOutcome[Invoice]] = {}
        prepared: list[_Prepared] = []
        for index, invoice in chunk:
            if leaders.get(index) is not None:
                continue  # a repeat: settled after its leader, by _repeat
            try:
                if not isinstance(invoice, Invoice):
                    raise ConfigurationError(f"expected an Invoice, got {type(invoice).__name__}")
                prepared.append(_Prepared(index, invoice, self._invoice_body(invoice)))
            except Exception as exc:
                outcomes[index] = self._failed(index, invoice, exc)
        try:
            self._send_prepared(prepared, outcomes, run)
        except Exception as exc:  # a bug or an error outside any one item: keep every result
            for item in prepared:
                if item.index not in outcomes:
                    outcomes[item.index] = self._failed(item.index, item.invoice, exc)
        for outcome in outcomes.values():
            run.claims.settle(outcome)
        return outcomes

    def _repeat(self, index: int, invoice: Invoice, leader: int, run: _Run) -> BulkOutcome[Invoice]:
        """The outcome of an input repeating the external id of input ``leader``."""
        first = run.claims.outcome_of(leader)
        if first is not None and first.record is not None:
            return BulkOutcome(index, invoice.external_id, "existed", first.record)
        error = first.error if first is not None and first.error is not None else None
        if error is None:
            error = ServiceError("the first invoice with this external id was not settled")
        failed = self._failed(index, invoice, error)
        assert failed.error is not None
        note = (
            f"input #{leader} has the same external id and failed (see its outcome); "
            "this repeat was not sent"
        )
        earlier = failed.error.hint
        failed.error.hint = None
        failed.error.with_context(hint=f"{note}. {earlier}" if earlier else note)
        return failed

    def _send_prepared(
        self, prepared: list[_Prepared], outcomes: dict[int, BulkOutcome[Invoice]], run: _Run
    ) -> None:
        if self.external_id_field == "PrivateNote":
            # No server-side guard in this layout: find what an earlier run wrote.
            pending = self._mark_existing(prepared, outcomes, run, fresh=False)
        else:
            # QuickBooks refuses a second invoice with the same DocNumber (6140), so the
            # ones already there announce themselves and are looked up afterwards: one
            # request per 30 invoices instead of two. This depends on the company's
            # duplicate-number check being on (see the module docstring).
            pending = prepared
        request_id = new_idempotency_key()
        sent: list[int] = []
        last_error: ErpSyncError | None = None
        unanswered = False
        # A chunk whose invoices all have external ids is never re-sent blindly: an
        # unanswered batch is raised by the transport, QuickBooks is asked what it holds,
        # and only the invoices it lacks go again (after a backoff). As patient as the
        # transport's own retries would have been; the others rely on the requestid.
        keyed = all(p.invoice.external_id is not None for p in pending)
        rounds = _BULK_ROUNDS * self._retry.max_attempts if keyed else _BULK_ROUNDS
        for round_number in range(rounds):
            if not pending:
                return
            indexes = [p.index for p in pending]
            if indexes != sent:
                request_id, sent = new_idempotency_key(), indexes
            try:
                results = self.client.send_batch(
                    [BatchItem.create("Invoice", p.body) for p in pending],
                    request_id=request_id,
                    retry_unknown=not keyed,
                )
            except ErpSyncError as exc:
                last_error = exc
                if not _outcome_unknown(exc):
                    for p in pending:
                        outcomes[p.index] = self._failed(p.index, p.invoice, exc)
                    return
                unanswered = True
                if any(p.invoice.external_id is None for p in pending):
                    # An invoice without an external id cannot be looked up: only the
                    # same request under the same requestid (QuickBooks then replays
                    # its first answer) can settle it, so the batch is re-sent unchanged.
                    continue
                # The batch may or may not have been written: ask QuickBooks what it has.
                pending = self._mark_existing(pending, outcomes, run)
                if keyed and pending and round_number < rounds - 1:
                    self._pause(round_number)
                continue
            unanswered = False
            # Answered: a repeat under this requestid would only replay the answer, so
            # whatever is re-sent from here goes under a new one.
            sent = []
            unknown: list[_Prepared] = []
            duplicates: dict[int, ErpSyncError] = {}
            for p, result in zip(pending, results, strict=True):
                if result.record is not None:
                    outcomes[p.index] = self._created(p, result.record, run)
                    continue
                error = result.error
                assert error is not None
                if isinstance(error, DuplicateError) and p.invoice.external_id is not None:
                    duplicates[p.index] = error
                    continue
                if _outcome_unknown(error):
                    last_error = error
                    unknown.append(p)
                    continue
                outcomes[p.index] = self._failed(p.index, p.invoice, error)
            if duplicates:
                held = [p for p in pending if p.index in duplicates]
                for p in self._mark_existing(held, outcomes, run):
                    # The number is held by an invoice that is not this one.
                    outcomes[p.index] = self._failed(p.index, p.invoice, duplicates[p.index])
            pending = self._mark_existing(unknown, outcomes, run) if unknown else []
        if unanswered:
            pending = self._mark_existing(pending, outcomes, run)
        for p in pending:
            error = last_error or ServiceError("the batch outcome stayed unknown", retryable=False)
            if unanswered and p.invoice.external_id is not None:
                error = _known_absent(_copy_error(error), "No invoice with this external id")
            elif unanswered and p.invoice.external_id is None:
                error = _copy_error(error).with_context(
                    hint="QuickBooks never answered, so this invoice may or may not exist; "
                    "it has no external id to look it up by and was not re-sent under a new "
                    "requestid, which could have duplicated it. Check QuickBooks before "
                    "repeating it"
                )
            outcomes[p.index] = self._failed(p.index, p.invoice, error)

    def _created(self, p: _Prepared, wire: dict[str, Any], run: _Run) -> BulkOutcome[Invoice]:
        """The outcome of an invoice QuickBooks created; an unreadable answer fails only
        this invoice (and says it exists), never the rest of the batch."""
        key = p.invoice.external_id
        if run.index is not None and key is not None:
            run.index.remember(p.invoice.customer.id, p.invoice.date, key, wire)
        try:
            model = self._invoice(wire, p.invoice.external_id)
        except ErpSyncError as exc:
            return self._failed(
                p.index,
                p.invoice,
                exc.with_context(
                    hint=f"QuickBooks created the invoice (Id {wire.get('Id')!s}) but its "
                    "answer could not be read: do not create it again"
                ),
            )
        return BulkOutcome(p.index, p.invoice.external_id, "created", model)

    def _mark_existing(
        self,
        prepared: list[_Prepared],
        outcomes: dict[int, BulkOutcome[Invoice]],
        run: _Run,
        *,
        fresh: bool = True,
    ) -> list[_Prepared]:
        """Record invoices already in QuickBooks as ``existed``; return the others."""
        keyed = [p.invoice for p in prepared if p.invoice.external_id is not None]
        found = self._lookup_invoices(keyed, run, fresh=fresh) if keyed else {}
        rest: list[_Prepared] = []
        for p in prepared:
            key = p.invoice.external_id
            if key is not None and key in found:
                outcomes[p.index] = BulkOutcome(p.index, key, "existed", found[key])
            else:
                rest.append(p)
        return rest

    def _failed(self, index: int, invoice: Any, exc: BaseException) -> BulkOutcome[Invoice]:
        key = invoice.external_id if isinstance(invoice, Invoice) else None
        record = f"invoice {key}" if key else f"invoice #{index}"
        if isinstance(exc, ErpSyncError):
            error: ErpSyncError = exc
        else:
            error = ServiceError(f"unexpected {type(exc).__name__}: {exc}", retryable=False)
            error.__cause__ = exc
        # Each outcome gets its own copy: a shared batch error must not carry one
        # invoice's name into another's report.
        copied = _copy_error(error)
        if copied.record is None or copied.record.startswith("batch"):
            copied.record = None  # a batch label says less than the invoice's own name
        copied.with_context(backend=self.name, record=record)
        return BulkOutcome(index, key, "failed", error=copied)

    # -- payments -------------------------------------------------------------------------

    def get_payment(self, id: str) -> Payment:
        return rec.payment_from_wire(
            self.client.read("Payment", id), home_currency=self.home_currency
        )

    def find_payment(self, external_id: str) -> Payment | None:
        """Scans payments newest first for the marker (payments have no queryable
        free-text field); fast for recent payments, slow on large books."""
        if not isinstance(external_id, str) or not external_id:
            raise ConfigurationError("find_payment needs an external id")
        query = Query("Payment").order_by("MetaData.CreateTime", descending=True)
        for row in self.client.iter_query(query):
            if rec.external_id_in(row.get("PrivateNote")) == external_id:
                return rec.payment_from_wire(row, home_currency=self.home_currency)
        return None

    def iter_payments(self, modified_since: datetime | None = None) -> Iterator[Payment]:
        """Every payment; voided ones (TotalAmt 0, which a Payment model cannot hold) are
        skipped with a log line."""
        home = self.home_currency
        for row in self.client.iter_query(_since(Query("Payment"), modified_since)):
            if _is_zero(row.get("TotalAmt")):
                _log.info("skipping QuickBooks payment %s: its total is 0 (voided)", row.get("Id"))
                continue
            yield rec.payment_from_wire(row, home_currency=home)

    def create_payment(self, payment: Payment) -> Payment:
        """Create a payment applied to invoices (``LinkedTxn``); idempotent by external
        id (the customer's payments of that date are checked for the marker first)."""
        label = f"payment {payment.external_id or '(new)'}"
        self._check_transaction_currency(payment.currency, payment.customer.id, label)
        body = rec.payment_to_wire(
            payment, private_note=rec.with_external_id(payment.memo, payment.external_id)
        )
        if not self.multicurrency:
            body.pop("CurrencyRef", None)
        key = payment.external_id
        if key is None:
            wire = self.client.create("Payment", body, record=label)
        else:
            wire, _ = self._create_marked(
                "Payment", body, label, (payment.customer.id, payment.date, key)
            )
        return rec.payment_from_wire(wire, home_currency=self.home_currency)

    def _create_marked(
        self, entity: str, body: dict[str, Any], label: str, want: _Wanted
    ) -> tuple[dict[str, Any], bool]:
        """Create a record whose ``PrivateNote`` marker holds ``want``'s external id,
        never twice; returns the record and whether it existed already.

        QuickBooks is asked first (a record an earlier call wrote is returned). A write
        whose outcome is then unknown (lost answer, 5xx, throttled to the end) is not
        re-sent blindly on the strength of the ``requestid`` replay, which has been
        reported to fail: QuickBooks is asked again, and the write is repeated (same
        ``requestid``, after a backoff) only while the record is provably absent.
        """
        party, day, key = want
        found = self._lookup_marked(entity, party, day, key)
        if found is not None:
            return found, True
        request_id = new_idempotency_key()
        rounds = self._retry.max_attempts
        for attempt in range(rounds):
            try:
                wire = self.client.create(
                    entity, body, record=label, request_id=request_id, retry_unknown=False
                )
            except (ServiceError, RateLimitError) as exc:
                if not _outcome_unknown(exc):
                    raise
                # The write may have happened: the ledger of record is QuickBooks itself.
                found = self._lookup_marked(entity, party, day, key)
                if found is not None:
                    return found, True
                if attempt == rounds - 1:
                    raise _known_absent(exc, f"No {entity} with external id {key}") from None
                self._pause(attempt)
                continue
            return wire, False
        raise AssertionError("unreachable: the last round returns or raises")

    def _pause(self, retry_number: int) -> None:
        """The backoff before re-sending a write found not to have happened."""
        with self._lock:
            wait = self._retry.backoff(retry_number, self._rng)
        self._sleep(wait)

    def _lookup_marked(
        self, entity: str, party_id: str, day: date, external_id: str
    ) -> dict[str, Any] | None:
        return self._find_marked(entity, [(party_id, day, external_id)]).get(external_id)

    def _find_marked(self, entity: str, wants: Sequence[_Wanted]) -> dict[str, dict[str, Any]]:
        """The ``entity`` records whose marker holds one of these external ids, by id.

        The one lookup every layout that keeps the external id in ``PrivateNote`` uses
        (invoices, payments, purchase orders; single writes and bulk chunks)."""
        rows = self._marked_rows(entity, {(party, day) for party, day, _ in wants})
        return {
            key: rows[(party, day)][key]
            for party, day, key in wants
            if key in rows.get((party, day), {})
        }

    def _marked_rows(
        self, entity: str, pairs: set[_Pair]
    ) -> dict[_Pair, dict[str, dict[str, Any]]]:
        """Every marked ``entity`` record of these (party, date) pairs, by pair and marker.

        QuickBooks cannot filter on ``PrivateNote``, so the query narrows by party and
        date: ``CustomerRef IN (...)`` (``=`` for one) and ``TxnDate`` equal to the one
        date or within the range of a few close ones (far-apart dates get their own
        query). Every page is read (``MAXRESULTS 1000``): a busy customer's day cannot
        hide a match behind the first thousand. Of two records with one marker (an old
        duplicate), the older (lower Id) is the one reported.
        """
        party_field = "VendorRef" if entity == "PurchaseOrder" else "CustomerRef"
        found: dict[_Pair, dict[str, dict[str, Any]]] = {pair: {} for pair in pairs}
        for parties, low, high in _lookup_groups(pairs):
            query = Query(entity)
            if entity == "PurchaseOrder":
                pass  # PurchaseOrder VendorRef is not filterable (QBO 4001): matched below
            elif len(parties) == 1:
                query = query.where(party_field, "=", parties[0])
            else:
                query = query.where_in(party_field, parties)
            if low == high:
                query = query.where("TxnDate", "=", low)
            else:
                query = query.where("TxnDate", ">=", low).where("TxnDate", "<=", high)
            for row in self.client.iter_query(query):
                marker = rec.external_id_in(row.get("PrivateNote"))
                party = _ref_id(row.get(party_field))
                day = _day_of(row.get("TxnDate"))
                if marker is None or party is None or day is None:
                    continue
                held = found.get((party, day))
                if held is not None:
                    held.setdefault(marker, row)
        return found

    # -- purchase orders ------------------------------------------------------------------

    def get_purchase_order(self, id: str) -> PurchaseOrder:
        return rec.purchase_order_from_wire(
            self.client.read("PurchaseOrder", id), home_currency=self.home_currency
        )

    def find_purchase_order(self, external_id: str) -> PurchaseOrder | None:
        """Scans purchase orders newest first for the marker."""
        query = Query("PurchaseOrder").order_by("MetaData.CreateTime", descending=True)
        for row in self.client.iter_query(query):
            if rec.external_id_in(row.get("PrivateNote")) == external_id:
                return rec.purchase_order_from_wire(row, home_currency=self.home_currency)
        return None

    def iter_purchase_orders(
        self, modified_since: datetime | None = None
    ) -> Iterator[PurchaseOrder]:
        home = self.home_currency
        for row in self.client.iter_query(_since(Query("PurchaseOrder"), modified_since)):
            yield rec.purchase_order_from_wire(row, home_currency=home)

    def create_purchase_order(self, purchase_order: PurchaseOrder) -> PurchaseOrder:
        key = purchase_order.external_id
        body = rec.purchase_order_to_wire(
            purchase_order, private_note=rec.with_external_id(purchase_order.memo, key)
        )
        if not self.multicurrency:
            body.pop("CurrencyRef", None)
        label = f"purchase order {key or purchase_order.number or '(new)'}"
        if key is None:
            wire = self.client.create("PurchaseOrder", body, record=label)
        else:
            wire, _ = self._create_marked(
                "PurchaseOrder", body, label, (purchase_order.vendor.id, purchase_order.date, key)
            )
        return rec.purchase_order_from_wire(wire, home_currency=self.home_currency)

    def receive_purchase_order(self, receipt: ItemReceipt) -> ItemReceipt:
        raise UnsupportedOperationError(
            "QuickBooks Online has no item receipt",
            backend=self.name,
            record=f"purchase order {receipt.purchase_order_id}",
            code="item_receipts",
            hint="record receiving in QuickBooks by entering a Bill against the purchase "
            "order; check backend.capabilities.item_receipts first",
        )

    # -- change tracking ------------------------------------------------------------------

    def iter_deleted(self, record_type: str, since: datetime) -> Iterator[DeletedRecord]:
        """Records deleted since ``since`` (at most 30 days ago), oldest first, from change
        data capture. CDC answers at most 1000 objects per entity; past that, the walk
        continues from the newest timestamp seen."""
        entity = _DELETED_TYPES.get(record_type.lower().replace(" ", "_")) or (
            record_type if record_type in _DELETED_TYPES.values() else None
        )
        if entity is None:
            raise ConfigurationError(
                f"unknown record type {record_type!r}; expected one of "
                f"{', '.join(sorted(_DELETED_TYPES))}"
            )
        seen: set[tuple[str, datetime]] = set()
        cursor = since
        while True:
            rows = self.client.cdc([entity], cursor)[entity]
            stamps: list[datetime] = []
            fresh: list[DeletedRecord] = []
            for row in rows:
                meta = row.get("MetaData") or {}
                stamp = rec.parse_timestamp(meta.get("LastUpdatedTime")) or cursor
                stamps.append(stamp)
                if row.get("status") != "Deleted" or row.get("Id") in (None, ""):
                    continue
                mark = (str(row["Id"]), stamp)
                if mark in seen:
                    continue
                seen.add(mark)
                fresh.append(DeletedRecord(record_type=entity, id=str(row["Id"]), deleted_at=stamp))
            yield from sorted(fresh, key=lambda d: d.deleted_at)
            if len(rows) < 1000 or not stamps or max(stamps) <= cursor:
                return
            cursor = max(stamps)

    # -- shared helpers -------------------------------------------------------------------

    def _name_candidates(self, entity: str, field: str, name: str) -> list[dict[str, Any]]:
        """Rows whose name equals ``name``, or failing an exact (case-sensitive) one,
        rows whose name matches it ignoring case. QuickBooks' query has no lower(): the
        second step asks with LIKE (no wildcards added) and compares here."""
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"a {entity} name must be a non-empty string")
        rows = list(self.client.iter_query(Query(entity).where(field, "=", name)))
        if any(str(r.get(field)) == name for r in rows):
            return rows
        liked = list(self.client.iter_query(Query(entity).like(field, name)))
        ids = {str(r.get("Id")) for r in rows}
        return rows + [r for r in liked if str(r.get("Id")) not in ids]

    @staticmethod
    def _existing_name(kind: str, matches: list[_Named], name: str) -> _Named | None:
        """The one record of ``kind`` holding exactly ``name`` (QuickBooks names are
        unique per kind, so there is at most one; None if it belongs to another kind)."""
        exact = [m for m in matches if m.name == name]
        return exact[0] if len(exact) == 1 else None

    def _customer_currency(self, customer_id: str) -> str:
        with self._lock:
            known = self._currencies.get(customer_id)
        if known is None:
            # A customer's currency never changes once set, so caching it is safe.
            known = self.get_customer(customer_id).currency
            with self._lock:
                self._currencies[customer_id] = known
        return known

    def _check_party_currency(self, currency: str, label: str) -> None:
        if currency != self.home_currency and not self.multicurrency:
            raise ConfigurationError(
                f"{label} is in {currency}, but this QuickBooks company works only in its "
                f"home currency {self.home_currency}",
                backend=self.name,
                hint=f"turn on multicurrency in QuickBooks ({_CURRENCY_SETTING}) to add "
                f"{currency} customers and vendors",
            )

    def _check_transaction_currency(self, currency: str, customer_id: str, label: str) -> None:
        home = self.home_currency
        if currency != home and not self.multicurrency:
            raise ConfigurationError(
                f"{label} is in {currency}, but this QuickBooks company's home currency is "
                f"{home} and multicurrency is off",
                backend=self.name,
                hint=f"turn on multicurrency ({_CURRENCY_SETTING}) and use a {currency} "
                f"customer, or issue the invoice in {home}",
            )
        party = self._customer_currency(customer_id)
        if party != currency:
            raise ConfigurationError(
                f"{label} is in {currency}, but customer {customer_id} is in {party}; "
                "QuickBooks bills a customer only in the customer's own currency",
                backend=self.name,
                hint=f"use a {currency} customer (with multicurrency on, {_CURRENCY_SETTING}, "
                f"create one with currency {currency}), or issue the document in {party}",
            )


# -- module helpers ------------------------------------------------------------------------


def _since(query: Query, modified_since: datetime | None) -> Query:
    if modified_since is None:
        return query
    if modified_since.tzinfo is None:
        modified_since = modified_since.replace(tzinfo=UTC)
    return query.where("MetaData.LastUpdatedTime", ">=", modified_since)


def _ref_id(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("value") is not None:
        return str(value["value"])
    return None


def _day_of(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _lookup_groups(pairs: Iterable[_Pair]) -> list[tuple[list[str], date, date]]:
    """(parties, first date, last date) per lookup query for these pairs.

    Dates are grouped while they stay within :data:`_LOOKUP_SPAN` of a group's first
    date; each group's parties go into ``IN`` lists of at most :data:`BATCH_LIMIT`.
    Usually a chunk is one customer set and one day: one query."""
    by_day: dict[date, set[str]] = {}
    for party, day in pairs:
        by_day.setdefault(day, set()).add(party)
    groups: list[tuple[list[str], date, date]] = []
    days = sorted(by_day)
    start = 0
    while start < len(days):
        end = start
        while end + 1 < len(days) and days[end + 1] - days[start] <= _LOOKUP_SPAN:
            end += 1
        parties = sorted(set().union(*(by_day[d] for d in days[start : end + 1])))
        for first in range(0, len(parties), BATCH_LIMIT):
            groups.append((parties[first : first + BATCH_LIMIT], days[start], days[end]))
        start = end + 1
    return groups


def _is_zero(value: Any) -> bool:
    try:
        return Decimal(str(value)) == 0
    except Exception:
        return False


def _outcome_unknown(error: ErpSyncError) -> bool:
    """Whether a failed write may or may not have happened (or was refused unprocessed
    for reasons that pass): worth looking up and sending again."""
    if isinstance(error, RateLimitError):
        return True
    return isinstance(error, ServiceError) and not isinstance(error, ConflictError)


def _known_absent(error: ErpSyncError, what: str) -> ErpSyncError:
    """``error`` with its hint replaced: a lookup after it proved the write absent, which
    the transport (saying "may or may not have happened") could not know."""
    error.hint = None
    return error.with_context(
        hint=f"{what} exists in QuickBooks (looked up after this failure): repeating the "
        "call is safe"
    )


def _copy_error(error: ErpSyncError) -> ErpSyncError:
    try:
        copied = error.__reduce__()
        rebuilt = copied[0](*copied[1])
    except Exception:
        return error
    if isinstance(rebuilt, ErpSyncError):
        rebuilt.__cause__ = error.__cause__
        return rebuilt
    return error
