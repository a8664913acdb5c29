"""Rendering an account's rows as REST JSON: references with their ``refName`` and
``links``, select fields as ``{"id", "refName"}`` (a purchase order's ``status`` has
the label as its id, as NetSuite answers), sublists expanded or linked.
"""

# ruff: noqa: S608 -- table names in f-strings come from the fixed schema, never a request.

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, cast

from erpsync.netsuite import wire
from erpsync.testing.netsuite import transactions as tx
from erpsync.testing.netsuite.db import Database
from erpsync.testing.netsuite.errors import not_found
from erpsync.testing.netsuite.fields import LABEL, REF, SELECT, Field, render_custom, render_scalar
from erpsync.testing.netsuite.types import (
    APPROVAL_LABELS,
    BY_ITEM_KIND,
    BY_TRAN_TYPE,
    ITEM_TYPE_LABELS,
    RecordType,
)

if TYPE_CHECKING:
    from erpsync.testing.netsuite.records import Account

__all__ = ["Rendering"]


class Rendering:
    """The rendering half of :class:`~.records.Account` (a mixin: it reads the rows)."""

    db: Database

    def row(self, rt: RecordType, rid: int) -> sqlite3.Row | None:
        raise NotImplementedError  # Account's

    def _account(self) -> Account:
        return cast("Account", self)

    def record_type_of(self, table: str, rid: int) -> RecordType | None:
        if table == "transaction":
            row = self.db.one('SELECT type FROM "transaction" WHERE id = ?', (rid,))
            return BY_TRAN_TYPE.get(row["type"]) if row is not None else None
        if table == "item":
            row = self.db.one("SELECT itemtype, subtype FROM item WHERE id = ?", (rid,))
            return BY_ITEM_KIND.get((row["itemtype"], row["subtype"])) if row else None
        from erpsync.testing.netsuite.types import lookup

        return lookup(table)

    def ref_name(self, table: str, rid: int) -> str | None:
        if table in ("customer", "vendor"):
            row = self.db.one(f'SELECT entityid FROM "{table}" WHERE id = ?', (rid,))
            return None if row is None else str(row["entityid"])
        if table in ("item", "salestaxitem"):
            row = self.db.one(f'SELECT itemid FROM "{table}" WHERE id = ?', (rid,))
            return None if row is None else str(row["itemid"])
        if table == "account":
            row = self.db.one("SELECT fullname FROM account WHERE id = ?", (rid,))
            return None if row is None else str(row["fullname"])
        if table in ("currency", "subsidiary"):
            row = self.db.one(f'SELECT name FROM "{table}" WHERE id = ?', (rid,))
            return None if row is None else str(row["name"])
        if table == "transaction":
            row = self.db.one('SELECT type, tranid FROM "transaction" WHERE id = ?', (rid,))
            if row is None:
                return None
            rt = BY_TRAN_TYPE.get(row["type"])
            return f"{rt.label if rt else row['type']} #{row['tranid']}"
        return None

    def ref_json(self, table: str, rid: int, base: str) -> dict[str, Any]:
        rt = self.record_type_of(table, rid)
        out: dict[str, Any] = {"links": []}
        if rt is not None:
            out["links"] = [
                {"rel": "self", "href": f"{base}{wire.RECORD_ROOT}/{rt.name.lower()}/{rid}"}
            ]
        out["id"] = str(rid)
        name = self.ref_name(table, rid)
        if name is not None:
            out["refName"] = name
        return out

    def render_value(self, spec: Field, stored: Any, base: str, rt: RecordType) -> Any:
        if stored is None:
            return None
        if spec.kind == REF:
            return self.ref_json(spec.target or "", int(stored), base)
        if spec.kind in (SELECT, LABEL):
            label = _select_label(spec, str(stored), rt)
            return {"id": label if spec.kind == LABEL else str(stored), "refName": label}
        return render_scalar(spec, stored)

    def render(
        self,
        rt: RecordType,
        rid: int,
        base: str,
        expand: bool = False,
        fields: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        row = self.row(rt, rid)
        if row is None:
            raise not_found()
        href = f"{base}{wire.RECORD_ROOT}/{rt.name.lower()}/{rid}"
        out: dict[str, Any] = {"id": str(rid)}
        for spec in rt.fields:
            stored = (
                row[spec.column]
                if spec.column is not None
                else tx.computed(self._account(), rt, row, spec.rest)
            )
            value = self.render_value(spec, stored, base, rt)
            if value is not None:
                out[spec.rest] = value
        prefix = rt.custom_prefix or "\0"
        for column in row.keys():  # noqa: SIM118 (iterating a Row yields values)
            if column.startswith(prefix) and row[column] is not None:
                out[column] = render_custom(row[column])
        for name in rt.sublists:
            if expand:
                out[name] = self.render_sublist(rt, rid, name, base)
            else:
                out[name] = {"links": [{"rel": "self", "href": f"{href}/{name}"}]}
        if fields is not None:
            out = {k: v for k, v in out.items() if k in fields or k == "id"}
        return {"links": [{"rel": "self", "href": href}], **dict(sorted(out.items()))}

    def render_sublist(self, rt: RecordType, rid: int, name: str, base: str) -> dict[str, Any]:
        href = f"{base}{wire.RECORD_ROOT}/{rt.name.lower()}/{rid}/{name}"
        lines = [
            self._render_line(rt, name, line, base, href)
            for line in tx.lines(self._account(), rt, rid, name)
        ]
        return {
            "links": [{"rel": "self", "href": href}],
            "count": len(lines),
            "hasMore": False,
            "items": lines,
            "offset": 0,
            "totalResults": len(lines),
        }

    def render_line(
        self, rt: RecordType, rid: int, name: str, line_key: str, base: str
    ) -> dict[str, Any]:
        href = f"{base}{wire.RECORD_ROOT}/{rt.name.lower()}/{rid}/{name}"
        for line in tx.lines(self._account(), rt, rid, name):
            if str(_line_key(line)) == line_key:
                return self._render_line(rt, name, line, base, href)
        raise not_found()

    def _render_line(
        self, rt: RecordType, name: str, line: dict[str, Any], base: str, href: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in rt.sublists[name]:
            value = self.render_value(spec, line.get(spec.rest), base, rt)
            if value is not None:
                out[spec.rest] = value
        for key, value in line.items():
            if key.startswith("custcol") and value is not None:
                out[key] = render_custom(value)
        key = _line_key(line)
        return {"links": [{"rel": "self", "href": f"{href}/{key}"}], **dict(sorted(out.items()))}


def _select_label(spec: Field, value: str, rt: RecordType) -> str:
    if spec.column == "status" and rt.tran_type is not None:
        return wire.STATUS_LABELS.get(rt.tran_type, {}).get(value, value)
    if spec.rest == "approvalStatus":
        return APPROVAL_LABELS.get(value, value)
    if spec.rest == "itemType":
        return ITEM_TYPE_LABELS.get(value, value)
    return value


def _line_key(line: dict[str, Any]) -> Any:
    """A sublist line's key in URLs: ``line`` for item lines, ``doc`` for ``apply``."""
    return line["line"] if "line" in line else line.get("doc")
