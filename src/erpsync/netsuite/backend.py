"""NetSuite backend: the AccountingBackend for one NetSuite account.

Writes that never duplicate
---------------------------
Every record this backend creates carries an external id: the caller's when the model
has one, otherwise a generated ``erpsync-<32 hex>`` (made once per call, before the
first attempt; visible in NetSuite as the record's External ID). NetSuite refuses a
second record of a type with the same external id, and that is the guarantee every
create builds on:

1. ``POST /{type}`` with ``externalId`` (one request per new record, which is what lets
   :meth:`NetSuiteBackend.create_invoices` run at the account's concurrency limit);
2. if the answer is lost (connection dropped, timeout, 5xx after the server may have
   committed), the record is looked up by ``eid:`` BEFORE anything is retried: found
   means the write happened; not found means it is written again, with the same key;
3. if NetSuite says the external id is taken, the record holding it is returned as it
   is (``existed``): create means "make sure it exists", it never overwrites. Use
   :meth:`NetSuiteBackend.upsert_invoice` (``PUT invoice/eid:X``) to replace.

Item receipts come from ``POST purchaseOrder/{id}/!transform/itemReceipt`` with the
receipt's external id in the body, and follow the same rules (plus a lookup first, since
a fully received order refuses the transform before it looks at the external id).

Reading at scale
----------------
``iter_*`` stream through SuiteQL with keyset paging (``id > last``), so they are not
capped at 100,000 rows, and read the lines of a whole page of 1000 documents in one
more query instead of one request per document. Only one page is held at a time, so
memory stays flat however many records there are.

Transaction lines are read as NetSuite keeps them: item lines only (``mainline``,
``taxline`` and ``iscogs`` all ``'F'``; the tax is in the header total), an invoice's
with their signs negated back (see ``records.line_from_row``). Known limit: SuiteQL
timestamps are read as UTC.
"""

from __future__ import annotations

import base64
import binascii
import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal, TypeVar

import requests

from erpsync.backend import AccountingBackend, BulkResult, Capabilities
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    DuplicateError,
    ErpSyncError,
    InvalidRequestError,
    NotFoundError,
    ServiceError,
    UnsupportedOperationError,
)
from erpsync.limits import Limiter
from erpsync.models import (
    Customer,
    DeletedRecord,
    Invoice,
    InvoiceStatus,
    Item,
    ItemReceipt,
    Payment,
    PurchaseOrder,
    Vendor,
)
from erpsync.netsuite import records as rec
from erpsync.netsuite.auth import NetSuiteAuth
from erpsync.netsuite.client import MAX_PAGE_SIZE, NetSuiteClient
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.query import suiteql_literal
from erpsync.transport import RetryPolicy, Timeout, TransportOptions

__all__ = ["NetSuiteBackend"]

_log = logging.getLogger("erpsync.netsuite")

T = TypeVar("T")

#: Prefix of generated external ids (letters, digits and ``-`` only: valid ``eid:``).
INTERNAL_EID_PREFIX: Final = "erpsync-"
#: Writes attempted after a lost answer whose record turned out not to exist.
_WRITE_ATTEMPTS: Final = 3

_TS = "'YYYY-MM-DD HH24:MI:SS'"
_PARTY_COLUMNS = (
    "e.id, e.entityid, e.companyname, e.altname, e.firstname, e.lastname, e.email, "
    f"e.currency, e.externalid, TO_CHAR(e.lastmodifieddate, {_TS}) AS lastmodified"
)
_ITEM_COLUMNS = (
    "i.id, i.itemid, i.displayname, i.itemtype, i.externalid, "
    f"TO_CHAR(i.lastmodifieddate, {_TS}) AS lastmodified"
)
_TRAN_COLUMNS = (
    "t.id, t.tranid, t.externalid, t.entity, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, "
    "TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, t.currency, t.status, t.foreigntotal, "
    f"t.foreignamountremaining, t.memo, TO_CHAR(t.lastmodifieddate, {_TS}) AS lastmodified"
)
_LINE_COLUMNS = (
    "tl.id AS line, tl.item, tl.quantity, tl.rate, tl.foreignamount, tl.memo AS linememo"
)
_PO_LINE_COLUMNS = f"{_LINE_COLUMNS}, tl.quantityshiprecv, tl.isclosed"
_LINE_KEYS = ("line", "item", "quantity", "rate", "foreignamount", "quantityshiprecv", "isclosed")


def _internal_external_id() -> str:
    return INTERNAL_EID_PREFIX + uuid.uuid4().hex


def _since(column: str, modified_since: datetime | None) -> str:
    return "" if modified_since is None else f" AND {column} >= {suiteql_literal(modified_since)}"


def _id_list(ids: Sequence[str]) -> str:
    """Internal ids (from SuiteQL rows) as a SQL list; anything but digits is refused, so
    a malformed row can neither break nor reshape the next query."""
    for value in ids:
        if not str(value).isdigit():
            raise ServiceError(
                f"a SuiteQL row has the internal id {value!r}, which is not a number",
                backend=BACKEND,
                record="SuiteQL query",
                field="id",
                retryable=False,
            )
    return ", ".join(suiteql_literal(int(i)) for i in ids)


def _name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError("a name to find must be a non-empty string", backend=BACKEND)
    return name


def _internal_id(value: str | int, what: str) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise NotFoundError(
            f"{value!r} is not a NetSuite internal id (they are numbers)",
            backend=BACKEND,
            record=what,
        )
    return int(text)


def _duplicate_key(exc: ErpSyncError) -> bool:
    """The write was refused because its external id is taken."""
    if isinstance(exc, DuplicateError):
        return True
    return isinstance(exc, InvalidRequestError) and (exc.field or "").lower() == "externalid"


class NetSuiteBackend(AccountingBackend):
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
    ) -> None:
        if pdf_restlet is not None and (
            not isinstance(pdf_restlet, tuple)
            or len(pdf_restlet) != 2
            or not all(str(part).strip() for part in pdf_restlet)
        ):
            raise ConfigurationError(
                "pdf_restlet must be a (script id, deploy id) pair", backend=BACKEND
            )
        if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(
                f"page_size must be 1 to {MAX_PAGE_SIZE}, not {page_size!r}", backend=BACKEND
            )
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
        self.pdf_restlet = pdf_restlet
        self.subsidiary_id = subsidiary_id
        self.default_item_id = default_item_id
        self.bulk_read_back = bulk_read_back
        self.page_size = page_size
        self._sleep = self.client.options.sleep
        self._rng = self.client.options.rng or random.Random()
        self._lock = threading.Lock()
        self._currencies: dict[str, str] | None = None
        self._capabilities = Capabilities(
            invoice_pdf=pdf_restlet is not None,
            purchase_orders=True,
            item_receipts=True,
            create_purchase_orders=True,
            deleted_records=True,
            upsert_by_external_id=True,
            document_numbers_assigned_by_erp=True,
            max_concurrency=concurrency,
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

    # -- account lists ----------------------------------------------------------------------

    def currencies(self) -> Mapping[str, str]:
        """Currency internal id -> ISO code, read once per backend."""
        with self._lock:
            cached = self._currencies
        if cached is not None:
            return cached
        found: dict[str, str] = {}
        for row in self.client.suiteql(
            "SELECT c.id, c.symbol FROM currency c ORDER BY c.id", page_size=self.page_size
        ):
            symbol, cid = row.get("symbol"), row.get("id")
            if isinstance(symbol, str) and isinstance(cid, str) and len(symbol) == 3:
                found[cid] = symbol.upper()
        with self._lock:
            self._currencies = found
        return found

    def _currency_ids(self) -> dict[str, str]:
        return {code: cid for cid, code in self.currencies().items()}

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

    # -- the write rule ---------------------------------------------------------------------

    def _write_once(
        self,
        what: str,
        write: Callable[[], str],
        lookup: Callable[[], T | None],
    ) -> tuple[str | T, Literal["created", "existed"]]:
        """Run ``write`` (which returns the new id) so that it takes effect at most once.

        Returns the new id and ``created``, or the record already holding the external
        id (found by ``lookup``) and ``existed`` / ``created`` (``created`` when it was
        our own earlier attempt whose answer was lost).
        """
        attempt = 0
        while True:
            try:
                return write(), "created"
            except ErpSyncError as exc:
                ambiguous = isinstance(exc, ServiceError)
                duplicate = _duplicate_key(exc)
                # Only our own re-write (after a lost answer) can have been preceded by a
                # write that took effect: the transport repeats a POST only when NetSuite
                # refused it unprocessed (429) or it was never sent.
                retried = attempt > 0
                if not (
                    ambiguous or duplicate or (retried and isinstance(exc, InvalidRequestError))
                ):
                    raise
                found = lookup()
                if found is not None:
                    if duplicate and not retried:
                        return found, "existed"
                    _log.info("NetSuite %s: an earlier attempt had written it", what)
                    return found, "created"
                attempt += 1
                if not ambiguous or attempt >= _WRITE_ATTEMPTS:
                    raise
                delay = self.client.transport.retry.backoff(attempt - 1, self._rng)
                _log.warning(
                    "NetSuite %s: the answer was lost and the record is not there; "
                    "writing it again in %.2f s",
                    what,
                    delay,
                )
                self._sleep(delay)

    def _by_eid(
        self, record_type: str, external_id: str, *, expand: bool = True
    ) -> dict[str, Any] | None:
        try:
            return self.client.get(record_type, f"eid:{external_id}", expand=expand)
        except NotFoundError:
            return None

    def _create(
        self,
        record_type: str,
        external_id: str,
        body: dict[str, Any],
        read: Callable[[dict[str, Any]], T],
    ) -> tuple[str | T, Literal["created", "existed"]]:
        def write() -> str:
            return self.client.create(record_type, body, record=f"{record_type} {external_id}")

        def lookup() -> T | None:
            data = self._by_eid(record_type, external_id)
            return None if data is None else read(data)

        return self._write_once(f"{record_type} {external_id}", write, lookup)

    # -- customers and vendors --------------------------------------------------------------

    def _get_party(self, record_type: str, id: str) -> dict[str, Any]:
        return self.client.get(record_type, _internal_id(id, f"{record_type} {id}"))

    def get_customer(self, id: str) -> Customer:
        return rec.customer_from_wire(self._get_party("customer", id), self.currencies())

    def get_vendor(self, id: str) -> Vendor:
        return rec.vendor_from_wire(self._get_party("vendor", id), self.currencies())

    def _party_rows(self, table: str, name: str) -> Iterator[dict[str, Any]]:
        literal = suiteql_literal(_name(name).upper())
        return self.client.suiteql(
            f"SELECT {_PARTY_COLUMNS} FROM {table} e WHERE UPPER(e.companyname) = {literal} "  # noqa: S608 - values via suiteql_literal
            f"OR UPPER(e.altname) = {literal} OR UPPER(e.entityid) = {literal} ORDER BY e.id",
            page_size=self.page_size,
        )

    def find_customers(self, name: str) -> list[Customer]:
        currencies = self.currencies()
        rows = self._party_rows("customer", name)
        return self._select_by_name((rec.customer_from_row(r, currencies) for r in rows), name)

    def find_vendors(self, name: str) -> list[Vendor]:
        currencies = self.currencies()
        rows = self._party_rows("vendor", name)
        return self._select_by_name((rec.vendor_from_row(r, currencies) for r in rows), name)

    def _iter_party(self, table: str, modified_since: datetime | None) -> Iterator[dict[str, Any]]:
        return self.client.suiteql_keyset(
            f"SELECT {_PARTY_COLUMNS} FROM {table} e WHERE 1 = 1"  # noqa: S608 - values via suiteql_literal
            f"{_since('e.lastmodifieddate', modified_since)}",
            page_size=self.page_size,
        )

    def iter_customers(self, modified_since: datetime | None = None) -> Iterator[Customer]:
        currencies = self.currencies()
        for row in self._iter_party("customer", modified_since):
            yield rec.customer_from_row(row, currencies)

    def iter_vendors(self, modified_since: datetime | None = None) -> Iterator[Vendor]:
        currencies = self.currencies()
        for row in self._iter_party("vendor", modified_since):
            yield rec.vendor_from_row(row, currencies)

    def create_customer(self, customer: Customer) -> Customer:
        ext = customer.external_id or _internal_external_id()
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
        ext = vendor.external_id or _internal_external_id()
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

    # -- items -------------------------------------------------------------------------------

    def _item_rows(self, where: str) -> list[dict[str, Any]]:
        query = f"SELECT {_ITEM_COLUMNS} FROM item i WHERE {where} ORDER BY i.id"  # noqa: S608 - values via suiteql_literal
        return list(self.client.suiteql(query, page_size=self.page_size))

    def get_item(self, id: str) -> Item:
        rows = self._item_rows(f"i.id = {_internal_id(id, f'item {id}')}")
        if not rows:
            raise NotFoundError("no such item", backend=BACKEND, record=f"item {id}")
        return rec.item_from_row(rows[0])

    def find_items(self, name: str) -> list[Item]:
        literal = suiteql_literal(_name(name).upper())
        rows = self._item_rows(f"UPPER(i.itemid) = {literal} OR UPPER(i.displayname) = {literal}")
        return self._select_by_name((rec.item_from_row(r) for r in rows), name)

    def iter_items(self, modified_since: datetime | None = None) -> Iterator[Item]:
        query = (
            f"SELECT {_ITEM_COLUMNS} FROM item i WHERE 1 = 1"  # noqa: S608 - values via suiteql_literal
            f"{_since('i.lastmodifieddate', modified_since)}"
        )
        for row in self.client.suiteql_keyset(query, page_size=self.page_size):
            yield rec.item_from_row(row)

    def create_item(self, item: Item) -> Item:
        ext = item.external_id or _internal_external_id()
        record_type = rec.item_record_type(item.kind)
        body = rec.item_to_wire(item, external_id=ext)

        def write() -> str:
            return self.client.create(record_type, body, record=f"item {ext}")

        def lookup() -> Item | None:
            rows = self._item_rows(f"i.externalid = {suiteql_literal(ext)}")
            return rec.item_from_row(rows[0]) if rows else None

        result, _ = self._write_once(f"item {ext}", write, lookup)
        return result if isinstance(result, Item) else self.get_item(result)

    # -- invoices -----------------------------------------------------------------------------

    def get_invoice(self, id: str) -> Invoice:
        data = self.client.get("invoice", _internal_id(id, f"invoice {id}"), expand=True)
        return rec.invoice_from_wire(data, self.currencies())

    def find_invoice(self, external_id: str) -> Invoice | None:
        data = self._by_eid("invoice", external_id)
        return None if data is None else rec.invoice_from_wire(data, self.currencies())

    def _invoice_body(self, invoice: Invoice, external_id: str) -> dict[str, Any]:
        return rec.invoice_to_wire(
            invoice,
            external_id=external_id,
            currency_ids=self._currency_ids(),
            default_item_id=self.default_item_id,
        )

    def _write_invoice(
        self, invoice: Invoice
    ) -> tuple[str | Invoice, str, Literal["created", "existed"]]:
        ext = invoice.external_id or _internal_external_id()
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

    def _create_invoice_outcome(
        self, invoice: Invoice
    ) -> tuple[Invoice, Literal["created", "existed"]]:
        result, ext, status = self._write_invoice(invoice)
        if isinstance(result, Invoice):
            return result, status
        if self.bulk_read_back:
            return self.get_invoice(result), status
        written = invoice.model_copy(
            update={
                "id": result,
                "external_id": ext,
                "status": InvoiceStatus.OPEN,
                "balance": invoice.total,
            }
        )
        return written, status

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
        rid = _internal_id(invoice.id, f"invoice {invoice.id}")
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

    def _id_pages(self, tran_type: str, where: str = "") -> Iterator[list[str]]:
        """Pages of transaction ids in id order, by keyset (no 100,000-row cap).

        Only ids are paged this way: NetSuite (and the emulator) evaluates the whole
        remaining result for every page's ``totalResults``, so the page query is kept as
        cheap as possible and the columns are read for one page of ids at a time.
        """
        query = f"SELECT t.id FROM transaction t WHERE t.type = {suiteql_literal(tran_type)}{where}"  # noqa: S608 - values via suiteql_literal
        page: list[str] = []
        for row in self.client.suiteql_keyset(query, key="id", page_size=self.page_size):
            page.append(str(row["id"]))
            if len(page) >= self.page_size:
                yield page
                page = []
        if page:
            yield page

    def _with_lines(
        self, ids: Sequence[str], line_columns: str
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """(header row, line rows) of the given transactions, in id order, from one query
        (paged if the lines run past a page)."""
        query = (
            f"SELECT {_TRAN_COLUMNS}, {line_columns} FROM transaction t "  # noqa: S608 - values via suiteql_literal
            "JOIN transactionline tl ON tl.transaction = t.id "
            f"WHERE t.id IN ({_id_list(ids)}) AND tl.mainline = 'F' AND tl.taxline = 'F' "
            "AND tl.iscogs = 'F' "
            "ORDER BY t.id, tl.linesequencenumber"
        )
        header: dict[str, Any] | None = None
        lines: list[dict[str, Any]] = []
        for row in self.client.suiteql(query, page_size=self.page_size):
            line = {key: row.pop(key) for key in _LINE_KEYS if key in row}
            memo = row.pop("linememo", None)
            if memo is not None:
                line["memo"] = memo
            if header is not None and header.get("id") != row.get("id"):
                yield header, lines
                lines = []
            header = row
            lines.append(line)
        if header is not None:
            yield header, lines

    def iter_invoices(
        self, modified_since: datetime | None = None, open_only: bool = False
    ) -> Iterator[Invoice]:
        """Invoices in id order, lazily: a page of ids, then their headers and lines in
        one query. Memory holds one page whatever the number of invoices."""
        currencies = self.currencies()
        where = _since("t.lastmodifieddate", modified_since)
        if open_only:
            where += " AND t.status = 'A'"
        for ids in self._id_pages("CustInvc", where):
            for header, lines in self._with_lines(ids, _LINE_COLUMNS):
                yield rec.invoice_from_row(header, lines, currencies)

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
        rid = _internal_id(id, f"invoice {id}")
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

    # -- payments -----------------------------------------------------------------------------

    def get_payment(self, id: str) -> Payment:
        data = self.client.get("customerPayment", _internal_id(id, f"payment {id}"), expand=True)
        return rec.payment_from_wire(data, self.currencies())

    def find_payment(self, external_id: str) -> Payment | None:
        data = self._by_eid("customerPayment", external_id)
        return None if data is None else rec.payment_from_wire(data, self.currencies())

    def create_payment(self, payment: Payment) -> Payment:
        """Create the payment applied to its invoices, once (see the module docstring)."""
        ext = payment.external_id or _internal_external_id()
        body = rec.payment_to_wire(payment, external_id=ext, currency_ids=self._currency_ids())
        currencies = self.currencies()
        result, _ = self._create(
            "customerPayment", ext, body, lambda data: rec.payment_from_wire(data, currencies)
        )
        return result if isinstance(result, Payment) else self.get_payment(result)

    def iter_payments(self, modified_since: datetime | None = None) -> Iterator[Payment]:
        currencies = self.currencies()
        for ids in self._id_pages("CustPymt", _since("t.lastmodifieddate", modified_since)):
            id_list = _id_list(ids)
            links: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
            for link in self.client.suiteql(
                "SELECT l.nextdoc, l.previousdoc, l.foreignamount FROM "  # noqa: S608 - values via suiteql_literal
                "previoustransactionlinelink l WHERE l.linktype = 'Payment' "
                f"AND l.nextdoc IN ({id_list}) ORDER BY l.nextdoc, l.previousdoc",
                page_size=self.page_size,
            ):
                owner = link.get("nextdoc")
                if isinstance(owner, str) and owner in links:
                    links[owner].append(link)
            for row in self.client.suiteql(
                f"SELECT {_TRAN_COLUMNS} FROM transaction t WHERE t.id IN ({id_list}) "  # noqa: S608 - values via suiteql_literal
                "ORDER BY t.id",
                page_size=self.page_size,
            ):
                yield rec.payment_from_row(row, links.get(str(row.get("id")), []), currencies)

    # -- purchase orders ------------------------------------------------------------------------

    def get_purchase_order(self, id: str) -> PurchaseOrder:
        data = self.client.get(
            "purchaseOrder", _internal_id(id, f"purchaseOrder {id}"), expand=True
        )
        return rec.purchase_order_from_wire(data, self.currencies())

    def find_purchase_order(self, external_id: str) -> PurchaseOrder | None:
        data = self._by_eid("purchaseOrder", external_id)
        return None if data is None else rec.purchase_order_from_wire(data, self.currencies())

    def iter_purchase_orders(
        self, modified_since: datetime | None = None
    ) -> Iterator[PurchaseOrder]:
        currencies = self.currencies()
        for ids in self._id_pages("PurchOrd", _since("t.lastmodifieddate", modified_since)):
            for header, lines in self._with_lines(ids, _PO_LINE_COLUMNS):
                yield rec.purchase_order_from_row(header, lines, currencies)

    def create_purchase_order(self, purchase_order: PurchaseOrder) -> PurchaseOrder:
        ext = purchase_order.external_id or _internal_external_id()
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

    def _find_receipt(self, external_id: str) -> ItemReceipt | None:
        data = self._by_eid("itemReceipt", external_id)
        return None if data is None else rec.receipt_from_wire(data)

    def receive_purchase_order(self, receipt: ItemReceipt) -> ItemReceipt:
        """Receive goods against a purchase order through ``!transform/itemReceipt``.

        Idempotent by the receipt's external id (generated when absent): a receipt that
        already exists is returned as it is; after a lost answer the receipt is looked up
        before the transform is tried again. Receiving more than is open surfaces as
        NetSuite's own InvalidRequestError.
        """
        ext = receipt.external_id or _internal_external_id()
        existing = self._find_receipt(ext)
        if existing is not None:
            return existing
        po_id = _internal_id(
            receipt.purchase_order_id, f"purchaseOrder {receipt.purchase_order_id}"
        )
        order = self.get_purchase_order(str(po_id))
        others = [
            line.line_id
            for line in order.lines
            if line.line_id is not None
            and line.receivable
            and line.quantity_received < line.quantity
        ]
        body = rec.receipt_to_wire(receipt, external_id=ext, other_lines=others)

        def write() -> str:
            return self.client.transform(
                "purchaseOrder", po_id, "itemReceipt", body, record=f"itemReceipt {ext}"
            )

        result, _ = self._write_once(f"itemReceipt {ext}", write, lambda: self._find_receipt(ext))
        if isinstance(result, ItemReceipt):
            return result
        return rec.receipt_from_wire(self.client.get("itemReceipt", result, expand=True))

    # -- change tracking ------------------------------------------------------------------------

    def iter_deleted(self, record_type: str, since: datetime) -> Iterator[DeletedRecord]:
        """Records of a REST type (``invoice``, ``customer``...) deleted since ``since``."""
        if not isinstance(record_type, str) or not record_type.strip():
            raise ConfigurationError("record_type must be a record type name", backend=BACKEND)
        query = (
            "SELECT d.recordid, d.recordtypeid, "  # noqa: S608 - values via suiteql_literal
            f"TO_CHAR(d.deleteddate, {_TS}) AS deleted FROM deletedrecord d "
            f"WHERE LOWER(d.recordtypeid) = {suiteql_literal(record_type.strip().lower())}"
            f"{_since('d.deleteddate', since)} ORDER BY d.deleteddate, d.recordid"
        )
        for row in self.client.suiteql(query, page_size=self.page_size):
            yield rec.deleted_from_row(row)

    # -- bulk -------------------------------------------------------------------------------------

    def create_invoices(
        self, invoices: Iterable[Invoice], *, max_workers: int | None = None
    ) -> BulkResult[Invoice]:
        """Create invoices concurrently up to the account's concurrency limit.

        Throttling never reaches the caller as an outcome while the transport can absorb
        it: 429s are retried and halve the account limiter. Each outcome is ``created``,
        ``existed`` (the external id was already taken: the invoice there is returned) or
        ``failed``. See ``bulk_read_back`` for what ``created`` records contain.
        """
        return super().create_invoices(invoices, max_workers=max_workers)


def _pdf_bytes(response: requests.Response, what: str) -> bytes:
    """The PDF in a RESTlet's answer (base64 in JSON or in plain text)."""
    text = response.text.strip()
    encoded: Any = text
    if text.startswith(("{", '"')):
        try:
            encoded = response.json()
        except ValueError:
            encoded = text
    if isinstance(encoded, dict):
        encoded = next(
            (encoded[k] for k in ("pdf", "content", "data", "base64") if k in encoded), None
        )
    if not isinstance(encoded, str) or not encoded:
        raise ServiceError(
            "the PDF RESTlet answered without base64 content",
            backend=BACKEND,
            record=what,
            raw=text,
            retryable=False,
        )
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(
            "the PDF RESTlet answered with text that is not base64",
            backend=BACKEND,
            record=what,
            raw=text,
            retryable=False,
        ) from None
    if not data.startswith(b"%PDF"):
        raise ServiceError(
            "the PDF RESTlet answered with something that is not a PDF",
            backend=BACKEND,
            record=what,
            raw=text[:200],
            retryable=False,
        )
    return data
