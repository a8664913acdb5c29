"""The backend contract: what every :class:`~erpsync.backend.AccountingBackend` does.

Subclass :class:`BackendContract` with a ``backend`` fixture that returns a connected
backend (an emulator, a sandbox, your own ERP's backend), and pytest runs every rule
against it::

    from erpsync.testing.contracts import BackendContract

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def backend(self):
            with FakeNetSuite() as fake:
                yield fake.backend()

The suite creates what it needs (a customer, an item) under unique names, so it can run
against a company that already holds data. It covers create/get/find/iter for
customers, items, invoices and payments, idempotent repeats by external id, bulk writes
with partial failure (one outcome per input, in order, each failure naming its invoice),
``partial_result`` when the caller's input raises, and that every capability the
backend lacks raises :class:`~erpsync.errors.UnsupportedOperationError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from erpsync.backend import AccountingBackend, BulkResult, UnknownNameError
from erpsync.errors import ErpSyncError, MappingError, UnsupportedOperationError
from erpsync.models import (
    Customer,
    Invoice,
    InvoiceLine,
    Item,
    ItemReceipt,
    ItemReceiptLine,
    Payment,
    PaymentApplication,
    Ref,
)

__all__ = ["BackendContract"]

#: A date every backend's company accepts; the suite's records are told apart by keys.
DAY = date(2026, 11, 3)
DAY_START = datetime(2026, 11, 1, tzinfo=UTC)


class _InputBroke(Exception):
    """The caller's own iterable failing part-way (not an erpsync error)."""


def _tag() -> str:
    return uuid.uuid4().hex[:10]


class BackendContract:
    """The rules every backend keeps. Provide a ``backend`` fixture in a subclass."""

    @pytest.fixture
    def backend(self) -> AccountingBackend:
        raise NotImplementedError("subclass BackendContract and provide a backend fixture")

    @pytest.fixture
    def customer(self, backend: AccountingBackend) -> Customer:
        tag = _tag()
        return backend.create_customer(Customer(external_id=f"c-{tag}", name=f"Contract {tag}"))

    @pytest.fixture
    def item(self, backend: AccountingBackend) -> Item:
        tag = _tag()
        return backend.create_item(Item(external_id=f"i-{tag}", name=f"Contract item {tag}"))

    def invoice(
        self, customer: Customer, item: Item, key: str | None, amount: str = "100.00"
    ) -> Invoice:
        """The invoice the suite writes; override to adapt it to a backend's rules."""
        assert customer.id is not None
        assert item.id is not None
        return Invoice(
            external_id=key,
            customer=Ref(id=customer.id),
            date=DAY,
            lines=[
                InvoiceLine(description="Contract", amount=Decimal(amount), item=Ref(id=item.id))
            ],
        )

    # -- customers and items --------------------------------------------------------------

    def test_customers_create_get_find_iter(
        self, backend: AccountingBackend, customer: Customer
    ) -> None:
        assert customer.id
        assert backend.get_customer(customer.id).name == customer.name
        found = backend.find_customer(customer.name)
        assert found is not None
        assert found.id == customer.id
        assert backend.find_customer(f"no such customer {_tag()}") is None
        assert customer.id in {c.id for c in backend.iter_customers()}

    def test_resolve_names_to_refs(
        self, backend: AccountingBackend, customer: Customer, item: Item
    ) -> None:
        assert backend.resolve_customer(customer.name) == Ref(id=customer.id, name=customer.name)
        assert backend.resolve_item(item.name).id == item.id
        misspelt = customer.name[:-1]
        with pytest.raises(UnknownNameError) as caught:
            backend.resolve_customer(misspelt)
        assert caught.value.field == "name"
        assert repr(misspelt) in str(caught.value)
        assert customer.name in caught.value.closest
        assert isinstance(caught.value, MappingError)

    def test_items_create_get_find_iter(self, backend: AccountingBackend, item: Item) -> None:
        assert item.id
        assert backend.get_item(item.id).name == item.name
        found = backend.find_item(item.name)
        assert found is not None
        assert found.id == item.id
        assert item.id in {i.id for i in backend.iter_items()}

    # -- invoices and payments ------------------------------------------------------------

    def test_invoices_create_get_find_iter(
        self, backend: AccountingBackend, customer: Customer, item: Item
    ) -> None:
        key = f"inv-{_tag()}"
        created = backend.create_invoice(self.invoice(customer, item, key))
        assert created.id
        assert created.external_id == key
        assert created.total == Decimal("100.00")
        assert backend.get_invoice(created.id).external_id == key
        found = backend.find_invoice(key)
        assert found is not None
        assert found.id == created.id
        assert backend.find_invoice(f"none-{_tag()}") is None
        assert created.id in {i.id for i in backend.iter_invoices()}

    def test_payments_create_get_find_iter(
        self, backend: AccountingBackend, customer: Customer, item: Item
    ) -> None:
        invoice = backend.create_invoice(self.invoice(customer, item, f"inv-{_tag()}"))
        assert invoice.id
        assert customer.id
        key = f"pay-{_tag()}"
        payment = Payment(
            external_id=key,
            customer=Ref(id=customer.id),
            date=DAY,
            amount=Decimal("40.00"),
            applications=[PaymentApplication(invoice_id=invoice.id, amount=Decimal("40.00"))],
        )
        created = backend.create_payment(payment)
        assert created.id
        assert created.amount == Decimal("40.00")
        assert backend.get_payment(created.id).amount == Decimal("40.00")
        found = backend.find_payment(key)
        assert found is not None
        assert found.id == created.id
        assert created.id in {p.id for p in backend.iter_payments()}
        assert backend.create_payment(payment).id == created.id  # idempotent repeat

    def test_a_repeated_create_with_an_external_id_makes_one_record(
        self, backend: AccountingBackend, customer: Customer, item: Item
    ) -> None:
        key = f"rep-{_tag()}"
        first = backend.create_invoice(self.invoice(customer, item, key))
        again = backend.create_invoice(self.invoice(customer, item, key))
        assert again.id == first.id
        result = backend.create_invoices([self.invoice(customer, item, key)])
        assert [(o.status, o.record.id if o.record else None) for o in result] == [
            ("existed", first.id)
        ]

    # -- bulk ------------------------------------------------------------------------------

    def test_bulk_reports_one_outcome_per_input_with_partial_failure(
        self, backend: AccountingBackend, customer: Customer, item: Item
    ) -> None:
        tag = _tag()
        good = [self.invoice(customer, item, f"b-{tag}-{n}") for n in range(4)]
        dangling = self.invoice(customer, item, f"b-{tag}-bad").model_copy(
            update={"customer": Ref(id="999999")}
        )
        inputs: list[Any] = [
            good[0],
            dangling,
            good[1],
            "not an invoice",
            good[2],
            good[0],
            good[3],
        ]
        result = backend.create_invoices(inputs)
        assert [o.index for o in result] == list(range(len(inputs)))
        assert [o.status for o in result] == [
            "created", "failed", "created", "failed", "created", "existed", "created"
        ]  # fmt: skip
        assert result[5].record is not None
        assert result[0].record is not None
        assert result[5].record.id == result[0].record.id  # a repeat is written once
        error = result[1].error
        assert isinstance(error, ErpSyncError)
        assert result[1].key == f"b-{tag}-bad"
        assert f"b-{tag}-bad" in str(error)
        assert backend.create_invoices(good).counts == {"created": 0, "existed": 4, "failed": 0}

    def test_bulk_keeps_what_it_wrote_when_the_input_raises(
        self, backend: AccountingBackend, customer: Customer, item: Item
    ) -> None:
        tag = _tag()

        def inputs() -> Iterator[Invoice]:
            for n in range(40):
                yield self.invoice(customer, item, f"p-{tag}-{n}", amount="10.00")
            raise _InputBroke("the caller's source failed")

        with pytest.raises(_InputBroke) as caught:
            backend.create_invoices(inputs())
        partial = getattr(caught.value, "partial_result", None)
        assert isinstance(partial, BulkResult)
        assert len(partial) == 40
        assert partial.ok
        assert [o.key for o in partial] == [f"p-{tag}-{n}" for n in range(40)]
        found = backend.find_invoice(f"p-{tag}-39")
        assert found is not None
        assert partial[39].record is not None
        assert found.id == partial[39].record.id

    # -- capabilities ---------------------------------------------------------------------

    def test_every_missing_capability_raises_unsupported(self, backend: AccountingBackend) -> None:
        caps = backend.capabilities
        calls: dict[str, Any] = {
            "invoice_pdf": lambda: backend.invoice_pdf("1"),
            "purchase_orders": lambda: backend.get_purchase_order("1"),
            "item_receipts": lambda: backend.receive_purchase_order(
                ItemReceipt(
                    purchase_order_id="1",
                    date=DAY,
                    lines=[ItemReceiptLine(line_id="1", quantity=Decimal(1))],
                )
            ),
            "deleted_records": lambda: list(backend.iter_deleted("invoice", DAY_START)),
        }
        for name in (name for name in calls if not getattr(caps, name)):
            with pytest.raises(UnsupportedOperationError) as caught:
                calls[name]()
            assert caught.value.backend == backend.name
            with pytest.raises(UnsupportedOperationError):
                caps.require(name, name)
