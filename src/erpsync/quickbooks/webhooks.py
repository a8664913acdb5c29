"""QuickBooks Online webhooks: verify the signature, parse both payload shapes, dedupe.

Framework-neutral: give :func:`handle_webhook` the raw body bytes and the headers your
web framework received, and reply 200 quickly (Intuit expects an answer within about
3 seconds, so queue the real work). Intuit retries deliveries, so the same event can
arrive more than once; :class:`EventDeduplicator` drops repeats by event id, and your
handlers should still be idempotent (a deduplicator in memory forgets on restart).

Flask, for example::

    dedupe = EventDeduplicator()

    @app.post("/qbo/webhook")
    def qbo_webhook():
        try:
            events = handle_webhook(request.get_data(), request.headers, VERIFIER, dedupe)
        except WebhookSignatureError:
            return "", 401
        for event in events:
            queue.put(event)          # on failure to queue: dedupe.forget(event.event_id)
        return "", 200

Two payload shapes exist: the legacy ``eventNotifications`` object and CloudEvents (a
JSON array, mandatory from 2026). Both become :class:`WebhookEvent`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from erpsync.errors import ConfigurationError, InvalidRequestError, WebhookSignatureError
from erpsync.quickbooks.wire import SIGNATURE_HEADER as WIRE_SIGNATURE_HEADER

__all__ = [
    "SIGNATURE_HEADER",
    "EventDeduplicator",
    "WebhookEvent",
    "handle_webhook",
    "parse_webhook",
    "verify_webhook",
]

SIGNATURE_HEADER = WIRE_SIGNATURE_HEADER
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


# -- signature --------------------------------------------------------------------------


def verify_webhook(
    body: bytes | bytearray | memoryview, signature: str | None, verifier_token: str
) -> None:
    """Raise :class:`WebhookSignatureError` unless ``signature`` signs ``body``.

    ``body`` must be the raw bytes as received: re-serialised JSON does not match.
    The comparison is constant-time.
    """
    if not isinstance(verifier_token, str) or not verifier_token:
        raise ConfigurationError("verify_webhook needs the app's webhook verifier token")
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ConfigurationError("verify_webhook needs the raw request body as bytes")
    if not isinstance(signature, str) or not signature.strip():
        raise WebhookSignatureError(
            f"webhook has no {SIGNATURE_HEADER} signature", backend=_BACKEND
        )
    try:
        given = base64.b64decode(signature.strip().encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise WebhookSignatureError(
            "webhook signature is not valid base64", backend=_BACKEND
        ) from None
    expected = hmac.new(verifier_token.encode(), bytes(body), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise WebhookSignatureError(
            "webhook signature does not match the body",
            backend=_BACKEND,
            hint="Check the verifier token, and that the raw body is verified before parsing",
        )


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


# -- deduplication ----------------------------------------------------------------------


class EventDeduplicator:
    """Remembers event ids for ``ttl`` (at most ``capacity`` of them) to drop repeats.

    ``is_new`` plugs in a persistent record (``INSERT ... ON CONFLICT DO NOTHING``
    returning whether a row was added) for deduplication that survives restarts; the
    in-memory set then only saves round trips. Thread-safe.
    """

    def __init__(
        self,
        capacity: int = 10_000,
        ttl: timedelta = timedelta(days=1),
        clock: Callable[[], float] = time.monotonic,
        is_new: Callable[[str], bool] | None = None,
    ) -> None:
        if capacity < 1:
            raise ConfigurationError("EventDeduplicator capacity must be at least 1")
        if ttl <= timedelta(0):
            raise ConfigurationError("EventDeduplicator ttl must be positive")
        self.capacity = capacity
        self.ttl = ttl.total_seconds()
        self._clock = clock
        self._is_new = is_new
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._seen)

    def seen(self, event_id: str) -> bool:
        """True if ``event_id`` was seen before; records it as seen either way."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if event_id in self._seen:
                return True
            if self._is_new is not None and not self._is_new(event_id):
                self._remember(event_id, now)
                return True
            self._remember(event_id, now)
            return False

    def filter(self, events: Iterable[WebhookEvent]) -> list[WebhookEvent]:
        """The events not seen before (repeats within ``events`` are dropped too)."""
        return [event for event in events if not self.seen(event.event_id)]

    def forget(self, event_id: str) -> None:
        """Let a redelivery through again, after handling the event failed.

        Only the in-memory record is dropped; a persistent ``is_new`` store must be
        told separately.
        """
        with self._lock:
            self._seen.pop(event_id, None)

    def _remember(self, event_id: str, now: float) -> None:
        self._seen[event_id] = now + self.ttl
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)

    def _expire(self, now: float) -> None:
        # Insertion order is expiry order (one ttl for all), so expired ids are in front.
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[oldest]


# -- all together -----------------------------------------------------------------------


def handle_webhook(
    body: bytes,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    verifier_token: str,
    dedupe: EventDeduplicator | None = None,
) -> list[WebhookEvent]:
    """Verify, parse and (optionally) deduplicate one delivery.

    Raises :class:`WebhookSignatureError` (answer 401 and process nothing) or
    :class:`InvalidRequestError` (answer 400).
    """
    verify_webhook(body, _header(headers, SIGNATURE_HEADER), verifier_token)
    events = parse_webhook(body)
    return dedupe.filter(events) if dedupe is not None else events


def _header(headers: Mapping[str, str] | Iterable[tuple[str, str]], name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    wanted = name.lower()
    for key, value in items:
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if str(key).lower() == wanted:
            return str(value)
    return None
