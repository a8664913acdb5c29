"""The sync store: claims that hold across threads, processes, crashes and restarts."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from erpsync.errors import ConfigurationError, ConflictError, ErpSyncError, ServiceError
from erpsync.store import (
    SCHEMA_VERSION,
    Claim,
    LedgerKey,
    RunError,
    SQLiteSyncStore,
    SyncStore,
    content_hash,
    make_owner,
)

T0 = datetime(2026, 11, 3, 12, 0, 0, tzinfo=UTC)
KEY = ("netsuite", "invoice", "job-1042")


class Clock:
    """A hand-driven clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[SQLiteSyncStore]:
    with SQLiteSyncStore(":memory:", clock=clock) as s:
        yield s


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sync.db"


def claim(store: SyncStore, owner: str = "w1", lease: float = 60, **kw: object) -> Claim | None:
    return store.claim(*KEY, owner=owner, lease_seconds=lease, **kw)  # type: ignore[arg-type]


# -- ledger basics ---------------------------------------------------------------------------


def test_store_is_a_syncstore(store: SQLiteSyncStore) -> None:
    assert isinstance(store, SyncStore)


def test_get_unknown_is_none(store: SQLiteSyncStore) -> None:
    assert store.get(*KEY) is None


def test_first_claim_succeeds_and_records_entry(store: SQLiteSyncStore) -> None:
    c = claim(store, external_id="job-1042")
    assert c is not None
    assert c.key == LedgerKey(*KEY)
    assert c.attempt == 1
    assert c.previous_state is None
    assert not c.may_have_written
    assert c.lease_expires_at == T0 + timedelta(seconds=60)
    entry = store.get(*KEY)
    assert entry is not None
    assert entry.state == "claimed"
    assert entry.owner == "w1"
    assert entry.external_id == "job-1042"
    assert entry.attempts == 1
    assert entry.lease_expires_at == T0 + timedelta(seconds=60)
    assert entry.updated_at == T0
    assert entry.key == LedgerKey(*KEY)


def test_live_claim_blocks_other_owners(store: SQLiteSyncStore, clock: Clock) -> None:
    assert claim(store, "w1") is not None
    clock.advance(59)
    assert claim(store, "w2") is None
    # Not even the same owner gets a second claim on a live lease: one write at a time.
    assert claim(store, "w1") is None


def test_mark_written_completes_claim_and_blocks_reclaims(store: SQLiteSyncStore) -> None:
    c = claim(store, external_id="job-1042")
    assert c is not None
    entry = store.mark_written(c, "177", "sha256:abc", number="INV-9")
    assert entry.state == "written"
    assert (entry.remote_id, entry.content_hash, entry.number) == ("177", "sha256:abc", "INV-9")
    assert entry.owner is None and entry.lease_expires_at is None
    assert entry.external_id == "job-1042"
    assert store.get(*KEY) == entry
    assert claim(store, "w2") is None


def test_reclaim_written_for_update_carries_remote_id(store: SQLiteSyncStore) -> None:
    c = claim(store)
    assert c is not None
    store.mark_written(c, "177", "sha256:v1")
    update = claim(store, "w2", reclaim_written=True)
    assert update is not None
    assert update.previous_state == "written"
    assert update.remote_id == "177"
    assert update.content_hash == "sha256:v1"
    assert not update.may_have_written  # it certainly did: remote_id says where
    entry = store.mark_written(update, "177", "sha256:v2")
    assert entry.content_hash == "sha256:v2"
    assert entry.attempts == 2


def test_expired_lease_is_reclaimed_and_flags_possible_write(
    store: SQLiteSyncStore, clock: Clock
) -> None:
    first = claim(store, "crashed", lease=30)
    assert first is not None
    clock.advance(30)  # exactly at expiry: the lease is over
    second = claim(store, "w2")
    assert second is not None
    assert second.previous_state == "claimed"
    assert second.attempt == 2
    assert second.may_have_written


def test_failed_entry_is_reclaimable_and_flags_possible_write(store: SQLiteSyncStore) -> None:
    c = claim(store)
    assert c is not None
    failed = store.mark_failed(c, "HTTP 500 from NetSuite")
    assert failed.state == "failed"
    assert failed.last_error == "HTTP 500 from NetSuite"
    assert failed.owner is None
    again = claim(store, "w2")
    assert again is not None
    assert again.previous_state == "failed"
    assert again.may_have_written
    written = store.mark_written(again, "178")
    assert written.last_error is None


def test_mark_failed_redacts_secrets(store: SQLiteSyncStore) -> None:
    c = claim(store)
    assert c is not None
    entry = store.mark_failed(
        c, 'POST failed: Authorization: Bearer abc.def.ghi {"refresh_token": "RT-secret-1"}'
    )
    assert entry.last_error is not None
    assert "abc.def.ghi" not in entry.last_error
    assert "RT-secret-1" not in entry.last_error
    assert "***" in entry.last_error


def test_mark_failed_truncates_huge_error_text(store: SQLiteSyncStore) -> None:
    entry = store.mark_failed(KEY, "x" * 10_000)
    assert entry.last_error is not None
    assert len(entry.last_error) < 2100
    assert "more characters" in entry.last_error


def test_mark_written_by_key_without_claim(store: SQLiteSyncStore) -> None:
    """Recording a record found in the ERP (a backfill) needs no claim."""
    entry = store.mark_written(LedgerKey(*KEY), "900", external_id="job-1042")
    assert entry.state == "written"
    assert entry.remote_id == "900"
    assert entry.attempts == 0
    assert store.mark_written(KEY, "900", "h").content_hash == "h"


def test_lost_claim_cannot_record_a_different_write(store: SQLiteSyncStore, clock: Clock) -> None:
    slow = claim(store, "slow", lease=10)
    assert slow is not None
    clock.advance(11)
    fast = claim(store, "fast")
    assert fast is not None
    store.mark_written(fast, "201")
    with pytest.raises(ConflictError) as info:
        store.mark_written(slow, "202")
    assert "taken over" in str(info.value)
    assert store.get(*KEY).remote_id == "201"  # type: ignore[union-attr]


def test_lost_claim_recording_same_remote_id_is_idempotent(
    store: SQLiteSyncStore, clock: Clock
) -> None:
    slow = claim(store, "slow", lease=10)
    assert slow is not None
    clock.advance(11)
    fast = claim(store, "fast")
    assert fast is not None
    store.mark_written(fast, "201")
    assert store.mark_written(slow, "201").remote_id == "201"


def test_lost_claim_mark_failed_does_not_overwrite(store: SQLiteSyncStore, clock: Clock) -> None:
    slow = claim(store, "slow", lease=10)
    assert slow is not None
    clock.advance(11)
    fast = claim(store, "fast")
    assert fast is not None
    store.mark_written(fast, "201")
    entry = store.mark_failed(slow, "timeout")
    assert entry.state == "written"
    assert entry.last_error is None


def test_lost_claim_while_still_claimed_by_other(store: SQLiteSyncStore, clock: Clock) -> None:
    slow = claim(store, "slow", lease=10)
    assert slow is not None
    clock.advance(11)
    assert claim(store, "fast") is not None
    with pytest.raises(ConflictError):
        store.mark_written(slow, "202")
    assert store.get(*KEY).owner == "fast"  # type: ignore[union-attr]


def test_expired_but_untaken_claim_can_still_complete(store: SQLiteSyncStore, clock: Clock) -> None:
    c = claim(store, lease=10)
    assert c is not None
    clock.advance(100)
    assert store.mark_written(c, "300").state == "written"


def test_renew_extends_lease(store: SQLiteSyncStore, clock: Clock) -> None:
    c = claim(store, lease=10)
    assert c is not None
    clock.advance(8)
    renewed = store.renew(c, 30)
    assert renewed.lease_expires_at == T0 + timedelta(seconds=38)
    assert renewed.attempt == c.attempt
    clock.advance(20)
    assert claim(store, "w2") is None  # would have expired without the renewal
    assert store.mark_written(renewed, "1").state == "written"


def test_renew_lost_claim_raises(store: SQLiteSyncStore, clock: Clock) -> None:
    c = claim(store, lease=10)
    assert c is not None
    clock.advance(11)
    assert claim(store, "w2") is not None
    with pytest.raises(ConflictError):
        store.renew(c, 10)


def test_release_new_claim_removes_entry(store: SQLiteSyncStore) -> None:
    c = claim(store)
    assert c is not None
    store.release(c)
    assert store.get(*KEY) is None
    assert claim(store, "w2") is not None


def test_release_restores_previous_state_and_attempts(store: SQLiteSyncStore) -> None:
    c = claim(store)
    assert c is not None
    store.mark_written(c, "177", "h1")
    update = claim(store, "w2", reclaim_written=True)
    assert update is not None
    store.release(update)
    entry = store.get(*KEY)
    assert entry is not None
    assert (entry.state, entry.remote_id, entry.attempts, entry.owner) == (
        "written",
        "177",
        1,
        None,
    )
    assert claim(store, "w3") is None  # written again, so not claimable without reclaim


def test_release_of_lost_claim_is_noop(store: SQLiteSyncStore, clock: Clock) -> None:
    slow = claim(store, "slow", lease=10)
    assert slow is not None
    clock.advance(11)
    assert claim(store, "fast") is not None
    store.release(slow)
    assert store.get(*KEY).owner == "fast"  # type: ignore[union-attr]


def test_claim_validates_arguments(store: SQLiteSyncStore) -> None:
    with pytest.raises(ConfigurationError):
        store.claim(*KEY, owner="w", lease_seconds=0)
    with pytest.raises(ConfigurationError):
        store.claim("netsuite", "", "k", owner="w", lease_seconds=5)
    with pytest.raises(ConfigurationError):
        store.claim(*KEY, owner="", lease_seconds=5)
    with pytest.raises(ConfigurationError):
        store.mark_written(("a", "b"), "1")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        store.mark_written(KEY, "")


def test_iter_entries_filters_and_pages(store: SQLiteSyncStore) -> None:
    for i in range(1203):  # more than two internal pages
        store.mark_written(("qbo", "invoice", f"inv-{i:05d}"), str(i))
    store.mark_failed(("qbo", "payment", "p-1"), "boom")
    store.mark_written(("netsuite", "invoice", "x"), "1")
    keys = [e.source_key for e in store.iter_entries(backend="qbo", record_type="invoice")]
    assert keys == [f"inv-{i:05d}" for i in range(1203)]
    assert [e.source_key for e in store.iter_entries(state="failed")] == ["p-1"]
    assert len(list(store.iter_entries())) == 1205
    assert [e.backend for e in store.iter_entries(backend="netsuite")] == ["netsuite"]


def test_find_by_remote_id(store: SQLiteSyncStore) -> None:
    store.mark_written(("qbo", "invoice", "job-1"), "55", external_id="job-1")
    store.mark_written(("qbo", "payment", "pay-1"), "55")
    found = store.find_by_remote_id("qbo", "invoice", "55")
    assert found is not None and found.source_key == "job-1"
    assert store.find_by_remote_id("qbo", "invoice", "56") is None
    assert store.find_by_remote_id("netsuite", "invoice", "55") is None


# -- cursors ---------------------------------------------------------------------------------


def test_cursors_roundtrip_and_overwrite(store: SQLiteSyncStore) -> None:
    assert store.get_cursor("qbo.invoices") is None
    store.set_cursor("qbo.invoices", "2026-11-03T12:00:00Z|177")
    store.set_cursor("qbo.invoices", "2026-11-03T13:00:00Z|180")
    store.set_cursor("ns.customers", "x")
    assert store.get_cursor("qbo.invoices") == "2026-11-03T13:00:00Z|180"
    assert store.get_cursor("ns.customers") == "x"
    with pytest.raises(ConfigurationError):
        store.set_cursor("c", 5)  # type: ignore[arg-type]


# -- run log ---------------------------------------------------------------------------------


def test_run_log_records_outcome_newest_first(store: SQLiteSyncStore, clock: Clock) -> None:
    first = store.start_run("invoices", "netsuite")
    clock.advance(5)
    store.finish_run(first, status="ok", counts={"written": 3})
    clock.advance(3600)
    second = store.start_run("invoices", "netsuite")
    clock.advance(1)
    third = store.start_run("customers", "netsuite")
    record = store.finish_run(
        second,
        status="partial",
        counts={"written": 1, "failed": 1},
        errors=[RunError("invoice INV-7", "Customer not found", code="USER_ERROR")],
    )
    assert record.status == "partial"
    assert record.finished_at == T0 + timedelta(seconds=3606)
    assert record.errors == (RunError("invoice INV-7", "Customer not found", "USER_ERROR"),)
    assert dict(record.counts) == {"written": 1, "failed": 1}

    recent = store.runs()
    assert [r.id for r in recent] == [third, second, first]
    assert recent[0].status == "running" and recent[0].finished_at is None
    assert recent[2].started_at == T0 and recent[2].finished_at == T0 + timedelta(seconds=5)
    assert [r.id for r in store.runs(kind="invoices")] == [second, first]
    assert [r.id for r in store.runs(limit=1)] == [third]
    assert store.runs(backend="qbo") == []
    assert store.get_run(9999) is None


def test_finish_run_validates(store: SQLiteSyncStore) -> None:
    run = store.start_run("invoices", "qbo")
    with pytest.raises(ConfigurationError):
        store.finish_run(run, status="done")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        store.finish_run(run, status="ok", counts={"written": "3"})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError):
        store.finish_run(9999, status="ok")
    store.finish_run(run, status="failed")
    with pytest.raises(ConfigurationError, match="already finished"):
        store.finish_run(run, status="ok")
    with pytest.raises(ConfigurationError):
        store.runs(limit=-1)


def test_run_errors_are_redacted(store: SQLiteSyncStore) -> None:
    run = store.start_run("invoices", "qbo")
    err = ErpSyncError("token refresh failed: refresh_token=AB12secret", code="invalid_grant")
    store.finish_run(run, status="failed", errors=[RunError.from_exception("invoice 1", err)])
    (recorded,) = store.runs()[0].errors
    assert "AB12secret" not in recorded.message
    assert recorded.code == "invalid_grant"
    plain = RunError.from_exception("invoice 2", KeyError("x"))
    assert plain.code is None and "x" in plain.message


# -- advisory locks --------------------------------------------------------------------------


def test_lock_is_exclusive_renewable_and_stealable_after_expiry(
    store: SQLiteSyncStore, clock: Clock
) -> None:
    assert store.lock("run_every:invoices", "a", ttl=60)
    assert not store.lock("run_every:invoices", "b", ttl=60)
    assert store.lock("run_every:invoices", "a", ttl=60)  # renewal by the holder
    clock.advance(59)
    assert not store.lock("run_every:invoices", "b", ttl=60)  # renewed, so still held
    clock.advance(2)
    assert store.lock("run_every:invoices", "b", ttl=60)  # a's lease ran out
    assert not store.unlock("run_every:invoices", "a")
    assert store.unlock("run_every:invoices", "b")
    assert store.lock("run_every:invoices", "a", ttl=1)
    assert store.lock("other", "b", ttl=1)  # locks are independent by name
    with pytest.raises(ConfigurationError):
        store.lock("x", "a", ttl=0)


# -- files, durability, schema ---------------------------------------------------------------


def test_file_store_uses_wal_and_survives_reopen(db_path: Path, clock: Clock) -> None:
    with SQLiteSyncStore(db_path, clock=clock) as s:
        c = s.claim(*KEY, owner="w1", lease_seconds=60)
        assert c is not None
        s.mark_written(c, "177", "h", number="1042")
        s.set_cursor("c", "v")
        run = s.start_run("invoices", "netsuite")
        s.finish_run(run, status="ok", counts={"written": 1})
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
    with SQLiteSyncStore(str(db_path), clock=clock) as again:
        entry = again.get(*KEY)
        assert entry is not None and (entry.state, entry.remote_id, entry.number) == (
            "written",
            "177",
            "1042",
        )
        assert again.get_cursor("c") == "v"
        assert again.runs()[0].counts == {"written": 1}
        assert again.path == str(db_path)


def test_newer_schema_is_refused(db_path: Path) -> None:
    SQLiteSyncStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(ConfigurationError, match="newer"):
        SQLiteSyncStore(db_path)


def test_not_a_database_is_configuration_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite at all, just some bytes" * 100)
    with pytest.raises(ConfigurationError):
        SQLiteSyncStore(bogus)


def test_unopenable_path_is_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError):
        SQLiteSyncStore(tmp_path / "file" / "sub" / "sync.db")


def test_closed_store_refuses_use(db_path: Path) -> None:
    s = SQLiteSyncStore(db_path)
    s.close()
    with pytest.raises(ConfigurationError, match="closed"):
        s.get(*KEY)


def test_busy_database_becomes_retryable_service_error(db_path: Path) -> None:
    s = SQLiteSyncStore(db_path, busy_timeout=0.01)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ServiceError) as info:
            s.claim(*KEY, owner="w", lease_seconds=5)
        assert info.value.retryable
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert s.claim(*KEY, owner="w", lease_seconds=5) is not None
    s.close()


def test_naive_clock_is_taken_as_utc() -> None:
    with SQLiteSyncStore(clock=lambda: datetime(2026, 1, 1, 9, 0)) as s:
        c = s.claim(*KEY, owner="w", lease_seconds=1)
        assert c is not None
        assert c.lease_expires_at == datetime(2026, 1, 1, 9, 0, 1, tzinfo=UTC)


# -- concurrency -----------------------------------------------------------------------------


def _race(claimers: list[SQLiteSyncStore]) -> list[Claim | None]:
    barrier = threading.Barrier(len(claimers))
    results: list[Claim | None] = [None] * len(claimers)
    failures: list[BaseException] = []

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = claimers[i].claim(*KEY, owner=f"t{i}", lease_seconds=60)
        except BaseException as exc:  # a lost race must be a None, never an error
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(claimers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    return results


def test_thread_race_on_one_shared_store_has_one_winner() -> None:
    with SQLiteSyncStore(":memory:") as s:
        results = _race([s] * 8)
    assert sum(r is not None for r in results) == 1


def test_thread_race_across_connections_to_one_file_has_one_winner(db_path: Path) -> None:
    SQLiteSyncStore(db_path).close()  # create the schema once
    stores = [SQLiteSyncStore(db_path) for _ in range(6)]
    try:
        results = _race(stores)
    finally:
        for s in stores:
            s.close()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    with SQLiteSyncStore(db_path) as s:
        assert s.get(*KEY).owner == winners[0].owner  # type: ignore[union-attr]


# Separate interpreters (subprocess, not multiprocessing's spawn) so the children need
# not import this test module, whatever pytest import mode the suite runs under.
_RACER = """
import os, sys, time
from erpsync.store import SQLiteSyncStore
path, go, name = sys.argv[1:4]
store = SQLiteSyncStore(path)
print("ready", flush=True)
deadline = time.monotonic() + 30
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit(2)
    time.sleep(0.001)
try:
    won = store.claim("netsuite", "invoice", "job-1042", owner=name, lease_seconds=60)
    print("won" if won else "lost", flush=True)
except Exception as exc:
    print("error", repr(exc), flush=True)
"""

_CRASHER = """
import os, sys
from erpsync.store import SQLiteSyncStore
store = SQLiteSyncStore(sys.argv[1])
store.claim("netsuite", "invoice", "job-1042", owner="doomed", lease_seconds=60,
            external_id="job-1042")
os._exit(3)  # die mid-write: no mark_written, no close
"""


def test_process_race_has_one_winner(db_path: Path) -> None:
    SQLiteSyncStore(db_path).close()
    go = db_path.parent / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(db_path), str(go), f"p{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
        go.touch()  # all four are waiting: release them together
        outcomes = {f"p{i}": p.communicate(timeout=60)[0].strip() for i, p in enumerate(procs)}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    assert sorted(outcomes.values()) == ["lost", "lost", "lost", "won"], outcomes
    with SQLiteSyncStore(db_path) as s:
        entry = s.get(*KEY)
    assert entry is not None and outcomes[entry.owner or ""] == "won"


def test_crashed_writer_lease_is_reclaimed_after_restart(db_path: Path) -> None:
    crashed = subprocess.run([sys.executable, "-c", _CRASHER, str(db_path)], timeout=60)
    assert crashed.returncode == 3
    # A restarted worker before the lease runs out must not write.
    with SQLiteSyncStore(db_path) as s:
        assert s.claim(*KEY, owner="restarted", lease_seconds=60) is None
    later = datetime.now(UTC) + timedelta(minutes=5)
    with SQLiteSyncStore(db_path, clock=lambda: later) as s:
        c = s.claim(*KEY, owner="restarted", lease_seconds=60)
        assert c is not None
        assert c.may_have_written  # so the workflow looks up job-1042 before writing
        assert c.external_id == "job-1042"
        assert c.previous_state == "claimed"


def _write_after_fork(store: SQLiteSyncStore, queue: object) -> None:
    inherited = store._conn
    store.set_cursor("c", "child")
    queue.put(store._conn is not None and store._conn is not inherited)  # type: ignore[attr-defined]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_opens_its_own_connection(db_path: Path) -> None:
    store = SQLiteSyncStore(db_path)
    store.set_cursor("c", "parent")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_write_after_fork, args=(store, queue))
    proc.start()
    assert queue.get(timeout=30) is True
    proc.join(timeout=30)
    assert proc.exitcode == 0
    assert store.get_cursor("c") == "child"
    store.set_cursor("c", "parent again")  # the parent's connection is unharmed
    assert store.get_cursor("c") == "parent again"
    store.close()


# -- helpers ---------------------------------------------------------------------------------


def test_content_hash_is_stable_and_sensitive() -> None:
    a = {"amount": Decimal("12.50"), "date": date(2026, 1, 2), "lines": [1, 2]}
    b = {"lines": [1, 2], "date": date(2026, 1, 2), "amount": Decimal("12.50")}
    assert content_hash(a) == content_hash(b)
    assert content_hash(a).startswith("sha256:")
    assert content_hash(a) != content_hash({**a, "amount": Decimal("12.5")})
    with pytest.raises(ConfigurationError):
        content_hash({"x": object()})


def test_content_hash_accepts_pydantic_models() -> None:
    pydantic = pytest.importorskip("pydantic")

    class M(pydantic.BaseModel):  # type: ignore[misc]
        amount: Decimal

    assert content_hash(M(amount=Decimal("1.00"))) == content_hash({"amount": "1.00"})
    assert content_hash({"m": M(amount=Decimal(1))}) == content_hash({"m": {"amount": "1"}})


def test_make_owner_is_unique_and_traceable() -> None:
    a, b = make_owner(), make_owner("invoices")
    assert a != b
    assert str(os.getpid()) in a
    assert b.endswith(":invoices")


def test_ledger_key_str() -> None:
    assert str(LedgerKey(*KEY)) == "netsuite/invoice/job-1042"


def test_abandon_runs_closes_only_the_running_runs_of_that_kind_and_backend(tmp_path) -> None:
    from erpsync.store import SQLiteSyncStore

    store = SQLiteSyncStore(tmp_path / "runs.db")
    dead = store.start_run("accounting-sync", "NetSuite")
    other_kind = store.start_run("purchasing", "NetSuite")
    other_backend = store.start_run("accounting-sync", "QuickBooks")
    done = store.start_run("accounting-sync", "NetSuite")
    store.finish_run(done, status="ok")

    assert store.abandon_runs("accounting-sync", "NetSuite", "process died") == [dead]

    record = store.get_run(dead)
    assert record is not None and record.status == "failed" and record.finished_at is not None
    assert [(e.message, e.code) for e in record.errors] == [("process died", "abandoned")]
    assert store.get_run(other_kind).status == "running"  # type: ignore[union-attr]
    assert store.get_run(other_backend).status == "running"  # type: ignore[union-attr]
    assert store.get_run(done).status == "ok"  # type: ignore[union-attr]
    assert store.abandon_runs("accounting-sync", "NetSuite", "again") == []
