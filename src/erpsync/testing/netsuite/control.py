"""Record controls of FakeNetSuite: change the account's records from a test, as a
NetSuite user would in the UI, without a signed request.

They run the same record operations as the REST service (same rules, timestamps and
``deletedrecord`` trail), so what a test sets up is what a client then reads::

    fake.update_record("purchaseOrder", "1001", {"memo": "moved on"})
    fake.close_purchase_order("1001")          # every line closed: status H, Closed
    fake.delete_record("purchaseOrder", "1001")

A change NetSuite would refuse raises :class:`~erpsync.errors.ConfigurationError`
carrying NetSuite's own detail and field path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from erpsync.errors import ConfigurationError
from erpsync.testing.netsuite.errors import NetSuiteFault
from erpsync.testing.netsuite.records import Account
from erpsync.testing.netsuite.types import RECORD_TYPES, RecordType, lookup

__all__ = ["RecordControls"]


class RecordControls:
    """Mixed into :class:`~erpsync.testing.netsuite.FakeNetSuite`."""

    account: Account
    base_url: str

    def records(self, record_type: str) -> list[dict[str, Any]]:
        """Every record of a type as ``GET ...?expandSubResources=true`` shows it."""
        rt = _record_type(record_type)
        return [
            self.account.render(rt, rid, self.base_url, expand=True) for rid in self.account.ids(rt)
        ]

    def create_record(self, record_type: str, body: Mapping[str, Any]) -> str:
        """Create a record from a REST body (``POST /{type}``); its internal id."""
        rt = _record_type(record_type)
        return str(_checked(rt, "new", lambda: self.account.create(rt, dict(body))))

    def seed_records(self, record_type: str, bodies: Iterable[Mapping[str, Any]]) -> list[str]:
        """Create many records of one type from REST bodies, fast; their internal ids.

        Each body goes through the same record rules as ``POST /{type}`` (totals,
        postings, unique external ids, document numbers), but the whole batch is one
        database transaction and nothing is rendered back, so seeding 100,000 invoices
        takes seconds rather than the minutes 100,000 signed requests would. All or
        nothing: a body NetSuite would refuse raises ConfigurationError naming its
        position and field, and none of the batch is kept."""
        rt = _record_type(record_type)
        made: list[str] = []
        with self.account.db.write():
            for position, body in enumerate(bodies):
                given = dict(body) if isinstance(body, Mapping) else body
                rid = _checked(
                    rt, f"#{position}", lambda given=given: self.account.create(rt, given)
                )
                made.append(str(rid))
        return made

    def update_record(
        self,
        record_type: str,
        record_id: str | int,
        fields: Mapping[str, Any],
        *,
        replace: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Change a record as ``PATCH /{type}/{id}`` does (sublist lines merged by
        ``line`` unless named in ``replace``); the record as it now reads.
        ``record_id`` may be ``eid:<externalId>``."""
        rt = _record_type(record_type)

        def change() -> int:
            rid = self.account.resolve(rt, str(record_id))
            self.account.update(rt, rid, dict(fields), frozenset(replace))
            return rid

        rid = _checked(rt, record_id, change)
        return self.account.render(rt, rid, self.base_url, expand=True)

    def delete_record(self, record_type: str, record_id: str | int) -> None:
        """Delete a record as ``DELETE /{type}/{id}`` does (it is listed in
        ``deletedrecord``; one with dependent records is refused)."""
        rt = _record_type(record_type)
        _checked(
            rt,
            record_id,
            lambda: self.account.delete(rt, self.account.resolve(rt, str(record_id))),
        )

    def close_purchase_order(self, record_id: str | int) -> dict[str, Any]:
        """Close every line of a purchase order, as its Close button does: the order's
        status becomes ``H`` (Closed) and nothing more can be received against it."""
        rt = _record_type("purchaseOrder")

        def close() -> int:
            rid = self.account.resolve(rt, str(record_id))
            lines = self.account.render_sublist(rt, rid, "item", self.base_url)["items"]
            body = {"item": {"items": [{"line": ln["line"], "isClosed": True} for ln in lines]}}
            self.account.update(rt, rid, body)
            return rid

        rid = _checked(rt, record_id, close)
        return self.account.render(rt, rid, self.base_url, expand=True)


def _record_type(name: str) -> RecordType:
    rt = lookup(name) if isinstance(name, str) else None
    if rt is None:
        raise ConfigurationError(f"Unknown record type {name!r}; known: {sorted(RECORD_TYPES)}")
    return rt


def _checked(rt: RecordType, record_id: object, operation: Any) -> Any:
    """Run a record operation, turning NetSuite's refusal into a ConfigurationError
    that names the record and the field."""
    try:
        return operation()
    except NetSuiteFault as fault:
        where = f" (field {fault.path})" if fault.path else ""
        raise ConfigurationError(
            f"NetSuite refuses this change to {rt.name} {record_id}{where}: {fault.code}: "
            f"{fault.detail}"
        ) from None
