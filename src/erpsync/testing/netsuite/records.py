"""The record service's state machine: create, read, update, upsert, delete.

This module holds what every record type shares (addressing by id or ``eid:``,
checking fields and references, unique external ids, custom fields, timestamps, the
``deletedrecord`` trail, rendering rows as REST JSON) and the entity and item rules.
Transactions, whose lines and totals interact, are in :mod:`._ns_transactions`.

Unknown body fields are refused (``INVALID_CONTENT``) rather than ignored so that a
client's typo fails in tests instead of silently dropping data in production; read-only
fields (``links``, ``id``, totals, status, timestamps) are ignored, as NetSuite does
when a client sends back a record it read.
"""

# ruff: noqa: S608 -- table and column names in f-strings come from the fixed schema
# (_ns_types / _ns_db), never from a request; every value is bound with "?".

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar, cast

from erpsync.testing.netsuite import transactions as tx
from erpsync.testing.netsuite.db import Database
from erpsync.testing.netsuite.entities import entity_values, item_values
from erpsync.testing.netsuite.errors import (
    NetSuiteFault,
    invalid_content,
    invalid_field_value,
    invalid_reference,
    not_found,
    user_error,
)
from erpsync.testing.netsuite.fields import (
    REF,
    SELECT,
    Field,
    custom_value,
    parse_scalar,
    ref_key,
    stored_datetime,
)
from erpsync.testing.netsuite.render import Rendering
from erpsync.testing.netsuite.types import (
    RecordType,
)

DUPLICATE_DETAIL = "Error while accessing a resource. This record already exists."
DEPENDENT_DETAIL = "This record cannot be deleted because it has dependent records."

#: First internal id of each id family: distinct ranges make a client that confuses a
#: customer id with an item id fail loudly in tests.
_FIRST_IDS = {
    "entity": 100,
    "item": 200,
    "transaction": 1000,
    "currency": 0,
    "subsidiary": 0,
    "account": 0,
}
_TABLE_FAMILY = {
    "customer": "entity",
    "vendor": "entity",
    "item": "item",
    "salestaxitem": "item",  # tax codes are items in NetSuite: one id range
    "account": "account",
    "transaction": "transaction",
    "currency": "currency",
    "subsidiary": "subsidiary",
}
_INACTIVE_TABLES = frozenset(
    {"customer", "vendor", "item", "currency", "subsidiary", "account", "salestaxitem"}
)


_Op = TypeVar("_Op", bound=Callable[..., Any])


def _atomic(operation: _Op) -> _Op:
    """Run a record operation as one transaction: its checks (unique external id, what
    remains to receive) and its writes happen with no other write in between, and a
    failure anywhere leaves nothing behind. Reads of other requests go on meanwhile,
    statement by statement; there is no lock around a whole request."""

    @functools.wraps(operation)
    def run(self: Account, *args: Any, **kwargs: Any) -> Any:
        with self.db.write():
            return operation(self, *args, **kwargs)

    return cast(_Op, run)


class Parsed:
    """A request body split into columns, custom-field columns and raw sublists."""

    def __init__(self) -> None:
        self.columns: dict[str, Any] = {}
        self.custom: dict[str, Any] = {}
        self.sublists: dict[str, Any] = {}


class Account(Rendering):
    """All records of one emulated account (rendering as REST JSON: :mod:`.render`)."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self._now = now
        self._next = {family: first for family, first in _FIRST_IDS.items()}
        self._numbers: dict[str, int] = {}
        #: OneWorld accounts refuse an entity without a subsidiary; so does the emulator.
        self.require_subsidiary = True

    # -- small services used by the transaction rules ----------------------------------------

    def now(self) -> str:
        return stored_datetime(self._now())

    def today(self) -> str:
        return self._now().date().isoformat()

    def next_id(self, table: str) -> int:
        family = _TABLE_FAMILY[table]
        self._next[family] += 1
        return self._next[family]

    def next_number(self, prefix: str) -> str:
        self._numbers[prefix] = self._numbers.get(prefix, 1000) + 1
        return f"{prefix}{self._numbers[prefix]}"

    def insert(self, conn: sqlite3.Connection, table: str, values: Mapping[str, Any]) -> None:
        names = ", ".join(f'"{k}"' for k in values)
        marks = ", ".join("?" for _ in values)
        conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', list(values.values()))

    def update_row(
        self, conn: sqlite3.Connection, table: str, rid: int, values: Mapping[str, Any]
    ) -> None:
        if not values:
            return
        sets = ", ".join(f'"{k}" = ?' for k in values)
        conn.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?', [*values.values(), rid])

    # -- addressing ---------------------------------------------------------------------------

    def row(self, rt: RecordType, rid: int) -> sqlite3.Row | None:
        where, params = self._type_filter(rt)
        return self.db.one(f'SELECT * FROM "{rt.table}" WHERE id = ?{where}', (rid, *params))

    def resolve(self, rt: RecordType, key: str) -> int:
        """An internal id from a URL segment: ``1234`` or ``eid:<externalId>``."""
        where, params = self._type_filter(rt)
        if key.lower().startswith("eid:"):
            found = self.db.one(
                f'SELECT id FROM "{rt.table}" WHERE externalid = ?{where}', (key[4:], *params)
            )
        elif key.isdigit():
            found = self.db.one(
                f'SELECT id FROM "{rt.table}" WHERE id = ?{where}', (int(key), *params)
            )
        else:
            found = None
        if found is None:
            raise not_found()
        return int(found["id"])

    def find_external(self, rt: RecordType, external_id: str) -> int | None:
        where, params = self._type_filter(rt)
        found = self.db.one(
            f'SELECT id FROM "{rt.table}" WHERE externalid = ?{where}', (external_id, *params)
        )
        return None if found is None else int(found["id"])

    @staticmethod
    def _type_filter(rt: RecordType) -> tuple[str, tuple[Any, ...]]:
        if rt.tran_type is not None:
            return " AND type = ?", (rt.tran_type,)
        if rt.item_kind is not None:
            itemtype, subtype = rt.item_kind
            return " AND itemtype = ? AND subtype IS ?", (itemtype, subtype)
        return "", ()

    def id_page(self, rt: RecordType, limit: int, offset: int) -> tuple[list[int], int]:
        """One page of a type's ids in id order, and how many it has: a listing reads
        its page from the index, not every id of the type."""
        where, params = self._type_filter(rt)
        total = self.db.one(f'SELECT COUNT(*) AS n FROM "{rt.table}" WHERE 1 = 1{where}', params)
        rows = self.db.all(
            f'SELECT id FROM "{rt.table}" WHERE 1 = 1{where} ORDER BY id LIMIT ? OFFSET ?',
            (*params, limit, offset),
        )
        return [int(r["id"]) for r in rows], int(total["n"]) if total is not None else 0

    def ids(self, rt: RecordType) -> list[int]:
        where, params = self._type_filter(rt)
        rows = self.db.all(f'SELECT id FROM "{rt.table}" WHERE 1 = 1{where} ORDER BY id', params)
        return [int(r["id"]) for r in rows]

    # -- parsing a body -----------------------------------------------------------------------

    def parse(
        self, rt: RecordType, body: Any, fields: tuple[Field, ...] | None = None, prefix: str = ""
    ) -> Parsed:
        if not isinstance(body, dict):
            raise invalid_content("The request body must be a JSON object.", prefix or None)
        by_name = {f.rest: f for f in (fields if fields is not None else rt.fields)}
        custom_prefix = "custcol" if prefix else rt.custom_prefix
        parsed = Parsed()
        for key, value in body.items():
            path = f"{prefix}{key}"
            spec = by_name.get(key)
            if key in ("links", "id", "refName") or (spec is not None and spec.readonly):
                continue
            if spec is None:
                if fields is None and key in rt.sublists:
                    parsed.sublists[key] = value
                elif custom_prefix and key.lower().startswith(custom_prefix):
                    parsed.custom[key.lower()] = custom_value(key, value, path)
                else:
                    raise invalid_content(
                        f"Invalid field name '{key}'. The field does not exist on this "
                        "record or sublist.",
                        path,
                    )
                continue
            if spec.column is None:
                parsed.columns[spec.rest] = self.field_value(spec, value, path)
            else:
                parsed.columns[spec.column] = self.field_value(spec, value, path)
        return parsed

    def field_value(self, spec: Field, value: Any, path: str) -> Any:
        if value is None:
            return None
        if spec.kind == REF:
            assert spec.target is not None
            return self.resolve_ref(spec, value, path)
        if spec.kind == SELECT:
            raw = value.get("id") if isinstance(value, dict) else value
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                raise invalid_field_value(spec.rest, path)
            return str(raw)
        return parse_scalar(spec, value, path)

    def resolve_ref(self, spec: Field, value: Any, path: str) -> int:
        kind, key = ref_key(spec, value, path)
        table = spec.target or ""
        if kind == "id":
            if not key.isdigit():
                raise invalid_reference(spec.rest, key, path)
            row = self.db.one(f'SELECT * FROM "{table}" WHERE id = ?', (int(key),))
        else:
            row = self.db.one(f'SELECT * FROM "{table}" WHERE externalid = ?', (key,))
        if row is None:
            raise invalid_reference(spec.rest, key, path)
        if table in _INACTIVE_TABLES and row["isinactive"] == "T":
            raise invalid_reference(spec.rest, key, path)
        return int(row["id"])

    def check_external_id(self, rt: RecordType, external_id: Any, rid: int | None) -> None:
        if external_id is None:
            return
        where, params = self._type_filter(rt)
        table_where = "" if rt.table == "item" else where
        row = self.db.one(
            f'SELECT id FROM "{rt.table}" WHERE externalid = ?{table_where}',
            (external_id, *(() if rt.table == "item" else params)),
        )
        if row is not None and int(row["id"]) != rid:
            raise user_error(DUPLICATE_DETAIL, "externalId")

    def store_custom(self, conn: sqlite3.Connection, table: str, rid: int, custom: Any) -> None:
        for column in custom:
            self.db.ensure_column(table, column)
        self.update_row(conn, table, rid, custom)

    # -- the operations -----------------------------------------------------------------------

    @_atomic
    def create(self, rt: RecordType, body: Any) -> int:
        self._writable(rt)
        parsed = self.parse(rt, body)
        if rt.family == "transaction":
            return tx.create(self, rt, parsed)
        self.check_external_id(rt, parsed.columns.get("externalid"), None)
        with self.db.write() as conn:
            rid = self.next_id(rt.table)
            values = self._entity_or_item(rt, parsed.columns, None)
            stamp = self.now()
            created = "datecreated" if rt.family == "entity" else "createddate"
            self.insert(
                conn, rt.table, {**values, "id": rid, created: stamp, "lastmodifieddate": stamp}
            )
            self.store_custom(conn, rt.table, rid, parsed.custom)
        return rid

    @_atomic
    def update(
        self, rt: RecordType, rid: int, body: Any, replace: frozenset[str] = frozenset()
    ) -> None:
        self._writable(rt)
        parsed = self.parse(rt, body)
        if rt.family == "transaction":
            tx.update(self, rt, rid, parsed, replace)
            return
        self.check_external_id(rt, parsed.columns.get("externalid"), rid)
        with self.db.write() as conn:
            values = self._entity_or_item(rt, parsed.columns, rid)
            self.update_row(conn, rt.table, rid, {**values, "lastmodifieddate": self.now()})
            self.store_custom(conn, rt.table, rid, parsed.custom)

    @_atomic
    def upsert(self, rt: RecordType, external_id: str, body: Any) -> int:
        """``PUT /{type}/eid:X``: create the record, or bring the existing one to ``body``.

        On an existing record the sublists given are replaced rather than merged, so that
        sending the same PUT twice leaves the record as one PUT would (the point of it).
        """
        if not isinstance(body, dict):
            raise invalid_content("The request body must be a JSON object.")
        given = body.get("externalId")
        if given is not None and given != external_id:
            raise invalid_content(
                "The externalId in the body does not match the one in the URL.", "externalId"
            )
        body = {**body, "externalId": external_id}
        existing = self.find_external(rt, external_id)
        if existing is None:
            return self.create(rt, body)
        self.update(rt, existing, body, replace=frozenset(rt.sublists))
        return existing

    @_atomic
    def delete(self, rt: RecordType, rid: int) -> None:
        self._writable(rt)
        row = self.row(rt, rid)
        if row is None:
            raise not_found()
        if rt.family == "transaction":
            tx.delete(self, rt, row)
            name = row["tranid"]
        else:
            self._check_unused(rt, rid)
            with self.db.write() as conn:
                conn.execute(f'DELETE FROM "{rt.table}" WHERE id = ?', (rid,))
            name = row["entityid"] if rt.family == "entity" else row["itemid"]
        with self.db.write() as conn:
            self.insert(
                conn,
                "deletedrecord",
                {
                    "recordid": str(rid),
                    "recordtypeid": rt.name.lower(),
                    "type": rt.label,
                    "name": name,
                    "deleteddate": self.now(),
                    "context": "RESTWS",
                },
            )

    @_atomic
    def transform(self, rt: RecordType, rid: int, target: str, body: Any) -> int:
        if rt.name != "purchaseOrder" or target.lower() != "itemreceipt":
            raise invalid_content(f"Transformation from {rt.name} to {target} is not supported.")
        if not isinstance(body, dict):
            raise invalid_content("The request body must be a JSON object.")
        return tx.receive(self, rid, body)

    @staticmethod
    def _writable(rt: RecordType) -> None:
        if not rt.writable:
            raise NetSuiteFault(
                403, "INSUFFICIENT_PERMISSION", f"The {rt.name} record is read-only here."
            )

    def _check_unused(self, rt: RecordType, rid: int) -> None:
        if rt.family == "entity":
            used = self.db.one('SELECT 1 FROM "transaction" WHERE entity = ? LIMIT 1', (rid,))
        elif rt.family == "item":
            used = self.db.one("SELECT 1 FROM transactionline WHERE item = ? LIMIT 1", (rid,))
        else:
            used = None
        if used is not None:
            raise user_error(DEPENDENT_DETAIL)

    # -- entities and items ---------------------------------------------------------------

    def _entity_or_item(
        self, rt: RecordType, given: dict[str, Any], rid: int | None
    ) -> dict[str, Any]:
        """The columns to write after applying the record type's rules."""
        current: dict[str, Any] = {}
        if rid is not None:
            row = self.row(rt, rid)
            current = dict(row) if row is not None else {}
        merged = {**current, **given}
        if rt.family == "item":
            return item_values(self.db, rt, given, merged, rid)
        return entity_values(self.db, rt, given, merged, rid, self.require_subsidiary)
