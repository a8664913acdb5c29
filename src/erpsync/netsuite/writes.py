"""NetSuite writes: every create goes through the one write-at-most-once engine.

Every record this backend creates carries an external id (see
:mod:`erpsync.netsuite.external_ids`). NetSuite refuses a second record of a type with
the same external id, and that is the guarantee every create builds on, through
:class:`~erpsync.backend.write_once.WriteOnce`:

1. ``POST /{type}`` with ``externalId`` (one request per new record, which is what lets
   ``create_invoices`` run at the account's concurrency limit);
2. if the answer is lost (connection dropped, timeout, 5xx after the server may have
   committed), the record is looked up by ``eid:`` BEFORE anything is retried: found
   means the write happened; not found means it is written again, with the same key;
3. if NetSuite says the external id is taken, the record holding it is returned as it
   is (``existed``): create means "make sure it exists", it never overwrites. Use
   ``upsert_invoice`` (``PUT invoice/eid:X``) to replace.

Item receipts come from ``POST purchaseOrder/{id}/!transform/itemReceipt`` with the
receipt's external id in the body, and follow the same rules (plus a lookup first, since
a fully received order refuses the transform before it looks at the external id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from erpsync.backend import WriteOnce, WriteStatus
from erpsync.errors import ConfigurationError
from erpsync.models import Customer, Invoice, Item, ItemReceipt, Payment, PurchaseOrder, Vendor
from erpsync.netsuite import records as rec
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.query import suiteql_literal
from erpsync.netsuite.reads import NetSuiteReads, internal_id

__all__ = ["NetSuiteWrites"]

T = TypeVar("T")


class NetSuiteWrites(NetSuiteReads):
    """The writing half of :class:`~erpsync.netsuite.backend.NetSuiteBackend`."""

    subsidiary_id: str | None
    default_item_id: str | None
    _write: WriteOnce

    def _subsidiary(self) -> str | None:
        if self.subsidiary_id is not None:
            return self.subsidiary_id
        rows = list(
            self.client.suiteql(
                "SELECT s.id FROM subsidiary s WHERE s.isinactive = 'F' "
                "AND s.iselimination = 'F' ORDER BY s.id",
                page_size=self.page_size,
            )
        )
        if len(rows) == 1 and isinstance(rows[0].get("id"), str):
            self.subsidiary_id = rows[0]["id"]
            return self.subsidiary_id
        if not rows:
            return None
        raise ConfigurationError(
            f"this account has {len(rows)} subsidiaries; say which one new customers and "
            "vendors belong to",
            backend=BACKEND,
            hint="pass NetSuiteBackend(subsidiary_id=...)",
        )

    def _create(
        self,
        record_type: str,
        external_id: str,
        body: dict[str, Any],
        read: Callable[[dict[str, Any]], T],
    ) -> tuple[str | T, WriteStatus]:
        """Create a record at most once: its new id (``created``), or the record already
        holding the external id, as ``read`` makes it."""

        def write(_key: str, _resend: bool) -> str | T:
            return self.client.create(record_type, body, record=f"{record_type} {external_id}")

        def lookup() -> str | T | None:
            data = self._by_eid(record_type, external_id)
            return None if data is None else read(data)

        return self._write.one(write, lookup, key=external_id)

    # -- customers, vendors, items ------------------------------------------------------------

    def create_customer(self, customer: Customer) -> Customer:
        ext = self.external_ids.key(customer.external_id)
        body = rec.customer_to_wire(
            customer,
            external_id=ext,
            subsidiary_id=self._subsidiary(),
            currency_ids=self._currency_ids(),
        )
        currencies = self.currencies()
        result, _ = self._create(
            "customer", ext, body, lambda data: rec.customer_from_wire(data, currencies)
        )
        return result if isinstance(result, Customer) else self.get_customer(result)

    def create_vendor(self, vendor: Vendor) -> Vendor:
        ext = self.external_ids.key(vendor.external_id)
        body = rec.vendor_to_wire(
            vendor,
            external_id=ext,
            subsidiary_id=self._subsidiary(),
            currency_ids=self._currency_ids(),
        )
        currencies = self.currencies()
        result, _ = self._create(
            "vendor", ext, body, lambda data: rec.vendor_from_wire(data, currencies)
        )
        return result if isinstance(result, Vendor) else self.get_vendor(result)

    def create_item(self, item: Item) -> Item:
        ext = self.external_ids.key(item.external_id)
        record_type = rec.item_record_type(item.kind)
        body = rec.item_to_wire(item, external_id=ext)

        def write(_key: str, _resend: bool) -> str | Item:
            return self.client.create(record_type, body, record=f"item {ext}")

        def lookup() -> str | Item | None:
            rows = self._item_rows(f"i.externalid = {suiteql_literal(ext)}")
            return rec.item_from_row(rows[0]) if rows else None

        result, _ = self._write.one(write, lookup, key=ext)
        return result if isinstance(result, Item) else self.get_item(result)

    # -- invoices -----------------------------------------------------------------------------

    def _invoice_body(self, invoice: Invoice, external_id: str) -> dict[str, Any]:
        return rec.invoice_to_wire(
            invoice,
            external_id=external_id,
            currency_ids=self._currency_ids(),
            default_item_id=self.default_item_id,
        )

    def _write_invoice(self, invoice: Invoice) -> tuple[str | Invoice, str, WriteStatus]:
        ext = self.external_ids.key(invoice.external_id)
        body = self._invoice_body(invoice, ext)
        currencies = self.currencies()
        result, status = self._create(
            "invoice", ext, body, lambda data: rec.invoice_from_wire(data, currencies)
        )
        return result, ext, status

    def create_invoice(self, invoice: Invoice) -> Invoice:
        """Create the invoice once; an invoice already holding its external id is returned
        unchanged. Without an external id, a generated one makes the write retry-safe."""
        result, _, _ = self._write_invoice(invoice)
        return result if isinstance(result, Invoice) else self.get_invoice(result)

    def upsert_invoice(self, invoice: Invoice) -> Invoice:
        """``PUT invoice/eid:<external id>``: create the invoice, or REPLACE the one holding
        the external id (lines included) with this one. Safe to retry."""
        if not invoice.external_id:
            raise ConfigurationError(
                "upsert_invoice needs an invoice with an external_id", backend=BACKEND
            )
        body = self._invoice_body(invoice, invoice.external_id)
        return self.get_invoice(self.client.upsert("invoice", invoice.external_id, body))

    def update_invoice(self, invoice: Invoice) -> Invoice:
        """Bring the invoice with ``invoice.id`` to this content (lines replaced)."""
        if invoice.id is None:
            raise ConfigurationError("update_invoice needs an invoice with an id", backend=BACKEND)
        rid = internal_id(invoice.id, f"invoice {invoice.id}")
        ext = invoice.external_id
        if ext is None:
            current = self.client.get("invoice", rid, fields=["externalId"])
            found = current.get("externalId")
            ext = found if isinstance(found, str) and found else None
        body = rec.invoice_to_wire(
            invoice,
            external_id=ext or "",
            currency_ids=self._currency_ids(),
            default_item_id=self.default_item_id,
        )
        if not ext:
            body.pop("externalId", None)
        # Every line is replaced, so repeating the PATCH gives the same invoice: retry-safe.
        self.client.update("invoice", rid, body, replace=["item"], idempotent=True)
        return self.get_invoice(str(rid))

    # -- payments and purchase orders -------------------------------------------------------

    def create_payment(self, payment: Payment) -> Payment:
        """Create the payment applied to its invoices, once (see the module docstring)."""
        ext = self.external_ids.key(payment.external_id)
        body = rec.payment_to_wire(payment, external_id=ext, currency_ids=self._currency_ids())
        currencies = self.currencies()
        result, _ = self._create(
            "customerPayment", ext, body, lambda data: rec.payment_from_wire(data, currencies)
        )
        return result if isinstance(result, Payment) else self.get_payment(result)

    def create_purchase_order(self, purchase_order: PurchaseOrder) -> PurchaseOrder:
        ext = self.external_ids.key(purchase_order.external_id)
        body = rec.purchase_order_to_wire(
            purchase_order, external_id=ext, currency_ids=self._currency_ids()
        )
        currencies = self.currencies()
        result, _ = self._create(
            "purchaseOrder",
            ext,
            body,
            lambda data: rec.purchase_order_from_wire(data, currencies),
        )
        return result if isinstance(result, PurchaseOrder) else self.get_purchase_order(result)

    def receive_purchase_order(self, receipt: ItemReceipt) -> ItemReceipt:
        """Receive goods against a purchase order through ``!transform/itemReceipt``.

        Idempotent by the receipt's external id (generated when absent): a receipt that
        already exists is returned as it is; after a lost answer the receipt is looked up
        before the transform is tried again. Receiving more than is open surfaces as
        NetSuite's own InvalidRequestError.
        """
        ext = self.external_ids.key(receipt.external_id)
        existing = self._find_receipt(ext)  # before the order is read: a receipt made
        if existing is not None:  # it fully received, and the transform would refuse
            return existing
        po_id = internal_id(receipt.purchase_order_id, f"purchaseOrder {receipt.purchase_order_id}")
        order = self.get_purchase_order(str(po_id))
        others = [
            line.line_id
            for line in order.lines
            if line.line_id is not None
            and line.receivable
            and line.quantity_received < line.quantity
        ]
        body = rec.receipt_to_wire(receipt, external_id=ext, other_lines=others)

        def write(_key: str, _resend: bool) -> str | ItemReceipt:
            return self.client.transform(
                "purchaseOrder", po_id, "itemReceipt", body, record=f"itemReceipt {ext}"
            )

        def lookup() -> str | ItemReceipt | None:
            return self._find_receipt(ext)

        result, _ = self._write.one(write, lookup, key=ext)
        if isinstance(result, ItemReceipt):
            return result
        return rec.receipt_from_wire(self.client.get("itemReceipt", result, expand=True))
