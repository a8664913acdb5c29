"""The two payload shapes of QuickBooks webhooks, read into :class:`WebhookEvent`.

The legacy ``eventNotifications`` object (one entry per company, each with its entity
changes) and CloudEvents (a JSON array of events, mandatory from 2026) carry the same
facts in different spellings: CloudEvents types spell entities in lower case and use
their own verbs, which are mapped to the names the API and the legacy payload use. A
body of neither shape is an :class:`~erpsync.errors.InvalidRequestError` (answer 400)
naming where it went wrong, never a JSON or key error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from erpsync.errors import InvalidRequestError

__all__ = ["WebhookEvent", "parse_webhook"]

_BACKEND = "QuickBooks"

#: CloudEvents types spell entities in lower case; these are the names the API uses.
_ENTITIES = {
    name.lower(): name
    for name in (
        "Account",
        "Bill",
        "BillPayment",
        "Budget",
        "Class",
        "CreditMemo",
        "Currency",
        "Customer",
        "Department",
        "Deposit",
        "Employee",
        "Estimate",
        "Invoice",
        "Item",
        "JournalCode",
        "JournalEntry",
        "Payment",
        "PaymentMethod",
        "Preferences",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "TaxAgency",
        "Term",
        "TimeActivity",
        "Transfer",
        "Vendor",
        "VendorCredit",
    )
}
#: CloudEvents verbs to the operation names of the legacy payload and the API docs.
_OPERATIONS = {
    "created": "Create",
    "create": "Create",
    "updated": "Update",
    "update": "Update",
    "deleted": "Delete",
    "delete": "Delete",
    "merged": "Merge",
    "merge": "Merge",
    "voided": "Void",
    "void": "Void",
    "emailed": "Emailed",
}


@dataclass(frozen=True)
class WebhookEvent:
    """One change in one company, whichever payload shape it came in.

    ``event_id`` is the CloudEvents ``id``; legacy notifications have none, so one is
    derived from what identifies the change (realm, entity, id, operation, time),
    which is stable across redeliveries. ``raw`` is the event as received.
    """

    event_id: str
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    occurred_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


# -- parsing ----------------------------------------------------------------------------


def parse_webhook(body: bytes | str) -> list[WebhookEvent]:
    """The events of a delivery, legacy or CloudEvents.

    A body that is not JSON, or not one of the two shapes, raises
    :class:`InvalidRequestError` naming what is wrong and where.
    """
    try:
        data = json.loads(body)
    except (ValueError, TypeError, RecursionError):  # RecursionError: nested thousands deep
        raise InvalidRequestError(
            "webhook body is not valid JSON", backend=_BACKEND, raw=_preview(body)
        ) from None
    if isinstance(data, list):
        return [_cloud_event(item, f"[{i}]") for i, item in enumerate(data)]
    if isinstance(data, dict) and "eventNotifications" in data:
        return _legacy(data["eventNotifications"])
    if isinstance(data, dict) and "specversion" in data:
        return [_cloud_event(data, "")]  # a single CloudEvent outside an array
    raise InvalidRequestError(
        "webhook body is neither a legacy eventNotifications object nor a CloudEvents array",
        backend=_BACKEND,
        raw=_preview(body),
    )


def _legacy(notifications: object) -> list[WebhookEvent]:
    if not isinstance(notifications, list):
        raise _shape("eventNotifications", "a list")
    events: list[WebhookEvent] = []
    for n, notification in enumerate(notifications):
        where = f"eventNotifications[{n}]"
        if not isinstance(notification, dict):
            raise _shape(where, "an object")
        realm_id = _string(notification, "realmId", where)
        change = notification.get("dataChangeEvent")
        if not isinstance(change, dict):
            raise _shape(f"{where}.dataChangeEvent", "an object")
        entities = change.get("entities")
        if not isinstance(entities, list):
            raise _shape(f"{where}.dataChangeEvent.entities", "a list")
        for e, entity in enumerate(entities):
            at = f"{where}.dataChangeEvent.entities[{e}]"
            if not isinstance(entity, dict):
                raise _shape(at, "an object")
            name = _string(entity, "name", at)
            entity_id = _string(entity, "id", at)
            operation = _string(entity, "operation", at)
            updated = entity.get("lastUpdated")
            stamp = updated if isinstance(updated, str) else ""
            digest = hashlib.sha256(
                "\x1f".join((realm_id, name, entity_id, operation, stamp)).encode()
            ).hexdigest()[:32]
            events.append(
                WebhookEvent(
                    event_id=f"legacy-{digest}",
                    realm_id=realm_id,
                    entity=name,
                    entity_id=entity_id,
                    operation=operation,
                    occurred_at=_time(updated),
                    raw={**entity, "realmId": realm_id},
                )
            )
    return events


def _cloud_event(item: object, where: str) -> WebhookEvent:
    if not isinstance(item, dict):
        raise _shape(where or "event", "an object")
    prefix = f"{where}." if where else ""
    event_id = _string(item, "id", where)
    event_type = _string(item, "type", where)
    parts = event_type.split(".")
    # qbo.<entity>.<verb>.v<N>; the version suffix is optional to be lenient.
    if len(parts) >= 3 and parts[-1][:1] == "v" and parts[-1][1:].isdigit():
        parts = parts[:-1]
    if len(parts) != 3 or parts[0] != "qbo" or not parts[1] or not parts[2]:
        raise InvalidRequestError(
            f"webhook event type {event_type!r} is not qbo.<entity>.<operation>.v<N>",
            backend=_BACKEND,
            field=f"{prefix}type",
        )
    data = item.get("data")
    named = data.get("name") if isinstance(data, dict) else None
    entity = (
        named
        if isinstance(named, str) and named.lower() == parts[1].lower()
        else _ENTITIES.get(parts[1].lower(), parts[1][:1].upper() + parts[1][1:])
    )
    verb = parts[2].lower()
    operation = _OPERATIONS.get(verb, verb[:1].upper() + verb[1:])
    return WebhookEvent(
        event_id=event_id,
        realm_id=_string(item, "intuitaccountid", where),
        entity=entity,
        entity_id=_string(item, "intuitentityid", where),
        operation=operation,
        occurred_at=_time(item.get("time")),
        raw=item,
    )


def _string(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # ids are strings on the wire, but be lenient
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(
            f"webhook event lacks {key}",
            backend=_BACKEND,
            field=f"{where}.{key}" if where else key,
        )
    return value


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _shape(where: str, expected: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"webhook body: {where} should be {expected}", backend=_BACKEND, field=where
    )


def _preview(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text[:500]
