"""One QuickBooks company's books: records, ids, SyncTokens, metadata and the change log.

This module is the bookkeeping every entity shares (create, read, sparse and full
update, delete, void, what changed since when); the per-entity rules (required fields,
computed totals, payments against invoices) live in :mod:`_qbo_rules`. Records are
stored in wire format, compacted (:mod:`.storage`: repeated parts shared, so a stored
record is never changed in place) and handed out as clones, so nothing a caller does
to an answer can change the books.

The awkward parts kept on purpose: ``Id`` and ``SyncToken`` are server-owned, a write
with a stale ``SyncToken`` is refused (5010), an update without ``"sparse": true``
forgets every writable field it does not repeat, deletes are tombstones that change
data capture reports as ``"status": "Deleted"``, and names are never deleted, only made
inactive (QuickBooks then shows them as ``"Name (deleted)"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from erpsync.testing.quickbooks import generic
from erpsync.testing.quickbooks.catalogue import ENTITIES, EntitySpec
from erpsync.testing.quickbooks.clock import iso, parse_instant
from erpsync.testing.quickbooks.errors import (
    malformed_request,
    object_not_found,
    required_missing,
    stale_object,
    unsupported_operation,
)
from erpsync.testing.quickbooks.query_index import EntityIndex, IndexedRecords, id_seq
from erpsync.testing.quickbooks.storage import Compactor, clone
from erpsync.testing.quickbooks.values import money, ref_value, to_decimal

_BASE_READ_ONLY = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse"})


@dataclass(frozen=True)
class Change:
    """One committed change, for webhooks."""

    entity: str
    id: str
    operation: str  # "Create" | "Update" | "Delete" | "Void"
    time: datetime


@dataclass
class Company:
    """The books of one realm."""

    realm_id: str
    now: Callable[[], datetime]
    on_change: Callable[[Change], None] = lambda change: None
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    #: invoice id -> payment id -> amount that payment applies to it.
    applied: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    #: bill id -> bill payment id -> amount that bill payment pays on it.
    bill_paid: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    next_doc_number: int = 1001
    next_po_number: int = 1001
    #: Refuse a second invoice with a DocNumber already in use (6140). QuickBooks does so
    #: while the company warns on duplicate numbers; with the warning off it accepts them.
    refuse_duplicate_doc_numbers: bool = True
    #: entity -> key -> the id holding it, or the ids when several do (names case-folded,
    #: document numbers exact), so the uniqueness rules stay O(1) in a company with many
    #: thousands of records (one id, not a set, per key: most keys are unique).
    _keys: dict[str, dict[str, str | set[str]]] = field(default_factory=dict)
    #: customer id -> open balance (its invoices' Balance less its payments' UnappliedAmt),
    #: kept as a running total so a company with many thousands of invoices stays fast.
    open_balance: dict[str, Decimal] = field(default_factory=dict)
    #: entity -> the query indexes of its records (see :mod:`.query_index`).
    indexes: dict[str, EntityIndex] = field(default_factory=dict)
    #: What stores records with their repeated parts shared (see :mod:`.storage`).
    compactor: Compactor = field(default_factory=Compactor)

    def __post_init__(self) -> None:
        for name in ENTITIES:
            self.records.setdefault(name, {})
            self.tombstones.setdefault(name, {})
            self.indexes.setdefault(name, EntityIndex())
            self._keys.setdefault(name, {})

    def holders(self, entity: str, value: str) -> set[str]:
        """Ids of the ``entity`` records whose key field (DisplayName, Name, DocNumber)
        equals ``value`` (names compared case-insensitively, as QuickBooks does)."""
        held = self._keys[entity].get(self._key(entity, value))
        if held is None:
            return set()
        return {held} if isinstance(held, str) else set(held)

    @staticmethod
    def _key(entity: str, value: str) -> str:
        if ENTITIES[entity].key_field == "DocNumber":
            return value
        return value.casefold()

    def _reindex(
        self, entity: str, record_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        self.indexes[entity].change(record_id, old, new)
        key_field = ENTITIES[entity].key_field
        keys = self._keys[entity]
        for record, adding in ((old, False), (new, True)):
            if record is None:
                continue
            if key_field is not None and record.get(key_field) not in (None, ""):
                key = self._key(entity, str(record[key_field]))
                held = keys.get(key)
                if adding:
                    if held is None or held == record_id:
                        keys[key] = record_id
                    elif isinstance(held, str):
                        keys[key] = {held, record_id}
                    else:
                        held.add(record_id)
                elif held == record_id:
                    del keys[key]
                elif isinstance(held, set):
                    held.discard(record_id)
                    if len(held) == 1:
                        keys[key] = next(iter(held))
            if entity in ("Invoice", "Payment"):
                self._rebalance(entity, record, 1 if adding else -1)

    def _rebalance(self, entity: str, record: dict[str, Any], sign: int) -> None:
        """Add (sign 1) or remove (-1) a transaction's share of its customer's Balance."""
        customer_id = ref_value(record.get("CustomerRef"))
        if customer_id is None:
            return
        if entity == "Invoice":
            share = to_decimal(record.get("Balance", 0), "Balance")
        else:
            share = -to_decimal(record.get("UnappliedAmt", 0), "UnappliedAmt")
        total = self.open_balance.get(customer_id, Decimal(0)) + sign * share
        self.open_balance[customer_id] = total
        customer = self.records["Customer"].get(customer_id)
        if customer is not None:
            # A customer's balance moves with its transactions without a new version
            # (the one change made to a stored record in place: its top level only).
            customer["Balance"] = customer["BalanceWithJobs"] = money(total)
            self.indexes["Customer"].cursors.forget()  # a paused walk may filter on it

    # -- reading ---------------------------------------------------------------------------

    def get(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """The stored record itself (not a copy): for the rules, never for callers."""
        return self.records[entity].get(str(record_id))

    def read(self, entity: str, record_id: str) -> dict[str, Any]:
        record = self.get(entity, record_id)
        if record is None:
            raise object_not_found()
        return clone(record)

    def all(self, entity: str) -> list[dict[str, Any]]:
        """Copies of every record (callers may keep or change them)."""
        return [clone(r) for r in self.records[entity].values()]

    def stored(self, entity: str) -> IndexedRecords:
        """The stored records themselves with their indexes, for read-only queries
        (queries copy what they answer)."""
        return IndexedRecords(self.records[entity], self.indexes[entity])

    def preferences(self) -> dict[str, Any]:
        return next(iter(self.records["Preferences"].values()))

    def company_info(self) -> dict[str, Any]:
        return next(iter(self.records["CompanyInfo"].values()))

    def changed_since(
        self, entity: str, since: datetime, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Records changed at or after ``since``, live ones first, then tombstones.

        ``limit`` keeps the *earliest* changes, live and deleted alike, so a client that
        resumes from the newest ``LastUpdatedTime`` it was given misses no deletion.
        """

        def stamp(record: dict[str, Any]) -> datetime:
            text = record.get("MetaData", {}).get("LastUpdatedTime", "")
            return parse_instant(text) or since

        index = self.indexes[entity]
        stamps = index.fields["MetaData.LastUpdatedTime"]
        stored = self.records[entity]
        rows: Iterable[dict[str, Any]] = stored.values()
        if index.id_ordered and not (stamps.texts or stamps.numbers or stamps.odd):
            # Every stamp is an instant: the index holds those at or after ``since``
            # (a superset, filtered below), met here in insertion order as a scan would.
            recent = stamps.span(">=", since.isoformat(), None)
            if recent is not None:
                rows = list(index_records(stored, recent.ids()))
        live = [(stamp(r), False, r) for r in rows]
        dead = [(stamp(r), True, r) for r in self.tombstones[entity].values()]
        recent_changes = [c for c in live + dead if c[0] >= since]
        changed = sorted(recent_changes, key=lambda c: (c[0], c[1]))[:limit]
        changed.sort(key=lambda c: c[1])  # stable: by time within live, then within dead
        return [clone(r) for _, _, r in changed]

    # -- writing ---------------------------------------------------------------------------

    def insert(
        self,
        entity: str,
        record: dict[str, Any],
        *,
        notify: bool = True,
        record_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a new record: assign ``Id`` (or keep ``record_id``: the US tax codes are
        ``TAX`` and ``NON``), ``SyncToken`` 0 and ``MetaData``."""
        now = self.now()
        if record_id is None:
            record_id = str(self.next_ids.get(entity, 1))
            self.next_ids[entity] = int(record_id) + 1
        stamped = {
            "Id": record_id,
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            **{k: v for k, v in record.items() if k not in _BASE_READ_ONLY},
            "MetaData": {"CreateTime": iso(now), "LastUpdatedTime": iso(now)},
        }
        stamped = self.compactor.compact(stamped)
        self.records[entity][record_id] = stamped
        self._reindex(entity, record_id, None, stamped)
        if notify:
            self.on_change(Change(entity, record_id, "Create", now))
        return stamped

    def replace(
        self, entity: str, record_id: str, record: dict[str, Any], operation: str = "Update"
    ) -> dict[str, Any]:
        """Store a new version of an existing record (SyncToken + 1, LastUpdatedTime now)."""
        old = self.records[entity][record_id]
        now = self.now()
        stamped = {
            "Id": record_id,
            "SyncToken": str(int(old["SyncToken"]) + 1),
            "domain": "QBO",
            "sparse": False,
            **{k: v for k, v in record.items() if k not in _BASE_READ_ONLY},
            "MetaData": {**old["MetaData"], "LastUpdatedTime": iso(now)},
        }
        stamped = self.compactor.compact(stamped)
        self.records[entity][record_id] = stamped
        self._reindex(entity, record_id, old, stamped)
        self.on_change(Change(entity, record_id, operation, now))
        return stamped

    def create(
        self, entity: str, body: Any, options: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        spec = self._spec(entity, "create")
        payload = self._payload(spec, body)
        record = generic.normalize(self, entity, payload, None, options)
        stored = self.insert(entity, record)
        generic.after_write(self, entity, stored, None)
        return clone(self.records[entity][stored["Id"]])

    def update(
        self, entity: str, body: Any, options: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        spec = self._spec(entity, "update")
        if not isinstance(body, dict):
            raise malformed_request(f"The request body must be a {entity} object.")
        existing = self._current(entity, body)
        payload = self._payload(spec, body)
        if body.get("sparse") in (True, "true"):
            kept = {k: clone(v) for k, v in existing.items() if k not in spec.read_only}
            candidate = {**kept, **payload}
            candidate = {k: v for k, v in candidate.items() if k not in _BASE_READ_ONLY}
        else:
            candidate = payload
        previous = clone(existing)
        record = generic.normalize(self, entity, candidate, previous, options)
        stored = self.replace(entity, existing["Id"], record)
        generic.after_write(self, entity, stored, previous)
        return clone(self.records[entity][stored["Id"]])

    def delete(self, entity: str, body: Any) -> dict[str, Any]:
        self._spec(entity, "delete")
        if not isinstance(body, dict):
            raise malformed_request(f"The request body must be a {entity} object.")
        existing = self._current(entity, body)
        record_id = existing["Id"]
        previous = self.records[entity].pop(record_id)
        self._reindex(entity, record_id, previous, None)
        now = self.now()
        tombstone = {
            "status": "Deleted",
            "domain": "QBO",
            "Id": record_id,
            "MetaData": {"LastUpdatedTime": iso(now)},
        }
        self.tombstones[entity][record_id] = tombstone
        self.on_change(Change(entity, record_id, "Delete", now))
        generic.after_delete(self, entity, previous)
        return {"status": "Deleted", "domain": "QBO", "Id": record_id}

    def void(self, entity: str, body: Any) -> dict[str, Any]:
        self._spec(entity, "void")
        if not isinstance(body, dict):
            raise malformed_request(f"The request body must be a {entity} object.")
        existing = self._current(entity, body)
        previous = clone(existing)
        record = generic.voided(self, entity, clone(existing))
        stored = self.replace(entity, existing["Id"], record, operation="Void")
        generic.after_write(self, entity, stored, previous)
        return clone(self.records[entity][stored["Id"]])

    # -- internals ---------------------------------------------------------------------------

    def _spec(self, entity: str, operation: str) -> EntitySpec:
        spec = ENTITIES[entity]
        if not spec.allows(operation):
            raise unsupported_operation(f"{operation.capitalize()} for {entity}")
        return spec

    @staticmethod
    def _payload(spec: EntitySpec, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise malformed_request(f"The request body must be a {spec.name} object.")
        return {
            k: clone(v)
            for k, v in body.items()
            if k not in _BASE_READ_ONLY and k not in spec.read_only
        }

    def _current(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """The record an update/delete/void names, after the Id and SyncToken checks."""
        record_id = body.get("Id")
        if record_id is None or str(record_id).strip() == "":
            raise required_missing("Id")
        if body.get("SyncToken") is None or str(body.get("SyncToken")).strip() == "":
            raise required_missing("SyncToken")
        existing = self.get(entity, str(record_id).strip())
        if existing is None:
            raise object_not_found("Id")
        if str(body["SyncToken"]).strip() != existing["SyncToken"]:
            raise stale_object()
        return existing


def index_records(
    stored: dict[str, dict[str, Any]], ids: Iterable[str]
) -> Iterator[dict[str, Any]]:
    """The stored records of ``ids`` that exist, in insertion (id) order."""
    return (stored[i] for i in sorted((i for i in ids if i in stored), key=id_seq))
