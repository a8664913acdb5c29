"""erpsync.sync.runs: the one exclusive run, its lease renewal and its run log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from erpsync.errors import ConfigurationError, ConflictError, ServiceError
from erpsync.store import RunError, SQLiteSyncStore
from erpsync.sync import SyncBusyError
from erpsync.sync.runs import ExclusiveRun, LockLostError, RunLog
from erpsync.testing import FakeClock


def now_of(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock.now(), tz=UTC)


@pytest.fixture
def store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(tmp_path / "runs.db", clock=lambda: now_of(fake_clock)) as opened:
        yield opened


def exclusive(
    store: SQLiteSyncStore, clock: FakeClock, owner: str = "me", **options: object
) -> ExclusiveRun:
    return ExclusiveRun(
        store, "demo", "ERP", tenant="t1", owner=owner, ttl=30,
        clock=lambda: now_of(clock), **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_pass_is_logged_ok_and_releases_its_lock(
    store: SQLiteSyncStore, fake_clock: FakeClock
) -> None:
    runner = exclusive(store, fake_clock)
    assert runner.lock_name == "demo:ERP:t1"
    with runner.start() as run:
        assert run.started_at() == now_of(fake_clock)  # on the store's clock
        run.finish(counts={"created": 2})
    assert run.record is not None and run.record.status == "ok"
    assert run.record.counts == {"created": 2} and run.record.tenant == "t1"
    assert store.lock(runner.lock_name, "someone-else", 30)


def test_errors_make_a_pass_partial_and_an_exception_makes_it_failed(
    store: SQLiteSyncStore, fake_clock: FakeClock
) -> None:
    runner = exclusive(store, fake_clock)
    with runner.start() as run:
        run.finish(errors=[RunError("invoice 1", "refused")])
    assert run.record is not None and run.record.status == "partial"

    with pytest.raises(ServiceError), runner.start("demo pass") as broken:
        broken.progress = lambda: ({"created": 1}, [RunError("invoice 2", "refused")])
        raise ServiceError("ERP down")
    record = store.get_run(broken.id)
    assert record is not None and record.status == "failed"
    assert record.counts == {"created": 1}
    assert [e.record for e in record.errors] == ["invoice 2", "demo pass"]
    assert "ERP down" in record.errors[-1].message


def test_a_second_pass_is_refused_here_and_elsewhere_but_not_for_another_tenant(
    store: SQLiteSyncStore, fake_clock: FakeClock
) -> None:
    runner = exclusive(store, fake_clock)
    other_process = exclusive(store, fake_clock, owner="other")
    other_tenant = ExclusiveRun(store, "demo", "ERP", tenant="t2", owner="other", ttl=30)
    with runner.start():
        with pytest.raises(SyncBusyError, match="in this process"), runner.start():
            pass
        with pytest.raises(SyncBusyError, match="elsewhere"), other_process.start():
            pass
        with other_tenant.start() as run:
            run.finish()
    assert issubclass(SyncBusyError, ConflictError)


def test_a_run_left_running_by_a_dead_process_is_closed_when_the_next_pass_starts(
    store: SQLiteSyncStore, fake_clock: FakeClock
) -> None:
    log = RunLog(store, "demo", "ERP", tenant="t1")
    dead = log.start()
    with exclusive(store, fake_clock).start() as run:
        run.finish()
    record = store.get_run(dead)
    assert record is not None and record.status == "failed"
    assert [r.id for r in log.runs()] == [run.id, dead]


def test_a_pass_whose_writes_outlast_the_ttl_keeps_its_lock(
    store: SQLiteSyncStore, fake_clock: FakeClock
) -> None:
    """Ten writes of 20 s each under a 30 s lease: renewing between them keeps the lock,
    so another process is refused throughout and the pass finishes."""
    runner = exclusive(store, fake_clock, background_renewal=False)
    with runner.start() as run:
        for _ in range(10):
            fake_clock.advance(20)  # one slow write
            run.renew()
            assert store.lock(runner.lock_name, "other", 30) is None
        run.finish()
    assert run.record is not None and run.record.status == "ok"


def test_without_renewal_the_same_pass_would_lose_its_lock(
    store: SQLiteSyncStore, fake_clock: FakeClock
) -> None:
    """The control for the test above: the lease really expires after its TTL."""
    runner = exclusive(store, fake_clock, background_renewal=False)
    with pytest.raises(LockLostError, match="lost its lock"), runner.start() as run:
        fake_clock.advance(31)
        assert store.lock(runner.lock_name, "other", 30) is not None
        run.renew()
    record = store.get_run(run.id)
    assert record is not None and record.status == "failed"
    # the new holder keeps the lock: the losing pass does not unlock it
    assert store.lock(runner.lock_name, "third", 30) is None


def test_a_lock_that_changed_hands_and_came_back_is_lost_by_its_fence(
    store: SQLiteSyncStore, fake_clock: FakeClock
) -> None:
    runner = exclusive(store, fake_clock, background_renewal=False)
    with pytest.raises(LockLostError, match="fence"), runner.start() as run:
        fake_clock.advance(31)
        assert store.lock(runner.lock_name, "other", 30)
        assert store.unlock(runner.lock_name, "other")
        run.renew()
    assert isinstance(LockLostError("x"), SyncBusyError)


def test_the_background_thread_keeps_the_lock_through_one_long_write(tmp_path: Path) -> None:
    """One write longer than the whole TTL, with no renew() call during it: the
    background renewal keeps the lease (real time, short TTL, well under a second)."""
    with SQLiteSyncStore(tmp_path / "real.db") as store:
        runner = ExclusiveRun(store, "demo", "ERP", tenant="t1", owner="me", ttl=0.3)
        with runner.start() as run:
            deadline = time.monotonic() + 0.7
            while time.monotonic() < deadline:  # the slow write, longer than the TTL
                assert store.lock(runner.lock_name, "other", 0.3) is None
                time.sleep(0.05)
            run.renew()  # not lost
            run.finish()
        assert run.record is not None and run.record.status == "ok"
        assert store.lock(runner.lock_name, "other", 0.3) is not None


def test_the_background_thread_reports_a_lost_lease_at_the_next_renewal(
    tmp_path: Path,
) -> None:
    taken = threading.Event()
    with SQLiteSyncStore(tmp_path / "real.db") as store:
        runner = ExclusiveRun(store, "demo", "ERP", tenant="t1", owner="me", ttl=0.2)
        with pytest.raises(LockLostError), runner.start() as run:
            assert store.unlock(runner.lock_name, "me")
            assert store.lock(runner.lock_name, "other", 60)
            taken.set()
            deadline = time.monotonic() + 0.9
            while not run.lease.lost and time.monotonic() < deadline:
                time.sleep(0.02)
            assert run.lease.lost
            run.renew()


def test_recording_a_pass_that_could_not_start(store: SQLiteSyncStore) -> None:
    log = RunLog(store, "demo", "ERP", tenant="t1")
    log.record_failure(ValueError("source broke"), label="sync source")
    (record,) = log.runs()
    assert record.status == "failed" and record.errors[0].record == "sync source"


def test_a_non_positive_ttl_is_a_configuration_error(store: SQLiteSyncStore) -> None:
    with pytest.raises(ConfigurationError, match="ttl"):
        ExclusiveRun(store, "demo", "ERP", tenant="t1", owner="me", ttl=0)
