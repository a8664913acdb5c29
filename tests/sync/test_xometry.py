"""The marketplace-job invoicing workflow, run the same way on both emulated ERPs.

Every scenario is parametrized over FakeNetSuite and FakeQuickBooks and goes through the
real backends and the wire; assertions read the emulators' stored records, so "exactly
once" means exactly one record in the ERP, not one call in a mock.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.backend import AccountingBackend, AmbiguousMatchError
from erpsync.errors import ErpSyncError, MappingError, ServiceError
from erpsync.mapping.xometry import (
    InvoicePolicy,
    XometryJob,
    XometryPayout,
    invoice_external_id,
    invoice_for_job,
)
from erpsync.models import Customer, InvoiceLine, Ref
from erpsync.store import Claim, SQLiteSyncStore
from erpsync.sync.xometry import INVOICE_RECORD, PAYMENT_RECORD, XometryInvoicing
from erpsync.testing import FakeClock, FakeNetSuite, FakeQuickBooks
from erpsync.testing.core.wire import WireRequest

ERPS = ("netsuite", "quickbooks")


@dataclass
class Env:
    """One emulated ERP company, a backend on it, and a sync store."""

    erp: str
    fake: FakeNetSuite | FakeQuickBooks
    backend: AccountingBackend
    store: SQLiteSyncStore
    customer: Ref
    item: Ref
    path: Path
    store_now: list[datetime]

    @property
    def invoice_type(self) -> str:
        return "invoice" if self.erp == "netsuite" else "Invoice"

    @property
    def payment_type(self) -> str:
        return "customerPayment" if self.erp == "netsuite" else "Payment"

    def invoices(self) -> list[dict[str, Any]]:
        return self.fake.records(self.invoice_type)

    def payments(self) -> list[dict[str, Any]]:
        return self.fake.records(self.payment_type)

    def policy(self, trigger: str = "accepted") -> InvoicePolicy:
        return InvoicePolicy.model_validate(
            {"trigger": trigger, "customer": self.customer, "item": self.item}
        )

    def new_backend(self) -> AccountingBackend:
        return _backend(self.fake)

    def workflow(
        self,
        trigger: str = "accepted",
        *,
        backend: AccountingBackend | None = None,
        store: SQLiteSyncStore | None = None,
        **options: Any,
    ) -> XometryInvoicing:
        options.setdefault("wait_seconds", 0.0)
        options.setdefault("sleep", lambda seconds: None)
        return XometryInvoicing(
            backend or self.backend, self.policy(trigger), store or self.store, **options
        )

    def is_invoice_write(self, request: WireRequest) -> bool:
        return _writes(request, "invoice")

    def is_payment_write(self, request: WireRequest) -> bool:
        return _writes(request, "customerpayment" if self.erp == "netsuite" else "payment")


def _writes(request: WireRequest, record: str) -> bool:
    if request.method not in {"POST", "PUT", "PATCH"}:
        return False
    parts = [p.lower() for p in request.path.split("/") if p]
    return record in parts[-2:] or any(p == record for p in parts)


def _backend(fake: FakeNetSuite | FakeQuickBooks) -> AccountingBackend:
    # By default the emulator's clock drives retries and rate windows and the limiter
    # mirrors its governance, so throttling costs no time.
    return fake.backend(rng=random.Random(0))


@pytest.fixture(params=ERPS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    fake: FakeNetSuite | FakeQuickBooks = (
        FakeNetSuite(clock=FakeClock())
        if request.param == "netsuite"
        else FakeQuickBooks(clock=FakeClock())
    )
    now = [datetime(2026, 5, 1, tzinfo=UTC)]
    path = tmp_path / "sync.db"
    with fake, SQLiteSyncStore(path, clock=lambda: now[0]) as store:
        backend = _backend(fake)
        customer = next(iter(backend.iter_customers()))
        item = next(i for i in backend.iter_items() if i.kind == "service")
        assert customer.id is not None and item.id is not None
        yield Env(
            request.param,
            fake,
            backend,
            store,
            Ref(id=customer.id),
            Ref(id=item.id),
            path,
            now,
        )


def job(job_id: str = "J100", price: str = "1250.00", **changes: Any) -> XometryJob:
    data: dict[str, Any] = {
        "job_id": job_id,
        "price": price,
        "accepted_date": date(2026, 4, 1),
        "expected_ship_date": date(2026, 4, 20),
        "status": "accepted",
    }
    data.update(changes)
    return XometryJob.model_validate(data)


def shipped(job_id: str = "J100", price: str = "1250.00") -> XometryJob:
    return job(job_id, price, status="completed", ship_date=date(2026, 4, 17))


def payout(amount: str, *job_ids: str, payout_id: str = "P1") -> XometryPayout:
    return XometryPayout(payout_id=payout_id, date=date(2026, 5, 2), amount=amount, job_ids=job_ids)


# -- invoices on events ---------------------------------------------------------------------


def test_accepted_job_becomes_one_single_line_invoice(env: Env) -> None:
    result = env.workflow().on_job_accepted(job())
    assert result.status == "created" and result.created
    assert result.invoice_id is not None
    invoice = env.backend.get_invoice(result.invoice_id)
    assert invoice.customer.id == env.customer.id
    assert invoice.date == date(2026, 4, 20)  # the expected ship date
    assert invoice.total == Decimal("1250.00")
    assert len(invoice.lines) == 1
    assert invoice.lines[0].amount == Decimal("1250.00")
    assert invoice.lines[0].item is not None and invoice.lines[0].item.id == env.item.id
    assert invoice.lines[0].description == "Xometry Job J100"
    assert len(env.invoices()) == 1
    entry = env.store.get(env.backend.name, INVOICE_RECORD, "J100", tenant=env.backend.tenant)
    assert entry is not None and entry.state == "written"
    assert entry.remote_id == result.invoice_id
    assert entry.external_id == "xometry-job-J100"


def test_the_same_event_twice_makes_one_invoice(env: Env) -> None:
    workflow = env.workflow()
    first = workflow.on_job_accepted(job())
    second = workflow.on_job_accepted(job())
    assert (first.status, second.status) == ("created", "existed")
    assert second.invoice_id == first.invoice_id
    assert second.number == first.number
    assert len(env.invoices()) == 1


@pytest.mark.parametrize("job_id", ["J/7 x", "JOB-2026-000123456789"])
def test_awkward_and_long_job_ids_still_make_one_findable_invoice(env: Env, job_id: str) -> None:
    workflow = env.workflow()
    created = workflow.on_job_accepted(job(job_id))
    assert created.status == "created"
    found = env.backend.find_invoice(invoice_external_id(job_id))
    assert found is not None and found.id == created.invoice_id
    env.store.close()  # a fresh ledger (say, lost): the ERP still knows the job
    with SQLiteSyncStore(env.path.with_name("other.db")) as fresh:
        report = env.workflow(store=fresh).backfill([job(job_id)])
    assert report.existed[0].invoice_id == created.invoice_id
    assert len(env.invoices()) == 1


def test_completed_trigger_skips_acceptance_and_invoices_on_ship_date(env: Env) -> None:
    workflow = env.workflow("completed")
    skipped = workflow.on_job_accepted(job())
    assert skipped.status == "skipped" and skipped.invoice_id is None
    assert skipped.reason is not None and "completed" in skipped.reason
    assert env.invoices() == []
    assert (
        env.store.get(env.backend.name, INVOICE_RECORD, "J100", tenant=env.backend.tenant) is None
    )

    done = workflow.on_job_completed(shipped())
    assert done.status == "created" and done.invoice_id is not None
    assert env.backend.get_invoice(done.invoice_id).date == date(2026, 4, 17)
    assert len(env.invoices()) == 1


def test_accepted_trigger_ignores_completion(env: Env) -> None:
    assert env.workflow().on_job_completed(shipped()).status == "skipped"
    assert env.invoices() == []


def test_completed_job_without_ship_date_is_an_error_naming_it(env: Env) -> None:
    with pytest.raises(MappingError, match="J100"):
        env.workflow("completed").on_job_completed(job(status="completed"))
    assert env.invoices() == []


def _zero_skipping(env: Env) -> XometryInvoicing:
    policy = env.policy().model_copy(update={"zero_total": "skip"})
    return XometryInvoicing(env.backend, policy, env.store, wait_seconds=0.0, sleep=lambda s: None)


def test_a_zero_job_under_a_skipping_policy_is_skipped_with_its_reason(env: Env) -> None:
    result = _zero_skipping(env).on_job_accepted(job(price="0.00"))
    assert result.status == "skipped" and result.invoice_id is None
    assert result.reason is not None and "zero_total='skip'" in result.reason
    assert env.invoices() == []
    with pytest.raises(MappingError, match="zero_total"):  # its payout is told why
        _zero_skipping(env).on_payout(payout("10.00", "J100"))


def test_backfill_skips_zero_jobs_under_a_skipping_policy(env: Env) -> None:
    report = _zero_skipping(env).backfill([job("J1", price="0.00"), job("J2")])
    assert [e.job_id for e in report.skipped] == ["J1"]
    assert "zero_total='skip'" in (report.skipped[0].reason or "")
    assert len(env.invoices()) == 1


def test_canceled_job_is_not_invoiced(env: Env) -> None:
    result = env.workflow().on_job_accepted(job(status="canceled"))
    assert result.status == "skipped" and result.reason == "the job is canceled"
    assert env.invoices() == []


# -- faults, races and crashes --------------------------------------------------------------


@pytest.mark.parametrize("fault", ["lose_response", "throttle", "server_error", "drop"])
def test_faults_on_the_invoice_write_leave_exactly_one_invoice(env: Env, fault: str) -> None:
    env.fake.inject(fault, times=2, match=env.is_invoice_write)
    workflow = env.workflow()
    try:
        result = workflow.on_job_accepted(job())
    except ErpSyncError:
        # A fault the backend could not see through: the next event delivery must
        # finish the job, looking the invoice up first.
        result = workflow.on_job_accepted(job())
    assert env.fake.stats.faults_by_kind.get(fault, 0) >= 1  # the fault did happen
    assert result.status in {"created", "existed"}
    assert len(env.invoices()) == 1
    assert workflow.on_job_accepted(job()).invoice_id == result.invoice_id
    assert len(env.invoices()) == 1


def test_persistent_server_errors_fail_then_a_retry_creates_the_invoice(env: Env) -> None:
    env.fake.inject("server_error", times=50, match=env.is_invoice_write)
    workflow = env.workflow()
    with pytest.raises(ServiceError):
        workflow.on_job_accepted(job())
    entry = env.store.get(env.backend.name, INVOICE_RECORD, "J100", tenant=env.backend.tenant)
    assert entry is not None and entry.state == "failed"
    assert env.invoices() == []
    env.fake.faults.reset()
    result = workflow.on_job_accepted(job())
    assert result.status == "created"
    assert len(env.invoices()) == 1


def test_two_workers_racing_on_one_job_make_one_invoice(env: Env) -> None:
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        with SQLiteSyncStore(env.path) as store:  # as another process would
            workflow = env.workflow(
                backend=env.new_backend(),
                store=store,
                owner=name,
                wait_seconds=10.0,
                poll_interval=0.005,
                sleep=threading.Event().wait,
            )
            barrier.wait()
            try:
                results.append(workflow.on_job_accepted(job()))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(r.status for r in results) == ["created", "existed"]
    assert results[0].invoice_id == results[1].invoice_id is not None
    assert len(env.invoices()) == 1


def claim_j100_elsewhere(env: Env) -> Claim | None:
    """Job J100 claimed by another worker ("other") in this company's ledger."""
    return env.store.claim(
        env.backend.name,
        INVOICE_RECORD,
        "J100",
        owner="other",
        lease_seconds=60,
        tenant=env.backend.tenant,
    )


def test_a_worker_waits_for_the_claim_holder_then_reports_its_invoice(env: Env) -> None:
    other = env.workflow(owner="other")
    claim = claim_j100_elsewhere(env)
    assert claim is not None

    def other_finishes(seconds: float) -> None:
        # While we wait, the claim holder writes the invoice and records it.
        created = other.backend.create_invoice(invoice_for_job(job(), other.policy))
        assert created.id is not None
        env.store.mark_written(claim, created.id, number=created.number)

    waiting = env.workflow(owner="me", wait_seconds=5.0, sleep=other_finishes)
    result = waiting.on_job_accepted(job())
    assert result.status == "existed"
    assert len(env.invoices()) == 1


def test_a_live_claim_held_elsewhere_is_reported_in_progress(env: Env) -> None:
    claim_j100_elsewhere(env)
    result = env.workflow(owner="me").on_job_accepted(job())
    assert result.status == "in_progress" and result.invoice_id is None
    assert env.invoices() == []


def test_ledger_write_failing_after_the_erp_answered_still_gives_one_invoice(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = env.store.mark_written
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ServiceError("the sync store failed: disk I/O error", retryable=False)
        return real(*args, **kwargs)

    monkeypatch.setattr(env.store, "mark_written", flaky)
    workflow = env.workflow()
    with pytest.raises(ServiceError, match="disk I/O"):
        workflow.on_job_accepted(job())
    assert len(env.invoices()) == 1  # the ERP has it, the ledger does not
    entry = env.store.get(env.backend.name, INVOICE_RECORD, "J100", tenant=env.backend.tenant)
    assert entry is not None and entry.state == "failed"

    looked_up: list[str] = []
    find = env.backend.find_invoice
    monkeypatch.setattr(env.backend, "find_invoice", lambda ext: looked_up.append(ext) or find(ext))
    result = workflow.on_job_accepted(job())
    assert result.status == "existed"
    assert looked_up == ["xometry-job-J100"]
    assert len(env.invoices()) == 1
    entry = env.store.get(env.backend.name, INVOICE_RECORD, "J100", tenant=env.backend.tenant)
    assert entry is not None and entry.state == "written" and entry.remote_id == result.invoice_id


def test_a_crash_before_the_ledger_write_is_recovered_after_the_lease(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crash(BaseException):
        """The process dies: nothing more reaches the store."""

    def die(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(env.store, "mark_written", die)
        patch.setattr(env.store, "mark_failed", die)
        with pytest.raises(Crash):
            env.workflow(owner="dead", lease_seconds=60).on_job_accepted(job())
    assert len(env.invoices()) == 1

    survivor = env.workflow(owner="survivor", lease_seconds=60)
    assert survivor.on_job_accepted(job()).status == "in_progress"  # lease still live
    env.store_now[0] += timedelta(seconds=61)
    result = survivor.on_job_accepted(job())
    assert result.status == "existed" and result.invoice_id is not None
    assert len(env.invoices()) == 1


# -- payouts --------------------------------------------------------------------------------


def test_payout_payment_applies_to_all_its_invoices_once(env: Env) -> None:
    workflow = env.workflow()
    a = workflow.on_job_accepted(job("J1", "100.00"))
    b = workflow.on_job_accepted(job("J2", "250.50"))
    result = workflow.on_payout(payout("350.50", "J1", "J2"))
    assert result.status == "created" and result.payment_id is not None
    assert result.invoice_ids == (a.invoice_id, b.invoice_id)
    payment = env.backend.get_payment(result.payment_id)
    assert payment.amount == Decimal("350.50")
    assert sorted((x.invoice_id, x.amount) for x in payment.applications) == sorted(
        [(a.invoice_id, Decimal("100.00")), (b.invoice_id, Decimal("250.50"))]
    )
    for invoice_id in (a.invoice_id, b.invoice_id):
        assert invoice_id is not None
        assert env.backend.get_invoice(invoice_id).balance == 0
    again = workflow.on_payout(payout("350.50", "J1", "J2"))
    assert again.status == "existed" and again.payment_id == result.payment_id
    assert len(env.payments()) == 1


def test_payout_amount_mismatch_names_both_figures_and_writes_nothing(env: Env) -> None:
    workflow = env.workflow()
    workflow.on_job_accepted(job("J1", "100.00"))
    workflow.on_job_accepted(job("J2", "200.00"))
    with pytest.raises(MappingError) as info:
        workflow.on_payout(payout("290.00", "J1", "J2"))
    assert "290.00" in str(info.value) and "300.00" in str(info.value)
    assert env.payments() == []
    # Fixing the payout (say, the missing fee was refunded) then goes through.
    assert workflow.on_payout(payout("300.00", "J1", "J2")).status == "created"
    assert len(env.payments()) == 1


def test_payout_with_jobs_never_invoiced_names_them(env: Env) -> None:
    workflow = env.workflow()
    workflow.on_job_accepted(job("J1", "100.00"))
    with pytest.raises(MappingError, match="J7, J8"):
        workflow.on_payout(payout("400.00", "J1", "J7", "J8"))
    assert env.payments() == []
    assert env.store.get(env.backend.name, PAYMENT_RECORD, "P1", tenant=env.backend.tenant) is None


def test_two_workers_racing_on_one_payout_make_one_payment(env: Env) -> None:
    first = env.workflow()
    first.on_job_accepted(job("J1", "100.00"))
    first.on_job_accepted(job("J2", "50.00"))
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        with SQLiteSyncStore(env.path) as store:  # as another process would
            workflow = env.workflow(
                backend=env.new_backend(),
                store=store,
                owner=name,
                wait_seconds=10.0,
                poll_interval=0.005,
                sleep=threading.Event().wait,
            )
            barrier.wait()
            try:
                results.append(workflow.on_payout(payout("150.00", "J1", "J2")))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(r.status for r in results) == ["created", "existed"]
    assert results[0].payment_id == results[1].payment_id is not None
    assert len(env.payments()) == 1


def test_one_workflow_shared_by_two_threads_makes_one_invoice(env: Env) -> None:
    workflow = env.workflow(wait_seconds=10.0, poll_interval=0.005, sleep=threading.Event().wait)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        results.append(workflow.on_job_accepted(job()))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.status for r in results) == ["created", "existed"]
    assert len(env.invoices()) == 1


@pytest.mark.parametrize("fault", ["lose_response", "server_error"])
def test_faults_on_the_payment_write_leave_exactly_one_payment(env: Env, fault: str) -> None:
    workflow = env.workflow()
    workflow.on_job_accepted(job("J1", "100.00"))
    env.fake.inject(fault, times=1, match=env.is_payment_write)
    try:
        result = workflow.on_payout(payout("100.00", "J1"))
    except ErpSyncError:
        result = workflow.on_payout(payout("100.00", "J1"))
    assert env.fake.stats.faults_by_kind.get(fault, 0) >= 1
    assert result.status in {"created", "existed"}
    assert len(env.payments()) == 1
    assert workflow.on_payout(payout("100.00", "J1")).payment_id == result.payment_id


def test_payout_recovers_when_the_ledger_missed_the_payment(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow = env.workflow()
    workflow.on_job_accepted(job("J1", "100.00"))
    real = env.store.mark_written
    failures = {"left": 1}

    def flaky(target: Any, *args: Any, **kwargs: Any) -> Any:
        payment = getattr(target, "key", None) is not None and (
            target.key.record_type == PAYMENT_RECORD
        )
        if payment and failures["left"]:
            failures["left"] -= 1
            raise ServiceError("the sync store failed", retryable=False)
        return real(target, *args, **kwargs)

    monkeypatch.setattr(env.store, "mark_written", flaky)
    with pytest.raises(ServiceError):
        workflow.on_payout(payout("100.00", "J1"))
    # The invoice is now paid: rebuilding the payment would fail; it is looked up instead.
    result = workflow.on_payout(payout("100.00", "J1"))
    assert result.status == "existed"
    assert len(env.payments()) == 1


# -- backfill -------------------------------------------------------------------------------


def test_backfill_dry_run_lists_and_writes_nothing_then_the_real_run_creates(env: Env) -> None:
    workflow = env.workflow()
    workflow.on_job_accepted(job("J4"))  # invoiced by the live integration already
    jobs = [
        job("J1", "10.00"),
        shipped("J2", "20.00"),
        job("J3", status="canceled"),
        job("J4"),
        job("J5", status="on hold"),
    ]
    ledger_before = list(env.store.iter_entries())

    preview = workflow.backfill(jobs, dry_run=True)
    assert preview.dry_run and preview.run_id is None
    assert [e.job_id for e in preview.would_create] == ["J1", "J2"]
    assert [e.invoice.total for e in preview.would_create if e.invoice] == [
        Decimal("10.00"),
        Decimal("20.00"),
    ]
    assert {e.job_id: e.reason for e in preview.skipped} == {
        "J3": "the job is canceled",
        "J4": "already invoiced",
        "J5": "unknown job status 'on hold'",
    }
    assert len(env.invoices()) == 1
    assert list(env.store.iter_entries()) == ledger_before
    assert env.store.runs() == []

    report = workflow.backfill(jobs)
    assert [e.job_id for e in report.created] == ["J1", "J2"]
    assert report.counts == {"created": 2, "skipped": 3}
    assert len(env.invoices()) == 3
    assert report.run_id is not None
    run = env.store.get_run(report.run_id)
    assert run is not None and run.status == "ok" and run.counts == report.counts

    again = workflow.backfill(jobs)
    assert again.created == [] and len(env.invoices()) == 3


def test_backfill_with_completed_trigger_skips_jobs_not_yet_shipped(env: Env) -> None:
    report = env.workflow("completed").backfill([job("J1"), shipped("J2")])
    assert [e.job_id for e in report.created] == ["J2"]
    assert report.skipped[0].job_id == "J1"
    assert len(env.invoices()) == 1


def test_backfill_adopts_invoices_made_before_the_ledger(env: Env) -> None:
    workflow = env.workflow()
    made_by_hand = env.backend.create_invoice(invoice_for_job(job("J1"), workflow.policy))
    preview = workflow.backfill([job("J1")], dry_run=True)
    assert preview.skipped[0].invoice_id == made_by_hand.id
    report = workflow.backfill([job("J1")])
    assert report.existed[0].invoice_id == made_by_hand.id
    assert len(env.invoices()) == 1
    entry = env.store.get(env.backend.name, INVOICE_RECORD, "J1", tenant=env.backend.tenant)
    assert entry is not None and entry.remote_id == made_by_hand.id


def test_backfill_failures_are_reported_and_do_not_stop_the_rest(env: Env) -> None:
    bad = invoice_external_id("J2")

    def for_j2(request: WireRequest) -> bool:
        return env.is_invoice_write(request) and (
            bad.encode() in request.body or bad in request.url
        )

    env.fake.inject("server_error", times=50, match=for_j2)
    report = env.workflow().backfill([job("J1"), job("J2"), job("J3")])
    assert [e.job_id for e in report.created] == ["J1", "J3"]
    assert [e.job_id for e in report.failed] == ["J2"]
    failure = report.failed[0]
    assert isinstance(failure.error, ServiceError) and failure.reason
    assert len(env.invoices()) == 2
    assert report.run_id is not None
    run = env.store.get_run(report.run_id)
    assert run is not None and run.status == "partial"
    assert [e.record for e in run.errors] == ["Xometry job J2"]


# -- in-house invoices ----------------------------------------------------------------------


def test_inhouse_invoice_by_name_returns_number_and_pdf_when_possible(env: Env) -> None:
    customer = env.backend.get_customer(env.customer.id)
    result = env.workflow().create_inhouse_invoice(
        customer.name,
        [("Prototype run, edited description", "480.00"), ("Setup", Decimal("20.00"))],
        date=date(2026, 5, 3),
        memo="In-house job 77",
    )
    assert result.status == "created" and result.invoice.id is not None
    stored = env.backend.get_invoice(result.invoice.id)
    assert stored.customer.id == env.customer.id
    assert stored.total == Decimal("500.00")
    assert [line.description for line in stored.lines] == [
        "Prototype run, edited description",
        "Setup",
    ]
    assert result.number == stored.number
    if env.backend.capabilities.invoice_pdf:
        assert result.pdf is not None and result.pdf.startswith(b"%PDF")
        assert result.pdf_note is None
    else:  # NetSuite without a PDF RESTlet: the invoice stands, the PDF is explained
        assert result.pdf is None
        assert result.pdf_note is not None and "RESTlet" in result.pdf_note
    assert len(env.invoices()) == 1
    # Customer details are not kept locally: the ledger holds nothing for a manual invoice
    # without an external id.
    assert list(env.store.iter_entries()) == []


def test_inhouse_invoice_with_an_ambiguous_customer_name_is_not_guessed(env: Env) -> None:
    if env.erp == "netsuite":
        # NetSuite keeps entity ids unique, not names: two customers may share one.
        env.backend.create_customer(Customer(name="Precision Works"))
        env.backend.create_customer(Customer(name="PRECISION WORKS"))
    else:
        # QuickBooks refuses a second customer with the same display name, so the
        # ambiguity is planted the way an old import could have left it.
        assert isinstance(env.fake, FakeQuickBooks)
        env.backend.create_customer(Customer(name="Precision Works"))
        env.fake.company.insert("Customer", {"DisplayName": "PRECISION WORKS", "Active": True})
    with pytest.raises(AmbiguousMatchError) as info:
        env.workflow().create_inhouse_invoice("precision works", [("Job", "10.00")])
    assert len(info.value.candidates) == 2
    assert env.invoices() == []


def test_inhouse_invoice_for_an_unknown_customer_name(env: Env) -> None:
    with pytest.raises(MappingError, match="no customer"):
        env.workflow().create_inhouse_invoice("Nobody Inc", [("Job", "10.00")])
    assert env.invoices() == []


def test_inhouse_invoice_with_external_id_is_created_once(env: Env) -> None:
    workflow = env.workflow()
    lines = [InvoiceLine(description="Fixture", amount=Decimal("75.00"), item=env.item)]
    first = workflow.create_inhouse_invoice(env.customer, lines, external_id="inhouse-77")
    second = workflow.create_inhouse_invoice(env.customer, lines, external_id="inhouse-77")
    assert (first.status, second.status) == ("created", "existed")
    assert first.invoice.id == second.invoice.id
    assert len(env.invoices()) == 1


# -- drift ----------------------------------------------------------------------------------


def _snapshot(env: Env) -> list[tuple[str, Any]]:
    key = "total" if env.erp == "netsuite" else "TotalAmt"
    return [(str(r.get("id", r.get("Id"))), r.get(key)) for r in env.invoices()]


def test_drift_report_lists_canceled_and_repriced_jobs_without_touching_the_erp(
    env: Env,
) -> None:
    workflow = env.workflow()
    a = workflow.on_job_accepted(job("J1", "100.00"))
    b = workflow.on_job_accepted(job("J2", "200.00"))
    workflow.on_job_accepted(job("J3", "300.00"))
    before = _snapshot(env)
    drifts = workflow.drift_report(
        [
            job("J1", "120.00"),
            job("J2", "200.00", status="canceled"),
            job("J3", "300.00"),
            job("J9", "1.00"),  # never invoiced: not drift
        ]
    )
    by_job = {d.job_id: d for d in drifts}
    assert set(by_job) == {"J1", "J2"}
    assert (by_job["J1"].kind, by_job["J1"].invoice_id) == ("repriced", a.invoice_id)
    assert (by_job["J1"].old_price, by_job["J1"].new_price) == (
        Decimal("100.00"),
        Decimal("120.00"),
    )
    assert by_job["J1"].number == a.number
    assert (by_job["J2"].kind, by_job["J2"].invoice_id) == ("canceled", b.invoice_id)
    assert by_job["J2"].note is not None and "never deletes" in by_job["J2"].note
    assert not any(d.applied for d in drifts)
    assert _snapshot(env) == before


def test_drift_apply_updates_open_prices_and_never_touches_canceled_or_paid(env: Env) -> None:
    workflow = env.workflow()
    a = workflow.on_job_accepted(job("J1", "100.00"))
    b = workflow.on_job_accepted(job("J2", "200.00"))
    c = workflow.on_job_accepted(job("J3", "300.00"))
    workflow.on_payout(payout("300.00", "J3"))
    drifts = workflow.drift_report(
        [job("J1", "120.00"), job("J2", status="canceled"), job("J3", "350.00")], apply=True
    )
    by_job = {d.job_id: d for d in drifts}
    assert by_job["J1"].applied
    assert a.invoice_id is not None and b.invoice_id is not None and c.invoice_id is not None
    assert env.backend.get_invoice(a.invoice_id).total == Decimal("120.00")
    assert not by_job["J2"].applied
    assert env.backend.get_invoice(b.invoice_id).total == Decimal("200.00")
    assert not by_job["J3"].applied and "not updated" in (by_job["J3"].note or "")
    assert env.backend.get_invoice(c.invoice_id).total == Decimal("300.00")
    assert len(env.invoices()) == 3
    # Once fixed, the re-priced job is no longer drift.
    assert "J1" not in {d.job_id for d in workflow.drift_report([job("J1", "120.00")])}


# -- construction -----------------------------------------------------------------------------


def test_workflow_refuses_wrong_collaborators(env: Env) -> None:
    from erpsync.errors import ConfigurationError

    bad: list[Callable[[], object]] = [
        lambda: XometryInvoicing(object(), env.policy(), env.store),  # type: ignore[arg-type]
        lambda: XometryInvoicing(env.backend, object(), env.store),  # type: ignore[arg-type]
        lambda: XometryInvoicing(env.backend, env.policy(), object()),  # type: ignore[arg-type]
        lambda: XometryInvoicing(env.backend, env.policy(), env.store, lease_seconds=0),
    ]
    for make in bad:
        with pytest.raises(ConfigurationError):
            make()
