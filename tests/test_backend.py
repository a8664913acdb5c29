"""Tests for erpsync.backend: capabilities, optional-operation defaults, name lookups and
the bounded, ordered, failure-capturing create_invoices."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Literal

import pytest

from erpsync.backend import (
    AccountingBackend,
    AmbiguousMatchError,
    BulkOutcome,
    BulkResult,
    Capabilities,
    UnknownNameError,
)
from erpsync.errors import (
    ConfigurationError,
    DuplicateError,
    ErpSyncError,
    MappingError,
    NotFoundError,
    ServiceError,
    UnsupportedOperationError,
)
from erpsync.models import (
    Customer,
    Invoice,
    InvoiceLine,
    Item,
    ItemReceipt,
    Payment,
    PurchaseOrder,
    Ref,
    Vendor,
)

WAIT = 5.0  # seconds; only ever reached when a test is about to fail


def make_invoice(n: int, external_id: str | None = "") -> Invoice:
    return Invoice(
        external_id=f"inv-{n}" if external_id == "" else external_id,
        customer=Ref(id="1"),
        date=dt.date(2026, 11, 3),
        lines=[InvoiceLine(amount=Decimal(n + 1))],
    )


class MemoryBackend(AccountingBackend):
    """A complete, dict-backed backend. ``on_create`` lets a test intervene in each
    invoice write (block, fail, observe) from the worker thread."""

    name = "Memory"

    def __init__(self, capabilities: Capabilities | None = None) -> None:
        self._caps = capabilities or Capabilities(max_concurrency=4)
        self._lock = threading.Lock()
        self.customers: dict[str, Customer] = {}
        self.vendors: dict[str, Vendor] = {}
        self.items: dict[str, Item] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, Payment] = {}
        self.on_create: Callable[[Invoice], None] = lambda invoice: None
        self._ids = iter(range(1, 10**9))

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def _new_id(self) -> str:
        with self._lock:
            return str(next(self._ids))

    # customers, vendors, items
    def get_customer(self, id: str) -> Customer:
        try:
            return self.customers[id]
        except KeyError:
            raise NotFoundError("no such customer", backend=self.name) from None

    def find_customers(self, name: str) -> list[Customer]:
        return self._select_by_name(self.customers.values(), name)

    def iter_customers(self, modified_since: dt.datetime | None = None) -> Iterator[Customer]:
        return iter(list(self.customers.values()))

    def create_customer(self, customer: Customer) -> Customer:
        created = customer.model_copy(update={"id": self._new_id()})
        self.customers[str(created.id)] = created
        return created

    def get_vendor(self, id: str) -> Vendor:
        return self.vendors[id]

    def find_vendors(self, name: str) -> list[Vendor]:
        return self._select_by_name(self.vendors.values(), name)

    def iter_vendors(self, modified_since: dt.datetime | None = None) -> Iterator[Vendor]:
        return iter(list(self.vendors.values()))

    def create_vendor(self, vendor: Vendor) -> Vendor:
        created = vendor.model_copy(update={"id": self._new_id()})
        self.vendors[str(created.id)] = created
        return created

    def get_item(self, id: str) -> Item:
        return self.items[id]

    def find_items(self, name: str) -> list[Item]:
        return self._select_by_name(self.items.values(), name)

    def iter_items(self, modified_since: dt.datetime | None = None) -> Iterator[Item]:
        return iter(list(self.items.values()))

    def create_item(self, item: Item) -> Item:
        created = item.model_copy(update={"id": self._new_id()})
        self.items[str(created.id)] = created
        return created

    # invoices
    def get_invoice(self, id: str) -> Invoice:
        return self.invoices[id]

    def find_invoice(self, external_id: str) -> Invoice | None:
        with self._lock:
            found = [i for i in self.invoices.values() if i.external_id == external_id]
        return found[0] if found else None

    def iter_invoices(
        self, modified_since: dt.datetime | None = None, open_only: bool = False
    ) -> Iterator[Invoice]:
        return iter(list(self.invoices.values()))

    def create_invoice(self, invoice: Invoice) -> Invoice:
        self.on_create(invoice)
        created = invoice.model_copy(update={"id": self._new_id()})
        with self._lock:
            self.invoices[str(created.id)] = created
        return created

    def update_invoice(self, invoice: Invoice) -> Invoice:
        self.invoices[str(invoice.id)] = invoice
        return invoice

    # payments
    def get_payment(self, id: str) -> Payment:
        return self.payments[id]

    def find_payment(self, external_id: str) -> Payment | None:
        return None

    def iter_payments(self, modified_since: dt.datetime | None = None) -> Iterator[Payment]:
        return iter(list(self.payments.values()))

    def create_payment(self, payment: Payment) -> Payment:
        return payment


class UpsertingBackend(MemoryBackend):
    """Reports ``existed`` for an external id already written, as a real backend would."""

    def _create_invoice_outcome(
        self, invoice: Invoice
    ) -> tuple[Invoice, Literal["created", "existed"]]:
        if invoice.external_id and (found := self.find_invoice(invoice.external_id)):
            return found, "existed"
        return self.create_invoice(invoice), "created"


class Gauge:
    """Counts calls in flight and remembers the highest count seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.finished = 0

    def __enter__(self) -> Gauge:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1
            self.finished += 1


# -- capabilities ---------------------------------------------------------------------------


def test_capabilities_defaults_are_conservative_and_frozen() -> None:
    caps = Capabilities()
    assert not any(getattr(caps, flag) for flag in Capabilities.flags())
    assert (caps.max_concurrency, caps.max_batch_size) == (1, 1)
    assert set(Capabilities.flags()) == {
        "invoice_pdf",
        "purchase_orders",
        "item_receipts",
        "create_purchase_orders",
        "batch_writes",
        "change_data_capture",
        "deleted_records",
        "upsert_by_external_id",
        "document_numbers_assigned_by_erp",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.invoice_pdf = True  # type: ignore[misc]


@pytest.mark.parametrize(
    "kw",
    [
        {"max_concurrency": 0},
        {"max_batch_size": -1},
        {"max_concurrency": True},
        {"max_concurrency": 2.0},
        {"invoice_pdf": "yes"},
        {"batch_writes": 1},
    ],
)
def test_capabilities_reject_bad_values(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Capabilities(**kw)  # type: ignore[arg-type]


def test_capabilities_require() -> None:
    caps = Capabilities(invoice_pdf=True)
    caps.require("invoice_pdf", "invoice_pdf")
    with pytest.raises(UnsupportedOperationError) as info:
        caps.require("item_receipts", "receive_purchase_order", backend="QuickBooks")
    err = info.value
    assert (err.code, err.backend, err.record) == (
        "item_receipts",
        "QuickBooks",
        "receive_purchase_order",
    )
    assert "item receipts" in str(err) and "receive_purchase_order" in str(err)
    with pytest.raises(ConfigurationError, match="not a capability"):
        caps.require("max_concurrency", "x")
    with pytest.raises(ConfigurationError):
        caps.require("teleport", "x")


# -- optional operations --------------------------------------------------------------------

OPTIONAL_CALLS: list[tuple[str, Callable[[AccountingBackend], object], str]] = [
    ("invoice_pdf", lambda b: b.invoice_pdf("1"), "invoice_pdf"),
    ("get_purchase_order", lambda b: b.get_purchase_order("1"), "purchase_orders"),
    ("find_purchase_order", lambda b: b.find_purchase_order("x"), "purchase_orders"),
    ("iter_purchase_orders", lambda b: b.iter_purchase_orders(), "purchase_orders"),
    (
        "create_purchase_order",
        lambda b: b.create_purchase_order(
            PurchaseOrder(vendor=Ref(id="1"), date=dt.date(2026, 1, 1), status="open")
        ),
        "purchase_orders",
    ),
    (
        "receive_purchase_order",
        lambda b: b.receive_purchase_order(
            ItemReceipt(
                purchase_order_id="1",
                date=dt.date(2026, 1, 1),
                lines=[{"line_id": "1", "quantity": 1}],
            )
        ),
        "item_receipts",
    ),
    (
        "iter_deleted",
        lambda b: b.iter_deleted("invoice", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        "deleted_records",
    ),
]


@pytest.mark.parametrize(("operation", "call", "capability"), OPTIONAL_CALLS)
def test_optional_operations_are_unsupported_by_default(
    operation: str, call: Callable[[AccountingBackend], object], capability: str
) -> None:
    with pytest.raises(UnsupportedOperationError) as info:
        call(MemoryBackend())
    assert info.value.code == capability
    assert info.value.backend == "Memory"
    assert info.value.record == operation


@pytest.mark.parametrize(("operation", "call", "capability"), OPTIONAL_CALLS)
def test_claimed_but_unimplemented_operations_still_fail_cleanly(
    operation: str, call: Callable[[AccountingBackend], object], capability: str
) -> None:
    everything = Capabilities(**dict.fromkeys(Capabilities.flags(), True))
    with pytest.raises(UnsupportedOperationError, match="does not implement"):
        call(MemoryBackend(everything))


def test_create_purchase_order_needs_its_own_capability() -> None:
    backend = MemoryBackend(Capabilities(purchase_orders=True))
    order = PurchaseOrder(vendor=Ref(id="1"), date=dt.date(2026, 1, 1), status="open")
    with pytest.raises(UnsupportedOperationError) as info:
        backend.create_purchase_order(order)
    assert info.value.code == "create_purchase_orders"


def test_core_operations_are_abstract() -> None:
    expected = (
        {f"{verb}_{kind}" for kind in ("customer", "vendor", "item") for verb in ("get", "create")}
        | {f"find_{k}s" for k in ("customer", "vendor", "item")}
        | {f"iter_{k}s" for k in ("customer", "vendor", "item", "invoice", "payment")}
        | {
            "capabilities",
            "get_invoice",
            "find_invoice",
            "create_invoice",
            "update_invoice",
            "get_payment",
            "find_payment",
            "create_payment",
        }
    )
    assert AccountingBackend.__abstractmethods__ == expected

    class Partial(AccountingBackend):
        pass

    with pytest.raises(TypeError):
        Partial()  # type: ignore[abstract]


# -- finding by name ------------------------------------------------------------------------


def test_find_customer_none_one_and_case_insensitive() -> None:
    backend = MemoryBackend()
    assert backend.find_customer("Acme") is None
    acme = backend.create_customer(Customer(name="Acme Corp"))
    assert backend.find_customer("Acme Corp") == acme
    assert backend.find_customer("ACME CORP") == acme
    assert backend.find_customers("acme") == []


def test_exact_matches_win_over_case_insensitive_ones() -> None:
    backend = MemoryBackend()
    exact = backend.create_customer(Customer(name="Acme"))
    backend.create_customer(Customer(name="ACME"))
    assert backend.find_customers("Acme") == [exact]
    assert backend.find_customer("Acme") == exact
    # No exact "acme": both case-insensitive matches are candidates.
    with pytest.raises(AmbiguousMatchError):
        backend.find_customer("acme")


def test_find_customer_ambiguity() -> None:
    backend = MemoryBackend()
    first = backend.create_customer(Customer(name="Acme"))
    second = backend.create_customer(Customer(name="Acme"))
    with pytest.raises(AmbiguousMatchError) as info:
        backend.find_customer("Acme")
    err = info.value
    assert isinstance(err, MappingError)
    assert err.candidates == [first, second]
    assert err.backend == "Memory"
    assert "'Acme'" in str(err) and "get_customer" in str(err)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is AmbiguousMatchError and copy.candidates == [first, second]


def test_find_vendor_and_item_share_the_rule() -> None:
    backend = MemoryBackend()
    vendor = backend.create_vendor(Vendor(name="Bolt Supply"))
    assert backend.find_vendor("bolt supply") == vendor
    backend.create_item(Item(name="Widget"))
    backend.create_item(Item(name="widget"))
    with pytest.raises(AmbiguousMatchError) as info:
        backend.find_item("WIDGET")
    assert len(info.value.candidates) == 2


# -- create_invoices ------------------------------------------------------------------------


def test_create_invoices_keeps_input_order_when_completion_order_differs() -> None:
    backend = MemoryBackend(Capabilities(max_concurrency=4))
    done = {n: threading.Event() for n in range(4)}

    def later_first(invoice: Invoice) -> None:
        n = int(str(invoice.external_id).split("-")[1])
        if n < 3:  # each waits for the next one, so they finish 3, 2, 1, 0
            assert done[n + 1].wait(WAIT)

    backend.on_create = later_first
    original = backend.create_invoice

    def create_and_signal(invoice: Invoice) -> Invoice:
        created = original(invoice)
        done[int(str(invoice.external_id).split("-")[1])].set()
        return created

    backend.create_invoice = create_and_signal  # type: ignore[method-assign]
    result = backend.create_invoices(make_invoice(n) for n in range(4))
    assert [o.index for o in result] == [0, 1, 2, 3]
    assert [o.key for o in result] == ["inv-0", "inv-1", "inv-2", "inv-3"]
    assert [o.record.external_id for o in result if o.record] == [
        "inv-0",
        "inv-1",
        "inv-2",
        "inv-3",
    ]
    # ids were assigned in completion order, proving the writes really overlapped
    assert [o.record.id for o in result if o.record] == ["4", "3", "2", "1"]
    assert result.ok and result.counts == {"created": 4, "existed": 0, "failed": 0}


@pytest.mark.parametrize(("limit", "requested", "expected"), [(3, None, 3), (2, 10, 2), (4, 1, 1)])
def test_create_invoices_bounds_concurrency(
    limit: int, requested: int | None, expected: int
) -> None:
    backend = MemoryBackend(Capabilities(max_concurrency=limit))
    gauge = Gauge()
    barrier = threading.Barrier(expected, timeout=WAIT)
    cond = threading.Condition()
    calls = pulled = 0
    pulled_while_first_wave_ran: list[int] = []

    def source() -> Iterator[Invoice]:
        nonlocal pulled
        for n in range(25):
            with cond:
                pulled += 1
                cond.notify_all()
            yield make_invoice(n)

    def observe(invoice: Invoice) -> None:
        nonlocal calls
        with cond:
            calls += 1
            first_wave = calls <= expected
        with gauge:
            if first_wave:
                barrier.wait()  # proves `expected` writes run at the same time
                with cond:  # and, while they run, the input is not read further
                    cond.wait_for(lambda: pulled > expected, timeout=0.01)
                    pulled_while_first_wave_ran.append(pulled)
                barrier.wait()  # nobody of the first wave finishes before all have looked

    backend.on_create = observe
    result = backend.create_invoices(source(), max_workers=requested)
    assert len(result) == 25 and result.ok
    assert gauge.peak == expected
    assert pulled_while_first_wave_ran == [expected] * expected


def test_create_invoices_consumes_input_lazily() -> None:
    backend = MemoryBackend(Capabilities(max_concurrency=3))
    gauge = Gauge()
    pulled = 0
    worst = 0
    lock = threading.Lock()

    def source() -> Iterator[Invoice]:
        nonlocal pulled
        for n in range(40):
            with lock:
                pulled += 1
            yield make_invoice(n)

    def observe(invoice: Invoice) -> None:
        nonlocal worst
        with gauge, lock:
            worst = max(worst, pulled - gauge.finished)

    backend.on_create = observe
    result = backend.create_invoices(source())
    assert len(result) == 40
    assert pulled == 40
    # Never more than max_workers invoices taken from the input and not yet finished.
    assert 1 <= worst <= 3


def test_input_errors_propagate_after_started_writes_finish() -> None:
    backend = MemoryBackend(Capabilities(max_concurrency=2))

    def source() -> Iterator[Invoice]:
        yield make_invoice(0)
        yield make_invoice(1)
        yield make_invoice(2)
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke") as caught:
        backend.create_invoices(source())
    assert sorted(i.external_id or "" for i in backend.invoices.values()) == [
        "inv-0",
        "inv-1",
        "inv-2",
    ]
    # Nothing written is lost with the caller's exception: every outcome rides on it.
    partial = caught.value.partial_result  # type: ignore[attr-defined]
    assert [(o.index, o.key, o.status) for o in partial] == [
        (0, "inv-0", "created"),
        (1, "inv-1", "created"),
        (2, "inv-2", "created"),
    ]
    assert any("partial_result" in note for note in caught.value.__notes__)


def test_create_invoices_captures_failures_per_invoice() -> None:
    backend = MemoryBackend(Capabilities(max_concurrency=3))
    boom = ValueError("kaput")

    def fail_some(invoice: Invoice) -> None:
        if invoice.external_id == "inv-1":
            raise DuplicateError("Duplicate Document Number Error", code="6140")
        if invoice.external_id == "inv-3":
            raise boom

    backend.on_create = fail_some
    inputs: list[object] = [make_invoice(n) for n in range(5)]
    inputs.insert(2, {"not": "an invoice"})
    result = backend.create_invoices(inputs)  # type: ignore[arg-type]

    assert len(result) == 6
    assert [o.status for o in result] == [
        "created",
        "failed",
        "failed",
        "created",
        "failed",
        "created",
    ]
    assert not result.ok
    assert result.counts == {"created": 3, "existed": 0, "failed": 3}
    assert [o.index for o in result.failed] == [1, 2, 4]
    assert [o.index for o in result.created] == [0, 3, 5]
    assert result.existed == []
    assert [r.external_id for r in result.records] == ["inv-0", "inv-2", "inv-4"]

    duplicate, not_invoice, wrapped = (o.error for o in result.failed)
    assert isinstance(duplicate, DuplicateError)
    assert (duplicate.backend, duplicate.record) == ("Memory", "invoice inv-1")
    assert isinstance(not_invoice, ConfigurationError)
    assert result[2].key is None and not_invoice.record == "invoice #2"
    assert isinstance(wrapped, ServiceError) and wrapped.__cause__ is boom
    assert "ValueError" in str(wrapped) and wrapped.record == "invoice inv-3"
    assert all(o.record is None for o in result.failed)

    with pytest.raises(DuplicateError) as info:
        result.raise_for_failures()
    assert info.value is duplicate
    notes = getattr(info.value, "__notes__", [])
    assert notes == [
        "3 of 6 failed: #1 (inv-1), #2, #4 (inv-3); this is the first; "
        "see BulkResult.failed for the rest"
    ]
    with pytest.raises(DuplicateError):
        result.raise_for_failures()
    assert len(getattr(duplicate, "__notes__", [])) == 1


def test_create_invoices_existed_via_the_hook() -> None:
    backend = UpsertingBackend(Capabilities(max_concurrency=2))
    first = backend.create_invoices([make_invoice(0), make_invoice(1)])
    again = backend.create_invoices([make_invoice(1), make_invoice(2), make_invoice(3, None)])
    assert [o.status for o in first] == ["created", "created"]
    assert [o.status for o in again] == ["existed", "created", "created"]
    assert again[0].record == first[1].record
    assert again[2].key is None
    assert len(backend.invoices) == 4
    again.raise_for_failures()  # nothing failed: no exception


def test_default_hook_reports_created() -> None:
    (outcome,) = MemoryBackend().create_invoices([make_invoice(7)])
    assert outcome.status == "created"
    assert outcome.record is not None and outcome.record.id is not None


def test_hook_returning_nonsense_is_a_failure_not_a_crash() -> None:
    class Broken(MemoryBackend):
        def _create_invoice_outcome(  # type: ignore[override]
            self, invoice: Invoice
        ) -> tuple[object, str]:
            return invoice, "maybe"

    result = Broken().create_invoices([make_invoice(0)])
    assert result.counts["failed"] == 1
    assert isinstance(result[0].error, ServiceError)


@pytest.mark.parametrize("workers", [0, -1, True, 1.5, "2"])
def test_create_invoices_rejects_bad_max_workers_before_reading_input(workers: object) -> None:
    pulled = []

    def source() -> Iterator[Invoice]:
        pulled.append(1)
        yield make_invoice(0)

    with pytest.raises(ConfigurationError):
        MemoryBackend().create_invoices(source(), max_workers=workers)  # type: ignore[arg-type]
    assert pulled == []


def test_create_invoices_empty_input() -> None:
    result = MemoryBackend().create_invoices([])
    assert len(result) == 0 and result.ok and list(result) == []


# -- BulkResult and BulkOutcome -------------------------------------------------------------


def test_bulk_result_orders_and_checks_its_outcomes() -> None:
    inv = make_invoice(0)
    err = ServiceError("down")
    result = BulkResult(
        [BulkOutcome(1, None, "failed", error=err), BulkOutcome(0, "k", "existed", inv)]
    )
    assert [o.index for o in result] == [0, 1]
    assert result[0].ok and not result[1].ok
    assert list(result[0:1]) == [result[0]]
    assert repr(result) == "BulkResult(created=0, existed=1, failed=1)"
    for broken in (
        [BulkOutcome(1, None, "existed", inv)],
        [BulkOutcome(0, None, "existed", inv)] * 2,
    ):
        with pytest.raises(ConfigurationError):
            BulkResult(broken)


@pytest.mark.parametrize(
    "kw",
    [
        {"status": "failed"},
        {"status": "created"},
        {"status": "created", "record": "r", "error": ServiceError("x")},
        {"status": "skipped", "record": "r"},
    ],
)
def test_bulk_outcome_must_be_coherent(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        BulkOutcome(index=0, key=None, **kw)  # type: ignore[arg-type]


def test_erp_sync_errors_in_outcomes_are_the_library_tree() -> None:
    outcome: BulkOutcome[str] = BulkOutcome(0, None, "failed", error=ServiceError("x"))
    assert isinstance(outcome.error, ErpSyncError)


def test_closest_names_read_a_bounded_number_of_records() -> None:
    from itertools import count

    from erpsync.backend.names import SUGGESTION_SCAN, closest_names

    drawn: list[int] = []

    def names():
        for n in count():
            drawn.append(n)
            yield "Acme Robotics" if n == 3 else f"Customer {n}"

    assert closest_names("acme robotic", names()) == ["Acme Robotics"]
    assert len(drawn) == SUGGESTION_SCAN


def test_an_unknown_name_with_nothing_similar_says_so() -> None:
    from erpsync.backend.names import ref_for

    with pytest.raises(UnknownNameError) as caught:
        ref_for("vendor", "Zeta", None, None, ["Acme", None, "Beta Corp"])
    assert caught.value.closest == []
    assert "no vendor has a similar name" in str(caught.value)
    assert caught.value.record == "vendor 'Zeta'"
    assert ref_for("vendor", "Zeta", "7", "Zeta Ltd", []) == Ref(id="7", name="Zeta Ltd")


def test_unknown_name_errors_survive_pickling() -> None:
    from erpsync.backend.names import ref_for

    with pytest.raises(UnknownNameError) as caught:
        ref_for("item", "Machinng", None, None, ["Machining"])
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.closest == ["Machining"] and str(copy) == str(caught.value)
