"""NetSuite reads: get, find and iterate every record type through REST and SuiteQL.

``iter_*`` stream through SuiteQL with keyset paging (``id > last``), so they are not
capped at 100,000 rows, and read the lines of a whole page of 1000 documents in one
more query instead of one request per document. Only one page is held at a time, so
memory stays flat however many records there are. Lookups by external id go through
the account's :class:`~erpsync.netsuite.external_ids.ExternalIdUpsert` (``eid:``).

Transaction lines are read as NetSuite keeps them: item lines only (``mainline``,
``taxline`` and ``iscogs`` all ``'F'``; the tax is in the header total), an invoice's
with their signs negated back (see ``records.line_from_row``).

SuiteQL shows and reads date-times in the account's time zone (REST stays UTC), so a
``modified_since`` cursor is written in that zone and every stamp a row carries
(``lastmodified``, ``deleted``, ``datecreated``) is read back from it as UTC, in the one
place rows come in (:meth:`NetSuiteReads._rows`): the models always hold aware UTC
datetimes and a feed neither misses nor repeats changes in an account that is not on UTC
(but in the hour a DST change repeats, where it may repeat and never misses; see
``_utc_stamps``). The zone is ``NetSuiteBackend(time_zone=...)``.

Over ~400 lines with its docstrings (about 350 of code): one read per record type,
mirroring ``erpsync.quickbooks.reads``; splitting it by type would part the mirror.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, Final

from erpsync.backend import AccountingBackend
from erpsync.errors import (
    ConfigurationError,
    NotFoundError,
    ServiceError,
)
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
from erpsync.netsuite import records as rec
from erpsync.netsuite.client import NetSuiteClient
from erpsync.netsuite.errors import BACKEND
from erpsync.netsuite.external_ids import ExternalIdUpsert
from erpsync.netsuite.query import parse_suiteql_timestamp, suiteql_literal

__all__ = ["NetSuiteReads", "internal_id", "suiteql_id_list"]

_TS = "'YYYY-MM-DD HH24:MI:SS'"
_PARTY_COLUMNS = (
    "e.id, e.entityid, e.companyname, e.altname, e.firstname, e.lastname, e.email, "
    f"e.currency, e.externalid, TO_CHAR(e.lastmodifieddate, {_TS}) AS lastmodified"
)
_ITEM_COLUMNS = (
    "i.id, i.itemid, i.displayname, i.itemtype, i.subtype, i.externalid, "
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
#: The row columns that carry a ``TO_CHAR`` date-time stamp in the account's time zone.
_STAMP_COLUMNS: Final = ("lastmodified", "lastmodifieddate", "datecreated", "deleted")


def _utc_stamps(row: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """``row`` with its local date-time stamps rewritten as UTC (``...Z``).

    A stamp that is not ``YYYY-MM-DD HH24:MI:SS`` (a bare ``M/D/YYYY`` date, garbage) is
    left as it is, for the record reader to accept or to refuse naming the field. A
    local time that occurs twice (the hour a DST change repeats) is read as the first,
    the earlier instant: a cursor taken from it then repeats a change, never misses one.
    """
    for column in _STAMP_COLUMNS:
        value = row.get(column)
        if isinstance(value, str):
            moment = parse_suiteql_timestamp(value, time_zone=zone)
            if moment is not None:
                row[column] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return row


def suiteql_id_list(ids: Sequence[str]) -> str:
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


def internal_id(value: str | int, what: str) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise NotFoundError(
            f"{value!r} is not a NetSuite internal id (they are numbers)",
            backend=BACKEND,
            record=what,
        )
    return int(text)


class NetSuiteReads(AccountingBackend):
    """The reading half of :class:`~erpsync.netsuite.backend.NetSuiteBackend`.

    A base class only so that the backend's reads and writes live in modules of their
    own; the state it reads is set up by the backend's constructor.
    """

    name = "NetSuite"
    client: NetSuiteClient
    external_ids: ExternalIdUpsert
    page_size: int
    pdf_restlet: tuple[str | int, str | int] | None
    time_zone: str
    _zone: tzinfo
    _lock: threading.Lock
    _currencies: dict[str, str] | None

    # -- SuiteQL in the account's time zone --------------------------------------------------

    def _rows(self, query: str, *, key: str | None = None) -> Iterator[dict[str, Any]]:
        """The rows of ``query`` (keyset-paged by ``key`` when given), their date-time
        stamps read in the account's time zone as UTC. Every SuiteQL row a record mapping
        reads comes through here, so none ever sees a local stamp."""
        if key is None:
            rows = self.client.suiteql(query, page_size=self.page_size)
        else:
            rows = self.client.suiteql_keyset(query, key=key, page_size=self.page_size)
        for row in rows:
            yield _utc_stamps(row, self._zone)

    def _since(self, column: str, moment: datetime | None) -> str:
        """`` AND column >= moment`` with ``moment`` written in the account's time zone
        (empty without a moment)."""
        if moment is None:
            return ""
        return f" AND {column} >= {suiteql_literal(moment, time_zone=self._zone)}"

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

    def _by_eid(
        self, record_type: str, external_id: str, *, expand: bool = True
    ) -> dict[str, Any] | None:
        return self.external_ids.find(self.client, record_type, external_id, expand=expand)

    # -- customers and vendors --------------------------------------------------------------

    def _get_party(self, record_type: str, id: str) -> dict[str, Any]:
        return self.client.get(record_type, internal_id(id, f"{record_type} {id}"))

    def get_customer(self, id: str) -> Customer:
        return rec.customer_from_wire(self._get_party("customer", id), self.currencies())

    def get_vendor(self, id: str) -> Vendor:
        return rec.vendor_from_wire(self._get_party("vendor", id), self.currencies())

    def _party_rows(self, table: str, name: str) -> Iterator[dict[str, Any]]:
        literal = suiteql_literal(_name(name).upper())
        return self._rows(
            f"SELECT {_PARTY_COLUMNS} FROM {table} e WHERE UPPER(e.companyname) = {literal} "  # noqa: S608 - values via suiteql_literal
            f"OR UPPER(e.altname) = {literal} OR UPPER(e.entityid) = {literal} ORDER BY e.id"
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
        return self._rows(
            f"SELECT {_PARTY_COLUMNS} FROM {table} e WHERE 1 = 1"  # noqa: S608 - values via suiteql_literal
            f"{self._since('e.lastmodifieddate', modified_since)}",
            key="id",
        )

    def iter_customers(self, modified_since: datetime | None = None) -> Iterator[Customer]:
        currencies = self.currencies()
        for row in self._iter_party("customer", modified_since):
            yield rec.customer_from_row(row, currencies)

    def iter_vendors(self, modified_since: datetime | None = None) -> Iterator[Vendor]:
        currencies = self.currencies()
        for row in self._iter_party("vendor", modified_since):
            yield rec.vendor_from_row(row, currencies)

    # -- items -------------------------------------------------------------------------------

    def _item_rows(self, where: str) -> list[dict[str, Any]]:
        query = f"SELECT {_ITEM_COLUMNS} FROM item i WHERE {where} ORDER BY i.id"  # noqa: S608 - values via suiteql_literal
        return list(self._rows(query))

    def get_item(self, id: str) -> Item:
        rows = self._item_rows(f"i.id = {internal_id(id, f'item {id}')}")
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
            f"{self._since('i.lastmodifieddate', modified_since)}"
        )
        for row in self._rows(query, key="id"):
            yield rec.item_from_row(row)

    # -- invoices -----------------------------------------------------------------------------

    def get_invoice(self, id: str) -> Invoice:
        data = self.client.get("invoice", internal_id(id, f"invoice {id}"), expand=True)
        return rec.invoice_from_wire(data, self.currencies())

    def find_invoice(self, external_id: str) -> Invoice | None:
        data = self._by_eid("invoice", external_id)
        return None if data is None else rec.invoice_from_wire(data, self.currencies())

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
            f"WHERE t.id IN ({suiteql_id_list(ids)}) AND tl.mainline = 'F' AND tl.taxline = 'F' "
            "AND tl.iscogs = 'F' "
            "ORDER BY t.id, tl.linesequencenumber"
        )
        header: dict[str, Any] | None = None
        lines: list[dict[str, Any]] = []
        for row in self._rows(query):
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

    def _document_numbers(self, ids: Sequence[str]) -> dict[str, str]:
        """Internal id -> document number (``tranid``) of these transactions, one query."""
        if not ids:
            return {}
        query = f"SELECT t.id, t.tranid FROM transaction t WHERE t.id IN ({suiteql_id_list(ids)})"  # noqa: S608 - values via suiteql_id_list
        numbers: dict[str, str] = {}
        for row in self.client.suiteql(query, page_size=self.page_size):
            rid, number = row.get("id"), row.get("tranid")
            if rid is not None and isinstance(number, str) and number:
                numbers[str(rid)] = number
        return numbers

    def iter_invoices(
        self, modified_since: datetime | None = None, open_only: bool = False
    ) -> Iterator[Invoice]:
        """Invoices in id order, lazily: a page of ids, then their headers and lines in
        one query. Memory holds one page whatever the number of invoices."""
        currencies = self.currencies()
        where = self._since("t.lastmodifieddate", modified_since)
        if open_only:
            where += " AND t.status = 'A'"
        for ids in self._id_pages("CustInvc", where):
            for header, lines in self._with_lines(ids, _LINE_COLUMNS):
                yield rec.invoice_from_row(header, lines, currencies)

    # -- payments -----------------------------------------------------------------------------

    def get_payment(self, id: str) -> Payment:
        data = self.client.get("customerPayment", internal_id(id, f"payment {id}"), expand=True)
        return rec.payment_from_wire(data, self.currencies())

    def find_payment(self, external_id: str) -> Payment | None:
        data = self._by_eid("customerPayment", external_id)
        return None if data is None else rec.payment_from_wire(data, self.currencies())

    def iter_payments(self, modified_since: datetime | None = None) -> Iterator[Payment]:
        currencies = self.currencies()
        for ids in self._id_pages("CustPymt", self._since("t.lastmodifieddate", modified_since)):
            id_list = suiteql_id_list(ids)
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
            for row in self._rows(
                f"SELECT {_TRAN_COLUMNS} FROM transaction t WHERE t.id IN ({id_list}) "  # noqa: S608 - values via suiteql_literal
                "ORDER BY t.id"
            ):
                yield rec.payment_from_row(row, links.get(str(row.get("id")), []), currencies)

    # -- purchase orders ------------------------------------------------------------------------

    def get_purchase_order(self, id: str) -> PurchaseOrder:
        data = self.client.get("purchaseOrder", internal_id(id, f"purchaseOrder {id}"), expand=True)
        return rec.purchase_order_from_wire(data, self.currencies())

    def find_purchase_order(self, external_id: str) -> PurchaseOrder | None:
        data = self._by_eid("purchaseOrder", external_id)
        return None if data is None else rec.purchase_order_from_wire(data, self.currencies())

    def iter_purchase_orders(
        self, modified_since: datetime | None = None
    ) -> Iterator[PurchaseOrder]:
        currencies = self.currencies()
        for ids in self._id_pages("PurchOrd", self._since("t.lastmodifieddate", modified_since)):
            for header, lines in self._with_lines(ids, _PO_LINE_COLUMNS):
                yield rec.purchase_order_from_row(header, lines, currencies)

    def _find_receipt(self, external_id: str) -> ItemReceipt | None:
        data = self._by_eid("itemReceipt", external_id)
        return None if data is None else rec.receipt_from_wire(data)

    # -- change tracking ------------------------------------------------------------------------

    def iter_deleted(self, record_type: str, since: datetime) -> Iterator[DeletedRecord]:
        """Records of a REST type (``invoice``, ``customer``...) deleted since ``since``."""
        if not isinstance(record_type, str) or not record_type.strip():
            raise ConfigurationError("record_type must be a record type name", backend=BACKEND)
        query = (
            "SELECT d.recordid, d.recordtypeid, "  # noqa: S608 - values via suiteql_literal
            f"TO_CHAR(d.deleteddate, {_TS}) AS deleted FROM deletedrecord d "
            f"WHERE LOWER(d.recordtypeid) = {suiteql_literal(record_type.strip().lower())}"
            f"{self._since('d.deleteddate', since)} ORDER BY d.deleteddate, d.recordid"
        )
        for row in self._rows(query):
            yield rec.deleted_from_row(row)
