"""QuickBooks writes: every create goes through the one write-at-most-once engine.

Invoices, payments and purchase orders with an external id are written through
:class:`~erpsync.backend.write_once.WriteOnce`: QuickBooks is asked first (a record an
earlier call wrote is returned as ``existed``); the write carries a ``requestid`` made
once and re-sent on every retry; a write whose outcome is unknown (lost answer, 5xx,
throttled to the end) is not re-sent blindly on the strength of the ``requestid``
replay, which has been reported to fail now and then: QuickBooks is asked again, and
the write is repeated (same ``requestid``, after a backoff) only while the record is
provably absent. How a record is found is the layout's business
(:mod:`erpsync.quickbooks.external_ids`).

Customers keep the marker in ``Notes``. Vendors and items have no free-text field to
carry one: their unique name is their key, and creating one whose exact name exists
returns the existing record when an external id was given.

Document numbers and currencies
-------------------------------
With "Custom transaction numbers" on (Settings > Account and settings > Sales > Sales
form content), QuickBooks leaves an invoice without a number unless the client sends
one. Every invoice that reaches the write without a number gets one from the
``numbering`` rule, or, without a rule, a ``UserWarning`` (and one WARNING log line per
backend) says it will stay unnumbered.

QuickBooks puts a transaction in its customer's currency and needs multicurrency
(Settings > Account and settings > Advanced > Currency) for any currency but the home
one. An invoice or payment whose currency does not fit is refused before the write
with a :class:`ConfigurationError` that says which setting or customer to change.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from erpsync.backend import WriteOnce, WriteStatus
from erpsync.errors import ConfigurationError, DuplicateError, UnsupportedOperationError
from erpsync.models import Customer, Invoice, Item, ItemReceipt, Payment, PurchaseOrder, Vendor
from erpsync.quickbooks import records as rec
from erpsync.quickbooks.query import Query
from erpsync.quickbooks.reads import QuickBooksReads

__all__ = ["Numbering", "QuickBooksWrites"]

_log = logging.getLogger("erpsync.quickbooks")

Numbering = Callable[[Invoice], str]
_Named = TypeVar("_Named", Customer, Vendor, Item)

_CURRENCY_SETTING = "Settings > Account and settings > Advanced > Currency"
_NUMBER_SETTING = "Settings > Account and settings > Sales > Sales form content"


class QuickBooksWrites(QuickBooksReads):
    """The writing half of :class:`~erpsync.quickbooks.backend.QuickBooksBackend`."""

    numbering: Numbering | None
    income_account: str | None
    _write: WriteOnce
    _warned_unnumbered: bool

    # -- customers, vendors, items --------------------------------------------------------

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

    @staticmethod
    def _existing_name(kind: str, matches: list[_Named], name: str) -> _Named | None:
        """The one record of ``kind`` holding exactly ``name`` (QuickBooks names are
        unique per kind, so there is at most one; None if it belongs to another kind)."""
        exact = [m for m in matches if m.name == name]
        return exact[0] if len(exact) == 1 else None

    # -- invoices -------------------------------------------------------------------------

    def create_invoice(self, invoice: Invoice) -> Invoice:
        return self._create_invoice_outcome(invoice)[0]

    def _create_invoice_outcome(self, invoice: Invoice) -> tuple[Invoice, WriteStatus]:
        body = self._invoice_body(invoice)
        key = invoice.external_id
        label = f"invoice {key or invoice.number or '(new)'}"

        def write(request_id: str, resend: bool) -> dict[str, Any]:
            return self.client.create(
                "Invoice", body, record=label, request_id=request_id, retry_unknown=resend
            )

        def lookup() -> dict[str, Any] | None:
            return self.external_ids.find(self.client, [invoice]).get(str(key))

        wire, status = self._write.one(
            write, lookup if key is not None else None, look_first=key is not None
        )
        return self._invoice(wire, key), status

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

    def _invoice_body(self, invoice: Invoice) -> dict[str, Any]:
        """Check an invoice against the company's settings and build its create body.

        Everything that can be known before the write is checked here, so a bad invoice
        fails without touching QuickBooks.
        """
        self._check_transaction_currency(
            invoice.currency, invoice.customer.id, f"invoice {invoice.external_id or '(new)'}"
        )
        key = invoice.external_id
        number = self.external_ids.doc_number(invoice)
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

    # -- payments and purchase orders -----------------------------------------------------

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

    def _create_marked(
        self, entity: str, body: dict[str, Any], label: str, want: tuple[str, date, str]
    ) -> tuple[dict[str, Any], WriteStatus]:
        """Create a record whose ``PrivateNote`` marker holds ``want``'s external id, at
        most once (see the module docstring); the record and whether it existed."""
        marked = self._markers[entity]

        def write(request_id: str, resend: bool) -> dict[str, Any]:
            return self.client.create(
                entity, body, record=label, request_id=request_id, retry_unknown=resend
            )

        def lookup() -> dict[str, Any] | None:
            return marked.find(self.client, [want]).get(want[2])

        return self._write.one(write, lookup, look_first=True)

    # -- currencies -----------------------------------------------------------------------

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
