"""QuickBooksBackend end to end against FakeQuickBooks (in-process, on a fake clock)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from erpsync.backend import AmbiguousMatchError
from erpsync.errors import (
    ConfigurationError,
    DuplicateError,
    NotFoundError,
    ServiceError,
    UnsupportedOperationError,
)
from erpsync.http import RetryPolicy
from erpsync.models import (
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    ItemReceipt,
    ItemReceiptLine,
    Payment,
    PaymentApplication,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Ref,
    Vendor,
)
from erpsync.quickbooks.backend import QuickBooksBackend, doc_number_key
from erpsync.testing.core.emulator import FaultPlan, clock_datetime
from erpsync.testing.quickbooks import FakeQuickBooks


def invoice(key: str | None = "job-1042", amount: str = "1250.00", **changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "external_id": key,
        "customer": Ref(id="1"),
        "date": date(2026, 11, 3),
        "lines": [InvoiceLine(description="Job", amount=Decimal(amount), item=Ref(id="1"))],
    }
    fields.update(changes)
    return Invoice(**fields)


def set_preferences(backend: QuickBooksBackend, **sections: dict[str, Any]) -> None:
    prefs = backend.client.preferences()
    backend.client.update(
        "Preferences", {"Id": prefs["Id"], "SyncToken": prefs["SyncToken"], **sections}
    )
    backend.preferences(refresh=True)


def posts(fake: FakeQuickBooks, suffix: str) -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and r.path.endswith(suffix))


# -- capabilities -------------------------------------------------------------------------


def test_capabilities_say_what_quickbooks_can_do(backend):
    caps = backend.capabilities
    assert backend.name == "QuickBooks"
    assert caps.batch_writes and caps.change_data_capture and caps.invoice_pdf
    assert caps.purchase_orders and caps.create_purchase_orders and caps.deleted_records
    assert not caps.item_receipts
    assert (caps.max_concurrency, caps.max_batch_size) == (10, 30)
    receipt = ItemReceipt(
        purchase_order_id="1",
        date=date(2026, 11, 3),
        lines=[ItemReceiptLine(line_id="1", quantity=Decimal(1))],
    )
    with pytest.raises(UnsupportedOperationError, match="no item receipt"):
        backend.receive_purchase_order(receipt)


# -- names --------------------------------------------------------------------------------


def test_find_by_name_exact_then_case_insensitive(backend):
    assert backend.find_customer("Amy's Bird Sanctuary").id == "1"
    assert backend.find_customer("amy's bird SANCTUARY").id == "1"
    assert backend.find_customer("Nobody") is None
    assert backend.find_vendor("books by bessie").id == "1"
    assert backend.find_item("Rock Fountain").kind == "inventory"
    assert backend.get_customer("2").name == "Bill's Windsurf Shop"
    with pytest.raises(NotFoundError):
        backend.get_customer("999")


def test_names_with_quotes_and_backslashes_are_found(backend):
    name = "O'Brien \\ Sons 'Ltd'"
    created = backend.create_customer(Customer(name=name))
    assert backend.find_customer(name).id == created.id
    assert backend.find_customer(name.upper()).id == created.id


def test_ambiguous_case_insensitive_matches_raise(backend, monkeypatch):
    # QuickBooks refuses names that differ only in case, but books migrated from
    # QuickBooks Desktop can hold them; the lookup must not pick one at random.
    rows = [
        {"Id": "7", "Name": "WIDGET", "Type": "Service"},
        {"Id": "8", "Name": "widget", "Type": "Service"},
    ]
    monkeypatch.setattr(backend.client, "iter_query", lambda query, **kw: iter(rows))
    with pytest.raises(AmbiguousMatchError) as caught:
        backend.find_item("Widget")
    assert [c.id for c in caught.value.candidates] == ["7", "8"]
    assert backend.find_item("widget").id == "8"  # an exact match wins


def test_create_customer_is_idempotent_by_external_id(backend, fake):
    first = backend.create_customer(
        Customer(name="Acme Rockets", external_id="cust-1", email="ap@acme.test")
    )
    again = backend.create_customer(Customer(name="Acme Rockets", external_id="cust-1"))
    assert again.id == first.id
    assert again.external_id == "cust-1"
    assert sum(1 for c in fake.records("Customer") if c["DisplayName"] == "Acme Rockets") == 1
    with pytest.raises(DuplicateError) as caught:
        backend.create_customer(Customer(name="Acme Rockets", external_id="cust-2"))
    assert caught.value.existing_id == first.id
    with pytest.raises(DuplicateError):
        backend.create_customer(Customer(name="Cool Cars"))


def test_vendor_and_item_names_are_their_keys(backend, fake):
    vendor = backend.create_vendor(Vendor(name="Parts Inc", external_id="v-1"))
    assert backend.create_vendor(Vendor(name="Parts Inc", external_id="v-1")).id == vendor.id
    with pytest.raises(DuplicateError):
        backend.create_vendor(Vendor(name="Parts Inc"))
    item = backend.create_item(Item(name="Machining", kind="service", external_id="i-1"))
    assert item.kind == "service" and item.external_id == "i-1"
    assert (
        backend.create_item(Item(name="Machining", kind="service", external_id="i-1")).id == item.id
    )
    assert fake.records("Item")[-1]["IncomeAccountRef"]["value"] == "1"  # the first income account


def test_foreign_currency_parties_need_multicurrency(backend, fake):
    sent = len(fake.requests)
    with pytest.raises(ConfigurationError, match="multicurrency"):
        backend.create_customer(Customer(name="Euro GmbH", currency="EUR"))
    assert not [r for r in fake.requests[sent:] if r.method == "POST"]


def test_iterators_filter_by_modified_since(backend, clock):
    clock.advance(60)
    cutoff = clock_datetime(clock)
    clock.advance(60)
    backend.create_customer(Customer(name="Late Co"))
    backend.create_vendor(Vendor(name="Late Vendor"))
    assert [c.name for c in backend.iter_customers(modified_since=cutoff)] == ["Late Co"]
    assert [v.name for v in backend.iter_vendors(modified_since=cutoff)] == ["Late Vendor"]
    assert len(list(backend.iter_customers())) == 5
    assert len(list(backend.iter_items())) == 4  # the seed: three items and Pest Control
    assert list(backend.iter_items(modified_since=cutoff)) == []


# -- invoices -----------------------------------------------------------------------------


def test_the_default_layout_keeps_the_external_id_in_the_private_note(backend):
    assert backend.external_id_field == "PrivateNote"


def test_create_invoice_is_idempotent_and_findable(backend, fake):
    created = backend.create_invoice(invoice())
    assert (created.number, created.external_id, created.total) == (
        "1001",  # QuickBooks' own sequence: the external id is not the number
        "job-1042",
        Decimal("1250.00"),
    )
    again = backend.create_invoice(invoice())
    assert again.id == created.id
    assert len(fake.records("Invoice")) == 1
    found = backend.find_invoice("job-1042")
    assert found is not None and found.id == created.id
    assert backend.find_invoice("job-9999") is None
    assert fake.records("Invoice")[0]["PrivateNote"] == "[erpsync external_id=job-1042]"


def test_long_external_ids_use_a_digest_doc_number(fake, connect):
    backend = connect(fake, external_id_field="DocNumber")
    key = "order-2026-11-03-customer-58-line-0001"
    created = backend.create_invoice(invoice(key, memo="Rush job"))
    assert created.number == doc_number_key(key)
    assert len(created.number) == 21 and created.number.startswith("~")
    assert created.external_id == key
    assert created.memo == "Rush job"
    assert backend.find_invoice(key).id == created.id
    assert backend.create_invoice(invoice(key)).id == created.id
    assert len(fake.records("Invoice")) == 1


def test_docnumber_layout_refuses_a_different_number(fake, connect):
    backend = connect(fake, external_id_field="DocNumber")
    with pytest.raises(ConfigurationError, match="DocNumber"):
        backend.create_invoice(invoice(number="INV-1"))
    assert not fake.records("Invoice")


def test_an_invoice_numbered_by_hand_before_is_recognised(fake, connect):
    """DocNumber layout: an invoice whose number is the key and that has no marker."""
    backend = connect(fake, external_id_field="DocNumber")
    legacy = backend.client.create(
        "Invoice",
        {
            "CustomerRef": {"value": "1"},
            "DocNumber": "job-7",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": Decimal("5"),
                    "SalesItemLineDetail": {},
                }
            ],
        },
    )
    assert backend.create_invoice(invoice("job-7")).id == legacy["Id"]
    assert len(fake.records("Invoice")) == 1


def test_the_private_note_layout_ignores_a_doc_number_equal_to_the_key(backend, fake):
    """In the default layout a hand-typed number is just a number, never a key."""
    backend.client.create(
        "Invoice",
        {
            "CustomerRef": {"value": "1"},
            "TxnDate": "2026-11-03",
            "DocNumber": "job-7",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": Decimal("5"),
                    "SalesItemLineDetail": {},
                }
            ],
        },
    )
    made = backend.create_invoice(invoice("job-7"))
    assert made.external_id == "job-7" and made.number == "1001"
    assert len(fake.records("Invoice")) == 2


def test_an_invoice_keeps_both_its_number_and_its_external_id(backend, fake):
    """The AR-sync case of seed 002: a human number AND an external id (the DocNumber
    layout refuses this)."""
    made = backend.create_invoice(invoice("ar-2026-0042", number="INV-2026-0042"))
    assert (made.number, made.external_id) == ("INV-2026-0042", "ar-2026-0042")
    (stored,) = fake.records("Invoice")
    assert stored["DocNumber"] == "INV-2026-0042"
    assert stored["PrivateNote"] == "[erpsync external_id=ar-2026-0042]"
    again = backend.create_invoices([invoice("ar-2026-0042", number="INV-2026-0042")])
    assert again.counts == {"created": 0, "existed": 1, "failed": 0}
    assert again[0].record.number == "INV-2026-0042"


def test_privatenote_layout_keeps_numbers_human(fake, connect):
    qb = connect(fake, external_id_field="PrivateNote")
    first = qb.create_invoice(invoice("job-1", number="INV-100"))
    auto = qb.create_invoice(invoice("job-2"))
    assert (first.number, first.external_id) == ("INV-100", "job-1")
    assert auto.number == "1001"  # QuickBooks' own sequence
    assert qb.create_invoice(invoice("job-1", number="INV-100")).id == first.id
    assert qb.find_invoice("job-2").id == auto.id
    assert qb.find_invoice("job-3") is None
    assert len(fake.records("Invoice")) == 2


def test_custom_transaction_numbers_use_the_numbering_rule(fake, connect):
    qb = connect(fake, numbering=lambda inv: f"XOM-{inv.external_id}")
    set_preferences(qb, SalesFormsPrefs={"CustomTxnNumbers": True})
    created = qb.create_invoice(invoice("77"))
    assert created.number == "XOM-77"
    assert qb.create_invoice(invoice("78", number="HAND-1")).number == "HAND-1"  # given wins
    bulk = qb.create_invoices([invoice(f"b-{i}", "10.00") for i in range(3)])
    assert [o.record.number for o in bulk.created] == ["XOM-b-0", "XOM-b-1", "XOM-b-2"]
    assert qb.create_invoice(invoice(None)).number == "XOM-None"  # no key: the rule still runs


def test_custom_transaction_numbers_apply_in_the_docnumber_layout_too(fake, connect):
    """There, an invoice without an external id (hence without a number) needs the rule;
    one with an external id is numbered by it."""
    qb = connect(fake, external_id_field="DocNumber", numbering=lambda inv: "RULE-1")
    set_preferences(qb, SalesFormsPrefs={"CustomTxnNumbers": True})
    assert qb.create_invoice(invoice(None)).number == "RULE-1"
    assert qb.create_invoice(invoice("k-1")).number == "k-1"
    plain = connect(fake, external_id_field="DocNumber")
    plain.preferences(refresh=True)
    with pytest.warns(UserWarning, match="without a number"):
        assert plain.create_invoice(invoice(None)).number is None


def test_custom_transaction_numbers_without_a_rule_warn_in_bulk(fake, connect, caplog):
    qb = connect(fake)
    set_preferences(qb, SalesFormsPrefs={"CustomTxnNumbers": True})
    with (
        caplog.at_level(logging.WARNING, logger="erpsync.quickbooks"),
        pytest.warns(UserWarning, match="without a number"),
    ):
        result = qb.create_invoices([invoice(f"w-{i}", "10.00") for i in range(3)])
    assert result.counts["created"] == 3
    assert [o.record.number for o in result.created] == [None, None, None]
    assert caplog.text.count("custom transaction numbers") == 1  # logged once, not per invoice


def test_custom_transaction_numbers_without_a_rule_warn(fake, connect, caplog):
    qb = connect(fake)
    set_preferences(qb, SalesFormsPrefs={"CustomTxnNumbers": True})
    with (
        caplog.at_level(logging.WARNING, logger="erpsync.quickbooks"),
        pytest.warns(UserWarning, match="without a number"),
    ):
        created = qb.create_invoice(invoice("78"))
    assert created.number is None
    assert "Custom" in caplog.text or "custom transaction numbers" in caplog.text
    set_preferences(qb, SalesFormsPrefs={"CustomTxnNumbers": False})
    assert qb.create_invoice(invoice("79")).number == "1001"


def test_currency_mismatches_fail_before_the_write(backend, fake):
    sent = len(fake.requests)
    with pytest.raises(ConfigurationError, match="Advanced > Currency"):
        backend.create_invoice(invoice(currency="EUR"))
    assert not [r for r in fake.requests[sent:] if r.method == "POST"]
    set_preferences(backend, CurrencyPrefs={"MultiCurrencyEnabled": True})
    euro = backend.create_customer(Customer(name="Euro GmbH", currency="EUR"))
    sent = len(fake.requests)
    with pytest.raises(ConfigurationError, match=r"customer .* is in EUR") as caught:
        backend.create_invoice(invoice(customer=Ref(id=euro.id)))
    assert "Currency" in str(caught.value)
    assert not [r for r in fake.requests[sent:] if r.method == "POST"]
    created = backend.create_invoice(invoice("eur-1", customer=Ref(id=euro.id), currency="EUR"))
    assert created.currency == "EUR"


def test_a_company_in_another_home_currency_refuses_usd_invoices(backend, fake):
    fake.company.preferences()["CurrencyPrefs"]["HomeCurrency"] = {"value": "HKD"}
    backend.preferences(refresh=True)
    with pytest.raises(ConfigurationError, match="HKD"):
        backend.create_invoice(invoice())
    assert not fake.records("Invoice")


def test_iter_invoices_update_and_status(backend, clock):
    created = backend.create_invoice(invoice("job-1", "100.00"))
    backend.create_invoice(invoice("job-2", "50.00"))
    clock.advance(60)
    cutoff = clock_datetime(clock)
    clock.advance(60)
    changed = created.model_copy(
        update={
            "memo": "Updated",
            "lines": [InvoiceLine(description="More", amount=Decimal("120.00"))],
        }
    )
    updated = backend.update_invoice(changed)
    assert (updated.total, updated.memo, updated.external_id) == (
        Decimal("120.00"),
        "Updated",
        "job-1",
    )
    assert [i.id for i in backend.iter_invoices(modified_since=cutoff)] == [created.id]
    assert len(list(backend.iter_invoices())) == 2
    backend.create_payment(
        Payment(
            external_id="p-1",
            customer=Ref(id="1"),
            date=date(2026, 11, 4),
            amount=Decimal("50.00"),
            applications=[PaymentApplication(invoice_id=created.id, amount=Decimal("50.00"))],
        )
    )
    assert backend.get_invoice(created.id).status is InvoiceStatus.PARTIALLY_PAID
    assert len(list(backend.iter_invoices(open_only=True))) == 2
    with pytest.raises(ConfigurationError):
        backend.update_invoice(invoice())


def test_invoice_pdf(backend):
    created = backend.create_invoice(invoice())
    assert backend.invoice_pdf(created.id).startswith(b"%PDF")


def test_token_refresh_mid_run(backend, fake, clock):
    backend.create_invoice(invoice("before"))
    store = backend.client.auth.auth.token_store  # type: ignore[union-attr]
    old = store.load(fake.realm_id)
    clock.advance(3700)  # past the access token's hour
    backend.create_invoice(invoice("after"))
    new = store.load(fake.realm_id)
    assert new.refresh_token != old.refresh_token
    assert new.access_token != old.access_token
    assert len(fake.records("Invoice")) == 2


# -- payments -----------------------------------------------------------------------------


def test_payments_link_invoices_and_are_idempotent(backend, fake):
    first = backend.create_invoice(invoice("job-1", "100.00"))
    second = backend.create_invoice(invoice("job-2", "50.00"))
    payment = Payment(
        external_id="payout-9",
        customer=Ref(id="1"),
        date=date(2026, 11, 5),
        amount=Decimal("150.00"),
        applications=[
            PaymentApplication(invoice_id=first.id, amount=Decimal("100.00")),
            PaymentApplication(invoice_id=second.id, amount=Decimal("50.00")),
        ],
    )
    made = backend.create_payment(payment)
    assert made.external_id == "payout-9"
    assert {a.invoice_id for a in made.applications} == {first.id, second.id}
    assert backend.create_payment(payment).id == made.id
    assert len(fake.records("Payment")) == 1
    assert backend.find_payment("payout-9").id == made.id
    assert backend.find_payment("payout-0") is None
    assert backend.get_payment(made.id).amount == Decimal("150.00")
    assert backend.get_invoice(first.id).status is InvoiceStatus.PAID
    assert [p.id for p in backend.iter_payments()] == [made.id]


def test_voided_payments_are_skipped_when_iterating(backend):
    inv = backend.create_invoice(invoice())
    made = backend.create_payment(
        Payment(
            customer=Ref(id="1"),
            date=date(2026, 11, 5),
            amount=Decimal("10.00"),
            applications=[PaymentApplication(invoice_id=inv.id, amount=Decimal("10.00"))],
        )
    )
    wire = backend.client.read("Payment", made.id)
    backend.client.void("Payment", made.id, wire["SyncToken"])
    assert list(backend.iter_payments()) == []


# -- purchase orders ----------------------------------------------------------------------


def test_purchase_orders_round_trip(backend, fake):
    order = PurchaseOrder(
        external_id="po-1",
        vendor=Ref(id="1"),
        date=date(2026, 11, 2),
        status=PurchaseOrderStatus.OPEN,
        lines=[PurchaseOrderLine(item=Ref(id="3"), quantity=Decimal(4), rate=Decimal(10))],
    )
    made = backend.create_purchase_order(order)
    assert (made.status, made.external_id, made.number) == (
        PurchaseOrderStatus.OPEN,
        "po-1",
        "1001",
    )
    assert backend.create_purchase_order(order).id == made.id
    assert backend.find_purchase_order("po-1").id == made.id
    assert backend.find_purchase_order("po-2") is None
    wire = backend.client.read("PurchaseOrder", made.id)
    backend.client.update(
        "PurchaseOrder", {"Id": made.id, "SyncToken": wire["SyncToken"], "POStatus": "Closed"}
    )
    assert backend.get_purchase_order(made.id).status is PurchaseOrderStatus.CLOSED
    assert [p.status for p in backend.iter_purchase_orders()] == [PurchaseOrderStatus.CLOSED]
    assert len(fake.records("PurchaseOrder")) == 1


# -- deletions ----------------------------------------------------------------------------


def test_iter_deleted_uses_change_data_capture(backend, fake, clock):
    since = clock_datetime(clock)
    clock.advance(5)
    doomed = backend.create_invoice(invoice("job-1"))
    backend.create_invoice(invoice("job-2"))
    wire = backend.client.read("Invoice", doomed.id)
    backend.client.delete("Invoice", doomed.id, wire["SyncToken"])
    deleted = list(backend.iter_deleted("invoice", since))
    assert [(d.record_type, d.id) for d in deleted] == [("Invoice", doomed.id)]
    assert list(backend.iter_deleted("payment", since)) == []
    with pytest.raises(ConfigurationError, match="30 days"):
        list(backend.iter_deleted("invoice", since - timedelta(days=31)))
    with pytest.raises(ConfigurationError):
        list(backend.iter_deleted("spaceship", since))


# -- idempotency under faults -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lose_response", "drop", "server_error", "throttle"])
def test_single_writes_never_duplicate_under_faults(backend, fake, kind):
    writes = lambda r: r.method == "POST" and not r.path.endswith("/query")  # noqa: E731
    fake.inject(kind, times=2, match=writes)
    created = backend.create_invoice(invoice())
    fake.inject(kind, times=2, match=writes)
    payment = Payment(
        external_id="pay-1",
        customer=Ref(id="1"),
        date=date(2026, 11, 5),
        amount=Decimal("10.00"),
        applications=[PaymentApplication(invoice_id=created.id, amount=Decimal("10.00"))],
    )
    backend.create_payment(payment)
    fake.inject(kind, times=2, match=writes)
    backend.create_payment(payment)
    assert len(fake.records("Invoice")) == 1
    assert len(fake.records("Payment")) == 1


def test_writes_never_duplicate_even_when_requestid_replay_fails(fake, connect):
    """A reported QuickBooks failure mode: the requestid is not honoured. The DocNumber
    layout still leaves one invoice: the repeat is refused with 6140 and claimed."""

    fake.requestid_memory = 0  # requestid is not honoured
    qb = connect(fake)
    fake.inject("lose_response", match=lambda r: r.method == "POST" and r.path.endswith("/invoice"))
    created = qb.create_invoice(invoice())
    assert created.external_id == "job-1042"
    assert len(fake.records("Invoice")) == 1


def test_unknown_outcome_after_retries_is_resolved_by_lookup(fake, connect):
    qb = connect(fake, retry=RetryPolicy(max_attempts=1))
    fake.inject("lose_response", match=lambda r: r.method == "POST" and r.path.endswith("/invoice"))
    created = qb.create_invoice(invoice())
    assert created.external_id == "job-1042"
    assert len(fake.records("Invoice")) == 1
    fake.inject("drop", match=lambda r: r.method == "POST" and r.path.endswith("/invoice"))
    with pytest.raises(ServiceError) as caught:
        qb.create_invoice(invoice("job-2"))
    assert "repeating the call is safe" in str(caught.value)
    assert qb.create_invoice(invoice("job-2")).external_id == "job-2"
    assert len(fake.records("Invoice")) == 2


# -- bulk ---------------------------------------------------------------------------------


def test_create_invoices_batches_and_reports_every_input(backend, fake):
    inputs: list[Any] = [invoice(f"bulk-{i}", "10.00") for i in range(70)]
    inputs[5] = invoice(  # refused by QuickBooks inside the batch: no item 77
        "bulk-5", lines=[InvoiceLine(amount=Decimal("10.00"), item=Ref(id="77"))]
    )
    inputs[6] = invoice("bulk-6", "10.00", customer=Ref(id="404"))  # refused on the lookup
    inputs[40] = "not an invoice"
    inputs[41] = invoice("bulk-41", "10.00", currency="EUR")  # refused before sending
    result = backend.create_invoices(inputs)
    assert len(result) == 70
    assert result.counts == {"created": 66, "existed": 0, "failed": 4}
    assert {o.index for o in result.failed} == {5, 6, 40, 41}
    assert isinstance(result[5].error, NotFoundError)
    assert result[5].error.record == "invoice bulk-5"
    assert result[5].key == "bulk-5"
    assert isinstance(result[6].error, NotFoundError)
    # The failure names its invoice, and keeps the dangling reference beside it.
    assert result[6].error.record == "invoice bulk-6 (Customer 404)"
    assert "invoice bulk-6" in str(result[6].error)
    assert isinstance(result[41].error, ConfigurationError)
    assert result[41].error.record == "invoice bulk-41"
    assert posts(fake, "/batch") == 3
    assert [o.record.external_id for o in result.created] == [
        f"bulk-{i}" for i in range(70) if i not in (5, 6, 40, 41)
    ]
    again = backend.create_invoices([invoice(f"bulk-{i}", "10.00") for i in range(70)])
    assert again.counts == {"created": 4, "existed": 66, "failed": 0}
    assert len(fake.records("Invoice")) == 70


@pytest.mark.parametrize("kind", ["lose_response", "drop", "server_error", "throttle"])
def test_create_invoices_never_duplicates_under_faults(fake, connect, kind):
    qb = connect(fake, retry=RetryPolicy(max_attempts=2, base_delay=0.1))
    fake.inject(kind, times=4, match=lambda r: r.path.endswith("/batch"))
    result = qb.create_invoices([invoice(f"f-{i}", "10.00") for i in range(95)])
    assert result.ok, [str(o.error) for o in result.failed]
    assert len(fake.records("Invoice")) == 95
    assert len({r["DocNumber"] for r in fake.records("Invoice")}) == 95


def test_create_invoices_under_random_faults_and_real_limits(clock, connect):
    plan = FaultPlan(
        seed=3,
        rates={"lose_response": 0.1, "drop": 0.05, "server_error": 0.05, "throttle": 0.05},
        match=lambda r: r.method == "POST",
    )
    fake = FakeQuickBooks(clock=clock, faults=plan, latency=0.05)
    with fake:
        qb = connect(fake, retry=RetryPolicy(max_attempts=3, base_delay=0.2))
        result = qb.create_invoices([invoice(f"r-{i}", "10.00") for i in range(300)])
        assert result.counts["failed"] == 0, [str(o.error) for o in result.failed][:3]
        assert len(fake.records("Invoice")) == 300
        assert fake.stats.max_concurrent <= 10


def test_create_invoices_without_external_ids_rely_on_requestid(fake, connect):
    qb = connect(fake)
    fake.inject("lose_response", match=lambda r: r.path.endswith("/batch"))
    result = qb.create_invoices([invoice(None, "10.00") for _ in range(10)])
    assert result.counts == {"created": 10, "existed": 0, "failed": 0}
    assert len(fake.records("Invoice")) == 10


def test_input_breaking_mid_chunk_keeps_every_invoice_read(backend, fake):
    """40 read, chunks of 30: the 10 read for the second chunk are written and reported,
    and the caller's exception carries all 40 outcomes."""

    def source():
        for i in range(40):
            yield invoice(f"mid-{i}", "10.00")
        raise OSError("the CSV reader failed")

    with pytest.raises(OSError) as caught:
        backend.create_invoices(source())
    partial = caught.value.partial_result
    assert len(partial) == 40 and partial.ok
    assert [o.key for o in partial] == [f"mid-{i}" for i in range(40)]
    assert len(fake.records("Invoice")) == 40


def test_create_invoices_validates_max_workers(backend):
    with pytest.raises(ConfigurationError):
        backend.create_invoices([], max_workers=0)
    assert len(backend.create_invoices([])) == 0


@pytest.mark.parametrize("lost", [2, 50])
def test_unanswered_batches_never_duplicate_invoices_without_external_ids(fake, connect, lost):
    """A batch whose answers are all lost is re-sent UNCHANGED under its requestid while it
    holds invoices without an external id: a lookup cannot find those, and a new
    requestid would write them twice."""
    qb = connect(fake, retry=RetryPolicy(max_attempts=2, base_delay=0.1))
    fake.inject("lose_response", times=lost, match=lambda r: r.path.endswith("/batch"))
    inputs = [invoice("mixed-1", "10.00"), invoice(None, "11.00"), invoice(None, "12.00")]
    result = qb.create_invoices(inputs)
    assert len(result) == len(inputs)
    assert len(fake.records("Invoice")) == 3  # the first attempt wrote them; nothing more
    batches = [r for r in fake.requests if r.path.endswith("/batch")]
    assert len({r.request_id for r in batches}) == 1
    if lost == 2:
        assert result.counts == {"created": 3, "existed": 0, "failed": 0}
    else:  # never answered: the keyed one is found (written by this call's first
        # attempt, so "created"), the others are reported, not re-sent
        assert result.counts == {"created": 1, "existed": 0, "failed": 2}
        for outcome in result.failed:
            assert outcome.error is not None and "Check QuickBooks" in str(outcome.error)


def test_an_unreadable_created_record_fails_only_its_own_invoice(fake, connect, monkeypatch):
    from erpsync.quickbooks import records as rec

    qb = connect(fake)
    real = rec.invoice_from_wire

    def flaky(wire, **kw):
        if wire.get("TotalAmt") == Decimal("13.00"):
            raise ServiceError("malformed Invoice record", record="Invoice", retryable=False)
        return real(wire, **kw)

    monkeypatch.setattr(rec, "invoice_from_wire", flaky)
    result = qb.create_invoices([invoice(f"u-{i}", f"1{i}.00") for i in range(6)])
    assert len(result) == 6
    assert result.counts == {"created": 5, "existed": 0, "failed": 1}
    (bad,) = result.failed
    assert bad.key == "u-3" and "do not create it again" in str(bad.error)


# -- the external-id layouts without QuickBooks' duplicate-number check ---------------------


def queries(fake: FakeQuickBooks) -> list[str]:
    return [r.params["query"][0] for r in fake.requests if r.path.endswith("/query")]


def test_a_rerun_never_duplicates_when_duplicate_numbers_are_allowed(clock, connect):
    """The company's "warn if duplicate number" preference is off: QuickBooks accepts a
    second invoice with a number in use. The PrivateNote layout does not depend on it."""
    fake = FakeQuickBooks(clock=clock, refuse_duplicate_doc_numbers=False)
    with fake:
        qb = connect(fake)
        inputs = [invoice(f"re-{i}", "10.00", number=f"N-{i % 5}") for i in range(40)]
        first = qb.create_invoices(inputs)
        assert first.counts == {"created": 40, "existed": 0, "failed": 0}
        again = qb.create_invoices(inputs)
        assert again.counts == {"created": 0, "existed": 40, "failed": 0}
        assert [o.record.id for o in again] == [o.record.id for o in first]
        assert qb.create_invoice(inputs[3]).id == first[3].record.id
        assert len(fake.records("Invoice")) == 40


def test_the_docnumber_layout_relies_on_the_duplicate_number_check(clock, connect):
    """Documents the DocNumber layout's reliance: its bulk path finds invoices of an
    earlier run only through QuickBooks' 6140. With the check on, a re-run is safe; with
    it off, the same re-run writes every invoice again (single creates still look up)."""
    fake = FakeQuickBooks(clock=clock)
    with fake:
        qb = connect(fake, external_id_field="DocNumber")
        inputs = [invoice(f"dn-{i}", "10.00") for i in range(5)]
        assert qb.create_invoices(inputs).counts["created"] == 5
        assert qb.create_invoices(inputs).counts == {"created": 0, "existed": 5, "failed": 0}
        assert len(fake.records("Invoice")) == 5
        fake.refuse_duplicate_doc_numbers = False
        assert qb.create_invoice(inputs[0]).id == fake.records("Invoice")[0]["Id"]
        assert len(fake.records("Invoice")) == 5
        assert qb.create_invoices(inputs).counts == {"created": 5, "existed": 0, "failed": 0}
        assert len(fake.records("Invoice")) == 10  # the reliance, made visible


def test_the_duplicate_number_refusal_survives_reset(clock):
    fake = FakeQuickBooks(clock=clock, refuse_duplicate_doc_numbers=False)
    assert fake.refuse_duplicate_doc_numbers is False
    fake.reset()
    assert fake.company.refuse_duplicate_doc_numbers is False
    assert FakeQuickBooks(clock=clock).refuse_duplicate_doc_numbers is True


def test_bulk_lookups_cost_at_most_one_query_per_chunk(backend, fake):
    inputs = [
        invoice(f"q-{i}", "10.00", customer=Ref(id=str(1 + i % 3)), date=date(2026, 11, 1 + i % 2))
        for i in range(90)
    ]
    before = len(queries(fake))
    assert backend.create_invoices(inputs, max_workers=1).counts["created"] == 90
    lookups = queries(fake)[before:]
    assert len(lookups) <= 3  # 3 chunks; each customer and day is fetched once per run
    assert lookups[0].startswith(
        "SELECT Id, PrivateNote, CustomerRef, TxnDate, MetaData FROM Invoice"
    )
    assert "CustomerRef IN ('1', '2', '3')" in lookups[0]
    assert "TxnDate >= '2026-11-01' AND TxnDate <= '2026-11-02'" in lookups[0]
    before = len(queries(fake))
    again = backend.create_invoices(inputs, max_workers=1)
    assert again.counts == {"created": 0, "existed": 90, "failed": 0}
    asked = queries(fake)[before:]
    # All 90 found by the first chunk's one projection; then each chunk reads its 30
    # matches whole, by Id.
    assert len(asked) == 4
    assert sum("WHERE Id IN (" in q for q in asked) == 3
    assert len(fake.records("Invoice")) == 90


def test_far_apart_dates_are_looked_up_separately(backend, fake):
    inputs = [invoice("old-1", date=date(2020, 1, 2)), invoice("new-1", date=date(2026, 11, 3))]
    before = len(queries(fake))
    assert backend.create_invoices(inputs).counts["created"] == 2
    lookups = queries(fake)[before:]
    assert len(lookups) == 2
    assert all("TxnDate = '" in q and "CustomerRef = '1'" in q for q in lookups)


def test_a_busy_customer_day_cannot_hide_a_match(backend, fake):
    """More than a page (1000) of the customer's invoices on that day: every page is read."""
    line = {"DetailType": "SalesItemLineDetail", "Amount": Decimal("1"), "SalesItemLineDetail": {}}
    for i in range(1100):
        note = "[erpsync external_id=busy-1050]" if i == 1050 else f"walk-in {i}"
        fake.company.create(
            "Invoice",
            {
                "CustomerRef": {"value": "1"},
                "TxnDate": "2026-11-03",
                "PrivateNote": note,
                "Line": [dict(line)],
            },
            frozenset(),
        )
    target = next(r["Id"] for r in fake.records("Invoice") if "busy-1050" in r["PrivateNote"])
    result = backend.create_invoices([invoice("busy-1050"), invoice("busy-new")])
    assert [o.status for o in result] == ["existed", "created"]
    assert result[0].record.id == target
    assert backend.create_invoice(invoice("busy-1050")).id == target
    assert any("STARTPOSITION 1001" in q for q in queries(fake))
    assert len(fake.records("Invoice")) == 1101


def test_an_external_id_repeated_in_one_run_is_written_once(backend, fake):
    inputs = [invoice(f"dup-{i}", "10.00") for i in range(35)]
    inputs.insert(3, invoice("dup-1", "10.00"))  # same chunk as its first
    inputs.append(invoice("dup-2", "10.00"))  # a later chunk
    inputs.append(invoice("dup-40", currency="EUR"))  # refused before sending...
    inputs.append(invoice("dup-40", currency="EUR"))  # ...so its repeat fails too
    result = backend.create_invoices(inputs)
    assert [o.status for o in result].count("created") == 35
    assert (result[3].status, result[3].record.id) == ("existed", result[1].record.id)
    assert (result[36].status, result[36].record.id) == ("existed", result[2].record.id)
    assert result[38].status == "failed" and "input #37" in str(result[38].error)
    assert len(fake.records("Invoice")) == 35


def _forgetful(fake: FakeQuickBooks) -> None:
    fake.requestid_memory = 0  # requestid is not honoured


@pytest.mark.parametrize("entity", ["invoice", "payment", "purchaseorder"])
def test_privatenote_writes_look_up_before_re_sending(fake, connect, entity):
    """requestid replay failing (WIRE.md) AND the answer lost: the write is not re-sent
    blindly, QuickBooks is asked first. One record, whichever entity."""
    _forgetful(fake)
    qb = connect(fake)
    target = invoice("inv-0") if entity != "invoice" else None
    made = qb.create_invoice(target) if target is not None else None
    fake.inject(
        "lose_response",
        times=2,
        match=lambda r: r.method == "POST" and r.path.endswith(f"/{entity}"),
    )
    if entity == "invoice":
        assert qb.create_invoice(invoice()).external_id == "job-1042"
    elif entity == "payment":
        assert made is not None
        pay = Payment(
            external_id="pay-9",
            customer=Ref(id="1"),
            date=date(2026, 11, 5),
            amount=Decimal("10.00"),
            applications=[PaymentApplication(invoice_id=made.id, amount=Decimal("10.00"))],
        )
        assert qb.create_payment(pay).external_id == "pay-9"
    else:
        order = PurchaseOrder(
            external_id="po-9",
            vendor=Ref(id="1"),
            date=date(2026, 11, 2),
            status=PurchaseOrderStatus.OPEN,
            lines=[PurchaseOrderLine(item=Ref(id="3"), quantity=Decimal(1), rate=Decimal(10))],
        )
        assert qb.create_purchase_order(order).external_id == "po-9"
    name, key = {
        "invoice": ("Invoice", "job-1042"),
        "payment": ("Payment", "pay-9"),
        "purchaseorder": ("PurchaseOrder", "po-9"),
    }[entity]
    marked = [r for r in fake.records(name) if f"external_id={key}]" in r.get("PrivateNote", "")]
    assert len(marked) == 1


def test_bulk_never_re_sends_a_keyed_batch_blindly(fake, connect):
    """requestid replay failing and batch answers lost: looked up, never written twice."""
    _forgetful(fake)
    qb = connect(fake, retry=RetryPolicy(max_attempts=3, base_delay=0.1))
    fake.inject("lose_response", times=3, match=lambda r: r.path.endswith("/batch"))
    result = qb.create_invoices([invoice(f"lost-{i}", "10.00") for i in range(45)])
    assert result.ok, [str(o.error) for o in result.failed]
    assert len(fake.records("Invoice")) == 45


def test_bulk_gives_up_after_its_rounds_and_says_a_repeat_is_safe(fake, connect):
    qb = connect(fake, retry=RetryPolicy(max_attempts=1, base_delay=0.1))
    fake.inject("drop", times=3, match=lambda r: r.path.endswith("/batch"))
    result = qb.create_invoices([invoice(f"gone-{i}", "10.00") for i in range(3)])
    assert result.counts == {"created": 0, "existed": 0, "failed": 3}
    assert all("repeating the call is safe" in str(o.error) for o in result.failed)
    assert not fake.records("Invoice")
    assert qb.create_invoices([invoice(f"gone-{i}", "10.00") for i in range(3)]).ok


def test_create_invoices_iter_never_duplicates_a_far_repeat(backend, fake):
    inputs = [invoice(f"st-{i}", "10.00") for i in range(65)]
    inputs.append(invoice("st-0", "10.00"))  # after its first outcome was handed out
    outcomes = list(backend.create_invoices_iter(iter(inputs), max_workers=1))
    assert [o.index for o in outcomes] == list(range(66))
    assert [o.status for o in outcomes].count("created") == 65
    assert outcomes[65].status == "existed"
    assert outcomes[65].record.id == outcomes[0].record.id
    assert len(fake.records("Invoice")) == 65


def _seed_day(fake: FakeQuickBooks, count: int, start: int = 0) -> None:
    day = date(2026, 11, 3)
    line = {"DetailType": "SalesItemLineDetail", "Amount": 1, "SalesItemLineDetail": {}}
    fake.seed_records(
        {
            "Invoice": [
                {
                    "CustomerRef": {"value": "1"},
                    "TxnDate": day.isoformat(),
                    "DocNumber": f"old-{n}",
                    "PrivateNote": f"[erpsync external_id=old-{n}]",
                    "Line": [dict(line)],
                }
                for n in range(start, start + count)
            ]
        }
    )


def test_single_creates_read_a_busy_day_whole_once_then_only_its_changes(backend, fake, clock):
    for start in range(0, 2500, 500):  # a busy day: 500 invoices a minute
        _seed_day(fake, 500, start)
        clock.advance(60)
    before = len(queries(fake))
    backend.create_invoice(invoice("flat-0"))
    first = queries(fake)[before:]
    assert len(first) == 3  # the whole day, as a projection: 3 pages of 1000
    assert all(
        q.startswith("SELECT Id, PrivateNote, CustomerRef, TxnDate, MetaData") for q in first
    )
    for n in range(1, 4):
        clock.advance(60)
        before = len(queries(fake))
        backend.create_invoice(invoice(f"flat-{n}"))
        asked = queries(fake)[before:]
        assert len(asked) == 1 and "MetaData.LastUpdatedTime >= " in asked[0]
    # The day's 2,500 older invoices are not read again: the cost stays flat.
    assert len(fake.records("Invoice")) == 2504


def test_the_index_sees_what_another_writer_added_and_what_was_deleted(
    backend, fake, clock, connect
):
    assert backend.create_invoice(invoice("idx-0")).id
    other = connect(fake)
    clock.advance(30)
    theirs = other.create_invoice(invoice("idx-1"))  # written behind our index's back
    clock.advance(30)
    again = backend.create_invoice(invoice("idx-1"))
    assert again.id == theirs.id
    assert len(fake.records("Invoice")) == 2
    # Deleted in QuickBooks after we indexed it: a new create writes it again.
    stored = next(r for r in fake.records("Invoice") if r["Id"] == theirs.id)
    other.client.delete("Invoice", str(theirs.id), str(stored["SyncToken"]))
    clock.advance(30)
    rewritten = backend.create_invoice(invoice("idx-1"))
    assert rewritten.id != theirs.id
    assert len(fake.records("Invoice")) == 2
