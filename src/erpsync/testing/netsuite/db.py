"""The account's data: an in-memory SQLite database laid out as SuiteQL shows it.

Records live once, in tables and columns named as NetSuite names them (``transaction``,
``transactionline``, ``customer``...), so the REST record service and SuiteQL can never
disagree: REST writes rows and renders JSON from them, SuiteQL runs the user's SELECT
on the same rows.

Two connections share the database. The *record* connection reads and writes plain
ISO dates. The *query* connection is read-only (an authorizer refuses anything but
reading) and converts DATE / DATETIME columns on the way out to NetSuite's default
``M/D/YYYY`` display format, as real SuiteQL does (a datetime such as
``lastmodifieddate`` comes back as its date only, in the account's time zone;
``TO_CHAR`` gets the time). Date-times are stored in UTC (REST shows them with ``Z``). The
converter keys on the declared column type, so it applies to columns selected directly
or through an alias and not to computed expressions, which is how NetSuite behaves.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from erpsync.netsuite import wire

DATE = "NSDATE"
DATETIME = "NSDATETIME"

#: Column types of ``deletedrecord``, whose columns are NetSuite's (wire.py): there is no
#: ``externalid``, so a query selecting one fails as it does in NetSuite.
_DELETED_RECORD_TYPES = {
    "deleteddate": DATETIME,
    "deletedby": "INTEGER",
    "iscustomlist": "TEXT DEFAULT 'F'",
    "iscustomrecord": "TEXT DEFAULT 'F'",
}

#: Customers and vendors are both entity records in NetSuite, with the same columns.
_ENTITY_COLUMNS: tuple[str, ...] = (
    "id INTEGER PRIMARY KEY",
    "entityid TEXT",
    "companyname TEXT",
    "altname TEXT",
    "isperson TEXT DEFAULT 'F'",
    "firstname TEXT",
    "lastname TEXT",
    "email TEXT",
    "phone TEXT",
    "subsidiary INTEGER",
    "currency INTEGER",
    "isinactive TEXT DEFAULT 'F'",
    "externalid TEXT",
    f"datecreated {DATETIME}",
    f"lastmodifieddate {DATETIME}",
)

_TABLES: dict[str, tuple[str, ...]] = {
    "currency": (
        "id INTEGER PRIMARY KEY",
        "name TEXT",
        "symbol TEXT",
        "displaysymbol TEXT",
        "isbasecurrency TEXT",
        "isinactive TEXT DEFAULT 'F'",
        "exchangerate REAL",
        "currencyprecision INTEGER",
        "externalid TEXT",
        f"lastmodifieddate {DATETIME}",
    ),
    "subsidiary": (
        "id INTEGER PRIMARY KEY",
        "name TEXT",
        "fullname TEXT",
        "currency INTEGER",
        "country TEXT",
        "isinactive TEXT DEFAULT 'F'",
        "iselimination TEXT DEFAULT 'F'",
        "externalid TEXT",
        f"lastmodifieddate {DATETIME}",
    ),
    "account": (
        "id INTEGER PRIMARY KEY",
        "acctnumber TEXT",
        "fullname TEXT",
        "accountsearchdisplayname TEXT",
        "accttype TEXT",
        "isinactive TEXT DEFAULT 'F'",
        "externalid TEXT",
        f"lastmodifieddate {DATETIME}",
    ),
    "salestaxitem": (
        "id INTEGER PRIMARY KEY",
        "itemid TEXT",
        "fullname TEXT",
        "description TEXT",
        "rate REAL",
        "isinactive TEXT DEFAULT 'F'",
        "externalid TEXT",
        f"lastmodifieddate {DATETIME}",
    ),
    "customer": _ENTITY_COLUMNS,
    "vendor": _ENTITY_COLUMNS,
    "item": (
        "id INTEGER PRIMARY KEY",
        "itemid TEXT",
        "fullname TEXT",
        "displayname TEXT",
        "description TEXT",
        "purchasedescription TEXT",
        "itemtype TEXT",
        "subtype TEXT",
        "cost REAL",
        "cogsaccount INTEGER",
        "assetaccount INTEGER",
        "incomeaccount INTEGER",
        "isinactive TEXT DEFAULT 'F'",
        "externalid TEXT",
        f"createddate {DATETIME}",
        f"lastmodifieddate {DATETIME}",
    ),
    "transaction": (
        "id INTEGER PRIMARY KEY",
        "tranid TEXT",
        "type TEXT",
        "recordtype TEXT",
        "entity INTEGER",
        f"trandate {DATE}",
        f"duedate {DATE}",
        "status TEXT",
        "approvalstatus INTEGER",
        "currency INTEGER",
        "exchangerate REAL DEFAULT 1",
        "foreigntotal REAL",
        "taxtotal REAL",
        "foreignamountremaining REAL",
        "foreignamountpaid REAL",
        "foreignpaymentamountused REAL",
        "foreignpaymentamountunused REAL",
        "memo TEXT",
        "externalid TEXT",
        f"createddate {DATETIME}",
        f"lastmodifieddate {DATETIME}",
    ),
    "transactionline": (
        '"transaction" INTEGER',
        "id INTEGER",
        "linesequencenumber INTEGER",
        "uniquekey INTEGER PRIMARY KEY",
        "mainline TEXT",
        "item INTEGER",
        "quantity REAL",
        "rate REAL",
        "netamount REAL",
        "foreignamount REAL",
        "memo TEXT",
        "isclosed TEXT DEFAULT 'F'",
        "taxline TEXT DEFAULT 'F'",
        "iscogs TEXT DEFAULT 'F'",
        "taxcode INTEGER",
        "quantityshiprecv REAL",
        "quantitybilled REAL",
        "createdfrom INTEGER",
        "subsidiary INTEGER",
    ),
    "previoustransactionlinelink": (
        "previousdoc INTEGER",
        "previousline INTEGER",
        "nextdoc INTEGER",
        "nextline INTEGER",
        "linktype TEXT",
        "foreignamount REAL",
        f"lastmodifieddate {DATETIME}",
    ),
    "deletedrecord": tuple(
        f"{column} {_DELETED_RECORD_TYPES.get(column, 'TEXT')}"
        for column in wire.DELETED_RECORD_COLUMNS
    ),
}

_VIEWS = {
    "dual": "SELECT 'X' AS dummy",
    "nexttransactionlinelink": "SELECT * FROM previoustransactionlinelink",
    "entity": (
        "SELECT id, entityid, altname, companyname, email, phone, isinactive, externalid, "
        "isperson, firstname, lastname, datecreated, lastmodifieddate, 'CustJob' AS type "
        "FROM customer UNION ALL "
        "SELECT id, entityid, altname, companyname, email, phone, isinactive, externalid, "
        "isperson, firstname, lastname, datecreated, lastmodifieddate, 'Vendor' AS type "
        "FROM vendor"
    ),
}

#: The columns records are looked up by, indexed so that a lookup costs the same with
#: 100,000 records as with ten: REST addressing (``eid:``), the unique-external-id check,
#: a transaction's lines and links, and the columns SuiteQL filters on most
#: (``externalid``, ``tranid``, ``entity``, ``trandate``, ``lastmodifieddate``). An
#: index changes no answer: SQLite picks it only where it finds the same rows. There is
#: none on ``type`` alone: it splits the table in a few large parts, and SQLite (which
#: has no statistics here) would prefer it to a selective one such as ``trandate``.
_INDEXES: tuple[tuple[str, str], ...] = (
    *((table, "externalid") for table in ("customer", "vendor", "item", "currency")),
    *((table, "externalid") for table in ("subsidiary", "account", "salestaxitem")),
    ("customer", "entityid"),
    ("vendor", "entityid"),
    ("item", "itemid"),
    ("transaction", "externalid, type"),
    ("transaction", "tranid"),
    ("transaction", "entity, trandate"),
    ("transaction", "trandate"),
    ("transaction", "lastmodifieddate"),
    ("transactionline", '"transaction", linesequencenumber'),
    ("transactionline", "item"),
    ("previoustransactionlinelink", "previousdoc"),
    ("previoustransactionlinelink", "nextdoc"),
    ("deletedrecord", "deleteddate"),
)

_counter = itertools.count(1)


def display_date(text: str) -> str:
    """``2026-11-03`` or ``2026-11-03 10:15:00`` -> ``11/3/2026`` (NetSuite's default)."""
    try:
        year, month, day = text[:10].split("-")
        return f"{int(month)}/{int(day)}/{int(year)}"
    except ValueError:
        return text


class Stamp(str):
    """A DATETIME column's value on the query connection: shown as its UTC date, and
    carrying the stored instant so SuiteQL can show the date in the account's zone."""

    stored: str

    def __new__(cls, stored: str) -> Stamp:
        made = super().__new__(cls, display_date(stored))
        made.stored = stored
        return made


sqlite3.register_converter(DATE, lambda raw: display_date(raw.decode("utf-8")))
sqlite3.register_converter(DATETIME, lambda raw: Stamp(raw.decode("utf-8")))

_ALLOWED_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


def _read_only(action: int, arg1: str | None, arg2: str | None, db: str | None, _: Any) -> int:
    if action not in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and (arg1 or "").lower().startswith("sqlite_"):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


class Database:
    """The shared in-memory database and the lock every access goes through."""

    def __init__(self) -> None:
        uri = f"file:erpsync-netsuite-{next(_counter)}-{id(self)}?mode=memory&cache=shared"
        #: Guards both connections. Held per statement by readers and for a whole
        #: record operation by writers (see :meth:`write`), never across a request.
        self.lock = threading.RLock()
        self._depth = 0
        #: Moves at the start and the end of every write (and every schema change), so
        #: that what was learnt from the data (:mod:`.totals`) is known to be current
        #: while it stays the same.
        self.version = 0
        self._records = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._records.row_factory = sqlite3.Row
        self._query = sqlite3.connect(
            uri, uri=True, check_same_thread=False, detect_types=sqlite3.PARSE_DECLTYPES
        )
        self._query.execute("PRAGMA read_uncommitted = 1")
        self.create_schema()
        self._query.set_authorizer(_read_only)

    @property
    def query_connection(self) -> sqlite3.Connection:
        return self._query

    def create_schema(self) -> None:
        with self.lock:
            for table, columns in _TABLES.items():
                self._records.execute(f'CREATE TABLE "{table}" ({", ".join(columns)})')
            for number, (table, indexed) in enumerate(_INDEXES):
                self._records.execute(f'CREATE INDEX ns_index_{number} ON "{table}" ({indexed})')
            for view, select in _VIEWS.items():
                self._records.execute(f"CREATE VIEW {view} AS {select}")
            self._records.commit()

    def close(self) -> None:
        with self.lock:
            self._query.close()
            self._records.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic change: committed when the outermost block ends, rolled back if it
        raises. Blocks nest, so a record operation made of several steps (a receipt and
        the order lines it receives) is one transaction, and no reader sees it half done:
        the lock is held until the outermost block ends."""
        with self.lock:
            self._depth += 1
            if self._depth == 1:
                self.version += 1
            try:
                yield self._records
            except BaseException:
                if self._depth == 1:
                    self._records.rollback()
                raise
            else:
                if self._depth == 1:
                    self._records.commit()
            finally:
                if self._depth == 1:
                    self.version += 1
                self._depth -= 1

    def one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self.lock:
            row: sqlite3.Row | None = self._records.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return list(self._records.execute(sql, params).fetchall())

    def columns(self, table: str) -> list[str]:
        with self.lock:
            return [r[1] for r in self._records.execute(f'PRAGMA table_info("{table}")')]

    def ensure_column(self, table: str, column: str, sql_type: str = "") -> None:
        """Add a custom field's column (``custbody_x``) the first time it is written."""
        with self.lock:
            if column not in self.columns(table):
                self._records.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sql_type}')
                self.version += 1
                if self._depth == 0:
                    self._records.commit()
