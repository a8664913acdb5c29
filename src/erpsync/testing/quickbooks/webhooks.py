"""Signed change notifications, in both payload shapes Intuit sends.

Delivery is deliberately NOT synchronous: every committed change is queued, and
:meth:`Webhooks.flush` delivers what is pending, as real Intuit does some time after the
change and in batches (up to 100 events a delivery). A test therefore writes, calls
``flush()`` and then asserts, and a handler that does its own API calls back into the
emulator cannot deadlock inside the request that caused the event.

Each delivery is signed the way Intuit signs: header ``intuit-signature`` =
base64(HMAC-SHA256(key = verifier token, msg = raw body)). A delivery that fails (the
callback raises or returns a non-2xx status, the URL answers non-2xx or cannot be
reached) stays queued and is sent again, with the same event ids, on the next flush,
up to ``max_attempts`` times: handlers must be idempotent against real Intuit too.

Targets are a callable ``callback(body: bytes, headers: dict[str, str])`` (returning
None or an HTTP status) or a URL POSTed to with ``requests``. While an emulator is
intercepting in-process only loopback URLs are reachable (the interception refuses the
rest), which is what a local webhook receiver uses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import requests

from erpsync._redact import redact
from erpsync.errors import ConfigurationError

__all__ = ["Subscription", "WebhookDelivery", "Webhooks", "sign"]

Shape = Literal["cloudevents", "legacy"]
Callback = Callable[[bytes, dict[str, str]], "int | None"]

_EVENTS_PER_DELIVERY = 100
_CLOUD_VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided"}


def sign(verifier_token: str, body: bytes) -> str:
    """The ``intuit-signature`` of ``body``."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _Event:
    event_id: str
    entity: str
    record_id: str
    operation: str
    time: datetime
    realm_id: str


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver one batch: what was sent and how it went."""

    subscription: Subscription
    body: bytes
    headers: dict[str, str]
    ok: bool
    status: int | None = None
    error: str | None = None
    attempt: int = 1

    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass(eq=False)
class Subscription:
    """Where notifications go and in which shape."""

    target: str | Callback
    shape: Shape
    max_attempts: int = 5
    timeout: float = 3.0
    _pending: list[tuple[_Event, int]] = field(default_factory=list, repr=False)
    active: bool = True

    def __repr__(self) -> str:
        target = (
            self.target
            if isinstance(self.target, str)
            else getattr(self.target, "__qualname__", "callback")
        )
        return f"Subscription({redact(str(target))!r}, shape={self.shape!r})"


class Webhooks:
    """The subscriptions of one emulated company and their delivery queue."""

    def __init__(
        self,
        realm_id: str,
        verifier_token: str,
        rng: random.Random,
        session: requests.Session | None = None,
    ) -> None:
        self.realm_id = realm_id
        self._verifier_token = verifier_token
        self._rng = rng
        self._session = session
        self._lock = threading.RLock()
        self.subscriptions: list[Subscription] = []
        #: Every attempt made, in order (for assertions).
        self.deliveries: list[WebhookDelivery] = []
        #: Batches given up on after ``max_attempts`` failures.
        self.dead_letters: list[WebhookDelivery] = []

    def subscribe(
        self,
        target: str | Callback,
        shape: Shape = "cloudevents",
        *,
        max_attempts: int = 5,
        timeout: float = 3.0,
    ) -> Subscription:
        """Send every later change to ``target`` (a URL or a callable) in ``shape``."""
        if shape not in ("cloudevents", "legacy"):
            raise ConfigurationError(f"shape must be 'cloudevents' or 'legacy', not {shape!r}")
        if not (isinstance(target, str) or callable(target)):
            raise ConfigurationError("a webhook target is a URL or a callable(body, headers)")
        subscription = Subscription(target, shape, max(1, max_attempts), timeout)
        with self._lock:
            self.subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            subscription.active = False
            subscription._pending.clear()
            if subscription in self.subscriptions:
                self.subscriptions.remove(subscription)

    @property
    def pending(self) -> int:
        """Events queued and not yet delivered, over all subscriptions."""
        with self._lock:
            return sum(len(s._pending) for s in self.subscriptions)

    def record(
        self,
        entity: str,
        record_id: str,
        operation: str,
        time: datetime,
        *,
        realm_id: str | None = None,
    ) -> None:
        """Queue one committed change (of ``realm_id``'s company, default the first) for
        every subscription: one app's webhooks carry the events of every company it is
        connected to, each naming its realm."""
        with self._lock:
            if not self.subscriptions:
                return
            event = _Event(
                str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                entity,
                record_id,
                operation,
                time,
                realm_id or self.realm_id,
            )
            for subscription in self.subscriptions:
                subscription._pending.append((event, 0))

    def clear(self) -> None:
        """Drop pending events and the delivery history (subscriptions stay)."""
        with self._lock:
            for subscription in self.subscriptions:
                subscription._pending.clear()
            self.deliveries.clear()
            self.dead_letters.clear()

    def flush(self) -> list[WebhookDelivery]:
        """Deliver everything pending; returns this flush's attempts."""
        with self._lock:
            batches: list[tuple[Subscription, list[tuple[_Event, int]]]] = []
            for subscription in self.subscriptions:
                queued, subscription._pending = subscription._pending, []
                for start in range(0, len(queued), _EVENTS_PER_DELIVERY):
                    batches.append((subscription, queued[start : start + _EVENTS_PER_DELIVERY]))
        attempts: list[WebhookDelivery] = []
        for subscription, batch in batches:
            delivery = self._deliver(subscription, batch)
            attempts.append(delivery)
            with self._lock:
                self.deliveries.append(delivery)
                if delivery.ok or not subscription.active:
                    continue
                if delivery.attempt >= subscription.max_attempts:
                    self.dead_letters.append(delivery)
                else:
                    subscription._pending[:0] = [(event, n + 1) for event, n in batch]
        return attempts

    # -- internals ---------------------------------------------------------------------------

    def _body(self, shape: Shape, events: list[_Event]) -> bytes:
        payload: Any
        if shape == "legacy":
            realms = list(dict.fromkeys(e.realm_id for e in events))
            payload = {
                "eventNotifications": [
                    {
                        "realmId": realm,
                        "dataChangeEvent": {
                            "entities": [
                                {
                                    "name": e.entity,
                                    "id": e.record_id,
                                    "operation": e.operation,
                                    "lastUpdated": _utc(e.time),
                                }
                                for e in events
                                if e.realm_id == realm
                            ]
                        },
                    }
                    for realm in realms
                ]
            }
        else:
            payload = [
                {
                    "specversion": "1.0",
                    "id": e.event_id,
                    "source": "intuit.quickbooks",
                    "type": f"qbo.{e.entity.lower()}.{_CLOUD_VERBS.get(e.operation, 'updated')}.v1",
                    "datacontenttype": "application/json",
                    "time": _utc(e.time),
                    "intuitentityid": e.record_id,
                    "intuitaccountid": e.realm_id,
                    "data": {},
                }
                for e in events
            ]
        return json.dumps(payload, separators=(",", ":")).encode("utf-8")

    def _deliver(
        self, subscription: Subscription, batch: list[tuple[_Event, int]]
    ) -> WebhookDelivery:
        body = self._body(subscription.shape, [event for event, _ in batch])
        headers = {
            "Content-Type": "application/json",
            "intuit-signature": sign(self._verifier_token, body),
        }
        attempt = max(n for _, n in batch) + 1
        target = subscription.target
        try:
            if isinstance(target, str):
                session = self._session or requests
                response = session.post(
                    target, data=body, headers=headers, timeout=subscription.timeout
                )
                status: int | None = response.status_code
            else:
                returned = target(body, dict(headers))
                status = returned if isinstance(returned, int) else 200
        except Exception as exc:  # a failing receiver must not break the emulator
            return WebhookDelivery(
                subscription,
                body,
                headers,
                False,
                None,
                redact(f"{type(exc).__name__}: {exc}"),
                attempt,
            )
        ok = status is not None and 200 <= status < 300
        return WebhookDelivery(subscription, body, headers, ok, status, None, attempt)
