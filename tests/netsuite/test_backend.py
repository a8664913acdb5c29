"""NetSuiteBackend end to end against FakeNetSuite (in-process), with both auth kinds.

Covers every AccountingBackend operation, the create-once rule under injected faults
(lost answers, dropped connections, 5xx, throttling: never a second invoice, payment or
receipt), keyset iteration past a small row cap, and create_invoices at the account's
concurrency limit with no RateLimitError reaching the caller.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import pytest
import responses

from erpsync.backend import AmbiguousMatchError
from erpsync.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServiceError,
    UnsupportedOperationError,
)
from erpsync.limits import LocalLimiter
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
from erpsync.netsuite.auth import TokenBasedAuth
from erpsync.netsuite.backend import NetSuiteBackend
from erpsync.testing.core.emulator import Governance, SystemClock
from erpsync.testing.core.wire import WireRequest
from erpsync.testing.netsuite import FakeNetSuite

from .conftest import make_backend

ACME = "101"
MACHINING = "202"
WIDGET = "201"


def _invoice(external_id: str | None = "job-1", amount: str = "1250.00", **kw: Any) -> Invoice:
    return Invoice(
        external_id=external_id,
        customer=Ref(id=kw.pop("customer", ACME)),
        date=date(2026, 11, 3),
        lines=[InvoiceLine(description="Job", amount=Decimal(amount), item=Ref(id=MACHINING))],
        **kw,
    )


def _posts_to(record_type: str) -> Callable[[WireRequest], bool]:
    return lambda r: r.method == "POST" and r.path.rstrip("/").endswith(f"/{record_type}")


def _count(fake: FakeNetSuite, record_type: str) -> int:
    return len(fake.records(record_type))


# -- auth end to end ------------------------------------------------------------------------


def test_both_auth_kinds_end_to_end(fake: FakeNetSuite, auth_kind: Literal["tba", "m2m"]) -> None:
    backend = make_backend(fake, auth_kind)
    customer = backend.find_customer("Acme Robotics")
    assert customer is not None and customer.id == ACME
    invoice = backend.create_invoice(_invoice(customer=customer.id))
    assert invoice.number and invoice.total == Decimal("1250.00")
    assert backend.get_invoice(invoice.id or "").external_id == "job-1"
    assert [i.id for i in backend.iter_invoices()] == [invoice.id]
    methods = {attempt.method for attempt in fake.login_audit_trail if attempt.success}
    assert methods  # the emulator saw authenticated requests of the chosen kind


def test_capabilities(fake: FakeNetSuite) -> None:
    plain = make_backend(fake)
    caps = plain.capabilities
    assert caps.item_receipts and caps.deleted_records and caps.upsert_by_external_id
    assert not caps.invoice_pdf and caps.max_concurrency == 5
    with_pdf = make_backend(fake, pdf_restlet=("customscript_pdf", "1"), concurrency=15)
    assert with_pdf.capabilities.invoice_pdf and with_pdf.capabilities.max_concurrency == 15
    assert plain.name == "NetSuite"
    with pytest.raises(ConfigurationError):
        make_backend(fake, pdf_restlet=("only-one",))  # type: ignore[arg-type]


# -- customers, vendors, items ---------------------------------------------------------------


def test_customers(backend: NetSuiteBackend, fake: FakeNetSuite) -> None:
    assert backend.get_customer(ACME).name == "Acme Robotics"
    assert len(list(backend.iter_customers())) == 4
    assert backend.find_customer("ACME ROBOTICS") is not None  # case-insensitive fallback
    assert backend.find_customer("Nobody") is None
    created = backend.create_customer(
        Customer(
            name="Wayne Enterprises",
            external_id="c-wayne",
            email="ap@wayne.example",
            currency="EUR",
        )
    )
    assert created.id and created.currency == "EUR" and created.external_id == "c-wayne"
    again = backend.create_customer(Customer(name="Wayne Enterprises", external_id="c-wayne"))
    assert again.id == created.id and _count(fake, "customer") == 5
    no_key = backend.create_customer(Customer(name="Stark Industries"))
    assert no_key.external_id and no_key.external_id.startswith("erpsync-")
    fake.clock.sleep(3600)  # type: ignore[attr-defined]
    later = datetime.fromtimestamp(fake.clock.now(), tz=UTC)
    assert list(backend.iter_customers(modified_since=later)) == []
    with pytest.raises(NotFoundError):
        backend.get_customer("999999")
    with pytest.raises(NotFoundError):
        backend.get_customer("abc")


def test_find_customer_reports_ambiguity(backend: NetSuiteBackend) -> None:
    backend.create_customer(Customer(name="Twin", external_id="twin-1"))
    backend.create_customer(Customer(name="twin", external_id="twin-2"))
    assert backend.find_customer("Twin") is not None  # the exact match wins
    backend.create_customer(Customer(name="TWIN", external_id="twin-3"))
    assert backend.find_customers("tWiN") and len(backend.find_customers("tWiN")) == 3
    with pytest.raises(AmbiguousMatchError) as caught:
        backend.find_customer("tWiN")
    assert len(caught.value.candidates) == 3


def test_vendors_and_items(backend: NetSuiteBackend, fake: FakeNetSuite) -> None:
    vendor = backend.find_vendor("Precision Parts Co.")
    assert vendor is not None and backend.get_vendor(vendor.id or "").name == vendor.name
    assert len(list(backend.iter_vendors())) == 2
    made = backend.create_vendor(Vendor(name="Bolts Ltd", external_id="v-bolts"))
    assert backend.create_vendor(Vendor(name="Bolts Ltd", external_id="v-bolts")).id == made.id
    assert backend.get_item(WIDGET).name == "WIDGET-100"
    assert backend.find_item("machining") is not None
    assert {i.kind for i in backend.iter_items()} >= {"inventory", "service", "non_inventory"}
    item = backend.create_item(Item(name="ANODIZE", kind="service", external_id="i-anod"))
    assert item.kind == "service" and item.external_id == "i-anod"
    assert (
        backend.create_item(Item(name="ANODIZE", kind="service", external_id="i-anod")).id
        == item.id
    )
    with pytest.raises(NotFoundError):
        backend.get_item("9999")


# -- invoices -----------------------------------------------------------------------------------


def test_invoices(backend: NetSuiteBackend, fake: FakeNetSuite) -> None:
    created = backend.create_invoice(_invoice(memo="first", due_date=date(2026, 12, 3)))
    assert created.status is InvoiceStatus.OPEN and created.balance == Decimal("1250.00")
    assert created.due_date == date(2026, 12, 3) and created.memo == "first"
    # Creating again returns the invoice already there, unchanged (never overwritten).
    again = backend.create_invoice(_invoice(amount="1.00"))
    assert again.id == created.id and again.total == Decimal("1250.00")
    assert _count(fake, "invoice") == 1
    assert backend.find_invoice("job-1") == backend.get_invoice(created.id or "")
    assert backend.find_invoice("nope") is None
    with pytest.raises(NotFoundError):
        backend.get_invoice("424242")

    updated = backend.update_invoice(
        created.model_copy(
            update={
                "memo": "second",
                "lines": [
                    InvoiceLine(description="A", amount=Decimal("100"), item=Ref(id=MACHINING)),
                    InvoiceLine(
                        description="B",
                        quantity=Decimal(3),
                        unit_price=Decimal("5"),
                        item=Ref(id=MACHINING),
                    ),
                ],
            }
        )
    )
    assert updated.memo == "second" and updated.total == Decimal("115.00")
    assert len(updated.lines) == 2 and updated.external_id == "job-1"

    replaced = backend.upsert_invoice(_invoice(amount="7.00"))
    assert replaced.id == created.id and replaced.total == Decimal("7.00")
    with pytest.raises(ConfigurationError):
        backend.upsert_invoice(_invoice(external_id=None))
    with pytest.raises(ConfigurationError):
        backend.update_invoice(_invoice())


def test_an_invoice_without_external_id_gets_a_generated_one(
    backend: NetSuiteBackend, fake: FakeNetSuite
) -> None:
    fake.inject("lose_response", match=_posts_to("invoice"))
    invoice = backend.create_invoice(_invoice(external_id=None))
    assert invoice.external_id and invoice.external_id.startswith("erpsync-")
    assert _count(fake, "invoice") == 1


def test_the_erps_errors_surface(backend: NetSuiteBackend) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        backend.create_invoice(_invoice(customer="999"))
    assert caught.value.field == "entity"
    with pytest.raises(InvalidRequestError):  # USD invoice for a EUR customer
        backend.create_invoice(_invoice(customer="104", external_id="eur"))


def test_iter_invoices_filters_and_pages_past_the_row_cap(
    fake: FakeNetSuite,
) -> None:
    backend = make_backend(fake, page_size=2)
    fake.suiteql_row_cap = 4  # 7 invoices cannot be paged by offset, only by keyset
    ids = [backend.create_invoice(_invoice(f"inv-{n}")).id for n in range(7)]
    listed = list(backend.iter_invoices())
    assert [i.id for i in listed] == ids
    assert all(len(i.lines) == 1 for i in listed)
    backend.create_payment(
        Payment(
            external_id="pay-0",
            customer=Ref(id=ACME),
            date=date(2026, 11, 5),
            amount=Decimal("1250.00"),
            applications=[PaymentApplication(invoice_id=ids[0] or "", amount=Decimal("1250.00"))],
        )
    )
    open_ids = [i.id for i in backend.iter_invoices(open_only=True)]
    assert open_ids == ids[1:]
    fake.clock.sleep(60)  # type: ignore[attr-defined]
    cutoff = datetime.fromtimestamp(fake.clock.now(), tz=UTC)
    backend.create_invoice(_invoice("inv-late"))
    assert [i.external_id for i in backend.iter_invoices(modified_since=cutoff)] == ["inv-late"]


def test_invoice_pdf_needs_the_restlet(backend: NetSuiteBackend) -> None:
    with pytest.raises(UnsupportedOperationError) as caught:
        backend.invoice_pdf("1")
    assert "pdf_restlet" in str(caught.value)


def test_invoice_pdf_through_the_restlet() -> None:
    pdf = b"%PDF-1.4 fake"
    url = "https://1234567-sb1.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
    auth = TokenBasedAuth("ck" * 8, "cs" * 8, "ti" * 8, "ts" * 8)
    backend = NetSuiteBackend(
        "1234567_SB1",
        auth,
        pdf_restlet=("customscript_pdf", "1"),
        limiter=LocalLimiter(concurrency=5),
        sleep=lambda s: None,
    )
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, url, json={"pdf": base64.b64encode(pdf).decode()})
        mock.add(responses.GET, url, body=base64.b64encode(pdf).decode())
        mock.add(responses.GET, url, json={"pdf": "!!!"})
        mock.add(responses.GET, url, json={"pdf": base64.b64encode(b"<html>").decode()})
        assert backend.invoice_pdf("17") == pdf
        sent = mock.calls[0].request.url
        assert "script=customscript_pdf" in sent and "deploy=1" in sent and "id=17" in sent
        assert mock.calls[0].request.headers["Authorization"].startswith("OAuth")
        assert backend.invoice_pdf("17") == pdf
        with pytest.raises(ServiceError):
            backend.invoice_pdf("17")
        with pytest.raises(ServiceError):
            backend.invoice_pdf("17")


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_invoice_pdf_end_to_end_through_the_emulators_restlet(
    fake: FakeNetSuite, auth_kind: Literal["tba", "m2m"]
) -> None:
    assert fake.pdf_restlet is not None
    backend = make_backend(fake, auth_kind, pdf_restlet=fake.pdf_restlet)
    assert backend.capabilities.invoice_pdf
    invoice = backend.create_invoice(_invoice())
    pdf = backend.invoice_pdf(invoice.id or "")
    assert pdf.startswith(b"%PDF")
    assert invoice.number and invoice.number in _pdf_text(pdf)
    with pytest.raises(NotFoundError) as missing:  # the script's RCRD_DSNT_EXIST
        backend.invoice_pdf("99999")
    assert missing.value.code == "RCRD_DSNT_EXIST" and "99999" in (missing.value.detail or "")


def test_invoice_pdf_uses_the_configured_script_and_deployment(fake: FakeNetSuite) -> None:
    fake.deploy_pdf_restlet("customscript_acme_invoice_pdf", "customdeploy_acme_1")
    invoice = make_backend(fake).create_invoice(_invoice())
    configured = make_backend(
        fake, pdf_restlet=("customscript_acme_invoice_pdf", "customdeploy_acme_1")
    )
    assert configured.invoice_pdf(invoice.id or "").startswith(b"%PDF")
    wrong = make_backend(fake, pdf_restlet=("customscript_nothing", "customdeploy_nothing"))
    with pytest.raises(NotFoundError) as caught:
        wrong.invoice_pdf(invoice.id or "")
    assert caught.value.code == "SSS_INVALID_SCRIPTLET_ID"
    assert "pdf_restlet" in str(caught.value) and "customscript_nothing" in str(caught.value)


def test_invoice_pdf_needs_the_restlets_scope(fake: FakeNetSuite) -> None:
    from erpsync.netsuite.auth import ClientCredentialsAuth

    creds = fake.credentials
    auth = ClientCredentialsAuth(
        creds.client_id,
        creds.certificate_id,
        creds.private_key_pem,
        scopes=("rest_webservices",),
        clock=fake.clock.now,
    )
    backend = NetSuiteBackend(
        creds.account_id,
        auth,
        pdf_restlet=fake.pdf_restlet,
        limiter=LocalLimiter(concurrency=5),
        sleep=lambda s: None,
    )
    invoice = backend.create_invoice(_invoice())
    with pytest.raises(AuthenticationError) as caught:
        backend.invoice_pdf(invoice.id or "")
    assert "'restlets' scope" in str(caught.value)


def test_a_restlet_over_the_concurrency_limit_is_retried_as_throttling() -> None:
    url = "https://1234567-sb1.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
    limiter = LocalLimiter(concurrency=5)
    backend = NetSuiteBackend(
        "1234567_SB1",
        TokenBasedAuth("ck" * 8, "cs" * 8, "ti" * 8, "ts" * 8),
        pdf_restlet=("customscript_pdf", "1"),
        limiter=limiter,
        sleep=lambda s: None,
    )
    limited = {"error": {"code": "SSS_REQUEST_LIMIT_EXCEEDED", "message": "Concurrent..."}}
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, url, status=400, json=limited)
        mock.add(responses.GET, url, json={"base64": base64.b64encode(b"%PDF-1.4").decode()})
        assert backend.invoice_pdf("17") == b"%PDF-1.4"
    assert limiter.effective_concurrency is not None and limiter.effective_concurrency < 5


def test_names_to_find_must_be_text(backend: NetSuiteBackend) -> None:
    for bad in (None, "", 5):
        with pytest.raises(ConfigurationError):
            backend.find_customers(bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            backend.find_items(bad)  # type: ignore[arg-type]


def test_a_suiteql_id_that_is_not_a_number_is_a_service_error() -> None:
    from erpsync.netsuite.reads import suiteql_id_list as _id_list

    assert _id_list(["1", "22"]) == "1, 22"
    with pytest.raises(ServiceError) as caught:
        _id_list(["1", "1) OR (1=1"])
    assert caught.value.field == "id"


# -- idempotency under faults -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lose_response", "drop", "server_error", "throttle"])
def test_an_invoice_is_created_once_whatever_fails(fake: FakeNetSuite, kind: str) -> None:
    backend = make_backend(fake)
    fake.inject(kind, match=_posts_to("invoice"), times=2)
    invoice = backend.create_invoice(_invoice())
    assert invoice.id and _count(fake, "invoice") == 1
    assert backend.create_invoice(_invoice()).id == invoice.id
    assert fake.stats.faults_by_kind.get(kind) == 2  # both injected faults were hit
    assert _count(fake, "invoice") == 1


def test_bulk_outcome_after_a_lost_answer_is_created(fake: FakeNetSuite) -> None:
    backend = make_backend(fake)
    fake.inject("lose_response", match=_posts_to("invoice"))
    result = backend.create_invoices([_invoice()])
    assert result.counts == {"created": 1, "existed": 0, "failed": 0}
    assert _count(fake, "invoice") == 1


def test_bulk_outcome_after_a_throttled_retry_of_an_existing_invoice_is_existed(
    fake: FakeNetSuite,
) -> None:
    backend = make_backend(fake)
    backend.create_invoice(_invoice())
    fake.inject("throttle", match=_posts_to("invoice"))  # refused unprocessed, then resent
    result = backend.create_invoices([_invoice()])
    assert fake.stats.faults_by_kind.get("throttle") == 1
    assert result.counts == {"created": 0, "existed": 1, "failed": 0}
    assert _count(fake, "invoice") == 1


def test_a_payment_is_created_once(fake: FakeNetSuite) -> None:
    backend = make_backend(fake)
    invoice = backend.create_invoice(_invoice())
    payment = Payment(
        external_id="pay-1",
        customer=Ref(id=ACME),
        date=date(2026, 11, 5),
        amount=Decimal("500.00"),
        memo="wire",
        applications=[PaymentApplication(invoice_id=invoice.id or "", amount=Decimal("500.00"))],
    )
    fake.inject("lose_response", match=_posts_to("customerPayment"))
    written = backend.create_payment(payment)
    assert written.applications == payment.applications and written.memo == "wire"
    assert backend.create_payment(payment).id == written.id
    assert _count(fake, "customerPayment") == 1
    assert backend.get_invoice(invoice.id or "").status is InvoiceStatus.PARTIALLY_PAID
    assert backend.find_payment("pay-1") == backend.get_payment(written.id or "")
    assert backend.find_payment("nope") is None
    listed = list(backend.iter_payments())
    assert [p.id for p in listed] == [written.id] and listed[0].applications == payment.applications


# -- purchase orders and receipts ---------------------------------------------------------------


def test_purchase_orders(backend: NetSuiteBackend) -> None:
    orders = {o.external_id: o for o in backend.iter_purchase_orders()}
    assert orders["po-partial"].status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert orders["po-partial"].lines[0].quantity_received == Decimal(8)
    assert orders["po-received"].remote_status == "Pending Bill"
    pending = backend.find_purchase_order("po-pending")
    assert pending is not None and pending == backend.get_purchase_order(pending.id or "")
    assert pending.remote_status == "Pending Receipt"
    assert [line.line_id for line in pending.lines] == ["1", "2"]
    assert backend.find_purchase_order("nope") is None
    made = backend.create_purchase_order(
        PurchaseOrder(
            vendor=Ref(id="105"),
            date=date(2026, 11, 2),
            status=PurchaseOrderStatus.PENDING_RECEIPT,
            external_id="po-new",
            lines=[
                PurchaseOrderLine(item=Ref(id=WIDGET), quantity=Decimal(6), rate=Decimal("4.5"))
            ],
        )
    )
    assert made.status is PurchaseOrderStatus.PENDING_RECEIPT and made.lines[0].line_id == "1"


def test_receiving_a_purchase_order_once(fake: FakeNetSuite) -> None:
    backend = make_backend(fake)
    order = backend.find_purchase_order("po-pending")
    assert order is not None and order.id
    receipt = ItemReceipt(
        purchase_order_id=order.id,
        date=date(2026, 11, 4),
        external_id="rcv-1",
        lines=[ItemReceiptLine(line_id="1", quantity=Decimal(4))],
    )
    fake.inject("lose_response", match=lambda r: "!transform" in r.path)
    written = backend.receive_purchase_order(receipt)
    assert written.external_id == "rcv-1" and written.purchase_order_id == order.id
    assert written.lines == receipt.lines
    assert backend.receive_purchase_order(receipt).id == written.id
    assert _count(fake, "itemReceipt") == 3  # two seeded + this one
    after = backend.get_purchase_order(order.id)
    assert after.status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert [line.quantity_received for line in after.lines] == [Decimal(4), Decimal(0)]

    too_much = ItemReceipt(
        purchase_order_id=order.id,
        date=date(2026, 11, 5),
        external_id="rcv-2",
        lines=[ItemReceiptLine(line_id="1", quantity=Decimal(7))],
    )
    with pytest.raises(InvalidRequestError) as caught:
        backend.receive_purchase_order(too_much)
    assert "remaining" in str(caught.value)


def test_iter_deleted(backend: NetSuiteBackend, fake: FakeNetSuite) -> None:
    since = datetime.fromtimestamp(fake.clock.now(), tz=UTC)
    invoice = backend.create_invoice(_invoice())
    backend.client.delete("invoice", invoice.id or "")
    deleted = list(backend.iter_deleted("invoice", since))
    # NetSuite's DeletedRecord has no externalid column: deleted records carry ids only.
    assert [(d.id, d.record_type, d.external_id) for d in deleted] == [
        (invoice.id, "invoice", None)
    ]
    assert list(backend.iter_deleted("customer", since)) == []


# -- bulk at the concurrency limit -------------------------------------------------------------


def test_create_invoices_runs_at_the_limit_without_429s() -> None:
    fake = FakeNetSuite(
        "1234567_SB1", clock=SystemClock(), latency=0.02, governance=Governance(concurrency=5)
    )
    with fake:
        backend = make_backend(fake)
        invoices = (_invoice(f"bulk-{n}", amount=f"{n + 1}.00") for n in range(40))
        result = backend.create_invoices(invoices)
        assert result.counts == {"created": 40, "existed": 0, "failed": 0}
        assert [o.key for o in result] == [f"bulk-{n}" for n in range(40)]
        assert all(o.record is not None and o.record.id for o in result)
        stats = fake.stats
        assert stats.max_concurrent == 5 and stats.throttled == 0
        again = backend.create_invoices([_invoice("bulk-0"), _invoice("bulk-new")])
        assert [o.status for o in again] == ["existed", "created"]


def test_an_oversized_limiter_is_absorbed_by_retries() -> None:
    fake = FakeNetSuite(
        "1234567_SB1", clock=SystemClock(), latency=0.01, governance=Governance(concurrency=3)
    )
    with fake:
        backend = make_backend(fake, concurrency=8, limiter=LocalLimiter(concurrency=8))
        result = backend.create_invoices(_invoice(f"b-{n}") for n in range(30))
        assert fake.stats.throttled > 0  # the account refused some...
        assert result.ok  # ...and none of it reached the caller
        assert not any(isinstance(o.error, RateLimitError) for o in result)
        assert _count(fake, "invoice") == 30


def test_bulk_read_back_and_failures(fake: FakeNetSuite) -> None:
    backend = make_backend(fake, bulk_read_back=True)
    result = backend.create_invoices([_invoice("ok-1"), _invoice("bad", customer="999")])
    assert result[0].status == "created" and result[0].record is not None
    assert result[0].record.number  # read back from NetSuite
    assert result[1].status == "failed" and isinstance(result[1].error, InvalidRequestError)


def test_bulk_created_invoices_carry_netsuites_document_number(fake: FakeNetSuite) -> None:
    """Issue 16: create_invoices returned number=None where create_invoice has INV1001."""
    backend = make_backend(fake)
    single = backend.create_invoice(_invoice("num-0"))
    assert single.number
    result = backend.create_invoices([_invoice(f"num-{n}") for n in range(1, 4)])
    assert result.counts["created"] == 3
    for outcome in result:
        assert outcome.record is not None and outcome.record.id is not None
        assert outcome.record.number is not None
        assert outcome.record.number == backend.get_invoice(outcome.record.id).number
    assert len({o.record.number for o in result if o.record}) == 3


def test_create_invoices_iter_streams_outcomes_with_numbers(fake: FakeNetSuite) -> None:
    backend = make_backend(fake, page_size=2)
    inputs = [_invoice(f"it-{n}") for n in range(5)] + [_invoice("bad", customer="999")]
    inputs.append(_invoice("it-0"))  # a repeat after its first was handed out
    outcomes = list(backend.create_invoices_iter(iter(inputs)))
    assert [o.index for o in outcomes] == list(range(7))
    assert [o.status for o in outcomes] == ["created"] * 5 + ["failed", "existed"]
    for outcome in outcomes[:5]:
        assert outcome.record is not None and outcome.record.id is not None
        assert outcome.record.number == backend.get_invoice(outcome.record.id).number
    assert outcomes[6].record is not None and outcomes[6].record.id == outcomes[0].record.id
    assert _count(fake, "invoice") == 5
