"""Webhook-driven invoice upserts on both emulators, and QuickBooks webhook intake."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.backend import AccountingBackend
from erpsync.errors import InvalidRequestError, MappingError, WebhookSignatureError
from erpsync.mapping.fields import FieldMapping
from erpsync.store import SQLiteSyncStore
from erpsync.sync.webhooks import (
    InvoiceUpsertHandler,
    SourceInvoice,
    handle_quickbooks,
    invoice_from_source,
)
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite
from erpsync.testing.quickbooks import FakeQuickBooks

INVOICE_ID = "d23458e0-c9a0-5538-8e81-251835b9f57a"
EVENT = {
    "id": "f4988a54-effe-49a2-9a07-8adfedb7541c",
    "type": "invoice.finalized",
    "properties": {
        "invoice_id": INVOICE_ID,
        "customer_id": "e0ac4251-74f7-4040-a1bd-9d0ef0fbc5bc",
        "invoice_finalized_date": "2024-10-09T17:52:27.371Z",
    },
}


@dataclass
class Billing:
    """A billing platform: its invoices, products and customers, as the API returns them."""

    invoices: dict[str, dict[str, Any]]
    products: dict[str, dict[str, Any]]
    fetched: list[str]

    def fetch(self, invoice_id: str) -> dict[str, Any]:
        self.fetched.append(invoice_id)
        return self.invoices[invoice_id]


@dataclass
class Setup:
    fake: Any
    backend: AccountingBackend
    billing: Billing
    handler: InvoiceUpsertHandler
    store: SQLiteSyncStore
    items: tuple[str, str]


@pytest.fixture(params=["netsuite", "quickbooks"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    clock = FakeClock()
    fake: Any = (
        FakeNetSuite(clock=clock) if request.param == "netsuite" else FakeQuickBooks(clock=clock)
    )
    with fake, SQLiteSyncStore(tmp_path / "sync.db") as store:
        backend = fake.backend(rng=random.Random(7))  # governance and timing: the emulator's
        customer_id = next(iter(backend.iter_customers())).id
        items = [i.id for i in backend.iter_items()][:2]
        billing = Billing(
            invoices={
                INVOICE_ID: {
                    "id": INVOICE_ID,
                    "issued_at": "2024-10-09T00:00:00Z",
                    "total": 130.5,
                    "customer": {
                        "id": "e0ac4251",
                        "name": "Acme",
                        "custom_fields": {"netsuite_internal_customer_id": customer_id},
                    },
                    "line_items": [
                        {"name": "API calls", "total": 100.5, "product_id": "p-api"},
                        {
                            "name": "Storage",
                            "total": 30,
                            "quantity": 3,
                            "unit_price": 10,
                            "product_id": "p-sto",
                        },
                        {"name": "Free tier", "total": 0, "product_id": "p-api"},
                    ],
                }
            },
            products={
                "p-api": {
                    "id": "p-api",
                    "name": "API",
                    "custom_fields": {"netsuite_internal_item_id": items[0]},
                },
                "p-sto": {
                    "id": "p-sto",
                    "custom_fields": {"netsuite_internal_item_id": f"{items[1]},{items[0]}"},
                },
            },
            fetched=[],
        )
        handler = InvoiceUpsertHandler(
            backend, store, billing.fetch, mapping=FieldMapping(), products=billing.products
        )
        yield Setup(fake, backend, billing, handler, store, (str(items[0]), str(items[1])))


def test_a_finalized_invoice_is_upserted_once(setup: Setup) -> None:
    result = setup.handler.handle(EVENT)

    assert result.ok and result.action == "created"
    written = setup.backend.find_invoice(INVOICE_ID)
    assert written is not None and written.id == result.invoice.id  # type: ignore[union-attr]
    assert written.total == Decimal("130.50")
    assert [(line.amount, line.item.id if line.item else None) for line in written.lines] == [
        (Decimal("100.50"), setup.items[0]),
        (Decimal("30.00"), setup.items[1]),
    ]

    requests = setup.fake.stats.requests
    again = setup.handler.handle(json.dumps(EVENT).encode())
    assert again.action == "duplicate"
    assert setup.fake.stats.requests == requests
    assert setup.billing.fetched == [INVOICE_ID]


def test_another_event_for_the_same_invoice_updates_or_leaves_it(setup: Setup) -> None:
    setup.handler.handle(EVENT)
    same = setup.handler.handle({**EVENT, "id": "evt-2"})
    assert same.action == "unchanged"

    source = setup.billing.invoices[INVOICE_ID]
    source["line_items"][0]["total"] = 200.5
    source["total"] = 230.5
    changed = setup.handler.handle({**EVENT, "id": "evt-3"})
    assert changed.action == "updated"
    written = setup.backend.find_invoice(INVOICE_ID)
    assert written is not None and written.total == Decimal("230.50")
    assert len([i for i in setup.backend.iter_invoices() if i.external_id == INVOICE_ID]) == 1


def test_unknown_types_and_zero_totals_are_ignored(setup: Setup) -> None:
    other = setup.handler.handle({**EVENT, "type": "invoice.voided"})
    assert other.action == "ignored" and "invoice.voided" in (other.reason or "")
    assert setup.billing.fetched == []

    source = setup.billing.invoices[INVOICE_ID]
    source["total"] = 0
    zero = setup.handler.handle(EVENT)
    assert zero.action == "ignored" and "zero" in (zero.reason or "")
    assert setup.backend.find_invoice(INVOICE_ID) is None


def test_a_failed_event_is_retried_on_redelivery(setup: Setup) -> None:
    del setup.billing.products["p-sto"]["custom_fields"]
    failed = setup.handler.handle(EVENT)
    assert not failed.ok and isinstance(failed.error, MappingError)
    assert "netsuite_internal_item_id" in (failed.reason or "")
    assert setup.backend.find_invoice(INVOICE_ID) is None

    setup.billing.products["p-sto"]["custom_fields"] = {"netsuite_internal_item_id": setup.items[1]}
    assert setup.handler.handle(EVENT).action == "created"


def test_a_lost_response_does_not_make_a_second_invoice(setup: Setup) -> None:
    setup.fake.inject("lose_response", times=1, match=lambda r: r.method in ("POST", "PUT"))
    result = setup.handler.handle(EVENT)
    if not result.ok:  # the backend gave up: the sender redelivers
        result = setup.handler.handle(EVENT)
    assert result.action == "created"
    assert len([i for i in setup.backend.iter_invoices() if i.external_id == INVOICE_ID]) == 1


def test_malformed_events_are_invalid_requests(setup: Setup) -> None:
    with pytest.raises(InvalidRequestError):
        setup.handler.handle(b"not json")
    with pytest.raises(InvalidRequestError):
        setup.handler.handle({"type": "invoice.finalized"})
    with pytest.raises(InvalidRequestError):
        setup.handler.handle({"id": "e", "type": "invoice.finalized", "properties": {}})


# -- the transform (no ERP) ---------------------------------------------------------------


def test_source_invoices_in_cents_and_export_rows() -> None:
    source = SourceInvoice.from_mapping(
        {
            "id": "inv/1",
            "customer_id": "c1",
            "netsuite_internal_customer_id": "77",
            "end_timestamp": "2024-10-01T00:00:00Z",
            "credit_type": {"name": "USD (cents)"},
            "line_items": [
                {
                    "name": "Seats",
                    "total": 12345,
                    "product": {"id": "p", "netsuite_internal_item_id": 5},
                }
            ],
        }
    )
    assert source.total == Decimal("123.45") and source.currency == "USD"
    invoice = invoice_from_source(source, FieldMapping(), external_id_prefix="mtr-")
    assert invoice is not None
    assert invoice.external_id == "mtr-inv_2F1"
    assert invoice.customer.id == "77" and invoice.lines[0].item is not None
    assert invoice.lines[0].item.id == "5"


def test_source_invoice_problems_name_the_invoice() -> None:
    with pytest.raises(MappingError, match="no date"):
        SourceInvoice.from_mapping({"id": "i1", "customer_id": "c", "line_items": []})
    with pytest.raises(MappingError, match="not a number"):
        SourceInvoice.from_mapping(
            {
                "id": "i1",
                "customer_id": "c",
                "date": "2024-01-01",
                "line_items": [{"total": "lots"}],
            }
        )
    with pytest.raises(MappingError, match="p9"):
        SourceInvoice.from_mapping(
            {
                "id": "i1",
                "customer_id": "c",
                "date": "2024-01-01",
                "line_items": [{"total": 1, "product_id": "p9"}],
            }
        )


# -- QuickBooks webhooks ------------------------------------------------------------------


def _signed(body: bytes, token: str) -> dict[str, str]:
    digest = hmac.new(token.encode(), body, hashlib.sha256).digest()
    return {"intuit-signature": base64.b64encode(digest).decode()}


def test_quickbooks_deliveries_are_verified_and_deduplicated_across_restarts(
    tmp_path: Path,
) -> None:
    token = "verifier-token-123"
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "evt-1",
                "type": "qbo.invoice.created.v1",
                "time": "2026-11-01T00:00:00Z",
                "intuitentityid": "42",
                "intuitaccountid": "9130",
                "data": {},
            }
        ]
    ).encode()

    with SQLiteSyncStore(tmp_path / "s.db") as store, pytest.raises(WebhookSignatureError):
        handle_quickbooks(body, {"intuit-signature": "AAAA"}, token, store=store)

    with SQLiteSyncStore(tmp_path / "s.db") as store:
        (event,) = handle_quickbooks(body, _signed(body, token), token, store=store)
        assert (event.entity, event.entity_id, event.operation) == ("Invoice", "42", "Create")
        assert handle_quickbooks(body, _signed(body, token), token, store=store) == []
    with SQLiteSyncStore(tmp_path / "s.db") as restarted:
        assert handle_quickbooks(body, _signed(body, token), token, store=restarted) == []


def test_a_failing_fetch_invoice_is_reported_with_the_event_and_record(setup: Setup) -> None:
    def missing(invoice_id: str) -> dict[str, Any]:
        raise KeyError(invoice_id)

    handler = InvoiceUpsertHandler(setup.backend, setup.store, missing)
    result = handler.handle(EVENT)
    assert result.action == "failed"
    assert result.error is not None and isinstance(result.error.__cause__, KeyError)
    assert INVOICE_ID in str(result.error) and "fetch_invoice" in str(result.error)
    # The event was not swallowed: a redelivery with a working fetch succeeds.
    assert setup.handler.handle(EVENT).action == "created"


def _cloud_event(event_id: str, realm: str) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": event_id, "type": "qbo.invoice.created.v1",
        "time": "2026-11-01T00:00:00Z", "intuitentityid": "42", "intuitaccountid": realm,
        "data": {},
    }  # fmt: skip


def test_quickbooks_event_ids_are_remembered_per_realm(tmp_path: Path) -> None:
    """Two companies sharing one store: the same event id from realm B is new, and each
    realm's entry is in its own tenant (never the default one)."""
    token = "verifier-token-123"
    first = json.dumps([_cloud_event("evt-7", "1111")]).encode()
    other_realm = json.dumps([_cloud_event("evt-7", "2222")]).encode()
    with SQLiteSyncStore(tmp_path / "s.db") as store:
        assert len(handle_quickbooks(first, _signed(first, token), token, store=store)) == 1
        (event,) = handle_quickbooks(other_realm, _signed(other_realm, token), token, store=store)
        assert event.realm_id == "2222"
        assert handle_quickbooks(first, _signed(first, token), token, store=store) == []
        assert handle_quickbooks(other_realm, _signed(other_realm, token), token, store=store) == []
        tenants = sorted(e.tenant for e in store.iter_entries("QuickBooks", "webhook-event"))
        assert tenants == ["1111", "2222"]


def test_a_quickbooks_event_recorded_before_realm_scoping_is_not_replayed(
    tmp_path: Path,
) -> None:
    token = "verifier-token-123"
    body = json.dumps([_cloud_event("evt-old", "1111")]).encode()
    with SQLiteSyncStore(tmp_path / "s.db") as store:
        # What an earlier version wrote: the event id under the default tenant.
        claim = store.claim("QuickBooks", "webhook-event", "evt-old", owner="old", lease_seconds=60)
        assert claim is not None
        store.mark_written(claim, "evt-old")
        assert handle_quickbooks(body, _signed(body, token), token, store=store) == []
