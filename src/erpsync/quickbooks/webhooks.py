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
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta

from erpsync.errors import ConfigurationError, WebhookSignatureError
from erpsync.quickbooks.webhook_events import WebhookEvent, parse_webhook
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
