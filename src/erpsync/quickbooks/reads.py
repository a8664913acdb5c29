"""QuickBooks reads: get, find and iterate every record type through the query API.

``iter_*`` page lazily (``STARTPOSITION`` / ``MAXRESULTS 1000``); ``find_invoice``,
``find_payment`` and ``find_purchase_order`` go through the external-id layout of
:mod:`erpsync.quickbooks.external_ids`. Company settings (home currency, multicurrency,
custom transaction numbers) are read once from Preferences and cached.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError
from erpsync.models import Customer, DeletedRecord, Invoice, Item, Payment, PurchaseOrder, Vendor
from erpsync.quickbooks import records as rec
from erpsync.quickbooks.client import QuickBooksClient
from erpsync.quickbooks.external_ids import DocNumberKey, MarkerLookup, PrivateNoteMarker
from erpsync.quickbooks.query import Query

__all__ = ["QuickBooksReads"]

_log = logging.getLogger("erpsync.quickbooks")

_DELETED_TYPES = {
    "customer": "Customer",
    "vendor": "Vendor",
    "item": "Item",
    "invoice": "Invoice",
    "payment": "Payment",
    "purchase_order": "PurchaseOrder",
    "purchaseorder": "PurchaseOrder",
}


class QuickBooksReads(AccountingBackend):
    """The reading half of :class:`~erpsync.quickbooks.backend.QuickBooksBackend`.

    A base class only so that the backend's reads and writes live in modules of their
    own; the state it reads is set up by the backend's constructor.
    """

    name = "QuickBooks"
    client: QuickBooksClient
    external_ids: PrivateNoteMarker | DocNumberKey
    _markers: dict[str, MarkerLookup]
    _lock: threading.Lock
    #: Held while a company setting is fetched, so that ten bulk threads needing it at
    #: once make one request, not ten (re-entrant: a currency read needs Preferences).
    _settings_lock: threading.RLock
    _preferences: dict[str, Any] | None
    _currencies: dict[str, str]

    # -- company settings -----------------------------------------------------------------

    def preferences(self, *, refresh: bool = False) -> dict[str, Any]:
        """The company's Preferences, fetched once and cached (``refresh`` re-reads)."""
        with self._lock:
            cached = self._preferences
        if cached is None or refresh:
            with self._settings_lock:
                with self._lock:
                    cached = None if refresh else self._preferences
                if cached is None:
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

    def _customer_currency(self, customer_id: str) -> str:
        with self._lock:
            known = self._currencies.get(customer_id)
        if known is None:
            with self._settings_lock:
                with self._lock:
                    known = self._currencies.get(customer_id)
                if known is None:
                    known = self.get_customer(customer_id).currency
        return known

    # -- customers, vendors, items --------------------------------------------------------

    def get_customer(self, id: str) -> Customer:
        customer = rec.customer_from_wire(
            self.client.read("Customer", id), home_currency=self.home_currency
        )
        with self._lock:
            # A customer's currency never changes once set, so caching it is safe.
            self._currencies[str(id)] = customer.currency
        return customer

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

    def get_item(self, id: str) -> Item:
        return rec.item_from_wire(self.client.read("Item", id))

    def find_items(self, name: str) -> list[Item]:
        rows = self._name_candidates("Item", "Name", name)
        return self._select_by_name([rec.item_from_wire(r) for r in rows], name)

    def iter_items(self, modified_since: datetime | None = None) -> Iterator[Item]:
        for row in self.client.iter_query(_since(Query("Item"), modified_since)):
            yield rec.item_from_wire(row)

    # -- invoices -------------------------------------------------------------------------

    def get_invoice(self, id: str) -> Invoice:
        return self._invoice(self.client.read("Invoice", id))

    def find_invoice(self, external_id: str) -> Invoice | None:
        """The invoice holding ``external_id``: one query in the ``DocNumber`` layout; in
        the default layout, a scan of invoices newest first (no customer or date to
        narrow by: fine for recent records, slow on large books)."""
        if not isinstance(external_id, str) or not external_id:
            raise ConfigurationError("find_invoice needs an external id")
        row = self.external_ids.scan(self.client, external_id)
        return None if row is None else self._invoice(row, external_id)

    def iter_invoices(
        self, modified_since: datetime | None = None, open_only: bool = False
    ) -> Iterator[Invoice]:
        query = _since(Query("Invoice"), modified_since)
        if open_only:
            query = query.where("Balance", ">", Decimal(0))
        for row in self.client.iter_query(query):
            yield self._invoice(row)

    def _invoice(self, wire: dict[str, Any], external_id: str | None = None) -> Invoice:
        model = rec.invoice_from_wire(wire, home_currency=self.home_currency)
        if external_id is not None and model.external_id != external_id:
            model = model.model_copy(update={"external_id": external_id})
        return model

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
        row = self._markers["Payment"].scan(self.client, external_id)
        return None if row is None else rec.payment_from_wire(row, home_currency=self.home_currency)

    def iter_payments(self, modified_since: datetime | None = None) -> Iterator[Payment]:
        """Every payment; voided ones (TotalAmt 0, which a Payment model cannot hold) are
        skipped with a log line."""
        home = self.home_currency
        for row in self.client.iter_query(_since(Query("Payment"), modified_since)):
            if _is_zero(row.get("TotalAmt")):
                _log.info("skipping QuickBooks payment %s: its total is 0 (voided)", row.get("Id"))
                continue
            yield rec.payment_from_wire(row, home_currency=home)

    # -- purchase orders ------------------------------------------------------------------

    def get_purchase_order(self, id: str) -> PurchaseOrder:
        return rec.purchase_order_from_wire(
            self.client.read("PurchaseOrder", id), home_currency=self.home_currency
        )

    def find_purchase_order(self, external_id: str) -> PurchaseOrder | None:
        """Scans purchase orders newest first for the marker."""
        row = self._markers["PurchaseOrder"].scan(self.client, external_id)
        if row is None:
            return None
        return rec.purchase_order_from_wire(row, home_currency=self.home_currency)

    def iter_purchase_orders(
        self, modified_since: datetime | None = None
    ) -> Iterator[PurchaseOrder]:
        home = self.home_currency
        for row in self.client.iter_query(_since(Query("PurchaseOrder"), modified_since)):
            yield rec.purchase_order_from_wire(row, home_currency=home)

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


def _since(query: Query, modified_since: datetime | None) -> Query:
    if modified_since is None:
        return query
    if modified_since.tzinfo is None:
        modified_since = modified_since.replace(tzinfo=UTC)
    return query.where("MetaData.LastUpdatedTime", ">=", modified_since)


def _is_zero(value: Any) -> bool:
    try:
        return Decimal(str(value)) == 0
    except Exception:
        return False
