"""Two ERP companies sharing one sync store never see each other's records (issue 12).

Each test runs a workflow for company A, then the same workflow for company B with
the same source keys (invoice AR-1, job 1042, one webhook event id, the seeded purchase
orders, the customer list), and checks that B's company got its records: before ledger
keys, cursors and locks carried the tenant, B's writes came back ``unchanged``,
``existed`` or ``duplicate`` and never reached B's company.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.backend import AccountingBackend
from erpsync.errors import ConfigurationError
from erpsync.mapping.xometry import InvoicePolicy, XometryJob
from erpsync.models import Invoice, InvoiceLine, Ref
from erpsync.store import SQLiteSyncStore
from erpsync.sync.accounts import RUN_KIND, AccountingSync
from erpsync.sync.purchasing import PurchaseOrderSync, PurchasingRunReport
from erpsync.sync.sinks import MemoryPurchasingSink, SinkPurchaseOrder, UpsertResult
from erpsync.sync.webhooks import InvoiceUpsertHandler, SourceInvoice
from erpsync.sync.xometry import XometryInvoicing
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite
from erpsync.testing.quickbooks import FakeQuickBooks

REALMS = ("9130350000000001", "9130350000000002")
ACCOUNTS = ("1234567_SB1", "7654321_SB1")
SEEDED_QBO = ("Cool Cars", "1")  # a seeded customer and item of every emulated company
PARTS = {"WIDGET-100", "SHOP-SUPPLIES", "BRACKET-KIT"}  # the seeded NetSuite orders' parts
SUPPLIERS = {"Precision Parts Co.": "S-1", "Metal Supply Inc.": "S-2"}


@dataclass
class Company:
    fake: FakeQuickBooks
    backend: AccountingBackend

    def invoices(self) -> list[dict[str, Any]]:
        return self.fake.records("Invoice")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(tmp_path / "shared.db") as opened:
        yield opened


@pytest.fixture
def companies() -> Iterator[tuple[Company, Company]]:
    # In-process interception routes by host, and every company shares QuickBooks' host,
    # so the two companies are served on loopback ports instead.
    clock = FakeClock()
    a, b = (FakeQuickBooks(realm_id=realm, clock=clock) for realm in REALMS)
    a.serve()
    b.serve()
    try:
        yield (
            Company(a, a.backend(rng=random.Random(1))),
            Company(b, b.backend(rng=random.Random(2))),
        )
    finally:
        a.shutdown()
        b.shutdown()


def ar_1() -> Invoice:
    customer, item = SEEDED_QBO
    return Invoice(
        external_id="AR-1",
        customer=Ref(id="local", name=customer),
        date=date(2026, 10, 1),
        lines=[InvoiceLine(description="work", amount=Decimal("25.00"), item=Ref(id=item))],
    )


def test_the_tenant_defaults_to_the_backend_and_can_be_overridden(
    companies: tuple[Company, Company], store: SQLiteSyncStore
) -> None:
    a, _ = companies
    assert AccountingSync(a.backend, store).tenant == REALMS[0]
    sync = AccountingSync(a.backend, store, tenant="books-east")
    assert sync.tenant == "books-east"
    assert sync.lock_name == "accounting-sync:QuickBooks:books-east"
    with pytest.raises(ConfigurationError, match="tenant"):
        AccountingSync(a.backend, store, tenant="  ")


def test_push_invoices_writes_the_same_external_id_to_both_companies(
    companies: tuple[Company, Company], store: SQLiteSyncStore
) -> None:
    a, b = companies
    assert AccountingSync(a.backend, store).push_invoices([ar_1()]).created == ["AR-1"]
    report = AccountingSync(b.backend, store).push_invoices([ar_1()])
    assert report.created == ["AR-1"] and report.unchanged == []
    assert len(a.invoices()) == 1 and len(b.invoices()) == 1
    # Each company's ledger entry holds that company's invoice id.
    (entry_a,) = store.iter_entries(record_type="invoice", tenant=REALMS[0])
    (entry_b,) = store.iter_entries(record_type="invoice", tenant=REALMS[1])
    assert entry_a.remote_id == a.invoices()[0]["Id"]
    assert entry_b.remote_id == b.invoices()[0]["Id"]


def test_company_b_runs_while_company_a_holds_its_pass_lock(
    companies: tuple[Company, Company], store: SQLiteSyncStore
) -> None:
    a, b = companies
    sync_a, sync_b = AccountingSync(a.backend, store), AccountingSync(b.backend, store)
    assert sync_a.lock_name != sync_b.lock_name
    assert store.lock(sync_a.lock_name, "company-a-worker", 600)
    store.start_run(RUN_KIND, a.backend.name, tenant=REALMS[0])  # A's pass, in progress
    result = sync_b.run([ar_1()], pull=False)
    assert result.run.status == "ok" and result.invoices.created == ["AR-1"]
    # B's pass did not list A's runs, nor close A's running pass as abandoned.
    assert [run.tenant for run in sync_b.runs()] == [REALMS[1]]
    assert [run.status for run in sync_a.runs()] == ["running"]


def test_import_customers_keeps_one_cursor_per_company(
    companies: tuple[Company, Company], store: SQLiteSyncStore
) -> None:
    a, b = companies
    everyone_in_b = {c.id for c in b.backend.iter_customers()}
    AccountingSync(a.backend, store).import_customers().commit()
    with AccountingSync(b.backend, store).import_customers() as batch:
        assert {c.id for c in batch} == everyone_in_b and everyone_in_b


def test_xometry_job_1042_is_invoiced_in_both_companies(
    companies: tuple[Company, Company], store: SQLiteSyncStore
) -> None:
    job = XometryJob.model_validate(
        {
            "job_id": "1042",
            "price": "1250.00",
            "accepted_date": date(2026, 4, 1),
            "expected_ship_date": date(2026, 4, 20),
            "status": "accepted",
        }
    )
    for company in companies:
        customer = next(iter(company.backend.iter_customers()))
        item = next(i for i in company.backend.iter_items() if i.kind == "service")
        policy = InvoicePolicy.model_validate(
            {
                "trigger": "accepted",
                "customer": Ref(id=str(customer.id)),
                "item": Ref(id=str(item.id)),
            }
        )
        workflow = XometryInvoicing(company.backend, policy, store, wait_seconds=0.0)
        assert workflow.on_job_accepted(job).status == "created"
        assert len(company.invoices()) == 1


def test_a_webhook_event_is_handled_once_per_company(
    companies: tuple[Company, Company], store: SQLiteSyncStore
) -> None:
    event = {"id": "evt-1", "type": "invoice.finalized", "properties": {"invoice_id": "in-7"}}

    def handler(company: Company) -> InvoiceUpsertHandler:
        customer = next(iter(company.backend.iter_customers()))

        def fetch(invoice_id: str) -> SourceInvoice:
            return SourceInvoice.from_mapping(
                {
                    "id": invoice_id,
                    "issued_at": "2026-10-09T00:00:00Z",
                    "customer": {"id": "c-1", "name": "Acme"},
                    "line_items": [{"name": "API calls", "total": 100.5}],
                }
            )

        def transform(source: SourceInvoice) -> Invoice:
            return ar_1().model_copy(
                update={"external_id": source.id, "customer": Ref(id=str(customer.id))}
            )

        return InvoiceUpsertHandler(company.backend, store, fetch, transform)

    for company in companies:
        company_handler = handler(company)
        assert company_handler.handle(event).action == "created"
        assert company_handler.handle(event).action == "duplicate"
        assert len(company.invoices()) == 1


@pytest.fixture
def accounts() -> Iterator[tuple[FakeNetSuite, FakeNetSuite]]:
    clock = FakeClock()
    a, b = (FakeNetSuite(account, clock=clock) for account in ACCOUNTS)
    with a, b:
        yield a, b


def _purchasing(fake: FakeNetSuite, store: SQLiteSyncStore) -> PurchaseOrderSync:
    sink = MemoryPurchasingSink(parts=PARTS, suppliers=SUPPLIERS)
    return PurchaseOrderSync(
        fake.backend(), sink, store=store, clock=lambda: datetime(2026, 11, 3, tzinfo=UTC)
    )


def test_purchase_orders_of_both_accounts_reach_their_sinks(
    accounts: tuple[FakeNetSuite, FakeNetSuite], store: SQLiteSyncStore
) -> None:
    sync_a, sync_b = (_purchasing(fake, store) for fake in accounts)
    assert sync_a.run().counts["created"] == 3
    report = sync_b.run()
    assert report.ok and report.counts["created"] == 3
    assert isinstance(sync_b.sink, MemoryPurchasingSink) and len(sync_b.sink.orders) == 3


def test_account_b_runs_while_account_a_runs(
    accounts: tuple[FakeNetSuite, FakeNetSuite], store: SQLiteSyncStore
) -> None:
    sync_a, sync_b = (_purchasing(fake, store) for fake in accounts)
    inner: list[PurchasingRunReport] = []

    class RunsBInside(MemoryPurchasingSink):
        """A's sink: while A's run holds its lock, B's run starts (another worker)."""

        def upsert_purchase_order(self, order: SinkPurchaseOrder) -> UpsertResult:
            if not inner:
                inner.append(sync_b.run())
            return super().upsert_purchase_order(order)

    sync_a.sink = RunsBInside(parts=PARTS, suppliers=SUPPLIERS)
    assert sync_a.run().ok
    (report_b,) = inner
    assert report_b.ok and report_b.counts["created"] == 3
