"""Webhook signature, both payload shapes, deduplication and the all-in-one handler."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from erpsync.errors import ConfigurationError, InvalidRequestError, WebhookSignatureError
from erpsync.quickbooks.webhooks import (
    EventDeduplicator,
    WebhookEvent,
    handle_webhook,
    parse_webhook,
    verify_webhook,
)

TOKEN = "verify_me"
VECTOR_BODY = b'{"stuff":"5"}'
VECTOR_SIGNATURE = "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="


def sign(body: bytes, token: str = TOKEN) -> str:
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


LEGACY: dict[str, Any] = {
    "eventNotifications": [
        {
            "realmId": "1185883450",
            "dataChangeEvent": {
                "entities": [
                    {
                        "name": "Invoice",
                        "id": "142",
                        "operation": "Create",
                        "lastUpdated": "2026-11-03T20:50:24.000Z",
                    },
                    {
                        "name": "Customer",
                        "id": "58",
                        "operation": "Merge",
                        "lastUpdated": "2026-11-03T20:51:00-07:00",
                        "deletedId": "59",
                    },
                ]
            },
        },
        {
            "realmId": "2222",
            "dataChangeEvent": {"entities": [{"name": "Payment", "id": "7", "operation": "Void"}]},
        },
    ]
}

CLOUD: list[dict[str, Any]] = [
    {
        "specversion": "1.0",
        "id": "88cd52f6-9f3b-4e4a-8a3c-6c7f1e2d0a01",
        "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
        "type": "qbo.invoice.created.v1",
        "datacontenttype": "application/json",
        "time": "2026-11-03T20:50:24.000Z",
        "intuitentityid": "142",
        "intuitaccountid": "1185883450",
        "data": {},
    },
    {
        "specversion": "1.0",
        "id": "e2",
        "type": "qbo.journalentry.deleted.v1",
        "time": "2026-11-03T21:00:00Z",
        "intuitentityid": "9",
        "intuitaccountid": "1185883450",
    },
    {
        "specversion": "1.0",
        "id": "e3",
        "type": "qbo.purchaseorder.updated.v1",
        "intuitentityid": "31",
        "intuitaccountid": "1185883450",
    },
    {
        "specversion": "1.0",
        "id": "e4",
        "type": "qbo.invoice.emailed.v1",
        "intuitentityid": "142",
        "intuitaccountid": "1185883450",
        "time": "not a time",
    },
    {
        "specversion": "1.0",
        "id": "e5",
        "type": "qbo.bill.voided.v1",
        "intuitentityid": 12,
        "intuitaccountid": "1185883450",
    },
]


# -- signature --------------------------------------------------------------------------


def test_the_published_vector_verifies() -> None:
    verify_webhook(VECTOR_BODY, VECTOR_SIGNATURE, TOKEN)
    assert sign(VECTOR_BODY) == VECTOR_SIGNATURE
    verify_webhook(bytearray(VECTOR_BODY), f"  {VECTOR_SIGNATURE}\n", TOKEN)


@pytest.mark.parametrize(
    ("body", "signature", "token"),
    [
        (b'{"stuff":"6"}', VECTOR_SIGNATURE, TOKEN),  # body changed
        (b'{"stuff": "5"}', VECTOR_SIGNATURE, TOKEN),  # re-serialised
        (VECTOR_BODY, VECTOR_SIGNATURE, "verify_you"),  # other token
        (VECTOR_BODY, sign(VECTOR_BODY, "other"), TOKEN),
        (VECTOR_BODY, VECTOR_SIGNATURE[:-4] + "AAA=", TOKEN),
        (VECTOR_BODY, "", TOKEN),
        (VECTOR_BODY, "   ", TOKEN),
        (VECTOR_BODY, None, TOKEN),
        (VECTOR_BODY, "not base64!!", TOKEN),
        (VECTOR_BODY, "abc", TOKEN),  # bad padding
        (VECTOR_BODY, "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA", TOKEN),
        (VECTOR_BODY, "é", TOKEN),
        (VECTOR_BODY, base64.b64encode(b"short").decode(), TOKEN),
    ],
)
def test_bad_signatures_are_refused(body: bytes, signature: Any, token: str) -> None:
    with pytest.raises(WebhookSignatureError):
        verify_webhook(body, signature, token)


def test_verify_needs_a_token_and_bytes() -> None:
    with pytest.raises(ConfigurationError):
        verify_webhook(VECTOR_BODY, VECTOR_SIGNATURE, "")
    with pytest.raises(ConfigurationError):
        verify_webhook('{"stuff":"5"}', VECTOR_SIGNATURE, TOKEN)  # type: ignore[arg-type]


def test_signature_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify_webhook(VECTOR_BODY, VECTOR_SIGNATURE, TOKEN)
    assert len(calls) == 1


# -- parsing ----------------------------------------------------------------------------


def test_legacy_payload() -> None:
    events = parse_webhook(json.dumps(LEGACY).encode())
    assert [(e.realm_id, e.entity, e.entity_id, e.operation) for e in events] == [
        ("1185883450", "Invoice", "142", "Create"),
        ("1185883450", "Customer", "58", "Merge"),
        ("2222", "Payment", "7", "Void"),
    ]
    assert events[0].occurred_at == datetime(2026, 11, 3, 20, 50, 24, tzinfo=UTC)
    assert events[1].occurred_at is not None
    assert events[1].occurred_at.utcoffset() == timedelta(hours=-7)
    assert events[2].occurred_at is None
    assert events[1].raw["deletedId"] == "59"
    assert events[0].raw["realmId"] == "1185883450"
    assert len({e.event_id for e in events}) == 3


def test_legacy_event_ids_are_stable_and_distinguish_changes() -> None:
    first = parse_webhook(json.dumps(LEGACY).encode())
    again = parse_webhook(json.dumps(LEGACY, indent=2).encode())  # a redelivery
    assert [e.event_id for e in first] == [e.event_id for e in again]
    changed = json.loads(json.dumps(LEGACY))
    changed["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["lastUpdated"] = (
        "2026-11-03T20:59:00.000Z"
    )
    assert parse_webhook(json.dumps(changed).encode())[0].event_id != first[0].event_id


def test_cloudevents_payload() -> None:
    events = parse_webhook(json.dumps(CLOUD).encode())
    assert [(e.event_id, e.entity, e.entity_id, e.operation) for e in events] == [
        ("88cd52f6-9f3b-4e4a-8a3c-6c7f1e2d0a01", "Invoice", "142", "Create"),
        ("e2", "JournalEntry", "9", "Delete"),
        ("e3", "PurchaseOrder", "31", "Update"),
        ("e4", "Invoice", "142", "Emailed"),
        ("e5", "Bill", "12", "Void"),
    ]
    assert all(e.realm_id == "1185883450" for e in events)
    assert events[0].occurred_at == datetime(2026, 11, 3, 20, 50, 24, tzinfo=UTC)
    assert events[2].occurred_at is None and events[3].occurred_at is None
    assert events[0].raw["source"].startswith("intuit.")


def test_cloudevents_entity_names_from_data_and_unknown_ones() -> None:
    body = [
        {
            "id": "x1",
            "type": "qbo.creditmemo.merged.v2",
            "intuitentityid": "1",
            "intuitaccountid": "5",
            "data": {"name": "CreditMemo"},
        },
        {"id": "x2", "type": "qbo.widget.restored", "intuitentityid": "1", "intuitaccountid": "5"},
    ]
    a, b = parse_webhook(json.dumps(body))
    assert (a.entity, a.operation) == ("CreditMemo", "Merge")
    assert (b.entity, b.operation) == ("Widget", "Restored")


def test_a_single_cloudevent_object_and_an_empty_delivery() -> None:
    (event,) = parse_webhook(json.dumps(CLOUD[0]).encode())
    assert event.entity == "Invoice"
    assert parse_webhook(b"[]") == []
    assert parse_webhook(b'{"eventNotifications": []}') == []


def test_a_hundred_events() -> None:
    body = [{**CLOUD[0], "id": f"id-{i}", "intuitentityid": str(i)} for i in range(100)]
    events = parse_webhook(json.dumps(body).encode())
    assert len(events) == 100
    assert events[99].entity_id == "99"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"{not json", None),
        (b"\xff\xfe", None),
        (b"42", None),
        (b'{"something": "else"}', None),
        (b'{"eventNotifications": {}}', "eventNotifications"),
        (b'{"eventNotifications": [5]}', "eventNotifications[0]"),
        (
            b'{"eventNotifications": [{"dataChangeEvent": {"entities": []}}]}',
            "eventNotifications[0].realmId",
        ),
        (
            b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": []}]}',
            "eventNotifications[0].dataChangeEvent",
        ),
        (
            b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {}}]}',
            "eventNotifications[0].dataChangeEvent.entities",
        ),
        (
            b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": '
            b'{"entities": [{"name": "Invoice", "id": "1"}]}}]}',
            "eventNotifications[0].dataChangeEvent.entities[0].operation",
        ),
        (b"[1]", "[0]"),
        (b'[{"type": "qbo.invoice.created.v1"}]', "[0].id"),
        (b'[{"id": "1", "type": "invoice.created", "intuitaccountid": "1"}]', "[0].type"),
        (b'[{"id": "1", "type": "qbo.invoice.created.v1", "intuitentityid": "1"}]', None),
        (b'[{"id": "1", "type": "qbo..created.v1"}]', "[0].type"),
    ],
)
def test_malformed_bodies_raise_invalid_request(body: bytes, where: str | None) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_webhook(body)
    if where is not None:
        assert info.value.field == where


def test_events_are_frozen_and_hashable() -> None:
    (event,) = parse_webhook(json.dumps(CLOUD[:1]).encode())
    with pytest.raises(AttributeError):
        event.entity = "Bill"  # type: ignore[misc]
    assert len({event, event}) == 1
    assert "raw" not in repr(event)


# -- deduplication ----------------------------------------------------------------------


def event(event_id: str) -> WebhookEvent:
    return WebhookEvent(event_id, "1", "Invoice", "1", "Create", None)


def test_deduplicator_drops_repeats_within_and_across_deliveries() -> None:
    dedupe = EventDeduplicator()
    assert not dedupe.seen("a")
    assert dedupe.seen("a")
    batch = [event("b"), event("a"), event("c"), event("b")]
    assert [e.event_id for e in dedupe.filter(batch)] == ["b", "c"]
    assert dedupe.filter(batch) == []
    assert len(dedupe) == 3


def test_deduplicator_forgets_after_the_ttl() -> None:
    now = [0.0]
    dedupe = EventDeduplicator(ttl=timedelta(hours=1), clock=lambda: now[0])
    dedupe.seen("a")
    now[0] = 1800
    dedupe.seen("b")
    now[0] = 3599
    assert dedupe.seen("a")
    now[0] = 3601
    assert not dedupe.seen("a")  # expired, now remembered afresh
    assert dedupe.seen("b")
    now[0] = 5401
    assert len(dedupe) == 1  # only the re-remembered "a" is left


def test_deduplicator_memory_is_bounded() -> None:
    dedupe = EventDeduplicator(capacity=3)
    for name in "abcd":
        dedupe.seen(name)
    assert len(dedupe) == 3
    assert not dedupe.seen("a")  # the oldest was evicted
    assert dedupe.seen("d")


def test_deduplicator_forget_lets_a_redelivery_through() -> None:
    dedupe = EventDeduplicator()
    dedupe.seen("a")
    dedupe.forget("a")
    dedupe.forget("never-seen")
    assert not dedupe.seen("a")


def test_deduplicator_with_a_persistent_record() -> None:
    database: set[str] = {"old"}
    asked: list[str] = []

    def is_new(event_id: str) -> bool:
        asked.append(event_id)
        if event_id in database:
            return False
        database.add(event_id)
        return True

    dedupe = EventDeduplicator(is_new=is_new)
    assert dedupe.seen("old")  # seen by an earlier process
    assert not dedupe.seen("new")
    assert dedupe.seen("new")
    assert asked == ["old", "new"]  # the memory saved the third round trip


def test_deduplicator_is_thread_safe() -> None:
    dedupe = EventDeduplicator(capacity=100_000)
    fresh: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait(5)
        for i in range(2000):
            if not dedupe.seen(f"id-{i}"):
                with lock:
                    fresh.append(f"id-{i}")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(fresh) == sorted(f"id-{i}" for i in range(2000))


def test_deduplicator_arguments_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        EventDeduplicator(capacity=0)
    with pytest.raises(ConfigurationError):
        EventDeduplicator(ttl=timedelta(0))


# -- handle_webhook ---------------------------------------------------------------------


def test_handle_webhook_verifies_parses_and_dedupes() -> None:
    body = json.dumps(CLOUD).encode()
    headers = {"Content-Type": "application/json", "Intuit-Signature": sign(body)}
    dedupe = EventDeduplicator()
    events = handle_webhook(body, headers, TOKEN, dedupe)
    assert len(events) == 5
    assert handle_webhook(body, headers, TOKEN, dedupe) == []  # a redelivery
    assert len(handle_webhook(body, headers, TOKEN)) == 5  # no dedupe asked for


def test_handle_webhook_header_lookup_is_case_insensitive() -> None:
    body = json.dumps(LEGACY).encode()
    for name in ("intuit-signature", "INTUIT-SIGNATURE", "Intuit-Signature"):
        assert len(handle_webhook(body, [(name, sign(body))], TOKEN)) == 3
    assert len(handle_webhook(body, [(b"intuit-signature", sign(body).encode())], TOKEN)) == 3  # type: ignore[list-item]


def test_handle_webhook_refuses_before_parsing() -> None:
    body = b"{not even json"
    with pytest.raises(WebhookSignatureError):
        handle_webhook(body, {}, TOKEN)
    with pytest.raises(WebhookSignatureError):
        handle_webhook(body, {"intuit-signature": sign(b"other")}, TOKEN)
    with pytest.raises(InvalidRequestError):
        handle_webhook(body, {"intuit-signature": sign(body)}, TOKEN)
