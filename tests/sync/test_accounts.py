"""AccountingSync on both emulators: pushes, customer matching, crashes, faults, imports."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.backend import AccountingBackend, AmbiguousMatchError
from erpsync.models import (
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentApplication,
    Ref,
)
from erpsync.store import SQLiteSyncStore
from erpsync.sync.accounts import AccountingSync, Failure
from erpsync.testing.core.emulator import FakeClock
from erpsync.testing.netsuite import FakeNetSuite
from erpsync.testing.quickbooks import FakeQuickBooks


@dataclass
class Erp:
    kind: str
    fake: Any
    backend: AccountingBackend
    clock: FakeClock
    customer: str  # a seeded customer's display name
    item: str  # a seeded item id

    @property
    def invoice_type(self) -> str:
        return "invoice" if self.kind == "netsuite" else "Invoice"

    def invoices(self) -> dict[str, list[Invoice]]:
        """The ERP's invoices that carry an external id, by external id."""
        found: dict[str, list[Invoice]] = {}
        for invoice in self.backend.iter_invoices():
            if invoice.external_id is not None:
                found.setdefault(invoice.external_id, []).append(invoice)
        return found


def connect(kind: str) -> tuple[Any, FakeClock]:
    clock = FakeClock()
    fake = FakeNetSuite(clock=clock) if kind == "netsuite" else FakeQuickBooks(clock=clock)
    return fake, clock


@pytest.fixture(params=["netsuite", "quickbooks"])
def erp(request: pytest.FixtureRequest) -> Iterator[Erp]:
    fake, clock = connect(request.param)
    with fake:
        backend = fake.backend(rng=random.Random(7))  # governance and timing: the emulator's
        if request.param == "netsuite":
            yield Erp("netsuite", fake, backend, clock, "Acme Robotics", "201")
        else:
            yield Erp("quickbooks", fake, backend, clock, "Cool Cars", "1")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(tmp_path / "sync.db") as opened:
        yield opened


def local_invoice(erp: Erp, n: int, amount: str = "100.00", **changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "external_id": f"INV-{n}",
        "customer": Ref(id=f"local-{n}", name=erp.customer),
        "date": date(2026, 10, 1),
        "lines": [
            InvoiceLine(description=f"Services {n}", amount=Decimal(amount), item=Ref(id=erp.item))
        ],
    }
    fields.update(changes)
    return Invoice(**fields)


def totals(erp: Erp) -> dict[str, Decimal]:
    found = erp.invoices()
    assert all(len(v) == 1 for v in found.values()), f"duplicates: {found}"
    return {key: records[0].total for key, records in found.items()}


# -- pushing invoices ---------------------------------------------------------------------


def test_push_creates_new_non_draft_invoices_once(erp: Erp, store: SQLiteSyncStore) -> None:
    sync = AccountingSync(erp.backend, store)
    invoices = [local_invoice(erp, n) for n in range(3)]
    draft = local_invoice(erp, 9, status=InvoiceStatus.DRAFT)

    report = sync.push_invoices([*invoices, draft])

    assert report.created == ["INV-0", "INV-1", "INV-2"]
    assert report.skipped == [Failure("INV-9", "draft invoices are not synced")]
    assert report.customers.matched == {erp.customer: report.customers.matched[erp.customer]}
    assert totals(erp) == {f"INV-{n}": Decimal("100.00") for n in range(3)}
    erp_invoice = erp.invoices()["INV-0"][0]
    assert erp_invoice.customer.id == report.customers.matched[erp.customer]

    before = erp.fake.stats.requests
    again = sync.push_invoices(invoices)
    assert again.unchanged == ["INV-0", "INV-1", "INV-2"]
    assert again.created == []
    assert erp.fake.stats.requests == before  # unchanged invoices cost no request


@pytest.mark.parametrize("policy", ["skip", "report", "update"])
def test_changed_invoices_follow_the_policy(erp: Erp, store: SQLiteSyncStore, policy: Any) -> None:
    sync = AccountingSync(erp.backend, store, changed_invoice_policy=policy)
    sync.push_invoices([local_invoice(erp, 1)])
    changed = local_invoice(erp, 1, amount="175.00")

    report = sync.push_invoices([changed])

    if policy == "skip":
        assert [f.number for f in report.skipped] == ["INV-1"]
        assert totals(erp)["INV-1"] == Decimal("100.00")
    elif policy == "report":
        assert [f.number for f in report.needs_action] == ["INV-1"]
        assert "update it there by hand" in report.needs_action[0].reason
        assert totals(erp)["INV-1"] == Decimal("100.00")
    else:
        assert report.updated == ["INV-1"]
        assert totals(erp)["INV-1"] == Decimal("175.00")
        assert sync.push_invoices([changed]).unchanged == ["INV-1"]


def test_payment_status_changes_do_not_count_as_edits(erp: Erp, store: SQLiteSyncStore) -> None:
    sync = AccountingSync(erp.backend, store, changed_invoice_policy="report")
    sync.push_invoices([local_invoice(erp, 1)])
    paid = local_invoice(erp, 1, status=InvoiceStatus.PAID, balance=Decimal(0))
    assert sync.push_invoices([paid]).unchanged == ["INV-1"]


def test_unmatched_customers_fail_with_a_reason_and_the_rest_continue(
    erp: Erp, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(erp.backend, store)
    stranger = local_invoice(erp, 2, customer=Ref(id="c9", name="Nobody Industries"))
    nameless = local_invoice(erp, 3, customer=Ref(id="c10"))

    report = sync.push_invoices([local_invoice(erp, 1), stranger, nameless])

    assert report.created == ["INV-1"]
    failures = dict(report.failed)
    assert "no " in failures["INV-2"] and "Nobody Industries" in failures["INV-2"]
    assert "create_missing_customers" in failures["INV-2"]
    assert "no customer name" in failures["INV-3"]
    assert report.customers.missing == ["Nobody Industries"]
    assert set(totals(erp)) == {"INV-1"}
    # a failed invoice is retried on the next push
    fixed = sync.push_invoices([local_invoice(erp, 2)])
    assert fixed.created == ["INV-2"]


def test_customer_names_mapping_and_creating_missing_customers(
    erp: Erp, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(erp.backend, store, create_missing_customers=True)
    invoice = local_invoice(erp, 1, customer=Ref(id="c1"))

    report = sync.push_invoices([invoice], customer_names={"INV-1": "Brand New Ltd"})

    assert report.created == ["INV-1"]
    created_id = report.customers.created["Brand New Ltd"]
    found = erp.backend.find_customer("Brand New Ltd")
    assert found is not None and found.id == created_id
    assert erp.invoices()["INV-1"][0].customer.id == created_id
    # the next push finds it by name instead of creating another
    again = sync.push_invoices([local_invoice(erp, 2, customer=Ref(id="c1", name="Brand New Ltd"))])
    assert again.customers.matched == {"Brand New Ltd": created_id}
    assert len(erp.backend.find_customers("Brand New Ltd")) == 1


def test_ambiguous_customer_names_are_reported(
    erp: Erp, store: SQLiteSyncStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    twins = [Customer(id="7", name="Twin Co"), Customer(id="8", name="Twin Co")]

    def find_customer(name: str) -> Customer | None:
        raise AmbiguousMatchError("2 customers match", candidates=twins)

    monkeypatch.setattr(erp.backend, "find_customer", find_customer)
    sync = AccountingSync(erp.backend, store, create_missing_customers=True)
    report = sync.push_invoices([local_invoice(erp, 1, customer=Ref(id="x", name="Twin Co"))])
    assert report.customers.ambiguous == {"Twin Co": ["7", "8"]}
    assert "2 " in report.failed[0].reason and "Twin Co" in report.failed[0].reason
    assert erp.invoices() == {}


def test_an_erp_refusal_is_recorded_with_the_invoice_number(
    erp: Erp, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(erp.backend, store)
    bad = local_invoice(
        erp, 2, lines=[InvoiceLine(description="x", amount=Decimal("5.00"), item=Ref(id="99999"))]
    )
    report = sync.push_invoices([local_invoice(erp, 1), bad, local_invoice(erp, 3)])
    assert report.created == ["INV-1", "INV-3"]
    assert [f.number for f in report.failed] == ["INV-2"]
    assert erp.backend.name in report.failed[0].reason
    entry = store.get(erp.backend.name, "invoice", "INV-2", tenant=erp.backend.tenant)
    assert entry is not None and entry.state == "failed"


# -- crashes and faults -------------------------------------------------------------------


class Crash(BaseException):
    """The process dying mid-pass (not an error a sync may catch)."""


def test_a_pass_resumed_after_a_crash_completes_without_duplicates(
    erp: Erp, store: SQLiteSyncStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = [local_invoice(erp, n, amount=f"{10 + n}.00") for n in range(6)]
    real_create = erp.backend.create_invoice
    created: list[str] = []

    def dying_create(invoice: Invoice) -> Invoice:
        written = real_create(invoice)  # the ERP commits ...
        created.append(str(invoice.external_id))
        if len(created) == 3:
            raise Crash  # ... and the process dies before the ledger hears of it
        return written

    monkeypatch.setattr(erp.backend, "create_invoice", dying_create)
    sync = AccountingSync(erp.backend, store)
    with pytest.raises(Crash):
        sync.run(source)
    assert store.runs()[0].status == "failed"
    monkeypatch.setattr(erp.backend, "create_invoice", real_create)

    result = AccountingSync(erp.backend, store).run(source)

    assert result.run.status == "ok"
    assert sorted(result.invoices.created) == ["INV-2", "INV-3", "INV-4", "INV-5"]
    assert sorted(result.invoices.unchanged) == ["INV-0", "INV-1"]
    assert totals(erp) == {f"INV-{n}": Decimal(f"{10 + n}.00") for n in range(6)}


def test_a_dead_writers_claim_is_taken_over_after_its_lease(erp: Erp, tmp_path: Path) -> None:
    now = [datetime(2026, 11, 1, tzinfo=UTC)]
    store = SQLiteSyncStore(tmp_path / "sync.db", clock=lambda: now[0])
    invoice = local_invoice(erp, 1)
    # A process claimed INV-1, wrote it to the ERP, and was killed (no cleanup at all).
    dead = store.claim(
        erp.backend.name,
        "invoice",
        "INV-1",
        owner="dead",
        lease_seconds=60,
        tenant=erp.backend.tenant,
    )
    assert dead is not None
    sync = AccountingSync(erp.backend, store)
    customer = erp.backend.find_customer(erp.customer)
    assert customer is not None and customer.id is not None
    erp.backend.create_invoice(invoice.model_copy(update={"customer": Ref(id=customer.id)}))

    blocked = sync.push_invoices([invoice])
    assert blocked.skipped and "another sync" in blocked.skipped[0].reason

    now[0] += timedelta(seconds=61)
    resumed = sync.push_invoices([invoice])
    assert resumed.created == ["INV-1"]
    assert totals(erp) == {"INV-1": Decimal("100.00")}
    store.close()


@pytest.mark.parametrize("fault", ["lose_response", "throttle", "server_error"])
def test_a_pass_with_injected_faults_leaves_the_erp_matching_the_source(
    erp: Erp, store: SQLiteSyncStore, fault: str
) -> None:
    source = [local_invoice(erp, n, amount=f"{20 + n}.00") for n in range(5)]
    erp.fake.inject(fault, times=3, match=lambda request: request.method in ("POST", "PUT"))

    sync = AccountingSync(erp.backend, store)
    first = sync.run(source)
    if first.invoices.failed:  # retries spent on some: the next pass finishes the job
        second = sync.run(source)
        assert not second.invoices.failed

    assert totals(erp) == {f"INV-{n}": Decimal(f"{20 + n}.00") for n in range(5)}
    records = [r for r in erp.fake.records(erp.invoice_type) if _external_id(erp, r)]
    assert Counter(_external_id(erp, r) for r in records) == {f"INV-{n}": 1 for n in range(5)}


def _external_id(erp: Erp, record: dict[str, Any]) -> str | None:
    if erp.kind == "netsuite":
        return record.get("externalId")
    note = str(record.get("PrivateNote") or "")
    marker = "[erpsync external_id="
    return note.split(marker, 1)[1].split("]", 1)[0] if marker in note else None


# -- payments -----------------------------------------------------------------------------


def test_payments_are_applied_by_local_invoice_key_once(erp: Erp, store: SQLiteSyncStore) -> None:
    sync = AccountingSync(erp.backend, store)
    sync.push_invoices([local_invoice(erp, 1)])
    payment = Payment(
        external_id="PAY-1",
        customer=Ref(id="local-1"),
        date=date(2026, 10, 5),
        amount=Decimal("40.00"),
        applications=[PaymentApplication(invoice_id="INV-1", amount=Decimal("40.00"))],
    )

    report = sync.push_payments([payment])
    assert report.created == ["PAY-1"]
    assert erp.invoices()["INV-1"][0].balance == Decimal("60.00")
    assert sync.push_payments([payment]).unchanged == ["PAY-1"]
    assert erp.invoices()["INV-1"][0].balance == Decimal("60.00")

    unknown = payment.model_copy(
        update={
            "external_id": "PAY-2",
            "applications": [PaymentApplication(invoice_id="INV-404", amount=Decimal("1.00"))],
        }
    )
    failed = sync.push_payments([unknown])
    assert [f.number for f in failed.failed] == ["PAY-2"]


def test_pull_payments_returns_erp_payments_but_not_ours(erp: Erp, store: SQLiteSyncStore) -> None:
    sync = AccountingSync(erp.backend, store)
    sync.push_invoices([local_invoice(erp, 1), local_invoice(erp, 2)])
    ours = Payment(
        external_id="PAY-1",
        customer=Ref(id="x"),
        date=date(2026, 10, 5),
        amount=Decimal("10.00"),
        applications=[PaymentApplication(invoice_id="INV-1", amount=Decimal("10.00"))],
    )
    sync.push_payments([ours])
    invoice_2 = erp.invoices()["INV-2"][0]
    assert invoice_2.id is not None
    theirs = erp.backend.create_payment(
        Payment(
            external_id="ERP-PAY-7",
            customer=invoice_2.customer,
            date=date(2026, 10, 6),
            amount=Decimal("30.00"),
            applications=[PaymentApplication(invoice_id=invoice_2.id, amount=Decimal("30.00"))],
        )
    )

    with sync.pull_payments() as batch:
        assert [p.id for p in batch] == [theirs.id]
    assert batch.committed
    assert len(sync.pull_payments()) == 0


# -- imports ------------------------------------------------------------------------------


def _erp_invoice(erp: Erp, key: str, amount: str = "50.00") -> Invoice:
    customer = erp.backend.find_customer(erp.customer)
    assert customer is not None and customer.id is not None
    return erp.backend.create_invoice(
        Invoice(
            external_id=key,
            customer=Ref(id=customer.id),
            date=date(2026, 9, 1),
            lines=[
                InvoiceLine(
                    description="typed in the ERP", amount=Decimal(amount), item=Ref(id=erp.item)
                )
            ],
        )
    )


def test_import_invoices_is_incremental_and_skips_our_own(erp: Erp, store: SQLiteSyncStore) -> None:
    sync = AccountingSync(erp.backend, store)
    sync.push_invoices([local_invoice(erp, 1)])
    before = {i.id for i in erp.backend.iter_invoices(open_only=True)}
    created = [_erp_invoice(erp, f"ERP-{n}") for n in range(3)]

    batch = sync.import_invoices()
    ids = {i.id for i in batch}
    assert {c.id for c in created} <= ids
    assert erp.invoices()["INV-1"][0].id not in ids  # pushed from here: not imported
    assert ids <= before | {c.id for c in created}

    again = sync.import_invoices()  # not committed: delivered again
    assert {i.id for i in again} == ids
    again.commit()
    assert len(sync.import_invoices()) == 0

    erp.clock.advance(3600)
    newer = _erp_invoice(erp, "ERP-9")
    assert [i.id for i in sync.import_invoices()] == [newer.id]


def test_imported_invoices_are_not_pushed_back_but_their_payments_are(
    erp: Erp, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(erp.backend, store, changed_invoice_policy="update")
    imported = _erp_invoice(erp, "ERP-1", amount="80.00")
    with sync.import_invoices() as batch:
        assert imported.id in {i.id for i in batch}
    edited = imported.model_copy(
        update={"lines": [InvoiceLine(description="edited here", amount=Decimal("99.00"))]}
    )

    report = sync.push_invoices([edited])
    assert report.created == [] and report.updated == []
    assert "imported" in report.skipped[0].reason
    assert erp.invoices()["ERP-1"][0].total == Decimal("80.00")

    assert imported.id is not None
    payment = Payment(
        external_id="PAY-1",
        customer=Ref(id="local"),
        date=date(2026, 10, 5),
        amount=Decimal("30.00"),
        applications=[PaymentApplication(invoice_id=imported.id, amount=Decimal("30.00"))],
    )
    assert sync.push_payments([payment]).created == ["PAY-1"]
    assert erp.invoices()["ERP-1"][0].balance == Decimal("50.00")


def test_import_customers_brings_the_whole_list_then_only_changes(
    erp: Erp, store: SQLiteSyncStore
) -> None:
    sync = AccountingSync(erp.backend, store)
    everyone = {c.id for c in erp.backend.iter_customers()}
    with sync.import_customers() as batch:
        assert {c.id for c in batch} == everyone
    assert len(sync.import_customers()) == 0
    erp.clock.advance(60)
    new = erp.backend.create_customer(Customer(name="Fresh Start LLC", external_id="cust-new"))
    assert [c.id for c in sync.import_customers()] == [new.id]


def test_a_process_killed_between_the_erp_answer_and_the_ledger_makes_no_duplicate(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unlike an exception the sync sees, a killed process tells the ledger nothing: its
    # claim stays "claimed" until the lease runs out.
    now = [datetime(2026, 11, 1, tzinfo=UTC)]
    store = SQLiteSyncStore(tmp_path / "killed.db", clock=lambda: now[0])
    source = [local_invoice(erp, n, amount=f"{30 + n}.00") for n in range(3)]
    real_mark_written = store.mark_written
    recorded: list[str] = []

    def mark_written(*args: Any, **kwargs: Any) -> Any:
        if len(recorded) == 1:
            raise Crash  # the second invoice is in the ERP; the process is gone
        recorded.append("x")
        return real_mark_written(*args, **kwargs)

    def dead(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(store, "mark_written", mark_written)
        patch.setattr(store, "mark_failed", dead)
        patch.setattr(store, "finish_run", dead)
        with pytest.raises(Crash):
            AccountingSync(erp.backend, store, lease_seconds=60).run(source)
    entry = store.get(erp.backend.name, "invoice", "INV-1", tenant=erp.backend.tenant)
    assert entry is not None and entry.state == "claimed"

    blocked = AccountingSync(erp.backend, store).push_invoices(source)
    assert [f.number for f in blocked.skipped] == ["INV-1"]  # its lease is still live
    now[0] += timedelta(seconds=61)
    resumed = AccountingSync(erp.backend, store).push_invoices(source)
    assert resumed.created == ["INV-1"] and not resumed.failed
    assert totals(erp) == {f"INV-{n}": Decimal(f"{30 + n}.00") for n in range(3)}

    # The killed pass never closed its run; the next pass, holding the lock, does.
    AccountingSync(erp.backend, store).run(source)
    killed = store.runs(kind="accounting-sync")[-1]
    assert killed.status == "failed" and [e.code for e in killed.errors] == ["abandoned"]
    store.close()
